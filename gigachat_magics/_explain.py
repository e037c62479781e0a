"""`%gigachat explain`: the last error in this session (its traceback and the cell that raised it), as a prompt.

The failing cell and its exception are caught by IPython's post_run_cell event, so it works the same in a
kernel and in terminal IPython, whatever the cell's file name; nothing is read from disk.
"""

from __future__ import annotations

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
        lines = traceback.format_exception(type(error), error, error.__traceback__)
        summary = traceback.format_exception_only(type(error), error)[-1].strip()
        self.last = LastError(cell, "".join(lines), summary)

    def close(self) -> None:
        if self.shell is not None and getattr(self.shell, "events", None) is not None:
            try:
                self.shell.events.unregister("post_run_cell", self.after_cell)
            except ValueError:
                pass


def explain_prompt(error: LastError) -> str:
    cell = error.cell if len(error.cell) <= LIMIT else error.cell[:LIMIT] + "\n# …"
    trace = error.traceback if len(error.traceback) <= LIMIT else "…\n" + error.traceback[-LIMIT:]
    return ("This notebook cell raised an error. Explain briefly what went wrong and how to fix it; show the "
            f"corrected code if that helps.\n\nThe cell:\n```python\n{cell.strip()}\n```\n\n"
            f"The traceback:\n```\n{trace.strip()}\n```")
