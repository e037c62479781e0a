"""Rough edges a new user met on the command line (issue 21), each as the command that showed it, run the way
the user ran it: a subprocess, and a real MCP client over stdio where the server is involved."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from gigachat_mcp import ConfigError, GigaChat
from gigachat_mcp.emulator import Emulator
from tests.cli.test_commands import CLI, run
from tests.cli.test_first_contact import one_line
from tests.helpers import subprocess_env


def test_a_port_out_of_range_is_one_line_and_exit_2() -> None:
    proc = run("serve", "--transport", "streamable-http", "--port", "99999", env=subprocess_env(), timeout=30)
    assert proc.returncode == 2
    assert one_line(proc.stderr) == ("gigachat-mcp serve: argument --port: must be a port number from 1 to 65535, "
                                     "not 99999 (see gigachat-mcp serve --help)")


@pytest.mark.parametrize(("args", "effort"), [
    (["--think", "2+2?"], "medium"),  # the prompt is the prompt, not a level
    (["--think", "high", "2+2?"], "high"),
    (["--think=low", "2+2?"], "low"),
    (["2+2?", "--think"], "medium"),
])
def test_think_takes_a_level_only_when_the_next_word_is_one(emulator: Emulator, args: list[str], effort: str) -> None:
    proc = run("ask", *args, env=subprocess_env(emulator))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('GigaChat emulator (GigaChat-2) heard: "2+2?".')
    assert f'Thinking ({effort} effort) about "2+2?"' in proc.stderr


def test_a_mistyped_flag_names_the_nearest_one_and_the_commands_own_help(emulator: Emulator) -> None:
    proc = run("ask", "--modle", "GigaChat-2-Max", "hi", env=subprocess_env(emulator))
    assert proc.returncode == 2
    assert one_line(proc.stderr) == ("gigachat-mcp ask: unrecognized option: --modle (did you mean --model?) "
                                     "(see gigachat-mcp ask --help)")  # the prompt "hi" is not blamed
    assert not emulator.requests_to("chat")


def test_max_tokens_zero_names_the_flag() -> None:
    proc = run("ask", "--max-tokens", "0", "hi", env=subprocess_env())
    assert proc.returncode == 2
    assert one_line(proc.stderr) == ("gigachat-mcp ask: argument --max-tokens: must be a whole number of 1 or more, "
                                     "not 0 (see gigachat-mcp ask --help)")


def test_redis_without_the_extra_says_which_extra_to_install() -> None:
    """The test environment has redis; `sys.modules["redis"] = None` makes it absent for the command, as an
    install without the extra is (the command's own `main`, run by this interpreter)."""
    argv = ["serve", "--transport", "streamable-http", "--port", "8765", "--redis", "redis://127.0.0.1:6379/0"]
    code = f"import sys; sys.modules['redis'] = None; from gigachat_mcp.cli import main; sys.exit(main({argv!r}))"
    proc = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert one_line(proc.stderr) == ("gigachat-mcp: --redis (or GIGACHAT_MCP_REDIS_URL) needs the redis extra: pip "
                                     "install 'gigachat-mcp[redis]' (or pip install redis), then run the command "
                                     "again.")


def test_ask_with_the_emulator_still_refuses_a_bad_setting(emulator: Emulator) -> None:
    proc = run("ask", "--emulator", "hi", env=subprocess_env(GIGACHAT_TIMEOUT="abc"))
    assert proc.returncode == 2
    assert one_line(proc.stderr) == "gigachat-mcp: GIGACHAT_TIMEOUT must be a number, not 'abc'."


def test_an_unknown_model_on_the_emulator_points_at_a_listing_that_works() -> None:
    proc = run("ask", "--emulator", "-m", "Nope-1", "hi", env=subprocess_env())
    assert "List the models it offers with `gigachat-mcp models --emulator`." in one_line(proc.stderr)
    listing = run("models", "--emulator", env=subprocess_env())
    assert listing.returncode == 0 and "GigaChat-2" in listing.stdout


def test_the_python_client_without_credentials_mentions_the_emulator() -> None:
    with GigaChat() as giga, pytest.raises(ConfigError) as caught:
        giga.chat("hi")
    assert "No GigaChat credentials are set." in str(caught.value)
    assert "built-in emulator" in str(caught.value) and "Emulator()" in str(caught.value)


@pytest.mark.anyio
async def test_serve_emulator_keeps_the_users_other_settings(tmp_path: Path) -> None:
    """File roots and drawing switched off still apply with --emulator; only who you are and where you connect
    are the emulator's."""
    (tmp_path / "notes.txt").write_text("roots kept")
    env = subprocess_env(GIGACHAT_MCP_FILE_ROOTS=str(tmp_path), GIGACHAT_IMAGE_GENERATION="false",
                         GIGACHAT_CREDENTIALS="c29tZW9uZTplbHNl", GIGACHAT_SCOPE="GIGACHAT_API_B2B")
    command, *args = CLI
    async with Client(StdioServerParameters(command=command, args=[*args, "serve", "--emulator"], env=env)) as client:
        read = await client.call_tool("chat", {"prompt": "summarise", "attachments": [str(tmp_path / "notes.txt")]})
        draw = await client.call_tool("chat", {"prompt": "нарисуй кота"})
    assert not read.is_error, read.content
    assert 'Text of notes.txt: "roots kept"' in read.structured_content["text"]  # GIGACHAT_MCP_FILE_ROOTS applies
    assert not draw.is_error and draw.structured_content["files"] == []  # GIGACHAT_IMAGE_GENERATION=false applies


@pytest.mark.anyio
async def test_bare_gigachat_mcp_with_emulator_serves_mcp_over_stdio() -> None:
    command, *args = CLI
    async with Client(StdioServerParameters(command=command, args=[*args, "--emulator"],
                                            env=subprocess_env())) as client:
        result = await client.call_tool("chat", {"prompt": "hello"})
    assert not result.is_error
    assert result.structured_content["text"].startswith('GigaChat emulator (GigaChat-2) heard: "hello".')


def test_bare_gigachat_mcp_in_a_terminal_says_what_it_is_on_stderr() -> None:
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(CLI, stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=subprocess_env())
    os.close(terminal)
    try:
        first, second = proc.stderr.readline().decode(), proc.stderr.readline().decode()
    finally:
        proc.kill()
        proc.wait(timeout=30)
        os.close(controller)
    assert first.startswith("gigachat-mcp: this is an MCP server, now waiting for an MCP client on stdin/stdout")
    assert "gigachat-mcp demo" in second and "gigachat-mcp --emulator" in second
    assert proc.stdout.read() == b""  # stdout stays the protocol channel


def test_bare_gigachat_mcp_run_by_a_host_prints_no_note() -> None:
    proc = subprocess.run(CLI, input="", capture_output=True, text=True, env=subprocess_env(), timeout=60)
    assert proc.returncode == 0 and "MCP server" not in proc.stderr, proc.stderr  # a pipe: only the protocol
