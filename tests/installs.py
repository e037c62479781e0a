"""What the test run put on this machine, said as it happens and again in pytest's terminal summary.

Fixtures that install a program or download packages call `installed(...)` with one line each; tests/conftest.py
prints them all at the end, so nothing arrives silently (the README's test section lists every possibility)."""

from __future__ import annotations

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
