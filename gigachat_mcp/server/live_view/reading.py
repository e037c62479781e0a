"""Reading an answer while it is written, for the live view: a long poll that returns in batches.

Hosts forward no progress into an MCP App's frame, so the page polls. Each poll waits for new text, then keeps
collecting for `LINGER` seconds before it returns: a poll costs one round trip through the host, and an answer
streamed in hundreds of chunks is read in a few calls a second at most, however fast the chunks come.
Nothing here imports mcp: waiting is done on whatever `Changes` the server feeds from its subscription bus.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio

from ..conversations import Conversation

__all__ = ["LINGER", "MAX_TEXT", "RECENT", "Changes", "Slice", "last_prompt", "read_slice"]

LINGER = 0.5  # seconds a poll keeps collecting once new text is there
MAX_TEXT = 100_000  # characters one poll returns at most; the page asks again at once for the rest
RECENT = 10.0  # seconds a finished turn can still be found by its prompt (an older one is a previous ask)


class Changes:
    """Wakes waiting polls when a conversation changes. Fed with resource URIs by the server's subscription bus,
    so a bus shared between replicas wakes a poll on one replica for an answer streaming on another."""

    def __init__(self) -> None:
        self._events: dict[str | None, anyio.Event] = {}

    def changed(self, uri: str) -> None:
        for key in (uri, None):  # None: polls still looking for their turn wake on any change
            event = self._events.pop(key, None)
            if event is not None:
                event.set()

    async def wait(self, uri: str | None, timeout: float) -> None:
        event = self._events.get(uri)
        if event is None:
            event = self._events[uri] = anyio.Event()
        with anyio.move_on_after(max(timeout, 0.0)):
            await event.wait()


@dataclass
class Slice:
    """What one poll returns: the text from `offset` on, and the turn's state."""

    conversation_id: str | None
    offset: int
    text: str
    length: int
    status: str  # pending (the turn has not started yet), queued, streaming, done, error, cancelled
    model: str | None = None
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    error: str | None = None

    @classmethod
    def of(cls, conversation: Conversation, offset: int) -> Slice:
        answer = conversation.answer()
        start = offset if offset <= len(answer) else 0  # past the end: a new turn began, send it from the start
        text = answer[start:start + MAX_TEXT]
        done = not conversation.busy
        return cls(conversation.id, start, text, len(answer), conversation.status, conversation.model,
                   conversation.finish_reason if done else None, conversation.usage if done else None,
                   conversation.error if done else None)


def last_prompt(conversation: Conversation) -> str | None:
    """The user message of the conversation's current (or last) turn."""
    for message in reversed(conversation.messages):
        if message["role"] == "user":
            return message["content"]
    return None


async def read_slice(locate: Callable[[], Awaitable[Conversation | None]], uri_of: Callable[[Conversation], str],
                     changes: Changes, offset: int, wait: float, *, linger: float | None = None,
                     clock: Callable[[], float] = time.monotonic) -> Slice:
    """Wait up to `wait` seconds for text past `offset` or the end of the turn; once new text is there, keep
    collecting until `linger` seconds have passed since the call began. `locate` finds the turn (None while it
    has not started) and is asked again after every change."""
    linger = LINGER if linger is None else linger
    start = clock()
    deadline = start + wait
    while True:
        conversation = await locate()
        now = clock()
        if conversation is not None:
            if not conversation.busy and conversation.status != "idle":
                return Slice.of(conversation, offset)
            if conversation.answer_length != offset and (now - start >= linger or now >= deadline):
                return Slice.of(conversation, offset)
        if now >= deadline:
            if conversation is None:
                return Slice(None, offset, "", 0, "pending")
            return Slice.of(conversation, offset)
        until = deadline
        if conversation is not None and conversation.answer_length != offset:
            until = min(deadline, start + linger)
        await changes.wait(uri_of(conversation) if conversation is not None else None, until - now)
