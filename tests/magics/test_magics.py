"""%%gigachat and %gigachat on a real IPython shell, against the emulator over HTTPS."""

from __future__ import annotations

import subprocess
import sys

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from gigachat_mcp import StreamError, TLSError
from gigachat_mcp.emulator import Emulator


def ask(ip: InteractiveShell, line: str, cell: str) -> str:
    with capture_output() as cap:
        ip.run_cell_magic("gigachat", line, cell)
    return cap.stdout


def magics(ip: InteractiveShell):
    return ip.magics_manager.registry["GigaChatMagics"]


def test_load_registers_both_magics_and_unload_removes_them(emulator: Emulator) -> None:
    ip = InteractiveShell.instance()
    before = (ip.CustomTB, ip.custom_exceptions, set(ip.user_ns), list(ip.events.callbacks["pre_run_cell"]))
    assert ip.extension_manager.load_extension("gigachat_magics") is None
    assert ip.extension_manager.load_extension("gigachat_magics") == "already loaded"
    assert "gigachat" in ip.magics_manager.magics["cell"] and "gigachat" in ip.magics_manager.magics["line"]
    after = (ip.CustomTB, ip.custom_exceptions, set(ip.user_ns), list(ip.events.callbacks["pre_run_cell"]))
    assert before == after  # loading changes nothing else in the shell
    ip.extension_manager.reload_extension("gigachat_magics")
    assert "gigachat" in ip.magics_manager.magics["cell"]
    ip.extension_manager.unload_extension("gigachat_magics")
    assert "gigachat" not in ip.magics_manager.magics["cell"]
    assert "GigaChatMagics" not in ip.magics_manager.registry


def test_loading_is_cheap_and_imports_neither_mcp_nor_httpx() -> None:
    code = ("from IPython.core.interactiveshell import InteractiveShell; import sys; "
            "InteractiveShell.instance().extension_manager.load_extension('gigachat_magics'); "
            "print([m for m in ('mcp', 'httpx', 'gigachat_mcp.client') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_answer_streams_into_the_terminal_output(shell: InteractiveShell) -> None:
    out = ask(shell, "", "Hello [emulator words=10]")
    answer, status = out.rstrip("\n").rsplit("\n", 1)
    assert answer.startswith('GigaChat emulator (GigaChat-2) heard: "Hello".') and answer.endswith("w10.")
    assert status.startswith("[GigaChat-2:2.0.28.2 · ") and "tokens" in status


def test_quoted_options_reach_the_api(shell: InteractiveShell, emulator: Emulator) -> None:
    out = ask(shell, "-m GigaChat-2-Max -s 'Answer like a pirate' -t 0.3 --max-tokens 60", "Hi")
    sent = emulator.requests_to("chat")[-1].body
    assert sent["model"] == "GigaChat-2-Max" and sent["temperature"] == 0.3 and sent["max_tokens"] == 60
    assert sent["messages"][0] == {"role": "system", "content": "Answer like a pirate"}
    assert 'System prompt: "Answer like a pirate"' in out


def test_conversation_carries_across_cells_and_new_starts_afresh(shell: InteractiveShell) -> None:
    ask(shell, "-s 'Be brief'", "My name is Ada.")
    second = ask(shell, "", "What is my name?")
    assert "Roles: system,user,assistant,user." in second and 'Previous user message: "My name is Ada."' in second
    fresh = ask(shell, "--new", "Who am I?")
    assert "Roles: user." in fresh and "Previous user message" not in fresh


def test_history_is_bounded(shell: InteractiveShell) -> None:
    shell.run_line_magic("config", "GigaChatMagics.max_history = 2")
    for i in range(5):
        ask(shell, "", f"q{i}")
    assert len(magics(shell).history.exchanges) == 2
    out = ask(shell, "", "last")
    assert "Roles: user,assistant,user,assistant,user." in out


def test_rerunning_a_cell_replaces_its_exchange(shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> None:
    cell = {"id": "cell-a"}
    monkeypatch.setattr(shell, "get_parent", lambda: {"metadata": {"cellId": cell["id"]}}, raising=False)
    ask(shell, "", "first try")
    ask(shell, "", "second try")  # the same cell, edited and re-run
    cell["id"] = "cell-b"
    out = ask(shell, "", "another cell")
    assert [e.user for e in magics(shell).history.exchanges] == ["second try", "another cell"]
    assert "Roles: user,assistant,user." in out and 'Previous user message: "second try"' in out


def test_output_variable(shell: InteractiveShell) -> None:
    ask(shell, "-o answer", "store me")
    assert shell.user_ns["answer"].startswith('GigaChat emulator (GigaChat-2) heard: "store me".')
    with pytest.raises(UsageError, match="-o needs a Python variable name"):
        ask(shell, "-o 'not valid'", "x")


def test_code_format_puts_the_code_in_a_new_cell(shell: InteractiveShell) -> None:
    shell.rl_next_input = None
    ask(shell, "-f code", "Fix this:\n```python\nprint('hi')\n```")
    assert shell.rl_next_input == "print('hi')"


def test_braces_pass_through_unless_templating_is_asked_for(shell: InteractiveShell, emulator: Emulator) -> None:
    shell.user_ns["city"] = "Kazan"
    ask(shell, "", 'Parse {"city": "x"} for {city}')
    assert emulator.requests_to("chat")[-1].body["messages"][-1]["content"] == 'Parse {"city": "x"} for {city}'
    ask(shell, "-T", 'Parse {"city": "x"} for {city}')
    assert emulator.requests_to("chat")[-1].body["messages"][-1]["content"] == 'Parse {"city": "x"} for Kazan'
    sent = len(emulator.requests_to("chat"))
    with pytest.raises(UsageError) as caught:
        ask(shell, "-T", "Compare {city} with {undefined_var} and {other}")
    assert str(caught.value).startswith("-T: {other}, {undefined_var} are not defined, so nothing was sent.")
    assert len(emulator.requests_to("chat")) == sent


def test_rich_display_updates_one_handle_with_markdown_and_plain(shell: InteractiveShell,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 emulator: Emulator) -> None:
    monkeypatch.setattr(shell, "kernel", object(), raising=False)  # what ipykernel's shell has
    shell.run_line_magic("config", "GigaChatMagics.update_interval = 0.05")
    with capture_output() as cap:
        shell.run_cell_magic("gigachat", "", "stream [emulator words=40 delay=0.02]")
    answer_outputs = [o for o in cap.outputs if "text/markdown" in o.data and "heard" in o.data["text/markdown"]]
    ids = {o.transient["display_id"] for o in cap.outputs if o.transient}
    assert len(ids) == 1  # one display, updated in place
    assert sum(1 for o in cap.outputs if o.update) >= 4
    final = answer_outputs[-1].data
    assert final["text/markdown"] == final["text/plain"] and final["text/plain"].endswith("w40.")
    assert cap.outputs[-1].data["text/markdown"].startswith("*GigaChat-2:2.0.28.2 · ")  # the status line
    assert cap.stdout == ""


def test_text_format_bundle_is_plain_only(shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shell, "kernel", object(), raising=False)
    with capture_output() as cap:
        shell.run_cell_magic("gigachat", "-f text", "plain please")
    assert cap.outputs and all(set(o.data) == {"text/plain"} for o in cap.outputs)
    assert any('heard: "plain please"' in o.data["text/plain"] for o in cap.outputs)


def test_missing_credentials_offers_the_emulator_in_a_form_the_magic_can_use(tmp_path) -> None:
    """The hint's snippet, run as written in a fresh IPython, makes the next %%gigachat cell work."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.helpers import subprocess_env

    code = """
import re
from IPython.core.error import UsageError
ip = get_ipython()
try:
    ip.run_cell_magic("gigachat", "", "hi")
except UsageError as exc:
    message = str(exc)
print("MESSAGE", message)
snippet = re.search(r"emulator in this kernel: `([^`]+)`", message).group(1)
ip.run_cell(snippet)
ip.run_cell_magic("gigachat", "", "hello emulator")
"""
    (tmp_path / "try.py").write_text(code)
    ipython = Path(sys.executable).parent / "ipython"
    proc = subprocess.run([str(ipython), "--no-banner", "--colors=nocolor", "--ext=gigachat_magics", "-c",
                           "get_ipython().safe_execfile('try.py', get_ipython().user_ns)"],
                          cwd=tmp_path, env=subprocess_env(IPYTHONDIR=str(tmp_path / "ipython")),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    message = proc.stdout.split("MESSAGE ", 1)[1].splitlines()[0]
    assert "GIGACHAT_CREDENTIALS" in message and "getpass" in message
    assert "client_settings()" not in message  # the Python-client hint does not reach the magic's users
    assert 'heard: "hello emulator"' in proc.stdout


def test_missing_credentials_is_one_line_without_suggesting_env_magic(monkeypatch: pytest.MonkeyPatch,
                                                                      emulator: Emulator) -> None:
    monkeypatch.setenv("GIGACHAT_BASE_URL", emulator.base_url)
    monkeypatch.setenv("GIGACHAT_CA_BUNDLE_FILE", emulator.ca_file)
    ip = InteractiveShell.instance()
    ip.extension_manager.load_extension("gigachat_magics")
    try:
        with pytest.raises(UsageError) as caught:
            ask(ip, "", "hi")
        message = str(caught.value)
        assert "GIGACHAT_CREDENTIALS" in message and "getpass" in message and "%env" not in message
        for name, value in emulator.env(token_cache="memory").items():  # set it now: the next cell works
            monkeypatch.setenv(name, value)
        assert "heard" in ask(ip, "", "hi again")
    finally:
        ip.extension_manager.unload_extension("gigachat_magics")


@pytest.mark.parametrize(("fault", "line", "kind", "fragment"), [
    (None, "-m GigaChat-9000", "APIError", "Model 'GigaChat-9000' does not exist for this key (404 No such model). "
                                           "List the models it offers with `%gigachat models`."),
    ({"status": 429, "headers": {"Retry-After": "60"}}, "", "RateLimitError", "rate limiting this key"),
])
def test_api_errors_are_one_line_named_as_what_they_are(shell: InteractiveShell, emulator: Emulator, fault,
                                                        line: str, kind: str, fragment: str) -> None:
    if fault:
        emulator.add_fault("chat", **fault)
    result = shell.run_cell(f"%%gigachat {line}\nhi")
    assert not result.success and type(result.error_in_exec).__name__ == kind  # not a UsageError
    [shown] = result.error_in_exec._render_traceback_()  # what IPython prints instead of a traceback
    assert shown.startswith(f"{kind}: GigaChat: ") and fragment in shown


def test_untrusted_server_is_a_tls_hint(shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "heard" in ask(shell, "", "trusted")
    monkeypatch.delenv("GIGACHAT_CA_BUNDLE_FILE")  # a changed environment applies to the next cell
    with pytest.raises(TLSError, match="GIGACHAT_CA_BUNDLE_FILE"):
        ask(shell, "", "hi")


def test_error_mid_stream_keeps_the_partial_text_marked(shell: InteractiveShell, emulator: Emulator) -> None:
    emulator.add_fault("chat", after_chunks=3, drop="mid")
    with capture_output() as cap, pytest.raises(StreamError, match="The stream broke"):
        shell.run_cell_magic("gigachat", "", "break [emulator words=30]")
    assert cap.stdout.startswith("GigaChat emulator") and "[stopped by an error]" in cap.stdout
    assert magics(shell).history.exchanges == []  # a broken answer is not remembered


def test_bad_options_are_one_line_usage_errors(shell: InteractiveShell) -> None:
    for line in ("--bogus", "-t warm", "-f html", "-s 'unbalanced"):
        result = shell.run_cell(f"%%gigachat {line}\nhi")
        assert isinstance(result.error_in_exec, UsageError), line


def test_help_shows_the_usage(shell: InteractiveShell) -> None:
    doc = " ".join(shell.magics_manager.magics["cell"]["gigachat"].__doc__.split())  # argparse wraps lines
    assert "%%gigachat [-m MODEL] [-s SYSTEM] [-t TEMPERATURE] [--max-tokens MAX_TOKENS] [--new]" in doc
    assert "[-o VAR] [-f {markdown,text,code,json}]" in doc
    assert "[--think [LEVEL]] [--web] [--schema SCHEMA]" in doc


def test_line_magic_subcommands(shell: InteractiveShell, emulator: Emulator) -> None:
    ask(shell, "", "count me")
    with capture_output() as cap:
        for command in ("models", "history", "usage", "config", "reset", "history"):
            shell.run_line_magic("gigachat", command)
    out = cap.stdout
    assert "GigaChat-2                   chat  (default)" in out and "Embeddings" in out
    assert "[1] user: count me" in out
    assert "1 answers this session:" in out and "tokens" in out
    assert "auth: oauth   credentials: set" in out and emulator.credentials not in out
    assert "Conversation cleared." in out and out.rstrip().endswith("(no exchanges yet)")
    with pytest.raises(UsageError, match="takes one of: models, history, reset, usage, config"):
        shell.run_line_magic("gigachat", "dance")


def test_defaults_come_from_traitlets(shell: InteractiveShell, emulator: Emulator) -> None:
    shell.run_line_magic("config", "GigaChatMagics.model = 'GigaChat-2-Pro'")
    shell.run_line_magic("config", "GigaChatMagics.temperature = 0.7")
    shell.run_line_magic("config", "GigaChatMagics.system = 'Default system'")
    ask(shell, "--new", "hi")
    sent = emulator.requests_to("chat")[-1].body
    assert sent["model"] == "GigaChat-2-Pro" and sent["temperature"] == 0.7
    assert sent["messages"][0]["content"] == "Default system"
