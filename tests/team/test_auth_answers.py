"""What a team server tells clients about authentication and its store: RFC 6750's 403 for a missing scope, the
RFC 9728 document naming the issuer as configured, and an unreachable Redis without its address."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from mcp import Client

from gigachat_mcp.emulator import Emulator
from tests.team.servers import Replica, free_port
from tests.team.test_auth import Issuer, as_user, issuer  # noqa: F401 - the fixture

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::UserWarning")]


@pytest.fixture
def oauth_replica(emulator: Emulator, issuer: Issuer) -> Iterator[str]:  # noqa: F811
    port = free_port()
    public = f"http://127.0.0.1:{port}/mcp"
    replica = Replica(emulator, "--oauth-issuer", issuer.url, "--public-url", public, "--oauth-scope", "gigachat",
                      port=port).wait_ready()
    yield public
    replica.stop()


async def test_a_token_without_the_scope_gets_403_insufficient_scope(oauth_replica: str, issuer: Issuer) -> None:  # noqa: F811
    public = oauth_replica
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    accept = {"Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient() as http:
        lacking = await http.post(public, json=body, headers={
            **accept, "Authorization": f"Bearer {issuer.token(public, scope='other')}"})
        assert lacking.status_code == 403
        challenge = lacking.headers["www-authenticate"]
        assert challenge.startswith("Bearer ") and 'error="insufficient_scope"' in challenge
        assert "gigachat" in challenge and "oauth-protected-resource/mcp" in challenge
        assert lacking.json()["error"] == "insufficient_scope"
        forged = await http.post(public, json=body, headers={
            **accept, "Authorization": f"Bearer {issuer.token(public, forged=True)}"})
        assert forged.status_code == 401 and 'error="invalid_token"' in forged.headers["www-authenticate"]
    async with as_user(public, issuer.token(public, scope="openid gigachat")) as alice:
        assert not (await alice.call_tool("chat", {"prompt": "scoped"})).is_error


async def test_the_protected_resource_document_names_the_issuer_as_configured(oauth_replica: str,
                                                                              issuer: Issuer) -> None:  # noqa: F811
    assert not issuer.url.endswith("/")
    async with httpx.AsyncClient() as http:
        metadata = (await http.get(oauth_replica.replace("/mcp", "/.well-known/oauth-protected-resource/mcp"))
                    ).json()
    assert metadata["authorization_servers"] == [issuer.url]  # no "/" the issuer does not write in `iss`
    assert metadata["resource"] == oauth_replica and metadata["scopes_supported"] == ["gigachat"]


async def test_clients_are_not_told_where_redis_is(emulator: Emulator, redis_server, replicas) -> None:
    [replica] = replicas(1)
    async with Client(replica.url) as client:
        redis_server.stop()
        try:
            refused = await client.call_tool("chat", {"prompt": "while Redis is away"})
            async with httpx.AsyncClient() as http:
                ready = await http.get(f"http://127.0.0.1:{replica.port}/readyz")
        finally:
            redis_server.start()
    told = refused.content[0].text
    assert refused.is_error and "cannot reach its shared store" in told and "retry in a few seconds" in told
    assert str(redis_server.port) not in told and "127.0.0.1" not in told and "redis://" not in told
    assert ready.status_code == 503 and str(redis_server.port) not in ready.text and "127.0.0.1" not in ready.text
    assert f"127.0.0.1:{redis_server.port}" in replica.output(), "the operator's log names the address"
