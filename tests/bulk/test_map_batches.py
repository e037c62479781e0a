"""map(batch=True) and embeddings(batch=True) through the emulator's Batch API, on both clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gigachat_mcp import (
    APIError,
    BatchError,
    BatchTimeoutError,
    ChatResult,
    GigaChat,
    InvalidRequestError,
    RowError,
)
from gigachat_mcp.emulator import DEFAULT_CREDENTIALS, Emulator
from tests.helpers import async_client, sync_client

FAST = {"batch_poll": 0.02}


def jsonl_lines(body: object) -> list[dict]:  # type: ignore[type-arg]
    """A recorded JSONL body as its lines (the request log parses a one-line body as JSON already)."""
    return [json.loads(line) for line in body.splitlines()] if isinstance(body, str) else [body]  # type: ignore[list-item]


@pytest.fixture
def corp() -> Iterator[Emulator]:
    """An emulator whose key is pay-as-you-go (the only kind the Batch API takes)."""
    with Emulator(credentials={DEFAULT_CREDENTIALS: "GIGACHAT_API_CORP"}, batch_delay=0.1) as emu:
        yield emu


@pytest.fixture(params=["sync", "async"])
def batch_map(request: pytest.FixtureRequest, corp: Emulator):  # type: ignore[no-untyped-def]
    def sync(*args, **kwargs):  # type: ignore[no-untyped-def]
        with sync_client(corp, scope="CORP") as giga:
            return giga.map(*args, batch=True, **FAST, **kwargs)

    def asynchronous(*args, **kwargs):  # type: ignore[no-untyped-def]
        async def go():  # type: ignore[no-untyped-def]
            async with async_client(corp, scope="CORP") as giga:
                return await giga.map(*args, batch=True, **FAST, **kwargs)

        return asyncio.run(go())

    return sync if request.param == "sync" else asynchronous


def test_rows_go_out_as_one_jsonl_batch_and_come_back_in_order(batch_map, corp: Emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    schema = {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}
    result = batch_map("Label {}", rows=["cats", "dogs", "owls"], system="Label it.", response_format=schema,
                       cache=tmp_path / "c.sqlite3")
    assert result.ok and len(result) == 3 and result.parsed == [{"label": "emulator"}] * 3
    assert all(isinstance(r, ChatResult) and r.usage.total_tokens > 0 for r in result)
    creates = corp.requests_to("batch_create")
    assert len(creates) == 1 and creates[0].path == "/v1/batches" and creates[0].query == "method=chat_completions"
    assert creates[0].headers["content-type"] == "application/octet-stream"
    lines = jsonl_lines(creates[0].body)
    assert [line["id"] for line in lines] == ["0", "1", "2"]
    assert lines[1]["request"]["messages"] == [{"role": "system", "content": "Label it."},
                                               {"role": "user", "content": "Label dogs"}]
    assert "stream" not in lines[0]["request"] and lines[0]["request"]["response_format"]["schema"] == schema
    assert corp.requests_to("chat") == []
    # a rerun is answered by the cache: nothing sent at all
    before = len(corp.requests)
    batch_map("Label {}", rows=["cats", "dogs", "owls"], system="Label it.", response_format=schema,
              cache=tmp_path / "c.sqlite3")
    assert len(corp.requests) == before


def test_more_than_500_rows_make_several_batches(batch_map, corp: Emulator) -> None:  # type: ignore[no-untyped-def]
    result = batch_map([f"q{i}" for i in range(501)], cache=False)
    assert result.ok and result.texts[500] is not None and 'heard: "q500"' in result.texts[500]
    assert sorted(len(jsonl_lines(r.body)) for r in corp.requests_to("batch_create")) == [1, 500]


def test_error_lines_and_a_malformed_line_are_row_errors(batch_map, corp: Emulator) -> None:  # type: ignore[no-untyped-def]
    # the output line shape is inferred from third-party clients (undocumented): see the reference, section 1.9
    result = batch_map(["fine", "broken [emulator fail=500]", "garbled [emulator line=malformed]", "also fine"],
                       cache=False)
    assert [type(r) for r in result] == [ChatResult, RowError, RowError, ChatResult]
    assert isinstance(result[1].exception, APIError) and result[1].exception.status_code == 500  # type: ignore[union-attr]
    garbled = result[2].exception  # type: ignore[union-attr]
    assert isinstance(garbled, BatchError) and garbled.batch_id.startswith("batch-")
    assert "no readable line" in str(garbled) and "could not be read" in str(garbled)


def test_a_batch_that_never_completes_times_out_naming_it_and_a_rerun_resumes_it(
        corp: Emulator, tmp_path: Path) -> None:
    corp.batch_delay = 3600
    cache = tmp_path / "c.sqlite3"
    with sync_client(corp, scope="CORP") as giga, pytest.raises(BatchTimeoutError) as caught:
        giga.map(["slow one", "slow two"], batch=True, batch_timeout=0.3, batch_poll=0.05, cache=cache)
    batch_id = caught.value.batch_id
    assert batch_id in str(caught.value) and "run the same map again" in str(caught.value)
    corp.batch_delay = 0
    with sync_client(corp, scope="CORP") as giga:
        result = giga.map(["slow one", "slow two"], batch=True, batch_poll=0.05, batch_timeout=60, cache=cache)
    assert result.ok
    assert len(corp.requests_to("batch_create")) == 1  # not paid for twice
    polls = corp.requests_to("batches")
    assert len(polls) >= 2 and {r.query for r in polls} == {f"batch_id={batch_id}"}  # the same batch, resumed
    assert polls[0].headers["content-type"] == "application/json"  # the spec's required header


def test_a_personal_or_prepaid_key_is_refused_before_anything_is_sent(emulator: Emulator) -> None:
    for scope in ("PERS", "B2B"):
        with GigaChat(**emulator.client_settings(scope=scope)) as giga:
            with pytest.raises(InvalidRequestError, match="pay-as-you-go"):
                giga.map(["x"], batch=True)
            with pytest.raises(InvalidRequestError, match="pay-as-you-go"):
                giga.embeddings(["x"], batch=True)
    assert emulator.requests == []


def test_embeddings_through_a_batch_equal_the_plain_ones(corp: Emulator, tmp_path: Path) -> None:
    texts = ["first text", "второй текст", "third"]
    with sync_client(corp, scope="CORP") as giga:
        plain = giga.embeddings(texts)
        batched = giga.embeddings(texts, batch=True, batch_poll=0.02, cache=tmp_path / "c.sqlite3")
        again = giga.embeddings(texts, batch=True, batch_poll=0.02, cache=tmp_path / "c.sqlite3")

    async def go() -> list[list[float]]:
        async with async_client(corp, scope="CORP") as giga:
            return await giga.embeddings(texts, batch=True, batch_poll=0.02, cache=False)

    assert batched == plain == again == asyncio.run(go())
    creates = corp.requests_to("batch_create")
    assert len(creates) == 2 and {r.query for r in creates} == {"method=embedder"}
    assert jsonl_lines(creates[0].body)[1]["request"] == {"model": "Embeddings", "input": ["второй текст"]}
