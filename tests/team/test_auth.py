"""Who may use a team server: the exposure refusal, static tokens, OAuth JWTs, isolation and per-user limits."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import anyio
import httpx
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from gigachat_mcp.emulator import Emulator
from tests.helpers import gigachat_mcp_command, subprocess_env
from tests.team.servers import Replica, free_port

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::UserWarning")]


def as_user(url: str, token: str | None, **kwargs) -> Client:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers, timeout=30)), **kwargs)


def test_serving_beyond_loopback_without_auth_is_refused(emulator: Emulator) -> None:
    port = free_port()
    refused = subprocess.run([*gigachat_mcp_command(), "serve", "--transport", "streamable-http", "--host",
                              "0.0.0.0", "--port", str(port)], env=subprocess_env(emulator), capture_output=True,
                             text=True, timeout=30)
    assert refused.returncode == 2  # usage: the operator fixes the command
    assert "Refusing to serve on 0.0.0.0 without authentication" in refused.stderr
    assert "--auth-tokens" in refused.stderr and "--insecure-no-auth" in refused.stderr
    replica = Replica(emulator, "--insecure-no-auth", host="0.0.0.0")
    try:
        assert replica.wait_ready().proc.poll() is None  # the explicit opt-out starts
    finally:
        replica.stop()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.txt"
    path.write_text("# principal: sha256 of the token\n"
                    f"alice: {hashlib.sha256(b'alice-secret-token').hexdigest()}\n"
                    f"bob: {hashlib.sha256(b'bob-secret-token').hexdigest()}\n")
    return path


async def test_static_tokens_two_principals_are_isolated_across_replicas(emulator: Emulator, replicas,
                                                                          token_file: Path) -> None:
    a, b = replicas(2, "--auth-tokens", str(token_file))
    async with httpx.AsyncClient() as http:
        for header in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer alice-secret-tokenX"}):
            response = await http.post(a.url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                       headers={**header, "Accept": "application/json, text/event-stream"})
            assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
        assert (await http.get(f"http://127.0.0.1:{a.port}/healthz")).status_code == 200  # no auth needed
    async with as_user(a.url, "alice-secret-token") as alice:
        mine = await alice.call_tool("chat", {"prompt": "alice's secret plan"})
    cid, uri = mine.structured_content["conversation_id"], mine.structured_content["resource_uri"]
    async with as_user(b.url, "bob-secret-token") as bob, \
            as_user(b.url, "bob-secret-token", mode="legacy") as bob_legacy, \
            as_user(b.url, "alice-secret-token") as alice_on_b:
        for call in ({"prompt": "continue", "conversation_id": cid},):
            stolen = await bob.call_tool("chat", call)
            assert stolen.is_error and f"Unknown conversation_id {cid!r}" in stolen.content[0].text
        peek = await bob.call_tool("get_conversation", {"conversation_id": cid})
        assert peek.is_error and "Unknown conversation_id" in peek.content[0].text
        with pytest.raises(MCPError, match="No conversation"):
            await bob.read_resource(uri)
        with pytest.raises(MCPError, match="Unknown conversation"):
            await bob_legacy.subscribe_resource(uri)
        own = await alice_on_b.call_tool("chat", {"prompt": "go on", "conversation_id": cid})
        assert not own.is_error and "alice's secret plan" in own.structured_content["text"]
    # 2026 subscriptions: bob listening on alice's conversation hears nothing while alice's own stream hears it grow
    heard = {"alice": 0, "bob": 0}
    async with as_user(b.url, "bob-secret-token") as bob, as_user(b.url, "alice-secret-token") as alice_b, \
            as_user(a.url, "alice-secret-token") as alice_a:
        async with bob.listen(resource_subscriptions=[uri]) as bob_hears, \
                alice_b.listen(resource_subscriptions=[uri]) as alice_hears:
            async def count(name: str, subscription) -> None:  # type: ignore[no-untyped-def]
                async for _ in subscription:
                    heard[name] += 1

            async with anyio.create_task_group() as group:
                group.start_soon(count, "bob", bob_hears)
                group.start_soon(count, "alice", alice_hears)
                await alice_a.call_tool("chat", {"prompt": "more [emulator words=40 delay=0.02]",
                                                 "conversation_id": cid})
                with anyio.fail_after(10):
                    while heard["alice"] < 3:
                        await anyio.sleep(0.05)
                await anyio.sleep(0.3)
                group.cancel_scope.cancel()
    assert heard["alice"] >= 3 and heard["bob"] == 0
    for replica in (a, b):
        assert "alice-secret-token" not in replica.output() and "bob-secret-token" not in replica.output()


async def test_per_principal_limits_answer_with_when_to_retry(emulator: Emulator, replicas, token_file: Path) -> None:
    a, b = replicas(2, "--auth-tokens", str(token_file), "--requests-per-minute", "3", "--streams-per-user", "1")
    async with as_user(a.url, "alice-secret-token") as alice, as_user(b.url, "alice-secret-token") as alice_b, \
            as_user(b.url, "bob-secret-token") as bob:
        long = await alice.call_tool("chat", {"prompt": "long [emulator words=200 delay=0.02]", "background": True})
        assert not long.is_error
        busy = await alice_b.call_tool("chat", {"prompt": "a second answer at once"})
        assert busy.is_error and "Too many answers in flight: 1 at a time" in busy.content[0].text
        assert "Retry when" in busy.content[0].text
        assert not (await bob.call_tool("chat", {"prompt": "bob is not limited by alice"})).is_error
        cid = long.structured_content["conversation_id"]
        with anyio.fail_after(30):
            while (await alice_b.call_tool("get_conversation", {"conversation_id": cid, "wait_seconds": 5})
                   ).structured_content["status"] == "streaming":
                pass
        third = await alice_b.call_tool("chat", {"prompt": "third request this minute"})
        fourth = await alice.call_tool("chat", {"prompt": "fourth request this minute"})
    assert not third.is_error
    assert fourth.is_error and "Too many requests: 3 a minute" in fourth.content[0].text
    assert "Retry in" in fourth.content[0].text


# --- OAuth: a tiny issuer on loopback serving its metadata and JWKS ------------------------------------------

class Issuer:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid="k1", use="sig", alg="RS256")
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/.well-known/oauth-authorization-server":
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks.json",
                            "authorization_endpoint": issuer.url + "/authorize", "token_endpoint": issuer.url + "/token",
                            "response_types_supported": ["code"]}
                elif self.path == "/jwks.json":
                    body = {"keys": [jwk]}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        Thread(target=self.httpd.serve_forever, daemon=True).start()

    def token(self, audience: str, *, sub: str = "alice", expires_in: float = 600, scope: str = "gigachat",
              issuer: str | None = None, forged: bool = False) -> str:
        claims = {"iss": issuer or self.url, "sub": sub, "aud": audience, "exp": int(time.time() + expires_in),
                  "iat": int(time.time()), "scope": scope, "client_id": "test-client"}
        return jwt.encode(claims, self.forger if forged else self.key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    made = Issuer()
    yield made
    made.httpd.shutdown()


async def test_oauth_resource_server_accepts_only_good_jwts(emulator: Emulator, issuer: Issuer) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}/mcp"
    replica = Replica(emulator, "--oauth-issuer", issuer.url, "--public-url", public, "--oauth-scope", "gigachat",
                      port=port).wait_ready()
    try:
        async with httpx.AsyncClient() as http:
            metadata = (await http.get(f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp")).json()
            assert metadata["resource"] == public
            assert [s.rstrip("/") for s in metadata["authorization_servers"]] == [issuer.url]
            bad = {
                "missing": None,
                "wrong audience": issuer.token("https://elsewhere.example/mcp"),
                "expired": issuer.token(public, expires_in=-120),
                "forged": issuer.token(public, forged=True),
                "wrong issuer": issuer.token(public, issuer="https://evil.example"),
                "missing scope": issuer.token(public, scope="other"),
            }
            for name, token in bad.items():
                headers = {"Accept": "application/json, text/event-stream"}
                if token:
                    headers["Authorization"] = f"Bearer {token}"
                response = await http.post(public, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                           headers=headers)
                assert response.status_code in (401, 403), name
                challenge = response.headers["www-authenticate"]
                assert "resource_metadata=" in challenge and "oauth-protected-resource/mcp" in challenge, name
        async with as_user(public, issuer.token(public)) as alice:
            result = await alice.call_tool("chat", {"prompt": "hello with a JWT"})
            assert not result.is_error and result.structured_content["status"] == "done"
        async with as_user(public, issuer.token(public, sub="bob")) as bob:
            peek = await bob.call_tool("get_conversation",
                                       {"conversation_id": result.structured_content["conversation_id"]})
            assert peek.is_error and "Unknown conversation_id" in peek.content[0].text
    finally:
        replica.stop()

