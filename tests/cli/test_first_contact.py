"""What a new user meets on the command line: one exit-code rule, one clear line per failure, `models`, hints."""

from __future__ import annotations

import json
import socket

import pytest

from gigachat_mcp.emulator import Emulator
from tests.cli.test_commands import run
from tests.helpers import subprocess_env


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize(("args", "env", "fragment"), [
    (["ask", "--max-tokens", "-1", "hi"], {}, "argument --max-tokens: must be a whole number of 1 or more, not -1"),
    (["ask", "-t", "abc", "hi"], {}, "argument -t/--temperature: invalid float value: 'abc'"),
    (["ask", "hi"], {"GIGACHAT_TIMEOUT": "-5"}, "GIGACHAT_TIMEOUT must be a positive number of seconds, not -5."),
    (["ask", "hi"], {"GIGACHAT_SCOPE": "x"}, "GIGACHAT_SCOPE='x' is not a GigaChat scope"),
    (["models"], {"GIGACHAT_API_VERSION": "v9"}, "GIGACHAT_API_VERSION must be v1 or v2"),
])
def test_usage_errors_and_bad_settings_exit_2_with_one_line(emulator: Emulator, args: list[str], env: dict,
                                                            fragment: str) -> None:
    proc = run(*args, env=subprocess_env(emulator, **env))
    assert proc.returncode == 2
    assert fragment in one_line(proc.stderr)
    assert not emulator.requests_to("chat")  # nothing was sent


def test_gigachat_and_network_errors_exit_1_with_one_line(emulator: Emulator) -> None:
    refused = run("ask", "hi", env=subprocess_env(emulator, GIGACHAT_BASE_URL="https://127.0.0.1:9/v1",
                                                  GIGACHAT_MAX_RETRIES="0"))
    assert refused.returncode == 1 and "Could not connect to 127.0.0.1" in one_line(refused.stderr)


def test_a_busy_port_exits_2_with_one_clear_line() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = run("serve", "--transport", "streamable-http", "--port", str(port), env=subprocess_env(), timeout=30)
    assert proc.returncode == 2 and "Errno" not in proc.stderr
    assert one_line(proc.stderr) == (f"gigachat-mcp: port {port} on 127.0.0.1 is already in use: stop what holds "
                                     "it, or pick another with --port.")


def test_the_emulator_on_a_busy_port_exits_2_with_one_clear_line() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = run("emulator", "--port", str(port), env=subprocess_env(), timeout=30)
    assert proc.returncode == 2
    assert one_line(proc.stderr).startswith(f"gigachat-mcp: port {port} on 127.0.0.1 is already in use")


def test_doctor_exits_2_for_a_bad_setting_and_1_for_a_failed_connection(emulator: Emulator) -> None:
    bad = run("doctor", env=subprocess_env(emulator, GIGACHAT_TIMEOUT="-5"))
    assert bad.returncode == 2 and "GIGACHAT_TIMEOUT must be a positive number of seconds, not -5." in bad.stdout
    env = subprocess_env(emulator)
    del env["GIGACHAT_CA_BUNDLE_FILE"]
    assert run("doctor", env=env).returncode == 1  # an untrusted certificate: not a usage error


def test_models_lists_what_the_key_offers_with_the_default_marked(emulator: Emulator) -> None:
    proc = run("models", env=subprocess_env(emulator, GIGACHAT_MODEL="GigaChat-2-Max"))
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()]
    assert ["GigaChat-2-Max", "chat", "(default)"] in rows and ["GigaChat-2", "chat"] in rows
    assert ["Embeddings", "embedder"] in rows
    as_json = json.loads(run("models", "--json", env=subprocess_env(emulator)).stdout)
    assert {"id": "GigaChat-2-Pro", "type": "chat", "owned_by": as_json[1]["owned_by"]} in as_json


def test_a_wrong_model_names_the_command_that_lists_models(emulator: Emulator) -> None:
    proc = run("ask", "-m", "GigaChat-9000", "hi", env=subprocess_env(emulator))
    assert proc.returncode == 1
    line = one_line(proc.stderr)
    assert "Model 'GigaChat-9000' does not exist for this key" in line
    assert line.endswith("List the models it offers with `gigachat-mcp models`.")
    listed = run("models", env=subprocess_env(emulator))  # and that command does work
    assert "GigaChat-2-Max" in listed.stdout


def test_ask_warns_on_stderr_when_the_answer_was_cut_off(emulator: Emulator) -> None:
    proc = run("ask", "--max-tokens", "5", "tell me everything", env=subprocess_env(emulator))
    assert proc.returncode == 0
    assert proc.stdout.strip()  # the cut-off answer is still printed
    assert "cut off by --max-tokens 5 (finish_reason: length)" in one_line(proc.stderr)
    whole = run("ask", "hi", env=subprocess_env(emulator))
    assert whole.stderr == ""  # a complete answer has nothing to warn about


@pytest.mark.parametrize("command", [["ask", "hi"], ["models"]])
def test_no_credentials_exits_2_and_mentions_the_emulator(command: list[str]) -> None:
    proc = run(*command, env=subprocess_env())
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert "Set GIGACHAT_CREDENTIALS" in line
    assert f"To try it without a key: gigachat-mcp {command[0]}" in line and line.endswith("--emulator")


def test_demo_shows_the_prompt_as_typed_without_emulator_directives() -> None:
    proc = run("demo", "Привет!", env=subprocess_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "\n> Привет!\n" in proc.stdout
    assert "[emulator" not in proc.stdout
    assert "w60." in proc.stdout  # the directive still paced the answer


def test_verification_off_is_one_clean_line_once(emulator: Emulator) -> None:
    env = subprocess_env(emulator, GIGACHAT_VERIFY_SSL_CERTS="false")
    del env["GIGACHAT_CA_BUNDLE_FILE"]
    proc = run("ask", "hi", env=env)
    assert proc.returncode == 0, proc.stderr
    line = one_line(proc.stderr)
    assert line.startswith("gigachat-mcp: GIGACHAT_VERIFY_SSL_CERTS=false: TLS certificates are NOT verified")
    assert "UserWarning" not in line and ".py" not in line


def test_doctor_says_skip_once() -> None:
    proc = run("doctor", env=subprocess_env(GIGACHAT_BASE_URL="http://127.0.0.1:9/v1"))
    assert "[skip] token: no credentials" in proc.stdout and "skipped" not in proc.stdout
