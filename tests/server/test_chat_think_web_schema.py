"""Thinking, web search and schema answers through the MCP `chat` tool: reasoning as progress marked as
thinking but never in the answer, sources in the structured result and as resource links, the parsed JSON, and
the contract's refusal, in memory on both protocol eras and over stdio."""

from __future__ import annotations

import json
import re

import pytest
from mcp import Client, StdioServerParameters, types

from gigachat_mcp import Settings
from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from tests.helpers import gigachat_mcp_command, subprocess_env

pytestmark = pytest.mark.anyio
ERAS = ["auto", "legacy"]
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
          "required": ["city", "population"]}


def server_for(emulator: Emulator, **overrides):
    return build_server(Settings.resolve(environ={}, **emulator.client_settings(
        retry_backoff_factor=0.01, token_cache="memory", **overrides)), progress_interval=0.0)


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize("api_version", ["v1", "v2"])
async def test_reasoning_streams_as_thinking_and_stays_out_of_the_answer(
        emulator: Emulator, mode: str, api_version: str) -> None:
    emulator.chunk_delay = 0.01
    seen: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(message or "")

    async with Client(server_for(emulator, api_version=api_version), mode=mode) as client:
        result = await client.call_tool("chat", {"prompt": "Solve 2+2", "reasoning_effort": "medium"},
                                        progress_callback=on_progress)
        data = result.structured_content
        transcript = json.loads((await client.read_resource(data["resource_uri"])).contents[0].text)
    assert data["reasoning"].startswith('Thinking (medium effort) about "Solve 2+2"')
    assert "Thinking" not in data["text"] and result.content[0].text == data["text"]
    thinking = [m for m in seen if m.startswith("[thinking] ")]
    assert thinking and all("GigaChat emulator" not in m for m in thinking)
    assert any(m.startswith("GigaChat emulator") for m in seen)  # then the answer itself streams
    assert seen.index(thinking[-1]) < next(i for i, m in enumerate(seen) if m.startswith("GigaChat emulator"))
    assert transcript["messages"][-1]["reasoning"] == data["reasoning"]
    assert "reasoning_effort" in emulator.requests_to("chat")[-1].body or \
        emulator.requests_to("chat")[-1].body["model_options"]["reasoning"] == {"effort": "medium"}


@pytest.mark.parametrize("mode", ERAS)
async def test_web_search_returns_sources_as_structure_and_links(emulator: Emulator, mode: str) -> None:
    async with Client(server_for(emulator, api_version="v2"), mode=mode) as client:
        result = await client.call_tool("chat", {"prompt": "Курс рубля сегодня", "web_search": True})
        again = await client.call_tool("chat", {"prompt": "and yesterday?",
                                                "conversation_id": result.structured_content["conversation_id"]})
    data = result.structured_content
    assert [s["url"] for s in data["sources"]][0].startswith("https://news.example.org/")
    links = [c for c in result.content if isinstance(c, types.ResourceLink)]
    assert [(str(link.uri), link.name) for link in links] == [(s["url"], s["title"]) for s in data["sources"]]
    assert "[1]" in data["text"] and "[sources=" not in data["text"]
    sent = emulator.requests_to("chat")
    assert {"web_search": {"type": "actual_info_web_search"}} in sent[0].body["tools"]
    assert all("sources" not in m for m in sent[1].body["messages"])  # the record is not sent back
    assert again.structured_content["sources"] == []


async def test_web_search_without_a_pinned_contract_goes_on_v2(emulator: Emulator) -> None:
    async with Client(server_for(emulator)) as client:
        result = await client.call_tool("chat", {"prompt": "news", "web_search": True})
        follow = await client.call_tool("chat", {"prompt": "and?", "conversation_id":
                                                 result.structured_content["conversation_id"]})
    assert not result.is_error and not follow.is_error
    assert result.structured_content["sources"][0]["url"].startswith("https://news.example.org/")
    assert [r.path for r in emulator.requests_to("chat")] == ["/v2/chat/completions", "/v1/chat/completions"]


async def test_web_search_on_a_pinned_v1_is_a_tool_error_naming_the_setting(emulator: Emulator) -> None:
    async with Client(server_for(emulator, api_version="v1")) as client:
        result = await client.call_tool("chat", {"prompt": "news", "web_search": True})
        assert result.is_error and "GIGACHAT_API_VERSION=v2" in result.content[0].text
        assert emulator.requests_to("chat") == []
        follow = await client.call_tool("chat", {"prompt": "hello"})
    assert not follow.is_error


@pytest.mark.parametrize("api_version", ["v1", "v2"])
async def test_json_schema_returns_the_parsed_object(emulator: Emulator, api_version: str) -> None:
    async with Client(server_for(emulator, api_version=api_version)) as client:
        result = await client.call_tool("chat", {"prompt": "Largest city", "json_schema": SCHEMA})
        broken = await client.call_tool("chat", {"prompt": "Largest city [emulator misfit=1]", "json_schema": SCHEMA})
        uri = re.search(r"gigachat://conversations/[0-9a-f]{16}", broken.content[0].text).group()
        transcript = json.loads((await client.read_resource(uri)).contents[0].text)
    assert result.structured_content["json"] == {"city": "emulator", "population": 0}
    assert json.loads(result.content[0].text) == result.structured_content["json"]
    assert broken.is_error and "does not fit the schema" in broken.content[0].text
    assert transcript["status"] == "error"
    assert json.loads(transcript["messages"][-1]["content"]) == ["this answer does not fit the schema"]


async def test_descriptions_tell_the_model_when_to_use_each(emulator: Emulator) -> None:
    async with Client(server_for(emulator)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    props = tools["chat"].input_schema["properties"]
    assert "recent facts" in props["web_search"]["description"]
    assert "fields rather than prose" in props["json_schema"]["description"]
    assert props["reasoning_effort"]["anyOf"][0]["enum"] == ["low", "medium", "high"]
    assert {"reasoning", "sources", "json"} <= set(tools["chat"].output_schema["properties"])


async def test_stdio_server_returns_sources_and_reasoning(emulator: Emulator) -> None:
    command, *args = gigachat_mcp_command()
    params = StdioServerParameters(command=command, args=args, env=subprocess_env(emulator, GIGACHAT_API_VERSION="v2"))
    async with Client(params) as client:
        result = await client.call_tool("chat", {"prompt": "What happened today?", "web_search": True,
                                                 "reasoning_effort": "low"})
    data = result.structured_content
    assert len(data["sources"]) == 2 and data["reasoning"].startswith("Thinking (low effort)")
    assert [c.type for c in result.content] == ["text", "resource_link", "resource_link"]
