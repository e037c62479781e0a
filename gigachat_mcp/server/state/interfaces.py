"""The four pieces of state a server shares between requests, as interfaces, and the choice made at start-up.

- `Conversations`: messages, status and the answer in flight, owned by a principal.
- `SubscriptionBus` (the SDK's protocol) plus `on_remote`: changes made on other replicas, for legacy sessions.
- `StreamLimiter`: the upstream stream slots of one GigaChat key.
- `Quotas`: per-principal requests a minute and concurrent streams.
The token cache is the core's (`client/_tokens.py`); a Redis one is made by `open_state` and handed to the client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ... import Settings, TokenCaches
    from ..conversations import Conversation, ConversationStore

__all__ = ["ConversationBusy", "Conversations", "LimitExceeded", "Quotas", "SharedState", "StateUnavailable",
           "StreamLimiter", "open_state"]


class StateUnavailable(Exception):
    """The shared state (Redis) cannot be reached; the message says what to do."""


class ConversationBusy(Exception):
    """The conversation is answering (on this or another replica)."""


class LimitExceeded(Exception):
    """A per-principal limit is reached; `retry_after` says when to try again (seconds)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Conversations(Protocol):
    max_conversations: int
    max_messages: int

    async def create(self, system: str | None, owner: str | None) -> Conversation: ...

    async def find(self, conversation_id: str, owner: str | None) -> Conversation | None:
        """The newest state of the conversation, or None when unknown to `owner` (never created, dropped, or
        another principal's)."""

    async def begin(self, conversation: Conversation, prompt: str, model: str,
                    attachments: list[str] | None = None) -> list[dict[str, Any]]:
        """Start a turn (raises ConversationBusy if one is running anywhere); returns the messages to send."""

    async def recent(self, limit: int) -> list[str]:
        """Ids of the most recently used conversations, newest first (any owner: callers check with `find`)."""

    async def save(self, conversation: Conversation) -> bool:
        """Make what changed since the last save (status, new answer text) visible to readers. Never raises for an
        unreachable backend: the change is kept and written by a later save."""

    def owner(self, conversation_id: str) -> str | None:
        """The owner of a conversation this process is answering (None when unknown or without auth)."""

    async def close(self) -> None: ...


class StreamLimiter(Protocol):
    def slot(self, on_queued: Callable[[], None]) -> AbstractAsyncContextManager[None]:
        """Hold one upstream stream; calls `on_queued` once if the caller has to wait."""


class Quotas(Protocol):
    async def admit(self, owner: str) -> None:
        """Count one request; raises LimitExceeded when the principal is over its requests a minute."""

    def stream(self, owner: str) -> AbstractAsyncContextManager[None]:
        """Hold one of the principal's concurrent streams; raises LimitExceeded when none is free."""


RemoteListener = Callable[[str], Awaitable[None]]


@dataclass
class SharedState:
    """What `build_server` needs, whichever backend runs."""

    conversations: Conversations
    bus: Any  # mcp SubscriptionBus with on_remote(listener)
    limiter: Callable[[int], StreamLimiter]  # made with the key's stream count when the client is first built
    quotas: Quotas | None = None
    backend: str = "memory"
    starters: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)  # run while serving
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    ready: Callable[[], Awaitable[str | None]] | None = None  # None when ready, else why not
    announce: Callable[[Conversation, Any], Awaitable[None]] | None = None  # save + publish at once (Redis)
    stoppers: list[Callable[[str], int]] = field(default_factory=list)  # stop this process's turns (reason)
    _draining: bool = field(default=False, init=False, repr=False)
    _in_flight: int = field(default=0, init=False, repr=False)

    @property
    def draining(self) -> bool:
        """SIGTERM received: new chats are refused, answers in flight go on."""
        return self._draining

    def drain(self) -> None:
        """Refuse new chats from now on (the answers in flight finish)."""
        self._draining = True

    @property
    def in_flight(self) -> int:
        """Turns streaming in this process."""
        return self._in_flight

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Count one turn as in flight while the block runs, so a draining server waits for it."""
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
    shared_tokens: TokenCaches | None = None  # the access token every replica shares, for the GigaChat client


def open_state(*, max_conversations: int = 100, max_messages: int = 40, redis_url: str | None = None,
               prefix: str = "gigachat-mcp", conversation_ttl: float = 7 * 86400,
               settings: Settings | None = None, requests_per_minute: int = 0, streams_per_principal: int = 0,
               store: ConversationStore | None = None, lease: float = 15.0) -> SharedState:
    """In memory unless `redis_url` is given; with it, everything (tokens included) lives in Redis."""
    if redis_url:
        from .redis_state import redis_state

        return redis_state(redis_url, prefix=prefix, max_conversations=max_conversations,
                           max_messages=max_messages, conversation_ttl=conversation_ttl, settings=settings,
                           requests_per_minute=requests_per_minute, streams_per_principal=streams_per_principal,
                           lease=lease)
    from .memory import memory_state

    return memory_state(max_conversations=max_conversations, max_messages=max_messages, store=store,
                        requests_per_minute=requests_per_minute, streams_per_principal=streams_per_principal)
