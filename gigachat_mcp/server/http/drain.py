"""A graceful SIGTERM for the team server: drain, then stop what is left as cancelled, then let uvicorn stop.

The first SIGTERM (or SIGINT) refuses new chats and gives answers in flight `grace` seconds. Whatever still
streams then is stopped the way the live view's Stop button stops it: the upstream stream is closed, the partial
text is written to the shared store as `cancelled` (with why), and each foreground caller gets that as its tool
result. Only then does uvicorn begin its own shutdown, so those results still reach their callers; leaving the
stopping to uvicorn's shutdown instead loses them (the connections go first, and the store keeps `streaming`).
A second signal exits at once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel

from ..state.interfaces import SharedState

__all__ = ["SHUTDOWN_REASON", "draining_server", "stop_in_flight"]

log = logging.getLogger("gigachat_mcp.server")

SHUTDOWN_REASON = ("The server shut down before this answer finished (its grace period ran out); the partial "
                   "answer is kept. Ask again to continue it.")
SETTLE_SECONDS = 15.0  # how long the stopped answers get to be written and returned (a slow or absent Redis)


async def stop_in_flight(state: SharedState, settle: float = SETTLE_SECONDS) -> int:
    """Stop every answer this process is streaming and wait until each is recorded and returned to its
    caller (or `settle` seconds pass); returns how many were stopped."""
    stopped = 0
    with anyio.move_on_after(settle):
        while True:  # again each time: a turn admitted just before draining may start streaming only now
            stopped += sum(stop(SHUTDOWN_REASON) for stop in state.stoppers)
            if not state.in_flight:
                break
            await anyio.sleep(0.02)
    if state.in_flight:
        log.warning("%d stopped answer(s) were not recorded within %.0f s", state.in_flight, settle)
    return stopped


def draining_server(config: Any, state: SharedState, grace: float) -> Any:
    """A uvicorn.Server whose first SIGTERM drains before stopping and whose second exits at once. Call
    `remember_loop()` on it from inside the event loop before serving."""
    import uvicorn

    class DrainingServer(uvicorn.Server):
        loop_token: Any = None

        def remember_loop(self) -> None:
            self.loop_token = anyio.lowlevel.current_token()

        def handle_exit(self, sig: int, frame: Any) -> None:
            if state.draining:  # the second signal: now
                log.warning("second signal: exiting at once")
                os._exit(128 + sig)
            if sig not in (signal.SIGTERM, signal.SIGINT):
                return super().handle_exit(sig, frame)
            state.drain()
            log.warning("draining: refusing new chats, %d answer(s) in flight get %.0f s", state.in_flight, grace)
            threading.Thread(target=self._drain, args=(sig, frame), daemon=True).start()

        def _drain(self, sig: int, frame: Any) -> None:
            deadline = time.monotonic() + grace
            while state.in_flight and time.monotonic() < deadline:
                time.sleep(0.05)
            if state.in_flight and self.loop_token is not None:
                stopped = anyio.from_thread.run(stop_in_flight, state, token=self.loop_token)
                log.warning("grace period over: %d answer(s) are stopped and kept as cancelled", stopped)
            uvicorn.Server.handle_exit(self, sig, frame)

    return DrainingServer(config)
