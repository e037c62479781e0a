"""The magic in a real Jupyter kernel (nbclient, jupyter_client) and in real terminal IPython."""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from jupyter_client import KernelManager
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from gigachat_mcp.emulator import Emulator
from tests.helpers import subprocess_env

ROOT = Path(__file__).resolve().parents[2]


class RecordingClient(NotebookClient):
    """Keeps every iopub message, to see the display updates that the saved notebook folds away."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.messages: list[tuple[int, dict]] = []

    def process_message(self, msg, cell, cell_index):
        self.messages.append((cell_index, msg))
        return super().process_message(msg, cell, cell_index)


@pytest.fixture
def kernel_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    for name, value in subprocess_env(emulator).items():
        monkeypatch.setenv(name, value)
    return emulator


@pytest.fixture
def kernel(kernel_env: Emulator) -> Iterator[tuple[KernelManager, object]]:
    """A real kernel with the extension loaded, pointed at the emulator; shut down afterwards."""
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        client.execute_interactive("%load_ext gigachat_magics", timeout=30)
        yield manager, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run_notebook(cells: list[str], tmp_path: Path) -> tuple[nbformat.NotebookNode, RecordingClient]:
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    client = RecordingClient(nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return nb, client


def test_notebook_streams_saves_both_mime_types_and_remembers(kernel_env: Emulator, tmp_path: Path) -> None:
    nb, client = run_notebook([
        "%load_ext gigachat_magics",
        "%%gigachat -s 'Be brief'\nFirst question [emulator words=40 delay=0.03]",
        "%%gigachat\nSecond question",
    ], tmp_path)
    live = [msg for index, msg in client.messages if index == 1 and msg["msg_type"] == "update_display_data"]
    assert len(live) >= 4  # the answer grew in place several times while it arrived
    texts = [msg["content"]["data"]["text/plain"] for msg in live]
    assert all(later.startswith(earlier) for earlier, later in zip(texts, texts[1:]))
    first_outputs = nb.cells[1].outputs
    final = first_outputs[0]["data"]
    assert final["text/markdown"] == final["text/plain"]
    assert final["text/plain"].startswith('GigaChat emulator (GigaChat-2) heard: "First question".')
    assert final["text/plain"].endswith("w40.")
    assert first_outputs[1]["data"]["text/markdown"].startswith("*GigaChat-2:2.0.28.2")  # the status line
    second = nb.cells[2].outputs[0]["data"]["text/plain"]
    assert 'Previous user message: "First question' in second and 'System prompt: "Be brief"' in second
    assert "transient" not in first_outputs[0]  # nothing ephemeral is saved


def test_the_example_notebook_runs_and_leaves_no_emulator_files(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in subprocess_env().items():
        monkeypatch.setenv(name, value)
    kernel_tmp = tmp_path / "kernel-tmp"
    kernel_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(kernel_tmp))  # where the notebook's emulator puts its CA and keys
    nb = nbformat.read(ROOT / "examples" / "gigachat_magics.ipynb", as_version=4)
    NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert list(kernel_tmp.glob("gigachat-emulator-*")) == []  # the notebook never stops it; the kernel's exit did
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("data", {}).get("text/plain", o.get("text", ""))) for o in outputs)
    assert 'heard: "Что такое озеро Байкал?"' in text
    assert "characters" in text and "3 answers this session" in text


def test_interrupt_keeps_partial_text_aborts_queued_cells_and_closes_the_stream(kernel_env: Emulator,
                                                                                kernel) -> None:
    emulator = kernel_env
    manager, client = kernel
    answer_id = client.execute("%%gigachat\nA very long answer [emulator words=600 delay=0.03]")
    queued_id = client.execute("print('the queued cell ran')")
    updates: list[str] = []
    deadline = time.monotonic() + 30
    while len(updates) < 3 and time.monotonic() < deadline:
        msg = client.get_iopub_msg(timeout=10)
        if msg["parent_header"].get("msg_id") == answer_id and msg["msg_type"] == "update_display_data":
            updates.append(msg["content"]["data"]["text/plain"])
    manager.interrupt_kernel()
    replies = {}
    while len(replies) < 2:
        reply = client.get_shell_msg(timeout=30)
        replies[reply["parent_header"]["msg_id"]] = reply["content"]
    printed = []
    while True:
        try:
            msg = client.get_iopub_msg(timeout=1)
        except Exception:  # queue drained
            break
        if msg["msg_type"] == "update_display_data" and msg["parent_header"].get("msg_id") == answer_id:
            updates.append(msg["content"]["data"]["text/plain"])
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
    assert replies[answer_id]["status"] == "error" and replies[answer_id]["ename"] == "KeyboardInterrupt"
    assert replies[queued_id]["status"] == "aborted" and "the queued cell ran" not in "".join(printed)
    assert updates[-1].endswith("*[interrupted]*")
    assert updates[-1].startswith(updates[2].rstrip())  # the partial text stayed, with the marker added
    assert emulator.wait_until(lambda: emulator.streams and emulator.streams[-1].outcome == "client went away", 5)
    record = emulator.streams[-1]
    assert record.sent_chunks < record.planned_chunks


def test_rerun_of_a_cell_replaces_its_exchange_in_a_real_kernel(kernel_env: Emulator, kernel) -> None:
    """JupyterLab sends the cell id in the request metadata; re-running a cell must not pile up duplicates."""
    _, client = kernel
    outputs: list[dict] = []

    def run_cell(cell_id: str, source: str) -> None:
        msg = client.session.msg("execute_request", {"code": source, "silent": False, "store_history": True,
                                                     "user_expressions": {}, "allow_stdin": False,
                                                     "stop_on_error": True}, metadata={"cellId": cell_id})
        client.shell_channel.send(msg)
        reply = client.get_shell_msg(timeout=30)
        assert reply["content"]["status"] == "ok", reply["content"]

    run_cell("cell-a", "%%gigachat\nfirst draft")
    run_cell("cell-a", "%%gigachat\nsecond draft")  # the same cell, edited and re-run
    run_cell("cell-b", "%%gigachat\nnext cell")
    client.execute_interactive("_m = get_ipython().magics_manager.registry['GigaChatMagics']; "
                               "print([e.user for e in _m.history.exchanges])", timeout=30,
                               output_hook=outputs.append)
    printed = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    assert printed.strip() == "['second draft', 'next cell']"
    last_request = kernel_env.requests_to("chat")[-1].body["messages"]
    assert [(m["role"], m["content"]) for m in last_request][:2] == [("user", "second draft"),
                                                                     ("assistant", last_request[1]["content"])]
    assert len(last_request) == 3  # the first draft is gone from what the next cell sends


def test_terminal_ipython_prints_deltas_as_they_arrive(emulator: Emulator, tmp_path: Path) -> None:
    emulator.chunk_delay = 0.04
    script = tmp_path / "ask.ipy"
    script.write_text("%%gigachat\nHello terminal [emulator words=30]\n")  # a .ipy file is one cell
    ipython = Path(sys.executable).parent / "ipython"
    proc = subprocess.Popen([str(ipython), "--no-banner", "--colors=nocolor", "--ext=gigachat_magics", str(script)],
                            cwd=tmp_path,
                            env=subprocess_env(emulator, IPYTHONDIR=str(tmp_path / "ipython")),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = proc.stdout.read1(40)
    head_at = time.monotonic()
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert time.monotonic() - head_at > 0.3  # the start was shown while the rest was still streaming
    out = (head + rest).decode()
    assert 'GigaChat emulator (GigaChat-2) heard: "Hello terminal". Roles: user. w1 w2' in out
    assert "w30.\n[GigaChat-2:2.0.28.2" in out
    assert "<IPython.core.display" not in out  # no repr spam from display() in a terminal


# --- first contact: what a new user sees in a real kernel ------------------------------------------------------

def run_cell(client, code: str, timeout: float = 60) -> tuple[dict, list[dict]]:
    """The execute_reply's content and every iopub message of one cell."""
    for _ in range(20):  # right after an error, ipykernel aborts requests until its abort window closes
        messages: list[dict] = []
        reply = client.execute_interactive(code, timeout=timeout, output_hook=messages.append)
        if reply["content"]["status"] != "aborted":
            break
    return reply["content"], messages


def printed_by(client, line: str) -> str:
    """What a line magic printed, read back in the reply (iopub stream messages can trail the idle status)."""
    code = ("from IPython.utils.capture import capture_output as _capture\n"
            f"with _capture() as _printed:\n    get_ipython().run_line_magic(*{line.lstrip('%').split(' ', 1)!r})")
    for _ in range(20):  # as in run_cell
        reply = client.execute_interactive(code, timeout=30, user_expressions={"out": "_printed.stdout"})
        if reply["content"]["status"] != "aborted":
            break
    assert reply["content"]["status"] == "ok", reply["content"]
    result = reply["content"]["user_expressions"]["out"]
    assert result["status"] == "ok", result
    return ast.literal_eval(result["data"]["text/plain"])


def displays(messages: list[dict]) -> dict[str, str]:
    """What each display shows at the end (display_data, then update_display_data with the same id)."""
    shown: dict[str, str] = {}
    for msg in messages:
        if msg["msg_type"] in ("display_data", "update_display_data"):
            display_id = msg["content"].get("transient", {}).get("display_id", id(msg))
            shown[display_id] = msg["content"]["data"].get("text/plain", "")
    return shown


def errors(messages: list[dict]) -> list[dict]:
    return [msg["content"] for msg in messages if msg["msg_type"] == "error"]


def shown_error(messages: list[dict]) -> list[str]:
    """The lines a user sees for a failed cell: the error's traceback lines, or IPython's UsageError line."""
    lines = [line for error in errors(messages) for line in error["traceback"]]
    stderr = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream" and
                     m["content"]["name"] == "stderr")
    return lines + stderr.strip().splitlines()


@pytest.mark.parametrize(("setup", "line", "ename", "fragment"), [
    ("import os; del os.environ['GIGACHAT_CREDENTIALS']", "", "UsageError", "GIGACHAT_CREDENTIALS"),
    ("", "-m GigaChat-9000", "APIError", "Model 'GigaChat-9000' does not exist for this key (404 No such model). "
                                         "List the models it offers with `%gigachat models`."),
    ("import os; os.environ['GIGACHAT_BASE_URL'] = 'https://127.0.0.1:9/v1'; "
     "os.environ['GIGACHAT_AUTH_URL'] = 'https://127.0.0.1:9/api/v2/oauth'; os.environ['GIGACHAT_MAX_RETRIES'] = '0'",
     "", "GigaChatConnectionError", "Could not connect to 127.0.0.1"),
])
def test_a_cell_that_fails_before_any_text_shows_one_line_and_no_placeholder(kernel, setup: str, line: str,
                                                                             ename: str, fragment: str) -> None:
    _, client = kernel
    if setup:
        run_cell(client, setup)
    reply, messages = run_cell(client, f"%%gigachat {line}\nhello")
    assert reply["status"] == "error" and reply["ename"] == ename  # what happened, not always "UsageError"
    [shown] = shown_error(messages)  # one line, no traceback
    assert shown.startswith(f"{ename}: ") and fragment in shown
    assert "…" not in displays(messages).values()  # the placeholder went away


def test_a_refused_web_cell_leaves_no_empty_output(kernel_env: Emulator, kernel) -> None:
    _, client = kernel
    run_cell(client, "import os; os.environ['GIGACHAT_API_VERSION'] = 'v1'")  # pinned: web search is refused
    reply, messages = run_cell(client, "%%gigachat --web\nnews")
    assert reply["status"] == "error"
    [shown] = shown_error(messages)
    assert shown.startswith("UsageError: ") and "GIGACHAT_API_VERSION=v2" in shown
    assert [m["msg_type"] for m in messages if "display_data" in m["msg_type"]] == []  # no empty output above it
    assert kernel_env.requests_to("chat") == []


def test_the_stop_button_shows_one_line_and_the_stopped_answer_is_not_sent_again(kernel_env: Emulator,
                                                                                 kernel) -> None:
    emulator = kernel_env
    manager, client = kernel
    answer_id = client.execute("%%gigachat\nA very long answer [emulator words=600 delay=0.03]")
    updates = 0
    while updates < 3:
        msg = client.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") == answer_id and msg["msg_type"] == "update_display_data":
            updates += 1
    manager.interrupt_kernel()
    reply = client.get_shell_msg(timeout=30)["content"]
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    assert len(reply["traceback"]) == 1, reply["traceback"]  # not 18 frames through httpx, httpcore and ssl
    assert "httpx" not in reply["traceback"][0] and "kept above" in reply["traceback"][0]
    assert emulator.wait_until(lambda: emulator.streams and emulator.streams[-1].outcome == "client went away", 5)
    partial = emulator.streams[-1]
    assert partial.sent_chunks > 0

    history = printed_by(client, "%gigachat history")
    assert "[1] user: A very long answer" in history and "  [interrupted] (not sent" in history  # still visible
    assert "*" not in history  # plain text: no Markdown asterisks

    reply, _ = run_cell(client, "%%gigachat\nNext question")
    assert reply["status"] == "ok"
    sent = emulator.requests_to("chat")[-1].body["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [("user", "Next question")]  # neither prompt nor partial
    assert not any("w1 w2" in m["content"] or "very long" in m["content"] for m in sent)


def test_code_format_inserts_only_code(kernel) -> None:
    _, client = kernel
    reply, messages = run_cell(client, "%%gigachat -f code\nJust talk to me, no code")
    assert reply["status"] == "ok"
    assert not [p for p in reply["payload"] if p.get("source") == "set_next_input"]  # prose is not code
    status = list(displays(messages).values())[-1]
    assert "no code block in the answer, no cell inserted" in status
    reply, messages = run_cell(client, "%%gigachat -f code\nFix this:\n```python\nprint('hi')\n```")
    [inserted] = [p for p in reply["payload"] if p.get("source") == "set_next_input"]
    assert inserted["text"] == "print('hi')"
    assert "code inserted in a new cell below" in list(displays(messages).values())[-1]


def test_cell_magic_help_shows_the_cell_magic(kernel) -> None:
    _, client = kernel
    reply, _ = run_cell(client, "%%gigachat?")
    [page] = [p for p in reply["payload"] if p.get("source") == "page"]
    text = page["data"]["text/plain"]
    assert "%%gigachat [-m MODEL]" in text and "\n  %gigachat [-m" not in text


def test_template_with_undefined_names_says_which_and_sends_nothing(kernel_env: Emulator, kernel) -> None:
    _, client = kernel
    run_cell(client, "city = 'Kazan'")
    reply, messages = run_cell(client, "%%gigachat -T\nWeather in {city} and {undefined_var}?")
    assert reply["status"] == "error" and reply["ename"] == "UsageError"
    [shown] = shown_error(messages)
    assert "-T: {undefined_var} is not defined, so nothing was sent" in shown and "{city}" not in shown
    assert kernel_env.requests_to("chat") == []


# --- %%gigachat --map ------------------------------------------------------------------------------------------

def kernel_value(client, expression: str):
    """A Python literal evaluated in the kernel, read back through user_expressions."""
    for _ in range(20):  # as in run_cell
        reply = client.execute_interactive("", timeout=30, user_expressions={"value": expression})
        if reply["content"]["status"] != "aborted":
            break
    result = reply["content"]["user_expressions"]["value"]
    assert result["status"] == "ok", result
    return ast.literal_eval(result["data"]["text/plain"])


def test_map_interrupted_keeps_the_answers_and_the_rerun_sends_only_the_rest(kernel_env: Emulator, kernel) -> None:
    emulator = kernel_env
    manager, client = kernel
    emulator.latency = 0.1
    client.execute_interactive("rows = [f'item {i}' for i in range(40)]", timeout=30)
    cell = "%%gigachat --map rows -o out --concurrency 2\nName {}"
    map_id = client.execute(cell)
    assert emulator.wait_until(lambda: len(emulator.requests_to("chat")) >= 8, 30)
    manager.interrupt_kernel()
    errors, bar = [], []
    while True:
        msg = client.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") != map_id:
            continue
        if msg["msg_type"] == "error":
            errors.append(msg["content"])
        if msg["msg_type"] in ("display_data", "update_display_data"):
            bar.append((msg["msg_type"], msg["content"]["data"]))
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    assert [e["ename"] for e in errors] == ["MapInterrupted"]
    assert bar[0][0] == "display_data" and {kind for kind, _ in bar[1:]} == {"update_display_data"}  # one, in place
    assert "<progress" in bar[-1][1]["text/html"] and "/40 rows" in bar[-1][1]["text/plain"]
    assert "rows/s" in bar[-1][1]["text/plain"] and bar[-1][1]["text/plain"].endswith("· interrupted")
    assert emulator.wait_until(lambda: emulator.api.in_flight == 0, 10)
    sent_before = len(emulator.requests_to("chat"))
    unanswered = kernel_value(client, "[i for i, x in enumerate(out) if x is None]")
    answered = 40 - len(unanswered)
    assert kernel_value(client, "len(out)") == 40 and 0 < answered < 40
    assert f"interrupted: {answered} of 40 rows answered; stored in out" in errors[0]["traceback"][0]
    assert "send only the other" in errors[0]["traceback"][0]

    emulator.latency = 0
    reply = client.execute_interactive(cell, timeout=60)
    assert reply["content"]["status"] == "ok", reply["content"]
    resent = [r.body["messages"][-1]["content"] for r in emulator.requests_to("chat")[sent_before:]]
    assert sorted(resent) == sorted(f"Name item {i}" for i in unanswered)  # only the rest, each once
    assert kernel_value(client, "sum(x is not None for x in out)") == 40
