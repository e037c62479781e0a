"""The live view's server side through the SDK's own Client: what Apps clients and other clients see, the
long poll, Stop, and who may read an answer."""

from __future__ import annotations

import json
import time

import anyio
import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from gigachat_mcp.server.conversations import ConversationStore, UnknownConversation
from gigachat_mcp.server.live_view import VIEW_URI
from tests.server.test_server import ERAS, settings_for

pytestmark = pytest.mark.anyio
APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
MODEL_TOOLS = ["chat", "list_models", "get_conversation", "count_tokens", "generate_image", "embed", "get_balance",
               "chat_many"]


def dump(model) -> dict:
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)


@pytest.mark.parametrize("mode", ERAS)
async def test_a_client_without_apps_sees_the_listings_as_without_the_view(emulator: Emulator, mode: str) -> None:
    server = build_server(settings_for(emulator))
    async with Client(server, mode=mode) as plain:
        tools, resources = (await plain.list_tools()).tools, (await plain.list_resources()).resources
        templates = (await plain.list_resource_templates()).resource_templates
    async with Client(server, mode=mode, extensions=[APPS]) as apps:
        app_tools, app_resources = (await apps.list_tools()).tools, (await apps.list_resources()).resources
        app_templates = (await apps.list_resource_templates()).resource_templates
    assert [t.name for t in tools] == MODEL_TOOLS and all(t.meta is None for t in tools)
    assert [str(r.uri) for r in resources] == ["gigachat://models"]
    # An Apps client sees the same tools byte for byte, plus chat's binding to the page and the app-only tools.
    by_name = {t.name: dump(t) for t in app_tools}
    assert [t.name for t in app_tools] == [*MODEL_TOOLS, "read_answer", "stop_answer"]
    assert by_name["chat"].pop("_meta") == {"ui": {"resourceUri": VIEW_URI}}
    for tool in tools:
        assert json.dumps(by_name[tool.name], sort_keys=True) == json.dumps(dump(tool), sort_keys=True)
    for name in ("read_answer", "stop_answer"):
        assert by_name[name]["_meta"]["ui"] == {"resourceUri": VIEW_URI, "visibility": ["app"]}
    assert [str(r.uri) for r in app_resources] == [VIEW_URI, "gigachat://models"]
    assert [dump(t) for t in templates] == [dump(t) for t in app_templates]


@pytest.mark.parametrize("mode", ERAS)
async def test_chat_result_is_the_same_with_and_without_apps(emulator: Emulator, mode: str) -> None:
    results = []
    for extensions in ([], [APPS]):
        async with Client(build_server(settings_for(emulator)), mode=mode, extensions=extensions) as client:
            result = dump(await client.call_tool("chat", {"prompt": "Hello [emulator words=30]"}))
        cid = result["structuredContent"]["conversation_id"]
        results.append(json.loads(json.dumps(result).replace(cid, "<id>")))
    assert results[0] == results[1]
    assert results[0]["structuredContent"]["status"] == "done" and "ui" not in results[0].get("_meta", {})


async def test_the_page_is_one_self_contained_html_resource(emulator: Emulator) -> None:
    async with Client(build_server(settings_for(emulator)), extensions=[APPS]) as client:
        listed = {str(r.uri): r for r in (await client.list_resources()).resources}
        content = (await client.read_resource(VIEW_URI)).contents[0]
    assert listed[VIEW_URI].mime_type == APP_MIME_TYPE == content.mime_type
    assert content.meta == {"ui": {"prefersBorder": True, "permissions": {"clipboardWrite": {}}}}
    html = content.text
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    for external in ("src=", "<link", "@import", "url(", "fetch(", "XMLHttpRequest", "WebSocket", "http://",
                     "https://"):
        assert external not in html, external  # hosts block the network by default: nothing may be fetched
    assert "innerHTML" not in html and "insertAdjacentHTML" not in html and "document.write" not in html
    assert 'aria-live="polite"' in html and '<button type="button" id="stop"' in html


async def test_read_answer_returns_batches_until_done_and_the_text_matches(emulator: Emulator) -> None:
    """A 1,000-word answer streamed in 500 chunks is read in a handful of polls, the text exactly once."""
    prompt = "A long one [emulator words=1000 chunk=2 delay=0.005]"
    polls: list[dict] = []
    async with Client(build_server(settings_for(emulator)), extensions=[APPS]) as client:
        final: dict = {}

        async def ask() -> None:
            final.update((await client.call_tool("chat", {"prompt": prompt})).structured_content)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(ask)
            text, args = "", {"prompt": prompt, "offset": 0, "wait_ms": 10_000}
            while True:
                part = (await client.call_tool("read_answer", args)).structured_content
                polls.append(part)
                assert part["offset"] == len(text)
                text += part["text"]
                if part["status"] in ("done", "error", "cancelled"):
                    break
                args = {"conversation_id": part["conversation_id"], "offset": len(text), "wait_ms": 10_000}
    assert polls[-1]["status"] == "done" and text == final["text"] and len(text.split()) > 1000
    assert polls[-1]["usage"] == final["usage"] and polls[-1]["model"] == final["model"]
    assert {p["status"] for p in polls} <= {"pending", "queued", "streaming", "done"}
    chunks = emulator.streams[-1].planned_chunks
    assert chunks >= 500 and len(polls) <= 20, len(polls)  # ~0.5 s a poll, not one poll per chunk
    print(f"1,000 words in {chunks} chunks read in {len(polls)} polls")


async def test_read_answer_waits_bounded_and_errors_say_what_to_do(emulator: Emulator) -> None:
    async with Client(build_server(settings_for(emulator)), extensions=[APPS]) as client:
        started = time.monotonic()
        pending = await client.call_tool("read_answer", {"prompt": "never asked", "wait_ms": 300})
        waited = time.monotonic() - started
        neither = await client.call_tool("read_answer", {"offset": 0})
        unknown = await client.call_tool("read_answer", {"conversation_id": "0123456789abcdef"})
        too_long = await client.call_tool("read_answer", {"prompt": "x", "wait_ms": 60_000})
        negative = await client.call_tool("read_answer", {"prompt": "x", "offset": -1})
        done = (await client.call_tool("chat", {"prompt": "short"})).structured_content
        past_end = await client.call_tool("read_answer", {"conversation_id": done["conversation_id"],
                                                          "offset": 10**6, "wait_ms": 0})
    assert pending.structured_content["status"] == "pending" and pending.structured_content["text"] == ""
    assert waited >= 0.3
    assert neither.is_error and "Pass conversation_id, or the chat call's prompt" in neither.content[0].text
    assert unknown.is_error and "Unknown conversation_id" in unknown.content[0].text
    assert too_long.is_error and "wait_ms" in too_long.content[0].text
    assert negative.is_error and "offset" in negative.content[0].text
    # Past the end (a new turn began since): the answer again from the start.
    assert past_end.structured_content["offset"] == 0 and past_end.structured_content["text"] == done["text"]


async def test_by_prompt_the_page_finds_the_answer_in_flight_before_a_finished_one(emulator: Emulator) -> None:
    """The same prompt asked twice: the page opened for the second ask shows the answer being written, not the
    one that just finished; once that one is done too, the newest finished answer is the one found."""
    prompt = "Again [emulator words=60 chunk=1 delay=0.02]"
    async with Client(build_server(settings_for(emulator)), extensions=[APPS]) as client:
        first = (await client.call_tool("chat", {"prompt": prompt})).structured_content
        second = (await client.call_tool("chat", {"prompt": prompt, "background": True})).structured_content
        live = (await client.call_tool("read_answer", {"prompt": prompt, "wait_ms": 0})).structured_content
        await client.call_tool("get_conversation", {"conversation_id": second["conversation_id"],
                                                    "wait_seconds": 30})
        after = (await client.call_tool("read_answer", {"prompt": prompt, "wait_ms": 0})).structured_content
    assert first["conversation_id"] != second["conversation_id"]
    assert live["conversation_id"] == second["conversation_id"] and live["status"] in ("queued", "streaming")
    assert after["conversation_id"] == second["conversation_id"] and after["status"] == "done"


@pytest.mark.parametrize("background", [False, True], ids=["call", "background"])
async def test_stop_closes_the_upstream_stream_and_keeps_the_text(emulator: Emulator, background: bool) -> None:
    store = ConversationStore()
    prompt = "Endless [emulator words=2000 delay=0.02]"
    async with Client(build_server(settings_for(emulator), conversations=store), extensions=[APPS]) as client:
        result: dict = {}

        async def ask() -> None:
            result["chat"] = await client.call_tool("chat", {"prompt": prompt, "background": background})

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(ask)
            part = {"offset": 0, "text": ""}
            while len(part["text"]) < 200:
                part = (await client.call_tool("read_answer", {"prompt": prompt, "wait_ms": 5000})).structured_content
            stop = (await client.call_tool("stop_answer", {"conversation_id": part["conversation_id"]}))
        again = (await client.call_tool("stop_answer", {"conversation_id": part["conversation_id"]}))
        snapshot = json.loads((await client.call_tool(
            "get_conversation", {"conversation_id": part["conversation_id"]})).content[0].text)
    assert stop.structured_content["stopped"] is True and stop.structured_content["status"] == "cancelled"
    assert again.structured_content == {**stop.structured_content, "stopped": False}
    assert emulator.wait_until(lambda: emulator.streams[-1].outcome != "streaming", 5)
    record = emulator.streams[-1]
    assert record.outcome == "client went away" and record.sent_chunks < record.planned_chunks
    assert snapshot["status"] == "cancelled"
    kept = snapshot["messages"][-1]["content"]
    assert len(kept) == stop.structured_content["length"] and len(kept) >= 200
    chat = result["chat"]
    if not background:  # the call returns what was written, says it was stopped, and is no error
        assert not chat.is_error and chat.structured_content["status"] == "cancelled"
        assert chat.structured_content["text"] == kept
        assert chat.content[0].text == kept + "\n\n[The user stopped this answer here.]"


async def test_only_who_may_read_a_conversation_reads_or_stops_its_answer(emulator: Emulator) -> None:
    """read_answer and stop_answer use the lookup every other tool uses: an id it refuses stays refused, and a
    search by prompt does not find the refused conversation."""

    class Refusing(ConversationStore):
        hidden: set[str] = set()

        def get(self, conversation_id: str):
            if conversation_id in self.hidden:
                raise UnknownConversation(conversation_id)
            return super().get(conversation_id)

    store = Refusing()
    prompt = "Private [emulator words=300 delay=0.02]"
    async with Client(build_server(settings_for(emulator), conversations=store), extensions=[APPS]) as client:
        started = (await client.call_tool("chat", {"prompt": prompt, "background": True})).structured_content
        cid = started["conversation_id"]
        store.hidden.add(cid)  # as if another principal had started it
        by_id = await client.call_tool("read_answer", {"conversation_id": cid, "wait_ms": 0})
        by_prompt = await client.call_tool("read_answer", {"prompt": prompt, "wait_ms": 200})
        stop = await client.call_tool("stop_answer", {"conversation_id": cid})
        store.hidden.clear()
        still = await client.call_tool("read_answer", {"conversation_id": cid, "wait_ms": 0})
        await client.call_tool("stop_answer", {"conversation_id": cid})
    assert by_id.is_error and "Unknown conversation_id" in by_id.content[0].text
    assert by_prompt.structured_content["status"] == "pending" and by_prompt.structured_content["text"] == ""
    assert stop.is_error and "Unknown conversation_id" in stop.content[0].text
    assert still.structured_content["status"] == "streaming"  # the refused stop did not stop it


async def test_a_huge_answer_comes_in_bounded_slices() -> None:
    from gigachat_mcp.server.conversations import Conversation
    from gigachat_mcp.server.live_view.reading import MAX_TEXT, Changes, read_slice

    conversation = Conversation(id="0" * 16)
    conversation.begin("long", "GigaChat-2", 40)
    conversation.append("x" * (MAX_TEXT + 5000))
    conversation.finish("done")
    async def locate() -> Conversation:
        return conversation

    first = await read_slice(locate, lambda c: "u", Changes(), 0, 0)
    rest = await read_slice(locate, lambda c: "u", Changes(), MAX_TEXT, 0)
    assert (len(first.text), first.length, first.status) == (MAX_TEXT, MAX_TEXT + 5000, "done")
    assert (rest.offset, len(rest.text)) == (MAX_TEXT, 5000)
