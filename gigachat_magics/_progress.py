"""A `--map` cell's progress: done/total, failed rows, rate and ETA, updated in place while the rows come back.

tqdm draws it where tqdm is installed (`tqdm.auto`: the notebook widget in Jupyter when ipywidgets is there too).
Otherwise the bar is our own: in a kernel one display updated through its display handle (text/html with a
<progress> element, and text/plain), at most once per interval like a streamed answer, the last update always
sent; in a terminal one line rewritten with a carriage return. The bars appear with the first report, so a map
refused before anything is sent leaves no empty bar. Rate and ETA count only the rows answered by this run: the
rows the cache answers arrive at once and would make the estimate a lie.
"""

from __future__ import annotations

import html
import importlib
import importlib.util
import sys
import time
from typing import Any

__all__ = ["Meter", "make_bar"]

WIDTH = 24


class Meter:
    """Rows per second and the time left, from the rows answered since the first report."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._start: float | None = None
        self._base = 0

    def describe(self, done: int, total: int, errors: int) -> str:
        now = self._clock()
        if self._start is None:
            self._start, self._base = now, done
        parts = [f"{done}/{total} rows"]
        elapsed, fresh = now - self._start, done - self._base
        if fresh > 0 and elapsed > 0:
            rate = fresh / elapsed
            parts.append(f"{rate:.1f} rows/s")
            if done < total:
                parts.append(f"ETA {_clock_time((total - done) / rate)}")
        if errors:
            parts.append(f"{errors} failed")
        return " · ".join(parts)


def _clock_time(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class HandleBar:
    """Our own bar in a kernel: one display_data, then update_display_data with the same id."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.meter = Meter()
        self._handle: Any = None
        self._last = 0.0
        self._state = (0, 0, 0)

    def update(self, done: int, total: int, errors: int) -> None:
        self._state = (done, total, errors)
        now = time.monotonic()
        if self._handle is None or done >= total or now - self._last >= self.interval:
            self._show(self.meter.describe(done, total, errors))
            self._last = now

    def close(self, marker: str = "") -> None:
        if self._handle is not None or marker:
            line = self.meter.describe(*self._state)
            self._show(f"{line} · {marker}" if marker else line)

    def _show(self, line: str) -> None:
        from IPython.display import display

        done, total, _ = self._state
        bundle = {"text/plain": f"{_blocks(done, total)} {line}",
                  "text/html": f'<progress value="{done}" max="{max(total, 1)}" style="width:20em"></progress> '
                               f"<code>{html.escape(line)}</code>"}
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)


class LineBar:
    """Our own bar in a terminal: one line, rewritten in place."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.meter = Meter()
        self._last = 0.0
        self._state: tuple[int, int, int] | None = None

    def update(self, done: int, total: int, errors: int) -> None:
        first = self._state is None
        self._state = (done, total, errors)
        now = time.monotonic()
        if first or done >= total or now - self._last >= self.interval:
            self._write(self.meter.describe(done, total, errors))
            self._last = now

    def close(self, marker: str = "") -> None:
        if self._state is not None:
            line = self.meter.describe(*self._state)
            self._write(f"{line} · {marker}" if marker else line)
            sys.stdout.write("\n")
            sys.stdout.flush()

    def _write(self, line: str) -> None:
        assert self._state is not None
        sys.stdout.write(f"\r{_blocks(self._state[0], self._state[1])} {line}\x1b[K")
        sys.stdout.flush()


class TqdmBar:
    """tqdm's bar, made with the first report (its total and the rows the cache already answered)."""

    def __init__(self, tqdm: Any) -> None:
        self._tqdm = tqdm
        self._bar: Any = None

    def update(self, done: int, total: int, errors: int) -> None:
        if self._bar is None:
            self._bar = self._tqdm(total=total, initial=done, unit="row", desc="GigaChat", dynamic_ncols=True)
        elif done > self._bar.n:
            self._bar.update(done - self._bar.n)
        if errors:
            self._bar.set_postfix(failed=errors)

    def close(self, marker: str = "") -> None:
        if self._bar is not None:
            if marker:
                self._bar.set_description(f"GigaChat ({marker})")
            self._bar.close()


def _blocks(done: int, total: int) -> str:
    filled = WIDTH * done // total if total else WIDTH
    return "[" + "█" * filled + "░" * (WIDTH - filled) + "]"


def make_bar(shell: Any, interval: float) -> HandleBar | LineBar | TqdmBar:
    """tqdm where it is installed (in a kernel only with ipywidgets, which its notebook bar needs), else ours."""
    rich = getattr(shell, "kernel", None) is not None
    if _installed("tqdm") and (not rich or _installed("ipywidgets")):
        return TqdmBar(importlib.import_module("tqdm.auto").tqdm)
    return HandleBar(interval) if rich else LineBar(interval)


def _installed(name: str) -> bool:
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
