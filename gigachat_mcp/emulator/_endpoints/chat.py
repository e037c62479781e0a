"""A chat completion on either contract: read and check the request as the service does, compose the answer,
and send it whole or as a stream (with the stream slots, mid-stream faults and stream records). What differs
between v1 and v2 is only the wire shape, which each contract's module gives as a Dialect."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import _abilities, _answers, _drawing
from .._http import Call, json_object, send_error
from .._records import StreamRecord
from .._server import ClientGone

if TYPE_CHECKING:
    from .._api import API
    from .._faults import Fault
    from .._server import Connection

__all__ = ["Dialect", "compose", "read_messages", "serve"]

ROLES = ("system", "user", "assistant", "function", "tool", "search_result", "function_in_progress")
_RANGES: dict[str, Callable[[Any], bool]] = {
    "temperature": lambda v: v >= 0, "top_p": lambda v: 0 <= v <= 1,
    "repetition_penalty": lambda v: v > 0, "max_tokens": lambda v: v >= 1 and float(v).is_integer(),
}


@dataclass(frozen=True)
class Dialect:
    """One contract's wire shapes; `served` is the model name with its version, as answers carry it."""

    version: str  # "v1" or "v2", as the request readers of _drawing and _abilities name the contracts
    read: Callable[[dict[str, Any]], tuple[list[dict[str, Any]], dict[str, Any]]]  # -> (messages, options)
    answer_json: Callable[[str, _answers.Answer], dict[str, Any]]
    opening_events: Callable[[str, _answers.Answer], list[str]]  # before the reasoning and the text
    reasoning_event: Callable[[str, str], str]
    delta_event: Callable[[str, str, bool, dict[str, Any] | None], str]  # (served, piece, first, sources)
    closing_events: Callable[[str, _answers.Answer], list[str]]
    malformed_event: str  # JSON cut short, in an event the contract's readers take
    error_event: Callable[[str], str]  # an error payload as the contract streams it


def read_messages(raw: Any, text_of: Callable[[Any], str]) -> list[dict[str, Any]]:
    """Messages as {role, content text}; `text_of` turns the contract's content into text."""
    messages: list[dict[str, Any]] = []
    for m in raw if isinstance(raw, list) else []:
        if not isinstance(m, dict):
            messages.append({"role": None, "content": ""})
            continue
        messages.append({"role": m.get("role"), "content": text_of(m.get("content", ""))})
    return messages


def compose(api: API, request: dict[str, Any], dialect: Dialect,
            owner: str) -> tuple[tuple[int, str] | None, str, _answers.Answer | None]:
    """(problem, served model, answer): what the service makes of a request, checked as it checks it. A batch
    line's request goes through here too."""
    model = request.get("model")
    messages, options = dialect.read(request)
    problem = _validate(model, messages, options)
    if problem is None:
        problem = _answers.failure(messages)  # `[emulator fail=500]`: a row that always fails
    extras = _drawing.Extras()
    if problem is None:
        problem, extras = _drawing.read_extras(request, dialect.version, owner, api.files, api.state_ids)
    plan = _abilities.Plan()
    if problem is None:
        problem, plan = _abilities.read_plan(request, dialect.version)
    if problem is not None:
        return problem, "", None
    answer = _answers.compose(str(model), messages, options, api.chunk_delay, notes=extras.notes)
    if extras.draw:
        drawn = api.files.draw(owner)
        answer = _drawing.with_drawing(answer, dialect.version, drawn.id, api.state_ids)
    answer = _abilities.apply(answer, plan, messages, api.state_ids)
    return None, f"{model}:{_answers.MODEL_VERSION}", answer


def serve(api: API, call: Call, dialect: Dialect) -> None:
    conn = call.conn
    request = json_object(call.body)
    if request is None:
        return send_error(conn, 400, "Your request contains invalid JSON syntax.")
    problem, served, answer = compose(api, request, dialect, call.owner)
    if problem is not None or answer is None:
        return send_error(conn, *(problem or (500, "Internal Server Error")))
    if not request.get("stream"):
        return conn.send_json(200, dialect.answer_json(served, answer), _trace_headers())
    if not _accepts_event_stream(conn.headers.get("Accept")):
        # HTTP content negotiation: the official SDK and this project send `Accept: text/event-stream` on
        # streams; a client that asks for JSON only (a stream sent with non-stream headers) is told so
        return send_error(conn, 406, "Not Acceptable: a stream is text/event-stream")
    if not api.open_stream(call.owner):
        return send_error(conn, 429, "Too many requests")
    try:
        _Stream(api, call, dialect, served, answer).run()
    finally:
        api.close_stream(call.owner)


def _validate(model: Any, messages: list[dict[str, Any]], options: dict[str, Any]) -> tuple[int, str] | None:
    if not isinstance(model, str) or not model:
        return 422, "Invalid params: model is required"
    if model not in _answers.MODELS:
        return 404, "No such model"
    if _answers.MODELS[model] != "chat":
        return 422, f"Invalid params: model {model} does not support chat"
    if not messages:
        return 422, "Invalid params: messages must not be empty"
    for m in messages:
        if m["role"] not in ROLES:
            return 422, f"Invalid params: unknown role {m['role']!r}"
    if any(m["role"] == "system" for m in messages[1:]):
        return 422, "Invalid params: system message must be the first message"
    for name, ok in _RANGES.items():
        value = options.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value)):
            return 422, f"Invalid params: {name} is out of range ({value!r})"
    return None


class _Stream:
    """One streamed answer: reasoning, then the text in events (written `answer.coalesce` at a time), then the
    closing events; a queued mid-stream fault cuts in after its `after_chunks` text events."""

    def __init__(self, api: API, call: Call, dialect: Dialect, served: str, answer: _answers.Answer) -> None:
        self.conn: Connection = call.conn
        self.dialect, self.served, self.answer = dialect, served, answer
        self.fault = api.faults.take(call.endpoint, mid_stream=True)
        self.pieces = answer.pieces()
        self.record = StreamRecord(self.conn.path, planned_chunks=len(self.pieces))
        api.record_stream(self.record)
        self.pending: list[str] = []

    def run(self) -> None:
        conn, answer, fault = self.conn, self.answer, self.fault
        try:
            conn.start_stream(_trace_headers())
            for event in self.dialect.opening_events(self.served, answer):
                conn.send_event(event)
            for piece in answer.pieces(answer.reasoning) if answer.reasoning else ():
                conn.wait(answer.delay)
                conn.send_event(self.dialect.reasoning_event(self.served, piece))
            pieces = [] if answer.function_call is not None else self.pieces  # a call comes whole, at the end
            for index, piece in enumerate(pieces):
                if fault is not None and index == fault.after_chunks:
                    self._flush()
                    return self._mid_fault(fault)
                conn.wait(answer.delay)
                sources = answer.sources if index == len(pieces) - 1 else None
                self.pending.append(self.dialect.delta_event(self.served, piece, index == 0, sources))
                if len(self.pending) >= answer.coalesce:
                    self._flush()
                if index == 0:
                    self.record.first_chunk_at = time.monotonic()
            self._flush()
            if fault is not None:
                return self._mid_fault(fault)
            conn.send_event("".join([*self.pending, *self.dialect.closing_events(self.served, answer)]))
            conn.end_stream()
            self.record.outcome = "completed"
        except ClientGone:
            if self.record.outcome == "streaming":
                self.record.outcome = "client went away"
            conn.close_connection = True

    def _flush(self) -> None:
        if self.pending:
            self.conn.send_event("".join(self.pending))
            self.record.sent_chunks += len(self.pending)
            self.pending.clear()

    def _mid_fault(self, fault: Fault) -> None:
        conn, record = self.conn, self.record
        if fault.stall:
            record.outcome = "stalled"
            conn.wait(fault.stall)
        if fault.event == "malformed":
            record.outcome = "malformed event"
            conn.send_event(self.dialect.malformed_event)
        elif fault.event == "error":
            record.outcome = "error event"
            status = fault.status or 500
            payload = json.dumps({"status_code": status, "message": fault.message or "Internal Server Error"})
            conn.send_event(self.dialect.error_event(payload))
        elif fault.event == "end":
            record.outcome = "ended early"
        else:
            if record.outcome == "streaming":
                record.outcome = "dropped by fault"
            conn.cut()
        conn.end_stream()
        conn.close_connection = True


def _accepts_event_stream(accept: str | None) -> bool:
    """Whether an Accept header admits text/event-stream (no header admits anything; q=0 excludes)."""
    if accept is None:
        return True
    for item in accept.split(","):
        media, *params = (part.strip().lower() for part in item.split(";"))
        if media in ("text/event-stream", "text/*", "*/*") and not any(
                p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params):
            return True
    return False


def _trace_headers() -> dict[str, str]:
    return {"X-Request-ID": str(uuid.uuid4()), "X-Session-ID": str(uuid.uuid4())}
