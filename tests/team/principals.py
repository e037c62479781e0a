"""Two principals (alice and bob) with static tokens, and an MCP client that speaks as one of them."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, MCPError, types
from mcp.client.streamable_http import streamable_http_client

from gigachat_mcp import GigaChat
from gigachat_mcp.emulator import Emulator

TOKENS = {"alice": "alice-secret-token", "bob": "bob-secret-token"}


def write_tokens(directory: Path) -> Path:
    """A --auth-tokens file for alice and bob."""
    path = directory / "tokens.txt"
    path.write_text("".join(f"{name}: {hashlib.sha256(token.encode()).hexdigest()}\n"
                            for name, token in TOKENS.items()))
    return path


def as_user(url: str, name: str, **kwargs) -> Client:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {TOKENS[name]}"}
    return Client(streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers, timeout=60)), **kwargs)


# --- what a user notices, run on one memory process (tests/server) and on replicas sharing Redis (tests/team) ----

async def refusals(url: str, name: str, file_id: str) -> tuple[tuple[int, str], str]:
    """What `name` gets for reading and for attaching `file_id`, the id itself replaced by ID."""
    async with as_user(url, name) as client:
        with pytest.raises(MCPError) as read:
            await client.read_resource(f"gigachat://files/{file_id}")
        attached = await client.call_tool("chat", {"prompt": "what is in it?", "attachments": [file_id]})
    assert attached.is_error
    return ((read.value.error.code, read.value.error.message.replace(file_id, "ID")),
            attached.content[0].text.replace(file_id, "ID"))


async def files_stay_with_their_principal(emulator: Emulator, draw_on: str, read_on: str, upload: Path) -> None:
    """bob draws a cat and uploads a document on one server; on another (or the same) alice can neither read nor
    attach either file and is told exactly what an id that never existed gets; bob can."""
    async with as_user(draw_on, "bob") as bob:
        drawn = await bob.call_tool("chat", {"prompt": "нарисуй кота"})
        assert not drawn.is_error, drawn.content[0].text
        [made] = drawn.structured_content["files"]
        read = await bob.call_tool("chat", {"prompt": "read this", "attachments": [str(upload)]})
        assert not read.is_error, read.content[0].text
    with GigaChat(**emulator.client_settings()) as direct:  # the key's files: bob's upload is one of them
        [uploaded] = [f.id for f in direct.list_files() if f.filename == upload.name]
    asked = len(emulator.requests_to("chat"))
    never = await refusals(read_on, "alice", str(uuid.uuid4()))
    assert "No file 'ID'" in never[0][1] and "No file 'ID'" in never[1]
    assert await refusals(read_on, "alice", made["id"]) == never
    assert await refusals(read_on, "alice", uploaded) == never
    assert len(emulator.requests_to("chat")) == asked, "alice's attempts never reached GigaChat"
    async with as_user(read_on, "bob") as bob:
        blob = (await bob.read_resource(made["resource_uri"])).contents[0]
        assert isinstance(blob, types.BlobResourceContents)
        assert base64.b64decode(blob.blob) == base64.b64decode(drawn.content[1].data)
        for file_id in (made["id"], uploaded):
            again = await bob.call_tool("chat", {"prompt": "what is in it?", "attachments": [file_id]})
            assert not again.is_error, again.content[0].text
            assert emulator.requests_to("chat")[-1].body["messages"][-1]["attachments"] == [file_id]


SLOW = "[emulator words=100 delay=0.5]"  # ~25 s: answering (or queued) for the whole test


async def a_burst_stays_within_its_principal(urls: list[str], cap: int = 100) -> None:
    """bob keeps one conversation; alice starts 2 x cap new chats at once (spread over `urls`): `cap` are
    accepted and keep answering, the rest are refused naming the cap and when to retry, and bob's conversation
    is untouched (as is bob's own room for new ones)."""
    async with as_user(urls[0], "bob") as bob:
        kept = (await bob.call_tool("chat", {"prompt": "bob's only conversation"})).structured_content
    results: list[types.CallToolResult] = []
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(as_user(url, "alice")) for url in urls for _ in range(2)]

        async def start(n: int) -> None:
            call = {"prompt": f"alice {n} {SLOW}", "background": True}
            results.append(await clients[n % len(clients)].call_tool("chat", call))

        async with anyio.create_task_group() as group:
            for n in range(2 * cap):
                group.start_soon(start, n)
        accepted = [r.structured_content["conversation_id"] for r in results if not r.is_error]
        refused = [r.content[0].text for r in results if r.is_error]
        assert len(accepted) == cap and len(refused) == cap, refused[:3]
        for text in refused:
            assert f"You have {cap} conversations answering at once" in text, text
            assert "cap on conversations per user (--conversations-per-user" in text and "Retry in a few" in text
        for cid in accepted:  # an answer in flight is never dropped
            seen = await clients[0].call_tool("get_conversation", {"conversation_id": cid})
            assert not seen.is_error and json.loads(seen.content[0].text)["status"] in ("queued", "streaming")
    async with as_user(urls[-1], "bob") as bob:
        mine = await bob.call_tool("get_conversation", {"conversation_id": kept["conversation_id"]})
        assert not mine.is_error, mine.content[0].text
        assert json.loads(mine.content[0].text)["messages"][0]["content"] == "bob's only conversation"
        room = await bob.call_tool("chat", {"prompt": "bob has room of his own", "background": True})
        assert not room.is_error, room.content[0].text  # accepted (it queues behind alice's answers for the stream)
