"""What the emulator remembers of the traffic it served: the requests, and each stream's progress."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LOG_LIMIT", "RecordedRequest", "StreamRecord"]

LOG_LIMIT = 10_000  # every log is bounded: emulators may run for days


@dataclass
class RecordedRequest:
    """What reached the emulator (the Authorization header is kept only as its scheme)."""

    method: str
    path: str
    endpoint: str | None
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)  # when it arrived (time.monotonic())
    query: str = ""  # the query string, e.g. method=embedder


@dataclass
class StreamRecord:
    """One streamed answer, from the server's side: how far it got and how it ended."""

    path: str
    planned_chunks: int
    sent_chunks: int = 0
    outcome: str = "streaming"  # completed | client went away | dropped by fault | stalled | error/malformed event
    started: float = field(default_factory=time.monotonic)
    first_chunk_at: float | None = None  # time.monotonic() when the first text event was written
