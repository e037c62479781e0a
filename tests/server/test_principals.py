"""Principals on one HTTP process keeping its state in memory (no Redis): a file is its maker's alone and the
conversation cap is per principal. Without auth (stdio, one user) every file id of the key stays usable."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mcp import Client

from gigachat_mcp import GigaChat, Settings
from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from tests.team.principals import a_burst_stays_within_its_principal, files_stay_with_their_principal, write_tokens
from tests.team.servers import Replica

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::UserWarning")]


@pytest.fixture
def one_process(emulator: Emulator, tmp_path: Path) -> Iterator[Callable[..., Replica]]:
    """`gigachat-mcp serve --transport streamable-http --auth-tokens ...` without --redis: state in memory."""
    started: list[Replica] = []

    def start(*args: str, **kwargs) -> Replica:  # type: ignore[no-untyped-def]
        replica = Replica(emulator, "--auth-tokens", str(write_tokens(tmp_path)), "--grace", "1", *args, **kwargs)
        started.append(replica)
        return replica.wait_ready()

    yield start
    for replica in started:
        replica.stop()


async def test_a_file_drawn_or_uploaded_by_one_principal_is_unknown_to_another(
        emulator: Emulator, one_process, tmp_path: Path) -> None:
    upload = tmp_path / "bobs-notes.txt"
    upload.write_text("bob's private notes", encoding="utf-8")
    server = one_process(env={"GIGACHAT_MCP_FILE_ROOTS": str(tmp_path)})
    await files_stay_with_their_principal(emulator, draw_on=server.url, read_on=server.url, upload=upload)


async def test_200_new_chats_at_once_from_one_principal(one_process) -> None:
    await a_burst_stays_within_its_principal([one_process().url])


async def test_the_cap_is_configurable_per_user(one_process) -> None:
    await a_burst_stays_within_its_principal([one_process("--conversations-per-user", "7").url], cap=7)


async def test_without_auth_every_file_of_the_key_stays_usable(emulator: Emulator, tmp_path: Path) -> None:
    """The single-user server (stdio, no auth) has one principal, the key's owner: a file the key uploaded
    elsewhere (before the server ran, or from Python) can be read and attached, as before."""
    with GigaChat(**emulator.client_settings()) as direct:
        (tmp_path / "made-elsewhere.txt").write_text("notes from a script", encoding="utf-8")
        elsewhere = direct.upload_file(tmp_path / "made-elsewhere.txt")
    settings = Settings.resolve(environ={}, **emulator.client_settings(token_cache="memory"))
    async with Client(build_server(settings)) as client:
        blob = (await client.read_resource(f"gigachat://files/{elsewhere.id}")).contents[0]
        asked = await client.call_tool("chat", {"prompt": "what is in it?", "attachments": [elsewhere.id]})
    assert getattr(blob, "blob", None)
    assert not asked.is_error and emulator.requests_to("chat")[-1].body["messages"][-1]["attachments"] == [
        elsewhere.id]
