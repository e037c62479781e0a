"""What a test run does to the machine and which code it tests (tests/session_plugin.py, tests/installs.py)."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from gigachat_mcp.emulator import Emulator
from tests.helpers import gigachat_mcp_command, subprocess_env
from tests.session_plugin import CHECKOUT
from tests.team.servers import RedisServer, Replica

INNER = '''
import tempfile
from tests.installs import installed

def test_clean():
    with tempfile.TemporaryDirectory():
        pass

def test_installs_something():
    installed("example-package 1.0: 3 MB into ~/.cache/example")

def test_leaks():
    open(tempfile.mkstemp(prefix="leaked-by-a-test-")[1], "w").close()
'''


def test_subprocesses_run_this_checkout_not_an_installed_copy(tmp_path: Path) -> None:
    # the console script, as the stdio/HTTP tests start it: every gigachat_mcp module it loads is this checkout's
    done = subprocess.run([*gigachat_mcp_command(), "--help"], env=subprocess_env(PYTHONVERBOSE="1"),
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(re.findall(r"^# (?:code object from '?|\S+ matches )(/\S+/gigachat_mcp/[\w/]+\.py)", done.stderr,
                            re.MULTILINE))
    assert any(p.endswith("gigachat_mcp/cli.py") for p in loaded), done.stderr[-2000:]
    assert {p for p in loaded if not Path(p).resolve().is_relative_to(CHECKOUT)} == set()
    # `python -c` from another directory, as other tests start snippets
    code = "import gigachat_mcp, gigachat_magics; print(gigachat_mcp.__file__); print(gigachat_magics.__file__)"
    printed = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True,
                             timeout=60, cwd=tmp_path, check=True).stdout.split()
    assert printed == [str(CHECKOUT / "gigachat_mcp" / "__init__.py"), str(CHECKOUT / "gigachat_magics" / "__init__.py")]


def test_team_servers_leave_nothing_in_the_temp_dir(emulator: Emulator) -> None:
    before = set(Path(tempfile.gettempdir()).iterdir())
    redis = RedisServer().start()
    replica = Replica(emulator, "--redis", redis.url).wait_ready()
    assert set(Path(tempfile.gettempdir()).iterdir()) != before  # they do use it while running
    replica.stop()
    redis.shutdown_keeping_data()
    redis.start()  # the data dir is kept across a SHUTDOWN SAVE restart
    redis.stop()
    assert replica.output()  # its log is still readable after stop()
    assert set(Path(tempfile.gettempdir()).iterdir()) == before


def test_a_run_lists_what_it_installed_and_fails_on_what_it_left_in_the_temp_dir(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER)
    temp_root = tmp_path / "temp-root"
    temp_root.mkdir()

    def run(*select: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.session_plugin", "-p", "no:cacheprovider",
                               "--rootdir", str(tmp_path), "test_inner.py", *select],
                              env=subprocess_env(TMPDIR=str(temp_root)), capture_output=True, text=True,
                              timeout=120, cwd=tmp_path)

    clean = run("-k", "clean or installs")
    assert clean.returncode == 0, clean.stdout[-3000:]
    assert "installed by this run" in clean.stdout
    assert "example-package 1.0: 3 MB into ~/.cache/example" in clean.stdout
    assert "left in the temp dir" not in clean.stdout

    leaky = run("-k", "leaks")
    assert leaky.returncode == 1, leaky.stdout[-3000:]
    assert "1 passed" in leaky.stdout  # the test itself passed; the run fails because of what it left
    assert re.search(r"1 entries were left in the temp dir \(now removed\): leaked-by-a-test-\w+", leaky.stdout)
    assert list(temp_root.iterdir()) == []  # removed: a run leaves nothing in $TMPDIR, even a failing one
