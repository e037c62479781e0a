"""What strict clients (MCP Inspector --strict, typed SDKs) noticed: real output schemas, each file's own type, the
client's roots asked once per connection, and file:// URIs accepted under the roots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client, types

from gigachat_mcp import GigaChat
from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from gigachat_mcp.server.build import INSTRUCTIONS
from tests.server.test_server import ERAS, settings_for

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
VALIDATION_KEYWORDS = {"type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "properties", "items"}


@pytest.mark.parametrize("mode", ERAS)
async def test_get_conversation_has_fields_not_a_json_string(emulator: Emulator, mode: str) -> None:
    async with Client(build_server(settings_for(emulator)), mode=mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        cid = (await client.call_tool("chat", {"prompt": "Hello", "system": "Be brief."})
               ).structured_content["conversation_id"]
        read = await client.call_tool("get_conversation", {"conversation_id": cid})
    schema = tools["get_conversation"].output_schema
    assert schema is not None and "result" not in schema["properties"]
    assert {"status", "messages", "model", "usage", "finish_reason", "conversation_id"} <= set(schema["properties"])
    data = read.structured_content
    assert data["status"] == "done" and data["model"] == "GigaChat-2" and data["conversation_id"] == cid
    assert [m["role"] for m in data["messages"]] == ["system", "user", "assistant"]
    assert data["messages"][-1]["content"].startswith("GigaChat emulator") and data["usage"]["total_tokens"] > 0
    assert json.loads(read.content[0].text) == data  # the text stays the readable transcript


async def test_every_output_property_says_what_it_holds(emulator: Emulator) -> None:
    async with Client(build_server(settings_for(emulator))) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        for name, prop in (tool.output_schema or {}).get("properties", {}).items():
            assert VALIDATION_KEYWORDS & set(prop), f"{tool.name}.{name} carries no validation keyword: {prop}"
    chat = next(t for t in tools if t.name == "chat").output_schema
    assert "object" in chat["properties"]["json"]["type"] and "null" in chat["properties"]["json"]["type"]


@pytest.mark.parametrize("mode", ERAS)
async def test_each_file_is_read_with_its_own_type(emulator: Emulator, tmp_path: Path, mode: str) -> None:
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n")
    with GigaChat(**emulator.client_settings()) as direct:
        pdf = direct.upload_file(tmp_path / "report.pdf")
    async with Client(build_server(settings_for(emulator)), mode=mode) as client:
        templates = {t.uri_template: t for t in (await client.list_resource_templates()).resource_templates}
        drawn = (await client.call_tool("generate_image", {"prompt": "нарисуй кота"})).structured_content["files"][0]
        image = (await client.read_resource(drawn["resource_uri"])).contents[0]
        document = (await client.read_resource(f"gigachat://files/{pdf.id}")).contents[0]
    assert templates["gigachat://files/{file_id}"].mime_type is None  # no one type claimed for every file
    assert image.mime_type == "image/jpeg" and document.mime_type == "application/pdf"


async def test_roots_are_asked_once_until_the_client_says_they_changed(emulator: Emulator, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for root in (first, second):
        root.mkdir()
        (root / f"{root.name}.txt").write_text(f"notes in {root.name}", encoding="utf-8")
    current, asked = [first], []

    async def roots(context) -> types.ListRootsResult:  # type: ignore[no-untyped-def]
        asked.append(1)
        return types.ListRootsResult(roots=[types.Root(uri=r.as_uri(), name=r.name) for r in current])

    server = build_server(settings_for(emulator), trust_client_roots=True)  # as over stdio: the client is local
    async with Client(server, mode="legacy", list_roots_callback=roots) as client:
        for _ in range(3):
            ok = await client.call_tool("chat", {"prompt": "read", "attachments": [str(first / "first.txt")]})
            assert not ok.is_error, ok.content[0].text
        assert len(asked) == 1  # the client declared listChanged: its answer is kept
        current[:] = [second]
        await client.send_roots_list_changed()
        moved = await client.call_tool("chat", {"prompt": "read", "attachments": [str(second / "second.txt")]})
        gone = await client.call_tool("chat", {"prompt": "read", "attachments": [str(first / "first.txt")]})
    assert not moved.is_error and 'Text of second.txt: "notes in second"' in moved.structured_content["text"]
    assert gone.is_error and "outside the allowed directories" in gone.content[0].text
    assert len(asked) == 2


async def test_file_uris_under_the_roots_are_attached(emulator: Emulator, tmp_path: Path) -> None:
    allowed, outside = tmp_path / "my project", tmp_path / "elsewhere"
    for directory in (allowed, outside):
        directory.mkdir()
        (directory / "notes.txt").write_text("meeting at noon", encoding="utf-8")

    async def roots(context) -> types.ListRootsResult:  # type: ignore[no-untyped-def]
        return types.ListRootsResult(roots=[types.Root(uri=allowed.as_uri(), name="project")])

    server = build_server(settings_for(emulator), trust_client_roots=True)
    async with Client(server, mode="legacy", list_roots_callback=roots) as client:
        ok = await client.call_tool("chat", {"prompt": "read", "attachments": [(allowed / "notes.txt").as_uri()]})
        refused = await client.call_tool("chat", {"prompt": "x", "attachments": [(outside / "notes.txt").as_uri()]})
        remote = await client.call_tool("chat", {"prompt": "x", "attachments": ["file://server/share/notes.txt"]})
    assert not ok.is_error and 'Text of notes.txt: "meeting at noon"' in ok.structured_content["text"]
    assert refused.is_error and "outside the allowed directories" in refused.content[0].text
    assert remote.is_error and "names another machine (server)" in remote.content[0].text


def test_instructions_do_not_send_web_search_to_a_contract_that_lacks_it() -> None:
    assert "web_search: true" in INSTRUCTIONS and "GIGACHAT_API_VERSION=v1" in INSTRUCTIONS
