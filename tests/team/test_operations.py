"""Operations: health endpoints, SIGTERM drain with a grace period, Host checks, JSON logs."""

from __future__ import annotations

import json
import signal
import time

import anyio
import httpx
import pytest
from mcp import Client

from gigachat_mcp.emulator import Emulator

pytestmark = pytest.mark.anyio


async def status_on(client: Client, cid: str, wait: float = 5) -> dict:
    result = await client.call_tool("get_conversation", {"conversation_id": cid, "wait_seconds": wait})
    return result.structured_content


async def test_sigterm_drains_answers_in_flight_then_a_second_sigterm_exits_at_once(emulator: Emulator,
                                                                                     replicas) -> None:
    a, b, c = replicas(3, "--grace", "20", "--log-format", "json")
    async with Client(a.url) as on_a, Client(b.url) as on_b:
        started = await on_a.call_tool("chat", {"prompt": "finish me [emulator words=80 delay=0.03]",
                                                "background": True})
        cid = started.structured_content["conversation_id"]
        a.proc.send_signal(signal.SIGTERM)
        async with httpx.AsyncClient() as http:
            with anyio.fail_after(10):
                while (await http.get(f"http://127.0.0.1:{a.port}/readyz")).status_code != 503:
                    await anyio.sleep(0.05)
            assert (await http.get(f"http://127.0.0.1:{a.port}/healthz")).status_code == 200
        refused = await on_a.call_tool("chat", {"prompt": "too late"})
        assert refused.is_error and "shutting down" in refused.content[0].text
        with anyio.fail_after(30):
            while (done := await status_on(on_b, cid))["status"] == "streaming":
                pass
        assert done["status"] == "done", "the answer in flight finished within the grace period"
    with anyio.fail_after(20):
        while a.proc.poll() is None:
            await anyio.sleep(0.05)
    lines = [json.loads(line) for line in a.output().splitlines() if line.startswith("{")]
    assert any("draining" in line["message"] for line in lines), "JSON log lines"

    async with Client(c.url) as on_c:
        long = await on_c.call_tool("chat", {"prompt": "never ends [emulator words=2000 delay=0.03]",
                                             "background": True})
        await anyio.sleep(0.3)
        c.proc.send_signal(signal.SIGTERM)
        await anyio.sleep(0.3)
        sent = time.monotonic()
        c.proc.send_signal(signal.SIGTERM)
        with anyio.fail_after(5):
            while c.proc.poll() is None:
                await anyio.sleep(0.02)
        assert time.monotonic() - sent < 2, "the second SIGTERM exits at once"
        async with Client(b.url) as on_b:
            with anyio.fail_after(20):  # its lease lapses: error with the partial text, not streaming forever
                while (left := await status_on(on_b, long.structured_content["conversation_id"]))["status"] \
                        == "streaming":
                    pass
        assert left["status"] == "error" and left["messages"][-1]["role"] == "assistant"


async def test_grace_period_over_marks_the_rest_cancelled_with_partial_text(emulator: Emulator, replicas) -> None:
    a, b = replicas(2, "--grace", "0.5")
    async with Client(a.url) as on_a, Client(b.url) as on_b:
        long = await on_a.call_tool("chat", {"prompt": "too long [emulator words=2000 delay=0.03]",
                                             "background": True})
        cid = long.structured_content["conversation_id"]
        with anyio.fail_after(10):
            while not (await status_on(on_b, cid, 0))["messages"][-1]["content"]:
                await anyio.sleep(0.05)
        a.proc.send_signal(signal.SIGTERM)
        with anyio.fail_after(20):
            while a.proc.poll() is None:
                await anyio.sleep(0.05)
        left = await status_on(on_b, cid, 0)
    assert left["status"] == "cancelled" and left["messages"][-1]["role"] == "assistant"
    assert len(left["messages"][-1]["content"]) > 0


async def test_allowed_host_keeps_dns_rebinding_protection(emulator: Emulator, replicas) -> None:
    [replica] = replicas(1, "--allowed-host", "gigachat.example.com")
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    accept = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    async with httpx.AsyncClient() as http:
        evil = await http.post(replica.url, json=body, headers={**accept, "Host": "evil.example"})
        assert evil.status_code in (400, 421)
        evil_origin = await http.post(replica.url, json=body, headers={**accept, "Host": "gigachat.example.com",
                                                                       "Origin": "http://evil.example"})
        assert evil_origin.status_code == 403
    async with Client(replica.url) as client:  # loopback still works
        assert not (await client.call_tool("chat", {"prompt": "hi"})).is_error
