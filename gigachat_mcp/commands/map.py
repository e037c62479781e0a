"""`gigachat-mcp map TEMPLATE FILE`: one prompt template over every row of a CSV, JSONL or text file, through
GigaChat.map (concurrently within the key's limit, or the Batch API with --batch), the answers added as a column.

Exit codes: 0 every row answered; 1 some rows failed (every row is still written, failed ones with an `error`
column) or GigaChat failed as a whole; 2 a usage error, found before anything is sent; 130 interrupted. Answers
go into the map cache as they arrive, so a run that is killed (even with SIGKILL) and run again sends only the
rows not answered yet; the output is written once, at the end, atomically (see `_table`).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import shlex
import sys
import time
from typing import Any

from .. import GigaChat, GigaChatError, MapInterrupted, clear_map_cache
from ._common import FAILED, INTERRUPTED, USAGE, fail, report, require_credentials, settings_for
from ._table import TableError, check_columns, output_format, read_table, write_table
from ._usage import positive_int

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """`map` and its flags."""
    cmd = commands.add_parser(
        "map", help="answer one prompt template for every row of a CSV, JSONL or text file",
        description="Fill TEMPLATE from each row of FILE ({column} for CSV or JSONL fields, {} for a text line) "
                    "and ask GigaChat, several rows at once within your key's limit. The output keeps every input "
                    "field and adds the answer column (and `error` for rows that failed). Answers are cached as "
                    "they arrive: run the same command again after an interruption and only the rest is sent.",
        epilog="exit codes: 0 every row answered, 1 some rows failed (all rows are still written), 2 usage, "
               "130 interrupted")
    cmd.add_argument("template", nargs="?", help="the prompt, e.g. 'Translate into English: {text}'")
    cmd.add_argument("file", nargs="?", metavar="FILE", help="rows: .csv, .jsonl, or plain text (one row a line)")
    cmd.add_argument("-o", "--output", metavar="OUT", help="where to write: .csv, .jsonl or .txt (the answers "
                                                           "only, one a line); default: JSONL on stdout")
    cmd.add_argument("--column", default="answer", metavar="NAME", help="the answer column's name (default answer)")
    cmd.add_argument("--concurrency", type=positive_int, metavar="N",
                     help="requests at once (default: GIGACHAT_MAX_CONNECTIONS, else 1 for a personal key, 10 for "
                          "business keys)")
    cmd.add_argument("--batch", action="store_true", help="send the rows through the Batch API (pay-as-you-go keys; "
                                                          "cheaper, answers within hours)")
    cmd.add_argument("--schema", metavar="FILE", help="a JSON Schema file: each answer is a JSON object fitting it")
    cmd.add_argument("--no-cache", action="store_true", help="neither read nor keep answers in the map cache")
    cmd.add_argument("--clear-cache", action="store_true", help="empty the map cache first (alone: just that)")
    cmd.add_argument("-m", "--model", help="model id, e.g. GigaChat-2-Max (default: GIGACHAT_MODEL or GigaChat-2)")
    cmd.add_argument("-s", "--system", help="system prompt, the same for every row")
    cmd.add_argument("-t", "--temperature", type=float, help="sampling temperature, e.g. 0")
    cmd.add_argument("--emulator", action="store_true", help="answer from the built-in emulator, not GigaChat")


def run(args: argparse.Namespace) -> int:
    if args.clear_cache:
        print("gigachat-mcp map: the map cache was cleared" if clear_map_cache() else
              "gigachat-mcp map: the map cache was empty already", file=sys.stderr)
        if args.template is None:
            return 0
    if args.template is None or args.file is None:
        return fail("map: give a TEMPLATE and a FILE, e.g. gigachat-mcp map 'Translate: {}' lines.txt", USAGE)
    try:
        table = read_table(args.file)
        output_format(args.output)
        check_columns(table, args.column)
        schema = _schema(args.schema)
    except TableError as exc:
        return fail(f"map: {exc}", USAGE)
    options = {name: value for name, value in (("model", args.model), ("system", args.system),
                                               ("temperature", args.temperature), ("response_format", schema))
               if value is not None}
    progress = Progress.for_stderr()
    try:
        with settings_for(args.emulator) as settings:
            require_credentials(settings, f"map {shlex.quote(args.template)} {shlex.quote(args.file)}")
            with GigaChat(settings) as giga:
                result = giga.map(args.template, rows=table.values, concurrency=args.concurrency,
                                  cache=not args.no_cache, batch=args.batch,
                                  progress=progress.update if progress else None, **options)
    except MapInterrupted as stopped:
        done = sum(text is not None for text in stopped.partial.texts)  # type: ignore[attr-defined]
        _close(progress, "interrupted")
        return fail(f"interrupted: {done} of {len(table.values)} rows were answered and are kept in the map cache; "
                    "run the same command again to send only the rest (nothing was written).", INTERRUPTED)
    except GigaChatError as exc:
        _close(progress, "stopped")
        return report(exc, args.emulator)
    _close(progress)
    errors = {error.index: _one_line(error.exception) for error in result.errors}
    try:
        write_table(table, result.parsed if schema is not None else result.texts, errors, args.output, args.column)
    except OSError as exc:
        return fail(f"map: could not write {args.output}: {exc}")
    if errors:
        return fail(f"map: {len(errors)} of {len(table.values)} rows failed (see the error column); run the "
                    "same command again to retry only those", FAILED)
    return 0


def _schema(path: str | None) -> Any:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise TableError(f"cannot read the schema {path!r} as JSON ({exc})") from None


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _close(progress: Progress | None, marker: str = "") -> None:
    if progress is not None:
        progress.close(marker)


class Progress:
    """Progress on stderr, only when it is a terminal: tqdm's bar where tqdm is installed, else one line
    rewritten in place (at most ten times a second, the last always)."""

    def __init__(self, tqdm: Any) -> None:
        self._tqdm = tqdm
        self._bar: Any = None
        self._state = (0, 0, 0)
        self._start = self._last = 0.0
        self._base = 0

    @classmethod
    def for_stderr(cls) -> Progress | None:
        if not sys.stderr.isatty():
            return None
        found = importlib.util.find_spec("tqdm") is not None
        return cls(importlib.import_module("tqdm").tqdm if found else None)

    def update(self, done: int, total: int, errors: int) -> None:
        now = time.monotonic()
        if self._tqdm is not None:
            if self._bar is None:
                self._bar = self._tqdm(total=total, initial=done, unit="row", file=sys.stderr, dynamic_ncols=True)
            self._bar.update(done - self._bar.n)
            if errors:
                self._bar.set_postfix(failed=errors)
            return
        if not self._start:
            self._start, self._base = now, done
        self._state = (done, total, errors)
        if done >= total or now - self._last >= 0.1:
            self._write(now)

    def _write(self, now: float) -> None:
        done, total, errors = self._state
        line = f"{done}/{total} rows"
        if done > self._base and now > self._start:
            rate = (done - self._base) / (now - self._start)
            line += f" · {rate:.1f} rows/s" + (f" · ETA {(total - done) / rate:.0f} s" if done < total else "")
        if errors:
            line += f" · {errors} failed"
        sys.stderr.write(f"\r{line}\x1b[K")
        sys.stderr.flush()
        self._last = now

    def close(self, marker: str = "") -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._start:
            self._write(time.monotonic())
            sys.stderr.write(f" · {marker}\n" if marker else "\n")
            sys.stderr.flush()
