"""The Batch API (pay-as-you-go keys): a JSONL file of requests in, a JSONL file of answers out. Pure builders
and parsers; the wire contract is the official OpenAPI spec's (`POST /batches?method=`, `GET /batches?batch_id=`,
`GET /files/{id}/content`). The result line shape `{"id", "result"}` / `{"id", "error"}` is not documented; it
is what two independent clients read, so lines are parsed defensively and an unreadable line is skipped (its
row is then reported missing, never guessed)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .._errors import InvalidRequestError
from . import _chat_v1
from ._call import NO_OPTIONS, Call, ChatOptions, dumps
from ._tools import NO_TOOLS, Tools

__all__ = ["BATCH_METHODS", "MAX_BATCH_LINES", "Batch", "BatchLine", "batch_chat_request", "batch_jsonl", "create_batch_call",
           "get_batch_call", "parse_batch_output", "read_batch_call"]

BATCH_METHODS = ("chat_completions", "embedder")
MAX_BATCH_LINES = 500  # the official SDK's notebook: "The API currently supports up to 500 lines per file"
DONE = "completed"
FAILED = frozenset({"failed", "expired", "cancelled", "canceled"})  # undocumented, but terminal if ever seen


@dataclass(frozen=True, slots=True)
class Batch:
    """One batch as the service describes it; `status` is created | in_progress | completed (kept as a str, so
    a status the spec does not list yet does not break parsing)."""

    id: str
    method: str
    status: str
    total: int = 0
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = None

    @property
    def done(self) -> bool:
        return self.status == DONE and bool(self.output_file_id)

    @property
    def broken(self) -> bool:
        return self.status in FAILED


@dataclass(frozen=True, slots=True)
class BatchLine:
    """One line of a batch's output: the answer body (`result`) or the error (`status`, `message`)."""

    id: str
    result: Any = None
    status: int | None = None
    message: str = ""


def batch_jsonl(lines: Iterable[tuple[str, Mapping[str, Any]]]) -> bytes:
    """(id, request body) pairs as the JSONL the service takes: one {"id", "request"} object a line."""
    out: list[bytes] = []
    seen: set[str] = set()
    for line_id, request in lines:
        if line_id in seen:
            raise InvalidRequestError(f"batch line id {line_id!r} appears twice; ids must be unique in a file.")
        seen.add(line_id)
        out.append(dumps({"id": line_id, "request": request}))
    if not out or len(out) > MAX_BATCH_LINES:
        raise InvalidRequestError(f"a batch holds 1 to {MAX_BATCH_LINES} lines, not {len(out)}.")
    return b"\n".join(out)


def create_batch_call(base_url: str, method: str, jsonl: bytes) -> Call:
    if method not in BATCH_METHODS:
        raise InvalidRequestError(f"a batch method is 'chat_completions' or 'embedder', not {method!r}.")
    return Call("POST", f"{base_url}/batches?method={method}", _parse_one, body=jsonl,
                headers={"Content-Type": "application/octet-stream", "Accept": "application/json"},
                upload=True, forbidden=BATCH_FORBIDDEN)


def get_batch_call(base_url: str, batch_id: str) -> Call:
    # the spec marks Content-Type: application/json as a required header of this bodiless GET
    return Call("GET", f"{base_url}/batches?batch_id={quote(batch_id, safe='')}", _parse_one,
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                not_found=f"No batch {batch_id!r} for this key (a batch belongs to the key that created it).",
                forbidden=BATCH_FORBIDDEN)


def read_batch_call(base_url: str, file_id: str) -> Call:
    return Call("GET", f"{base_url}/files/{quote(file_id, safe='')}/content", bytes,
                headers={"Accept": "application/octet-stream"}, raw=True,
                not_found=f"The batch output file {file_id!r} is gone (the service keeps it for a limited time).")


BATCH_FORBIDDEN = ("The Batch API is for pay-as-you-go keys only (scope GIGACHAT_API_CORP). Run map() without "
                   "batch=True: it sends the rows concurrently within your key's limit.")


def _parse_one(data: Any) -> Batch:
    """A batch from any of the shapes seen: {"batches": [...]}, a bare list, or the object itself."""
    if isinstance(data, Mapping) and isinstance(data.get("batches"), list):
        data = data["batches"]
    if isinstance(data, list):
        if not data:
            raise ValueError("the batch list is empty")
        data = data[0]
    counts = data.get("request_counts") or {}
    return Batch(id=str(data["id"]), method=str(data.get("method", "")), status=str(data.get("status", "")),
                 total=int(counts.get("total") or 0), completed=int(counts.get("completed") or 0),
                 failed=int(counts.get("failed") or 0), output_file_id=data.get("output_file_id") or None)


def parse_batch_output(content: bytes) -> tuple[dict[str, BatchLine], int]:
    """The output file's lines by id, and how many lines could not be read. A JSON array is taken too."""
    text = content.decode("utf-8", "replace").strip()
    items: list[Any]
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            items = []
    else:
        items = []
        for raw in text.splitlines():
            if raw.strip():
                try:
                    items.append(json.loads(raw))
                except ValueError:
                    items.append(None)
    lines: dict[str, BatchLine] = {}
    unreadable = 0
    for item in items:
        line = _line(item)
        if line is None:
            unreadable += 1
        else:
            lines[line.id] = line
    return lines, unreadable


def _line(item: Any) -> BatchLine | None:
    if not isinstance(item, dict) or "id" not in item:
        return None
    error = item.get("error")
    if error:
        if isinstance(error, Mapping):
            status = error.get("status") or error.get("status_code") or error.get("code") or 500
            message = str(error.get("message") or "")
        else:
            status, message = 500, str(error)
        return BatchLine(str(item["id"]), status=int(status) if isinstance(status, int) else 500, message=message)
    if not isinstance(item.get("result"), Mapping):
        return None
    return BatchLine(str(item["id"]), result=item["result"])


def batch_chat_request(model: str, messages: list[dict[str, Any]], options: ChatOptions,
                       tools: Tools = NO_TOOLS) -> dict[str, Any]:
    """A chat line's request: the v1 chat body (the guide names `POST /chat/completions`), never streamed."""
    if options != NO_OPTIONS:
        options.check()
    body = _chat_v1.chat_body(model, messages, options, False, tools)
    body.pop("stream", None)
    return body
