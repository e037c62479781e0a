"""Connections of their own for a blocking map's threads. Ten threads sharing one httpx pool spend about a fifth
of a plain chat() call's CPU per request waiting on the pool's lock and scanning its connections
(tests/bench/bench_map.py); a client of its own per thread costs what a single caller's chat() does. The clients
are the caller's GigaChat's (same settings, tokens and upload book) and are kept between maps, so a map does not
pay TLS handshakes again; GigaChat.close() closes them."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import httpx

__all__ = ["Lanes"]

MAX_IDLE = 64  # clients kept between maps (each holds one kept-alive connection)


class Lanes:
    """httpx clients lent to threads: within `lane()`, `current()` is this thread's own client."""

    def __init__(self, make: Callable[[], httpx.Client]) -> None:
        self._make = make
        self._idle: list[httpx.Client] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self._generation = 0  # a client lent before close() is closed when given back, not kept

    def current(self) -> httpx.Client | None:
        return getattr(self._local, "http", None)

    @contextlib.contextmanager
    def lane(self) -> Iterator[None]:
        with self._lock:
            http = self._idle.pop() if self._idle else None
            generation = self._generation
        self._local.http = http if http is not None else self._make()
        try:
            yield
        finally:
            http, self._local.http = self._local.http, None
            with self._lock:
                keep = generation == self._generation and len(self._idle) < MAX_IDLE
                if keep:
                    self._idle.append(http)
            if not keep:
                http.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            self._generation += 1
        for http in idle:
            http.close()
