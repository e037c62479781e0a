"""The emulator's file endpoints and drawings at the wire level (raw HTTPS), as the real service shapes them."""

from __future__ import annotations

import base64
import io
import json
import ssl
import uuid

import httpx
import pytest
from PIL import Image

from gigachat_mcp.emulator import Emulator

OTHER_KEY = base64.b64encode(b"other-client:other-secret").decode()


def _trust(emu: Emulator) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=emu.ca_file)


def _token(emu: Emulator, key: str) -> dict[str, str]:
    answer = httpx.post(emu.auth_url, headers={"Authorization": f"Basic {key}", "RqUID": str(uuid.uuid4())},
                        data={"scope": "GIGACHAT_API_PERS"}, verify=_trust(emu))
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture
def emu():
    with Emulator(credentials={Emulator.credentials: "GIGACHAT_API_PERS", OTHER_KEY: "GIGACHAT_API_PERS"}) as e:
        yield e


def test_upload_list_get_download_delete_and_privacy(emu: Emulator) -> None:
    mine, theirs = _token(emu, emu.credentials), _token(emu, OTHER_KEY)
    with httpx.Client(base_url=emu.base_url, verify=_trust(emu)) as http:
        made = http.post("/files", headers=mine, files={"file": ("notes.txt", b"hello", "text/plain")},
                         data={"purpose": "general"})
        assert made.status_code == 200
        info = made.json()
        assert {k: info[k] for k in ("object", "bytes", "filename", "purpose")} == {
            "object": "file", "bytes": 5, "filename": "notes.txt", "purpose": "general"}
        assert [f["id"] for f in http.get("/files", headers=mine).json()["data"]] == [info["id"]]
        assert http.get(f"/files/{info['id']}", headers=mine).json() == info
        assert http.get(f"/files/{info['id']}/content", headers=mine).content == b"hello"
        # another key sees nothing of it
        assert http.get("/files", headers=theirs).json() == {"data": []}
        for path in (f"/files/{info['id']}", f"/files/{info['id']}/content"):
            assert http.get(path, headers=theirs).json() == {"status": 404, "message": "File not found"}
        assert http.post(f"/files/{info['id']}/delete", headers=theirs).status_code == 404
        assert http.post(f"/files/{info['id']}/delete", headers=mine).json() == {"id": info["id"], "deleted": True}
        assert http.get(f"/files/{info['id']}", headers=mine).status_code == 404


def test_upload_limits_and_types_have_the_service_error_shapes(emu: Emulator) -> None:
    mine = _token(emu, emu.credentials)
    with httpx.Client(base_url=emu.base_url, verify=_trust(emu)) as http:
        unsupported = http.post("/files", headers=mine, files={"file": ("run.exe", b"MZ")})
        assert unsupported.status_code == 415 and "run.exe" in unsupported.json()["message"]
        big = http.post("/files", headers=mine, files={"file": ("big.png", b"\0" * (15 * 1024 * 1024 + 1))})
        assert big.status_code == 413 and big.json() == {"status": 413, "message": "Payload too large"}
        no_file = http.post("/files", headers=mine, data={"purpose": "general"}, files={"x": ("a.txt", b"1")})
        assert no_file.status_code == 400
        assert http.get("/files", headers={}).status_code == 401


def _chat(http: httpx.Client, emu: Emulator, headers, body, version="v1"):
    url = emu.base_url + "/chat/completions" if version == "v1" else emu.origin + "/v2/chat/completions"
    return http.post(url, headers=headers, json=body)


def test_attachments_reach_the_answer_and_image_rules_are_enforced(emu: Emulator) -> None:
    mine, theirs = _token(emu, emu.credentials), _token(emu, OTHER_KEY)
    with httpx.Client(verify=_trust(emu)) as http:
        def upload(name, data):
            return http.post(emu.base_url + "/files", headers=mine, files={"file": (name, data)}).json()["id"]
        doc, one, two = upload("a.txt", b"first line"), upload("x.png", b"\x89PNG"), upload("y.jpg", b"\xff\xd8\xff")
        answer = _chat(http, emu, mine, {"model": "GigaChat-2", "messages": [
            {"role": "user", "content": "read", "attachments": [doc, one]}]}).json()
        text = answer["choices"][0]["message"]["content"]
        assert "Attachment: a.txt (text/plain, 10 bytes)." in text and 'Text of a.txt: "first line"' in text
        assert "Attachment: x.png (image/png, 4 bytes)." in text
        v2 = _chat(http, emu, mine, {"model": "GigaChat-2", "messages": [
            {"role": "user", "content": [{"text": "see"}, {"files": [{"id": two}]}]}]}, "v2").json()
        assert "Attachment: y.jpg (image/jpeg, 3 bytes)." in v2["messages"][0]["content"][0]["text"]
        two_images = _chat(http, emu, mine, {"model": "GigaChat-2", "messages": [
            {"role": "user", "content": "x", "attachments": [one, two]}]})
        assert two_images.status_code == 422 and "one image per message" in two_images.json()["message"]
        foreign = _chat(http, emu, theirs, {"model": "GigaChat-2", "messages": [
            {"role": "user", "content": "x", "attachments": [doc]}]})
        assert foreign.status_code == 422 and doc in foreign.json()["message"]


def test_v1_drawing_answers_with_img_markup_a_state_id_and_a_real_jpeg(emu: Emulator) -> None:
    mine = _token(emu, emu.credentials)
    with httpx.Client(verify=_trust(emu)) as http:
        plain = _chat(http, emu, mine, {"model": "GigaChat-2", "messages": [{"role": "user", "content": "нарисуй кота"}]})
        assert "<img" not in plain.text  # the image tool was not allowed
        drawn = _chat(http, emu, mine, {"model": "GigaChat-2", "function_call": "auto",
                                        "messages": [{"role": "user", "content": "нарисуй кота"}]}).json()
        message = drawn["choices"][0]["message"]
        file_id = message["content"].split('<img src="')[1].split('"')[0]
        assert message["content"].startswith(f'<img src="{file_id}" fuse="true"/>') and message["functions_state_id"]
        jpeg = http.get(f"{emu.base_url}/files/{file_id}/content", headers=mine)
        assert jpeg.headers["content-type"] == "image/jpeg"
        image = Image.open(io.BytesIO(jpeg.content))
        image.load()
        assert image.format == "JPEG" and image.size == (64, 64)
        # the state id goes back on the assistant message; an invented one is refused
        history = [{"role": "user", "content": "нарисуй кота"},
                   {"role": "assistant", "content": "ok", "functions_state_id": message["functions_state_id"]},
                   {"role": "user", "content": "bluer"}]
        again = _chat(http, emu, mine, {"model": "GigaChat-2", "messages": history}).json()
        assert f"Tool state from an earlier turn: {message['functions_state_id']}" in \
            again["choices"][0]["message"]["content"]
        history[1]["functions_state_id"] = str(uuid.uuid4())
        assert _chat(http, emu, mine, {"model": "GigaChat-2", "messages": history}).status_code == 422


def test_v2_drawing_streams_a_files_part_before_the_text(emu: Emulator) -> None:
    mine = _token(emu, emu.credentials)
    with httpx.Client(verify=_trust(emu)) as http:
        body = {"model": "GigaChat-2", "stream": True, "tools": [{"image_generate": {}}],
                "tool_config": {"mode": "forced", "tool_name": "image_generate"},
                "messages": [{"role": "user", "content": [{"text": "a red square"}]}]}
        events = [json.loads(line[6:]) for line in _chat(http, emu, mine, body, "v2").text.splitlines()
                  if line.startswith("data: ")]
        first = events[0]["messages"][0]
        assert first["content"][0]["files"][0]["mime"] == "image/jpeg" and first["tool_state_id"]
        assert "text" in events[1]["messages"][0]["content"][0]
