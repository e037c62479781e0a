"""`%gigachat explain`: the last error in this session (its traceback and the cell that raised it), as a prompt.

The failing cell and its exception are caught by IPython's post_run_cell event, so it works the same in a
kernel and in terminal IPython, whatever the cell's file name; nothing is read from disk.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import traceback
from dataclasses import dataclass
from typing import Any

__all__ = ["ErrorWatch", "LastError", "explain_prompt"]

LIMIT = 6000  # characters of the cell and of the traceback sent at most (the end of a traceback matters most)


@dataclass(frozen=True)
class LastError:
    cell: str
    traceback: str
    summary: str  # "ZeroDivisionError: division by zero"


class ErrorWatch:
    """Remembers the last cell that raised; our own %%gigachat errors are not what users want explained."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.last: LastError | None = None
        if shell is not None and getattr(shell, "events", None) is not None:
            shell.events.register("post_run_cell", self.after_cell)

    def after_cell(self, result: Any) -> None:
        error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        if error is None:
            return
        cell = getattr(getattr(result, "info", None), "raw_cell", "") or ""
        if cell.lstrip().startswith(("%%gigachat", "%gigachat")):
            return
        summary = traceback.format_exception_only(type(error), error)[-1].strip()
        self.last = LastError(cell, users_traceback(error, _cell_names(self.shell)), summary)

    def close(self) -> None:
        if self.shell is not None and getattr(self.shell, "events", None) is not None:
            try:
                self.shell.events.unregister("post_run_cell", self.after_cell)
            except ValueError:
                pass


def users_traceback(error: BaseException, cells: dict[str, int]) -> str:
    """The traceback without IPython's and ipykernel's own frames (they run every cell; they explain nothing),
    with cells named as IPython shows them (`Cell In[3]`) and library paths from their package (`pandas/...`):
    no kernel temp path or home directory goes to GigaChat."""
    shown = traceback.TracebackException(type(error), error, error.__traceback__)
    pending, seen = [shown], set()
    while pending:
        part = pending.pop()
        if id(part) in seen:
            continue
        seen.add(id(part))
        part.stack = traceback.StackSummary.from_list([
            traceback.FrameSummary(_short(frame.filename, cells), frame.lineno, frame.name, lookup_line=False,
                                   line=frame.line)
            for frame in part.stack if not frame.filename.startswith(_machinery())])
        if getattr(part, "filename", None) is not None:  # a SyntaxError's file
            part.filename = _short(str(part.filename), cells)
        pending.extend(p for p in (part.__cause__, part.__context__) if p is not None)
    return "".join(shown.format())


def _machinery() -> tuple[str, ...]:
    """Where the code that runs cells lives: IPython, and ipykernel when this is a kernel."""
    found = []
    for name in ("IPython", "ipykernel"):
        path = getattr(sys.modules.get(name), "__file__", None)
        if path:
            found.append(os.path.dirname(path) + os.sep)
    return tuple(found)


def _cell_names(shell: Any) -> dict[str, int]:
    """The code name of each cell run (a kernel temp file, or <ipython-input-N-...>) -> its execution count."""
    names = getattr(getattr(shell, "compile", None), "_filename_map", None)
    return dict(names) if isinstance(names, dict) else {}


def _short(filename: str, cells: dict[str, int]) -> str:
    if filename in cells:
        return f"Cell In[{cells[filename]}]"
    if filename.startswith("<ipython-input-") or os.path.basename(os.path.dirname(filename)).startswith("ipykernel_"):
        return "a cell"
    for marker in ("site-packages", "dist-packages"):
        head, found, tail = filename.partition(os.sep + marker + os.sep)
        if found:
            return tail
    stdlib = sysconfig.get_paths()["stdlib"] + os.sep
    if filename.startswith(stdlib):
        return filename[len(stdlib):]
    home = os.path.expanduser("~")
    return "~" + filename[len(home):] if home not in ("", os.sep) and filename.startswith(home + os.sep) else filename


def explain_prompt(error: LastError) -> str:
    cell = error.cell if len(error.cell) <= LIMIT else error.cell[:LIMIT] + "\n# …"
    trace = error.traceback if len(error.traceback) <= LIMIT else "…\n" + error.traceback[-LIMIT:]
    return ("This notebook cell raised an error. Explain briefly what went wrong and how to fix it; show the "
            f"corrected code if that helps.\n\nThe cell:\n```python\n{cell.strip()}\n```\n\n"
            f"The traceback:\n```\n{trace.strip()}\n```")
