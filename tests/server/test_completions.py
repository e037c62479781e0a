"""`completion/complete` as a host's prompt menu and resource picker use it: fixed choices, model names, and the
caller's own conversation ids (never another principal's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client
from mcp.types import PromptReference, ResourceTemplateReference

from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from tests.server.test_server import ERAS, settings_for
from tests.team.principals import as_user, write_tokens
from tests.team.servers import Replica

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::UserWarning")]
CONVERSATIONS = ResourceTemplateReference(uri="gigachat://conversations/{conversation_id}")


async def values(client: Client, ref, name: str, typed: str = "") -> list[str]:  # type: ignore[no-untyped-def]
    return (await client.complete(ref, {"name": name, "value": typed})).completion.values


@pytest.mark.parametrize("mode", ERAS)
async def test_prompt_choices_and_model_names_complete(emulator: Emulator, mode: str) -> None:
    async with Client(build_server(settings_for(emulator)), mode=mode) as client:
        assert client.server_capabilities.completions is not None
        translate, opinion, review = (PromptReference(name=n) for n in ("translate", "second_opinion",
                                                                          "review_code_ru"))
        assert await values(client, translate, "target_language") == ["ru", "en", "de", "fr", "es", "zh", "kk",
                                                                      "uz", "be", "uk"]
        assert await values(client, translate, "target_language", "U") == ["uz", "uk"]
        assert await values(client, translate, "register", "f") == ["formal"]
        assert await values(client, opinion, "focus") == ["all", "facts", "logic", "clarity"]
        assert await values(client, review, "focus", "p") == ["performance"]
        assert await values(client, translate, "model", "gigachat-2-") == ["GigaChat-2-Pro", "GigaChat-2-Max"]
        every = await values(client, review, "model")
        # free text and unknown names complete to nothing, without an error (the conformance suite's probe too)
        assert await values(client, translate, "text", "he") == []
        assert await values(client, PromptReference(name="test_prompt_with_arguments"), "arg1", "test") == []
        picked = await client.get_prompt("translate", {"text": "hi", "model": "GigaChat-2-Max"})
        assert len(emulator.requests_to("models")) == 1  # the model list is asked once, then kept
        listed = (await client.call_tool("list_models", {})).structured_content["models"]
    assert every == [m["id"] for m in listed if m["type"] == "chat"] and "GigaChat-2-Max" in every
    assert 'with model "GigaChat-2-Max" and exactly this prompt' in picked.messages[0].content.text


@pytest.mark.parametrize("mode", ERAS)
async def test_conversation_ids_complete_newest_first(emulator: Emulator, mode: str) -> None:
    async with Client(build_server(settings_for(emulator)), mode=mode) as client:
        assert await values(client, CONVERSATIONS, "conversation_id") == []
        ids = [(await client.call_tool("chat", {"prompt": f"hello {n}"})).structured_content["conversation_id"]
               for n in range(3)]
        assert await values(client, CONVERSATIONS, "conversation_id") == ids[::-1]
        assert await values(client, CONVERSATIONS, "conversation_id", ids[0][:12]) == [ids[0]]
        assert await values(client, CONVERSATIONS, "file_id") == []


@pytest.mark.parametrize("mode", ERAS)
async def test_another_principals_conversation_ids_never_appear(emulator: Emulator, tmp_path: Path,
                                                                 mode: str) -> None:
    replica = Replica(emulator, "--auth-tokens", str(write_tokens(tmp_path)))
    try:
        replica.wait_ready()
        async with as_user(replica.url, "alice", mode=mode) as alice, as_user(replica.url, "bob", mode=mode) as bob:
            mine = (await alice.call_tool("chat", {"prompt": "alice's plan"})).structured_content["conversation_id"]
            theirs = (await bob.call_tool("chat", {"prompt": "bob's plan"})).structured_content["conversation_id"]
            assert await values(alice, CONVERSATIONS, "conversation_id") == [mine]
            assert await values(bob, CONVERSATIONS, "conversation_id") == [theirs]
            assert await values(bob, CONVERSATIONS, "conversation_id", mine[:8]) == []
    finally:
        replica.stop()
