#!/usr/bin/env python3
"""The size budgets of the packages: no source file over 400 lines, no function over 80.

    python .ci/budgets.py [PATH ...]     (default: gigachat_mcp and gigachat_magics)

Prints every Python file over budget and every function over budget (methods and nested functions too, each
measured from its `def` line to its last line), then exits 1 if it printed anything. Tests, benchmarks and
HTML are not counted: only the `.py` files of the packages. Standard library only, so it runs anywhere.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gigachat_mcp", "gigachat_magics")
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80


def sources(paths: list[Path]) -> Iterator[Path]:
    """The Python files under `paths`, in a stable order."""
    for path in paths:
        if path.is_file() and path.suffix == ".py":
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)


def functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function in `tree` with its dotted name (Class.method, outer.inner), nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = f"{prefix}{node.name}"
            yield name, node
            yield from functions(node, f"{name}.")
        elif isinstance(node, ast.ClassDef):
            yield from functions(node, f"{prefix}{node.name}.")
        else:
            yield from functions(node, prefix)


def over_budget(path: Path) -> list[str]:
    """One line per breach in this file: 'path: N lines' and 'path:LINE name(): N lines'."""
    text = path.read_text(encoding="utf-8")
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    found = []
    lines = len(text.splitlines())
    if lines > MAX_FILE_LINES:
        found.append(f"{shown}: {lines} lines (file budget {MAX_FILE_LINES})")
    for name, node in functions(ast.parse(text, filename=str(path))):
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length > MAX_FUNCTION_LINES:
            found.append(f"{shown}:{node.lineno} {name}(): {length} lines (function budget {MAX_FUNCTION_LINES})")
    return found


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or [ROOT / name for name in PACKAGES]
    found = [line for path in sources(paths) for line in over_budget(path)]
    for line in found:
        print(line)
    if not found:
        print(f"within budget: no file over {MAX_FILE_LINES} lines, no function over {MAX_FUNCTION_LINES}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
