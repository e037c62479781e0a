"""The blocking client's concurrent map, without an event loop: `plan.concurrency` threads each take the next row,
step the engine's per-row flow (`answer_blocking`: the one rate gate) with the caller's blocking chat(), and record
the row with the engine's `Run` (cache, progress) under one lock. The caller's thread calls `progress` and meets
Ctrl-C.

Why not the async engine's loop with the requests handed to threads: a row handed to a thread and back through an
event loop costs two thread switches and the loop's bookkeeping, about a fifth of a plain chat() call's CPU
(tests/bench/bench_map.py); threads that take rows themselves make a map cost what the same chat() calls would.
The threads start as the answers prove slow (`_spawn_if_slow`): answers that come back at once are sent by one
thread, since ten would only take turns at the GIL (tens of context switches per row, up to twice the CPU).

Stopping (Ctrl-C, a progress callback that raises, on_error="raise"): no row is taken after it, and a row answered
after it is dropped, as a cancelled run drops it, so the partial result and the cache agree. With a progress
callback, a thread that finished a row takes the next one only once the caller's thread has shown it, so a
callback that raises stops the run before another row is sent."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from .._errors import MapInterrupted
from .._retry import RATE_LIMITS_TO_CALLER
from .._types import ChatResult
from ._cache import MapCache
from ._engine import Progress, RateGate, Run, answer_blocking
from ._plan import note
from ._result import MapResult, RowError

__all__ = ["run_threads"]

Lane = Callable[[], contextlib.AbstractContextManager[Any]]  # a worker thread's own connection while inside it
WAKE_S = 0.2  # the caller's thread wakes at least this often, so Ctrl-C is seen on every platform
SLOW_S = 0.02  # a row waiting longer than this for its answer starts the other threads


def run_threads(chat: Callable[[Any], ChatResult], run: Run, progress: Progress | None,
                lane: Lane = contextlib.nullcontext) -> MapResult:
    """Run the plan's rows in threads of their own, each within a `lane()` (its own connection: see `_lanes`);
    progress and Ctrl-C (MapInterrupted) in this thread."""
    workers = _Workers(chat, lane, run, MapCache.borrow(run.plan.cache), progress is not None)
    try:
        workers.start()
        while (update := workers.next_update()) is not None:
            if progress is not None:
                progress(*update)
            workers.shown()
    except BaseException as exc:
        partial = workers.stop()
        if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, MapInterrupted):
            raise MapInterrupted(partial) from None
        raise
    if workers.error is not None:
        raise workers.error
    return run.outcome()


class _Workers:
    """The threads of one blocking map and what they share: the rows left, the gate, the cache, one lock."""

    def __init__(self, chat: Callable[[Any], ChatResult], lane: Lane, run: Run, cache: MapCache | None,
                 shows: bool) -> None:
        self.chat, self.lane, self.run, self.cache, self.shows = chat, lane, run, cache, shows
        self.gate = RateGate()
        self.lock = threading.Lock()  # taken as is on the hot path (a Condition's `with` is Python code)
        self.changed = threading.Condition(self.lock)
        self.stopped = self.ended = False
        self.error: BaseException | None = None
        self.alive = self.started = self.limit = self.left = 0  # threads running, started, allowed; rows left
        self.busy: dict[int, float] = {}  # thread number -> when its row was taken
        self.pending: Iterator[int] = iter(())
        self.update: tuple[int, int, int] | None = None  # the newest progress not yet shown
        self.reports = self.showing = self.seen = 0  # progress updates made, being shown, shown

    def start(self) -> None:
        run = self.run
        run.progress = self._report if self.shows else None  # no progress: the caller's thread sleeps
        with self.changed:
            left = run.load_cached(self.cache)
            self.pending, self.left = iter(left), len(left)
            self.limit = min(run.plan.concurrency, len(left))
            if self.limit:
                self._spawn(1)  # the others once a request proves slow: see _spawn_if_slow
            else:
                self._close()

    def next_update(self) -> tuple[int, int, int] | None:
        """(done, total, errors) when there is something new to show; None when the run has ended."""
        with self.changed:
            while self.update is None and not self.ended:
                self.changed.wait(SLOW_S if self.started < self.limit else WAKE_S)
                self._spawn_if_slow()
            update, self.update = self.update, None
            self.showing = self.reports
            return update

    def shown(self) -> None:
        with self.changed:
            self.seen = self.showing
            self.changed.notify_all()

    def stop(self) -> MapResult:
        """No row is taken or recorded from now on; what was recorded, as the caller's partial result."""
        with self.changed:
            self.stopped = True
            self.changed.notify_all()
            if not self.alive:
                self._close()
            return self.run.outcome()

    def _report(self, done: int, total: int, errors: int) -> None:  # Run.progress, called under the lock
        self.update = (done, total, errors)
        self.reports += 1
        self.changed.notify_all()

    def _spawn_if_slow(self) -> None:
        """One more thread for each row that has waited longer than SLOW_S for its answer (called under the
        lock), so slow answers reach `concurrency` threads in a few ticks (1, 2, 4, 8, ...), and one late answer
        adds one thread. Answers that come back sooner keep up without them: more threads would only take turns
        at the GIL, which costs CPU per row (tens of context switches) and brings nothing."""
        if self.started < self.limit and self.left and not self.stopped:
            since = time.monotonic() - SLOW_S
            slow = sum(taken < since for taken in self.busy.values())
            if slow:
                self._spawn(min(slow, self.limit - self.started, self.left))

    def _spawn(self, count: int) -> None:
        for _ in range(count):
            self.alive += 1
            self.started += 1
            threading.Thread(target=self._work, args=(self.started,), name=f"gigachat-map-{self.started}",
                             daemon=True).start()

    def _work(self, number: int) -> None:
        RATE_LIMITS_TO_CALLER.set(True)  # this thread's context only: see the engine's docstring
        try:
            with self.lane():
                while (index := self._take(number)) is not None:
                    item = answer_blocking(self.chat, self.run.plan, index, self.gate)
                    if not self._record(number, index, item):
                        return
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            with self.changed:
                self._fail(exc)
        finally:
            with self.changed:
                self.alive -= 1
                if not self.alive:
                    self._close()

    def _take(self, number: int) -> int | None:
        with self.lock:
            index = None if self.stopped else next(self.pending, None)
            if index is not None:
                self.left -= 1
                self.busy[number] = time.monotonic()
            return index

    def _record(self, number: int, index: int, item: ChatResult | RowError) -> bool:
        """Store the row's outcome (unless the run was stopped); False when this thread should take no more."""
        with self.lock:
            del self.busy[number]
            if self.stopped:
                return False
            self.run.finish(index, item, self.cache)
            if isinstance(item, RowError) and self.run.plan.on_error == "raise":
                self._fail(note(item.exception, f"(map row {index}; answered rows are in the map cache)"))
                return False
            mine = self.reports
            while self.shows and self.seen < mine and not self.stopped:
                self.changed.wait()
            return not self.stopped

    def _fail(self, error: BaseException) -> None:
        if not self.stopped:
            self.error, self.stopped, self.ended = error, True, True
            self.changed.notify_all()

    def _close(self) -> None:
        """The last thread out closes the cache and ends the caller's wait."""
        if self.cache is not None:
            self.cache.give_back()
            self.cache = None
        self.ended = True
        self.changed.notify_all()
