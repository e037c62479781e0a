"""Each `gigachat-mcp` command as a subprocess, the way users run it, against the emulator."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import time

import pytest

from gigachat_mcp import GigaChat
from gigachat_mcp.emulator import Emulator
from tests.helpers import gigachat_mcp_command, subprocess_env

CLI = gigachat_mcp_command()


def run(*args: str, env: dict[str, str], input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=env, input=input, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("tls", [True, False], ids=["https", "http"])
def test_ask_streams_to_the_terminal_and_exits_0(tls: bool) -> None:
    with Emulator(tls=tls, chunk_delay=0.04) as emu:
        proc = subprocess.Popen([*CLI, "ask", "Привет [emulator words=30]"], env=subprocess_env(emu),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = proc.stdout.read1(64)
        first_at = time.monotonic()
        rest, err = proc.communicate(timeout=60)
        ended_at = time.monotonic()
    assert proc.returncode == 0, err
    text = (first + rest).decode()
    assert text.startswith('GigaChat emulator (GigaChat-2) heard: "Привет".') and text.endswith("w30.\n")
    assert ended_at - first_at > 0.3  # the first words were on screen while the rest was still coming


def test_ask_reads_stdin_and_prints_json_for_scripts(emulator: Emulator) -> None:
    proc = run("ask", "--json", "-m", "GigaChat-2-Pro", "-s", "Be brief", "-t", "0.2", "--max-tokens", "50",
               env=subprocess_env(emulator), input="from stdin")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert 'heard: "from stdin"' in data["text"] and 'System prompt: "Be brief"' in data["text"]
    assert "temperature=0.2, max_tokens=50" in data["text"]
    assert data["model"] == "GigaChat-2-Pro:2.0.28.2" and data["usage"]["total_tokens"] > 0


def test_ask_with_a_bad_key_exits_1_with_the_hint(emulator: Emulator) -> None:
    proc = run("ask", "hi", env=subprocess_env(emulator, GIGACHAT_CREDENTIALS="d3Jvbmc6a2V5"))
    assert proc.returncode == 1
    assert "does not know these credentials: check GIGACHAT_CREDENTIALS" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("args", [["ask"], ["ask", "--temperature", "warm", "x"], ["bogus-command"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert run(*args, env=subprocess_env(), input="").returncode == 2


def test_ask_interrupted_exits_130_keeping_what_was_printed() -> None:
    with Emulator(chunk_delay=0.05) as emu:
        proc = subprocess.Popen([*CLI, "ask", "long [emulator words=400]"], env=subprocess_env(emu),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        head = proc.stdout.read1(32)
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
        assert emu.wait_until(lambda: emu.streams and emu.streams[-1].outcome == "client went away", 5)
    assert proc.returncode == 130
    assert (head + rest).decode().startswith("GigaChat emulator")
    assert "interrupted" in err.decode() and "Traceback" not in err.decode()


def test_emulator_command_prints_an_environment_that_works(tmp_path) -> None:
    proc = subprocess.Popen([*CLI, "emulator", "--cert-dir", str(tmp_path)], env=subprocess_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        env: dict[str, str] = {}
        while "GIGACHAT_CA_BUNDLE_FILE" not in env:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            if line.startswith("export "):
                name, _, value = line[len("export "):].strip().partition("=")
                env[name] = shlex.split(value)[0]
        settings = {name.removeprefix("GIGACHAT_").lower(): value for name, value in env.items()}
        with GigaChat(**settings, token_cache="memory") as giga:
            assert "heard" in giga.chat("from another process").text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def test_doctor_passes_against_a_good_setup(emulator: Emulator) -> None:
    proc = run("doctor", env=subprocess_env(emulator))
    assert proc.returncode == 0, proc.stdout
    for step in ("credentials", "trust", "dns 127.0.0.1", "tls 127.0.0.1", "token", "models", "chat"):
        assert f"[  ok] {step}" in proc.stdout
    assert "All checks passed." in proc.stdout
    assert emulator.credentials not in proc.stdout + proc.stderr
    assert "GIGACHAT_CREDENTIALS=***" in proc.stdout


def test_doctor_names_the_fix_for_an_untrusted_ca(emulator: Emulator) -> None:
    env = subprocess_env(emulator)
    del env["GIGACHAT_CA_BUNDLE_FILE"]
    proc = run("doctor", env=env)
    assert proc.returncode == 1
    assert "[FAIL] tls 127.0.0.1" in proc.stdout
    assert "set GIGACHAT_CA_BUNDLE_FILE=/path/to/ca.pem" in proc.stdout


def test_doctor_names_the_fix_for_a_wrong_scope(emulator: Emulator) -> None:
    proc = run("doctor", env=subprocess_env(emulator, GIGACHAT_SCOPE="GIGACHAT_API_B2B"))
    assert proc.returncode == 1
    assert "[FAIL] token" in proc.stdout and "OAuth 400 code 7" in proc.stdout
    assert "Set GIGACHAT_SCOPE to your project's scope" in proc.stdout


def test_doctor_without_credentials_explains_what_to_do() -> None:
    proc = run("doctor", env=subprocess_env(GIGACHAT_BASE_URL="http://127.0.0.1:9/v1"))
    assert proc.returncode == 2  # fixed in the settings, like every command's usage errors
    assert "[FAIL] credentials: none set" in proc.stdout
    assert "Set GIGACHAT_CREDENTIALS to your authorization key" in proc.stdout
    assert "gigachat-mcp doctor --emulator" in proc.stdout


def test_doctor_shows_the_proxy_without_its_password_and_goes_through_it(emulator: Emulator) -> None:
    from tests.connect_proxy import connect_proxy

    port = emulator.base_url.split("://")[1].split("/")[0].rpartition(":")[2]
    with connect_proxy("alice", "hunter22pw") as proxy:
        env = subprocess_env(emulator, GIGACHAT_PROXY=proxy.url("alice", "hunter22pw"), NO_PROXY="localhost",
                             GIGACHAT_AUTH_URL=emulator.auth_url.replace("127.0.0.1", "localhost"))
        proc = run("doctor", env=env)
    assert proc.returncode == 0, proc.stdout
    assert (f"[info] proxy 127.0.0.1:{port}: through http://***@127.0.0.1:{proxy.port} (GIGACHAT_PROXY)"
            in proc.stdout)
    assert "[  ok] dns localhost" in proc.stdout  # NO_PROXY: the OAuth host is checked directly
    assert "hunter22pw" not in proc.stdout + proc.stderr and "GIGACHAT_PROXY=***" in proc.stdout
    assert proxy.targets == {f"127.0.0.1:{port}"}  # the token, models and chat steps went through it


def test_ask_on_the_emulator_offers_the_near_model_and_a_command_that_works() -> None:
    proc = run("ask", "--emulator", "-m", "GigaChat-2-Mxa", "hi", env=subprocess_env())
    assert proc.returncode == 1
    assert "Did you mean 'GigaChat-2-Max'?" in proc.stderr and "`gigachat-mcp models --emulator`" in proc.stderr
    listed = run("models", "--emulator", env=subprocess_env())  # the command it names works
    assert listed.returncode == 0 and "GigaChat-2-Max" in listed.stdout


def test_doctor_against_the_built_in_emulator_passes() -> None:
    proc = run("doctor", "--emulator", env=subprocess_env())
    assert proc.returncode == 0 and "All checks passed." in proc.stdout


@pytest.mark.parametrize("host", ["claude-desktop", "cursor", "vscode"])
def test_config_snippets_are_json_with_an_absolute_command(host: str) -> None:
    proc = run("config", host, env=subprocess_env(GIGACHAT_SCOPE="GIGACHAT_API_B2B",
                                                  GIGACHAT_CREDENTIALS="c2VjcmV0OnZhbHVl"))
    assert proc.returncode == 0
    document = json.loads(proc.stdout)
    entry = (document.get("mcpServers") or document["servers"])["gigachat"]
    assert entry["command"].startswith("/") and entry["env"]["GIGACHAT_SCOPE"] == "GIGACHAT_API_B2B"
    assert "c2VjcmV0OnZhbHVl" not in proc.stdout  # the key is never read into the snippet
    if host == "vscode":
        assert entry["type"] == "stdio" and entry["env"]["GIGACHAT_CREDENTIALS"] == "${input:gigachat-key}"
    started = subprocess.run([entry["command"], *entry["args"], "--version"], capture_output=True, text=True)
    assert started.stdout.startswith("gigachat-mcp ")


def test_config_for_claude_code_is_a_shell_command() -> None:
    proc = run("config", "claude-code", env=subprocess_env())
    words = shlex.split(proc.stdout)
    assert words[:4] == ["claude", "mcp", "add", "gigachat"]
    assert words[words.index("--") + 1].startswith("/")


def test_demo_runs_the_whole_product_without_credentials() -> None:
    proc = run("demo", env=subprocess_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "answering from the built-in emulator" in proc.stdout
    assert "tools: chat, list_models" in proc.stdout
    assert "w60." in proc.stdout and "Previous user message" in proc.stdout
    assert "status done, 4 messages" in proc.stdout


def test_help_explains_the_first_steps() -> None:
    proc = run("--help", env=subprocess_env())
    assert "gigachat-mcp demo" in proc.stdout and "GIGACHAT_CREDENTIALS" in proc.stdout
