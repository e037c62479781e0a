"""The in-process state: today's ConversationStore, the SDK's in-memory bus, a semaphore, local counters.

This is what stdio and a single HTTP process run; it adds no I/O and no hop to the path of a chunk.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.server.subscriptions import InMemorySubscriptionBus

from ..conversations import Conversation, ConversationStore, UnknownConversation
from .interfaces import ConversationBusy, LimitExceeded, RemoteListener, SharedState

__all__ = ["LocalBus", "MemoryConversations", "MemoryFileOwners", "MemoryLimiter", "MemoryQuotas", "memory_state"]

MAX_FILES_PER_OWNER = 10_000  # file ids remembered per principal


class MemoryConversations:
    """ConversationStore with owners: the objects are live, so saving is nothing to do."""

    def __init__(self, store: ConversationStore) -> None:
        self.store = store
        self.max_conversations = store.max_conversations
        self.max_messages = store.max_messages

    async def create(self, system: str | None, owner: str | None) -> Conversation:
        return self.store.create(system, owner)

    async def find(self, conversation_id: str, owner: str | None) -> Conversation | None:
        if self.store.owner_of(conversation_id) != owner:
            return None
        try:
            return self.store.get(conversation_id)
        except UnknownConversation:
            return None

    async def begin(self, conversation: Conversation, prompt: str, model: str,
                    attachments: list[str] | None = None) -> list[dict[str, Any]]:
        if conversation.busy:
            raise ConversationBusy(conversation.id)
        return conversation.begin(prompt, model, self.max_messages, attachments)

    async def recent(self, limit: int, owner: str | None) -> list[str]:
        return self.store.ids(owner)[:limit]

    async def save(self, conversation: Conversation) -> bool:
        return True  # the objects are live: readers already see the change

    def owner(self, conversation_id: str) -> str | None:
        return self.store.owner_of(conversation_id)

    async def close(self) -> None:
        return None


class MemoryFileOwners:
    """The file ids each principal's turns made, the newest `per_owner` of them (older ones are forgotten, so
    memory stays bounded; GigaChat itself keeps files far fewer days than a busy user makes that many)."""

    def __init__(self, per_owner: int = MAX_FILES_PER_OWNER) -> None:
        self.per_owner = per_owner
        self._owned: dict[str, OrderedDict[str, None]] = {}

    async def claim(self, owner: str | None, file_ids: list[str]) -> None:
        if owner is None:
            return
        mine = self._owned.setdefault(owner, OrderedDict())
        for file_id in file_ids:
            mine[file_id] = None
            mine.move_to_end(file_id)
        while len(mine) > self.per_owner:
            mine.popitem(last=False)

    async def usable(self, owner: str | None, file_id: str) -> bool:
        return owner is None or file_id in self._owned.get(owner, ())


class LocalBus(InMemorySubscriptionBus):
    """The SDK's in-memory bus; there are no other replicas, so nothing ever arrives from one."""

    def on_remote(self, listener: RemoteListener) -> None:
        return None


class MemoryLimiter:
    """A semaphore: at most `count` upstream streams in this process."""

    def __init__(self, count: int) -> None:
        self._slots = anyio.Semaphore(count)

    @asynccontextmanager
    async def slot(self, on_queued: Callable[[], None]) -> AsyncIterator[None]:
        try:
            self._slots.acquire_nowait()
        except anyio.WouldBlock:
            on_queued()
            await self._slots.acquire()
        try:
            yield
        finally:
            self._slots.release()


class MemoryQuotas:
    """Requests in the last minute (a sliding log) and streams in flight, per principal."""

    def __init__(self, requests_per_minute: int, streams_per_principal: int) -> None:
        self.requests_per_minute = requests_per_minute
        self.streams_per_principal = streams_per_principal
        self._log: dict[str, deque[float]] = {}
        self._streams: dict[str, int] = {}

    async def admit(self, owner: str) -> None:
        if not self.requests_per_minute:
            return
        now = time.monotonic()
        log = self._log.setdefault(owner, deque())
        while log and log[0] <= now - 60:
            log.popleft()
        if len(log) >= self.requests_per_minute:
            wait = max(1.0, 60 - (now - log[0]))
            raise LimitExceeded(f"Too many requests: {self.requests_per_minute} a minute are allowed per user. "
                                f"Retry in {wait:.0f} s.", wait)
        log.append(now)

    @asynccontextmanager
    async def stream(self, owner: str) -> AsyncIterator[None]:
        limit = self.streams_per_principal
        if limit and self._streams.get(owner, 0) >= limit:
            raise LimitExceeded(f"Too many answers in flight: {limit} at a time are allowed per user. Retry when "
                                "one of them has finished (a few seconds).", 5.0)
        self._streams[owner] = self._streams.get(owner, 0) + 1
        try:
            yield
        finally:
            self._streams[owner] -= 1


def memory_state(*, max_conversations: int, max_messages: int, store: ConversationStore | None,
                 requests_per_minute: int, streams_per_principal: int) -> SharedState:
    store = store if store is not None else ConversationStore(max_conversations, max_messages)
    quotas = (MemoryQuotas(requests_per_minute, streams_per_principal)
              if requests_per_minute or streams_per_principal else None)
    return SharedState(conversations=MemoryConversations(store), bus=LocalBus(), limiter=MemoryLimiter,
                       quotas=quotas, files=MemoryFileOwners())
