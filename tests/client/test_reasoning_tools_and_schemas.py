"""Reasoning, web search, structured answers, functions and AI-text detection through the core client, over
HTTPS against the emulator, on both contracts, sync and async."""

from __future__ import annotations

import asyncio
import base64
import enum
import json
from typing import Literal

import pytest
from pydantic import BaseModel

from gigachat_mcp import (
    AICheck,
    APIError,
    ConfigError,
    FunctionCall,
    InvalidRequestError,
    Source,
    StructuredOutputError,
)
from gigachat_mcp.client._functions import spec_from_callable
from gigachat_mcp.client._wire import SourceMarks
from gigachat_mcp.emulator import Emulator
from tests.helpers import async_client, sync_client

CONTRACTS = ["v1", "v2"]
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 18}},
          "required": ["name", "age"]}


class Person(BaseModel):
    name: str
    age: int


def _chat_bodies(emulator: Emulator) -> list[dict]:
    return [r.body for r in emulator.requests_to("chat")]


# --- reasoning -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", CONTRACTS)
def test_reasoning_is_kept_apart_from_the_answer(emulator: Emulator, version: str) -> None:
    with sync_client(emulator, api_version=version) as giga:
        result = giga.chat("Why is the sky blue?", reasoning_effort="high")
        chunks = list(giga.stream("Why is the sky blue?", reasoning_effort="high"))
    assert result.reasoning.startswith('Thinking (high effort) about "Why is the sky blue?"')
    assert "Thinking" not in result.text and result.text.startswith("GigaChat emulator")
    thinking = [c for c in chunks if c.reasoning]
    answer = [c for c in chunks if c.text]
    assert len(thinking) > 1 and all(not c.text for c in thinking)  # streamed in pieces, never as answer text
    assert all("Thinking" not in c.text for c in chunks)
    assert chunks.index(thinking[-1]) < chunks.index(answer[0])  # the thinking comes first
    assert "".join(c.reasoning for c in chunks) == result.reasoning
    assert "".join(c.text for c in chunks) == result.text
    sent = _chat_bodies(emulator)[0]
    if version == "v1":
        assert sent["reasoning_effort"] == "high"
    else:
        assert sent["model_options"]["reasoning"] == {"effort": "high"}


def test_a_bad_effort_is_refused_before_sending(giga) -> None:
    with pytest.raises(InvalidRequestError, match="'low', 'medium' or 'high'"):
        giga.chat("hi", reasoning_effort="max")


def test_async_reasoning_stream(emulator: Emulator) -> None:
    async def main() -> list:
        async with async_client(emulator, api_version="v2") as giga:
            return [chunk async for chunk in giga.stream("Think", reasoning_effort="low")]
    chunks = asyncio.run(main())
    assert "".join(c.reasoning for c in chunks).startswith("Thinking (low effort)")
    assert "Thinking" not in "".join(c.text for c in chunks)


# --- web search ----------------------------------------------------------------------------------------------

def test_web_search_answers_with_sources_on_v2(emulator: Emulator) -> None:
    with sync_client(emulator, api_version="v2") as giga:
        result = giga.chat("Who won yesterday?", tools=["web_search"])
        chunks = list(giga.stream("Who won yesterday?", tools=["web_search"]))
    assert [type(s) for s in result.sources] == [Source, Source]
    assert result.sources[0].url.startswith("https://news.example.org/")
    assert result.sources[0].title == "News about Who won yesterday?"
    assert "[1]" in result.text and "[sources=" not in result.text  # markers become plain citations
    assert chunks[-1].sources == result.sources
    assert "".join(c.text for c in chunks) == result.text
    assert _chat_bodies(emulator)[0]["tools"] == [{"web_search": {"type": "actual_info_web_search"}}]


def test_other_v2_tools_reach_the_service(emulator: Emulator) -> None:
    with sync_client(emulator, api_version="v2") as giga:
        result = giga.chat("Fetch https://example.org", tools=["url_content_extraction", "code_interpreter"])
    assert "Tools allowed: url_content_extraction, code_interpreter." in result.text


@pytest.mark.parametrize("tool", ["web_search", "url_content_extraction", "code_interpreter"])
def test_a_pinned_v1_lacks_the_v2_tools_and_says_which_setting_fixes_it(emulator: Emulator, tool: str) -> None:
    with sync_client(emulator, api_version="v1") as giga, pytest.raises(ConfigError) as error:
        giga.chat("news", tools=[tool])
    assert "GIGACHAT_API_VERSION=v2" in str(error.value)
    assert emulator.requests == []  # nothing was sent, not even a token request


def test_the_v1_service_refuses_v2_tools(emulator: Emulator) -> None:
    with sync_client(emulator) as giga, pytest.raises(APIError) as error:
        giga.chat("news", extra={"tools": [{"web_search": {}}]})
    assert error.value.status_code == 422 and "/v2/chat/completions" in error.value.message


def test_source_marks_split_across_pieces() -> None:
    marks = SourceMarks()
    pieces = ["It rained [sour", "ces=[1", ", 2]] today [", "sic]."]
    assert "".join(marks.feed(p) for p in pieces) + marks.flush() == "It rained [1][2] today [sic]."


# --- structured answers ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", CONTRACTS)
def test_a_schema_answer_is_parsed(emulator: Emulator, version: str) -> None:
    with sync_client(emulator, api_version=version) as giga:
        result = giga.chat("Invent a person", response_format=PERSON)
        model = giga.chat("Invent a person", response_format=Person)
        chunks = list(giga.stream("Invent a person", response_format=PERSON))
    assert result.parsed == {"name": "emulator", "age": 18} == json.loads(result.text)
    assert isinstance(model.parsed, Person) and model.parsed.age == 0
    assert chunks[-1].parsed == result.parsed and all(c.parsed is None for c in chunks[:-1])
    sent = [body["response_format"] if version == "v1" else body["model_options"]["response_format"]
            for body in _chat_bodies(emulator)[:2]]
    assert sent[0] == {"type": "json_schema", "schema": PERSON, "strict": True}
    assert sent[1]["schema"] == Person.model_json_schema()


@pytest.mark.parametrize("version", CONTRACTS)
def test_an_answer_that_does_not_fit_is_refused_with_the_raw_text(emulator: Emulator, version: str) -> None:
    with sync_client(emulator, api_version=version) as giga:
        with pytest.raises(StructuredOutputError) as error:
            giga.chat("Invent a person [emulator misfit=1]", response_format=PERSON)
        assert json.loads(error.value.raw_text) == ["this answer does not fit the schema"]
        assert "must be object, not array" in str(error.value)
        with pytest.raises(StructuredOutputError) as model_error:
            giga.chat("Invent a person [emulator misfit=1]", response_format=Person)
        assert "this answer does not fit" in model_error.value.raw_text
        with pytest.raises(StructuredOutputError):
            list(giga.stream("Invent a person [emulator misfit=1]", response_format=PERSON))


def test_response_format_must_be_a_schema_or_a_model(giga) -> None:
    with pytest.raises(InvalidRequestError, match="JSON Schema dict"):
        giga.chat("x", response_format="json")


# --- functions -------------------------------------------------------------------------------------------------

class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


def get_weather(city: str, days: int = 1, unit: Unit = Unit.C, hours: list[int] | None = None,
                mode: Literal["brief", "full"] = "brief") -> dict:
    """Weather forecast for a city.

    Args:
        city: the city's name, e.g. Moscow
        days: how many days ahead
    """
    return {"city": city, "forecast": "sunny", "days": days}


def test_a_callables_spec_comes_from_its_signature_hints_and_docstring() -> None:
    spec = spec_from_callable(get_weather)
    assert spec["name"] == "get_weather" and spec["description"] == "Weather forecast for a city."
    props = spec["parameters"]["properties"]
    assert props["city"] == {"type": "string", "description": "the city's name, e.g. Moscow"}
    assert props["days"] == {"type": "integer", "description": "how many days ahead", "default": 1}
    assert props["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert props["hours"] == {"type": "array", "items": {"type": "integer"}, "default": None}
    assert props["mode"] == {"type": "string", "enum": ["brief", "full"], "default": "brief"}
    assert spec["parameters"]["required"] == ["city"]


@pytest.mark.parametrize("version", CONTRACTS)
def test_a_function_call_comes_back_as_a_dict(emulator: Emulator, version: str) -> None:
    spec = {"name": "find_flights", "description": "Flights between two cities",
            "parameters": {"type": "object", "properties": {"to": {"type": "string"}}, "required": ["to"]}}
    with sync_client(emulator, api_version=version) as giga:
        result = giga.chat("Use find_flights with to=Kazan", tools=[spec])
        streamed = list(giga.stream("Use find_flights with to=Kazan", tools=[spec]))
    assert result.function_call == FunctionCall("find_flights", {"to": "Kazan"})
    assert result.finish_reason == "function_call" and result.text == ""
    assert streamed[-1].function_call == result.function_call and streamed[-1].finish_reason == "function_call"
    sent = _chat_bodies(emulator)[0]
    if version == "v1":
        assert sent["functions"][0]["name"] == "find_flights" and sent["function_call"] == "auto"
    else:
        assert sent["tools"] == [{"functions": {"specifications": [{**spec}]}}]


@pytest.mark.parametrize("version", CONTRACTS)
def test_run_tools_runs_the_function_and_feeds_the_result_back(emulator: Emulator, version: str) -> None:
    calls = []

    def lookup_order(order_id: int) -> dict:
        """Look an order up by its number."""
        calls.append(order_id)
        return {"order": order_id, "status": "shipped"}

    with sync_client(emulator, api_version=version) as giga:
        result = giga.run_tools("Please lookup_order order_id=42", tools=[lookup_order])
    assert calls == [42]
    assert 'Function lookup_order returned: "{"order": 42, "status": "shipped"}"' in result.text
    first, second = _chat_bodies(emulator)
    assert len(second["messages"]) == 3
    if version == "v1":
        assert second["messages"][1]["function_call"] == {"name": "lookup_order", "arguments": {"order_id": 42}}
        assert second["messages"][1]["functions_state_id"]
        assert second["messages"][2] == {"role": "function", "name": "lookup_order",
                                         "content": '{"order": 42, "status": "shipped"}'}
    else:
        assert second["messages"][1]["content"] == [{"function_call": {"name": "lookup_order",
                                                                       "arguments": {"order_id": 42}}}]
        assert second["messages"][2] == {"role": "tool", "content": [{"function_result": {
            "name": "lookup_order", "result": {"order": 42, "status": "shipped"}}}]}


@pytest.mark.parametrize("version", CONTRACTS)
def test_run_tools_feeds_a_failure_back_and_stops_after_max_rounds(emulator: Emulator, version: str) -> None:
    def divide(a: int, b: int) -> float:
        """Divide a by b."""
        return a / b

    with sync_client(emulator, api_version=version) as giga:
        result = giga.run_tools("divide a=1 b=0", tools=[divide], max_rounds=1)
    assert "ZeroDivisionError: division by zero" in result.text
    last = _chat_bodies(emulator)[-1]
    assert last.get("function_call") == "none" or last.get("tool_config") == {"mode": "none"}


def test_run_tools_in_async_awaits_coroutines(emulator: Emulator) -> None:
    async def fetch_rate(currency: str) -> dict:
        """Exchange rate of a currency to the rouble."""
        await asyncio.sleep(0)
        return {"currency": currency, "rate": 91.5}

    async def main():
        async with async_client(emulator, api_version="v2") as giga:
            return await giga.run_tools("fetch_rate currency=USD", tools=[fetch_rate])
    result = asyncio.run(main())
    assert '"rate": 91.5' in result.text


def test_run_tools_needs_callables(giga) -> None:
    with pytest.raises(InvalidRequestError, match="Python functions"):
        giga.run_tools("x", tools=[{"name": "f", "parameters": {"type": "object", "properties": {}}}])


def test_unknown_tools_and_lambdas_are_refused(giga) -> None:
    with pytest.raises(InvalidRequestError, match="Unknown tool 'web_serch'"):
        giga.chat("x", tools=["web_serch"])
    with pytest.raises(InvalidRequestError, match="plain name"):
        giga.chat("x", tools=[lambda: 1])


# --- AI-text detection -----------------------------------------------------------------------------------------

def test_check_ai_is_for_corporate_keys(emulator: Emulator) -> None:
    with sync_client(emulator) as giga, pytest.raises(APIError) as error:
        giga.check_ai("Some text.")
    assert error.value.status_code == 403 and "GIGACHAT_API_CORP" in str(error.value)
    corp = base64.b64encode(b"corp-id:corp-secret").decode()
    emulator.api.credentials[corp] = "GIGACHAT_API_CORP"
    text = "I wrote this myself. GigaChat wrote this sentence."
    with sync_client(emulator, credentials=corp, scope="CORP") as giga:
        found = giga.check_ai(text)
    assert found == AICheck("mixed", len(text), found.tokens, ((22, len(text)),))  # 1-based, as the service counts

    async def main() -> AICheck:
        async with async_client(emulator, credentials=corp, scope="CORP") as agiga:
            return await agiga.check_ai("GigaChat says hello.")
    assert asyncio.run(main()).category == "ai"


def test_async_chat_and_stream_carry_sources_calls_and_parsed(emulator: Emulator) -> None:
    spec = {"name": "ping", "parameters": {"type": "object", "properties": {}}}

    async def main():
        async with async_client(emulator, api_version="v2") as giga:
            searched = await giga.chat("Today?", tools=["web_search"])
            called = await giga.chat("Please ping", tools=[spec], tool_choice="ping")
            chunks = [c async for c in giga.stream("A person", response_format=Person)]
            return searched, called, chunks
    searched, called, chunks = asyncio.run(main())
    assert len(searched.sources) == 2
    assert called.function_call == FunctionCall("ping", {})
    assert emulator.requests_to("chat")[1].body["tool_config"] == {"mode": "forced", "function_name": "ping"}
    assert chunks[-1].parsed == Person(name="emulator", age=0)
