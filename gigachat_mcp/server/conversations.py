"""Conversations the MCP server keeps: bounded, with the answer in flight readable at any moment.

Caps keep memory flat however long the server runs: at most `max_conversations` per principal (its least
recently used idle one is dropped; never another principal's, never one answering) and `max_messages` per
conversation (the oldest exchanges are dropped; the system prompt stays).
The answer in flight is a list of parts, so appending a chunk is O(1) and a bounded tail is cheap.

A cancelled exchange stays in the transcript, marked `"cancelled": true`, so the person can still read the half
answer; it is not sent to GigaChat as context on later turns (neither its prompt nor its partial text): a half
answer the user stopped should not silently steer the next one. The notebook magic follows the same rule.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .state.interfaces import ConversationCapReached

__all__ = ["ID_PATTERN", "Conversation", "ConversationStore", "UnknownConversation"]

ID_PATTERN = r"^[0-9a-f]{16}$"  # a conversation id: 16 hex digits (see ConversationStore.create)
THINKING = "[thinking] "  # how progress marks the model's reasoning, so hosts can tell it from the answer
_RECORD_ONLY = ("files", "reasoning", "sources", "json", "cancelled")  # kept in the transcript, never sent back


class UnknownConversation(KeyError):
    """No conversation has that id (never created, or dropped by the cap)."""


@dataclass
class Conversation:
    id: str
    system: str | None = None
    model: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)  # user / assistant, oldest first; may be "cancelled"
    status: str = "idle"  # idle, queued, streaming, done, error or cancelled
    error: str | None = None
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    updated_at: float = field(default_factory=time.time)
    _parts: list[str] = field(default_factory=list)
    _length: int = 0
    _thinking: list[str] = field(default_factory=list)
    _thinking_length: int = 0
    store_version: int = field(default=0, repr=False)  # the shared store's version of this record (Redis)
    store_owner: str = field(default="", repr=False)  # the principal the shared store files it under (Redis)

    @property
    def busy(self) -> bool:
        return self.status in ("queued", "streaming")

    @property
    def answer_length(self) -> int:
        """Characters of the answer in flight (or the last one)."""
        return self._length

    def begin(self, prompt: str, model: str, max_messages: int,
              attachments: list[str] | None = None) -> list[dict[str, Any]]:
        """Start a turn: record the prompt (and its attachments: paths or file ids) and return the messages to
        send (system first). Files an answer made are recorded on it but not sent back; cancelled exchanges stay
        in the transcript but are not sent."""
        message: dict[str, Any] = {"role": "user", "content": prompt}
        if attachments:
            message["attachments"] = list(attachments)
        self.messages.append(message)
        while len(self.messages) > max_messages or self.messages[0]["role"] != "user":
            del self.messages[0]  # drop whole exchanges (one user turn and what answered it), oldest first
        self.model, self.status, self.error, self.finish_reason, self.usage = model, "queued", None, None, None
        self._parts, self._length, self._thinking, self._thinking_length = [], 0, [], 0
        self.touch()
        head: list[dict[str, Any]] = [{"role": "system", "content": self.system}] if self.system else []
        return head + [{k: v for k, v in m.items() if k not in _RECORD_ONLY} for m in self.messages
                       if not m.get("cancelled")]

    def retract(self) -> None:
        """Forget the prompt of a turn that was refused before anything was sent (e.g. a bad attachment)."""
        if self.messages and self.messages[-1]["role"] == "user":
            self.messages.pop()

    def append(self, text: str) -> None:
        self._parts.append(text)
        self._length += len(text)

    def think(self, text: str) -> None:
        """A piece of the model's reasoning: kept apart from the answer."""
        self._thinking.append(text)
        self._thinking_length += len(text)

    @property
    def progress_length(self) -> int:
        """Characters received so far, thinking included: what progress notifications count."""
        return self._length + self._thinking_length

    def reasoning(self) -> str:
        return "".join(self._thinking)

    def progress_message(self, limit: int) -> str:
        """The answer's tail, or while only thinking has arrived, the thinking's tail marked as such."""
        if self._length or not self._thinking_length:
            return self.tail(limit)
        thinking = self.reasoning()
        return THINKING + (thinking if len(thinking) <= limit else "…" + thinking[-limit:])

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
               error: str | None = None, files: list[dict[str, str]] | None = None,
               state_id: str | None = None, extras: dict[str, Any] | None = None) -> None:
        """End the turn; any text received stays in the transcript, even after an error or a cancel (a cancelled
        exchange is marked, and later turns do not send it). The files the answer made are recorded on its
        message (which turn made which file); the tool state id goes back with it on the next turn, as the API
        requires."""
        text = self.answer()
        if text or status == "done" or files:
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if state_id:
                message["state_id"] = state_id
            if files:
                message["files"] = files
            if self._thinking_length:
                message["reasoning"] = self.reasoning()
            message.update({k: v for k, v in (extras or {}).items() if v not in (None, [], "")})
            self.messages.append(message)
        if status == "cancelled":
            for message in reversed(self.messages):
                message["cancelled"] = True
                if message["role"] == "user":
                    break
        self.status, self.finish_reason, self.usage, self.error = status, finish_reason, usage, error
        self.touch()

    def touch(self) -> None:
        self.updated_at = time.time()

    def snapshot(self, uri: str) -> dict[str, Any]:
        """The resource's JSON: the transcript with the answer in flight and its status."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system}] if self.system else []
        messages += [dict(m) for m in self.messages]
        if self.busy:
            in_flight: dict[str, Any] = {"role": "assistant", "content": self.answer(), "in_flight": True}
            if self._thinking_length:
                in_flight["reasoning"] = self.reasoning()
            messages.append(in_flight)
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
    """Conversations by id, at most `max_conversations` per owner (a principal; None without auth): at the cap the
    owner's least recently used idle conversation is dropped; a busy one is never dropped, nor another owner's."""

    def __init__(self, max_conversations: int = 100, max_messages: int = 40) -> None:
        if max_conversations < 1 or max_messages < 2:
            raise ValueError("max_conversations must be >= 1 and max_messages >= 2")
        self.max_conversations = max_conversations
        self.max_messages = max_messages
        self._items: dict[str, Conversation] = {}
        self._owners: dict[str, str | None] = {}
        self._recent: dict[str | None, OrderedDict[str, None]] = {}  # owner -> its ids, least recently used first

    def __len__(self) -> int:
        return len(self._items)

    def create(self, system: str | None, owner: str | None = None) -> Conversation:
        """Raises ConversationCapReached when the owner is at the cap and all its conversations are answering."""
        mine = self._recent.setdefault(owner, OrderedDict())
        if len(mine) >= self.max_conversations:
            victim = next((cid for cid in mine if not self._items[cid].busy), None)
            if victim is None:
                raise ConversationCapReached(self.max_conversations)
            del mine[victim], self._items[victim], self._owners[victim]
        conversation = Conversation(id=uuid.uuid4().hex[:16], system=system)
        self._items[conversation.id] = conversation
        self._owners[conversation.id] = owner
        mine[conversation.id] = None
        return conversation

    def get(self, conversation_id: str) -> Conversation:
        try:
            conversation = self._items[conversation_id]
        except KeyError:
            raise UnknownConversation(conversation_id) from None
        self._recent[self._owners[conversation_id]].move_to_end(conversation_id)
        return conversation

    def peek(self, conversation_id: str) -> Conversation | None:
        return self._items.get(conversation_id)

    def owner_of(self, conversation_id: str) -> str | None:
        """The owner of a kept conversation (None without auth, or when the id is unknown)."""
        return self._owners.get(conversation_id)

    def ids(self, owner: str | None = None) -> list[str]:
        """The owner's conversation ids, most recently used first."""
        return list(reversed(self._recent.get(owner, ())))
