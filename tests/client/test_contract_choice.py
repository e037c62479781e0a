"""The contract a user should not have to pick: a request for what only v2 offers (web search, URL extraction,
code interpreter) goes on v2 when GIGACHAT_API_VERSION is not pinned; a pinned contract is kept and refused with
the setting to change, before anything is sent. Against the emulator, which serves both contracts."""

from __future__ import annotations

import pytest

from gigachat_mcp import AsyncGigaChat, ConfigError, GigaChat, Settings
from gigachat_mcp.emulator import Emulator

pytestmark = pytest.mark.anyio
V1, V2 = "/v1/chat/completions", "/v2/chat/completions"


def paths(emulator: Emulator) -> list[str]:
    return [r.path for r in emulator.requests_to("chat")]


def test_settings_know_a_pinned_contract_from_the_default() -> None:
    assert not Settings.resolve(environ={}).pinned("api_version")
    assert Settings.resolve(environ={"GIGACHAT_API_VERSION": "v1"}).pinned("api_version")
    assert Settings.resolve(environ={}, api_version="v1").pinned("api_version")
    assert Settings.resolve(environ={}).replace(api_version="v1").pinned("api_version")


@pytest.mark.parametrize("tool", ["web_search", "url_content_extraction", "code_interpreter"])
def test_a_v2_only_tool_goes_on_v2_and_plain_requests_stay_on_v1(emulator: Emulator, tool: str) -> None:
    with GigaChat(**emulator.client_settings(token_cache="memory")) as giga:
        searched = giga.chat("What happened today?", tools=[tool])
        plain = giga.chat([{"role": "user", "content": "What happened today?"}, searched.message,
                           {"role": "user", "content": "And then?"}])
    assert f"Tools allowed: {tool}" in searched.text
    assert '"And then?"' in plain.text
    assert paths(emulator) == [V2, V1]
    assert {tool: {"type": "actual_info_web_search"} if tool == "web_search" else {}} in \
        emulator.requests_to("chat")[0].body["tools"]


def test_web_search_streams_with_its_sources_on_v2(emulator: Emulator) -> None:
    with GigaChat(**emulator.client_settings(token_cache="memory")) as giga:
        chunks = list(giga.stream("news", tools=["web_search", "image_generate"]))
    assert chunks[-1].sources[0].url.startswith("https://news.example.org/")
    assert "[1]" in "".join(c.text for c in chunks)
    assert paths(emulator) == [V2]


async def test_the_async_client_and_run_tools_choose_the_same_way(emulator: Emulator) -> None:
    calls = []

    def today(city: str) -> str:
        """Today's date in a city."""
        calls.append(city)
        return "2026-11-01"

    async with AsyncGigaChat(**emulator.client_settings(token_cache="memory")) as giga:
        searched = await giga.chat("news", tools=["web_search"])
        ran = await giga.run_tools("Please today city=Kazan", tools=[today, "web_search"])
    assert searched.sources and calls == ["Kazan"] and "Function today returned" in ran.text
    assert set(paths(emulator)) == {V2}


@pytest.mark.parametrize("pin", ["argument", "environment"])
def test_a_pinned_v1_still_refuses_naming_the_setting(emulator: Emulator, monkeypatch: pytest.MonkeyPatch,
                                                       pin: str) -> None:
    overrides = {"api_version": "v1"} if pin == "argument" else {}
    if pin == "environment":
        monkeypatch.setenv("GIGACHAT_API_VERSION", "v1")
    with GigaChat(**emulator.client_settings(token_cache="memory", **overrides)) as giga:
        with pytest.raises(ConfigError, match=r"GIGACHAT_API_VERSION=v2") as refused:
            giga.chat("news", tools=["web_search"])
        assert "pinned" in str(refused.value) and "leave it unset" in str(refused.value)
        with pytest.raises(ConfigError, match=r"GIGACHAT_API_VERSION=v2"):
            giga.run_tools("x", tools=[len, "web_search"])
    assert paths(emulator) == []


def test_a_pinned_v2_stays_v2_for_everything(emulator: Emulator) -> None:
    with GigaChat(**emulator.client_settings(token_cache="memory", api_version="v2")) as giga:
        giga.chat("hello")
        giga.chat("news", tools=["web_search"])
    assert paths(emulator) == [V2, V2]
