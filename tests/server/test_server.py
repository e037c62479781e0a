"""The MCP server through the SDK's own Client, in memory, on both protocol eras, against the emulator."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
from mcp import Client, MCPError, types

from gigachat_mcp import Settings
from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from gigachat_mcp.server.conversations import ConversationStore
from tests.helpers import eventually

pytestmark = pytest.mark.anyio
ERAS = ["auto", "legacy"]  # 2026-07-28 and 2025-11-25


def settings_for(emulator: Emulator, **overrides) -> Settings:
    return Settings.resolve(environ={}, **emulator.client_settings(retry_backoff_factor=0.01, **overrides))


@asynccontextmanager
async def connect(emulator: Emulator, mode: str = "auto", server=None, **kwargs) -> AsyncIterator[Client]:
    server = server or build_server(settings_for(emulator))
    async with Client(server, mode=mode, **kwargs) as client:
        yield client


async def read_json(client: Client, uri: str) -> dict:
    result = await client.read_resource(uri)
    return json.loads(result.contents[0].text)


@pytest.mark.parametrize("mode", ERAS)
async def test_chat_answers_with_structured_result_and_text(emulator: Emulator, mode: str) -> None:
    async with connect(emulator, mode) as client:
        assert client.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
        result = await client.call_tool("chat", {"prompt": "Hello"})
    assert not result.is_error
    data = result.structured_content
    assert data["text"].startswith('GigaChat emulator (GigaChat-2) heard: "Hello".')
    assert result.content[0].text == data["text"]
    assert data["model"] == "GigaChat-2" and data["finish_reason"] == "stop" and data["status"] == "done"
    assert data["usage"]["total_tokens"] == data["usage"]["prompt_tokens"] + data["usage"]["completion_tokens"]
    assert data["resource_uri"] == f"gigachat://conversations/{data['conversation_id']}"


async def test_tools_have_descriptions_bounds_and_annotations(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert client.server_info.name == "gigachat" and client.server_info.version
    assert {"chat", "list_models", "get_conversation", "count_tokens"} <= set(tools)
    chat = tools["chat"]
    props = chat.input_schema["properties"]
    assert chat.input_schema["required"] == ["prompt"]
    assert props["prompt"]["maxLength"] == 200_000 and "GigaChat" in props["prompt"]["description"]
    assert props["temperature"]["anyOf"][0]["maximum"] == 2
    assert set(chat.output_schema["properties"]) >= {"text", "conversation_id", "model", "finish_reason", "usage",
                                                     "resource_uri"}
    assert chat.annotations.read_only_hint and chat.annotations.open_world_hint


@pytest.mark.parametrize("mode", ERAS)
async def test_continuation_keeps_history_and_system_prompt(emulator: Emulator, mode: str) -> None:
    async with connect(emulator, mode) as client:
        first = await client.call_tool("chat", {"prompt": "My name is Ada.", "system": "Be terse."})
        cid = first.structured_content["conversation_id"]
        second = await client.call_tool("chat", {"prompt": "What is my name?", "conversation_id": cid})
    text = second.structured_content["text"]
    assert second.structured_content["conversation_id"] == cid
    assert "Roles: system,user,assistant,user." in text
    assert 'System prompt: "Be terse."' in text
    assert 'Previous user message: "My name is Ada."' in text


async def test_system_model_and_temperature_reach_the_api(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        result = await client.call_tool("chat", {"prompt": "hi", "system": "sys", "model": "GigaChat-2-Max",
                                                 "temperature": 0.4, "max_tokens": 200})
    sent = emulator.requests_to("chat")[-1].body
    assert sent["model"] == "GigaChat-2-Max" and sent["temperature"] == 0.4 and sent["max_tokens"] == 200
    assert sent["messages"][0] == {"role": "system", "content": "sys"} and sent["stream"] is True
    assert result.structured_content["model"] == "GigaChat-2-Max"


@pytest.mark.parametrize("mode", ERAS)
async def test_progress_carries_the_growing_answer_during_a_slow_stream(emulator: Emulator, mode: str) -> None:
    emulator.chunk_delay = 0.03
    seen: list[tuple[float, str, float]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, message or "", time.monotonic()))

    async with connect(emulator, mode) as client:
        started = time.monotonic()
        result = await client.call_tool("chat", {"prompt": "slow [emulator words=40]"}, progress_callback=on_progress)
        elapsed = time.monotonic() - started
    answer = result.structured_content["text"]
    assert len(seen) >= 4, seen  # several updates while ~0.7 s of answer streamed in
    values = [p for p, _, _ in seen]
    assert values == sorted(set(values)), "progress must strictly increase"
    assert all(answer.startswith(message) for _, message, _ in seen)  # each is the answer so far
    assert seen[-1][1] == answer  # the last one is the whole answer
    assert len(seen) <= elapsed * 10 + 3  # throttled to about ten a second


async def test_progress_tail_is_bounded_for_long_answers(emulator: Emulator) -> None:
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    server = build_server(settings_for(emulator), progress_tail=300)
    async with connect(emulator, server=server) as client:
        result = await client.call_tool("chat", {"prompt": "long [emulator words=2000 chunk=50]"},
                                        progress_callback=on_progress)
    assert len(result.structured_content["text"]) > 10_000
    assert max(len(m) for m in messages) <= 301
    assert messages[-1].startswith("…") and result.structured_content["text"].endswith(messages[-1][1:])


@pytest.mark.parametrize("mode", ERAS)
async def test_resource_shows_the_answer_in_flight_then_done(emulator: Emulator, mode: str) -> None:
    emulator.chunk_delay = 0.05
    async with connect(emulator, mode) as client:
        first = await client.call_tool("chat", {"prompt": "start"})
        cid = first.structured_content["conversation_id"]
        uri = first.structured_content["resource_uri"]
        snapshots: list[dict] = []
        async with anyio.create_task_group() as group:
            group.start_soon(client.call_tool, "chat", {"prompt": "more [emulator words=30]", "conversation_id": cid})
            with anyio.fail_after(10):
                while True:
                    snapshot = await read_json(client, uri)
                    if snapshot["status"] == "streaming" and snapshot["messages"][-1].get("content"):
                        snapshots.append(snapshot)
                        break
                    await anyio.sleep(0.02)
        done = await read_json(client, uri)
    in_flight = snapshots[0]["messages"][-1]
    assert in_flight["role"] == "assistant" and in_flight["in_flight"] is True
    assert done["status"] == "done" and done["finish_reason"] == "stop"
    final = done["messages"][-1]["content"]
    assert final.startswith(in_flight["content"]) and len(final) > len(in_flight["content"])
    assert [m["role"] for m in done["messages"]] == ["user", "assistant", "user", "assistant"]


async def test_subscribers_are_notified_while_the_answer_grows_2026(emulator: Emulator) -> None:
    emulator.chunk_delay = 0.03
    async with connect(emulator) as client:
        first = await client.call_tool("chat", {"prompt": "start"})
        uri = first.structured_content["resource_uri"]
        cid = first.structured_content["conversation_id"]
        reads: list[dict] = []
        async with client.listen(resource_subscriptions=[uri]) as subscription:
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "chat", {"prompt": "grow [emulator words=30]",
                                                            "conversation_id": cid})
                with anyio.fail_after(10):
                    async for event in subscription:
                        assert event.uri == uri
                        reads.append(await read_json(client, uri))
                        if reads[-1]["status"] == "done":
                            break
    assert len(reads) >= 3
    assert any(r["status"] == "streaming" for r in reads)
    lengths = [len(r["messages"][-1]["content"]) for r in reads if r["status"] == "streaming"]
    assert lengths == sorted(lengths)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Client.subscribe_resource is deprecated in 2026
async def test_subscribers_are_notified_while_the_answer_grows_2025(emulator: Emulator) -> None:
    emulator.chunk_delay = 0.03
    updates: list[str] = []

    async def handler(message) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            updates.append(str(message.params.uri))

    async with connect(emulator, "legacy", message_handler=handler) as client:
        assert client.server_capabilities.resources.subscribe is True
        first = await client.call_tool("chat", {"prompt": "start"})
        uri, cid = first.structured_content["resource_uri"], first.structured_content["conversation_id"]
        marker = await client.call_tool("chat", {"prompt": "marker"})
        marker_uri = marker.structured_content["resource_uri"]
        await client.subscribe_resource(uri)
        await client.subscribe_resource(marker_uri)

        async def all_sent_so_far_arrived() -> None:
            """Updates on one connection arrive in order: once a new marker update is here, every earlier one is."""
            before = updates.count(marker_uri)
            await client.call_tool("chat", {"prompt": "marker", "conversation_id": marker.structured_content[
                "conversation_id"]})
            await eventually(lambda: updates.count(marker_uri) > before, what="the marker conversation's update")

        await client.call_tool("chat", {"prompt": "grow [emulator words=30]", "conversation_id": cid})
        await all_sent_so_far_arrived()
        count = updates.count(uri)
        await client.unsubscribe_resource(uri)
        await client.call_tool("chat", {"prompt": "unheard", "conversation_id": cid})
        await all_sent_so_far_arrived()
    assert count >= 3 and set(updates) == {uri, marker_uri}
    assert updates.count(uri) == count  # nothing after unsubscribing


@pytest.mark.parametrize("mode", ERAS)
async def test_background_returns_at_once_and_streams_into_the_resource(emulator: Emulator, mode: str) -> None:
    emulator.chunk_delay = 0.05
    async with connect(emulator, mode) as client:
        result = await client.call_tool("chat", {"prompt": "long job [emulator words=40]", "background": True})
        data = result.structured_content
        assert data["status"] == "streaming" and data["text"] == ""
        assert "get_conversation" in result.content[0].text
        # returned before the answer (~2 s of stream) was written: no fixed time window, which a busy machine breaks
        assert (await read_json(client, data["resource_uri"]))["status"] in ("queued", "streaming")
        waited = await client.call_tool("get_conversation", {"conversation_id": data["conversation_id"],
                                                             "wait_seconds": 10})
        snapshot = json.loads(waited.content[0].text)
        assert snapshot["status"] == "done"
        assert snapshot["messages"][-1]["content"].endswith("w40.")
        assert (await read_json(client, data["resource_uri"]))["status"] == "done"


@pytest.mark.parametrize(("fault", "fragment"), [
    ({"status": 429, "headers": {"Retry-After": "120"}}, "rate limiting this key"),
    ({"status": 500, "times": 5}, "server error"),
    ({"delay": 5}, "Timed out after 0.5 s"),
    ({"drop": "mid", "after_chunks": 2}, "The partial answer is kept in gigachat://conversations/"),
])
async def test_upstream_failures_are_actionable_tool_errors(emulator: Emulator, fault: dict, fragment: str) -> None:
    emulator.add_fault("chat", **fault)
    server = build_server(settings_for(emulator, timeout=0.5))
    async with connect(emulator, server=server) as client:
        result = await client.call_tool("chat", {"prompt": "x [emulator words=20]"})
        assert result.is_error and fragment in result.content[0].text
        after = await client.call_tool("chat", {"prompt": "still alive?"})  # the server survived
        assert not after.is_error


async def test_unknown_model_names_the_valid_ones_and_the_list_models_tool(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        result = await client.call_tool("chat", {"prompt": "hi", "model": "GigaChat-9000"})
        near = await client.call_tool("chat", {"prompt": "hi", "model": "GigaChat-2-max"})
    assert result.is_error
    text = result.content[0].text
    assert "no model 'GigaChat-9000'" in text and "Did you mean" not in text
    assert "Call the list_models tool" in text  # the way to list models on this surface, not the CLI's or Python's
    assert "Available chat models: GigaChat-2, GigaChat-2-Pro" in text
    assert near.is_error and "Did you mean 'GigaChat-2-Max'?" in near.content[0].text


async def test_missing_credentials_name_the_variable_and_the_server_still_lists_tools(emulator: Emulator) -> None:
    server = build_server(Settings.resolve(environ={}, base_url=emulator.base_url, ca_bundle_file=emulator.ca_file))
    async with Client(server) as client:
        assert len((await client.list_tools()).tools) >= 4
        result = await client.call_tool("chat", {"prompt": "hi"})
    assert result.is_error and "Set GIGACHAT_CREDENTIALS" in result.content[0].text


async def test_bad_configuration_is_reported_by_the_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGACHAT_TIMEOUT", "soon")
    async with Client(build_server()) as client:
        result = await client.call_tool("chat", {"prompt": "hi"})
    assert result.is_error and "GIGACHAT_TIMEOUT must be a number" in result.content[0].text


@pytest.mark.parametrize(("settings", "fragment"), [
    ({"credentials": "d3Jvbmc6a2V5"}, "does not know these credentials"),
    ({"scope": "CORP"}, "does not belong to scope GIGACHAT_API_CORP"),
    ({"ca_bundle_file": None}, "GIGACHAT_CA_BUNDLE_FILE"),
])
async def test_auth_and_tls_failures_are_actionable(emulator: Emulator, settings: dict, fragment: str) -> None:
    merged = {**emulator.client_settings(), **settings}
    server = build_server(Settings.resolve(environ={}, **{k: v for k, v in merged.items() if v is not None}))
    async with Client(server) as client:
        result = await client.call_tool("chat", {"prompt": "hi"})
    assert result.is_error and fragment in result.content[0].text
    assert emulator.credentials not in result.content[0].text


@pytest.mark.parametrize("arguments", [
    {"prompt": ""},
    {"prompt": "x" * 200_001},
    {"prompt": "hi", "temperature": 5},
    {"prompt": "hi", "max_tokens": 0},
    {"prompt": "hi", "model": "../../etc/passwd"},
    {"prompt": "hi", "conversation_id": "not-an-id"},
    {"temperature": 0.5},
    {"prompt": 42},
])
async def test_bad_arguments_are_rejected_before_any_request(emulator: Emulator, arguments: dict) -> None:
    async with connect(emulator) as client:
        result = await client.call_tool("chat", arguments)
    assert result.is_error
    assert emulator.requests == []


async def test_unknown_conversation_id_says_what_to_do(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        result = await client.call_tool("chat", {"prompt": "hi", "conversation_id": "0123456789abcdef"})
    assert result.is_error and "Omit conversation_id to start a new conversation" in result.content[0].text


@pytest.mark.parametrize(("mode", "code"), [("legacy", -32002), ("auto", -32602)])
async def test_reading_an_unknown_conversation_is_resource_not_found(emulator: Emulator, mode: str, code: int) -> None:
    """The spec's code for a missing resource: -32002 up to 2025-11-25; 2026-07-28 moved it to -32602."""
    uri = "gigachat://conversations/0123456789abcdef"
    async with connect(emulator, mode) as client:
        with pytest.raises(MCPError) as caught:
            await client.read_resource(uri)
    assert caught.value.error.code == code
    assert caught.value.error.data == {"uri": uri}
    assert "No conversation '0123456789abcdef'" in caught.value.error.message
    assert "Start a new one with the chat tool" in caught.value.error.message


async def cancel_once_text_arrived(client: Client, arguments: dict) -> None:
    """Call chat and cancel the call as soon as some answer has arrived (however long that takes)."""
    text_arrived = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if progress > 0:  # progress is the answer's length; 0 is the "waiting for a stream" message
            text_arrived.set()

    async with anyio.create_task_group() as group:
        group.start_soon(lambda: client.call_tool("chat", arguments, progress_callback=on_progress))
        with anyio.fail_after(30):
            await text_arrived.wait()
        group.cancel_scope.cancel()


async def test_cancelled_call_closes_the_upstream_stream_and_marks_the_conversation(emulator: Emulator) -> None:
    emulator.chunk_delay = 0.05
    store = ConversationStore()
    server = build_server(settings_for(emulator), conversations=store)
    async with connect(emulator, server=server) as client:
        await cancel_once_text_arrived(client, {"prompt": "endless [emulator words=400]"})
        [cid] = store.ids()
        await eventually(lambda: store.peek(cid).status == "cancelled", what="the turn recorded as cancelled")
        await eventually(lambda: emulator.streams[-1].outcome != "streaming", what="the upstream stream closed")
        record = emulator.streams[-1]
        assert record.outcome == "client went away"
        assert record.sent_chunks < record.planned_chunks
        assert emulator.active_streams == 0
        snapshot = await read_json(client, f"gigachat://conversations/{cid}")
    assert snapshot["status"] == "cancelled"
    assert snapshot["messages"][-1]["role"] == "assistant" and snapshot["messages"][-1]["content"]


@pytest.mark.parametrize("mode", ERAS)
async def test_a_cancelled_exchange_stays_visible_but_is_not_sent_as_context(emulator: Emulator, mode: str) -> None:
    emulator.chunk_delay = 0.05
    store = ConversationStore()
    server = build_server(settings_for(emulator), conversations=store)
    async with connect(emulator, mode, server=server) as client:
        first = await client.call_tool("chat", {"prompt": "My name is Ada.", "system": "Be terse."})
        cid = first.structured_content["conversation_id"]
        await cancel_once_text_arrived(client, {"prompt": "Write an endless poem [emulator words=400]",
                                                "conversation_id": cid})
        await eventually(lambda: store.peek(cid).status == "cancelled", what="the turn recorded as cancelled")
        partial = store.peek(cid).messages[-1]["content"]
        after = await client.call_tool("chat", {"prompt": "What is my name?", "conversation_id": cid})
        snapshot = await read_json(client, f"gigachat://conversations/{cid}")
    sent = emulator.requests_to("chat")[-1].body["messages"]
    assert [(m["role"], m["content"]) for m in sent[:3]] == [
        ("system", "Be terse."), ("user", "My name is Ada."), ("assistant", first.structured_content["text"])]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]  # neither the prompt nor the half
    assert all("endless poem" not in m["content"] for m in sent) and partial not in [m["content"] for m in sent]
    assert 'Previous user message: "My name is Ada."' in after.structured_content["text"]
    shown = [(m["role"], m.get("cancelled", False)) for m in snapshot["messages"]]
    assert shown == [("system", False), ("user", False), ("assistant", False), ("user", True), ("assistant", True),
                     ("user", False), ("assistant", False)]
    assert snapshot["messages"][4]["content"] == partial and partial  # the half answer is still readable


async def test_concurrent_calls_each_get_their_own_answer_queued_to_one_stream() -> None:
    with Emulator(stream_limit=1, chunk_delay=0.005) as emulator:  # a personal key: one stream at a time
        results: dict[int, str] = {}
        async with connect(emulator) as client:
            async def ask(i: int) -> None:
                result = await client.call_tool("chat", {"prompt": f"question {i} [emulator words=5]"})
                assert not result.is_error, result.content[0].text
                results[i] = result.structured_content["text"]

            async with anyio.create_task_group() as group:
                for i in range(8):
                    group.start_soon(ask, i)
    assert all(f'heard: "question {i}"' in text for i, text in results.items()) and len(results) == 8
    assert all(s.outcome == "completed" for s in emulator.streams)
    assert len(emulator.requests_to("chat")) == 8  # a 429 for a second concurrent stream would have been retried


async def test_list_models_and_count_tokens(emulator: Emulator) -> None:
    async with connect(emulator) as client:
        models = (await client.call_tool("list_models", {})).structured_content
        counts = (await client.call_tool("count_tokens", {"texts": ["hello world", "Привет"]})).structured_content
        resource = json.loads((await client.read_resource("gigachat://models")).contents[0].text)
    assert models["default"] == "GigaChat-2"
    assert {"id": "GigaChat-2-Max", "type": "chat"} in models["models"]
    assert counts == {"tokens": [2, 1], "characters": [11, 6]}
    assert {"id": "Embeddings", "type": "embedder"} in resource


async def test_memory_is_bounded_by_the_conversation_cap(emulator: Emulator) -> None:
    store = ConversationStore(max_conversations=5, max_messages=4)
    server = build_server(settings_for(emulator), conversations=store)
    async with connect(emulator, server=server) as client:
        ids = [(await client.call_tool("chat", {"prompt": f"c{i}"})).structured_content["conversation_id"]
               for i in range(8)]
        for turn in range(4):
            await client.call_tool("chat", {"prompt": f"turn {turn}", "conversation_id": ids[-1]})
        snapshot = await read_json(client, f"gigachat://conversations/{ids[-1]}")
        dropped = await client.call_tool("chat", {"prompt": "hi", "conversation_id": ids[0]})
    assert len(store) == 5
    assert [m["content"] for m in snapshot["messages"] if m["role"] == "user"] == ["turn 2", "turn 3"]
    assert dropped.is_error and "dropped" in dropped.content[0].text
