"""The IPython shell every magic test uses: the extension loaded against the test's emulator, and nothing a test
leaves in the namespace or %config reaching the next one (the shell is a process-wide singleton)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

from gigachat_mcp.emulator import Emulator


@pytest.fixture
def shell(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    for name, value in emulator.env(token_cache="memory").items():
        monkeypatch.setenv(name, value)
    ip = InteractiveShell.instance()
    before = set(ip.user_ns)
    ip.extension_manager.load_extension("gigachat_magics")
    yield ip
    ip.extension_manager.unload_extension("gigachat_magics")
    for name in set(ip.user_ns) - before:
        ip.user_ns.pop(name, None)
    ip.config.pop("GigaChatMagics", None)  # %config persists in the singleton shell
