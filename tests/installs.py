"""What the test run put on this machine, said as it happens and again in pytest's terminal summary.

Fixtures that install a program or download packages call `installed(...)` with one line each; tests/conftest.py
prints them all at the end, so nothing arrives silently (the README's test section lists every possibility)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

LINES: list[str] = []
_config: list[pytest.Config] = []


def remember(config: pytest.Config) -> None:
    _config[:] = [config]


def installed(line: str) -> None:
    """Record one thing this run installed, and print it now, past pytest's output capture."""
    LINES.append(line)
    config = _config[0] if _config else None
    reporter = config.pluginmanager.get_plugin("terminalreporter") if config else None
    capture = config.pluginmanager.get_plugin("capturemanager") if config else None
    if reporter is None:
        return
    if capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"installing: {line}")
    else:
        reporter.write_line(f"installing: {line}")


def new_packages(apt_output: str) -> list[str]:
    """The packages an `apt-get install` run set up, from its own output ("Setting up NAME (VERSION) ...")."""
    return [line.split()[2].split(":")[0] for line in apt_output.splitlines() if line.startswith("Setting up ")]


def npm_packages(name: str, packages: dict[str, str]) -> Path:
    """A folder under ~/.cache/gigachat-mcp-tests/ holding `packages` (npm, pinned), installed on first use and
    said so; npm's download cache is a temporary folder, so nothing else is left on the machine."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("This test needs npm (apt-get install --no-install-recommends nodejs npm).")
    key = hashlib.sha256(json.dumps(packages, sort_keys=True).encode()).hexdigest()[:12]
    home = Path.home() / ".cache" / "gigachat-mcp-tests" / f"{name}-{key}"
    if not (home / "node_modules" / ".installed").exists():
        home.mkdir(parents=True, exist_ok=True)
        (home / "package.json").write_text(json.dumps({"name": f"gigachat-mcp-{name}", "private": True,
                                                       "type": "module", "dependencies": packages}))
        with tempfile.TemporaryDirectory(prefix="npm-cache-") as npm_cache:
            proc = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--cache", npm_cache],
                                  cwd=home, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            pytest.fail(f"npm install of {packages} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        (home / "node_modules" / ".installed").touch()
        installed(f"npm install {' '.join(f'{k}@{v}' for k, v in packages.items())} into {home}")
    return home
