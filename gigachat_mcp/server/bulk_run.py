"""One `chat_many` run: the core's `AsyncGigaChat.map` (its plan, cache, shared 429 gate and progress), with every
upstream request taking a slot of the same stream limiter the chat turns use, so a bulk run never holds more of
the key's streams than it may, fleet-wide, and chats interleave with its rows instead of waiting for the whole run.

Why a client subclass rather than a slot held for the whole run: the core's map takes no limiter; it sends each
row through its client's `chat()`. Overriding `chat()` on a client of our own puts the limiter around exactly the
requests that reach GigaChat (rows the cache answers take no slot), one row at a time, so a personal key's one
stream goes to a waiting `chat` between two rows. Each row's prompt is a `Row` (a str that knows its index), so
the override can tell listeners which row was answered while the run goes on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from .. import AsyncGigaChat, ChatResult, MapResult, RateLimitError, Settings, TokenCaches

__all__ = ["LimitedClient", "Row", "cache_for", "run_map"]

RowDone = Callable[[int, "ChatResult | BaseException"], Awaitable[None]]
Counts = Callable[[int, int, int], Awaitable[None]]


class Row(str):
    """A row's prompt that remembers its position in the input (sent as the plain text it is)."""

    position: int  # not `index`: that is str's own method

    def __new__(cls, text: str, position: int) -> Row:
        row = super().__new__(cls, text)
        row.position = position
        return row


class LimitedClient(AsyncGigaChat):
    """An AsyncGigaChat whose every chat() request holds one of the key's upstream streams (`limiter`, this
    process's or the fleet's) while it runs, and tells `on_row` about each row's final outcome."""

    def __init__(self, settings: Settings, *, limiter: Any, on_row: RowDone | None = None,
                 on_queued: Callable[[], None] | None = None, shared_tokens: TokenCaches | None = None) -> None:
        super().__init__(settings, shared_tokens=shared_tokens)
        self.limiter = limiter
        self.on_row = on_row
        self.on_queued = on_queued or (lambda: None)

    async def chat(self, prompt: Any, **options: Any) -> ChatResult:
        try:
            async with self.limiter.slot(self.on_queued):
                result = await super().chat(str(prompt) if isinstance(prompt, Row) else prompt, **options)
        except RateLimitError:
            raise  # the map's gate waits and sends the row again: not the row's outcome yet
        except Exception as exc:
            await self._tell(prompt, exc)
            raise
        await self._tell(prompt, result)
        return result

    async def _tell(self, prompt: Any, outcome: ChatResult | BaseException) -> None:
        if self.on_row is not None and isinstance(prompt, Row):
            await self.on_row(prompt.position, outcome)


def cache_for(owner: str | None) -> Any:
    """The map cache a principal's runs use: the user cache directory's without auth (one user), else a file of
    the principal's own, so one principal's answers are never served to another who sends the same prompt."""
    if owner is None:
        return True
    import platformdirs

    name = hashlib.sha256(owner.encode()).hexdigest()[:32]
    return Path(platformdirs.user_cache_dir("gigachat-mcp", appauthor=False)) / "map-by-user" / f"{name}.sqlite3"


async def run_map(client: LimitedClient, prompts: list[Row], *, concurrency: int, cache: Any,
                  options: dict[str, Any], counts: Counts | None) -> MapResult:
    """The rows through `client.map`; `counts(done, total, failed)` hears the newest figures (coalesced: a burst of
    rows costs one call) and always the last ones before this returns."""
    latest: list[tuple[int, int, int]] = []
    changed = anyio.Event()

    def progress(done: int, total: int, failed: int) -> None:
        latest.append((done, total, failed))
        changed.set()

    sent: tuple[int, int, int] | None = None

    async def flush() -> None:
        nonlocal sent
        if counts is not None and latest and latest[-1] != sent:
            sent = latest[-1]
            del latest[:-1]
            await counts(*sent)

    async def tell() -> None:
        nonlocal changed
        while True:
            await changed.wait()
            changed = anyio.Event()
            await flush()

    async with anyio.create_task_group() as group:
        group.start_soon(tell)
        result = await client.map(prompts, concurrency=concurrency, cache=cache, progress=progress,
                                  on_error="keep", **options)
        group.cancel_scope.cancel()
    await flush()
    return result

