"""The values calls return. Plain frozen dataclasses: cheap to build per chunk, easy to print and compare."""

from __future__ import annotations

from dataclasses import dataclass

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
