"""Small helpers tests import directly (fixtures live in conftest.py)."""

from __future__ import annotations

from gigachat_mcp import AsyncGigaChat, GigaChat
from gigachat_mcp.emulator import Emulator

FAST_RETRIES = {"retry_backoff_factor": 0.01}


def sync_client(emulator: Emulator, **overrides) -> GigaChat:
    return GigaChat(**emulator.client_settings(**{**FAST_RETRIES, **overrides}))


def async_client(emulator: Emulator, **overrides) -> AsyncGigaChat:
    return AsyncGigaChat(**emulator.client_settings(**{**FAST_RETRIES, **overrides}))
