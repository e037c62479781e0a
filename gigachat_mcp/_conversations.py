"""Conversations the MCP server keeps: bounded, with the answer in flight readable at any moment.

Caps keep memory flat however long the server runs: at most `max_conversations` (the least recently used is
dropped) and `max_messages` per conversation (the oldest exchanges are dropped; the system prompt stays).
The answer in flight is a list of parts, so appending a chunk is O(1) and a bounded tail is cheap.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Conversation", "ConversationStore", "UnknownConversation"]

class UnknownConversation(KeyError):
    """No conversation has that id (never created, or dropped by the cap)."""


@dataclass
class Conversation:
    id: str
    system: str | None = None
    model: str | None = None
    messages: list[dict[str, str]] = field(default_factory=list)  # user / assistant, oldest first
    status: str = "idle"  # idle, queued, streaming, done, error or cancelled
    error: str | None = None
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    updated_at: float = field(default_factory=time.time)
    _parts: list[str] = field(default_factory=list)
    _length: int = 0

    @property
    def busy(self) -> bool:
        return self.status in ("queued", "streaming")

    @property
    def answer_length(self) -> int:
        """Characters of the answer in flight (or the last one)."""
        return self._length

    def begin(self, prompt: str, model: str, max_messages: int) -> list[dict[str, str]]:
        """Start a turn: record the prompt and return the messages to send (system first)."""
        self.messages.append({"role": "user", "content": prompt})
        overflow = len(self.messages) - max_messages
        if overflow > 0:
            overflow += overflow % 2  # drop whole exchanges, so the history still starts with a user turn
            del self.messages[:overflow]
        self.model, self.status, self.error, self.finish_reason, self.usage = model, "queued", None, None, None
        self._parts, self._length = [], 0
        self.touch()
        head = [{"role": "system", "content": self.system}] if self.system else []
        return head + list(self.messages)

    def append(self, text: str) -> None:
        self._parts.append(text)
        self._length += len(text)

    def answer(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def tail(self, limit: int) -> str:
        """The last `limit` characters of the answer in flight, with a marker when cut."""
        if self._length <= limit:
            return self.answer()
        pieces, size = [], 0
        for part in reversed(self._parts):
            pieces.append(part)
            size += len(part)
            if size >= limit:
                break
        return "…" + "".join(reversed(pieces))[-limit:]

    def finish(self, status: str, *, finish_reason: str | None = None, usage: dict[str, int] | None = None,
               error: str | None = None) -> None:
        """End the turn; any text received stays in the transcript, even after an error or a cancel."""
        text = self.answer()
        if text or status == "done":
            self.messages.append({"role": "assistant", "content": text})
        self.status, self.finish_reason, self.usage, self.error = status, finish_reason, usage, error
        self.touch()

    def touch(self) -> None:
        self.updated_at = time.time()

    def snapshot(self, uri: str) -> dict[str, Any]:
        """The resource's JSON: the transcript with the answer in flight and its status."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system}] if self.system else []
        messages += [dict(m) for m in self.messages]
        if self.busy:
            messages.append({"role": "assistant", "content": self.answer(), "in_flight": True})
        return {
            "conversation_id": self.id,
            "uri": uri,
            "status": self.status,
            "model": self.model,
            "messages": messages,
            "finish_reason": self.finish_reason,
            "usage": self.usage,
            "error": self.error,
            "updated_at": self.updated_at,
        }


class ConversationStore:
    """Conversations by id, least recently used dropped first; a busy one is never dropped."""

    def __init__(self, max_conversations: int = 100, max_messages: int = 40) -> None:
        if max_conversations < 1 or max_messages < 2:
            raise ValueError("max_conversations must be >= 1 and max_messages >= 2")
        self.max_conversations = max_conversations
        self.max_messages = max_messages
        self._items: OrderedDict[str, Conversation] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def create(self, system: str | None) -> Conversation:
        conversation = Conversation(id=uuid.uuid4().hex[:16], system=system)
        self._items[conversation.id] = conversation
        self._evict()
        return conversation

    def get(self, conversation_id: str) -> Conversation:
        try:
            conversation = self._items[conversation_id]
        except KeyError:
            raise UnknownConversation(conversation_id) from None
        self._items.move_to_end(conversation_id)
        return conversation

    def peek(self, conversation_id: str) -> Conversation | None:
        return self._items.get(conversation_id)

    def ids(self) -> list[str]:
        return list(reversed(self._items))

    def _evict(self) -> None:
        while len(self._items) > self.max_conversations:
            victim = next((cid for cid, c in self._items.items() if not c.busy), None)
            if victim is None:
                return
            del self._items[victim]
