"""The deployment recipe, run: deploy/haproxy.cfg in front of two replicas, 2025-era clients kept on theirs."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.team.servers import find_program, free_port

pytestmark = pytest.mark.anyio
CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"


class HAProxy:
    def __init__(self, config: Path, replicas: list[int]) -> None:
        self.port = free_port()
        env = {**os.environ, "GIGACHAT_LB_BIND": f"127.0.0.1:{self.port}"}
        env.update({f"GIGACHAT_REPLICA_{n}": f"127.0.0.1:{port}" for n, port in enumerate(replicas, 1)})
        self.proc = subprocess.Popen([find_program("haproxy", "haproxy"), "-db", "-f", str(config)], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stdout.read().decode() if self.proc.stdout else ""
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("haproxy did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def balancer(replicas) -> Iterator[tuple[HAProxy, list]]:
    fleet = replicas(2)
    proxy = HAProxy(CONFIG, [r.port for r in fleet])
    yield proxy, fleet
    proxy.stop()


async def chat_twice(url: str, mode: str) -> list[str]:
    async with Client(url, mode=mode) as client:
        first = await client.call_tool("chat", {"prompt": "through the balancer [emulator words=20 delay=0.01]"})
        assert not first.is_error, first.content[0].text
        cid = first.structured_content["conversation_id"]
        texts = [first.structured_content["text"]]
        for n in range(3):
            more = await client.call_tool("chat", {"prompt": f"again {n}", "conversation_id": cid})
            assert not more.is_error, more.content[0].text
            texts.append(more.structured_content["text"])
        return texts


async def test_2025_clients_keep_their_replica_and_2026_clients_use_any(balancer, tmp_path: Path) -> None:
    proxy, fleet = balancer
    with anyio.fail_after(60):
        for _ in range(4):  # four sessions: round robin puts them on both replicas
            texts = await chat_twice(proxy.url, "legacy")
            assert 'Previous user message: "again 1"' in texts[-1]
        await chat_twice(proxy.url, "auto")
    sessions = [r.output().count("Created new transport with session ID") for r in fleet]
    assert all(sessions) and sum(sessions) >= 4, f"both replicas held 2025-era sessions: {sessions}"

    # the control: the same file without the stick lines breaks 2025-era sessions, so the test can fail
    plain = tmp_path / "no-affinity.cfg"
    plain.write_text("\n".join(line for line in CONFIG.read_text().splitlines() if "stick" not in line) + "\n")
    unsticky = HAProxy(plain, [r.port for r in fleet])
    try:
        failures = 0
        for _ in range(2):
            try:
                await chat_twice(unsticky.url, "legacy")
            except Exception:  # noqa: BLE001 - "Session not found" from the other replica
                failures += 1
        assert failures == 2
    finally:
        unsticky.stop()
