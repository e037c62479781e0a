"""2025-era resources/subscribe: only our own URIs, a bounded number per session, all freed when it closes."""

from __future__ import annotations

import pytest
from mcp import Client, MCPError, types

from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from gigachat_mcp.server.conversations import ConversationStore
from gigachat_mcp.server.legacy_subscriptions import PER_SESSION
from tests.helpers import eventually
from tests.server.test_server import settings_for

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::UserWarning")]  # subscribe_resource: 2025 API

ATTEMPTS = 5_000


async def test_thousands_of_subscriptions_are_refused_past_the_bound_and_freed_when_the_session_closes(
        emulator: Emulator) -> None:
    store = ConversationStore(max_conversations=ATTEMPTS)
    uris = [f"gigachat://conversations/{store.create(None).id}" for _ in range(ATTEMPTS)]
    server = build_server(settings_for(emulator), conversations=store)
    held = server.legacy_subscriptions
    assert held is not None
    updates: list[str] = []

    async def handler(message) -> None:  # type: ignore[no-untyped-def]
        if isinstance(message, types.ResourceUpdatedNotification):
            updates.append(str(message.params.uri))

    refused: list[str] = []
    async with Client(server, mode="legacy", message_handler=handler) as client:
        for uri in uris:
            try:
                await client.subscribe_resource(uri)
            except MCPError as exc:
                refused.append(str(exc))
        assert len(held) == PER_SESSION, "the session holds exactly the bound"
        assert len(refused) == ATTEMPTS - PER_SESSION
        assert all(f"Too many subscriptions on this session: at most {PER_SESSION}" in r for r in refused)
        assert "Unsubscribe (resources/unsubscribe)" in refused[0]
        await client.subscribe_resource(uris[0])  # already held: still fine
        await client.unsubscribe_resource(uris[0])
        await client.subscribe_resource(uris[PER_SESSION])  # room again after an unsubscribe
        assert len(held) == PER_SESSION
        cid = uris[1].rpartition("/")[2]
        await client.call_tool("chat", {"prompt": "still heard", "conversation_id": cid})
        await eventually(lambda: uris[1] in updates, what="a held subscription still hears its conversation")
    assert len(held) == 0, "closing the session frees its subscriptions"
    async with Client(server, mode="legacy") as again:  # a new session starts with the whole bound
        await again.subscribe_resource(uris[-1])
        assert len(held) == 1
    assert len(held) == 0


@pytest.mark.parametrize("uri", [
    "GIGACHAT://conversations/{cid}",
    "gigachat://Conversations/{cid}",
    "gigachat://conversations/{upper}",
    "gigachat://conversations/{cid}/",
    "gigachat://conversations/{cid}?x=1",
    " gigachat://conversations/{cid}",
    "gigachat://conversations/{cid}\n",
    "file:///etc/passwd",
    "https://example.com/" + "x" * 4096,
])
async def test_uris_that_are_not_ours_are_refused_with_a_clear_error(emulator: Emulator, uri: str) -> None:
    server = build_server(settings_for(emulator))
    async with Client(server, mode="legacy") as client:
        cid = (await client.call_tool("chat", {"prompt": "hi"})).structured_content["conversation_id"]
        with pytest.raises(MCPError) as refused:
            await client.subscribe_resource(uri.format(cid=cid, upper=cid.upper()))
        assert refused.value.error.code == types.INVALID_PARAMS
        message = str(refused.value)
        assert "not a resource of this server" in message and "gigachat://conversations/<conversation_id>" in message
        assert len(message) < 500, "a 4 KB URI is not echoed back whole"
        assert server.legacy_subscriptions is not None and len(server.legacy_subscriptions) == 0
        await client.subscribe_resource(f"gigachat://conversations/{cid}")  # the exact URI is ours
        await client.subscribe_resource("gigachat://models")  # ours, never changes: accepted, nothing kept
        assert len(server.legacy_subscriptions) == 1
