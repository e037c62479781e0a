"""The blocking map's own threads (`_bulk._workers`) and their own connections (`_bulk._lanes`)."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from gigachat_mcp import ChatResult, MapInterrupted
from gigachat_mcp.client._bulk._lanes import Lanes
from gigachat_mcp.emulator import Emulator
from tests.helpers import sync_client


class Stop(Exception):
    pass


def test_a_progress_callback_that_raises_stops_the_run_before_another_row_is_sent(emulator: Emulator) -> None:
    def progress(done: int, total: int, errors: int) -> None:
        if done >= 2:
            raise Stop("budget reached")

    with sync_client(emulator) as giga, pytest.raises(Stop):
        giga.map([f"row {i}" for i in range(10)], concurrency=1, cache=False, progress=progress)
    time.sleep(0.3)  # a row sent after the stop would have reached the emulator by now
    assert [r.body["messages"][-1]["content"] for r in emulator.requests_to("chat")] == ["row 0", "row 1"]


def test_ctrl_c_in_a_thread_free_map_keeps_what_was_answered_and_the_client_still_works(emulator: Emulator) -> None:
    def progress(done: int, total: int, errors: int) -> None:
        if done >= 1:
            raise KeyboardInterrupt

    with sync_client(emulator) as giga:
        with pytest.raises(MapInterrupted) as caught:
            giga.map([f"row {i}" for i in range(6)], concurrency=3, cache=False, progress=progress)
        partial = caught.value.partial
        assert len(partial) == 6 and any(isinstance(row, ChatResult) for row in partial)
        again = giga.map(["after"], cache=False)  # a new map takes connections again
        assert again.ok and again.texts[0] is not None


def test_a_threads_own_client_is_lent_again_to_the_next_map_and_closed_by_close() -> None:
    made: list[httpx.Client] = []

    def make() -> httpx.Client:
        made.append(httpx.Client())
        return made[-1]

    lanes = Lanes(make)
    assert lanes.current() is None
    with lanes.lane():
        first = lanes.current()
        seen_elsewhere: list[object] = []
        other = threading.Thread(target=lambda: seen_elsewhere.append(lanes.current()))
        other.start()
        other.join()
        assert seen_elsewhere == [None]  # the client is this thread's only
    assert lanes.current() is None
    with lanes.lane():
        assert lanes.current() is first and len(made) == 1  # kept between maps: no new connection
        lanes.close()  # the client closes while a thread still uses it...
    assert first is not None and first.is_closed  # ...and is closed when given back, not kept
    with lanes.lane():
        assert len(made) == 2
    lanes.close()
    assert all(client.is_closed for client in made)


def test_slow_answers_still_reach_the_full_concurrency(emulator: Emulator) -> None:
    emulator.latency = 0.3
    with sync_client(emulator) as giga:
        result = giga.map([f"row {i}" for i in range(16)], concurrency=4, cache=False)
    assert result.ok and emulator.max_in_flight == 4


def test_a_cache_file_deleted_between_maps_is_made_again_not_written_to_the_deleted_file(
        emulator: Emulator, tmp_path: Path) -> None:
    cache = tmp_path / "answers.sqlite3"
    prompts = [f"row {i}" for i in range(3)]
    with sync_client(emulator) as giga:
        giga.map(prompts, cache=cache)
        for suffix in ("", "-wal", "-shm"):  # what another process's clear_map_cache does
            Path(str(cache) + suffix).unlink(missing_ok=True)
        giga.map(prompts, cache=cache)
    assert len(emulator.requests_to("chat")) == 6  # nothing was answered any more: every row sent again
    with contextlib.closing(sqlite3.connect(cache)) as db:  # and the answers are in the file on disk
        assert db.execute("SELECT count(*) FROM answers").fetchone() == (3,)
