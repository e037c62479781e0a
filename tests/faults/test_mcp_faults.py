"""The MCP server under load, faults, disconnects and arbitrary arguments: it answers each call or says why,
closes what it opened, and never dies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import anyio
import anyio.from_thread
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from gigachat_mcp import Settings
from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from gigachat_mcp.server.conversations import ConversationStore
from tests.helpers import eventually

pytestmark = pytest.mark.anyio


def server_for(emulator: Emulator, store: ConversationStore | None = None, **overrides):
    return build_server(Settings.resolve(environ={}, **emulator.client_settings(
        retry_backoff_factor=0.01, token_cache="memory", **overrides)), conversations=store)


@pytest.mark.parametrize("streams", [1, 4])
async def test_fifty_concurrent_calls_with_faults_each_get_their_own_answer(streams: int) -> None:
    with Emulator(chunk_delay=0.002) as emulator:
        for _ in range(3):  # one fault in every three requests or so
            emulator.add_fault("chat", status=429, headers={"Retry-After": "0.01"}, skip_requests=2)
            emulator.add_fault("chat", status=503, skip_requests=2)
            emulator.add_fault("chat", drop="before", skip_requests=2)
            emulator.add_fault("chat", event="error", after_chunks=0, status=502, skip_requests=2)
        answers: dict[int, str] = {}
        # A retry budget as large as the number of faults: whichever caller meets them, none can run out, so
        # the test is deterministic; what it checks is that every fault is absorbed and nobody gets another's answer.
        async with Client(server_for(emulator, max_connections=streams, max_retries=12)) as client:
            async def ask(i: int) -> None:
                result = await client.call_tool("chat", {"prompt": f"caller {i} [emulator words=8]"})
                assert not result.is_error, result.content[0].text
                answers[i] = result.structured_content["text"]

            async with anyio.create_task_group() as group:
                for i in range(50):
                    group.start_soon(ask, i)
        assert sorted(answers) == list(range(50))
        for i, text in answers.items():
            assert text.count("GigaChat emulator") == 1 and f'heard: "caller {i}".' in text
        assert len(emulator.api.faults) == 0  # every fault was met and absorbed
        assert emulator.active_streams == 0


async def test_client_disconnect_mid_stream_closes_upstream_and_leaves_no_task() -> None:
    with Emulator(chunk_delay=0.05) as emulator:
        store = ConversationStore()
        server = server_for(emulator, store)
        baseline = len(asyncio.all_tasks())
        async with anyio.create_task_group() as group:
            async def connect_and_ask() -> None:
                async with Client(server) as client:
                    await client.call_tool("chat", {"prompt": "endless [emulator words=500]"})

            group.start_soon(connect_and_ask)
            assert await anyio.to_thread.run_sync(
                lambda: emulator.wait_until(lambda: emulator.streams and emulator.streams[-1].sent_chunks > 2, 10))
            group.cancel_scope.cancel()  # the client vanishes with the answer half-way
        await eventually(lambda: emulator.streams[-1].outcome == "client went away", what="the upstream closed")
        assert emulator.active_streams == 0
        await eventually(lambda: len(asyncio.all_tasks()) <= baseline, what="no task left behind")
        [cid] = store.ids()
        assert store.peek(cid).status == "cancelled"
        assert store.peek(cid).messages[-1]["content"].startswith("GigaChat emulator")


async def test_background_answer_is_cancelled_cleanly_when_the_server_stops() -> None:
    with Emulator(chunk_delay=0.05) as emulator:
        store = ConversationStore()
        async with Client(server_for(emulator, store)) as client:
            result = await client.call_tool("chat", {"prompt": "bg [emulator words=500]", "background": True})
            cid = result.structured_content["conversation_id"]
            await eventually(lambda: emulator.active_streams == 1, what="the background answer streaming")
        await eventually(lambda: emulator.streams[-1].outcome == "client went away", what="the upstream closed")
        assert store.peek(cid).status == "cancelled"


@pytest.mark.parametrize("arguments", [
    {"prompt": "x" * 1_000_000},
    {"prompt": "hi", "system": "s" * 30_000},
    {"prompt": ["a", "list"]},
    {"prompt": {"nested": "dict"}},
    {"prompt": "hi", "temperature": "hot"},
    {"prompt": "hi", "temperature": "NaN"},  # JSON has no NaN, but lax parsing would turn this string into one
    {"prompt": "hi", "temperature": "Infinity"},
    {"prompt": "hi", "max_tokens": 10**12},
    {"prompt": "hi", "background": "yes please"},
    {"prompt": "hi", "model": "GigaChat-2; rm -rf /"},
    {"prompt": "hi", "background": "yes"},
    {"prompt": "hi", "unexpected": True},
])
async def test_oversized_and_malformed_arguments_are_rejected_before_any_request(arguments: dict) -> None:
    with Emulator() as emulator:
        async with Client(server_for(emulator)) as client:
            result = await client.call_tool("chat", arguments)
            assert result.is_error  # an unknown argument too: a misspelt name must not be silently dropped
            alive = await client.call_tool("chat", {"prompt": "still here"})
        assert not alive.is_error
        assert len(emulator.requests_to("chat")) == 1


@pytest.fixture(scope="module")
def live_server() -> Iterator[tuple]:
    with Emulator() as emulator, anyio.from_thread.start_blocking_portal() as portal:
        server = server_for(emulator)
        with portal.wrap_async_context_manager(Client(server)) as client:
            yield portal, client, emulator


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(st.characters(exclude_categories=("Cs",))),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)
FIELDS = ["prompt", "system", "model", "temperature", "max_tokens", "conversation_id", "background", "other"]
ARGUMENTS = st.dictionaries(st.sampled_from(FIELDS), JSONISH | st.text(min_size=1, max_size=50), max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arguments=ARGUMENTS)
def test_fuzzing_the_chat_schema_never_crashes_the_server(live_server, arguments: dict) -> None:
    portal, client, emulator = live_server
    result = portal.call(client.call_tool, "chat", arguments)
    if result.is_error:
        assert result.content and result.content[0].text  # always a message the caller can read
    else:
        data = result.structured_content
        assert data["status"] == "done" and data["text"].startswith("GigaChat emulator")
    assert portal.call(client.list_tools).tools  # the server is still serving
    assert emulator.active_streams == 0


def test_fuzz_summary_the_server_answers_after_fuzzing(live_server) -> None:
    portal, client, _ = live_server
    result = portal.call(client.call_tool, "chat", {"prompt": "after the storm"})
    assert result.structured_content["text"].startswith('GigaChat emulator (GigaChat-2) heard: "after the storm"')


async def test_an_unexpected_failure_in_a_background_answer_does_not_stop_the_server(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from gigachat_mcp import AsyncGigaChat

    real_stream = AsyncGigaChat.stream

    def broken_once(self, *args, **kwargs):
        monkeypatch.setattr(AsyncGigaChat, "stream", real_stream)  # only the first stream breaks
        raise RuntimeError("a bug, not a GigaChat error")

    monkeypatch.setattr(AsyncGigaChat, "stream", broken_once)
    with Emulator() as emulator:
        store = ConversationStore()
        async with Client(server_for(emulator, store)) as client:
            result = await client.call_tool("chat", {"prompt": "bg", "background": True})
            waited = await client.call_tool("get_conversation", {
                "conversation_id": result.structured_content["conversation_id"], "wait_seconds": 5})
            assert json.loads(waited.content[0].text)["status"] == "error"
            assert "Unexpected RuntimeError" in json.loads(waited.content[0].text)["error"]
            after = await client.call_tool("chat", {"prompt": "still serving?"})
            assert not after.is_error and "still serving?" in after.structured_content["text"]
