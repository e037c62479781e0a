"""Fixtures shared by every test: a clean GIGACHAT_* environment, a private token cache, a running emulator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gigachat_mcp import GigaChat
from gigachat_mcp.emulator import Emulator
from tests.helpers import FAST_RETRIES
from tests.session_plugin import pytest_configure, pytest_sessionfinish, pytest_terminal_summary  # noqa: F401


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No test sees the developer's GIGACHAT_* settings or writes to their real token cache."""
    for name in list(os.environ):
        if name.startswith("GIGACHAT_"):
            monkeypatch.delenv(name)
    from gigachat_mcp.client import _tokens

    _tokens._sources.clear()  # emulators reuse port numbers: no test may meet another test's token
    cache = tmp_path / "token-cache"
    monkeypatch.setenv("GIGACHAT_TOKEN_CACHE_DIR", str(cache))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    return cache


@pytest.fixture
def token_cache(clean_environ: Path) -> Path:
    return clean_environ


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """HTTPS on loopback with a throwaway CA, the way users reach the real service."""
    with Emulator() as emu:
        yield emu


@pytest.fixture
def http_emulator() -> Iterator[Emulator]:
    with Emulator(tls=False) as emu:
        yield emu


@pytest.fixture
def giga(emulator: Emulator) -> Iterator[GigaChat]:
    with GigaChat(**emulator.client_settings(**FAST_RETRIES)) as client:
        yield client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
