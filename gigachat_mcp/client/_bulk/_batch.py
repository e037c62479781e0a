"""A map through the Batch API (pay-as-you-go keys): the rows the cache does not answer go out as JSONL batches of
at most 500 lines, each batch's id is stored in the cache before the run waits for it (so an interrupted run
resumes the same batch instead of paying again), the run polls with a growing interval, downloads the output
file and puts each line back on its row by the line's id. Embeddings go the same way (`method=embedder`)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import _structured, _wire
from .._errors import APIError, BatchError, BatchTimeoutError, GigaChatError, InvalidRequestError
from .._settings import Settings
from .._types import ChatResult
from ._cache import MapCache
from ._engine import Run
from ._plan import note
from ._result import MapResult, RowError

if TYPE_CHECKING:
    from .._async import AsyncGigaChat

__all__ = ["embed_batches", "run_batches"]

log = logging.getLogger("gigachat_mcp")
MAX_POLL_S = 60.0


@dataclass(frozen=True)
class Chunk:
    """One batch's worth of rows; `key` hashes the rows' keys, so the same rows find the same batch again."""

    key: str
    rows: list[int]
    requests: list[dict[str, Any]]


def chunks(method: str, rows: Sequence[int], keys: Sequence[str], requests: Sequence[dict[str, Any]],
           size: int = _wire.MAX_BATCH_LINES) -> list[Chunk]:
    out = []
    for start in range(0, len(rows), size):
        part = list(rows[start:start + size])
        digest = hashlib.sha256("\n".join([method, *(keys[i] for i in part)]).encode()).hexdigest()[:40]
        out.append(Chunk(digest, part, list(requests[start:start + size])))
    return out


async def run_batches(client: AsyncGigaChat, run: Run, cache: MapCache | None) -> MapResult:
    plan = run.plan
    pending = run.load_cached(cache)
    requests = [_chat_request(client.settings, plan.prompts[i], plan.options, plan.fmt) for i in pending]

    async def one(chunk: Chunk) -> None:
        batch_id, lines, unreadable = await _lines(client, "chat_completions", chunk, cache, plan.batch_timeout,
                                                   plan.batch_poll)
        for position, index in enumerate(chunk.rows):
            run.finish(index, _row(index, plan, lines.get(str(position)), batch_id, unreadable), cache)
        if cache is not None:
            cache.forget_batch(chunk.key)

    await _all([one(chunk) for chunk in chunks("chat_completions", pending, plan.keys, requests)])
    result = run.outcome()
    if plan.on_error == "raise" and result.errors:
        first = result.errors[0]
        raise note(first.exception, f"(map row {first.index}; answered rows are in the map cache)")
    return result


async def embed_batches(client: AsyncGigaChat, texts: Sequence[str], model: str, cache: MapCache | None,
                        timeout: float, poll: float) -> list[list[float]]:
    """One vector per text, through `method=embedder` batches; cached per text like map's rows."""
    if isinstance(texts, str):
        texts = [texts]
    if not texts or not all(isinstance(t, str) for t in texts):
        raise InvalidRequestError("texts must be a str or a non-empty list of str.")
    prefix = json.dumps(["embedder", client.settings.base_url, model], ensure_ascii=False)
    keys = [hashlib.sha256((prefix + t).encode()).hexdigest()[:40] for t in texts]
    vectors: list[list[float] | None] = [None] * len(texts)
    if cache is not None:
        found = dict(cache.answers(keys))
        vectors = [json.loads(found[k]) if k in found else None for k in keys]
    pending = [i for i, v in enumerate(vectors) if v is None]
    requests = [{"model": model, "input": [texts[i]]} for i in pending]

    async def one(chunk: Chunk) -> None:
        batch_id, lines, _ = await _lines(client, "embedder", chunk, cache, timeout, poll)
        for position, index in enumerate(chunk.rows):
            vectors[index] = _vector(index, lines.get(str(position)), batch_id, model)
            if cache is not None:
                cache.save(keys[index], json.dumps(vectors[index]))
        if cache is not None:
            cache.forget_batch(chunk.key)

    await _all([one(chunk) for chunk in chunks("embedder", pending, keys, requests)])
    return [v for v in vectors if v is not None]


async def _all(jobs: list[Any]) -> None:
    """Every batch waited for to its end (none is left running unobserved), then the first failure raised."""
    outcomes = await asyncio.gather(*jobs, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


def _chat_request(settings: Settings, prompt: Any, options: dict[str, Any],
                  fmt: _structured.ResponseFormat | None) -> dict[str, Any]:
    messages = _wire.normalise_messages(prompt, options.get("system"))
    tools = options.get("tools")
    toolset = _wire.normalise_tools(tools, options.get("tool_choice"), "v1") if tools or options.get(
        "tool_choice") else _wire.NO_TOOLS
    chat = _wire.ChatOptions(options.get("temperature"), options.get("top_p"), options.get("max_tokens"),
                             options.get("repetition_penalty"), options.get("profanity_check"), None,
                             options.get("extra"), options.get("reasoning_effort"),
                             fmt.schema if fmt is not None else None)
    if chat.profanity_check is None and settings.profanity_check is not None:
        chat = dataclasses.replace(chat, profanity_check=settings.profanity_check)
    return _wire.batch_chat_request(options.get("model") or settings.model, messages, chat, toolset)


async def _lines(client: AsyncGigaChat, method: str, chunk: Chunk, cache: MapCache | None, timeout: float,
                 poll: float) -> tuple[str, dict[str, _wire.BatchLine], int]:
    """The chunk's output lines by id: from the batch the cache names (resumed), else from a new batch."""
    base = client.settings.base_url
    batch_id = cache.batch_for(chunk.key) if cache is not None else None
    if batch_id is not None:
        log.info("resuming batch %s (%d rows)", batch_id, len(chunk.rows))
        try:
            batch = await _wait(client, batch_id, timeout, poll)
        except APIError as exc:
            if exc.status_code != 404:
                raise
            batch_id = None  # the service no longer knows it: send the rows again
    if batch_id is None:
        jsonl = _wire.batch_jsonl((str(position), request) for position, request in enumerate(chunk.requests))
        created = await client._request(_wire.create_batch_call(base, method, jsonl))
        batch_id = created.id
        if cache is not None:
            cache.remember_batch(chunk.key, batch_id, method)  # before waiting: a rerun resumes this batch
        batch = await _wait(client, batch_id, timeout, poll)
    content = await client._request(_wire.read_batch_call(base, batch.output_file_id or ""))
    lines, unreadable = _wire.parse_batch_output(content)
    if unreadable:
        log.warning("batch %s: %d output line(s) could not be read", batch_id, unreadable)
    return batch_id, lines, unreadable


async def _wait(client: AsyncGigaChat, batch_id: str, timeout: float, poll: float) -> _wire.Batch:
    deadline = time.monotonic() + timeout
    delay = poll
    while True:
        batch = await client._request(_wire.get_batch_call(client.settings.base_url, batch_id))
        if batch.done:
            return batch
        if batch.broken:
            raise BatchError(f"Batch {batch_id} ended with status {batch.status!r} and no output; its rows were "
                             "not answered. Run the map again to send them in a new batch.", batch_id=batch_id)
        left = deadline - time.monotonic()
        if left <= 0:
            raise BatchTimeoutError(
                f"Batch {batch_id} has not completed after {timeout:g} s (status {batch.status!r}, "
                f"{batch.completed}/{batch.total} done). It keeps running on the service: run the same map again "
                "(with the cache on) to resume waiting for this batch without paying again, with a longer "
                "batch_timeout= if needed.", batch_id=batch_id)
        await asyncio.sleep(min(delay, left))
        delay = min(delay * 1.5, MAX_POLL_S)


def _line_error(line: _wire.BatchLine | None, batch_id: str, unreadable: int, model: str | None) -> GigaChatError:
    if line is None:
        more = f" ({unreadable} line(s) of the output could not be read)" if unreadable else ""
        return BatchError(f"Batch {batch_id}'s output has no readable line for this row{more}. Run the map "
                          "again to send it anew.", batch_id=batch_id)
    body = _wire.dumps({"status": line.status, "message": line.message})
    return _wire.api_error(line.status or 500, body, {}, model=model)


def _row(index: int, plan: Any, line: _wire.BatchLine | None, batch_id: str, unreadable: int) -> ChatResult | RowError:
    prompt = plan.prompts[index]
    if line is None or line.status is not None:
        return RowError(index, _line_error(line, batch_id, unreadable, plan.options.get("model")), prompt)
    try:
        return _structured.with_parsed(_wire.parse_chat_v1(line.result), plan.fmt)
    except GigaChatError as exc:
        return RowError(index, exc, prompt)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        return RowError(index, BatchError(f"Batch {batch_id}'s line for this row is not a chat answer ({exc!r}).",
                                          batch_id=batch_id), prompt)


def _vector(index: int, line: _wire.BatchLine | None, batch_id: str, model: str) -> list[float]:
    if line is None or line.status is not None:
        error = _line_error(line, batch_id, 0, model)
        raise note(error, f"(embeddings text {index})")
    try:
        return list(line.result["data"][0]["embedding"])
    except (KeyError, IndexError, TypeError) as exc:
        raise BatchError(f"Batch {batch_id}'s line for text {index} is not an embedding ({exc!r}).",
                         batch_id=batch_id) from None
