"""`gigachat-mcp map`'s files: rows read from CSV, JSONL or plain text, and the answered table written back in
the format of the output's extension, atomically.

A CSV or a JSONL object row is a dict whose fields fill `{column}`; a plain-text line (or a JSONL line that is
not an object) is one value for `{}`, kept in the output under `input`. The output is every input field plus
the answer column, and `error` for the rows that failed. It is written to a temporary file beside the target and
renamed over it, so a kill never leaves a half-written file: the target is either the old one or the whole new
one (and a killed run's answers are in the map cache, for the rerun).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

__all__ = ["ERROR_COLUMN", "INPUT_COLUMN", "OUTPUT_FORMATS", "Table", "TableError", "output_format", "read_table",
           "write_table"]

INPUT_COLUMN = "input"  # where a plain value (a text line) is kept in the output
ERROR_COLUMN = "error"
OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "txt"}


class TableError(ValueError):
    """A file that cannot be read as rows, or an output that cannot be written as asked: a usage error."""


@dataclass
class Table:
    """The input's rows: `values` fill the template (dicts, or plain values for {}); `records` are what the
    output keeps of each row; `fields` the records' columns, in order of first appearance."""

    values: list[Any]
    records: list[dict[str, Any]]
    fields: list[str]


def read_table(path: str) -> Table:
    """CSV (.csv), JSONL (.jsonl, .ndjson) or plain text (anything else: one row a line, blank lines skipped)."""
    suffix = Path(path).suffix.lower()
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            if suffix == ".csv":
                values: list[Any] = [dict(row) for row in csv.DictReader(handle)]
            elif suffix in (".jsonl", ".ndjson"):
                values = _jsonl(handle, path)
            else:
                values = [line.rstrip("\r\n") for line in handle if line.strip()]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TableError(f"cannot read {path}: {exc}") from None
    if not values:
        raise TableError(f"{path} has no rows, so there is nothing to send")
    records = [dict(value) if isinstance(value, dict) else {INPUT_COLUMN: value} for value in values]
    fields = list(dict.fromkeys(name for record in records for name in record))
    return Table(values, records, fields)


def _jsonl(handle: TextIO, path: str) -> list[Any]:
    values = []
    for number, line in enumerate(handle, 1):
        if line.strip():
            try:
                values.append(json.loads(line))
            except ValueError as exc:
                raise TableError(f"{path} line {number} is not JSON ({exc}); JSONL has one JSON value a line") from None
    return values


def output_format(path: str | None) -> str:
    """The output's format from its extension (JSONL on stdout without a path); an unknown one is refused."""
    if path is None:
        return "jsonl"
    fmt = OUTPUT_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise TableError(f"-o {path}: write .csv, .jsonl (or .ndjson) or .txt; the extension picks the format")
    return fmt


def check_columns(table: Table, column: str) -> None:
    """The answer and error columns must not overwrite an input column."""
    for name, flag in ((column, f"--column {column}"), (ERROR_COLUMN, "the error column")):
        if name in table.fields:
            raise TableError(f"the input already has a column {name!r}, which {flag} would overwrite; "
                             + ("name the answer column with --column" if name == column else
                                "rename that input column"))


def write_table(table: Table, answers: list[Any], errors: dict[int, str], path: str | None, column: str) -> None:
    """The rows with their answers (a str, or a parsed object with --schema) to `path`, or to stdout as JSONL."""
    text = _render(table, answers, errors, output_format(path), column)
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    _replace(Path(path), text)


def _render(table: Table, answers: list[Any], errors: dict[int, str], fmt: str, column: str) -> str:
    buffer = io.StringIO()
    if fmt == "txt":  # the answers only, one a line: a line break inside an answer is written as \n
        for answer in answers:
            buffer.write(_text(answer).replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n") + "\n")
        return buffer.getvalue()
    if fmt == "csv":
        names = [*table.fields, column] + ([ERROR_COLUMN] if errors else [])
        writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        for index, record in enumerate(table.records):
            cells = {name: _text(value) for name, value in record.items()}
            writer.writerow({**cells, column: _text(answers[index]), ERROR_COLUMN: errors.get(index, "")}
                            if errors else {**cells, column: _text(answers[index])})
        return buffer.getvalue()
    for index, record in enumerate(table.records):
        row = {**record, column: answers[index]}
        if index in errors:
            row[ERROR_COLUMN] = errors[index]
        buffer.write(json.dumps(row, ensure_ascii=False) + "\n")
    return buffer.getvalue()


def _text(value: Any) -> str:
    """A cell: a str as is, nothing as empty, anything else (a parsed object, a number) as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _mode(target: Path) -> int:
    """The target's own permissions when it exists, else what the umask gives a new file (a temporary file is
    made private, 0600)."""
    with contextlib.suppress(OSError):
        return target.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _replace(target: Path, text: str) -> None:
    """Write to a temporary file in the target's directory, flush it to disk, then rename it over the target."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with open(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _mode(target))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
