"""GIGACHAT_MCP_APPS: the live view for clients that announce MCP Apps (auto, the default), for every client
(always: hosts such as the ext-apps basic-host render Apps without announcing them), or for none (never)."""

from __future__ import annotations

import logging

import pytest
from mcp import Client

from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from gigachat_mcp.server.live_view import VIEW_URI, apps_offer
from tests.server.test_live_view import APPS, MODEL_TOOLS
from tests.server.test_server import settings_for

pytestmark = pytest.mark.anyio


async def listings(emulator: Emulator, extensions: list) -> tuple[list, list[str]]:  # type: ignore[type-arg]
    async with Client(build_server(settings_for(emulator)), mode="legacy", extensions=extensions) as client:
        return (await client.list_tools()).tools, [str(r.uri) for r in (await client.list_resources()).resources]


async def test_always_offers_the_view_to_a_client_that_announces_nothing(emulator: Emulator,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGACHAT_MCP_APPS", "always")
    tools, resources = await listings(emulator, [])
    assert [t.name for t in tools] == [*MODEL_TOOLS, "read_answer", "stop_answer"]
    assert next(t for t in tools if t.name == "chat").meta == {"ui": {"resourceUri": VIEW_URI}}
    assert VIEW_URI in resources


async def test_never_hides_the_view_even_from_an_apps_client(emulator: Emulator,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGACHAT_MCP_APPS", "never")
    tools, resources = await listings(emulator, [APPS])
    assert [t.name for t in tools] == MODEL_TOOLS and all(t.meta is None for t in tools)
    assert VIEW_URI not in resources


async def test_auto_is_the_default_and_a_bad_value_says_so(emulator: Emulator, monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("GIGACHAT_MCP_APPS", raising=False)
    assert [t.name for t in (await listings(emulator, []))[0]] == MODEL_TOOLS
    with caplog.at_level(logging.WARNING, logger="gigachat_mcp.server"):
        assert apps_offer({"GIGACHAT_MCP_APPS": "sometimes"}) == "auto"
    assert "GIGACHAT_MCP_APPS='sometimes' is not one of auto, always, never" in caplog.text
