"""A replica killed mid-answer, and Redis going away under load and coming back."""

from __future__ import annotations

import signal

import anyio
import httpx
import pytest
from mcp import Client

from gigachat_mcp import GigaChat
from gigachat_mcp.emulator import Emulator

pytestmark = pytest.mark.anyio


async def conversation(client: Client, cid: str, wait: float = 0) -> dict:
    result = await client.call_tool("get_conversation", {"conversation_id": cid, "wait_seconds": wait})
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def test_a_replica_killed_mid_answer_leaves_the_conversation_in_error_with_its_partial_text(
        emulator: Emulator, replicas) -> None:
    emulator.api.stream_limit = 1  # the dead replica's upstream slot must come back too
    a, b = replicas(2)
    async with Client(a.url) as on_a:
        started = await on_a.call_tool("chat", {"prompt": "long [emulator words=400 delay=0.03]", "background": True})
    cid = started.structured_content["conversation_id"]
    async with Client(b.url) as on_b:
        with anyio.fail_after(20):
            while not (seen := await conversation(on_b, cid))["messages"][-1]["content"]:
                await anyio.sleep(0.05)
        assert seen["status"] == "streaming"
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        with anyio.fail_after(20):
            while (after := await conversation(on_b, cid, wait=5))["status"] == "streaming":
                pass
        assert after["status"] == "error" and "stopped before it finished" in after["error"]
        partial = after["messages"][-1]
        assert partial["role"] == "assistant" and "in_flight" not in partial
        assert partial["content"].startswith(seen["messages"][-1]["content"])
        with anyio.fail_after(30):  # the key's only stream, leased by the dead replica, is free again
            again = await on_b.call_tool("chat", {"prompt": "continue", "conversation_id": cid})
        assert not again.is_error and again.structured_content["status"] == "done"
        assert "Roles: user,assistant,user." in again.structured_content["text"]


async def test_redis_stopped_and_restarted_under_load(emulator: Emulator, redis_server, replicas) -> None:
    a, b = replicas(2, lease="3")
    prompts = [f"load {n} [emulator words=60 delay=0.03]" for n in range(4)]  # one stream: in turn
    with GigaChat(**emulator.client_settings()) as direct:
        expected = {p: direct.chat(p).text for p in prompts}
    async with Client(a.url) as on_a, Client(b.url) as on_b:
        ids = {}
        for prompt in prompts:
            started = await on_a.call_tool("chat", {"prompt": prompt, "background": True})
            ids[prompt] = started.structured_content["conversation_id"]
        with anyio.fail_after(20):
            while not (await conversation(on_b, ids[prompts[0]]))["messages"][-1]["content"]:
                await anyio.sleep(0.05)

        redis_server.shutdown_keeping_data()
        refused = await on_b.call_tool("chat", {"prompt": "during the outage"})
        assert refused.is_error
        assert "cannot reach its shared store" in refused.content[0].text
        assert "127.0.0.1" not in refused.content[0].text, "where Redis is goes to the log, not to clients"
        assert "retry in a few seconds" in refused.content[0].text
        async with httpx.AsyncClient() as http:
            ready = await http.get(f"http://127.0.0.1:{b.port}/readyz")
            assert ready.status_code == 503 and "Redis" in ready.text
            await anyio.sleep(0.5)
            redis_server.start()
            with anyio.fail_after(20):  # the replica recovers by itself
                while (await http.get(f"http://127.0.0.1:{b.port}/readyz")).status_code != 200:
                    await anyio.sleep(0.1)

        for prompt, cid in ids.items():
            with anyio.fail_after(30):
                while (done := await conversation(on_b, cid, wait=5))["status"] == "streaming":
                    pass
            assert done["status"] == "done", (done["error"], a.output()[-3000:])
            assert done["messages"][-1]["content"] == expected[prompt], "nothing lost or repeated"
        after = await on_b.call_tool("chat", {"prompt": "after the outage"})
        assert not after.is_error and after.structured_content["status"] == "done"


async def test_a_replica_killed_while_fetching_the_token_holds_the_others_up_no_longer_than_a_lease(
        emulator: Emulator, replicas) -> None:
    """The shared token's refresh lock of a replica that died mid-refresh used to hold every other replica's
    chats for 60 s (seen as a flaky cap test: the cap freed, then the next chat hung)."""
    a, b = replicas(2)  # leases of 1.5 s
    emulator.add_fault("oauth", delay=120)  # a's token request hangs: a holds the refresh lock
    async with Client(a.url) as on_a:
        started = await on_a.call_tool("chat", {"prompt": "first", "background": True})
        assert not started.is_error, started.content[0].text
    with anyio.fail_after(20):
        while not emulator.requests_to("oauth"):
            await anyio.sleep(0.05)
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    async with Client(b.url) as on_b:
        with anyio.fail_after(20):  # was 60 s: the dead replica's lock outlived it
            answer = await on_b.call_tool("chat", {"prompt": "after the death"})
    assert not answer.is_error and answer.structured_content["status"] == "done", answer.content[0].text
