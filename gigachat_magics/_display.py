"""Showing an answer while it streams: one display updated in place in Jupyter, deltas printed in a terminal.

In a kernel every update resends the whole text, so updates are throttled: at most one per interval, and the
interval grows with the text so that no more than MAX_CHARS_PER_SECOND are resent each second. A 10x longer
answer therefore costs about 10x, not 100x; the last update is always sent. The bundle carries text/markdown
and text/plain, so saved notebooks, nbconvert and plain frontends all show the text. A terminal gets each delta as it comes, since its display() would reprint all.
"""

from __future__ import annotations

import base64
import html
import sys
import time
from typing import Any

__all__ = ["Answer", "LiveDisplay", "TerminalDisplay", "make_display"]

MAX_CHARS_PER_SECOND = 20_000


_NOTHING = object()
DIM, RESET = "\x1b[2m", "\x1b[0m"


class Answer:
    """A mime bundle of the answer text; the thinking, if any, is a collapsed <details> above it (HTML frontends)
    and the parsed JSON of a -f json answer is application/json."""

    def __init__(self, text: str, fmt: str = "markdown", reasoning: str = "", parsed: Any = _NOTHING) -> None:
        self.text = text
        self.fmt = fmt
        self.reasoning = reasoning
        self.parsed = parsed

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        details = ""
        if self.reasoning:
            summary = "Thinking" if self.text and self.text != "…" else "Thinking…"
            details = (f"<details><summary>{summary}</summary>\n\n{html.escape(self.reasoning)}\n\n"
                       "</details>\n\n")
        if self.fmt == "text":
            bundle: dict[str, Any] = {"text/plain": self.text}
            if details:
                bundle["text/html"] = details + f"<pre>{html.escape(self.text)}</pre>"
            return bundle
        shown = f"```json\n{self.text}\n```" if self.fmt == "json" and self.text != "…" else self.text
        bundle = {"text/markdown": details + shown, "text/plain": self.text}
        if self.parsed is not _NOTHING:
            dump = getattr(self.parsed, "model_dump", None)
            bundle["application/json"] = dump(mode="json") if callable(dump) else self.parsed
        return bundle


class LiveDisplay:
    """One display_data, then update_display_data with the same id as the text grows."""

    def __init__(self, fmt: str, interval: float) -> None:
        from IPython.display import display

        self.fmt = fmt
        self.interval = interval
        self.parts: list[str] = []
        self.reasoning: list[str] = []
        self._handle = display(Answer("…", fmt), display_id=True)
        self._last = time.monotonic()
        self._dirty = False
        self._length = 0

    def add(self, delta: str) -> None:
        self.parts.append(delta)
        self._grew(len(delta))

    def think(self, delta: str) -> None:
        """A piece of the thinking: shown collapsed above the answer, updated like the answer."""
        self.reasoning.append(delta)
        self._grew(len(delta))

    def _grew(self, size: int) -> None:
        """Answer and thinking share one throttle: the whole bundle is resent on every update."""
        self._length += size
        self._dirty = True
        now = time.monotonic()
        if now - self._last >= max(self.interval, self._length / MAX_CHARS_PER_SECOND):
            self._flush(now)

    def structured(self, parsed: Any) -> None:
        """The final answer again, with its parsed JSON as application/json."""
        self._handle.update(Answer("".join(self.parts), self.fmt, "".join(self.reasoning), parsed))

    def sources(self, sources: Any) -> None:
        """The web pages the answer drew on, as numbered links under it."""
        from IPython.display import display

        lines = [f"{n}. [{_md(s.title)}]({s.url})" for n, s in enumerate(sources, 1)]
        plain = [f"[{n}] {s.title} — {s.url}" for n, s in enumerate(sources, 1)]
        display({"text/markdown": "**Sources**\n\n" + "\n".join(lines), "text/plain": "Sources:\n" + "\n".join(plain)},
                raw=True)

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

    def image(self, data: bytes, mime_type: str, label: str) -> None:
        """A drawn image below the text, as its own display data (saved with the notebook)."""
        from IPython.display import display

        display({mime_type: base64.b64encode(data).decode("ascii"), "text/plain": f"<{label}>"}, raw=True)

    def _flush(self, now: float) -> None:
        text, thinking = "".join(self.parts), "".join(self.reasoning)
        self.parts = [text]  # joined once, so the next flush joins only what arrived since
        self.reasoning = [thinking] if thinking else []
        self._handle.update(Answer(text, self.fmt, thinking))
        self._last = now
        self._dirty = False


class TerminalDisplay:
    """Prints each delta as it arrives."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.reasoning: list[str] = []
        self._dim = False

    def think(self, delta: str) -> None:
        """The thinking, dim, before the answer."""
        if not self.reasoning:
            sys.stdout.write(DIM + "Thinking: ")
            self._dim = True
        self.reasoning.append(delta)
        sys.stdout.write(delta)
        sys.stdout.flush()

    def add(self, delta: str) -> None:
        self._undim("\n\n")
        self.parts.append(delta)
        sys.stdout.write(delta)
        sys.stdout.flush()

    def finish(self, marker: str = "") -> None:
        self._undim("")
        sys.stdout.write(f"\n[{marker}]\n" if marker else "\n")
        sys.stdout.flush()

    def structured(self, parsed: Any) -> None:
        """The JSON text was printed as it came; nothing more to show."""

    def sources(self, sources: Any) -> None:
        print("Sources:", flush=True)
        for number, source in enumerate(sources, 1):
            print(f"  [{number}] {source.title} — {source.url}", flush=True)

    def _undim(self, gap: str) -> None:
        if self._dim:
            sys.stdout.write(RESET + gap)
            self._dim = False

    def discard(self) -> None:
        """Nothing was printed, so nothing to take back."""

    def note(self, text: str) -> None:
        print(f"[{text}]", flush=True)

    def image(self, data: bytes, mime_type: str, label: str) -> None:
        print(f"[{label}: {mime_type}, {len(data)} bytes; use -o VAR and VAR.images to get it]", flush=True)


def _md(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")


def make_display(shell: Any, fmt: str, interval: float) -> LiveDisplay | TerminalDisplay:
    rich = getattr(shell, "kernel", None) is not None  # ipykernel's shell; terminal IPython has none
    return LiveDisplay(fmt, interval) if rich else TerminalDisplay()
