"""Bulk work: one prompt (or a template) over many rows, concurrently within the key's limit or through the
Batch API, with a cache that makes a rerun send only what is not answered yet. Written once: the async client
awaits the engine; the blocking client steps the same per-row flow in threads, or runs the engine (batches) in a
worker thread (see `_thread`).

    _plan     rows, templates, options and cache keys, all checked before anything is sent
    _result   MapResult and RowError, what a map returns
    _cache    the SQLite cache of answers and of the batches being waited for
    _engine   the concurrent run: workers, the shared rate gate, the progress
    _batch    the Batch API run, and embeddings through it
    _workers  the blocking client's concurrent map: threads that take rows themselves
    _lanes    those threads' own connections, kept between maps
    _thread   the blocking client's way to run the engine (batches): on a loop of its own in a worker thread
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

from .._types import ChatResult
from ._batch import embed_batches, run_batches
from ._cache import MapCache, clear_map_cache
from ._engine import Progress, Run, run_rows
from ._lanes import Lanes
from ._plan import Plan, check_batch_allowed, make_plan
from ._result import MapResult, RowError
from ._thread import run_blocking
from ._workers import run_threads

if TYPE_CHECKING:
    from .._async import AsyncGigaChat

__all__ = ["Lanes", "MapCache", "MapResult", "Plan", "Progress", "RowError", "Run", "check_batch_allowed",
           "clear_map_cache", "embed", "execute", "make_plan", "run_blocking", "run_threads"]


async def embed(client: AsyncGigaChat, texts: Sequence[str] | str, model: str, plan: Plan) -> list[list[float]]:
    """`embeddings(batch=True)`: the texts through embedder batches, with the plan's cache and waiting."""
    cache = MapCache.open(plan.cache)
    try:
        return await embed_batches(client, texts, model, cache, plan.batch_timeout, plan.batch_poll)
    finally:
        if cache is not None:
            cache.close()


async def execute(client: AsyncGigaChat, run: Run) -> MapResult:
    """Run a planned map on `client`: through the Batch API, or concurrently with its chat() and the plan's
    options, with the cache open meanwhile."""
    cache = MapCache.open(run.plan.cache)
    try:
        if run.plan.batch:
            return await run_batches(client, run, cache)
        options = run.plan.options

        def send(prompt: Any) -> Awaitable[ChatResult]:
            return client.chat(prompt, **options)

        return await run_rows(send, run, cache)
    finally:
        if cache is not None:
            cache.close()
