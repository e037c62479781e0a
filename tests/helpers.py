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


async def eventually(predicate, timeout: float = 30.0, what: str = "") -> None:
    """Wait until `predicate()` holds, polling without blocking the event loop (the in-memory server shares it).

    Tests wait on conditions, not fixed windows, so they pass on a busy machine; the deadline is generous
    because it only matters when the condition never comes."""
    import anyio

    with anyio.move_on_after(timeout):
        while not predicate():
            await anyio.sleep(0.01)
        return
    raise AssertionError(f"still waiting after {timeout} s: {what or predicate}")
