"""How the blocking GigaChat runs the async engine (batches, batch embeddings): on an event loop of its own in a
worker thread. (Concurrent rows do not need the loop: see `_workers`.)

Why a worker thread rather than `asyncio.run` in the caller's thread: a Jupyter kernel already runs an event loop in
its main thread, where `asyncio.run` refuses to start. The caller's thread keeps what must happen there: the
progress callback is called in it (a notebook's display belongs to the cell's thread), and Ctrl-C (a kernel
interrupt) arrives in it, cancels the run and raises MapInterrupted with what was answered."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .._errors import MapInterrupted
from ._engine import Progress

__all__ = ["run_blocking"]

T = TypeVar("T")
_DONE = object()


def run_blocking(work: Callable[[Progress | None], Coroutine[Any, Any, T]], progress: Progress | None,
                 partial: Callable[[], Any] | None = None) -> T:
    """Run `work(report)` on a new loop in a worker thread; `report` hands (done, total, errors) to the caller's
    thread, which calls `progress` with the latest. Ctrl-C cancels the work; `partial()` then gives the result so
    far for MapInterrupted."""
    updates: queue.SimpleQueue[Any] = queue.SimpleQueue()
    loop = asyncio.new_event_loop()
    box: dict[str, Any] = {}
    started = threading.Event()

    def report(done: int, total: int, errors: int) -> None:
        updates.put((done, total, errors))

    def target() -> None:
        try:
            task = loop.create_task(work(report if progress is not None else None))
            box["task"] = task
            started.set()
            box["value"] = loop.run_until_complete(task)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = exc
        finally:
            started.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            updates.put(_DONE)

    thread = threading.Thread(target=target, name="gigachat-map", daemon=True)
    thread.start()
    try:
        _relay(updates, progress)
    except BaseException as exc:
        _cancel(loop, box, started)
        thread.join()
        if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, MapInterrupted) and partial is not None:
            raise MapInterrupted(partial()) from None
        raise
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _relay(updates: queue.SimpleQueue[Any], progress: Progress | None) -> None:
    """Until the work ends: call `progress` with the newest update (older ones queued behind it are skipped)."""
    while True:
        try:
            item = updates.get(timeout=0.2)  # a timeout, so Ctrl-C is seen on every platform
        except queue.Empty:
            continue
        latest = None
        while item is not _DONE:
            latest = item
            try:
                item = updates.get_nowait()
            except queue.Empty:
                break
        if latest is not None and progress is not None:
            progress(*latest)
        if item is _DONE:
            return


def _cancel(loop: asyncio.AbstractEventLoop, box: dict[str, Any], started: threading.Event) -> None:
    started.wait()
    task = box.get("task")
    if task is not None:
        try:
            loop.call_soon_threadsafe(task.cancel)
        except RuntimeError:  # the loop closed meanwhile: the work had finished
            pass
