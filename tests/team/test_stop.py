"""Stop from any replica: the live view's Stop and a cancelled call end an answer streamed by another replica,
close its upstream GigaChat stream, and leave the conversation `cancelled` with its text, for its owner only."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from mcp import Client

from gigachat_mcp.emulator import Emulator
from tests.server.test_live_view import APPS
from tests.team.principals import as_user, write_tokens

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::UserWarning")]
SLOW = "[emulator words=3000 delay=0.02]"  # a minute of answer: whatever ends it early was a stop


async def snapshot(client: Client, cid: str) -> dict:
    result = await client.call_tool("get_conversation", {"conversation_id": cid})
    assert not result.is_error, result.content[0].text
    return json.loads(result.content[0].text)


async def until_text(client: Client, cid: str, chars: int = 100) -> None:
    """Wait (bounded) until the answer streamed elsewhere has some text in the shared store."""
    with anyio.fail_after(20):
        while True:
            last = (await snapshot(client, cid))["messages"][-1]
            if last.get("in_flight") and len(last["content"]) >= chars:
                return
            await anyio.sleep(0.05)


async def upstream_closed(emulator: Emulator) -> None:
    """The emulator saw the server close the stream before the answer's end (no other stream is open). Waits
    without blocking the loop: the client's cancellation is sent by its own tasks."""
    with anyio.fail_after(10):
        while emulator.streams[-1].outcome == "streaming":
            await anyio.sleep(0.02)
    record = emulator.streams[-1]
    assert record.outcome == "client went away", record.outcome
    assert record.sent_chunks < record.planned_chunks // 2
    assert emulator.active_streams == 0


def kept_cancelled(conversation: dict, at_least: int) -> str:
    last = conversation["messages"][-1]
    assert conversation["status"] == "cancelled"
    assert last["role"] == "assistant" and last["cancelled"] is True and len(last["content"]) >= at_least
    return str(last["content"])


async def test_stop_on_another_replica_stops_the_answer_for_its_owner_only(emulator: Emulator, replicas,
                                                                          tmp_path: Path) -> None:
    a, b = replicas(2, "--auth-tokens", str(write_tokens(tmp_path)))
    async with as_user(a.url, "alice") as alice_a, as_user(b.url, "alice", extensions=[APPS]) as alice_b, \
            as_user(b.url, "bob", extensions=[APPS]) as bob_b:
        cid = (await alice_a.call_tool("chat", {"prompt": "hi"})).structured_content["conversation_id"]
        answered: dict = {}

        async def ask_on_a() -> None:
            answered["chat"] = await alice_a.call_tool("chat", {"prompt": f"tell me all {SLOW}",
                                                                "conversation_id": cid})

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(ask_on_a)
            await until_text(alice_b, cid)
            refused = await bob_b.call_tool("stop_answer", {"conversation_id": cid})
            assert refused.is_error and f"Unknown conversation_id {cid!r}" in refused.content[0].text
            assert (await snapshot(alice_b, cid))["status"] == "streaming", "bob's stop stopped nothing"
            stop = await alice_b.call_tool("stop_answer", {"conversation_id": cid})
        await upstream_closed(emulator)
        kept = kept_cancelled(await snapshot(alice_b, cid), 100)
    assert not stop.is_error, stop.content[0].text
    assert stop.structured_content == {"conversation_id": cid, "stopped": True, "status": "cancelled",
                                       "length": len(kept)}
    chat = answered["chat"]  # the caller on A gets what was written, marked as stopped, and no error
    assert not chat.is_error and chat.structured_content["status"] == "cancelled"
    assert chat.structured_content["text"] == kept


@pytest.mark.parametrize("mode", ["2026", "legacy"])
async def test_a_cancelled_call_closes_the_upstream_stream_and_keeps_the_text(emulator: Emulator, replicas,
                                                                              mode: str) -> None:
    a, b = replicas(2)
    era = {"mode": "legacy"} if mode == "legacy" else {}
    async with Client(a.url, **era) as on_a, Client(b.url) as on_b:
        cid = (await on_a.call_tool("chat", {"prompt": "hi"})).structured_content["conversation_id"]
        async with anyio.create_task_group() as tasks:
            async def ask() -> None:
                await on_a.call_tool("chat", {"prompt": f"tell me all {SLOW}", "conversation_id": cid})

            tasks.start_soon(ask)
            await until_text(on_b, cid)
            tasks.cancel_scope.cancel()  # the client abandons the call: notifications/cancelled, or the stream closed
        await upstream_closed(emulator)
        with anyio.fail_after(10):
            while (conversation := await snapshot(on_b, cid))["status"] == "streaming":
                await anyio.sleep(0.05)
    kept_cancelled(conversation, 100)
