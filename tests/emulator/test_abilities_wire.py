"""The emulator's reasoning, web search, schema answers, function calls and /ai/check at the wire level (raw
HTTPS), in the shapes recorded from the real service."""

from __future__ import annotations

import json
import ssl
import uuid

import httpx
import pytest

from gigachat_mcp.client._schema import problems
from gigachat_mcp.emulator import Emulator
from gigachat_mcp.emulator._abilities import minimal_instance


def _client(emu: Emulator) -> httpx.Client:
    trust = ssl.create_default_context(cafile=emu.ca_file)
    answer = httpx.post(emu.auth_url, headers={"Authorization": f"Basic {emu.credentials}",
                                               "RqUID": str(uuid.uuid4())},
                        data={"scope": "GIGACHAT_API_PERS"}, verify=trust)
    return httpx.Client(headers={"Authorization": f"Bearer {answer.json()['access_token']}"}, verify=trust)


def _events(text: str) -> list[tuple[str, dict]]:
    found = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in lines and lines["data"] != "[DONE]":
            found.append((lines.get("event", ""), json.loads(lines["data"])))
    return found


def test_v1_reasoning_content_in_the_message_and_deltas(emulator: Emulator) -> None:
    with _client(emulator) as http:
        body = {"model": "GigaChat-2", "messages": [{"role": "user", "content": "Hi"}], "reasoning_effort": "low"}
        whole = http.post(emulator.base_url + "/chat/completions", json=body).json()
        stream = http.post(emulator.base_url + "/chat/completions", json={**body, "stream": True}).text
        bad = http.post(emulator.base_url + "/chat/completions", json={**body, "reasoning_effort": "max"})
    message = whole["choices"][0]["message"]
    assert message["reasoning_content"].startswith("Thinking (low effort)")
    deltas = [data["choices"][0]["delta"] for _, data in _events(stream)]
    assert "reasoning_content" in deltas[0] and "content" not in deltas[0]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == message["reasoning_content"]
    assert bad.status_code == 422


def test_v2_reasoning_messages_sources_and_streamed_function_call(emulator: Emulator) -> None:
    url = emulator.origin + "/api/v2/chat/completions"
    with _client(emulator) as http:
        searched = http.post(url, json={"model": "GigaChat-2", "messages": [{"role": "user", "content": [
            {"text": "News?"}]}], "tools": [{"web_search": {}}], "model_options": {"reasoning": {"effort": "high"}}})
        spec = {"name": "ping", "parameters": {"type": "object", "properties": {}}}
        called = http.post(url, json={"model": "GigaChat-2", "stream": True, "messages": [{"role": "user", "content": [
            {"text": "Call ping"}]}], "tools": [{"functions": {"specifications": [spec]}}]}).text
    messages = searched.json()["messages"]
    assert [m["role"] for m in messages] == ["reasoning", "assistant"]
    part = messages[1]["content"][0]
    assert "[sources=[1]]" in part["text"] and set(part["inline_data"]["sources"]) == {"1", "2"}
    events = _events(called)
    assert [name for name, _ in events] == ["response.message.done"]  # a function call arrives only here
    done = events[0][1]
    assert done["finish_reason"] == "function_call"
    assert done["messages"][0]["content"] == [{"function_call": {"name": "ping", "arguments": {}}}]


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                                      "kind": {"enum": ["a", "b"]}, "n": {"type": ["integer", "null"]}},
     "required": ["tags"]},
    {"$defs": {"Item": {"type": "object", "properties": {"id": {"type": "integer", "minimum": 3}}}},
     "type": "object", "properties": {"item": {"$ref": "#/$defs/Item"}, "note": {"anyOf": [{"type": "string"},
                                                                                           {"type": "null"}]}}},
])
def test_the_minimal_instance_fits_its_schema(schema: dict) -> None:
    assert problems(minimal_instance(schema), schema) == []
    assert problems(["x"], schema) == ["$: must be object, not array"]


def test_v2_answers_carry_tool_state_id_where_the_service_records_one(emulator: Emulator) -> None:
    """As in the recorded exchanges (ai-forever/gigachat tests/integration/cassettes, test_primary_chat_*): a
    function call, the answer after its result, and answers with a built-in tool (forced or not) carry
    tool_state_id on the message; a plain answer does not."""
    url = emulator.origin + "/api/v2/chat/completions"
    weather = {"name": "get_order_status", "description": "Order status.",
               "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}}}
    tools = [{"functions": {"specifications": [weather]}}]
    ask = [{"role": "user", "content": [{"text": "Check order_id=A-1024"}]}]
    with _client(emulator) as http:
        def message(**body) -> dict:
            answer = http.post(url, json={"model": "GigaChat-2", **body})
            assert answer.status_code == 200, answer.text
            return answer.json()["messages"][-1]

        plain = message(messages=ask)
        called = message(messages=ask, tools=tools,
                         tool_config={"mode": "forced", "function_name": "get_order_status"})
        state = called["tool_state_id"]
        after = message(tools=tools, messages=[
            *ask, {"role": "assistant", "content": called["content"], "tools_state_id": state},
            {"role": "tool", "content": [{"function_result": {"name": "get_order_status",
                                                              "result": {"status": "packed"}}}],
             "tools_state_id": state}])
        searched = message(messages=ask, tools=[{"web_search": {"type": "actual_info_web_search"}}],
                           tool_config={"mode": "forced", "tool_name": "web_search"})
        extracted = message(messages=ask, tools=[{"url_content_extraction": {}}],
                            tool_config={"mode": "forced", "tool_name": "url_content_extraction"})
        computed = message(messages=ask, tools=[{"code_interpreter": {}}], tool_config={"mode": "auto"})
    assert "tool_state_id" not in plain
    assert called["content"][0]["function_call"]["name"] == "get_order_status"
    for answered in (after, searched, extracted, computed):
        assert answered["content"][-1]["text"] and answered["tool_state_id"] not in ("", state)
    assert 'Function get_order_status returned' in after["content"][-1]["text"]
    assert len({called["tool_state_id"], after["tool_state_id"], searched["tool_state_id"]}) == 3
