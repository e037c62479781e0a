"""Running a map on either client, so each behaviour is checked on both drivers (the sync one runs the async
engine in a worker thread; the async one on the caller's loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from gigachat_mcp import MapResult
from gigachat_mcp.emulator import Emulator
from tests.helpers import async_client, sync_client

Mapper = Callable[..., MapResult]


@pytest.fixture(params=["sync", "async"])
def run_map(request: pytest.FixtureRequest, emulator: Emulator) -> Mapper:
    """run_map(*args, client_settings=dict(...), **map_keywords) -> MapResult, on the parametrised client."""

    def sync(*args: Any, client_settings: dict[str, Any] | None = None, **kwargs: Any) -> MapResult:
        with sync_client(emulator, **(client_settings or {})) as giga:
            return giga.map(*args, **kwargs)

    def asynchronous(*args: Any, client_settings: dict[str, Any] | None = None, **kwargs: Any) -> MapResult:
        async def go() -> MapResult:
            async with async_client(emulator, **(client_settings or {})) as giga:
                return await giga.map(*args, **kwargs)

        return asyncio.run(go())

    return sync if request.param == "sync" else asynchronous
