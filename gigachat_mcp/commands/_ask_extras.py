"""`ask --think/--web/--schema`: their flags and options, and how the extras they bring reach the terminal.

stdout stays the answer (so `ask ... > file` and pipes get only that): the thinking goes to stderr, dim when
stderr is a terminal; sources follow the answer; with --schema the parsed JSON is printed instead of the text.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["Thinking", "add_arguments", "extras_json", "print_after", "read_schema"]

DIM, RESET = "\x1b[2m", "\x1b[0m"


def add_arguments(ask: argparse.ArgumentParser) -> None:
    ask.add_argument("--think", nargs="?", const="medium", choices=("low", "medium", "high"), metavar="LEVEL",
                     help="let GigaChat think first: low, medium (default) or high; the thinking goes to stderr")
    ask.add_argument("--web", action="store_true",
                     help="let GigaChat search the web (sent on the v2 contract); sources follow the answer")
    ask.add_argument("--schema", metavar="FILE", help="a JSON Schema file the answer must fit; prints the JSON")


def read_schema(args: argparse.Namespace) -> Any:
    """The --schema file's JSON Schema (None without --schema); one that cannot be read is a usage error
    (SystemExit 2), before anything else happens."""
    if not args.schema:
        return None
    try:
        with open(args.schema, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        print(f"gigachat-mcp ask: cannot read the schema {args.schema!r} as JSON ({exc})", file=sys.stderr)
        raise SystemExit(2) from None


class Thinking:
    """Writes the thinking to stderr as it streams, dim on a terminal."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.parts: list[str] = []
        self._tty = sys.stderr.isatty()

    def add(self, text: str) -> None:
        if not self.parts and not self.quiet:
            sys.stderr.write((DIM if self._tty else "") + "Thinking: ")
        self.parts.append(text)
        if not self.quiet:
            sys.stderr.write(text)
            sys.stderr.flush()

    def end(self) -> None:
        if self.parts and not self.quiet:
            sys.stderr.write((RESET if self._tty else "") + "\n")
            sys.stderr.flush()
            self.quiet = True


def print_after(final: Any, schema: bool) -> None:
    """What follows the streamed text: the parsed JSON (with --schema), then the sources."""
    if final is None:
        return
    if schema:
        print(json.dumps(_jsonable(final.parsed), ensure_ascii=False, indent=2))
    if final.sources:
        print("\nSources:")
        for number, source in enumerate(final.sources, 1):
            print(f"  [{number}] {source.title} — {source.url}")


def extras_json(final: Any, thinking: Thinking) -> dict[str, Any]:
    """--json's extra fields: reasoning, sources, json (only those that apply)."""
    extras: dict[str, Any] = {}
    if thinking.parts:
        extras["reasoning"] = "".join(thinking.parts)
    if final is not None and final.sources:
        extras["sources"] = [{"title": s.title, "url": s.url} for s in final.sources]
    if final is not None and final.parsed is not None:
        extras["json"] = _jsonable(final.parsed)
    return extras


def _jsonable(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else value
