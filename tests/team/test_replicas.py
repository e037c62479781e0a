"""Several real replicas sharing one real Redis: conversations, subscriptions, tokens and stream slots."""

from __future__ import annotations

import json

import anyio
import pytest
from mcp import Client, types

from gigachat_mcp.emulator import Emulator

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::UserWarning")]  # subscribe_resource: 2025 API


async def read_json(client: Client, uri: str) -> dict:
    result = await client.read_resource(uri)
    return json.loads(result.contents[0].text)


async def test_a_conversation_starts_on_one_replica_continues_on_a_second_and_streams_live_to_a_third(
        emulator: Emulator, replicas) -> None:
    a, b, c = replicas(3)
    async with Client(a.url) as on_a:
        first = await on_a.call_tool("chat", {"prompt": "hello from A", "system": "Be brief."})
    cid, uri = first.structured_content["conversation_id"], first.structured_content["resource_uri"]

    legacy_updates: list[str] = []

    async def on_message(message: object) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            legacy_updates.append(str(message.params.uri))

    reads: list[dict] = []
    async with Client(b.url) as on_b, Client(c.url) as on_c, \
            Client(c.url, mode="legacy", message_handler=on_message) as legacy_c:
        await legacy_c.subscribe_resource(uri)
        async with on_c.listen(resource_subscriptions=[uri]) as subscription:
            started = await on_b.call_tool("chat", {"prompt": "continue on B [emulator words=80 delay=0.03]",
                                                    "conversation_id": cid, "background": True})
            assert started.structured_content["status"] == "streaming"
            with anyio.fail_after(30):
                async for event in subscription:
                    assert event.uri == uri
                    reads.append(await read_json(on_c, uri))
                    if reads[-1]["status"] == "done":
                        break
        answer = (await on_c.call_tool("get_conversation", {"conversation_id": cid})).structured_content
    streaming = [r for r in reads if r["status"] == "streaming"]
    lengths = [len(r["messages"][-1]["content"]) for r in streaming]
    assert len({n for n in lengths if n}) >= 3, "the third replica saw the answer grow while it streamed"
    assert lengths == sorted(lengths)
    assert all(r["messages"][-1]["in_flight"] for r in streaming)
    assert [m["role"] for m in answer["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    final = answer["messages"][-1]["content"]
    assert 'Previous user message: "hello from A"' in final and "System prompt" in final
    assert final.startswith(streaming[-1]["messages"][-1]["content"])
    assert len(legacy_updates) >= 3 and set(legacy_updates) == {uri}, "2025-era subscriber on C heard B's changes"


async def test_three_replicas_make_one_oauth_call(emulator: Emulator, replicas) -> None:
    for replica in replicas(3):
        async with Client(replica.url) as client:
            result = await client.call_tool("chat", {"prompt": "who pays?"})
            assert not result.is_error
    assert emulator.oauth_calls == 1


async def test_a_personal_keys_single_stream_holds_across_replicas(emulator: Emulator, replicas) -> None:
    emulator.api.stream_limit = 1
    fleet = replicas(3)
    queued: list[str] = []

    async def ask(url: str, n: int) -> dict:
        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            queued.append(message or "") if "Waiting for a free GigaChat stream" in (message or "") else None

        async with Client(url) as client:
            result = await client.call_tool("chat", {"prompt": f"ask {n} [emulator words=30 delay=0.02]"},
                                            progress_callback=on_progress)
            return result.structured_content

    results: list[dict] = []

    async def run(url: str, n: int) -> None:
        results.append(await ask(url, n))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            for n, replica in enumerate(fleet):
                group.start_soon(run, replica.url, n)
    assert [r["status"] for r in results] == ["done"] * 3
    chats = emulator.requests_to("chat")
    assert len(chats) == 3, "no request was refused for exceeding the key's one stream (and retried)"
    assert len(queued) >= 1, "callers behind the fleet's single stream were told they wait"
