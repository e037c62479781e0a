"""Principals on replicas sharing a real Redis: a file is its maker's alone, and conversation caps are per
principal, never evicting another's conversation or an answer in flight, nor held by a dead replica's answers."""

from __future__ import annotations

import signal
from pathlib import Path

import anyio
import pytest

from gigachat_mcp.emulator import Emulator
from tests.team.principals import (
    SLOW,
    a_burst_stays_within_its_principal,
    as_user,
    files_stay_with_their_principal,
    write_tokens,
)

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::UserWarning")]


async def test_a_file_drawn_or_uploaded_by_one_principal_is_unknown_to_another_on_every_replica(
        emulator: Emulator, replicas, tmp_path: Path) -> None:
    upload = tmp_path / "bobs-notes.txt"
    upload.write_text("bob's private notes", encoding="utf-8")
    a, b = replicas(2, "--auth-tokens", str(write_tokens(tmp_path)), env={"GIGACHAT_MCP_FILE_ROOTS": str(tmp_path)})
    await files_stay_with_their_principal(emulator, draw_on=a.url, read_on=b.url, upload=upload)


async def test_200_new_chats_at_once_from_one_principal_across_replicas(emulator: Emulator, replicas,
                                                                        tmp_path: Path) -> None:
    a, b = replicas(2, "--auth-tokens", str(write_tokens(tmp_path)), "--grace", "1")
    await a_burst_stays_within_its_principal([a.url, b.url])


async def test_a_dead_replicas_answers_stop_counting_against_the_cap(emulator: Emulator, replicas,
                                                                     tmp_path: Path) -> None:
    a, b = replicas(2, "--auth-tokens", str(write_tokens(tmp_path)), "--conversations-per-user", "2",
                    "--grace", "1")
    async with as_user(a.url, "alice") as alice_a:
        for n in range(2):
            started = await alice_a.call_tool("chat", {"prompt": f"long {n} {SLOW}", "background": True})
            assert not started.is_error, started.content[0].text
    async with as_user(b.url, "alice") as alice_b:
        refused = await alice_b.call_tool("chat", {"prompt": "a third"})
        assert refused.is_error and "You have 2 conversations answering at once" in refused.content[0].text
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        with anyio.fail_after(30):  # the dead replica's leases run out (1.5 s here); then its answers free the cap
            while (third := await alice_b.call_tool("chat", {"prompt": "a third"})).is_error:
                assert "conversations answering at once" in third.content[0].text, third.content[0].text
                await anyio.sleep(0.2)
    assert third.structured_content["status"] == "done"
