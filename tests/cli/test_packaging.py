"""What pip installs: every distribution the package imports by name is declared, not borrowed from mcp's or
IPython's own dependencies (which may drop it in any release)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"gigachat_mcp", "gigachat_magics"}
# Imported only inside try/except ImportError, where the feature simply stays off without it.
GUARDED = {"opentelemetry": "gigachat_mcp/server/http/telemetry.py: spans only when an OpenTelemetry SDK is set up"}


def declared() -> dict[str, set[str]]:
    """Distribution names (normalised) per section: 'dependencies' and each optional extra."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    sections = {"dependencies": project["dependencies"], **project["optional-dependencies"]}
    return {name: {_normalise(re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0]) for spec in specs}
            for name, specs in sections.items()}


def imported() -> dict[str, set[str]]:
    """Top-level third-party module -> the package files that import it."""
    found: dict[str, set[str]] = {}
    for package in FIRST_PARTY:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                        found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_distribution_is_a_declared_dependency() -> None:
    sections = declared()
    distributions = importlib.metadata.packages_distributions()
    undeclared = {}
    for module, files in imported().items():
        if module in GUARDED:
            continue
        names = {_normalise(d) for d in distributions.get(module, [module])}
        if names & sections["dependencies"]:
            continue
        if module == "redis" and names & sections["redis"] and all("/server/state/redis" in f or "_optional" in f for f in files):
            continue  # the team server's Redis state: the `redis` extra, and `serve --redis` says so when missing
        undeclared[module] = sorted(files)
    assert not undeclared, f"imported but not in [project] dependencies: {undeclared}"


def test_pydantic_and_cryptography_are_declared_because_the_package_imports_them() -> None:
    assert {"pydantic", "cryptography"} <= declared()["dependencies"]
    assert {"pydantic", "cryptography"} <= set(imported())
