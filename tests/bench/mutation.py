"""Mutation testing of the core client and the MCP server: would the suite notice a one-line change?

    nice -n 10 python tests/bench/mutation.py [--sample 150] [--seed 10] [--budget 1800] [--module _sse]
    nice -n 10 python tests/bench/mutation.py --line gigachat_mcp/client/_sse.py:213   # one line's mutants
    python tests/bench/mutation.py --list            # count the mutants per module, run nothing

A small AST mutator (mutmut 3 rewrites whole packages into trampolines and wants its own layout; this needs
only the standard library). Each mutant is one change to one line of gigachat_mcp/client/*.py or the
server's chat tools, results and errors (gigachat_mcp/server/): a comparison flipped (< to <=, == to !=, in to not in), an arithmetic operator
swapped, a number nudged, True/False swapped, and/or swapped, a `not` dropped, a call statement or a return
value removed. Docstrings, log calls, annotations and messages are left alone: a reworded message is not a bug.
Each mutant runs in a copy of the checkout with the module's own fast test subset (`pytest -x`, a timeout per
run), so a mutant that breaks nothing those tests look at survives. The script prints the score (killed /
run), the survivors with their line, and what was sampled; the whole run stops at --budget seconds.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# module -> the fast tests that are about it (the whole suite is minutes; these are seconds)
TESTS = {
    "gigachat_mcp/client/_sse.py": ["tests/client/test_sse.py", "tests/client/test_chat.py"],
    **{f"gigachat_mcp/client/_wire/{name}.py": ["tests/client/test_wire_units.py", "tests/client/test_chat.py",
                                                "tests/client/test_failures.py", "tests/sdk/test_official_sdk.py",
                                                "tests/client/test_sse.py"]
       for name in ("_call", "_messages", "_tools", "_chat", "_chat_v1", "_chat_v2", "_filters", "_endpoints",
                    "_errors")},
    "gigachat_mcp/client/_retry.py": ["tests/client/test_policies.py", "tests/client/test_failures.py"],
    "gigachat_mcp/client/_tokens.py": ["tests/client/test_tokens.py", "tests/client/test_policies.py",
                                       "tests/client/test_cache_and_tls_units.py"],
    "gigachat_mcp/client/_auth.py": ["tests/client/test_tokens.py", "tests/client/test_failures.py"],
    "gigachat_mcp/client/_settings.py": ["tests/client/test_settings.py", "tests/client/test_policies.py"],
    "gigachat_mcp/client/_tls.py": ["tests/faults/test_tls_and_cache.py", "tests/client/test_settings.py",
                                    "tests/client/test_cache_and_tls_units.py"],
    "gigachat_mcp/client/_http.py": ["tests/client/test_failures.py", "tests/faults/test_tls_and_cache.py",
                                     "tests/client/test_settings.py"],
    **{f"gigachat_mcp/client/{name}.py": ["tests/client/test_chat.py", "tests/client/test_failures.py",
                                          "tests/client/test_policies.py", "tests/client/test_files.py"]
       for name in ("_base", "_sync", "_async", "_flows")},
    "gigachat_mcp/client/_errors.py": ["tests/client/test_settings.py", "tests/client/test_failures.py"],
    "gigachat_mcp/client/_types.py": ["tests/client/test_chat.py", "tests/client/test_sse.py",
                                      "tests/client/test_cache_and_tls_units.py"],
    **{module: ["tests/server/test_server.py", "tests/server/test_tool_annotations.py", "tests/faults/test_secrets.py"]
       for module in ("gigachat_mcp/server/tools_chat.py", "gigachat_mcp/server/results.py",
                      "gigachat_mcp/server/errors.py")},
}
SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
    ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv, ast.And: ast.Or, ast.Or: ast.And,
}
QUIET_CALLS = {"debug", "info", "warning", "error", "exception", "warn"}  # logging: not behaviour users see


@dataclass(frozen=True)
class Mutant:
    module: str
    index: int  # the index-th mutation point of the module, in a fixed walk order
    line: int
    description: str


class _Mutator(ast.NodeTransformer):
    """Walks a module; counts mutation points, and applies the one numbered `target` (if any)."""

    def __init__(self, target: int | None = None) -> None:
        self.target = target
        self.points: list[tuple[int, str]] = []

    def _point(self, node: ast.AST, description: str) -> bool:
        self.points.append((getattr(node, "lineno", 0), description))
        return len(self.points) - 1 == self.target

    # skip what is not behaviour
    def visit_arg(self, node: ast.arg) -> ast.AST:
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        if node.name in ("__repr__", "__str__"):
            return node
        docstring = node.body[:len(node.body) - len(_without_docstring(node.body))]
        node.body = docstring + [self.visit(statement) for statement in _without_docstring(node.body)]
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.args.defaults = [self.visit(d) for d in node.args.defaults]
        node.args.kw_defaults = [None if d is None else self.visit(d) for d in node.args.kw_defaults]
        return node

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        return node  # messages

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return node
        return self.generic_visit(node)

    # mutations
    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        for i, op in enumerate(node.ops):
            swap = SWAPS.get(type(op))
            if swap is not None and self._point(node, f"{type(op).__name__} -> {swap.__name__}"):
                node.ops[i] = swap()
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        swap = SWAPS.get(type(node.op))
        if swap is not None and not _is_string(node.left) and self._point(node, f"{type(node.op).__name__} -> "
                                                                                  f"{swap.__name__}"):
            node.op = swap()
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        swap = SWAPS[type(node.op)]
        if self._point(node, f"{type(node.op).__name__} -> {swap.__name__}"):
            node.op = swap()
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and self._point(node, "drop `not`"):
            return node.operand
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if isinstance(value, bool):
            if self._point(node, f"{value} -> {not value}"):
                return ast.copy_location(ast.Constant(not value), node)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            changed = value + 1 if isinstance(value, int) else (value * 2 if value else 1.0)
            if self._point(node, f"{value!r} -> {changed!r}"):
                return ast.copy_location(ast.Constant(changed), node)
        return node

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        call = node.value
        if isinstance(call, ast.Call):
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            if name in QUIET_CALLS:
                return node
            self.generic_visit(node)
            if self._point(node, f"remove call `{ast.unparse(call)[:60]}`"):
                return ast.copy_location(ast.Pass(), node)
            return node
        return node  # a bare string (docstring) or constant

    def visit_Return(self, node: ast.Return) -> ast.AST:
        self.generic_visit(node)
        returns_something = node.value is not None and not (isinstance(node.value, ast.Constant)
                                                             and node.value.value is None)
        if returns_something and self._point(node, "return None"):
            return ast.copy_location(ast.Return(ast.Constant(None)), node)
        return node


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def _is_string(node: ast.AST) -> bool:
    return isinstance(node, (ast.JoinedStr, ast.Constant)) and isinstance(getattr(node, "value", ""), str)


_SOURCES: dict[str, str] = {}


def source(module: str) -> str:
    """The module as it was when the run started (editing the checkout meanwhile changes nothing here)."""
    if module not in _SOURCES:
        _SOURCES[module] = (ROOT / module).read_text()
    return _SOURCES[module]


def mutants(module: str) -> list[Mutant]:
    tree = ast.parse(source(module))
    walker = _Mutator()
    walker.visit(tree)
    return [Mutant(module, i, line, text) for i, (line, text) in enumerate(walker.points)]


def mutated_source(mutant: Mutant) -> str:
    tree = ast.parse(source(mutant.module))
    walker = _Mutator(target=mutant.index)
    tree = ast.fix_missing_locations(walker.visit(tree))
    return ast.unparse(tree)


def unmutated_source(module: str) -> str:
    """The module through the same unparse, so a baseline run proves the round trip itself breaks nothing."""
    return ast.unparse(ast.parse(source(module)))


def copy_checkout(into: Path) -> Path:
    target = into / "checkout"
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info",
                                                                ".mypy_cache", ".ruff_cache", ".pytest_cache",
                                                                "node_modules", "build", "dist"))
    return target


def run_tests(checkout: Path, tests: list[str], timeout: float) -> str:
    """'killed' (a test failed or the run hung), or 'survived'."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIGACHAT_")}
    env["PYTHONPATH"] = str(checkout)  # the copy shadows the editable install
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--timeout", "60", *tests]
    try:
        result = subprocess.run(command, cwd=checkout, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "killed"  # hung: the suite noticed (a test would time out)
    return "survived" if result.returncode == 0 else "killed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=150, help="mutants to run, spread over modules (0: all)")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--budget", type=float, default=1800, help="stop starting mutants after this many seconds")
    parser.add_argument("--timeout", type=float, default=180, help="seconds per mutant run")
    parser.add_argument("--module", action="append", help="only modules whose path contains this (repeatable)")
    parser.add_argument("--line", action="append", metavar="PATH:LINE",
                        help="only the mutants of this line, e.g. gigachat_mcp/client/_sse.py:213 (repeatable)")
    parser.add_argument("--list", action="store_true", help="count the mutants and exit")
    args = parser.parse_args()

    modules = [m for m in TESTS if not args.module or any(part in m for part in args.module)]
    everything = {module: mutants(module) for module in modules}
    total = sum(len(found) for found in everything.values())
    if args.list:
        for module, found in everything.items():
            print(f"{len(found):5d}  {module}")
        print(f"{total:5d}  in all")
        return
    rng = random.Random(args.seed)
    chosen = [m for found in everything.values() for m in found]
    if args.line:
        chosen = [m for m in chosen if f"{m.module}:{m.line}" in args.line]
    elif args.sample and args.sample < total:
        chosen = rng.sample(chosen, args.sample)
    chosen.sort(key=lambda m: (m.module, m.index))
    print(f"{total} mutants in {len(modules)} modules; running {len(chosen)} (seed {args.seed})", flush=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: still remove the scratch copy
    started = time.monotonic()
    results: list[tuple[Mutant, str]] = []
    with tempfile.TemporaryDirectory(prefix="gigachat-mutation-") as scratch:
        checkout = copy_checkout(Path(scratch))
        for module in dict.fromkeys(m.module for m in chosen):  # the round trip alone must pass
            (checkout / module).write_text(unmutated_source(module))
            if run_tests(checkout, TESTS[module], args.timeout) != "survived":
                sys.exit(f"the unmutated {module} fails its tests: fix the suite first")
            (checkout / module).write_text(source(module))
        for number, mutant in enumerate(chosen, 1):
            if time.monotonic() - started > args.budget:
                print(f"budget of {args.budget:g} s spent after {number - 1} mutants", flush=True)
                break
            path = checkout / mutant.module
            path.write_text(mutated_source(mutant))
            try:
                outcome = run_tests(checkout, TESTS[mutant.module], args.timeout)
            finally:
                path.write_text(source(mutant.module))
            results.append((mutant, outcome))
            print(f"[{number}/{len(chosen)}] {outcome:8} {mutant.module}:{mutant.line} {mutant.description}",
                  flush=True)
    killed = sum(1 for _, outcome in results if outcome == "killed")
    survivors = [m for m, outcome in results if outcome == "survived"]
    print(f"\nmutation score: {killed}/{len(results)} killed = {killed / max(1, len(results)):.1%} "
          f"({len(results)} of {total} mutants run, seed {args.seed}, {time.monotonic() - started:.0f} s)")
    print("survivors:" if survivors else "no survivors")
    for mutant in survivors:
        print(f"  {mutant.module}:{mutant.line}  {mutant.description}")


if __name__ == "__main__":
    main()
