"""The conversation store's rules, as a caller notices them: a conversation that is still answering refuses a
second turn and is never dropped by the cap, and the cap drops the least recently used conversation, not the
oldest. Each test fails when its rule is taken out of `server/conversations.py` / `server/tools_chat.py`."""

from __future__ import annotations

import json

import pytest
from mcp import Client, MCPError

from gigachat_mcp import Settings
from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from gigachat_mcp.server.conversations import ConversationStore
from tests.helpers import eventually

pytestmark = pytest.mark.anyio
SLOW = "a long answer [emulator words=400 delay=0.05]"  # ~20 s: busy for the whole test (cancelled at the end)


def server_for(emulator: Emulator, store: ConversationStore):
    # Several streams at once, so quick answers do not queue behind the slow one (a personal key allows one).
    settings = Settings.resolve(environ={}, **emulator.client_settings(retry_backoff_factor=0.01, max_connections=4))
    return build_server(settings, conversations=store)


async def chat(client: Client, prompt: str, **arguments) -> dict:
    result = await client.call_tool("chat", {"prompt": prompt, **arguments})
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def readable(client: Client, cid: str) -> bool:
    try:
        await client.read_resource(f"gigachat://conversations/{cid}")
    except MCPError:
        return False
    return True


async def test_a_busy_conversation_refuses_a_second_turn(emulator: Emulator) -> None:
    store = ConversationStore()
    async with Client(server_for(emulator, store)) as client:
        busy = await chat(client, SLOW, background=True)
        cid = busy["conversation_id"]
        second = await client.call_tool("chat", {"prompt": "and another thing", "conversation_id": cid})
        assert second.is_error
        assert f"Conversation {cid} is still answering" in second.content[0].text
        assert "get_conversation" in second.content[0].text
        await eventually(lambda: emulator.streams and emulator.streams[-1].sent_chunks > 0, what="the answer flows")
        snapshot = json.loads((await client.call_tool("get_conversation", {"conversation_id": cid})).content[0].text)
    assert len(emulator.requests_to("chat")) == 1  # the refused turn never reached GigaChat
    assert [m["content"] for m in snapshot["messages"] if m["role"] == "user"] == [SLOW]  # nor the transcript
    assert snapshot["status"] == "streaming"


async def test_a_busy_conversation_is_never_dropped_by_the_cap(emulator: Emulator) -> None:
    store = ConversationStore(max_conversations=2)
    async with Client(server_for(emulator, store)) as client:
        busy = (await chat(client, SLOW, background=True))["conversation_id"]  # the least recently used from here on
        others = [(await chat(client, f"quick {i}"))["conversation_id"] for i in range(3)]
        assert await readable(client, busy)  # still answering, so kept although it is the oldest
        assert store.peek(busy).busy
        assert [await readable(client, cid) for cid in others] == [False, False, True]
        assert len(store) == 2


async def test_the_cap_drops_the_least_recently_used_not_the_oldest(emulator: Emulator) -> None:
    store = ConversationStore(max_conversations=3)
    async with Client(server_for(emulator, store)) as client:
        first, second, third = [(await chat(client, f"conversation {i}"))["conversation_id"] for i in range(3)]
        await chat(client, "still using the first one", conversation_id=first)
        fourth = (await chat(client, "a new one"))["conversation_id"]
        assert [await readable(client, cid) for cid in (first, second, third, fourth)] == [True, False, True, True]
        again = await client.call_tool("chat", {"prompt": "back to the first", "conversation_id": first})
    assert not again.is_error
    assert 'Previous user message: "still using the first one"' in again.structured_content["text"]
