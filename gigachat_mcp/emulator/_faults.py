"""Queued faults: what the next matching request(s) will suffer instead of, or during, a normal answer."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from . import _endpoints

__all__ = ["ENDPOINTS", "Fault", "FaultQueue"]

ENDPOINTS = (*_endpoints.ENDPOINTS, "any")  # every endpoint the routing table names, or any of them


@dataclass
class Fault:
    """One fault. Before the answer: `delay`, then `status` (with `headers`, `message`) or `drop="before"`.
    During a stream, after `after_chunks` events: `drop="mid"`, `event="malformed"|"error"|"end"` (`end`: the body
    ends cleanly, without the final event), or `stall` seconds."""

    endpoint: str = "chat"
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    code: int | None = None  # OAuth error code in the body, for endpoint "oauth"
    delay: float = 0.0
    drop: str | None = None  # "before" (reset before any byte) or "mid" (reset mid-stream)
    after_chunks: int = 0
    event: str | None = None  # "malformed", "error" (error status in the event: `status`, default 500) or "end"
    stall: float = 0.0
    times: int = 1
    skip_requests: int = 0  # let this many matching requests through first, to sprinkle faults among successes

    def __post_init__(self) -> None:
        if self.endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {', '.join(ENDPOINTS)}, not {self.endpoint!r}")
        if self.drop not in (None, "before", "mid"):
            raise ValueError("drop must be 'before' or 'mid'")
        if self.event not in (None, "malformed", "error", "end"):
            raise ValueError("event must be 'malformed', 'error' or 'end'")

    @property
    def mid_stream(self) -> bool:
        return self.drop == "mid" or self.event is not None or self.stall > 0


class FaultQueue:
    """Faults in order; each request takes the first one whose endpoint matches."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, endpoint: str, *, mid_stream: bool = False) -> Fault | None:
        """The next fault for `endpoint` of the given kind: faults before an answer are taken when a request
        arrives; mid-stream ones only when a stream starts, so a request rejected first (a stale token's
        401, say) cannot use them up."""
        with self._lock:
            for fault in self._faults:
                if fault.endpoint in (endpoint, "any") and fault.mid_stream == mid_stream:
                    if fault.skip_requests > 0:
                        fault.skip_requests -= 1
                        return None
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)
