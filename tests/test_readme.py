"""The README's snippets, run as a reader would run them (offline, against the emulator), output as documented.

A line `# -> TEXT` in a snippet documents output: some line the snippet prints must start with TEXT. Every
fenced block (also one indented under a list item) is either run here or listed in NOT_RUN_HERE with the reason,
so a new snippet cannot go untested by accident. A Python snippet is saved as a file and run with `python FILE`,
exactly as written: no top-level `await`, no variables from another snippet.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from gigachat_mcp.emulator import Emulator
from tests.helpers import gigachat_mcp_command, subprocess_env

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^( *)```(\w*)\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
NOT_RUN_HERE = {
    "python3 -m venv .venv && . .venv/bin/activate && pip install . && gigachat-mcp demo":
        ".ci/run runs it in a fresh venv; tests/cli runs `gigachat-mcp demo`",
    'python3 -m venv .venv && . .venv/bin/activate && pip install ".[test]" && python -m pytest':
        "it is this test suite",
    "claude mcp add gigachat": "needs Claude Code; tests/cli checks the snippet `gigachat-mcp config` prints",
    "python tests/bench/bench_client.py": "benchmarks take minutes and print figures, not pass/fail",
    "gigachat-mcp serve --transport streamable-http --host 0.0.0.0":
        "needs a Redis and a token file of your own; tests/team runs these flags against a real Redis",
}


def blocks() -> list[tuple[str, str]]:
    """(language, code) of each fenced block, an indented one dedented as a reader would paste it."""
    return [(lang, textwrap.dedent(code)) for _indent, lang, code in BLOCK.findall(README.read_text(encoding="utf-8"))]


def documented(snippet: str) -> list[str]:
    return [line.split("# -> ", 1)[1] for line in snippet.splitlines() if "# -> " in line]


def assert_documented_output(snippet: str, output: str) -> None:
    expected = documented(snippet)
    lines = output.splitlines()
    for text in expected:
        assert any(line.startswith(text) for line in lines), f"no line starts with {text!r} in:\n{output}"


def test_every_snippet_is_run_here_or_says_why_not() -> None:
    found = blocks()
    assert len(found) >= 11
    for lang, snippet in found:
        first = snippet.strip().splitlines()[0]
        if lang == "json" or first.startswith("%") or "# -> " in snippet or "from gigachat_mcp import" in snippet:
            continue  # run below
        assert any(first.startswith(known) for known in NOT_RUN_HERE), f"a README snippet nobody runs: {first!r}"


def test_json_snippets_are_valid_json() -> None:
    documents = [json.loads(snippet) for lang, snippet in blocks() if lang == "json"]
    assert len(documents) == 2 and all("gigachat" in json.dumps(d) for d in documents)


@pytest.mark.parametrize("index", [i for i, (lang, s) in enumerate(blocks())
                                   if lang == "python" and "from gigachat_mcp import" in s])
def test_python_snippets_print_what_the_readme_says(index: int, emulator: Emulator, tmp_path: Path) -> None:
    from gigachat_mcp.emulator._files import DRAWN_JPEG

    snippet = blocks()[index][1]
    (tmp_path / "photo.jpg").write_bytes(DRAWN_JPEG)  # the files the attachments snippet names
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    (tmp_path / "snippet.py").write_text(snippet, encoding="utf-8")
    done = subprocess.run([sys.executable, "snippet.py"], capture_output=True, text=True,
                          env=subprocess_env(emulator), timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert_documented_output(snippet, done.stdout)
    assert documented(snippet)  # each of these snippets says what it prints


def test_command_line_snippets_print_what_the_readme_says(tmp_path: Path) -> None:
    snippets = [s for lang, s in blocks() if lang == "bash" and "# -> " in s]
    assert len(snippets) == 2
    (tmp_path / "reviews.csv").write_text("id,text\n1,Отличный чай\n2,Пришёл разбитым\n", encoding="utf-8")  # map's
    for snippet in snippets:
        commands = [line for line in snippet.splitlines() if line.strip() and not line.startswith("#")]
        assert commands and all("--emulator" in line for line in commands)  # offline, as the README promises
        output = ""
        for line in commands:
            words = shlex.split(line)
            assert words[0] == "gigachat-mcp"
            done = subprocess.run([*gigachat_mcp_command(), *words[1:]], capture_output=True, text=True,
                                  env=subprocess_env(), timeout=60, cwd=tmp_path)
            assert done.returncode == 0, done.stderr
            output += done.stdout
        assert_documented_output(snippet, output)


def test_notebook_snippets_run_in_ipython(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in subprocess_env(emulator).items():
        monkeypatch.setenv(name, value)
    cells = [s for lang, s in blocks() if s.lstrip().startswith("%")]
    assert [c.split()[0] for c in cells] == ["%load_ext", "%%gigachat", "%%gigachat", "%%gigachat"]
    ip = InteractiveShell.instance()
    ip.user_ns["reviews"] = ["Отличный чай", "Пришёл разбитым"]  # the variable the --map cell's prose defines
    try:
        with capture_output() as printed:
            for cell in cells:
                result = ip.run_cell(cell)
                assert result.success, result.error_in_exec
        assert 'heard: "Что такое озеро Байкал?"' in printed.stdout
        assert 'System prompt: "Отвечай кратко"' in printed.stdout
        assert "2 rows: 2 answered, 0 failed" in printed.stdout and "stored in tones (a list)" in printed.stdout
        assert [answer.split('heard: "')[1].split('"')[0] for answer in ip.user_ns["tones"]] == [
            "Тональность отзыва: Отличный чай", "Тональность отзыва: Пришёл разбитым"]
        assert 'Thinking (high effort) about "Докажи, что корень из двух иррационален."' in printed.stdout
        assert re.search(r"\n\[GigaChat-2:[\d.]+ · \d+\.\d s · \d+ → \d+ tokens\]", printed.stdout)  # the status
    finally:
        ip.extension_manager.unload_extension("gigachat_magics")
        for name in ("reviews", "tones"):
            ip.user_ns.pop(name, None)
