"""No secret anywhere a user or a log collector can see: one session through every surface, then a search.

Secrets: the authorization key, its decoded client secret, a password, a wrong key, and every access token
the emulator issued. Places: log records at DEBUG (every logger, httpx and httpcore included), error messages
and reprs, MCP results and resources, the stdio server's stderr at DEBUG, doctor's output, a saved notebook,
and every file written (only the 0600 token cache may hold a token, and never a key).
"""

from __future__ import annotations

import base64
import json
import logging
import stat
import subprocess
from pathlib import Path

import anyio
import nbformat
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from gigachat_mcp import GigaChat, GigaChatError, Settings
from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from tests.helpers import gigachat_mcp_command, subprocess_env

WRONG_SECRET = "wrong-secret-must-stay-hidden"
WRONG_KEY = base64.b64encode(f"wrong-id:{WRONG_SECRET}".encode()).decode()


def test_no_secret_leaks_anywhere(emulator: Emulator, tmp_path: Path, token_cache: Path,
                                  caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)  # root: gigachat_mcp, httpx, httpcore, mcp
    seen: list[str] = []
    settings = emulator.client_settings(retry_backoff_factor=0.01)

    # --- core: success, streaming, every kind of failure -----------------------------------------------------
    with GigaChat(**settings) as giga:
        seen += [giga.chat("hello").text, "".join(c.text for c in giga.stream("stream me")), repr(giga),
                 repr(giga.settings), repr(giga._auth._source.current())]
        emulator.revoke_tokens()
        seen.append(giga.chat("after revoke").text)
        emulator.add_fault("chat", after_chunks=2, drop="mid")
        seen += failure(lambda: list(giga.stream("break [emulator words=20]")))
    for overrides in ({"credentials": WRONG_KEY}, {"credentials": None, "access_token": "emu-made-up-token"},
                      {"credentials": None, "user": "emulator", "password": "wrong-password-hidden"}):
        with GigaChat(**{**settings, **overrides}) as giga:
            seen += failure(lambda: giga.chat("hi"))
            seen.append(repr(giga.settings))
    with GigaChat(**{**settings, "credentials": None, "user": emulator.user, "password": emulator.password}) as giga:
        seen.append(giga.chat("with a password").text)

    # --- MCP in memory: results, resources, tool errors -----------------------------------------------------
    async def mcp_session() -> None:
        from mcp import Client

        for server_settings in (settings, {**settings, "credentials": WRONG_KEY}):
            server = build_server(Settings.resolve(environ={}, **server_settings))
            async with Client(server) as client:
                for args in ({"prompt": "mcp hello"}, {"prompt": "x", "model": "Nope-1"}):
                    result = await client.call_tool("chat", args)
                    seen.append(result.model_dump_json())
                    if not result.is_error:
                        uri = result.structured_content["resource_uri"]
                        seen.append((await client.read_resource(uri)).model_dump_json())
                seen.append((await client.call_tool("list_models", {})).model_dump_json())

    anyio.run(mcp_session)

    # --- the stdio server's stderr at DEBUG ----------------------------------------------------------------
    errlog = tmp_path / "server-stderr.log"

    async def stdio_session() -> None:
        command, *args = gigachat_mcp_command()
        params = StdioServerParameters(command=command, args=args,
                                       env=subprocess_env(emulator, GIGACHAT_LOG_LEVEL="DEBUG"))
        with errlog.open("w") as err:
            async with stdio_client(params, errlog=err) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                seen.append((await session.call_tool("chat", {"prompt": "stdio"})).model_dump_json())
                emulator.revoke_tokens()
                seen.append((await session.call_tool("chat", {"prompt": "stdio again"})).model_dump_json())

    anyio.run(stdio_session)
    seen.append(errlog.read_text())
    assert "DEBUG" in seen[-1] or "POST" in seen[-1]  # the log really was verbose

    # --- doctor, and a notebook saved to disk --------------------------------------------------------------
    doctor = subprocess.run([*gigachat_mcp_command(), "doctor"], env=subprocess_env(emulator), capture_output=True,
                            text=True, timeout=60)
    seen += [doctor.stdout, doctor.stderr]
    for name, value in subprocess_env(emulator, OTHER_KEY=WRONG_KEY).items():
        monkeypatch.setenv(name, value)
    nb = new_notebook(cells=[new_code_cell(source) for source in (
        "%load_ext gigachat_magics", "%%gigachat\nnotebook hello", "%gigachat config",
        "%%gigachat -m Nope-1\nfail",
        "import os; os.environ['GIGACHAT_CREDENTIALS'] = os.environ['OTHER_KEY']",  # no key value in the notebook
        "%%gigachat\nwith a wrong key")])
    NotebookClient(nb, timeout=60, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute()
    saved = tmp_path / "saved.ipynb"
    nbformat.write(nb, saved)

    # --- the search -------------------------------------------------------------------------------------------
    secrets = {"key": emulator.credentials, "client secret": "emulator-client-secret",
               "password": emulator.password, "wrong key": WRONG_KEY, "wrong secret": WRONG_SECRET,
               "wrong password": "wrong-password-hidden"}
    tokens = emulator.issued_tokens
    assert len(tokens) >= 4
    secrets.update({f"token {i}": token for i, token in enumerate(tokens)})
    haystacks = {"log records": "\n".join(r.getMessage() for r in caplog.records),
                 "outputs, errors, reprs, MCP results": "\n".join(seen)}
    caches = {token_cache, tmp_path / "xdg-cache" / "gigachat-mcp" / "tokens"}  # GIGACHAT_TOKEN_CACHE_DIR, default
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.parent not in caches:
            haystacks[f"file {path.relative_to(tmp_path)}"] = path.read_text(errors="replace")
    assert len(caplog.records) > 20 and "notebook hello" in haystacks["file saved.ipynb"]
    assert "does not know these credentials" in haystacks["file saved.ipynb"]  # the wrong key took effect
    leaks = [(what, where) for what, secret in secrets.items() for where, text in haystacks.items() if secret in text]
    assert leaks == []

    for path in (p for cache in caches for p in cache.glob("*")):  # where a token may live: private, no key
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text()
        assert not [what for what, secret in secrets.items() if not what.startswith("token") and secret in text]


def failure(action) -> list[str]:
    try:
        action()
    except GigaChatError as exc:
        return [str(exc), repr(exc), json.dumps(exc.__dict__, default=str)]
    raise AssertionError("expected a GigaChatError")


def test_log_redaction_covers_every_server_built_in_the_process(caplog: pytest.LogCaptureFixture) -> None:
    first = base64.b64encode(b"first-client:first-secret-value").decode()
    second = base64.b64encode(b"second-client:second-secret-value").decode()
    build_server(Settings.resolve(environ={}, credentials=first))
    build_server(Settings.resolve(environ={}, credentials=second))
    with caplog.at_level(logging.WARNING):
        logging.getLogger("someone.else").warning("careless: %s %s / %s", first, second, "second-secret-value")
    assert caplog.records[-1].getMessage() == "careless: *** *** / ***"
