"""Deterministic answers that reveal what the request contained, so tests can see what reached the API.

An answer names the model, quotes the last user message, lists the roles, the system prompt, the previous
user message and the options. A directive in the last user message shapes the answer for tests and demos:
`[emulator words=200 delay=0.05 chunk=3]` appends 200 filler words and streams 3 words per event, 50 ms apart;
`coalesce=64` writes 64 events per TCP write, as a buffering proxy or a loaded service does; `fail=500` answers
that status every time (a row that always fails); in a batch, `line=malformed` writes that row's output line
broken.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["MODELS", "Answer", "compose", "count_tokens", "directive", "embed", "failure"]

MODELS = {
    "GigaChat-2": "chat",
    "GigaChat-2-Pro": "chat",
    "GigaChat-2-Max": "chat",
    "GigaChat-3-Ultra": "chat",
    "Embeddings": "embedder",
    "Embeddings-2": "embedder",
    "GigaCheckDetection": "aicheck",
}
MODEL_VERSION = "2.0.28.2"
_DIRECTIVE = re.compile(r"\[emulator((?:\s+\w+=[\w.]+)*)\s*\]")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_PIECE = re.compile(r"\S+\s*|\s+")
OPTION_NAMES = ("temperature", "top_p", "max_tokens", "repetition_penalty", "profanity_check", "update_interval")


@dataclass(frozen=True)
class Answer:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    chunk_words: int
    delay: float
    files: tuple[tuple[str, str], ...] = ()  # (file id, MIME type) of what the answer made
    state_id: str | None = None  # functions_state_id (v1) / tool_state_id (v2) after a built-in tool ran
    reasoning: str = ""  # the thinking streamed before the answer when reasoning effort was asked for
    sources: dict[str, dict[str, str]] | None = None  # web search: {"1": {"url", "title"}, ...}
    function_call: dict[str, Any] | None = None  # {"name", "arguments"} when a function is to be called
    coalesce: int = 1  # stream events per write

    def pieces(self, text: str | None = None) -> list[str]:
        """The answer (or other text, e.g. the reasoning) cut into stream events of `chunk_words` words each."""
        words = _PIECE.findall(self.text if text is None else text)
        size = max(1, self.chunk_words)
        return ["".join(words[i:i + size]) for i in range(0, len(words), size)] or [""]


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def compose(model: str, messages: list[dict[str, Any]], options: dict[str, Any], default_delay: float,
            notes: tuple[str, ...] = ()) -> Answer:
    last_user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    directive = _directive(last_user)
    said = _DIRECTIVE.sub("", last_user).strip()
    lines = [f'GigaChat emulator ({model}) heard: "{_quote(said)}".']
    lines.append("Roles: " + ",".join(m["role"] for m in messages) + ".")
    if messages[0]["role"] == "system":
        lines.append(f'System prompt: "{_quote(messages[0]["content"])}".')
    users = [m["content"] for m in messages if m["role"] == "user"]
    if len(users) > 1:
        lines.append(f'Previous user message: "{_quote(_DIRECTIVE.sub("", users[-2]).strip())}".')
    shown = [f"{name}={options[name]}" for name in OPTION_NAMES if options.get(name) is not None]
    if shown:
        lines.append("Options: " + ", ".join(shown) + ".")
    lines.extend(notes)  # attachments, function states: what else reached the API
    text = " ".join(lines)
    words = int(directive.get("words", 0))
    if words:
        text += " " + " ".join(f"w{i}" for i in range(1, words + 1)) + "."
    finish = "stop"
    limit = options.get("max_tokens")
    if isinstance(limit, int) and count_tokens(text) > limit:
        text, finish = _truncate(text, limit), "length"
    return Answer(
        text=text,
        finish_reason=finish,
        prompt_tokens=sum(count_tokens(m["content"]) for m in messages),
        completion_tokens=count_tokens(text),
        chunk_words=int(directive.get("chunk", 2)),
        delay=float(directive.get("delay", default_delay)),
        coalesce=max(1, int(directive.get("coalesce", 1))),
    )


def failure(messages: list[dict[str, Any]]) -> tuple[int, str] | None:
    """The status a `fail=NNN` directive in the last user message asks for, with its reason."""
    status = directive(messages).get("fail", "")
    if not status.isdigit():
        return None
    return int(status), {429: "Too many requests", 400: "Bad request"}.get(int(status), "Internal Server Error")


def directive(messages: list[dict[str, Any]]) -> dict[str, str]:
    """The `[emulator key=value ...]` directive of the last user message."""
    return _directive(next((m["content"] for m in reversed(messages) if m["role"] == "user"), ""))


def embed(text: str, dimensions: int = 32) -> list[float]:
    """A unit vector that depends only on the text."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(digest[i % len(digest)] - 127.5) / 127.5 for i in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [round(v / norm, 6) for v in raw]


def _directive(text: str) -> dict[str, str]:
    match = _DIRECTIVE.search(text)
    if not match:
        return {}
    return dict(pair.split("=", 1) for pair in match.group(1).split())


def _quote(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _truncate(text: str, limit: int) -> str:
    for count, match in enumerate(_TOKEN.finditer(text), 1):
        if count == limit:
            return text[:match.end()]
    return text
