"""What a test session does to the machine, kept honest (loaded by tests/conftest.py):

- subprocesses (the `gigachat-mcp` command, `python -c ...`) run this checkout's code: the checkout goes first on
  PYTHONPATH, so an edit is tested without reinstalling;
- everything written to the temp dir goes to a private one ($TMPDIR for subprocesses too); what is still in it at
  the end is named in the summary, fails the run, and is removed, so a run leaves nothing in $TMPDIR;
- what the fixtures installed (tests/installs.py) is listed in the summary, one line each."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests import installs

CHECKOUT = Path(__file__).resolve().parents[1]
_private: list[Path] = []
_left: list[str] = []


def checkout_first(pythonpath: str) -> str:
    kept = [p for p in pythonpath.split(os.pathsep) if p and Path(p).resolve() != CHECKOUT]
    return os.pathsep.join([str(CHECKOUT), *kept])


def pytest_configure(config: pytest.Config) -> None:
    installs.remember(config)
    os.environ["PYTHONPATH"] = checkout_first(os.environ.get("PYTHONPATH", ""))
    real = tempfile.gettempdir()
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", real)  # pytest's own tmp_path dirs stay where they always are
    private = Path(tempfile.mkdtemp(prefix="gigachat-tests-", dir=real))
    _private[:] = [private]
    os.environ["TMPDIR"] = str(private)
    tempfile.tempdir = str(private)


@pytest.hookimpl(trylast=True)  # after the session fixtures were torn down (pytest's runner does that first)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _private:
        return
    private = _private.pop()
    _left[:] = sorted(entry.name for entry in private.iterdir())
    shutil.rmtree(private, ignore_errors=True)
    tempfile.tempdir = None
    if _left and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if installs.LINES:
        terminalreporter.section("installed by this run")
        for line in installs.LINES:
            terminalreporter.write_line(line)
    if _left:
        terminalreporter.section("left in the temp dir", red=True)
        terminalreporter.write_line(f"The run failed: {len(_left)} entries were left in the temp dir (now removed): "
                                    f"{', '.join(_left)}. Remove them in the test or fixture that makes them.",
                                    red=True)
