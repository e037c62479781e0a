"""The emulator enforces the service's file rules as the documentation states them (shared/reference/
gigachat-api.md: image <= 15 MB, text <= 40 MB, audio <= 35 MB; the listed types; purpose general or assistant;
one image per message, ten per request), written here as numbers, not read from any table. It states them
itself, so a client whose own table is wrong meets the service's refusal instead of an emulator that agrees."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gigachat_mcp import APIError
from gigachat_mcp.client import _filetypes
from gigachat_mcp.emulator import Emulator
from tests.helpers import sync_client

MB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def plain() -> Iterator[Emulator]:
    """Plain HTTP on loopback: the large uploads below need no TLS to show what the service refuses."""
    with Emulator(tls=False) as emu:
        yield emu


def _http(emu: Emulator) -> httpx.Client:
    answer = httpx.post(emu.auth_url, headers={"Authorization": f"Basic {emu.credentials}",
                                               "RqUID": str(uuid.uuid4())}, data={"scope": "GIGACHAT_API_PERS"})
    token = answer.json()["access_token"]
    return httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def _upload(http: httpx.Client, name: str, size: int, purpose: str = "general") -> httpx.Response:
    return http.post("/files", files={"file": (name, b"\0" * size)}, data={"purpose": purpose})


@pytest.mark.parametrize(("name", "limit"), [("photo.jpeg", 15 * MB), ("report.pdf", 40 * MB),
                                             ("voice.mp3", 35 * MB)])
def test_each_kind_is_taken_up_to_its_documented_size_and_refused_one_byte_over(
        plain: Emulator, name: str, limit: int) -> None:
    with _http(plain) as http:
        assert _upload(http, name, limit).json()["bytes"] == limit
        over = _upload(http, name, limit + 1)
        assert (over.status_code, over.json()) == (413, {"status": 413, "message": "Payload too large"})
        assert [f["bytes"] for f in http.get("/files").json()["data"]] == [limit]  # the refused one is not kept


def test_types_and_purposes_the_service_does_not_take_are_refused(plain: Emulator) -> None:
    documented = ["jpeg", "png", "tiff", "bmp", "txt", "doc", "docx", "pdf", "epub", "ppt", "pptx", "mp4", "mp3",
                  "m4a", "wav", "weba", "ogg", "opus"]
    with _http(plain) as http:
        for ext in documented:
            assert _upload(http, f"file.{ext}", 3).status_code == 200, ext
        assert _upload(http, "notes.txt", 3, purpose="assistant").status_code == 200
        for name in ("anim.gif", "photo.webp", "data.csv", "sheet.xlsx", "clip.mov", "noextension"):
            refused = _upload(http, name, 3)
            assert refused.status_code == 415 and name in refused.json()["message"], name
        wrong_purpose = _upload(http, "notes.txt", 3, purpose="fine-tune")
        assert wrong_purpose.status_code == 422 and "fine-tune" in wrong_purpose.json()["message"]


def test_ten_images_in_a_request_are_read_and_an_eleventh_is_refused(plain: Emulator) -> None:
    with _http(plain) as http:
        ids = [http.post("/files", files={"file": (f"p{i}.png", PNG)}).json()["id"] for i in range(11)]

        def chat(images: list[str]) -> httpx.Response:
            messages = [{"role": "user", "content": "see", "attachments": [i]} for i in images]
            return http.post("/chat/completions", json={"model": "GigaChat-2", "messages": messages})

        assert chat(ids[:10]).status_code == 200
        eleven = chat(ids)
        assert eleven.status_code == 422 and "at most 10 images per request" in eleven.json()["message"]


def test_a_client_table_that_allows_too_much_meets_the_services_refusal(
        plain: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A wrong rule in the client (a larger image limit, a type the service does not read) passes the client's
    own check, and the emulator still refuses the upload as the service would."""
    monkeypatch.setitem(_filetypes.KIND_LIMITS, "image", 20 * MB)
    monkeypatch.setitem(_filetypes.TYPES, "gif", ("image", "image/gif"))
    big, gif = tmp_path / "big.png", tmp_path / "anim.gif"
    big.write_bytes(PNG + b"\0" * (15 * MB))
    gif.write_bytes(b"GIF89a" + b"\0" * 16)
    with sync_client(plain) as giga:
        with pytest.raises(APIError) as too_large:
            giga.upload_file(big)
        assert too_large.value.status_code == 413
        with pytest.raises(APIError) as unsupported:
            giga.upload_file(gif)
        assert unsupported.value.status_code == 415 and "anim.gif" in unsupported.value.message
        assert giga.list_files() == []
