"""Mistakes in team-server configuration get a clear message, before anything listens."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from gigachat_mcp.server.http.auth import AuthFileError, StaticTokenVerifier, load_token_file
from tests.helpers import gigachat_mcp_command, subprocess_env

pytestmark = pytest.mark.anyio


def test_a_token_file_line_that_is_not_a_hash_is_named(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("alice: 3f2a\n")
    with pytest.raises(AuthFileError, match=r"tokens:1: expected 'principal: <sha256") as error:
        load_token_file(path)
    assert "sha256sum" in str(error.value)
    with pytest.raises(AuthFileError, match="Cannot read --auth-tokens file"):
        load_token_file(tmp_path / "missing")
    path.write_text("# nobody yet\n")
    with pytest.raises(AuthFileError, match="names no principal"):
        load_token_file(path)


async def test_static_tokens_match_only_their_own_hash(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"ci-bot : {hashlib.sha256(b's3cret').hexdigest().upper()}\n")
    verifier = StaticTokenVerifier(load_token_file(path))
    accepted = await verifier.verify_token("s3cret")
    assert accepted is not None and accepted.client_id == "ci-bot" and accepted.token == ""  # the token is not kept
    assert await verifier.verify_token("s3cret ") is None and await verifier.verify_token("") is None


@pytest.mark.parametrize(("args", "message"), [
    (["--oauth-issuer", "http://127.0.0.1:9/"], "--oauth-issuer needs --public-url"),
    (["--auth-tokens", "x", "--oauth-issuer", "http://127.0.0.1:9/"], "either --auth-tokens or --oauth-issuer"),
    (["--auth-tokens", "/nonexistent/tokens"], "Cannot read --auth-tokens file /nonexistent/tokens"),
])
def test_the_command_refuses_bad_team_flags(args: list[str], message: str) -> None:
    done = subprocess.run([*gigachat_mcp_command(), "serve", "--transport", "streamable-http", "--port", "9", *args],
                          env=subprocess_env(), capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and message in done.stderr  # usage, by the one exit-code rule


def test_team_flags_need_http() -> None:
    done = subprocess.run([*gigachat_mcp_command(), "serve", "--redis", "redis://127.0.0.1:9/0"],
                          env=subprocess_env(), capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "apply to --transport streamable-http only" in done.stderr
