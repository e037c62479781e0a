"""What a racing process or a crafted path must not make the MCP server read: a file swapped for a symlink or a
FIFO while calls run, a hard link to an outside file, a NUL byte; and inline attachments' own rules."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client

from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server.attachments import AttachmentRefused, prepare
from gigachat_mcp.server.file_access import FileAccessDenied, _open_beneath, allowed_roots, read_allowed
from tests.helpers import eventually
from tests.server.test_files_mcp import server_for

pytestmark = pytest.mark.anyio
INSIDE = "inside content"
SECRET = "outside secret"
# what a refusal may say while the file is being swapped: each names its rule
RACE_RULES = ("is a symbolic link now (rule: links are not followed", "it is not a regular file (rule: only regular",
              "it is a link to a place outside the allowed directories", "it changed while it was being checked (rule")

SWAPPER = r"""
import os, sys
root, outside, stop = sys.argv[1:4]
target, swaps = os.path.join(root, "doc.txt"), 0
while not os.path.exists(stop):
    fresh = os.path.join(root, "swap.tmp")
    kind = swaps % 3
    if kind == 0:
        with open(fresh, "w") as handle:
            handle.write("inside content")
    elif kind == 1:
        os.symlink(outside, fresh)
    else:
        os.mkfifo(fresh)
    os.replace(fresh, target)  # atomic: the name always exists, as one of the three
    swaps += 1
    if swaps == 3:
        open(stop + ".cycled", "w").close()  # one full cycle done: the calls may start
print(swaps)
"""


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    root = tmp_path / "root"
    root.mkdir()
    (root / "doc.txt").write_text(INSIDE)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    return {"root": root, "outside": outside, "secret": outside / "secret.txt"}


def stored_contents(emulator: Emulator) -> list[bytes]:
    return [stored.data for stored in list(emulator.api.files._files.values())]


async def test_a_racing_swap_for_a_symlink_or_a_fifo_never_leaks_and_never_hangs(
        emulator: Emulator, places: dict[str, Path], tmp_path: Path) -> None:
    root = places["root"]
    stop = tmp_path / "stop"
    swapper = subprocess.Popen([sys.executable, "-c", SWAPPER, str(root), str(places["secret"]), str(stop)],
                               stdout=subprocess.PIPE, text=True)
    outcomes: list[str] = []
    try:
        await eventually(lambda: Path(f"{stop}.cycled").exists(), what="the swapper to start")
        async with Client(server_for(emulator, mcp_file_roots=str(root))) as client:

            async def calls(count: int) -> None:
                for _ in range(count):
                    result = await client.call_tool("chat", {"prompt": "read", "attachments": ["doc.txt"]})
                    said = result.content[0].text
                    assert SECRET not in said
                    if result.is_error:
                        assert any(rule in said for rule in RACE_RULES), said
                        outcomes.append("refused")
                    else:
                        assert f'Text of doc.txt: "{INSIDE}"' in said, said
                        outcomes.append("read")

            with anyio.fail_after(100):  # only a hang reaches this (before pytest-timeout): the test then fails
                async with anyio.create_task_group() as group:
                    for _ in range(10):
                        group.start_soon(calls, 10)
    finally:
        stop.touch()
        swaps = int(swapper.communicate(timeout=60)[0])
    assert len(outcomes) == 100 and swaps >= 3
    print(f"{outcomes.count('read')} read, {outcomes.count('refused')} refused, {swaps} swaps")
    assert all(SECRET.encode() not in data for data in stored_contents(emulator))


async def test_hard_links_fifos_and_nul_bytes_get_refusals_naming_their_rule(
        emulator: Emulator, places: dict[str, Path], caplog: pytest.LogCaptureFixture) -> None:
    root = places["root"]
    os.link(places["secret"], root / "hard.txt")
    os.mkfifo(root / "pipe.txt")
    cases = {
        "hard.txt": "hard links (rule: files with more than one hard link are refused",
        "pipe.txt": "not a regular file (rule: only regular files are read",
        "doc\0.txt": "may not contain a NUL character (rule: paths are plain text)",
        str(root / "doc.txt\0/../../outside/secret.txt"): "NUL character (rule",
    }
    async with Client(server_for(emulator, mcp_file_roots=str(root))) as client:
        for path, rule in cases.items():
            result = await client.call_tool("chat", {"prompt": "read", "attachments": [path]})
            assert result.is_error and rule in result.content[0].text, (path, result.content)
    assert [record.getMessage() for record in caplog.records if record.exc_info] == []  # no traceback logged
    assert emulator.requests_to("upload") == [] and emulator.requests_to("chat") == []


def test_the_file_is_opened_beneath_its_root_without_following_a_link_on_the_way(places: dict[str, Path]) -> None:
    root, outside = places["root"], places["outside"]
    (root / "sub").mkdir()
    (root / "sub" / "doc.txt").write_text(INSIDE)
    roots = allowed_roots([], str(root))
    assert read_allowed("sub/doc.txt", roots) == ("doc.txt", INSIDE.encode())
    # the walk itself refuses a directory that became a link (as after a swap behind the check)
    os.rename(root / "sub", root / "sub.real")
    os.symlink(outside, root / "sub")
    (outside / "doc.txt").write_text(SECRET)
    with pytest.raises(OSError):
        _open_beneath(roots[0], ("sub", "doc.txt"))
    with pytest.raises(OSError):
        _open_beneath(roots[0], ("sub.real", "..", "sub", "doc.txt"))
    with pytest.raises(FileAccessDenied, match="link to a place outside"):
        read_allowed("sub/doc.txt", roots)


def test_a_file_larger_than_gigachat_takes_is_refused_without_being_read(places: dict[str, Path]) -> None:
    root = places["root"]
    with open(root / "huge.png", "wb") as handle:
        handle.truncate(15 * 1024 * 1024 + 1)  # sparse: nothing to read, only its size
    with pytest.raises(FileAccessDenied, match=r"larger than 15.00 MB.*rule: per-kind size limits"):
        read_allowed("huge.png", allowed_roots([], str(root)))


def test_inline_attachments_are_checked_against_the_services_rules() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    ok = prepare([], [{"name": "chart", "mime_type": "image/png", "data": base64.b64encode(png).decode()},
                      {"name": "n.txt", "data": "data:text/plain;base64," + base64.b64encode(b"hi").decode()}], None,
                 "")
    assert ok == [("chart.png", png), ("n.txt", b"hi")]
    big = base64.b64encode(png + b"\0" * (15 * 1024 * 1024)).decode()
    refused = {
        "not valid base64 (rule: standard base64": [{"name": "a.txt", "data": "not base64!"}],
        "does not read this type (rule: supported types are": [{"name": "a.zip", "data": "UEs="}],
        "rule: per-kind size limits": [{"name": "big.png", "data": big}],
        "rule: one image per message": [{"name": "a.png", "data": base64.b64encode(png).decode()}] * 2,
        "give it a file name": [{"name": "", "data": "aGk="}],
        "rule: ten attachments per message": [{"name": "a.txt", "data": "aGk="}] * 11,
    }
    for rule, inline in refused.items():
        with pytest.raises(AttachmentRefused, match=rule.replace("(", r"\(")):
            prepare([], inline, None, "")


async def test_inline_attachments_over_mcp_reach_gigachat_and_bad_ones_are_named(emulator: Emulator) -> None:
    async with Client(server_for(emulator)) as client:  # no directory allowed: inline needs none
        ok = await client.call_tool("chat", {"prompt": "read", "inline_attachments": [
            {"name": "plan.txt", "data": base64.b64encode("план на завтра".encode()).decode()}]})
        bad = await client.call_tool("chat", {"prompt": "read", "inline_attachments": [
            {"name": "plan.txt", "data": "%%%"}]})
    assert 'Text of plan.txt: "план на завтра"' in ok.structured_content["text"]
    assert bad.is_error and "inline_attachments[0] ('plan.txt'): 'data' is not valid base64" in bad.content[0].text
    assert len(emulator.requests_to("upload")) == 1
