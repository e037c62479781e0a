"""The GigaChat API as the emulator serves it: the real paths, wire shapes, status codes and error bodies."""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import _abilities, _answers, _drawing
from ._faults import Fault, FaultQueue
from ._files import FileStore, parse_multipart, purpose_of, upload_problem
from ._server import ClientGone, Connection

__all__ = ["API", "RecordedRequest", "StreamRecord"]

SCOPES = ("GIGACHAT_API_PERS", "GIGACHAT_API_B2B", "GIGACHAT_API_CORP")
LOG_LIMIT = 10_000
_RQUID = re.compile(r"^[0-9a-fA-F-]{36}$")
_V1_PATHS = {
    ("GET", "/models"): "models",
    ("POST", "/chat/completions"): "chat",
    ("POST", "/tokens/count"): "tokens_count",
    ("POST", "/embeddings"): "embeddings",
    ("GET", "/balance"): "balance",
    ("POST", "/token"): "token",
    ("POST", "/files"): "upload",
    ("GET", "/files"): "files",
    ("POST", "/ai/check"): "ai_check",
}
_FILE_PATH = re.compile(r"^/files/([^/]+)(/delete|/content)?$")
_FILE_ENDPOINTS = {("GET", ""): "file", ("POST", "/delete"): "file_delete", ("GET", "/content"): "file_content"}


@dataclass
class RecordedRequest:
    """What reached the emulator (the Authorization header is kept only as its scheme)."""

    method: str
    path: str
    endpoint: str | None
    headers: dict[str, str]
    body: Any


@dataclass
class StreamRecord:
    """One streamed answer, from the server's side: how far it got and how it ended."""

    path: str
    planned_chunks: int
    sent_chunks: int = 0
    outcome: str = "streaming"  # completed | client went away | dropped by fault | stalled | error/malformed event
    started: float = field(default_factory=time.monotonic)
    first_chunk_at: float | None = None  # time.monotonic() when the first text event was written


@dataclass
class _Issued:
    owner: str
    scope: str
    expires_at: float


class API:
    """State and request handling; one instance per emulator, shared by all connection threads."""

    def __init__(self, *, credentials: dict[str, str], users: dict[str, str], token_ttl: float, chunk_delay: float,
                 stream_limit: int | None, expires_at_unit: str, accept_client_certs: bool) -> None:
        self.credentials = credentials
        self.users = users
        self.token_ttl = token_ttl
        self.chunk_delay = chunk_delay
        self.stream_limit = stream_limit
        self.expires_at_unit = expires_at_unit
        self.accept_client_certs = accept_client_certs
        self.faults = FaultQueue()
        self.requests: deque[RecordedRequest] = deque(maxlen=LOG_LIMIT)  # bounded: emulators may run for days
        self.streams: deque[StreamRecord] = deque(maxlen=LOG_LIMIT)
        self.oauth_calls = 0
        self._tokens: dict[str, _Issued] = {}
        self._ever_issued: deque[str] = deque(maxlen=LOG_LIMIT)
        self._active: dict[str, int] = {}
        self.files = FileStore()
        self.state_ids: set[str] = set()  # functions_state_id / tool_state_id values handed out
        self._lock = threading.Lock()
        self.changed = threading.Condition(self._lock)

    # --- state the Emulator exposes ------------------------------------------------------------------------

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def expire_tokens(self) -> None:
        with self._lock:
            for issued in self._tokens.values():
                issued.expires_at = time.time() - 1

    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self._ever_issued)

    def active_streams(self) -> int:
        with self._lock:
            return sum(self._active.values())

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "oauth_calls": self.oauth_calls,
                "requests": len(self.requests),
                "active_streams": sum(self._active.values()),
                "streams": [{"outcome": s.outcome, "sent_chunks": s.sent_chunks, "planned_chunks": s.planned_chunks}
                            for s in self.streams],
                "faults_queued": len(self.faults),
            }

    # --- dispatch ------------------------------------------------------------------------------------------

    def handle(self, conn: Connection) -> None:
        path = urlsplit(conn.path).path.rstrip("/")
        body = conn.read_body()
        if path.startswith("/_emulator/"):
            return self._control(conn, path, body)
        endpoint, version, rest = self._route(conn.command, path)
        self._record(conn, path, endpoint, body)
        if endpoint is None:
            return conn.send_json(404, {"status": 404, "message": "Not found"})
        fault = self.faults.take(endpoint)
        if fault is not None:
            if fault.delay:
                conn.wait(fault.delay)
            if fault.drop == "before":
                conn.reset()
            if fault.status:
                return self._fault_status(conn, endpoint, fault)
        if endpoint == "oauth":
            return self._oauth(conn, body)
        if endpoint == "token":
            return self._password_token(conn)
        owner = self._authorize(conn)
        if owner is None:
            return None
        if endpoint == "chat":
            return self._chat(conn, body, version, owner)
        if endpoint == "models":
            return self._models(conn, rest)
        if endpoint == "tokens_count":
            return self._with_json(conn, body, self._tokens_count)
        if endpoint == "embeddings":
            return self._with_json(conn, body, self._embeddings)
        if endpoint == "balance":
            return self._balance(conn, owner)
        if endpoint == "ai_check":
            return self._ai_check(conn, body, owner)
        return self._file_endpoint(conn, endpoint, rest, body, owner)

    def _route(self, method: str, path: str) -> tuple[str | None, str, str]:
        if path == "/api/v2/oauth":
            return ("oauth" if method == "POST" else None), "v2", ""
        bare = path[4:] if path.startswith("/api/") else path
        if bare == "/v2/chat/completions" and method == "POST":
            return "chat", "v2", ""
        if bare.startswith("/v1/"):
            rest = bare[3:]
            if method == "GET" and rest.startswith("/models/"):
                return "models", "v1", rest[len("/models/"):]
            match = _FILE_PATH.match(rest)
            if match:
                return _FILE_ENDPOINTS.get((method, match.group(2) or "")), "v1", match.group(1)
            return _V1_PATHS.get((method, rest)), "v1", ""
        return None, "v1", ""

    def _record(self, conn: Connection, path: str, endpoint: str | None, body: bytes) -> None:
        headers = {k.lower(): v for k, v in conn.headers.items()}
        if "authorization" in headers:
            headers["authorization"] = headers["authorization"].split(" ", 1)[0] + " ***"
        try:
            parsed: Any = json.loads(body) if body and endpoint != "upload" else None
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        if endpoint == "upload":
            parsed = {"bytes": len(body)}  # an upload's bytes are kept in the file store, not the request log
        with self._lock:
            self.requests.append(RecordedRequest(conn.command, path, endpoint, headers, parsed))
            if endpoint == "oauth":
                self.oauth_calls += 1

    def _fault_status(self, conn: Connection, endpoint: str, fault: Fault) -> None:
        status = fault.status or 500
        message = fault.message or {429: "Too many requests", 401: "Unauthorized", 500: "Internal Server Error",
                                    502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "Error")
        if endpoint == "oauth":
            payload: dict[str, Any] = {"code": fault.code, "message": message} if fault.code else {"message": message}
        else:
            payload = {"status": status, "message": message}
        conn.send_json(status, payload, fault.headers)

    # --- authentication ------------------------------------------------------------------------------------

    def _oauth(self, conn: Connection, body: bytes) -> None:
        if not _RQUID.match(conn.headers.get("RqUID", "")):
            return conn.send_json(400, {"message": "RqUID header is missing or invalid"})
        scope = (parse_qs(body.decode("utf-8", "replace")).get("scope") or [""])[0]
        if not scope:
            return conn.send_json(400, {"code": 5, "message": "scope is empty"})
        if scope not in SCOPES:
            return conn.send_json(400, {"code": 1, "message": "scope data format invalid"})
        scheme, _, key = conn.headers.get("Authorization", "").partition(" ")
        if scheme != "Basic" or not _decodes(key):
            return conn.send_json(401, {"code": 4, "message": "Can't decode 'Authorization' header"})
        if key not in self.credentials:
            return conn.send_json(401, {"code": 6, "message": "credentials doesn't match db data"})
        if self.credentials[key] != scope:
            return conn.send_json(400, {"code": 7, "message": "scope from db not fully includes consumed scope"})
        token, expires = self._issue(owner=key, scope=scope)
        value = int(expires * 1000) if self.expires_at_unit == "ms" else int(expires)
        conn.send_json(200, {"access_token": token, "expires_at": value})

    def _password_token(self, conn: Connection) -> None:
        scheme, _, encoded = conn.headers.get("Authorization", "").partition(" ")
        user, _, password = _decoded(encoded).partition(":") if scheme == "Basic" else ("", "", "")
        if not user or self.users.get(user) != password:
            return conn.send_json(401, {"status": 401, "message": "Unauthorized"})
        token, expires = self._issue(owner=f"user:{user}", scope="GIGACHAT_API_CORP")
        conn.send_json(200, {"tok": token, "exp": int(expires)})  # seconds, as the docs' example shows

    def _issue(self, owner: str, scope: str) -> tuple[str, float]:
        token = "emu-" + secrets.token_urlsafe(24)
        expires = time.time() + self.token_ttl
        with self._lock:
            now = time.time()
            for stale in [t for t, issued in self._tokens.items() if issued.expires_at < now - 3600]:
                del self._tokens[stale]  # long expired: a 401 'Unauthorized' now instead of 'Token has expired'
            self._tokens[token] = _Issued(owner, scope, expires)
            self._ever_issued.append(token)
        return token, expires

    def _authorize(self, conn: Connection) -> str | None:
        scheme, _, token = conn.headers.get("Authorization", "").partition(" ")
        if scheme == "Bearer" and token:
            with self._lock:
                issued = self._tokens.get(token)
            if issued is not None and issued.expires_at > time.time():
                return issued.owner
            message = "Token has expired" if issued is not None else "Unauthorized"
        elif self.accept_client_certs and _peer_certificate(conn):
            return "mtls"
        else:
            message = "Unauthorized"
        conn.send_json(401, {"status": 401, "message": message})
        return None

    # --- chat ----------------------------------------------------------------------------------------------

    def _chat(self, conn: Connection, body: bytes, version: str, owner: str) -> None:
        try:
            request = json.loads(body)
            if not isinstance(request, dict):
                raise ValueError
        except ValueError:
            return conn.send_json(400, {"status": 400, "message": "Your request contains invalid JSON syntax."})
        model = request.get("model")
        messages, options = _read_chat(request, version)
        problem = _validate(model, messages, options)
        extras = _drawing.Extras()
        if problem is None:
            problem, extras = _drawing.read_extras(request, version, owner, self.files, self.state_ids)
        plan = _abilities.Plan()
        if problem is None:
            problem, plan = _abilities.read_plan(request, version)
        if problem is not None:
            return conn.send_json(problem[0], {"status": problem[0], "message": problem[1]})
        answer = _answers.compose(str(model), messages, options, self.chunk_delay, notes=extras.notes)  # a str
        if extras.draw:
            drawn = self.files.draw(owner)
            answer = _drawing.with_drawing(answer, version, drawn.id, self.state_ids)
        answer = _abilities.apply(answer, plan, messages, self.state_ids)
        served = f"{model}:{_answers.MODEL_VERSION}"
        if not request.get("stream"):
            return conn.send_json(200, _chat_json(version, served, answer), _trace_headers())
        if not _accepts_event_stream(conn.headers.get("Accept")):
            # HTTP content negotiation: the official SDK and this project send `Accept: text/event-stream` on
            # streams; a client that asks for JSON only (a stream sent with non-stream headers) is told so
            return conn.send_json(406, {"status": 406, "message": "Not Acceptable: a stream is text/event-stream"})
        self._stream(conn, version, served, answer, owner)

    def _stream(self, conn: Connection, version: str, served: str, answer: _answers.Answer, owner: str) -> None:
        with self._lock:
            if self.stream_limit is not None and self._active.get(owner, 0) >= self.stream_limit:
                busy = True
            else:
                busy = False
                self._active[owner] = self._active.get(owner, 0) + 1
        if busy:
            return conn.send_json(429, {"status": 429, "message": "Too many requests"})
        fault = self.faults.take("chat", mid_stream=True)
        pieces = answer.pieces()
        record = StreamRecord(conn.path, planned_chunks=len(pieces))
        with self._lock:
            self.streams.append(record)
        pending: list[str] = []  # events written together, `answer.coalesce` at a time

        def flush() -> None:
            if pending:
                conn.send_event("".join(pending))
                record.sent_chunks += len(pending)
                pending.clear()

        try:
            conn.start_stream(_trace_headers())
            if version == "v2" and answer.files:
                conn.send_event(_drawing.v2_files_event(served, answer))
            for piece in answer.pieces(answer.reasoning) if answer.reasoning else ():
                conn.wait(answer.delay)
                conn.send_event(_reasoning_event(version, served, piece))
            if answer.function_call is not None:
                pieces = []  # a function call comes whole with the final event
            for index, piece in enumerate(pieces):
                if fault is not None and index == fault.after_chunks:
                    flush()
                    self._mid_fault(conn, version, fault, record)
                    return
                conn.wait(answer.delay)
                sources = answer.sources if index == len(pieces) - 1 else None
                pending.append(_delta_event(version, served, piece, first=index == 0, sources=sources))
                if len(pending) >= answer.coalesce:
                    flush()
                if index == 0:
                    record.first_chunk_at = time.monotonic()
            flush()
            if fault is not None:
                self._mid_fault(conn, version, fault, record)
                return
            pending.append(_final_event(version, served, answer))
            if version == "v1":
                pending.append("data: [DONE]\n\n")
            conn.send_event("".join(pending))
            conn.end_stream()
            record.outcome = "completed"
        except ClientGone:
            if record.outcome == "streaming":
                record.outcome = "client went away"
            conn.close_connection = True
        finally:
            with self.changed:
                self._active[owner] -= 1
                self.changed.notify_all()

    def _mid_fault(self, conn: Connection, version: str, fault: Fault, record: StreamRecord) -> None:
        if fault.stall:
            record.outcome = "stalled"
            conn.wait(fault.stall)
        if fault.event == "malformed":
            record.outcome = "malformed event"
            cut_short = ('event: response.message.delta\ndata: {"messages": [{"role": "assistant", "content": '
                         '[{"text": "bro\n\n') if version == "v2" else 'data: {"choices": [{"delta": {"content": "bro\n\n'
            conn.send_event(cut_short)  # JSON cut short, in an event the dialect reads
        elif fault.event == "error":
            record.outcome = "error event"
            status = fault.status or 500
            payload = json.dumps({"status_code": status, "message": fault.message or "Internal Server Error"})
            conn.send_event(f"event: error\ndata: {payload}\n\n" if version == "v2" else f"data: {payload}\n\n")
        elif fault.event == "end":
            record.outcome = "ended early"
        else:
            if record.outcome == "streaming":
                record.outcome = "dropped by fault"
            conn.cut()
        conn.end_stream()
        conn.close_connection = True

    # --- other endpoints -----------------------------------------------------------------------------------

    def _models(self, conn: Connection, model_id: str) -> None:
        def entry(name: str) -> dict[str, str]:
            return {"id": name, "object": "model", "owned_by": "salutedevices", "type": _answers.MODELS[name]}

        if model_id:
            if model_id not in _answers.MODELS:
                return conn.send_json(404, {"status": 404, "message": "No such model"})
            return conn.send_json(200, entry(model_id))
        conn.send_json(200, {"object": "list", "data": [entry(name) for name in _answers.MODELS]})

    def _with_json(self, conn: Connection, body: bytes, handler: Any) -> None:
        try:
            request = json.loads(body)
            inputs = request["input"]
            if isinstance(inputs, str):
                inputs = [inputs]
            if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return conn.send_json(422, {"status": 422, "message": "Invalid params: input must be a list of strings"})
        model = request.get("model")
        if model not in _answers.MODELS:
            return conn.send_json(404, {"status": 404, "message": "No such model"})
        handler(conn, model, inputs)

    def _tokens_count(self, conn: Connection, model: str, inputs: list[str]) -> None:
        conn.send_json(200, [{"object": "tokens", "tokens": _answers.count_tokens(t), "characters": len(t)}
                             for t in inputs])

    def _embeddings(self, conn: Connection, model: str, inputs: list[str]) -> None:
        if _answers.MODELS[model] != "embedder":
            return conn.send_json(422, {"status": 422, "message": f"Model {model} is not an embedder"})
        data = [{"object": "embedding", "embedding": _answers.embed(t), "index": i,
                 "usage": {"prompt_tokens": _answers.count_tokens(t)}} for i, t in enumerate(inputs)]
        conn.send_json(200, {"object": "list", "data": data, "model": model})

    def _balance(self, conn: Connection, owner: str) -> None:
        scope = self.credentials.get(owner, "GIGACHAT_API_PERS")
        if scope == "GIGACHAT_API_CORP":
            return conn.send_json(403, {"status": 403, "message": "Permission denied"})
        conn.send_json(200, {"balance": [{"usage": "GigaChat-2", "value": 1_000_000},
                                         {"usage": "embeddings", "value": 5_000_000}]})

    def _ai_check(self, conn: Connection, body: bytes, owner: str) -> None:
        """AI-text detection: corporate keys only; sentences naming GigaChat count as written by a model."""
        if self._scope_of(owner) != "GIGACHAT_API_CORP":
            return conn.send_json(403, {"status": 403, "message": "Permission denied"})
        try:
            request = json.loads(body)
            text = request["input"]
            if not isinstance(text, str) or not text:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return conn.send_json(422, {"status": 422, "message": "Invalid params: input must be a non-empty string"})
        model = request.get("model", "GigaCheckDetection")
        if _answers.MODELS.get(model) != "aicheck":
            return conn.send_json(404, {"status": 404, "message": "No such model"})
        conn.send_json(200, _abilities.ai_check(text))

    def _scope_of(self, owner: str) -> str:
        if owner == "mtls" or owner.startswith("user:"):
            return "GIGACHAT_API_CORP"
        return self.credentials.get(owner, "GIGACHAT_API_PERS")

    # --- files ---------------------------------------------------------------------------------------------

    def _file_endpoint(self, conn: Connection, endpoint: str, file_id: str, body: bytes, owner: str) -> None:
        if endpoint == "upload":
            fields = parse_multipart(conn.headers.get("Content-Type", ""), body)
            if fields is None:
                return conn.send_json(400, {"status": 400, "message": "Expected a multipart/form-data body"})
            problem = upload_problem(fields)
            if problem is not None:
                return conn.send_json(problem[0], {"status": problem[0], "message": problem[1]})
            filename, data = fields["file"]
            return conn.send_json(200, self.files.add(owner, filename or "file", data, purpose_of(fields)).info())
        if endpoint == "files":
            return conn.send_json(200, {"data": [f.info() for f in self.files.owned_by(owner)]})
        stored = self.files.get(owner, file_id)
        if stored is None:  # someone else's file is as unknown as a missing one
            return conn.send_json(404, {"status": 404, "message": "File not found"})
        if endpoint == "file":
            return conn.send_json(200, stored.info())
        if endpoint == "file_delete":
            self.files.delete(owner, file_id)
            return conn.send_json(200, {"id": file_id, "deleted": True})
        conn.send_bytes(200, stored.data, stored.mime)

    # --- control -------------------------------------------------------------------------------------------

    def _control(self, conn: Connection, path: str, body: bytes) -> None:
        action = path.removeprefix("/_emulator/")
        if action == "faults" and conn.command == "POST":
            try:
                items = json.loads(body or b"[]")
                for item in items if isinstance(items, list) else [items]:
                    self.faults.add(Fault(**item))
            except (ValueError, TypeError) as exc:
                return conn.send_json(400, {"error": str(exc)})
            return conn.send_json(200, {"queued": len(self.faults)})
        if action == "revoke" and conn.command == "POST":
            self.revoke_tokens()
            return conn.send_json(200, {"revoked": True})
        if action == "stats":
            return conn.send_json(200, self.stats())
        conn.send_json(404, {"error": "unknown control endpoint"})


def _read_chat(request: dict[str, Any], version: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    raw = request.get("messages")
    messages: list[dict[str, Any]] = []
    for m in raw if isinstance(raw, list) else []:
        if not isinstance(m, dict):
            messages.append({"role": None, "content": ""})
            continue
        content = m.get("content", "")
        if version == "v2" and isinstance(content, list):
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        messages.append({"role": m.get("role"), "content": content if isinstance(content, str) else ""})
    source = request.get("model_options") or {} if version == "v2" else request
    options = {name: source.get(name) for name in _answers.OPTION_NAMES}
    if version == "v2" and "disable_filter" in request:
        options["profanity_check"] = not request["disable_filter"]
    return messages, options


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
        if m["role"] not in ("system", "user", "assistant", "function", "tool", "search_result",
                             "function_in_progress"):
            return 422, f"Invalid params: unknown role {m['role']!r}"
    if any(m["role"] == "system" for m in messages[1:]):
        return 422, "Invalid params: system message must be the first message"
    checks = {
        "temperature": lambda v: v >= 0, "top_p": lambda v: 0 <= v <= 1,
        "repetition_penalty": lambda v: v > 0, "max_tokens": lambda v: v >= 1 and float(v).is_integer(),
    }
    for name, ok in checks.items():
        value = options.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value)):
            return 422, f"Invalid params: {name} is out of range ({value!r})"
    return None


def _chat_json(version: str, served: str, answer: _answers.Answer) -> dict[str, Any]:
    if version == "v2":
        messages: list[dict[str, Any]] = []
        if answer.reasoning:
            messages.append({"role": "reasoning", "content": [{"text": answer.reasoning}]})
        messages.append(_v2_answer_message(answer))
        return {"model": served, "created_at": int(time.time()), "messages": messages,
                "finish_reason": answer.finish_reason, "usage": _usage_v2(answer)}
    message: dict[str, Any] = {"role": "assistant", "content": answer.text}
    if answer.state_id:
        message["functions_state_id"] = answer.state_id
    if answer.reasoning:
        message["reasoning_content"] = answer.reasoning
    if answer.function_call is not None:
        message["function_call"] = answer.function_call
    return {"choices": [{"message": message, "index": 0, "finish_reason": answer.finish_reason}],
            "created": int(time.time()), "model": served, "object": "chat.completion", "usage": _usage_v1(answer)}


def _v2_answer_message(answer: _answers.Answer) -> dict[str, Any]:
    """The assistant message of a v2 answer: drawn files, then the text (with its sources) or a function call."""
    if answer.function_call is not None:
        content: list[dict[str, Any]] = [{"function_call": answer.function_call}]
    else:
        text: dict[str, Any] = {"text": answer.text}
        if answer.sources:
            text["inline_data"] = {"images": [], "sources": answer.sources}
        content = [*_drawing.v2_file_parts(answer), text]
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if answer.state_id:
        message["tool_state_id"] = answer.state_id
    return message


def _reasoning_event(version: str, served: str, piece: str) -> str:
    """A piece of the thinking: v1 reasoning_content deltas, v2 messages with role reasoning."""
    if version == "v2":
        data: dict[str, Any] = {"model": served, "created_at": int(time.time()),
                                "messages": [{"role": "reasoning", "content": [{"text": piece}]}]}
        return f"event: response.message.delta\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
    data = {"choices": [{"delta": {"reasoning_content": piece, "role": "assistant"}, "index": 0}],
            "created": int(time.time()), "model": served, "object": "chat.completion"}
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _delta_event(version: str, served: str, piece: str, *, first: bool,
                 sources: dict[str, Any] | None = None) -> str:
    if version == "v2":
        part: dict[str, Any] = {"text": piece}
        if sources:
            part["inline_data"] = {"images": [], "sources": sources}
        data = {"model": served, "created_at": int(time.time()),
                "messages": [{"role": "assistant", "content": [part]}]}
        return f"event: response.message.delta\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
    delta = {"content": piece, "role": "assistant"} if first else {"content": piece}
    data = {"choices": [{"delta": delta, "index": 0}], "created": int(time.time()), "model": served,
            "object": "chat.completion"}
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _final_event(version: str, served: str, answer: _answers.Answer) -> str:
    if version == "v2":
        data = {"model": served, "created_at": int(time.time()), "finish_reason": answer.finish_reason,
                "usage": _usage_v2(answer)}
        if answer.function_call is not None:  # a streamed function call arrives only here, as recorded
            data["messages"] = [_v2_answer_message(answer)]
        return f"event: response.message.done\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
    delta: dict[str, Any] = {"content": ""}
    if answer.state_id:
        delta["functions_state_id"] = answer.state_id
    if answer.function_call is not None:
        delta["function_call"] = answer.function_call
    data = {"choices": [{"delta": delta, "index": 0, "finish_reason": answer.finish_reason}],
            "created": int(time.time()), "model": served, "object": "chat.completion", "usage": _usage_v1(answer)}
    return f"data: {json.dumps(data)}\n\n"


def _usage_v1(answer: _answers.Answer) -> dict[str, int]:
    total = answer.prompt_tokens + answer.completion_tokens
    return {"prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens,
            "total_tokens": total, "precached_prompt_tokens": 0}


def _usage_v2(answer: _answers.Answer) -> dict[str, Any]:
    return {"input_tokens": answer.prompt_tokens,
            "input_tokens_details": {"prompt_tokens": answer.prompt_tokens, "cached_tokens": 0},
            "output_tokens": answer.completion_tokens, "total_tokens": answer.prompt_tokens + answer.completion_tokens}


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


def _peer_certificate(conn: Connection) -> Any:
    getpeercert = getattr(conn.connection, "getpeercert", None)
    return getpeercert() if getpeercert is not None else None


def _decodes(key: str) -> bool:
    return ":" in _decoded(key)


def _decoded(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return ""
