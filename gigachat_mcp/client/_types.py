"""The values calls return. Plain frozen dataclasses: cheap to build per chunk, easy to print and compare."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ChatChunk", "ChatResult", "Model", "TokenCount", "Usage"]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts; `total_tokens` is what is billed (after subtracting precached prompt tokens)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    precached_prompt_tokens: int = 0


@dataclass(frozen=True, slots=True)
class ChatResult:
    """A whole answer."""

    text: str
    model: str
    finish_reason: str | None
    usage: Usage

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class ChatChunk:
    """A piece of a streamed answer; the last one carries `finish_reason` and `usage`."""

    text: str
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Model:
    """A model the key can use; `type` is chat, embedder, filter or aicheck."""

    id: str
    owned_by: str = ""
    type: str = "chat"


@dataclass(frozen=True, slots=True)
class TokenCount:
    """How many tokens and characters one input text takes."""

    tokens: int
    characters: int


_new = object.__new__
_slot_setters: Any = tuple(vars(ChatChunk)[name].__set__ for name in ("text", "finish_reason", "usage", "model"))
_set_text, _set_finish, _set_usage, _set_model = _slot_setters


def text_chunk(text: str, model: str | None) -> ChatChunk:
    """ChatChunk(text, None, None, model), built for the stream decoder's hot path: the same frozen value,
    made by writing its slots directly instead of through the frozen __init__ (a third of the cost)."""
    chunk = _new(ChatChunk)
    _set_text(chunk, text)
    _set_finish(chunk, None)
    _set_usage(chunk, None)
    _set_model(chunk, model)
    return chunk
