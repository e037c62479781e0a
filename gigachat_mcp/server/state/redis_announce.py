"""Saving and announcing answers in flight to Redis, group-committed: what costs CPU is the round trip per save
(a pipeline, a socket write, a reply to parse, the PUBLISH coming back to every replica), not its bytes, so the
changes of every answer streaming here go together in one pipeline with one PUBLISH naming all of them.

A lone answer is written at once, as before (its saves are one progress interval apart); under load pipelines
are at least SPACING apart, and each carries whatever accumulated meanwhile: a reader on another replica sees
new text at most SPACING later, and the Redis work of 100 answers streaming at once costs about what one does.
The caller's own progress is sent before the save and never waits for it. A turn's last save (its status, the
whole transcript) stays its own transaction, after any write of that answer already on its way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from ..http.telemetry import metrics
from .redis_link import UNREACHABLE

if TYPE_CHECKING:
    from ..conversations import Conversation
    from .redis_bus import RedisSubscriptionBus
    from .redis_conversations import RedisConversations

__all__ = ["SPACING", "Announcer"]

SPACING = 0.025  # seconds between group commits at least: at most 40 pipelines a second, whatever the load


@dataclass
class _Batch:
    items: dict[str, tuple[Conversation, Any]] = field(default_factory=dict)  # conversation id -> newest state
    done: anyio.Event = field(default_factory=anyio.Event)


class Announcer:
    """`await announcer(conversation, event)`: local listeners hear at once; Redis gets the new text and the event
    in the next group commit (a finished turn: in its own transaction)."""

    def __init__(self, conversations: RedisConversations, bus: RedisSubscriptionBus) -> None:
        self.conversations = conversations
        self.bus = bus
        self._collecting = _Batch()
        self._writing: _Batch | None = None
        self._idle = anyio.Event()  # set (and replaced) whenever a write ends: a waiter may lead the next one
        self._last = -SPACING  # when the last group commit was sent (anyio.current_time())
        self.pipelines = 0  # group commits sent

    async def __call__(self, conversation: Conversation, event: Any) -> None:
        self.bus.tell_local(event)
        if conversation.id not in self.conversations.writing:
            await self.bus.publish_remote(event)  # not streamed here: nothing of ours to save
        elif conversation.busy:
            self._collecting.items[conversation.id] = (conversation, event)
            await self._commit(self._collecting)
        else:
            await self._finish(conversation, event)

    async def _finish(self, conversation: Conversation, event: Any) -> None:
        """The turn's end: whatever of it waits is covered by this save; one already being written lands first."""
        self._collecting.items.pop(conversation.id, None)
        while self._writing is not None and conversation.id in self._writing.items:
            await self._idle.wait()
        if not await self.conversations.save(conversation, also=lambda pipe: self.bus.queue(pipe, event)):
            await self.bus.publish_remote(event)

    async def _commit(self, batch: _Batch) -> None:
        """Wait until `batch` is written, leading its write when no other is in flight."""
        while not batch.done.is_set():
            if self._writing is not None:
                await self._idle.wait()
                continue
            self._writing = batch  # led by us; changes still join it until it is sent
            try:
                with anyio.CancelScope(shield=True):  # others wait on this batch: finish it even if we go
                    wait = self._last + SPACING - anyio.current_time()
                    if wait > 0:
                        await anyio.sleep(wait)
                    self._collecting = _Batch()
                    self._last = anyio.current_time()
                    await self._write(batch)
            finally:
                self._writing = None
                batch.done.set()
                self._idle.set()
                self._idle = anyio.Event()

    async def _write(self, batch: _Batch) -> None:
        if not batch.items:
            return
        link = self.conversations.link
        written: list[tuple[Any, int, int, str]] = []
        try:
            link.round_trips += 1
            self.pipelines += 1
            async with link.redis.pipeline(transaction=False) as pipe:
                for conversation, _event in batch.items.values():
                    step = self.conversations.queue_progress(pipe, conversation)
                    if step is not None:
                        written.append(step)
                self.bus.queue_many(pipe, [event for _conversation, event in batch.items.values()])
                with metrics().redis_round_trip("group_commit"):
                    await pipe.execute()
        except UNREACHABLE as exc:  # nothing is counted as written: the next save sends the same bytes again
            link.warn("saving answers", exc)
            return
        for mine, chars, raw, status in written:
            mine.chars += chars
            mine.bytes += raw
            mine.status = status
