"""`%%gigachat --think/--web/-f json/--schema` and `%gigachat explain`: in a real IPython shell, in real terminal
IPython and in a real kernel (nbclient), against the emulator over TLS."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from nbformat.v4 import new_code_cell, new_notebook

from gigachat_mcp import StructuredOutputError
from gigachat_mcp.emulator import Emulator
from tests.helpers import subprocess_env
from tests.magics.test_kernel import RecordingClient, kernel_env  # noqa: F401 - the fixture is used by name

SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
          "required": ["title", "year"]}




def ask(ip: InteractiveShell, line: str, cell: str) -> str:
    with capture_output() as cap:
        ip.run_cell_magic("gigachat", line, cell)
    return cap.stdout


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_think_sends_the_level_and_keeps_the_thinking_out_of_the_answer(
        shell: InteractiveShell, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    monkeypatch.setenv("GIGACHAT_API_VERSION", version)
    out = ask(shell, "--think -o answer", "Why is the sky blue?")
    assert "\x1b[2mThinking: Thinking (medium effort)" in out  # dim, before the answer
    assert out.index("Thinking (medium") < out.index("GigaChat emulator")
    assert "Thinking" not in shell.user_ns["answer"]
    ask(shell, "--think high", "Again")
    body = emulator.requests_to("chat")[-1].body
    assert body.get("reasoning_effort") == "high" or body["model_options"]["reasoning"] == {"effort": "high"}
    assert all("Thinking" not in str(m["content"]) for m in body["messages"])  # history holds answers only
    with pytest.raises(UsageError):
        ask(shell, "--think max", "x")


def test_web_lists_the_sources_under_the_answer(shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGACHAT_API_VERSION", "v2")
    out = ask(shell, "--web", "What happened today?")
    answer, sources = out.split("Sources:\n")
    assert "[1]" in answer and "[sources=" not in answer
    assert sources.startswith("  [1] News about What happened today? — https://news.example.org/")


def test_web_on_a_pinned_v1_says_which_setting_to_change(shell: InteractiveShell, emulator: Emulator,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGACHAT_API_VERSION", "v1")
    with pytest.raises(UsageError, match="GIGACHAT_API_VERSION=v2"):
        ask(shell, "--web", "news")
    assert emulator.requests_to("chat") == []


def test_web_without_a_pinned_contract_goes_on_v2_and_the_next_cell_on_v1(
        shell: InteractiveShell, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GIGACHAT_API_VERSION", raising=False)
    out = ask(shell, "--web", "What happened today?")
    answer, sources = out.split("Sources:\n")
    assert sources.startswith("  [1] News about What happened today? — https://news.example.org/")
    assert "What happened today?" in ask(shell, "", "And then?")  # the searched turn is context for the next
    assert [r.path for r in emulator.requests_to("chat")] == ["/v2/chat/completions", "/v1/chat/completions"]


def test_json_format_and_schema_store_the_parsed_object(shell: InteractiveShell, tmp_path: Path,
                                                        emulator: Emulator) -> None:
    shell.user_ns["book_schema"] = SCHEMA
    ask(shell, "--schema book_schema -o book", "A famous Russian novel")
    assert shell.user_ns["book"] == {"title": "emulator", "year": 0}
    (tmp_path / "book.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    ask(shell, f"--schema {tmp_path / 'book.json'} -o book", "Another one")
    assert shell.user_ns["book"] == {"title": "emulator", "year": 0}
    ask(shell, "-f json -o answer", "Any JSON")
    assert shell.user_ns["answer"] == {}
    assert emulator.requests_to("chat")[-1].body["response_format"]["schema"] == {"type": "object"}
    with pytest.raises(StructuredOutputError, match="does not fit the schema") as refused:  # its own type, one line
        ask(shell, "--schema book_schema -o book", "Break it [emulator misfit=1]")
    assert "this answer does not fit the schema" in refused.value.raw_text


def test_kernel_think_web_json_and_explain(kernel_env: Emulator, tmp_path: Path,  # noqa: F811
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGACHAT_API_VERSION", "v2")
    nb, client = _run([
        "%load_ext gigachat_magics",
        "%%gigachat --think low\nHow many legs has a spider? [emulator delay=0.02]",
        "%%gigachat --web\nWho won the match?",
        "%%gigachat -f json -o data\nList something",
        "print(type(data).__name__, data)",
        "numbers = [1, 2, 3]\ntotal = sum(numbers) / (len(numbers) - 3)",
        "%gigachat explain",
    ], tmp_path)
    thinking = nb.cells[1].outputs[0]["data"]
    assert thinking["text/markdown"].startswith("<details><summary>Thinking</summary>\n\nThinking (low effort)")
    assert "</details>\n\nGigaChat emulator" in thinking["text/markdown"]  # collapsed, above the answer
    assert thinking["text/plain"].startswith("GigaChat emulator") and "Thinking" not in thinking["text/plain"]
    live = [m for i, m in client.messages if i == 1 and m["msg_type"] == "update_display_data"]
    assert any("Thinking…" in m["content"]["data"]["text/markdown"] for m in live)  # streamed while thinking
    searched = [o["data"] for o in nb.cells[2].outputs if "data" in o]
    assert searched[1]["text/markdown"].startswith("**Sources**\n\n1. [News about Who won the match?]("
                                                   "https://news.example.org/")
    assert searched[1]["text/plain"].startswith("Sources:\n[1] News about Who won the match?")
    assert nb.cells[3].outputs[0]["data"]["application/json"] == {}
    assert nb.cells[4].outputs[0]["text"].strip() == "dict {}"
    assert nb.cells[5].outputs[0]["ename"] == "ZeroDivisionError"
    explained = nb.cells[6].outputs[0]["data"]["text/plain"]
    assert explained.startswith('GigaChat emulator (GigaChat-2) heard: "This notebook cell raised an error.')
    sent = kernel_env.requests_to("chat")[-1].body["messages"][-1]["content"][0]["text"]
    assert "```python\nnumbers = [1, 2, 3]\ntotal = sum(numbers) / (len(numbers) - 3)\n```" in sent  # the cell
    assert "ZeroDivisionError: division by zero" in sent and "\x1b[" not in sent  # its traceback, no colours
    assert 'File "Cell In[' in sent and "line 2" in sent  # the user's frame, named as IPython names cells
    assert "interactiveshell" not in sent and "IPython" not in sent  # not IPython's own frames
    assert "ipykernel_" not in sent and str(Path.home()) not in sent  # nor the kernel's temp path
    live = [m for i, m in client.messages if i == 6 and m["msg_type"] == "update_display_data"]
    assert live  # streamed like any answer


def _run(cells: list[str], tmp_path: Path):
    """Runs the cells in a real kernel; a cell that raises on purpose is tagged so, as users do."""
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    for cell in nb.cells:
        if "len(numbers) - 3" in cell.source:
            cell.metadata["tags"] = ["raises-exception"]
    client = RecordingClient(nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return nb, client


def test_explain_without_an_error_says_how_to_use_it(shell: InteractiveShell) -> None:
    with capture_output() as cap:
        shell.run_line_magic("gigachat", "explain")
    assert "No error to explain yet" in cap.stdout


def test_terminal_explain_of_a_failing_cell(emulator: Emulator, tmp_path: Path) -> None:
    script = tmp_path / "fail.ipy"
    script.write_text("import json\njson.loads('{broken')\n")
    ipython = Path(sys.executable).parent / "ipython"
    code = ("get_ipython().run_cell(open('fail.ipy').read()); "
            "get_ipython().run_line_magic('gigachat', 'explain')")
    proc = subprocess.run([str(ipython), "--no-banner", "--colors=nocolor", "--ext=gigachat_magics", "-c", code],
                          cwd=tmp_path, env=subprocess_env(emulator, IPYTHONDIR=str(tmp_path / "ipython")),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert 'heard: "This notebook cell raised an error.' in proc.stdout  # the explanation streamed to the terminal
    sent = emulator.requests_to("chat")[-1].body["messages"][-1]["content"]
    assert "json.loads('{broken')" in sent and "JSONDecodeError: Expecting property name" in sent
    assert 'File "json/decoder.py"' in sent  # the library's frames stay, without the machine's paths
    assert "interactiveshell" not in sent and str(Path.home()) not in sent
