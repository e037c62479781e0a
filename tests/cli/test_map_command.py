"""`gigachat-mcp map TEMPLATE FILE` as a subprocess against the emulator: CSV, JSONL and text in and out, failed
rows, the cache (kill -9 and rerun), atomic output, progress on a terminal, usage errors."""

from __future__ import annotations

import csv
import json
import os
import pty
import signal
import subprocess
from pathlib import Path

import pytest

from gigachat_mcp.emulator import DEFAULT_CREDENTIALS, Emulator
from tests.cli.test_commands import CLI, run
from tests.helpers import subprocess_env


def env_for(emulator: Emulator, **overrides: str) -> dict[str, str]:
    """The emulator's settings, quick retries of a 500 (a failing row is retried before it is reported)."""
    return subprocess_env(emulator, GIGACHAT_RETRY_BACKOFF_FACTOR="0.01", **overrides)


def heard(answer: str) -> str:
    return answer.split('heard: "')[1].split('"')[0]


def chat_prompts(emulator: Emulator, since: int = 0) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in emulator.requests_to("chat")[since:]]


def test_csv_in_csv_out_keeps_the_fields_and_adds_the_answer(emulator: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "reviews.csv"
    source.write_text("id,text\n1,Отличный чай\n2,\"Пришёл, но разбитым\"\n", encoding="utf-8")
    out = tmp_path / "tones.csv"
    proc = run("map", "Tone of: {text}", str(source), "-o", str(out), "--column", "tone", "-s", "One word.",
               env=env_for(emulator))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""  # not a terminal: no progress, nothing to report
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [list(row) for row in rows] == [["id", "text", "tone"]] * 2
    assert [(row["id"], row["text"], heard(row["tone"])) for row in rows] == [
        ("1", "Отличный чай", "Tone of: Отличный чай"), ("2", "Пришёл, но разбитым", "Tone of: Пришёл, но разбитым")]
    assert all('System prompt: "One word."' in row["tone"] for row in rows)


def test_jsonl_in_jsonl_on_stdout_and_parsed_objects_with_a_schema(emulator: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "books.jsonl"
    source.write_text('{"title": "Dune", "year": 1965}\n\n{"title": "Emma", "year": 1815}\n', encoding="utf-8")
    proc = run("map", "{title} ({year})", str(source), env=env_for(emulator))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(line["title"], line["year"], heard(line["answer"])) for line in lines] == [
        ("Dune", 1965, "Dune (1965)"), ("Emma", 1815, "Emma (1815)")]
    schema = tmp_path / "kind.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"kind": {"type": "string"}},
                                  "required": ["kind"]}))
    out = tmp_path / "kinds.jsonl"
    proc = run("map", "Kind of {title}?", str(source), "--schema", str(schema), "-o", str(out), env=env_for(emulator))
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["answer"] for line in out.read_text().splitlines()] == [{"kind": "emulator"}] * 2
    assert emulator.requests_to("chat")[-1].body["response_format"]["schema"]["required"] == ["kind"]


def test_text_in_text_out_one_answer_a_line(emulator: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "words.txt"
    source.write_text("cat\ndog\n\nowl\n", encoding="utf-8")
    out = tmp_path / "answers.txt"
    proc = run("map", "Define {} [emulator words=3]", str(source), "-o", str(out), env=env_for(emulator))
    assert proc.returncode == 0, proc.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [heard(line) for line in lines] == ["Define cat", "Define dog", "Define owl"]
    proc = run("map", "Define {}", str(source), "-o", str(tmp_path / "answers.csv"), env=env_for(emulator))
    rows = list(csv.DictReader((tmp_path / "answers.csv").open(encoding="utf-8")))
    assert [row["input"] for row in rows] == ["cat", "dog", "owl"]


def test_a_failing_row_exits_1_with_an_error_column_and_every_row_written(emulator: Emulator,
                                                                         tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("fine\nbroken [emulator fail=500]\nalso fine\n")
    out = tmp_path / "out.csv"
    proc = run("map", "{}", str(source), "-o", str(out), env=env_for(emulator))
    assert proc.returncode == 1
    assert "1 of 3 rows failed (see the error column)" in proc.stderr and "Traceback" not in proc.stderr
    rows = list(csv.DictReader(out.open()))
    assert [row["input"] for row in rows] == ["fine", "broken [emulator fail=500]", "also fine"]
    assert rows[1]["answer"] == "" and rows[1]["error"].startswith("APIError: GigaChat had a server error (500")
    assert rows[0]["error"] == rows[2]["error"] == "" and heard(rows[2]["answer"]) == "also fine"
    proc = run("map", "{}", str(source), env=env_for(emulator))  # as JSONL: the error only on its row
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 1 and [("error" in line) for line in lines] == [False, True, False]
    assert lines[1]["answer"] is None


def test_killed_with_sigkill_then_rerun_sends_only_the_rest(emulator: Emulator, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    source = work / "rows.txt"
    source.write_text("".join(f"row {i}\n" for i in range(30)))
    out = work / "out.jsonl"
    out.write_text("the previous run's output\n")
    emulator.latency = 0.1
    proc = subprocess.Popen([*CLI, "map", "Answer {}", str(source), "-o", str(out), "--concurrency", "2"],
                            env=env_for(emulator), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert emulator.wait_until(lambda: len(emulator.requests_to("chat")) >= 10, 30)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert emulator.wait_until(lambda: emulator.api.in_flight == 0, 10)
    before = chat_prompts(emulator)
    assert out.read_text() == "the previous run's output\n"  # never half-written
    assert sorted(p.name for p in work.iterdir()) == ["out.jsonl", "rows.txt"]  # no temporary file left behind

    emulator.latency = 0
    proc2 = run("map", "Answer {}", str(source), "-o", str(out), "--concurrency", "2", env=env_for(emulator))
    assert proc2.returncode == 0, proc2.stderr
    after = chat_prompts(emulator, since=len(before))
    assert set(before) | set(after) == {f"Answer row {i}" for i in range(30)}
    assert len(set(before) & set(after)) <= 2  # at most the rows that were in flight at the kill are sent again
    assert len(after) == len(set(after)) <= 30 - len(before) + 2  # each once
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [heard(line["answer"]) for line in lines] == [f"Answer row {i}" for i in range(30)]


def test_a_finished_run_reruns_from_the_cache_until_it_is_cleared(emulator: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("a\nb\n")
    assert run("map", "Say {}", str(source), env=env_for(emulator)).returncode == 0
    again = run("map", "Say {}", str(source), env=env_for(emulator))
    assert again.returncode == 0 and len(emulator.requests_to("chat")) == 2
    assert run("map", "Say {}", str(source), "--no-cache", env=env_for(emulator)).returncode == 0
    assert len(emulator.requests_to("chat")) == 4
    cleared = run("map", "--clear-cache", env=env_for(emulator))
    assert cleared.returncode == 0 and "the map cache was cleared" in cleared.stderr
    assert run("map", "Say {}", str(source), env=env_for(emulator)).stdout == again.stdout
    assert len(emulator.requests_to("chat")) == 6


def test_batch_uses_the_batch_api(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("cats\ndogs\n")
    with Emulator(credentials={DEFAULT_CREDENTIALS: "GIGACHAT_API_CORP"}, batch_delay=0) as corp:
        proc = run("map", "Label {}", str(source), "--batch", env=env_for(corp, GIGACHAT_SCOPE="GIGACHAT_API_CORP"))
        assert proc.returncode == 0, proc.stderr
        assert len(corp.requests_to("batch_create")) == 1 and corp.requests_to("chat") == []
    assert [heard(json.loads(line)["answer"]) for line in proc.stdout.splitlines()] == ["Label cats", "Label dogs"]


def test_concurrency_bounds_the_requests_at_once(emulator: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("".join(f"{i}\n" for i in range(8)))
    emulator.latency = 0.05
    proc = run("map", "n{}", str(source), "--concurrency", "3", env=env_for(emulator))
    assert proc.returncode == 0, proc.stderr
    assert emulator.max_in_flight <= 3 and len(emulator.requests_to("chat")) == 8


def test_progress_goes_to_stderr_when_it_is_a_terminal(emulator: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("a\nb [emulator fail=500]\nc\n")
    leader, follower = pty.openpty()
    proc = subprocess.Popen([*CLI, "map", "{}", str(source), "-o", str(tmp_path / "out.jsonl")],
                            env=env_for(emulator), stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        shown += data
    proc.wait(timeout=30)
    os.close(leader)
    text = shown.decode()
    assert proc.returncode == 1
    assert "\r3/3 rows" in text and "1 failed" in text and "1 of 3 rows failed" in text


@pytest.mark.parametrize(("args", "files", "message"), [
    (["{}", "in.txt", "-o", "out.xlsx"], {"in.txt": "a\n"}, "write .csv, .jsonl (or .ndjson) or .txt"),
    (["{name}", "in.txt"], {"in.txt": "a\n"}, "row 0 is a plain value"),
    (["{x}", "in.jsonl"], {"in.jsonl": '{"x": 1}\nnot json\n'}, "in.jsonl line 2 is not JSON"),
    (["{x}", "in.csv"], {"in.csv": "x,answer\n1,2\n"}, "already has a column 'answer'"),
    (["{}", "empty.txt"], {"empty.txt": "\n\n"}, "has no rows"),
    (["{}", "missing.txt"], {}, "cannot read"),
    (["{}", "in.txt", "--schema", "nope.json"], {"in.txt": "a\n"}, "cannot read the schema"),
    (["{}"], {}, "give a TEMPLATE and a FILE"),
])
def test_usage_errors_exit_2_before_anything_is_sent(emulator: Emulator, tmp_path: Path, args: list[str],
                                                     files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    argv = [str(tmp_path / a) if a in files or a.endswith((".txt", ".json", ".xlsx")) else a for a in args]
    proc = run("map", *argv, env=env_for(emulator))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert emulator.requests_to("chat") == []


def test_ctrl_c_exits_130_writing_nothing_and_saying_how_to_resume(emulator: Emulator, tmp_path: Path) -> None:
    source = tmp_path / "rows.txt"
    source.write_text("".join(f"row {i}\n" for i in range(20)))
    out = tmp_path / "out.csv"
    emulator.latency = 0.1
    proc = subprocess.Popen([*CLI, "map", "{}", str(source), "-o", str(out), "--concurrency", "2"],
                            env=env_for(emulator), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert emulator.wait_until(lambda: len(emulator.requests_to("chat")) >= 4, 30)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and not out.exists()
    assert "interrupted: " in err and " of 20 rows were answered and are kept in the map cache" in err
    assert "Traceback" not in err
