"""Redis behind Sentinel (deploy/redis/: a master, a replica, a Sentinel, real processes): the master killed
mid-answer; chats fail with the clear retry error during the fail-over, then work again on the same replicas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from gigachat_mcp import GigaChat
from gigachat_mcp.emulator import Emulator
from tests.team.redis_nodes import SentinelSetup
from tests.team.servers import Replica
from tests.team.test_failures import conversation

pytestmark = pytest.mark.anyio
RETRY = "cannot reach its shared store"
LONG = "long [emulator words=150 delay=0.05]"  # ~7 s: streaming through the fail-over


@pytest.fixture
def sentinel_setup(tmp_path: Path) -> Iterator[SentinelSetup]:
    setup = SentinelSetup(tmp_path, password="sentinel-test-secret").start()
    yield setup
    setup.stop()


@pytest.fixture
def replica(emulator: Emulator, sentinel_setup: SentinelSetup) -> Iterator[Replica]:
    started = Replica(emulator, "--redis", sentinel_setup.url, "--lease-seconds", "15")
    yield started.wait_ready()
    started.stop()


async def test_the_master_killed_mid_answer_is_followed_to_the_new_master(
        emulator: Emulator, sentinel_setup: SentinelSetup, replica: Replica) -> None:
    old_master = sentinel_setup.master.port
    with GigaChat(**emulator.client_settings()) as direct:
        expected = direct.chat(LONG).text
    async with Client(replica.url) as client:
        before = await client.call_tool("chat", {"prompt": "before"})
        assert not before.is_error and before.structured_content["status"] == "done", before.content[0].text
        started = await client.call_tool("chat", {"prompt": LONG,
                                                  "background": True})
        cid = started.structured_content["conversation_id"]
        with anyio.fail_after(20):
            while not (seen := await conversation(client, cid))["messages"][-1]["content"]:
                await anyio.sleep(0.05)
        await anyio.sleep(0.5)  # the conversation has reached the replica (replication is asynchronous)
        sentinel_setup.master.kill()

        refusals = []
        with anyio.fail_after(30):  # the fail-over (1 s down-after here); the replica is never restarted
            while (chat := await client.call_tool("chat", {"prompt": "during the fail-over"})).is_error:
                refusals.append(chat.content[0].text)
                await anyio.sleep(0.1)
        assert chat.structured_content["status"] == "done"
        assert sentinel_setup.master_port() != old_master, "Sentinel promoted the replica"
        assert refusals, "the chats during the fail-over were refused, not hung"
        assert all(RETRY in text and "retry in a few seconds" in text for text in refusals), refusals[:3]
        assert all("127.0.0.1" not in text and "sentinel-test-secret" not in text for text in refusals)

        with anyio.fail_after(30):  # the answer streaming through the fail-over is not left `streaming`
            while (after := await conversation(client, cid, wait=5))["status"] in ("streaming", "queued"):
                pass
        assert after["status"] in ("done", "error"), after
        answer = after["messages"][-1]
        assert answer["role"] == "assistant" and answer["content"].startswith(seen["messages"][-1]["content"])
        if after["status"] == "done":
            assert answer["content"] == expected, "nothing lost or repeated"
        else:
            assert expected.startswith(answer["content"]), "the partial text, nothing repeated"
        again = await client.call_tool("chat", {"prompt": "continue", "conversation_id": cid})
        assert not again.is_error and again.structured_content["status"] == "done", again.content[0].text
    assert "sentinel-test-secret" not in replica.output()
