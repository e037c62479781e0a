"""`gigachat-mcp ask --think/--web/--schema` as a subprocess against the emulator over TLS: stdout stays the
answer, the thinking goes to stderr, sources follow the answer, a schema answer is printed as JSON."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gigachat_mcp.emulator import Emulator
from tests.helpers import gigachat_mcp_command, subprocess_env

CLI = gigachat_mcp_command()
SCHEMA = {"type": "object", "properties": {"capital": {"type": "string"}, "population": {"type": "integer"}},
          "required": ["capital", "population"]}


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_think_writes_the_thinking_to_stderr_and_the_answer_to_stdout(emulator: Emulator, version: str) -> None:
    proc = run("ask", "--think", "high", "Why?", env=subprocess_env(emulator, GIGACHAT_API_VERSION=version))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('GigaChat emulator (GigaChat-2) heard: "Why?"') and "Thinking" not in proc.stdout
    assert proc.stderr.startswith('Thinking: Thinking (high effort) about "Why?"')
    as_json = json.loads(run("ask", "--think", "--json", "Why?",
                             env=subprocess_env(emulator, GIGACHAT_API_VERSION=version)).stdout)
    assert as_json["reasoning"].startswith("Thinking (medium effort)") and "Thinking" not in as_json["text"]


def test_web_prints_the_sources_after_the_answer(emulator: Emulator) -> None:
    proc = run("ask", "--web", "Latest news", env=subprocess_env(emulator, GIGACHAT_API_VERSION="v2"))
    assert proc.returncode == 0, proc.stderr
    answer, sources = proc.stdout.split("\nSources:\n")
    assert answer.rstrip().endswith("see also [2].")
    assert sources.splitlines()[0].startswith("  [1] News about Latest news — https://news.example.org/")
    data = json.loads(run("ask", "--web", "--json", "Latest news",
                          env=subprocess_env(emulator, GIGACHAT_API_VERSION="v2")).stdout)
    assert [s["title"] for s in data["sources"]] == ["News about Latest news", "Encyclopedia article"]


def test_web_on_a_pinned_v1_exits_2_naming_the_setting(emulator: Emulator) -> None:
    proc = run("ask", "--web", "news", env=subprocess_env(emulator, GIGACHAT_API_VERSION="v1"))
    assert proc.returncode == 2 and "GIGACHAT_API_VERSION=v2" in proc.stderr and proc.stdout == ""  # usage
    assert emulator.requests_to("chat") == []


def test_web_without_a_pinned_contract_goes_on_v2(emulator: Emulator) -> None:
    proc = run("ask", "--web", "Latest news", env=subprocess_env(emulator))
    assert proc.returncode == 0, proc.stderr
    assert "  [1] News about Latest news — https://news.example.org/" in proc.stdout
    assert [r.path for r in emulator.requests_to("chat")] == ["/v2/chat/completions"]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_schema_prints_the_json(emulator: Emulator, tmp_path: Path, version: str) -> None:
    schema = tmp_path / "country.json"
    schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
    env = subprocess_env(emulator, GIGACHAT_API_VERSION=version)
    proc = run("ask", "--schema", str(schema), "France", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"capital": "emulator", "population": 0}
    broken = run("ask", "--schema", str(schema), "France [emulator misfit=1]", env=env)
    assert broken.returncode == 1 and "does not fit the schema" in broken.stderr
    assert '"this answer does not fit the schema"' in broken.stderr  # the raw answer is not lost
    assert run("ask", "--schema", str(tmp_path / "missing.json"), "x", env=env).returncode == 2
