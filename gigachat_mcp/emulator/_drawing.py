"""What a chat request carries besides text, as the emulated service reads it: attachments, built-in tool
permissions and the state ids of earlier tool runs; and the answer's drawn picture on both contracts.

v1 answers a drawing with `<img src="ID" fuse="true"/>` in the text and a `functions_state_id`; v2 with a
`files` content part before the text and a `tool_state_id`. The answer's notes name every attachment
(name, type, size; the start of a text file) so tests can see each one arrive.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from . import _rules
from ._answers import Answer, count_tokens
from ._files import FileStore

__all__ = ["Extras", "read_extras", "v2_file_parts", "v2_files_event", "with_drawing"]

_WANTS_PICTURE = re.compile(r"нарису|изобрази|сгенерируй\s+(картин|изображ)|\bdraw\b|\bpaint\b|picture of|image of",
                            re.IGNORECASE)


@dataclass
class Extras:
    notes: tuple[str, ...] = ()
    draw: bool = False


def read_extras(request: dict[str, Any], version: str, owner: str, files: FileStore,
                state_ids: set[str]) -> tuple[tuple[int, str] | None, Extras]:
    """The problem the service would answer with (status, message), or None and what the request carries."""
    notes: list[str] = []
    images = 0
    messages = [m for m in request.get("messages") or () if isinstance(m, dict)]
    for index, message in enumerate(messages):
        ids = _attachment_ids(message, version)
        kinds = []
        for file_id in ids:
            stored = files.get(owner, file_id)
            if stored is None:
                return (422, f"Invalid params: file {file_id} not found"), Extras()
            kind = _rules.kind_of(stored.filename)
            kinds.append(kind)
            notes.append(f"Attachment: {stored.filename} ({stored.mime}, {len(stored.data)} bytes).")
            if stored.mime == "text/plain":
                start = stored.data[:200].decode("utf-8", "replace").strip()
                notes.append(f'Text of {stored.filename}: "{start}".')
        if kinds.count("image") > _rules.IMAGES_PER_MESSAGE:
            return (422, f"Invalid params: only one image per message is allowed (messages[{index}])"), Extras()
        images += kinds.count("image")
        state = message.get("functions_state_id") or message.get("tools_state_id") or message.get("tool_state_id")
        if state is not None:
            if state not in state_ids:
                return (422, f"Invalid params: unknown functions_state_id {state}"), Extras()
            notes.append(f"Tool state from an earlier turn: {state}.")
    if images > _rules.IMAGES_PER_REQUEST:
        return (422, f"Invalid params: at most {_rules.IMAGES_PER_REQUEST} images per request"), Extras()
    allowed, forced = _image_tool(request, version)
    last_user = next((_text(m, version) for m in reversed(messages) if m.get("role") == "user"), "")
    return None, Extras(tuple(notes), forced or (allowed and bool(_WANTS_PICTURE.search(last_user))))


def with_drawing(answer: Answer, version: str, file_id: str, state_ids: set[str]) -> Answer:
    state = str(uuid.uuid4())
    state_ids.add(state)
    text = "Here is the picture you asked for. " + answer.text
    if version == "v1":  # the markup leads, so a stream splits it over several events, as it may in real life
        text = f'<img src="{file_id}" fuse="true"/>' + text
    return dataclasses.replace(answer, text=text, completion_tokens=count_tokens(text),
                               files=((file_id, "image/jpeg"),), state_id=state)


def v2_file_parts(answer: Answer) -> list[dict[str, Any]]:
    if not answer.files:
        return []
    return [{"files": [{"id": file_id, "mime": mime, "target": "image"} for file_id, mime in answer.files]}]


def v2_files_event(served: str, answer: Answer) -> str:
    message: dict[str, Any] = {"role": "assistant", "content": v2_file_parts(answer)}
    if answer.state_id:
        message["tool_state_id"] = answer.state_id
    data = {"model": served, "created_at": int(time.time()), "messages": [message]}
    return f"event: response.message.delta\ndata: {json.dumps(data)}\n\n"


def _attachment_ids(message: dict[str, Any], version: str) -> list[str]:
    if version == "v1":
        ids = message.get("attachments") or []
        return [i for i in ids if isinstance(i, str)]
    content = message.get("content")
    found: list[str] = []
    for part in content if isinstance(content, list) else ():
        if isinstance(part, dict):
            found.extend(f["id"] for f in part.get("files") or () if isinstance(f, dict) and "id" in f)
    return found


def _text(message: dict[str, Any], version: str) -> str:
    content = message.get("content", "")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _image_tool(request: dict[str, Any], version: str) -> tuple[bool, bool]:
    """(allowed, forced) for the built-in image tool: v1 text2image via function_call, v2 tools/tool_config."""
    if version == "v1":
        call = request.get("function_call")
        functions = request.get("functions") or []
        if isinstance(call, dict):
            forced = call.get("name") == "text2image"
            return forced, forced
        named = any(isinstance(f, dict) and f.get("name") == "text2image" for f in functions)
        return call == "auto" and (not functions or named), False
    tools = request.get("tools") or []
    allowed = any(isinstance(t, dict) and "image_generate" in t for t in tools)
    config = request.get("tool_config") or {}
    forced = allowed and config.get("mode") == "forced" and config.get("tool_name") == "image_generate"
    return allowed, forced
