"""Redis with a password and TLS (a real redis-server with requirepass and --tls-port, a CA made here), a wrong
password refused at start-up in one line, and /readyz following Redis going away and coming back."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client

from gigachat_mcp.emulator import Emulator
from gigachat_mcp.emulator._certs import make_certificates
from tests.helpers import gigachat_mcp_command, subprocess_env
from tests.team.redis_nodes import RedisNode
from tests.team.servers import Replica, free_port

pytestmark = pytest.mark.anyio
SECRET = "redis-test-secret-9f3"


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[RedisNode, Path]]:
    certs = make_certificates(tmp_path / "certs", hostnames=("localhost", "127.0.0.1"))
    node = RedisNode(password=SECRET, tls={"cert": str(certs.server_cert), "key": str(certs.server_key),
                                           "ca": str(certs.ca_file)}).start()
    yield node, certs.ca_file
    node.stop()


def serve(emulator: Emulator, redis_url: str) -> subprocess.CompletedProcess[str]:
    """The server started with `redis_url`, expected to refuse before serving."""
    return subprocess.run([*gigachat_mcp_command(), "serve", "--transport", "streamable-http", "--port",
                           str(free_port()), "--redis", redis_url], env=subprocess_env(emulator),
                          capture_output=True, text=True, timeout=60)


async def test_rediss_with_a_ca_file_and_a_password_serves_chats(emulator: Emulator, tls_redis) -> None:
    node, ca = tls_redis
    replica = Replica(emulator, "--redis", f"rediss://:{SECRET}@127.0.0.1:{node.port}/0?ssl_ca_certs={ca}")
    try:
        replica.wait_ready()
        async with Client(replica.url) as client:
            answer = await client.call_tool("chat", {"prompt": "over TLS"})
        assert not answer.is_error and answer.structured_content["status"] == "done", answer.content[0].text
        async with httpx.AsyncClient() as http:
            ready = await http.get(f"http://127.0.0.1:{replica.port}/readyz")
        assert ready.status_code == 200, ready.text
        with node.client() as direct:  # the conversation is in that Redis
            assert any(key.startswith(b"gigachat-mcp:c:") for key in direct.scan_iter())
    finally:
        replica.stop()
    assert SECRET not in replica.output()


async def test_a_wrong_password_or_an_untrusted_certificate_stops_the_start_in_one_line(
        emulator: Emulator, tls_redis) -> None:
    node, ca = tls_redis
    wrong = serve(emulator, f"rediss://:not-the-password@127.0.0.1:{node.port}/0?ssl_ca_certs={ca}")
    assert wrong.returncode == 2, wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1, wrong.stderr
    assert "refused the password" in wrong.stderr and "not-the-password" not in wrong.stderr
    missing = serve(emulator, f"rediss://127.0.0.1:{node.port}/0?ssl_ca_certs={ca}")
    assert missing.returncode == 2 and "needs a password" in missing.stderr, missing.stderr
    untrusted = serve(emulator, f"rediss://:{SECRET}@127.0.0.1:{node.port}/0")
    assert untrusted.returncode == 2 and "?ssl_ca_certs=" in untrusted.stderr, untrusted.stderr
    assert SECRET not in untrusted.stderr
    cluster = serve(emulator, f"redis+cluster://127.0.0.1:{node.port}")
    assert cluster.returncode == 2 and "Redis Cluster is not supported" in cluster.stderr, cluster.stderr


async def test_readyz_is_503_without_host_or_secret_while_redis_is_down_then_200(emulator: Emulator) -> None:
    node = RedisNode(password=SECRET).start()
    replica = Replica(emulator, "--redis", f"redis://:{SECRET}@127.0.0.1:{node.port}/0")
    try:
        replica.wait_ready()
        readyz = f"http://127.0.0.1:{replica.port}/readyz"
        async with httpx.AsyncClient() as http:
            with anyio.fail_after(30):
                while (ready := await http.get(readyz)).status_code != 200:
                    await anyio.sleep(0.1)
            node.stop()
            down = await http.get(readyz)
            assert down.status_code == 503 and "Redis" in down.text, down.text
            for secret in ("127.0.0.1", str(node.port), SECRET):
                assert secret not in down.text, down.text
            node.start()  # the same port
            with anyio.fail_after(30):  # the replica reconnects by itself
                while (ready := await http.get(readyz)).status_code != 200:
                    await anyio.sleep(0.1)
        assert ready.json()["status"] == "ready"
    finally:
        replica.stop()
        node.stop()
    assert SECRET not in replica.output()


def test_sentinel_urls_are_read_and_unsupported_forms_refused_in_a_sentence() -> None:
    """The Sentinel URL names the Sentinels, the service and the DB; what is not supported yet says so."""
    from gigachat_mcp.server.state.redis_connect import RedisUrlError, parse_target

    target = parse_target("redis+sentinel://:pw@10.0.0.5:26379,10.0.0.6:26380/mymaster/2")
    assert target.sentinels == [("10.0.0.5", 26379), ("10.0.0.6", 26380)] and target.service == "mymaster"
    with pytest.raises(RedisUrlError, match="Sentinels with a password of their own are not supported yet"):
        parse_target("redis+sentinel://:pw@10.0.0.5:26379/mymaster/0?sentinel_password=x")
    with pytest.raises(RedisUrlError, match="names the Sentinels and the service"):
        parse_target("redis+sentinel://10.0.0.5:26379")
