"""What hosts read before calling a tool: every tool says it only reads (hosts may then skip the confirmation
prompt), none says it destroys, and the ones that reach GigaChat say they reach the outside world."""

from __future__ import annotations

import pytest

from gigachat_mcp.emulator import Emulator
from tests.server.test_server import connect

pytestmark = pytest.mark.anyio


async def test_every_tool_is_read_only_and_the_upstream_ones_are_open_world(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert {"chat", "list_models", "get_conversation", "count_tokens"} <= set(tools)
    for name in ("chat", "list_models", "get_conversation", "count_tokens"):
        annotations = tools[name].annotations
        assert annotations is not None and annotations.read_only_hint is True, name
        assert annotations.destructive_hint in (None, False), name
    for name in ("chat", "list_models", "count_tokens"):
        assert tools[name].annotations.open_world_hint is True, name
