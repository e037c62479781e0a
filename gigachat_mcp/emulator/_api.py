"""The emulated service's state and its front door: each request is logged, routed through the table in
`_endpoints`, given a queued fault if one matches, checked for a token, and handed to its endpoint's handler."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from . import _endpoints
from ._batches import BatchStore
from ._control import PREFIX, control
from ._endpoints.oauth import TokenStore, authorize
from ._faults import Fault, FaultQueue
from ._files import FileStore
from ._http import Call, Route, send_error
from ._records import LOG_LIMIT, RecordedRequest, StreamRecord
from ._server import Connection

__all__ = ["API", "RecordedRequest", "StreamRecord"]

_REASONS = {429: "Too many requests", 401: "Unauthorized", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}


class API:
    """State and request handling; one instance per emulator, shared by all connection threads."""

    def __init__(self, *, credentials: dict[str, str], users: dict[str, str], token_ttl: float, chunk_delay: float,
                 stream_limit: int | None, expires_at_unit: str, accept_client_certs: bool) -> None:
        self.credentials = credentials
        self.users = users
        self.token_ttl = token_ttl
        self.chunk_delay = chunk_delay
        self.stream_limit = stream_limit
        self.expires_at_unit = expires_at_unit
        self.accept_client_certs = accept_client_certs
        self.faults = FaultQueue()
        self.requests: deque[RecordedRequest] = deque(maxlen=LOG_LIMIT)
        self.streams: deque[StreamRecord] = deque(maxlen=LOG_LIMIT)
        self.oauth_calls = 0
        self.tokens = TokenStore()
        self.files = FileStore()
        self.state_ids: set[str] = set()  # functions_state_id / tool_state_id values handed out
        self.batches = BatchStore()
        self.latency = 0.0  # seconds every API request (not the token routes) waits before it is answered
        self.batch_delay = 1.0  # seconds a batch takes from created to completed
        self.in_flight = 0  # API requests being answered now
        self.max_in_flight = 0  # the most seen at once since the last reset
        self._active: dict[str, int] = {}  # open streams by token owner
        self._lock = threading.Lock()
        self.changed = threading.Condition(self._lock)

    # --- state the Emulator exposes ------------------------------------------------------------------------

    def revoke_tokens(self) -> None:
        self.tokens.revoke()

    def expire_tokens(self) -> None:
        self.tokens.expire()

    def issued_tokens(self) -> list[str]:
        return self.tokens.ever_issued()

    def active_streams(self) -> int:
        with self._lock:
            return sum(self._active.values())

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "oauth_calls": self.oauth_calls,
                "requests": len(self.requests),
                "active_streams": sum(self._active.values()),
                "streams": [{"outcome": s.outcome, "sent_chunks": s.sent_chunks, "planned_chunks": s.planned_chunks}
                            for s in self.streams],
                "faults_queued": len(self.faults),
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
            }

    def reset_concurrency(self) -> None:
        with self._lock:
            self.max_in_flight = self.in_flight

    # --- streams -------------------------------------------------------------------------------------------

    def open_stream(self, owner: str) -> bool:
        """Take one of the owner's stream slots; False when `stream_limit` streams are open already."""
        with self._lock:
            if self.stream_limit is not None and self._active.get(owner, 0) >= self.stream_limit:
                return False
            self._active[owner] = self._active.get(owner, 0) + 1
            return True

    def close_stream(self, owner: str) -> None:
        with self.changed:
            self._active[owner] -= 1
            self.changed.notify_all()

    def record_stream(self, record: StreamRecord) -> None:
        with self._lock:
            self.streams.append(record)

    # --- the front door ------------------------------------------------------------------------------------

    def handle(self, conn: Connection) -> None:
        path = urlsplit(conn.path).path.rstrip("/")
        body = conn.read_body()
        if path.startswith(PREFIX):
            return control(self, conn, path, body)
        route, params = _endpoints.match(conn.command, path) or (None, {})
        self._record(conn, path, route, body)
        if route is None:
            return send_error(conn, 404, "Not found")
        fault = self.faults.take(route.endpoint)
        if fault is not None:
            if fault.delay:
                conn.wait(fault.delay)
            if fault.drop == "before":
                conn.reset()
            if fault.status:
                return _fault_status(conn, route, fault)
        if route.public:
            return route.handler(self, Call(conn, body, route.endpoint, "", params))
        self._enter()
        try:
            _wait(conn, self.latency)
            owner = authorize(self, conn)
            if owner is not None:
                route.handler(self, Call(conn, body, route.endpoint, owner, params))
        finally:
            self._leave()

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _record(self, conn: Connection, path: str, route: Route | None, body: bytes) -> None:
        headers = {k.lower(): v for k, v in conn.headers.items()}
        if "authorization" in headers:
            headers["authorization"] = headers["authorization"].split(" ", 1)[0] + " ***"
        parsed: Any = None
        if route is not None and route.binary:
            parsed = {"bytes": len(body)}  # an upload's bytes are kept in the file store, not the request log
        elif body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = body.decode("utf-8", "replace")
        endpoint = route.endpoint if route is not None else None
        with self._lock:
            self.requests.append(RecordedRequest(conn.command, path, endpoint, headers, parsed,
                                                 query=urlsplit(conn.path).query))
            if endpoint == "oauth":
                self.oauth_calls += 1


def _wait(conn: Connection, seconds: float) -> None:
    """The configured latency, all of it (the connection's wait returns early when the client sends a byte)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        conn.wait(left)


def _fault_status(conn: Connection, route: Route, fault: Fault) -> None:
    status = fault.status or 500
    message = fault.message or _REASONS.get(status, "Error")
    conn.send_json(status, route.error_body(status, message, fault.code), fault.headers)
