"""Files and attachments through the core client over HTTPS against the emulator: uploads, the service's rules
checked before sending, one upload per content, drawn images as bytes, and which upload failures are retried."""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from gigachat_mcp import (
    APIError,
    ConfigError,
    GigaChat,
    GigaChatConnectionError,
    InvalidRequestError,
    RateLimitError,
)
from gigachat_mcp.client._retry import RetryPlan
from gigachat_mcp.client._wire import MarkupFilter, normalise_tools
from gigachat_mcp.emulator import Emulator
from tests.helpers import async_client, sync_client

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def _uploads(emulator: Emulator) -> int:
    return len(emulator.requests_to("upload"))


@pytest.fixture
def doc(tmp_path: Path) -> Path:
    path = tmp_path / "report.txt"
    path.write_text("Quarterly numbers went up.", encoding="utf-8")
    return path


def test_upload_list_get_download_delete(giga: GigaChat, doc: Path) -> None:
    from_path = giga.upload_file(doc)
    assert (from_path.filename, from_path.bytes, from_path.purpose) == ("report.txt", 26, "general")
    from_bytes = giga.upload_file(PNG)
    assert from_bytes.filename == "attachment.png"
    with open(doc, "rb") as handle:
        from_handle = giga.upload_file(handle)
    assert from_handle.filename == "report.txt"
    assert {f.id for f in giga.list_files()} == {from_path.id, from_bytes.id, from_handle.id}
    assert giga.get_file(from_path.id) == from_path
    assert giga.download_file(from_path.id) == doc.read_bytes()
    assert giga.delete_file(from_path.id) is True
    with pytest.raises(APIError) as missing:
        giga.get_file(from_path.id)
    assert missing.value.status_code == 404 and "another key uploaded it" in str(missing.value)


def test_async_file_calls(emulator: Emulator, doc: Path) -> None:
    async def main() -> None:
        async with async_client(emulator) as giga:
            info = await giga.upload_file(doc)
            assert [f.id for f in await giga.list_files()] == [info.id]
            assert (await giga.get_file(info.id)).filename == "report.txt"
            assert await giga.download_file(info.id) == doc.read_bytes()
            assert await giga.delete_file(info.id)
            assert await giga.list_files() == []
    asyncio.run(main())


@pytest.mark.parametrize("api_version", ["v1", "v2"])
def test_each_kind_of_attachment_arrives(emulator: Emulator, doc: Path, api_version: str) -> None:
    with sync_client(emulator, api_version=api_version) as giga:
        stored = giga.upload_file(b"ID3" + b"\0" * 10)
        answer = giga.chat("What is in these?", attachments=[doc])
        assert "Attachment: report.txt (text/plain, 26 bytes)." in answer.text
        assert 'Text of report.txt: "Quarterly numbers went up."' in answer.text
        answer = giga.chat("and these", attachments=[("chart.png", PNG), stored])
        assert "Attachment: chart.png (image/png, 40 bytes)." in answer.text
        assert "Attachment: attachment.mp3 (audio/mpeg, 13 bytes)." in answer.text
        by_id = giga.chat("by id", attachments=(stored.id,))  # any iterable will do
        assert "Attachment: attachment.mp3" in by_id.text
        with pytest.raises(InvalidRequestError, match="must be a list"):
            giga.chat("one pair", attachments=("a.png", PNG))
        streamed = "".join(c.text for c in giga.stream("bytes too", attachments=[PNG + b"!"]))
        assert "Attachment: attachment.png (image/png, 41 bytes)." in streamed


def test_v1_documents_switch_on_the_built_in_file_reader(giga: GigaChat, emulator: Emulator, doc: Path) -> None:
    giga.chat("read", attachments=[doc])
    assert emulator.requests_to("chat")[-1].body["function_call"] == "auto"
    giga.chat("see", attachments=[("a.png", PNG)])
    assert "function_call" not in emulator.requests_to("chat")[-1].body


def test_a_repeated_attachment_is_uploaded_once(giga: GigaChat, emulator: Emulator, doc: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.txt"
    copy.write_bytes(doc.read_bytes())
    giga.chat("one", attachments=[doc])
    giga.chat("two", attachments=[doc])
    giga.chat("three", attachments=[copy])  # the same content under another name
    assert _uploads(emulator) == 1
    ids = {tuple(r.body["messages"][-1]["attachments"]) for r in emulator.requests_to("chat")}
    assert len(ids) == 1
    stored = next(iter(ids))[0]
    giga.delete_file(stored)
    giga.chat("four", attachments=[doc])  # deleted: uploaded again rather than sent as a dead id
    assert _uploads(emulator) == 2


def test_async_repeated_attachment_is_uploaded_once(emulator: Emulator, doc: Path) -> None:
    async def main() -> None:
        async with async_client(emulator) as giga:
            await asyncio.gather(*(giga.chat(f"at once {i}", attachments=[doc]) for i in range(5)))
            await giga.chat("later", attachments=[doc])
    asyncio.run(main())
    assert _uploads(emulator) == 1


def test_threads_attaching_the_same_content_upload_it_once(giga: GigaChat, emulator: Emulator, doc: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda i: giga.chat(f"thread {i}", attachments=[doc]), range(6)))
    assert all("Attachment: report.txt" in a.text for a in answers)
    assert _uploads(emulator) == 1


def test_a_failed_upload_lets_the_next_attach_of_that_content_try_again(emulator: Emulator, doc: Path) -> None:
    """The content's upload lock is let go when its upload fails, in both clients (one flow serves them)."""
    with sync_client(emulator) as giga:
        emulator.add_fault("upload", status=503)
        with pytest.raises(APIError):
            giga.chat("first", attachments=[doc])
        assert "Attachment: report.txt" in giga.chat("second", attachments=[doc]).text

    async def main() -> None:
        async with async_client(emulator) as agiga:
            emulator.add_fault("upload", status=503)
            with pytest.raises(APIError):
                await agiga.chat("first", attachments=[doc])
            assert "Attachment: report.txt" in (await agiga.chat("second", attachments=[doc])).text
    asyncio.run(main())
    assert _uploads(emulator) == 4


def test_rules_are_checked_before_anything_is_sent(giga: GigaChat, emulator: Emulator, tmp_path: Path) -> None:
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    huge = tmp_path / "huge.png"
    with open(huge, "wb") as handle:  # sparse: 16 MB on paper, nothing in memory
        handle.truncate(16 * 1024 * 1024)
    big_doc = tmp_path / "book.pdf"
    with open(big_doc, "wb") as handle:
        handle.truncate(41 * 1024 * 1024)
    cases = [
        ([exe], "tool.exe", "supported types"),
        ([huge], "huge.png", "per-kind size limits"),
        ([big_doc], "book.pdf", "at most 40.00 MB"),
        ([("a.png", PNG), ("b.jpg", b"\xff\xd8\xff\xe0")], "b.jpg", "one image per message"),
        ([tmp_path / "missing.txt"], "missing.txt", "not a readable file"),
        ([b"\x00\x01\x02binary"], "these bytes", "supported types"),
    ]
    for attachments, name, rule in cases:
        with pytest.raises(InvalidRequestError) as refused:
            giga.chat("x", attachments=attachments)
        assert name in str(refused.value) and rule in str(refused.value)
        with pytest.raises(InvalidRequestError):
            giga.stream("x", attachments=attachments)
    history = [m for i in range(10) for m in ({"role": "user", "content": f"img {i}",
                                                "attachments": [(f"p{i}.png", PNG + bytes([i]))]},
                                               {"role": "assistant", "content": "ok"})]
    with pytest.raises(InvalidRequestError) as eleven:
        giga.chat(history + [{"role": "user", "content": "one more"}], attachments=[("p10.png", PNG + b"x")])
    assert "p10.png" in str(eleven.value) and "ten images per request" in str(eleven.value)
    assert emulator.requests_to("upload") == [] and emulator.requests_to("chat") == []


@pytest.mark.parametrize("api_version", ["v1", "v2"])
def test_a_drawn_image_comes_back_as_bytes_and_its_state_travels(emulator: Emulator, api_version: str) -> None:
    with sync_client(emulator, api_version=api_version) as giga:
        plain = giga.chat("нарисуй кота")
        assert plain.files == ()  # the core draws only when tools= allows it
        drawn = giga.chat("нарисуй кота", tools=["image_generate"])
        assert [f.mime_type for f in drawn.files] == ["image/jpeg"] and drawn.state_id
        assert "<img" not in drawn.text and drawn.text.startswith("Here is the picture")
        jpeg = giga.download_file(drawn.files[0].id)
        image = Image.open(io.BytesIO(jpeg))
        image.load()
        assert image.format == "JPEG"
        chunks = list(giga.stream("draw a cat", tools=["image_generate"]))
        assert all(not c.files for c in chunks[:-1]) and len(chunks[-1].files) == 1
        assert "<img" not in "".join(c.text for c in chunks) and "fuse" not in "".join(c.text for c in chunks)
        follow = giga.chat([{"role": "user", "content": "draw a cat"},
                            {"role": "assistant", "content": "ok", "state_id": chunks[-1].state_id},
                            {"role": "user", "content": "bluer"}])
        assert f"Tool state from an earlier turn: {chunks[-1].state_id}." in follow.text
        again = giga.chat([{"role": "user", "content": "draw"}, drawn.message, {"role": "user", "content": "more"}])
        assert f"Tool state from an earlier turn: {drawn.state_id}." in again.text
        forced = giga.chat("a red square", tools=["image_generate"], tool_choice="image_generate")
        assert len(forced.files) == 1
        sent = emulator.requests_to("chat")[-1].body
        if api_version == "v1":  # the documented request: function_call "auto" and a drawing request, no forcing
            assert sent["function_call"] == "auto" and "functions" not in sent
            assert sent["messages"][-1]["content"] == "Нарисуй: a red square"
            giga.chat("Draw a cat", tools=["image_generate"], tool_choice="image_generate")
            assert emulator.requests_to("chat")[-1].body["messages"][-1]["content"] == "Draw a cat"  # already one
        else:
            assert sent["tool_config"] == {"mode": "forced", "tool_name": "image_generate"}
            assert sent["messages"][-1]["content"] == [{"text": "a red square"}]


def test_tools_are_checked(giga: GigaChat) -> None:
    with pytest.raises(InvalidRequestError, match="'image_generate'"):
        giga.chat("x", tools=["paint"])
    with pytest.raises(InvalidRequestError, match="tool_choice"):
        giga.chat("x", tools=[], tool_choice="image_generate")
    from gigachat_mcp.client import _wire

    _wire.BUILTIN_TOOLS["v2_only"] = {"v1": None, "v2": "v2_only"}  # how a later tool that one contract lacks looks
    try:
        with pytest.raises(ConfigError, match="GIGACHAT_API_VERSION=v2"):
            normalise_tools(["v2_only"], None, "v1")
        assert normalise_tools(["v2_only"], None, "v2").builtins == ("v2_only",)
    finally:
        del _wire.BUILTIN_TOOLS["v2_only"]


def test_another_keys_file_id_is_a_clear_error(emulator: Emulator, doc: Path) -> None:
    other = base64.b64encode(b"someone:else").decode()
    emulator.api.credentials[other] = "GIGACHAT_API_PERS"
    with sync_client(emulator) as mine, GigaChat(**emulator.client_settings(credentials=other)) as theirs:
        info = mine.upload_file(doc)
        with pytest.raises(APIError, match="another key uploaded it"):
            theirs.chat("x", attachments=[info.id])
        assert emulator.requests_to("chat") == []


def test_which_upload_failures_are_retried(giga: GigaChat, emulator: Emulator, doc: Path) -> None:
    emulator.add_fault("upload", status=503)
    with pytest.raises(APIError) as server_error:
        giga.upload_file(doc)  # the service may have stored it: not repeated
    assert server_error.value.status_code == 503 and _uploads(emulator) == 1
    emulator.add_fault("upload", drop="before")
    with pytest.raises(GigaChatConnectionError):
        giga.upload_file(doc)  # lost after sending: not repeated
    assert _uploads(emulator) == 2
    emulator.add_fault("upload", status=429, headers={"Retry-After": "0"})
    info = giga.upload_file(doc)  # refused, so nothing was stored: retried
    assert _uploads(emulator) == 4 and [f.id for f in giga.list_files()] == [info.id]


def test_async_uploads_follow_the_same_retry_rule(emulator: Emulator, doc: Path) -> None:
    async def main() -> None:
        async with async_client(emulator) as giga:
            emulator.add_fault("upload", status=502)
            with pytest.raises(APIError):
                await giga.upload_file(doc)
            emulator.add_fault("upload", status=429, headers={"Retry-After": "0"})
            await giga.upload_file(doc)
    asyncio.run(main())
    assert _uploads(emulator) == 3


def test_upload_retry_decisions() -> None:
    plan = RetryPlan(2, 0.01, no_duplicates=True)
    assert 0.01 <= plan.delay_for(GigaChatConnectionError("refused"), sent=False) <= 0.02  # never reached the server
    assert plan.delay_for(RateLimitError("busy", retry_after=0)) == 0  # refused, nothing stored
    with pytest.raises(GigaChatConnectionError):
        RetryPlan(2, 0.01, no_duplicates=True).delay_for(GigaChatConnectionError("reset"), sent=True)
    chat = RetryPlan(2, 0.01)
    assert 0.01 <= chat.delay_for(GigaChatConnectionError("reset"), sent=True) <= 0.02  # chat calls keep their retries


def test_markup_split_anywhere_is_stripped() -> None:
    text = 'Вот <b>кот</b>: <img src="abc-1" fuse="true"/> и <img src="x.png"> конец'
    for cut in range(len(text) + 1):
        markup = MarkupFilter()
        out = markup.feed(text[:cut]) + markup.feed(text[cut:]) + markup.flush()
        assert out == 'Вот <b>кот</b>:  и <img src="x.png"> конец'
        assert [f.id for f in markup.files] == ["abc-1"]
    unfinished = MarkupFilter()
    assert unfinished.feed("a <img src=") + unfinished.flush() == "a <img src="


def test_a_file_removed_after_it_was_checked_is_a_clear_error_not_an_oserror(tmp_path: Path) -> None:
    """Between the check and the upload the file went away: the caller gets InvalidRequestError naming it."""
    from gigachat_mcp.client import _attachments

    doc = tmp_path / "notes.txt"
    doc.write_text("hello")
    local = _attachments.classify(str(doc))
    doc.unlink()
    with pytest.raises(InvalidRequestError, match=r"Cannot attach .*notes\.txt.*attach it again"):
        _attachments.content_key(local)  # type: ignore[arg-type]
