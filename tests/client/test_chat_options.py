"""`chat_options`: the one mapping of the front ends' think / web / schema / draw switches to chat options, as
the MCP `chat` tool, `%%gigachat` and `gigachat-mcp ask` use it; checked as a mapping and against the emulator
over HTTPS, where what reaches the service is what a user's switch asked for."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from gigachat_mcp import chat_options
from gigachat_mcp.emulator import Emulator
from tests.helpers import sync_client

PERSON = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


class Person(BaseModel):
    name: str


def test_no_switch_leaves_every_option_at_its_default() -> None:
    assert chat_options() == {"reasoning_effort": None, "tools": None, "response_format": None}


def test_drawing_and_web_search_stay_allowed_together() -> None:
    assert chat_options(draw=True)["tools"] == ["image_generate"]
    assert chat_options(web=True)["tools"] == ["web_search"]
    assert chat_options(draw=True, web=True)["tools"] == ["image_generate", "web_search"]


def test_the_level_and_the_schema_pass_through() -> None:
    options = chat_options(think="high", schema=PERSON)
    assert options["reasoning_effort"] == "high" and options["response_format"] is PERSON
    assert chat_options(schema=Person)["response_format"] is Person
    assert chat_options(think="")["reasoning_effort"] is None  # an empty level is no thinking, not a bad level


def test_the_switches_reach_the_service(emulator: Emulator) -> None:
    """Thinking and web search asked for in one request: the service sees both, and the answer comes back with
    its reasoning and its sources; a schema comes back as the parsed object."""
    with sync_client(emulator, api_version="v2") as giga:
        searched = giga.chat("Who won yesterday?", **chat_options(think="low", web=True))
        body = emulator.requests_to("chat")[-1].body
        shaped = giga.chat("Name someone, as JSON.", **chat_options(schema=PERSON))
    assert body["model_options"]["reasoning"] == {"effort": "low"}
    assert body["tools"] == [{"web_search": {"type": "actual_info_web_search"}}]
    assert searched.reasoning.startswith("Thinking (low effort)") and searched.sources
    assert isinstance(shaped.parsed, dict) and isinstance(shaped.parsed["name"], str)


@pytest.mark.parametrize("think", ["low", "medium", "high"])
def test_every_level_the_front_ends_offer_is_one_the_client_takes(emulator: Emulator, think: str) -> None:
    with sync_client(emulator) as giga:
        assert giga.chat("Think.", **chat_options(think=think)).reasoning
