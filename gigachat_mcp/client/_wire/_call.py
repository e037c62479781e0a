"""A `Call`: one request and how to read its answer, plus the generation options every chat request carries.

Shared by every endpoint builder; nothing here does I/O.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .._errors import InvalidRequestError

__all__ = ["ACCEPT_JSON", "JSON_HEADERS", "NO_OPTIONS", "STREAM_HEADERS", "Call", "ChatOptions", "dumps"]

EFFORTS = ("low", "medium", "high")
JSON_HEADERS = MappingProxyType({"Content-Type": "application/json", "Accept": "application/json"})
ACCEPT_JSON = MappingProxyType({"Accept": "application/json"})  # no body, or a multipart one: no JSON Content-Type
STREAM_HEADERS = MappingProxyType(
    {"Content-Type": "application/json", "Accept": "text/event-stream", "Cache-Control": "no-store"}
)

@dataclass(frozen=True, slots=True)
class Call:
    """One API request and the function that turns its JSON answer into a result."""

    method: str
    url: str
    parse: Callable[[Any], Any]
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: JSON_HEADERS)
    stream: str | None = None  # "v1" or "v2": the SSE dialect to decode
    model: str | None = None  # named in a 404's message
    files: Mapping[str, Any] | None = None  # multipart parts; a file object in them is streamed, never read whole
    form: Mapping[str, str] | None = None  # multipart form fields beside the files
    raw: bool = False  # the answer is the body's bytes, not JSON
    upload: bool = False  # retried only where no duplicate can result (see RetryPlan)
    not_found: str | None = None  # what a 404 means for this call
    forbidden: str | None = None  # what a 403 means for this call


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """Generation settings shared by both contracts; None means 'the model's default'."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    repetition_penalty: float | None = None
    profanity_check: bool | None = None
    update_interval: float | None = None
    extra: Mapping[str, Any] | None = None
    reasoning_effort: str | None = None
    response_schema: Mapping[str, Any] | None = None  # the JSON Schema the answer must fit

    def check(self) -> None:
        if self.reasoning_effort is not None and self.reasoning_effort not in EFFORTS:
            raise InvalidRequestError(f"reasoning_effort must be 'low', 'medium' or 'high', not "
                                      f"{self.reasoning_effort!r}.")
        _check_number("temperature", self.temperature, low=0.0)
        _check_number("top_p", self.top_p, low=0.0, high=1.0)
        _check_number("repetition_penalty", self.repetition_penalty, low=0.0, open_low=True)
        _check_number("update_interval", self.update_interval, low=0.0)
        if self.max_tokens is not None and (isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int)
                                            or self.max_tokens < 1):
            raise InvalidRequestError(f"max_tokens must be a whole number of 1 or more, not {self.max_tokens!r}.")

    def schema_format(self) -> dict[str, Any]:
        """`response_schema` as both contracts send it: a strict json_schema response format."""
        return {"type": "json_schema", "schema": self.response_schema, "strict": True}


NO_OPTIONS = ChatOptions()


def _check_number(name: str, value: Any, *, low: float, high: float | None = None, open_low: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidRequestError(f"{name} must be a finite number, not {value!r}.")
    if value < low or (open_low and value == low) or (high is not None and value > high):
        bounds = f"{'above' if open_low else 'at least'} {low}" + (f" and at most {high}" if high is not None else "")
        raise InvalidRequestError(f"{name} must be {bounds}, not {value!r}.")


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # built once: json.dumps with options
# builds a new encoder on every call


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON, as the official SDK sends it."""
    return _ENCODER.encode(body).encode()
