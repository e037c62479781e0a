"""The map cache: a rerun sends nothing already answered, also after a kill -9, and Ctrl-C keeps what came back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gigachat_mcp import ChatResult, GigaChat, MapInterrupted, RowError, clear_map_cache
from gigachat_mcp.client._bulk._cache import default_cache_path
from gigachat_mcp.emulator import Emulator
from tests.bulk.conftest import Mapper
from tests.helpers import subprocess_env, sync_client


def test_a_rerun_sends_zero_requests_and_rebuilds_every_field(run_map: Mapper, emulator: Emulator,
                                                              tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}
    cache = tmp_path / "answers.sqlite3"
    first = run_map([f"row {i}" for i in range(6)], cache=cache, response_format=schema, concurrency=3)
    sent = len(emulator.requests_to("chat"))
    again = run_map([f"row {i}" for i in range(6)], cache=str(cache), response_format=schema, concurrency=3)
    assert len(emulator.requests_to("chat")) == sent == 6
    assert list(again) == list(first)  # text, model, usage, parsed: equal values
    assert again.parsed[0] == {"label": "emulator"}


def test_a_changed_option_or_prompt_is_a_new_request_and_failures_are_not_cached(
        run_map: Mapper, emulator: Emulator, tmp_path: Path) -> None:
    cache = tmp_path / "answers.sqlite3"
    run_map(["a", "b [emulator fail=400]"], cache=cache)
    run_map(["a", "b [emulator fail=400]"], cache=cache)  # "a" from the cache, the failed row sent again
    run_map(["a"], cache=cache, temperature=0.5)
    prompts = [(r.body["messages"][-1]["content"], r.body.get("temperature")) for r in emulator.requests_to("chat")]
    assert prompts.count(("a", None)) == 1 and prompts.count(("a", 0.5)) == 1
    assert prompts.count(("b [emulator fail=400]", None)) == 2


def test_the_default_cache_lives_in_the_user_cache_dir_and_clearing_it_sends_again(
        run_map: Mapper, emulator: Emulator) -> None:
    run_map(["hello"])
    assert default_cache_path().exists()
    assert os.environ["XDG_CACHE_HOME"] in str(default_cache_path())  # the test's, not the developer's
    run_map(["hello"])
    assert len(emulator.requests_to("chat")) == 1
    assert clear_map_cache() is True and not default_cache_path().exists()
    run_map(["hello"])
    assert len(emulator.requests_to("chat")) == 2
    assert clear_map_cache() is True and clear_map_cache() is False


def test_the_cache_never_holds_the_key(run_map: Mapper, emulator: Emulator, tmp_path: Path) -> None:
    cache = tmp_path / "answers.sqlite3"
    run_map(["secret-free"], cache=cache)
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("answers"))
    assert emulator.credentials.encode() not in blob
    assert not any(token.encode() in blob for token in emulator.issued_tokens)


def test_ctrl_c_raises_map_interrupted_with_what_was_answered(emulator: Emulator, tmp_path: Path) -> None:
    emulator.latency = 0.05

    def progress(done: int, total: int, errors: int) -> None:
        if done >= 3:
            raise KeyboardInterrupt  # what a kernel interrupt does in the caller's thread

    with sync_client(emulator) as giga, pytest.raises(MapInterrupted) as caught:
        giga.map([f"row {i}" for i in range(20)], progress=progress, cache=tmp_path / "c.sqlite3")
    partial = caught.value.partial
    assert isinstance(caught.value, KeyboardInterrupt) and len(partial) == 20
    answered = [r for r in partial if isinstance(r, ChatResult)]
    assert len(answered) >= 3 and isinstance(partial[19], RowError)
    with sync_client(emulator) as giga:
        before = len(emulator.requests_to("chat"))
        giga.map([f"row {i}" for i in range(20)], cache=tmp_path / "c.sqlite3")
    assert len(emulator.requests_to("chat")) - before == 20 - len(answered)


SCRIPT = textwrap.dedent("""
    import sys
    from gigachat_mcp import GigaChat
    with GigaChat(retry_backoff_factor=0.01) as giga:
        giga.map([f"row {i}" for i in range(40)], concurrency=4, cache=sys.argv[1],
                 progress=lambda done, total, errors: print(done, flush=True))
""")


def test_a_kill_9_mid_run_then_a_rerun_resends_at_most_the_rows_in_flight(emulator: Emulator, tmp_path: Path) -> None:
    emulator.latency = 0.1
    cache = tmp_path / "answers.sqlite3"
    env = subprocess_env(emulator, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(cache)], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if int(line) >= 12:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rerun_started = time.monotonic()
    # (a request the kill cut off before its body arrived is recorded with no body: it was never answered)
    before = [r.body["messages"][-1]["content"] for r in emulator.requests_to("chat") if r.body]
    assert len(before) < 40
    with GigaChat(**emulator.client_settings()) as giga:
        result = giga.map([f"row {i}" for i in range(40)], concurrency=4, cache=cache)
    assert result.ok and result.texts[39] is not None
    after = [r.body["messages"][-1]["content"] for r in emulator.requests_to("chat") if r.at >= rerun_started and r.body]
    assert len(after) == len(set(after))  # the rerun sent no row twice
    resent = set(after) & set(before)
    assert len(resent) <= 4  # only the rows in flight at the kill (concurrency 4) were paid for twice
    assert set(before) | set(after) == {f"row {i}" for i in range(40)}
