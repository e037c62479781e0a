"""The official `gigachat` SDK (PyPI) against the emulator over TLS for the richer chat: reasoning (v1
reasoning_content, v2 reasoning messages), functions and their results on both contracts, web-search sources,
structured answers via its parse helpers, and /ai/check. If the SDK can read it, the shapes are the service's."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator

import pytest
from gigachat import GigaChat as OfficialGigaChat
from gigachat.exceptions import ForbiddenError
from pydantic import BaseModel

from gigachat_mcp.emulator import Emulator

WEATHER = {"name": "get_weather", "description": "Weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


class Person(BaseModel):
    name: str
    age: int


def official(emulator: Emulator, **overrides) -> OfficialGigaChat:
    s = emulator.client_settings(**overrides)
    return OfficialGigaChat(credentials=s["credentials"], base_url=s["base_url"], auth_url=s["auth_url"],
                            ca_bundle_file=s["ca_bundle_file"], scope=overrides.get("scope", "GIGACHAT_API_PERS"),
                            model="GigaChat-2", max_retries=0)


@pytest.fixture
def sdk(emulator: Emulator) -> Iterator[OfficialGigaChat]:
    with official(emulator) as client:
        yield client


def test_v1_reasoning_whole_and_streamed(sdk: OfficialGigaChat) -> None:
    answer = sdk.chat({"messages": [{"role": "user", "content": "Why?"}], "reasoning_effort": "high"})
    message = answer.choices[0].message
    assert message.reasoning_content.startswith('Thinking (high effort) about "Why?"')
    assert "Thinking" not in message.content
    chunks = list(sdk.stream({"messages": [{"role": "user", "content": "Why?"}], "reasoning_effort": "high"}))
    assert "".join(c.choices[0].delta.reasoning_content or "" for c in chunks) == message.reasoning_content
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == message.content


def test_v2_reasoning_messages_and_web_sources(sdk: OfficialGigaChat) -> None:
    answer = sdk.chat.create({"messages": [{"role": "user", "content": "News?"}], "tools": [{"web_search": {}}],
                              "model_options": {"reasoning": {"effort": "low"}}})
    thinking, reply = answer.messages
    assert thinking.role == "reasoning" and thinking.content[0].text.startswith("Thinking (low effort)")
    sources = reply.content[0].inline_data.sources
    assert sources["1"].url.startswith("https://news.example.org/") and "[sources=[1]]" in reply.content[0].text
    chunks = list(sdk.chat.stream({"messages": [{"role": "user", "content": "News?"}],
                                   "model_options": {"reasoning": {"effort": "low"}}}))
    roles = [m.role for c in chunks for m in c.messages or ()]
    assert roles[0] == "reasoning" and "assistant" in roles


def test_v1_function_call_and_result(sdk: OfficialGigaChat) -> None:
    asked = sdk.chat({"messages": [{"role": "user", "content": "get_weather city=Tver"}], "functions": [WEATHER]})
    message = asked.choices[0].message
    assert asked.choices[0].finish_reason == "function_call"
    assert message.function_call.name == "get_weather" and message.function_call.arguments == {"city": "Tver"}
    answered = sdk.chat({"messages": [{"role": "user", "content": "get_weather city=Tver"},
                                      message.model_dump(exclude_none=True),
                                      {"role": "function", "name": "get_weather", "content": json.dumps({"t": 20})}],
                         "functions": [WEATHER]})
    assert 'Function get_weather returned: "{"t": 20}"' in answered.choices[0].message.content


def test_v2_function_call_and_result(sdk: OfficialGigaChat) -> None:
    tools = [{"functions": {"specifications": [WEATHER]}}]
    asked = sdk.chat.create({"messages": [{"role": "user", "content": "get_weather city=Omsk"}], "tools": tools})
    call = asked.messages[0].content[0].function_call
    assert asked.finish_reason == "function_call" and (call.name, call.arguments) == ("get_weather", {"city": "Omsk"})
    streamed = list(sdk.chat.stream({"messages": [{"role": "user", "content": "get_weather city=Omsk"}],
                                     "tools": tools}))
    assert streamed[-1].messages[0].content[0].function_call.name == "get_weather"
    answered = sdk.chat.create({"messages": [
        {"role": "user", "content": "get_weather city=Omsk"},
        {"role": "assistant", "content": [{"function_call": {"name": "get_weather", "arguments": {"city": "Omsk"}}}],
         "tools_state_id": asked.messages[0].tools_state_id},
        {"role": "tool", "content": [{"function_result": {"name": "get_weather", "result": {"t": -3}}}]},
    ], "tools": tools})
    assert 'Function get_weather returned: "{"t": -3}"' in answered.messages[-1].content[0].text


def test_structured_answers_through_the_sdks_parse_helpers(sdk: OfficialGigaChat) -> None:
    _, legacy = sdk.chat_parse("Invent a person", response_format=Person)
    _, primary = sdk.chat.parse("Invent a person", response_format=Person)
    assert legacy == primary == Person(name="emulator", age=0)


def test_ai_check_for_corporate_keys_only(emulator: Emulator, sdk: OfficialGigaChat) -> None:
    with pytest.raises(ForbiddenError):
        sdk.check_ai("Some text.", "GigaCheckDetection")
    corp = base64.b64encode(b"corp-sdk:secret").decode()
    emulator.api.credentials[corp] = "GIGACHAT_API_CORP"
    with official(emulator, credentials=corp, scope="GIGACHAT_API_CORP") as client:
        result = client.check_ai("Written by hand. GigaChat wrote this.", "GigaCheckDetection")
    assert result.category == "mixed" and result.ai_intervals == [[18, 37]]


def test_async_reasoning_stream(emulator: Emulator) -> None:
    async def main() -> list:
        async with official(emulator) as client:
            return [c async for c in client.astream({"messages": [{"role": "user", "content": "Hm"}],
                                                     "reasoning_effort": "medium"})]
    chunks = asyncio.run(main())
    assert "".join(c.choices[0].delta.reasoning_content or "" for c in chunks).startswith("Thinking (medium")
