"""The official `gigachat` SDK's file calls against the emulator over TLS: upload_file, get_files, get_file,
get_image (a drawn JPEG) and delete_file, plus drawings through its v1 and v2 chat."""

from __future__ import annotations

import base64
import io
import re
import ssl
from collections.abc import Iterator

import pytest
from gigachat import GigaChat as OfficialGigaChat
from gigachat.exceptions import ResponseError
from PIL import Image

from gigachat_mcp.emulator import Emulator
from tests.helpers import sync_client


@pytest.fixture
def sdk(emulator: Emulator) -> Iterator[OfficialGigaChat]:
    with OfficialGigaChat(base_url=emulator.base_url, auth_url=emulator.auth_url, credentials=emulator.credentials,
                          scope="GIGACHAT_API_PERS", ssl_context=ssl.create_default_context(cafile=emulator.ca_file),
                          model="GigaChat-2") as client:
        yield client


def _jpeg(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_upload_list_get_delete(sdk: OfficialGigaChat, emulator: Emulator) -> None:
    uploaded = sdk.upload_file(("notes.txt", b"from the official SDK", "text/plain"))
    assert (uploaded.filename, uploaded.bytes_, uploaded.purpose, uploaded.object_) == (
        "notes.txt", 21, "general", "file")
    assert [f.id_ for f in sdk.get_files().data] == [uploaded.id_]
    assert sdk.get_file(uploaded.id_).filename == "notes.txt"
    with sync_client(emulator) as ours:  # the same key: our client sees the SDK's file and can attach it
        answer = ours.chat("read it", attachments=[uploaded.id_])
    assert 'Text of notes.txt: "from the official SDK"' in answer.text
    deleted = sdk.delete_file(uploaded.id_)
    assert deleted.deleted is True and deleted.id_ == uploaded.id_
    assert sdk.get_files().data == []
    with pytest.raises(ResponseError):
        sdk.get_file(uploaded.id_)


def test_get_image_of_a_v1_drawing(sdk: OfficialGigaChat) -> None:
    answer = sdk.chat({"messages": [{"role": "user", "content": "нарисуй кота"}], "function_call": "auto"})
    message = answer.choices[0].message
    file_id = re.search(r'<img src="([^"]+)" fuse="true"/>', message.content).group(1)
    assert message.functions_state_id
    image = sdk.get_image(file_id)
    assert _jpeg(base64.b64decode(image.content)).format == "JPEG"


def test_v2_drawing_files_part_parses(sdk: OfficialGigaChat) -> None:
    answer = sdk.chat.create({"model": "GigaChat-2", "messages": [{"role": "user", "content": [{"text": "draw"}]}],
                              "tools": [{"image_generate": {}}],
                              "tool_config": {"mode": "forced", "tool_name": "image_generate"}})
    parts = answer.messages[0].content
    [made] = [f for part in parts if part.files for f in part.files]
    assert (made.mime, made.target) == ("image/jpeg", "image")
    file_id = made.id_
    assert _jpeg(base64.b64decode(sdk.get_image(file_id).content)).size == (64, 64)
