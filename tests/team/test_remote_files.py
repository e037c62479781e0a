"""Attachments over real streamable HTTP: a remote client's roots never open the server's disk (only the
operator's GIGACHAT_MCP_FILE_ROOTS is read), and a remote client attaches its own files inline."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client, types
from mcp.client.streamable_http import streamable_http_client

from gigachat_mcp.emulator import Emulator
from tests.helpers import eventually
from tests.team.servers import Replica

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::UserWarning")]


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return False
    return True


def stored_contents(emulator: Emulator) -> list[bytes]:
    """Every file's bytes as the emulated GigaChat stored them (what reached the service)."""
    return [stored.data for stored in list(emulator.api.files._files.values())]


@pytest.fixture
def disk(tmp_path: Path) -> dict[str, Path]:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "shared.txt").write_text("operator shared notes", encoding="utf-8")
    outside = tmp_path / "outside"
    (outside / ".hidden").mkdir(parents=True)
    (outside / "private.txt").write_text("server private text", encoding="utf-8")
    (outside / ".hidden" / "key.txt").write_text("server hidden text", encoding="utf-8")
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"alice: {hashlib.sha256(b'alice-secret-token').hexdigest()}\n")
    return {"allowed": allowed, "outside": outside, "tokens": tokens}


@pytest.mark.parametrize("team", [True, False], ids=["team-server-with-auth", "one-http-process"])
async def test_remote_roots_never_open_the_servers_disk_and_inline_files_reach_gigachat(
        emulator: Emulator, disk: dict[str, Path], team: bool) -> None:
    allowed, outside = disk["allowed"], disk["outside"]
    args = ["--auth-tokens", str(disk["tokens"])] if team else []
    replica = Replica(emulator, *args, env={"GIGACHAT_MCP_FILE_ROOTS": str(allowed)})
    if team:
        replica.wait_ready()
    else:  # one plain HTTP process has no /healthz: wait until /mcp answers at all
        await eventually(lambda: _answers(replica.url), what="the HTTP server to start")
    declared = ["file:///", outside.as_uri(), (outside / ".hidden").as_uri()]

    async def roots(context) -> types.ListRootsResult:  # type: ignore[no-untyped-def]
        return types.ListRootsResult(roots=[types.Root(uri=uri) for uri in declared])  # type: ignore[arg-type]

    headers = {"Authorization": "Bearer alice-secret-token"} if team else {}
    transport = streamable_http_client(replica.url, http_client=httpx2.AsyncClient(headers=headers, timeout=60))
    try:
        async with Client(transport, mode="legacy", list_roots_callback=roots) as client:
            for path in ("/etc/passwd", str(outside / "private.txt"), str(outside / ".hidden" / "key.txt")):
                refused = await client.call_tool("chat", {"prompt": "read it", "attachments": [path]})
                assert refused.is_error, path
                said = refused.content[0].text
                assert "outside the allowed directories" in said and str(allowed) in said, said
                assert "GIGACHAT_MCP_FILE_ROOTS" in said and "inline_attachments" in said, said
            # the operator's directory is read over HTTP as before
            shared = await client.call_tool("chat", {"prompt": "read", "attachments": [str(allowed / "shared.txt")]})
            assert 'Text of shared.txt: "operator shared notes"' in shared.structured_content["text"]
            # the client's own file, sent inline, reaches GigaChat as an upload and GigaChat reads it
            content = "встреча в полдень, remote plan".encode()
            inline = await client.call_tool("chat", {"prompt": "what does it say?", "inline_attachments": [
                {"name": "remote.txt", "data": base64.b64encode(content).decode()}]})
            assert not inline.is_error, inline.content
            assert 'Text of remote.txt: "встреча в полдень, remote plan"' in inline.structured_content["text"]
            transcript = json.loads((await client.read_resource(
                inline.structured_content["resource_uri"])).contents[0].text)
            [file_id] = transcript["messages"][0]["attachments"]  # recorded as the uploaded file's id
            again = await client.call_tool("chat", {"prompt": "and again?", "conversation_id":
                                                    inline.structured_content["conversation_id"]})
            assert not again.is_error
    finally:
        replica.stop()
    assert content in stored_contents(emulator)
    assert emulator.requests_to("chat")[-1].body["messages"][0]["attachments"] == [file_id]
    leaked = [data for data in stored_contents(emulator) if b"server" in data or b"root:" in data]
    assert leaked == []
    bodies = json.dumps([r.body for r in emulator.requests_to("chat")], ensure_ascii=False)
    assert "server private" not in bodies and "server hidden" not in bodies and "root:" not in bodies


SERVE_TRUSTING = """
import sys
from gigachat_mcp.server import build_server
build_server(trust_client_roots=True).run(transport="streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
"""


async def test_a_server_built_to_trust_roots_still_reads_none_of_them_over_http(
        emulator: Emulator, disk: dict[str, Path]) -> None:
    """The second guard: even a server wrongly built with trust_client_roots=True and served over HTTP never reads
    a root a remote client declares (the request arrived over HTTP, so its roots are the remote machine's)."""
    import subprocess
    import sys

    from tests.helpers import subprocess_env
    from tests.team.servers import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE_TRUSTING, str(port)], env=subprocess_env(emulator),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        await eventually(lambda: _answers(url), what="the HTTP server to start")

        async def roots(context) -> types.ListRootsResult:  # type: ignore[no-untyped-def]
            return types.ListRootsResult(roots=[types.Root(uri=disk["outside"].as_uri())])  # type: ignore[arg-type]

        transport = streamable_http_client(url, http_client=httpx2.AsyncClient(timeout=60))
        async with Client(transport, mode="legacy", list_roots_callback=roots) as client:
            refused = await client.call_tool("chat", {"prompt": "read it",
                                                      "attachments": [str(disk["outside"] / "private.txt")]})
        assert refused.is_error and "inline_attachments" in refused.content[0].text, refused.content
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert all(b"server private" not in data for data in stored_contents(emulator))
