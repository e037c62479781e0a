"""Pictures and documents through the MCP server: drawn images as image content and blob resources, the roots
rule for attachments, generate_image / embed / get_balance, in memory and over stdio."""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters, types
from PIL import Image

from gigachat_mcp import Settings
from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from tests.helpers import gigachat_mcp_command, subprocess_env

pytestmark = pytest.mark.anyio
ERAS = ["auto", "legacy"]
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def settings_for(emulator: Emulator, **overrides) -> Settings:
    return Settings.resolve(environ={}, **emulator.client_settings(retry_backoff_factor=0.01, token_cache="memory",
                                                                   **overrides))


def server_for(emulator: Emulator, **overrides):
    return build_server(settings_for(emulator, **overrides))


def _jpeg(image: types.ImageContent) -> Image.Image:
    picture = Image.open(io.BytesIO(base64.b64decode(image.data)))
    picture.load()
    return picture


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize("api_version", ["v1", "v2"])
async def test_drawing_in_plain_words_returns_image_content_and_a_blob_resource(
        emulator: Emulator, mode: str, api_version: str) -> None:
    async with Client(server_for(emulator, api_version=api_version), mode=mode) as client:
        result = await client.call_tool("chat", {"prompt": "нарисуй кота"})
        data = result.structured_content
        [made] = data["files"]
        assert made["mime_type"] == "image/jpeg" and made["resource_uri"] == f"gigachat://files/{made['id']}"
        text, image = result.content
        assert isinstance(text, types.TextContent) and "<img" not in text.text and text.text == data["text"]
        assert isinstance(image, types.ImageContent) and image.mime_type == "image/jpeg"
        assert _jpeg(image).format == "JPEG"
        blob = (await client.read_resource(made["resource_uri"])).contents[0]
        assert isinstance(blob, types.BlobResourceContents)
        assert base64.b64decode(blob.blob) == base64.b64decode(image.data)
        transcript = json.loads((await client.read_resource(data["resource_uri"])).contents[0].text)
        assistant = transcript["messages"][-1]
        assert assistant["role"] == "assistant" and assistant["files"] == data["files"]
        # the next turn carries the tool state (the emulator names it) and does not re-send the file record
        again = await client.call_tool("chat", {"prompt": "make it bluer", "conversation_id": data["conversation_id"]})
        assert "Tool state from an earlier turn" in again.structured_content["text"]
        assert again.structured_content["files"] == []


async def test_image_generation_can_be_turned_off(emulator: Emulator) -> None:
    async with Client(server_for(emulator, image_generation=False)) as client:
        result = await client.call_tool("chat", {"prompt": "нарисуй кота"})
    assert result.structured_content["files"] == [] and len(result.content) == 1
    assert "function_call" not in emulator.requests_to("chat")[-1].body


async def test_generate_image_draws_and_continues(emulator: Emulator) -> None:
    async with Client(server_for(emulator)) as client:
        first = await client.call_tool("generate_image", {"prompt": "a red square", "style": "pixel art"})
        conversation_id = first.structured_content["conversation_id"]
        second = await client.call_tool("generate_image", {"prompt": "make it bluer",
                                                           "conversation_id": conversation_id})
    assert not first.is_error and isinstance(first.content[-1], types.ImageContent)
    assert 'System prompt: "Рисуй в стиле: pixel art.' in first.structured_content["text"]
    assert "Tool state from an earlier turn" in second.structured_content["text"]
    assert second.structured_content["files"][0]["id"] != first.structured_content["files"][0]["id"]
    sent = emulator.requests_to("chat")[-1].body  # the documented v1 request: "auto" and a drawing request
    assert sent["function_call"] == "auto" and "functions" not in sent
    assert sent["messages"][-1]["content"] == "Нарисуй: make it bluer"


async def test_embed_and_balance(emulator: Emulator) -> None:
    async with Client(server_for(emulator)) as client:
        vectors = (await client.call_tool("embed", {"texts": ["кот", "dog"]})).structured_content
        balance = (await client.call_tool("get_balance", {})).structured_content
    assert vectors["model"] == "Embeddings" and len(vectors["vectors"]) == 2 and len(vectors["vectors"][0]) == 32
    assert balance["balance"]["GigaChat-2"] > 0
    corp = base64.b64encode(b"corp:secret").decode()
    emulator.api.credentials[corp] = "GIGACHAT_API_CORP"
    async with Client(build_server(settings_for(emulator, credentials=corp, scope="CORP"))) as client:
        refused = await client.call_tool("get_balance", {})
    assert refused.is_error and "only for prepaid keys" in refused.content[0].text


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    allowed = tmp_path / "project"
    (allowed / "docs").mkdir(parents=True)
    (allowed / "docs" / "notes.txt").write_text("meeting at noon", encoding="utf-8")
    (allowed / "chart.png").write_bytes(PNG)
    (allowed / ".secrets").mkdir()
    (allowed / ".secrets" / "token.txt").write_text("hidden", encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.txt").write_text("do not send", encoding="utf-8")
    os.symlink(outside / "private.txt", allowed / "link.txt")
    return {"allowed": allowed, "outside": outside}


async def test_attachments_follow_the_roots_rule(emulator: Emulator, tree: dict[str, Path]) -> None:
    allowed, outside = tree["allowed"], tree["outside"]
    server = server_for(emulator, mcp_file_roots=str(allowed))
    async with Client(server) as client:
        ok = await client.call_tool("chat", {"prompt": "read", "attachments": ["docs/notes.txt",
                                                                               str(allowed / "chart.png")]})
        assert not ok.is_error
        assert 'Text of notes.txt: "meeting at noon"' in ok.structured_content["text"]
        assert "Attachment: chart.png (image/png, 24 bytes)." in ok.structured_content["text"]
        same = await client.call_tool("chat", {"prompt": "again", "attachments": [str(allowed / "docs/notes.txt")]})
        assert 'Text of notes.txt: "meeting at noon"' in same.structured_content["text"]
        refused = {
            "outside": str(outside / "private.txt"),
            "dotdot": str(allowed / "docs" / ".." / ".." / "outside" / "private.txt"),
            "symlink": str(allowed / "link.txt"),
            "hidden": str(allowed / ".secrets" / "token.txt"),
            "relative dotdot": "../outside/private.txt",
        }
        for label, path in refused.items():
            result = await client.call_tool("chat", {"prompt": "leak", "attachments": [path]})
            assert result.is_error, label
            assert "GIGACHAT_MCP_FILE_ROOTS" in result.content[0].text, label
    bodies = json.dumps([r.body for r in emulator.requests_to("chat")], ensure_ascii=False)
    assert "do not send" not in bodies and "hidden" not in bodies
    assert len(emulator.requests_to("upload")) == 2
    # a hidden directory is readable once it is listed itself
    listed = server_for(emulator, mcp_file_roots=os.pathsep.join([str(allowed), str(allowed / ".secrets")]))
    async with Client(listed) as client:
        result = await client.call_tool("chat", {"prompt": "ok", "attachments": [str(allowed / ".secrets" / "token.txt")]})
    assert 'Text of token.txt: "hidden"' in result.structured_content["text"]


async def test_no_roots_means_no_local_files(emulator: Emulator, tree: dict[str, Path]) -> None:
    async with Client(server_for(emulator)) as client:
        result = await client.call_tool("chat", {"prompt": "x", "attachments": [str(tree["allowed"] / "chart.png")]})
    assert result.is_error and "no directory is allowed yet" in result.content[0].text
    assert emulator.requests_to("upload") == [] and emulator.requests_to("chat") == []


async def test_client_roots_allow_their_directories(emulator: Emulator, tree: dict[str, Path]) -> None:
    allowed = tree["allowed"]

    async def roots(context) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri=allowed.as_uri(), name="project")])

    local = build_server(settings_for(emulator), trust_client_roots=True)  # as over stdio: the client is local
    async with Client(local, mode="legacy", list_roots_callback=roots) as client:
        ok = await client.call_tool("chat", {"prompt": "read", "attachments": [str(allowed / "docs" / "notes.txt")]})
        outside = await client.call_tool("chat", {"prompt": "x", "attachments": [str(tree["outside"] / "private.txt")]})
    assert 'Text of notes.txt: "meeting at noon"' in ok.structured_content["text"]
    assert outside.is_error and str(allowed) in outside.content[0].text


async def test_a_broken_rule_is_a_tool_error_and_leaves_no_trace(emulator: Emulator, tree: dict[str, Path]) -> None:
    allowed = tree["allowed"]
    (allowed / "second.jpg").write_bytes(b"\xff\xd8\xff\xe0")
    async with Client(server_for(emulator, mcp_file_roots=str(allowed))) as client:
        first = await client.call_tool("chat", {"prompt": "hello"})
        conversation_id = first.structured_content["conversation_id"]
        bad = await client.call_tool("chat", {"prompt": "two images", "conversation_id": conversation_id,
                                              "attachments": ["chart.png", "second.jpg"]})
        assert bad.is_error and "one image per message" in bad.content[0].text
        again = await client.call_tool("chat", {"prompt": "still there?", "conversation_id": conversation_id})
    assert not again.is_error and 'Previous user message: "hello"' in again.structured_content["text"]


async def test_stdio_server_returns_the_drawn_image(emulator: Emulator, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("stdio doc", encoding="utf-8")
    command, *args = gigachat_mcp_command()
    params = StdioServerParameters(command=command, args=args,
                                   env=subprocess_env(emulator, GIGACHAT_MCP_FILE_ROOTS=str(tmp_path)))
    async with Client(params) as client:
        result = await client.call_tool("chat", {"prompt": "нарисуй кота", "attachments": [str(tmp_path / "a.txt")]})
        made = result.structured_content["files"][0]
        blob = (await client.read_resource(made["resource_uri"])).contents[0]
    assert 'Text of a.txt: "stdio doc"' in result.structured_content["text"]
    image = result.content[-1]
    assert isinstance(image, types.ImageContent) and _jpeg(image).size == (64, 64)
    assert base64.b64decode(blob.blob) == base64.b64decode(image.data)


async def test_a_file_id_from_an_earlier_result_can_be_attached(emulator: Emulator) -> None:
    async with Client(server_for(emulator)) as client:
        drawn = await client.call_tool("generate_image", {"prompt": "a cat"})
        file_id = drawn.structured_content["files"][0]["id"]
        asked = await client.call_tool("chat", {"prompt": "what is in it?", "attachments": [file_id]})
    assert not asked.is_error
    assert "(image/jpeg, 835 bytes)." in asked.structured_content["text"]
    assert emulator.requests_to("chat")[-1].body["messages"][-1]["attachments"] == [file_id]
