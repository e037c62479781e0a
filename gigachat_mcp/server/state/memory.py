"""The in-process state: today's ConversationStore, the SDK's in-memory bus, a semaphore, local counters.

This is what stdio and a single HTTP process run; it adds no I/O and no hop to the path of a chunk.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio

from ..conversations import Conversation, ConversationStore, UnknownConversation
from .interfaces import ConversationBusy, LimitExceeded, RemoteListener, SharedState

__all__ = ["LocalBus", "MemoryConversations", "MemoryLimiter", "MemoryQuotas", "memory_state"]


class MemoryConversations:
    """ConversationStore with owners: the objects are live, so saving is nothing to do."""

    def __init__(self, store: ConversationStore) -> None:
        self.store = store
        self.max_conversations = store.max_conversations
        self.max_messages = store.max_messages
        self._owners: dict[str, str] = {}

    async def create(self, system: str | None, owner: str | None) -> Conversation:
        conversation = self.store.create(system)
        if owner is not None:
            self._owners[conversation.id] = owner
            if len(self._owners) > 2 * self.max_conversations:  # forget the owners of dropped conversations
                self._owners = {cid: o for cid, o in self._owners.items() if self.store.peek(cid) is not None}
        return conversation

    async def find(self, conversation_id: str, owner: str | None) -> Conversation | None:
        if self._owners.get(conversation_id) != owner:
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

    async def recent(self, limit: int) -> list[str]:
        return self.store.ids()[:limit]

    async def save(self, conversation: Conversation) -> bool:
        return True  # the objects are live: readers already see the change

    def owner(self, conversation_id: str) -> str | None:
        return self._owners.get(conversation_id)

    async def close(self) -> None:
        return None


def _local_bus() -> Any:
    from mcp.server.subscriptions import InMemorySubscriptionBus

    class LocalBus(InMemorySubscriptionBus):
        """The SDK's in-memory bus; there are no other replicas, so nothing ever arrives from one."""

        def on_remote(self, listener: RemoteListener) -> None:
            return None

    return LocalBus()


LocalBus = _local_bus  # the class is made on first use: mcp is imported only by the server


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
                       quotas=quotas)
