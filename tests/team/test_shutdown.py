"""SIGTERM with answers longer than --grace: each caller gets its partial answer as a cancelled result, and the
shared store says `cancelled` with that text as soon as the replica has exited (not `streaming` until a lease
lapses, then `error`)."""

from __future__ import annotations

import json
import signal

import anyio
import pytest
import redis
from mcp import Client

from gigachat_mcp.emulator import Emulator
from tests.team.servers import Replica

pytestmark = pytest.mark.anyio

CALLERS = 8


async def test_sigterm_past_grace_gives_every_caller_its_partial_answer_as_cancelled(emulator: Emulator,
                                                                                     redis_server) -> None:
    # ten-second answers (100 words, 0.1 s apart), eight at once, on a replica with two seconds of grace
    replica = Replica(emulator, "--redis", redis_server.url, "--grace", "2", "--lease-seconds", "30",
                      env={"GIGACHAT_MAX_CONNECTIONS": str(CALLERS)}).wait_ready()
    results: dict[int, object] = {}
    try:
        async def caller(n: int, ready: anyio.Event) -> None:
            try:
                async with Client(replica.url) as client:
                    await client.list_tools()  # as hosts do; else the SDK asks for them after the result
                    ready.set()
                    results[n] = await client.call_tool("chat", {"prompt": f"caller {n} [emulator words=100 "
                                                                           "delay=0.1 chunk=1]"})
            except BaseException as exc:  # noqa: BLE001 - the old code's transport error (or teardown after exit)
                results.setdefault(n, exc)

        store = redis.Redis.from_url(redis_server.url)
        async with anyio.create_task_group() as callers:
            for n in range(CALLERS):
                ready = anyio.Event()
                callers.start_soon(caller, n, ready)
                await ready.wait()
            with anyio.fail_after(20):  # every answer has begun streaming text
                while len(_streaming_with_text(store)) < CALLERS:
                    await anyio.sleep(0.05)
            replica.proc.send_signal(signal.SIGTERM)
            with anyio.fail_after(30):
                while replica.proc.poll() is None:
                    await anyio.sleep(0.05)
    finally:
        replica.stop()
    assert f"grace period over: {CALLERS} answer(s) are stopped and kept as cancelled" in replica.output()
    kept = {key.decode().rpartition(":")[2]: store.hgetall(key) for key in store.scan_iter("gigachat-mcp:c:*")
            if key.count(b":") == 2}
    assert len(kept) == CALLERS
    for fields in kept.values():  # right after exit: cancelled, the partial text in the transcript, and why
        assert fields[b"status"] == b"cancelled", fields[b"status"]
        assert b"shut down" in fields[b"error"]
        last = json.loads(fields[b"messages"])[-1]
        assert last["role"] == "assistant" and last["content"].strip() and last["cancelled"] is True
    assert sorted(results) == list(range(CALLERS))
    for result in results.values():
        assert not isinstance(result, BaseException), f"a transport error instead of a result: {result!r}"
        assert not result.is_error, result.content[0].text  # type: ignore[attr-defined]
        answer = result.structured_content  # type: ignore[attr-defined]
        assert answer["status"] == "cancelled" and answer["text"].strip()
        assert answer["text"] == json.loads(kept[answer["conversation_id"]][b"messages"])[-1]["content"]
        assert "shut down" in result.content[0].text  # type: ignore[attr-defined]


def _streaming_with_text(store: redis.Redis) -> list[bytes]:
    return [key for key in store.scan_iter("gigachat-mcp:c:*:t") if store.strlen(key) > 0]
