"""Showing an answer while it streams: one display updated in place in Jupyter, deltas printed in a terminal.

In a kernel every update resends the whole text, so updates are throttled: at most one per interval, and the
interval grows with the text so that no more than MAX_CHARS_PER_SECOND are resent each second. A 10x longer
answer therefore costs about 10x, not 100x; the last update is always sent. The bundle carries text/markdown
and text/plain, so saved notebooks, nbconvert and plain frontends all show the text. A terminal gets each delta as it comes, since its display() would reprint all.
"""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["Answer", "LiveDisplay", "TerminalDisplay", "make_display"]

MAX_CHARS_PER_SECOND = 20_000


class Answer:
    """A mime bundle of the answer text."""

    def __init__(self, text: str, fmt: str = "markdown") -> None:
        self.text = text
        self.fmt = fmt

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        if self.fmt == "text":
            return {"text/plain": self.text}
        return {"text/markdown": self.text, "text/plain": self.text}


class LiveDisplay:
    """One display_data, then update_display_data with the same id as the text grows."""

    def __init__(self, fmt: str, interval: float) -> None:
        from IPython.display import display

        self.fmt = fmt
        self.interval = interval
        self.parts: list[str] = []
        self._handle = display(Answer("…", fmt), display_id=True)
        self._last = time.monotonic()
        self._dirty = False
        self._length = 0

    def add(self, delta: str) -> None:
        self.parts.append(delta)
        self._length += len(delta)
        self._dirty = True
        now = time.monotonic()
        if now - self._last >= max(self.interval, self._length / MAX_CHARS_PER_SECOND):
            self._flush(now)

    def finish(self, marker: str = "") -> None:
        """Always the last update: the whole text, plus a marker such as *[interrupted]* if given."""
        if marker:
            self.parts.append(f"\n\n*[{marker}]*" if self.fmt != "text" else f"\n\n[{marker}]")
        if self._dirty or marker or not self.parts:
            self._flush(time.monotonic())

    def discard(self) -> None:
        """Nothing arrived (the request failed first): the "…" placeholder goes, the error line follows."""
        self._handle.update({"text/plain": ""}, raw=True)

    def note(self, text: str) -> None:
        from IPython.display import display

        display(Answer(f"*{text}*" if self.fmt != "text" else text, self.fmt))

    def _flush(self, now: float) -> None:
        text = "".join(self.parts)
        self.parts = [text]  # joined once, so the next flush joins only what arrived since
        self._handle.update(Answer(text, self.fmt))
        self._last = now
        self._dirty = False


class TerminalDisplay:
    """Prints each delta as it arrives."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, delta: str) -> None:
        self.parts.append(delta)
        sys.stdout.write(delta)
        sys.stdout.flush()

    def finish(self, marker: str = "") -> None:
        sys.stdout.write(f"\n[{marker}]\n" if marker else "\n")
        sys.stdout.flush()

    def discard(self) -> None:
        """Nothing was printed, so nothing to take back."""

    def note(self, text: str) -> None:
        print(f"[{text}]", flush=True)


def make_display(shell: Any, fmt: str, interval: float) -> LiveDisplay | TerminalDisplay:
    rich = getattr(shell, "kernel", None) is not None  # ipykernel's shell; terminal IPython has none
    return LiveDisplay(fmt, interval) if rich else TerminalDisplay()
