"""The values calls return. Plain frozen dataclasses: cheap to build per chunk, easy to print and compare."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["NEVER", "REFRESH_MARGIN_S", "AICheck", "ChatChunk", "ChatResult", "FileInfo", "FunctionCall",
           "GeneratedFile", "Model", "Source", "Token", "TokenCount", "Usage"]

REFRESH_MARGIN_S = 60.0  # a token is renewed this long before it expires
NEVER = float("inf")  # the expiry of a token that does not expire


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts; `total_tokens` is what is billed (after subtracting precached prompt tokens)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    precached_prompt_tokens: int = 0


@dataclass(frozen=True, slots=True)
class GeneratedFile:
    """A file GigaChat made while answering (a drawn image); fetch its bytes with `download_file(f.id)`."""

    id: str
    mime_type: str = "image/jpeg"


@dataclass(frozen=True, slots=True)
class Source:
    """A web page a web-search answer drew on; the text cites it as [sources=[N]]."""

    title: str
    url: str


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """GigaChat asks for a function to be called: its name and the arguments (always a dict)."""

    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AICheck:
    """What /ai/check thinks of a text: category ai | human | mixed, and the 1-based character intervals it
    believes a model wrote."""

    category: str
    characters: int
    tokens: int
    ai_intervals: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A file stored on the service for this key (uploaded, or made by GigaChat)."""

    id: str
    filename: str
    bytes: int
    purpose: str = "general"
    created_at: int = 0
    access_policy: str | None = None


@dataclass(frozen=True, slots=True)
class ChatResult:
    """A whole answer. `files` are what GigaChat made (drawn images); their markup is not left in `text`.

    `state_id` is the service's state of a built-in tool that ran (v1 functions_state_id, v2 tool_state_id);
    send `result.message` back as the assistant turn of the conversation and it travels along."""

    text: str
    model: str
    finish_reason: str | None
    usage: Usage
    files: tuple[GeneratedFile, ...] = ()
    state_id: str | None = None
    reasoning: str = ""  # the model's thinking (reasoning_effort=...), never part of `text`
    sources: tuple[Source, ...] = ()  # web pages a web-search answer drew on
    function_call: FunctionCall | None = None  # set when finish_reason is "function_call"
    parsed: Any = None  # with response_format=: the validated dict, or the pydantic model's instance

    def __str__(self) -> str:
        return self.text

    @property
    def message(self) -> dict[str, Any]:
        """This answer as the assistant message of the next request (the state id included)."""
        return assistant_message(self.text, self.state_id, self.function_call)


@dataclass(frozen=True, slots=True)
class ChatChunk:
    """A piece of a streamed answer; the last one carries `finish_reason` and `usage`."""

    text: str
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str | None = None
    files: tuple[GeneratedFile, ...] = ()  # on the last chunk: every file the answer made
    state_id: str | None = None  # on the last chunk, as ChatResult.state_id
    reasoning: str = ""  # a piece of the thinking; such chunks come before the answer and have no text
    sources: tuple[Source, ...] = ()  # on the last chunk: every source of a web-search answer
    function_call: FunctionCall | None = None  # on the last chunk, when GigaChat asks for a function
    parsed: Any = None  # on the last chunk with response_format=, as ChatResult.parsed


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


@dataclass(frozen=True)
class Token:
    """An access token and when it expires, in seconds since the epoch (inf: never)."""

    value: str
    expires_at: float

    @classmethod
    def from_expiry(cls, value: str, expires_at: float | int | None) -> Token:
        """GigaChat sends milliseconds; a value under 1e12 is taken as seconds, 0 or None as 'never'.

        Anything else (a bool, text, NaN, infinity, a negative number) or a token that is not a non-empty str
        is a ValueError saying so: such a token would never look fresh, costing one OAuth call per request."""
        if not isinstance(value, str) or not value.strip():
            raise ValueError("the access token is missing or empty" if value is None or isinstance(value, str)
                             else f"the access token is not a string (it is of type {type(value).__name__})")
        if expires_at is None:
            return cls(value, NEVER)
        if isinstance(expires_at, bool) or not isinstance(expires_at, (int, float)) or not math.isfinite(expires_at) \
                or expires_at < 0:
            raise ValueError(f"its expiry time (expires_at) is {expires_at!r:.40}, not a time in milliseconds "
                             "or seconds since 1970")
        if expires_at == 0:
            return cls(value, NEVER)
        seconds = expires_at / 1000 if expires_at >= 1e12 else float(expires_at)
        return cls(value, seconds)

    def fresh(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) + REFRESH_MARGIN_S < self.expires_at

    def __repr__(self) -> str:
        return f"Token(expires_at={self.expires_at!r})"


def assistant_message(text: str, state_id: str | None, function_call: FunctionCall | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if function_call is not None:
        message["function_call"] = {"name": function_call.name, "arguments": function_call.arguments}
    if state_id:
        message["state_id"] = state_id
    return message


_new = object.__new__
_CHUNK_FIELDS = ("text", "finish_reason", "usage", "model", "files", "state_id", "reasoning", "sources",
                 "function_call", "parsed")
_slot_setters: Any = tuple(vars(ChatChunk)[name].__set__ for name in _CHUNK_FIELDS)
(_set_text, _set_finish, _set_usage, _set_model, _set_files, _set_state, _set_reasoning, _set_sources, _set_call,
 _set_parsed) = _slot_setters


def text_chunk(text: str, model: str | None) -> ChatChunk:
    """ChatChunk(text, None, None, model), built for the stream decoder's hot path: the same frozen value,
    made by writing its slots directly instead of through the frozen __init__ (a third of the cost)."""
    chunk = _new(ChatChunk)
    _set_text(chunk, text)
    _set_finish(chunk, None)
    _set_usage(chunk, None)
    _set_model(chunk, model)
    _set_files(chunk, ())
    _set_state(chunk, None)
    _set_reasoning(chunk, "")
    _set_sources(chunk, ())
    _set_call(chunk, None)
    _set_parsed(chunk, None)
    return chunk
