"""The Batch API (`POST /batches?method=chat_completions|embedder` with a JSONL body, `GET /batches[?batch_id=]`),
for pay-as-you-go keys only. The shapes are the OpenAPI spec's; the output file (downloaded through
`/files/{id}/content`) holds `{"id", "result"}` or `{"id", "error": {"status", "message"}}` lines, the shape
clients read (not documented). A request whose last user message says `[emulator line=malformed]` gets a broken
output line, and `[emulator fail=500]` an error line."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .. import _answers
from .._batches import StoredBatch
from .._http import API_V1, Call, Route, send_error
from . import chat_v1
from .chat import compose
from .info import embedding_answer, scope_of

if TYPE_CHECKING:
    from .._api import API

__all__ = ["MAX_LINES", "ROUTES"]

MAX_LINES = 500  # the official SDK's notebook: "The API currently supports up to 500 lines per file"
METHODS = ("chat_completions", "embedder")


def create(api: API, call: Call) -> None:
    if scope_of(api, call.owner) != "GIGACHAT_API_CORP":
        return send_error(call.conn, 403, "Permission denied: batches are for pay-as-you-go (CORP) keys")
    method = _query(call).get("method", "")
    if method not in METHODS:
        return send_error(call.conn, 400, "Invalid params: method must be chat_completions or embedder")
    lines = _read_lines(call.body)
    if isinstance(lines, str):
        return send_error(call.conn, 400, lines)
    batch = api.batches.add(call.owner, method, lines)
    data = batch.describe(api.batch_delay)
    data.pop("output_file_id", None)
    data["request_counts"] = {"total": len(lines)}
    data["status"] = "created"
    call.conn.send_json(200, data)


def status(api: API, call: Call) -> None:
    batch_id = _query(call).get("batch_id")
    if batch_id is None:
        batches = api.batches.owned_by(call.owner)
    else:
        found = api.batches.get(call.owner, batch_id)
        if found is None:
            return send_error(call.conn, 404, "Batch task not found")
        batches = [found]
    for batch in batches:
        _finish_if_due(api, batch)
    call.conn.send_json(200, {"batches": [batch.describe(api.batch_delay) for batch in batches]})


def _query(call: Call) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(call.conn.path).query).items()}


def _read_lines(body: bytes) -> list[tuple[str, dict[str, Any]]] | str:
    lines: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for number, raw in enumerate(body.decode("utf-8", "replace").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except ValueError:
            return f"Invalid JSONL: line {number} is not JSON"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("request"),
                                                                                               dict):
            return f"Invalid JSONL: line {number} needs a string 'id' and an object 'request'"
        if item["id"] in seen:
            return f"Invalid JSONL: id {item['id']!r} is not unique"
        seen.add(item["id"])
        lines.append((item["id"], item["request"]))
    if not lines:
        return "Invalid JSONL: the file has no tasks"
    if len(lines) > MAX_LINES:
        return f"Invalid JSONL: at most {MAX_LINES} lines per file"
    return lines


def _finish_if_due(api: API, batch: StoredBatch) -> None:
    """On the first look after its delay, answer every line and store the output file (once)."""
    with api.batches.lock:
        if batch.output_file_id is not None or batch.status(api.batch_delay) != "completed":
            return
        out = [_answer_line(api, batch, line_id, request) for line_id, request in batch.lines]
        batch.failed = sum('"error"' in line[:80] for line in out)
        batch.completed = len(out) - batch.failed
        stored = api.files.add(batch.owner, f"{batch.id}-output.jsonl", "\n".join(out).encode(),
                               mime="application/octet-stream")
        batch.output_file_id = stored.id


def _answer_line(api: API, batch: StoredBatch, line_id: str, request: dict[str, Any]) -> str:
    if batch.method == "embedder":
        code, body = embedding_answer(request)
    else:
        messages, _ = chat_v1.DIALECT.read(request)
        if _answers.directive(messages).get("line") == "malformed":
            return f'{{"id": {json.dumps(line_id)}, "result": {{"choi'
        problem, served, answer = compose(api, request, chat_v1.DIALECT, batch.owner)
        code, body = (200, chat_v1.DIALECT.answer_json(served, answer)) if problem is None and answer is not None \
            else (problem or (500, "Internal Server Error"))
    if code != 200:
        return json.dumps({"id": line_id, "error": {"status": code, "message": body}}, ensure_ascii=False)
    return json.dumps({"id": line_id, "result": body}, ensure_ascii=False)


ROUTES = (
    Route("POST", API_V1, "/batches", "batch_create", create),
    Route("GET", API_V1, "/batches", "batches", status),
)
