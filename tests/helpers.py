"""Small helpers tests import directly (fixtures live in conftest.py)."""

from __future__ import annotations

from gigachat_mcp import AsyncGigaChat, GigaChat
from gigachat_mcp.emulator import Emulator

FAST_RETRIES = {"retry_backoff_factor": 0.01}


def sync_client(emulator: Emulator, **overrides) -> GigaChat:
    return GigaChat(**emulator.client_settings(**{**FAST_RETRIES, **overrides}))


def async_client(emulator: Emulator, **overrides) -> AsyncGigaChat:
    return AsyncGigaChat(**emulator.client_settings(**{**FAST_RETRIES, **overrides}))


def gigachat_mcp_command() -> list[str]:
    """The installed console script (beside this interpreter), as hosts run it."""
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "gigachat-mcp"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gigachat_mcp"]


def subprocess_env(emulator: Emulator | None = None, **overrides: str) -> dict[str, str]:
    """This environment without the developer's GIGACHAT_*, pointed at `emulator` if given."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("GIGACHAT_")}
    env["GIGACHAT_TOKEN_CACHE"] = "memory"
    env["PYTHONUNBUFFERED"] = "1"
    if emulator is not None:
        env.update(emulator.env())
    env.update(overrides)
    return env
