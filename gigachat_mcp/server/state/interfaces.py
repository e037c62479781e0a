"""The four pieces of state a server shares between requests, as interfaces, and the choice made at start-up.

- `Conversations`: messages, status and the answer in flight, owned by a principal.
- `SubscriptionBus` (the SDK's protocol) plus `on_remote`: changes made on other replicas, for legacy sessions.
- `StreamLimiter`: the upstream stream slots of one GigaChat key.
- `Quotas`: per-principal requests a minute and concurrent streams.
- `FileOwners`: which principal's turn drew or uploaded each file id (all principals share one GigaChat key).
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

__all__ = ["ConversationBusy", "ConversationCapReached", "Conversations", "FileOwners", "LimitExceeded", "Quotas",
           "SharedState", "StateUnavailable", "StreamLimiter", "UnknownFile", "open_state"]

CAP_RETRY = 5.0  # seconds: about how soon one of a principal's answers in flight finishes


class StateUnavailable(Exception):
    """The shared state (Redis) cannot be reached; the message says what to do."""


class ConversationBusy(Exception):
    """The conversation is answering (on this or another replica)."""


class LimitExceeded(Exception):
    """A per-principal limit is reached; `retry_after` says when to try again (seconds)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConversationCapReached(LimitExceeded):
    """The principal has `cap` conversations and every one of them is answering: none can make room."""

    def __init__(self, cap: int) -> None:
        super().__init__(
            f"You have {cap} conversations answering at once: that is this server's cap on conversations per user "
            f"(--conversations-per-user, now {cap}). Retry in a few seconds, when one of those answers has finished "
            "(get_conversation with wait_seconds waits for one); your idle conversations make room by themselves, "
            "least recently used first.", CAP_RETRY)
        self.cap = cap


class UnknownFile(LookupError):
    """A file id this principal may not use: one that never existed and another principal's get this same
    message, so a caller cannot tell them apart."""

    def __init__(self, file_id: str) -> None:
        super().__init__(f"No file {file_id!r}: it never existed, it was deleted, or it is not yours (a file is "
                         "usable only by the user whose turn drew or uploaded it). Use the file ids your own chat "
                         "and generate_image results returned.")


class Conversations(Protocol):
    max_conversations: int
    max_messages: int

    async def create(self, system: str | None, owner: str | None) -> Conversation:
        """A new conversation of `owner`; at the owner's cap its least recently used idle conversation is dropped
        (never another owner's, never one answering), and ConversationCapReached is raised when none can be."""

    async def find(self, conversation_id: str, owner: str | None) -> Conversation | None:
        """The newest state of the conversation, or None when unknown to `owner` (never created, dropped, or
        another principal's)."""

    async def begin(self, conversation: Conversation, prompt: str, model: str,
                    attachments: list[str] | None = None) -> list[dict[str, Any]]:
        """Start a turn (raises ConversationBusy if one is running anywhere); returns the messages to send."""

    async def recent(self, limit: int, owner: str | None) -> list[str]:
        """Ids of `owner`'s most recently used conversations, newest first."""

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


class FileOwners(Protocol):
    """Which principal may use which file id. Without auth (stdio, one user) the owner is None and every file of
    the key is usable, as before; with auth a file id is usable only by the principals whose turns made it."""

    async def claim(self, owner: str | None, file_ids: list[str]) -> None:
        """Record that `owner`'s turn drew or uploaded these files (nothing to record for None)."""

    async def usable(self, owner: str | None, file_id: str) -> bool:
        """True when `owner` may read or attach the file (always, for None)."""


RemoteListener = Callable[[str], Awaitable[None]]
StopHere = Callable[[str, str | None], bool]  # (conversation id, asking principal) -> stopped here


@dataclass
class SharedState:
    """What `build_server` needs, whichever backend runs."""

    conversations: Conversations
    bus: Any  # mcp SubscriptionBus with on_remote(listener)
    limiter: Callable[[int], StreamLimiter]  # made with the key's stream count when the client is first built
    files: FileOwners | None = None  # None: every file of the key is usable by every caller
    quotas: Quotas | None = None
    backend: str = "memory"
    starters: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)  # run while serving
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    ready: Callable[[], Awaitable[str | None]] | None = None  # None when ready, else why not
    announce: Callable[[Conversation, Any], Awaitable[None]] | None = None  # save + publish at once (Redis)
    link: Any = None  # the Redis connection (its round trips are what benchmarks count); None in memory
    stoppers: list[Callable[[str], int]] = field(default_factory=list)  # stop this process's turns (reason)
    # Stop across replicas (Redis; None in memory, where no other replica streams): `request_stop(id, principal)`
    # asks the replica streaming a conversation to stop it; `relay_stops(stop_here)` sets who stops this
    # replica's turns when another replica asks.
    request_stop: Callable[[str, str | None], Awaitable[bool]] | None = None
    relay_stops: Callable[[StopHere], None] | None = None
    shared_tokens: TokenCaches | None = None  # the access token every replica shares, for the GigaChat client
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

    async def claim_files(self, conversation: Conversation, file_ids: list[str]) -> None:
        """Give the files a turn made to the owner of its conversation (called before the turn's end is
        published, so its owner can read them as soon as it sees them)."""
        await self.give_files(self.conversations.owner(conversation.id), file_ids)

    async def give_files(self, owner: str | None, file_ids: list[str]) -> None:
        """The files (uploaded or drawn) are `owner`'s from now on; a no-op where every file is everyone's."""
        if self.files is not None and file_ids:
            await self.files.claim(owner, file_ids)

    async def check_file(self, owner: str | None, file_id: str) -> None:
        """Raise UnknownFile unless `owner` may use the file."""
        if self.files is not None and not await self.files.usable(owner, file_id):
            raise UnknownFile(file_id)


def open_state(*, max_conversations: int = 100, max_messages: int = 40, redis_url: str | None = None,
               prefix: str = "gigachat-mcp", conversation_ttl: float = 7 * 86400,
               settings: Settings | None = None, requests_per_minute: int = 0, streams_per_principal: int = 0,
               store: ConversationStore | None = None, lease: float = 15.0) -> SharedState:
    """In memory unless `redis_url` is given; with it, everything (tokens included) lives in Redis.
    `max_conversations` is per principal (the one principal of a server without auth: all of them)."""
    if redis_url:
        from .redis_state import redis_state

        return redis_state(redis_url, prefix=prefix, max_conversations=max_conversations,
                           max_messages=max_messages, conversation_ttl=conversation_ttl, settings=settings,
                           requests_per_minute=requests_per_minute, streams_per_principal=streams_per_principal,
                           lease=lease)
    from .memory import memory_state

    return memory_state(max_conversations=max_conversations, max_messages=max_messages, store=store,
                        requests_per_minute=requests_per_minute, streams_per_principal=streams_per_principal)
