"""Signals that end a process run its exit hooks first, so an emulator's temp dir and keys go with it.

The default action of SIGTERM (`kill`, a host stopping its server) and SIGHUP (a closed terminal) kills the
process on the spot, skipping atexit, where an emulator removes its files. Raising an exception from the handler
instead would land anywhere: inside an import, or inside pydantic's Rust code, which turns it into another error.
So the handler runs the exit hooks, then dies by the same signal, as a process should.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

__all__ = ["clean_up_on"]


@contextlib.contextmanager
def clean_up_on(*names: str) -> Iterator[None]:
    previous = {}
    for name in names:
        number = getattr(signal, name, None)  # SIGHUP does not exist on Windows
        if number is not None:
            previous[number] = signal.signal(number, _clean_up_and_die)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _clean_up_and_die(signum: int, frame: object) -> None:
    import atexit
    import os

    atexit._run_exitfuncs()  # what the interpreter runs at exit; there is no public name for it
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
