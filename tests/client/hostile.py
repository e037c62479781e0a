"""A hostile upstream posing as GigaChat: a real HTTPS server on loopback that answers each path with exactly the
bytes a test tells it to write (a line with no end, an answer with no end, a gzip bomb, an empty redirect, a
token whose expires_at is nonsense). Used by tests/client/test_hostile_upstream.py and tests/bench/bench_hostile.py.

Endless answers stop by themselves after `limit` bytes, so a client that failed to stop reading makes a test
fail instead of hanging; `sent[path]` says how many bytes the server got out before the client went away.
"""

from __future__ import annotations

import json
import socketserver
import ssl
import tempfile
import threading
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from gigachat_mcp.emulator._certs import make_certificates

Reply = Callable[[BinaryIO], int]  # writes a whole HTTP response; returns the body bytes written

MIB = 1024 * 1024
_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, ssl.SSLError, OSError)


def head(status: int, headers: dict[str, str] | None = None, *, length: int | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} {'OK' if status < 300 else 'Hostile'}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(status: int, body: bytes | str | Any = b"", headers: dict[str, str] | None = None) -> Reply:
    """A whole response with a Content-Length; a non-bytes, non-str body is sent as JSON (NaN allowed)."""
    if isinstance(body, str):
        data = body.encode()
    elif isinstance(body, bytes):
        data = body
    else:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}

    def reply(out: BinaryIO) -> int:
        out.write(head(status, headers, length=len(data)) + data)
        return len(data)
    return reply


def endless(piece: bytes, *, first: bytes = b"", limit: int = 256 * MIB, status: int = 200,
            headers: dict[str, str] | None = None) -> Reply:
    """`first`, then `piece` again and again, with no Content-Length, until the client goes away (or `limit`)."""
    headers = headers or {"Content-Type": "text/event-stream"}

    def reply(out: BinaryIO) -> int:
        out.write(head(status, headers) + first)
        sent = len(first)
        while sent < limit:
            out.write(piece)
            sent += len(piece)
        return sent
    return reply


def v1_delta(text: str) -> bytes:
    return b"data: " + json.dumps({"choices": [{"delta": {"content": text}, "index": 0}]}).encode() + b"\n\n"


def v2_delta(text: str, role: str = "assistant") -> bytes:
    event = {"messages": [{"role": role, "content": [{"text": text}]}]}
    return b"event: response.message.delta\ndata: " + json.dumps(event).encode() + b"\n\n"


_BOMBS: dict[int, bytes] = {}


def gzip_bomb(size: int) -> bytes:
    """`size` zero bytes, gzipped: about a thousandth of that on the wire."""
    if size not in _BOMBS:
        packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        block = bytes(MIB)
        _BOMBS[size] = b"".join(packer.compress(block) for _ in range(size // MIB)) + packer.flush()
    return _BOMBS[size]


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def setup(self) -> None:
        self.connection = self.request
        if self.server.context is not None:
            self.request = self.server.context.wrap_socket(self.request, server_side=True)
        super().setup()

    def handle(self) -> None:
        try:
            request = self.rfile.readline(65536).decode("latin-1").split()
            headers: dict[str, str] = {}
            while (line := self.rfile.readline(65536).decode("latin-1").strip()):
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.rfile.read(int(headers.get("content-length") or 0))
            method, path = request[0], request[1].split("?")[0]
            self.server.owner.seen(method, path, headers)
            reply = self.server.owner.routes.get(f"{method} {path}") or answer(404, {"status": 404,
                                                                                    "message": "no route"})
        except (*_GONE, IndexError, ValueError):
            return
        written = 0
        try:
            written = reply(self.wfile)
            self.wfile.flush()
        except _GONE:
            written = -1  # the client went away first
        finally:
            self.server.owner.done(f"{method} {path}", written)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: Hostile, context: ssl.SSLContext | None) -> None:
        self.owner, self.context = owner, context
        super().__init__(("127.0.0.1", 0), _Handler)


class Hostile:
    """`routes["GET /v1/models"] = answer(...)`; every other path gets a 404. `hits` counts requests per route,
    `headers` keeps the last request's headers per route, `finished` counts replies that ran to their end."""

    def __init__(self, *, tls: bool = True) -> None:
        self.tls = tls
        self.routes: dict[str, Reply] = {}
        self.hits: Counter[str] = Counter()
        self.headers: dict[str, dict[str, str]] = {}
        self.finished: Counter[str] = Counter()
        self.cut_short: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._dir = tempfile.TemporaryDirectory(prefix="hostile-")
        self.ca_file: str | None = None
        self._server: _Server | None = None

    def seen(self, method: str, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.hits[f"{method} {path}"] += 1
            self.headers[f"{method} {path}"] = headers

    def done(self, route: str, written: int) -> None:
        with self._lock:
            (self.cut_short if written < 0 else self.finished)[route] += 1

    def __enter__(self) -> Hostile:
        context = None
        if self.tls:
            certs = make_certificates(Path(self._dir.name))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certs.server_cert, certs.server_key)
            self.ca_file = str(certs.ca_file)
        self._server = _Server(self, context)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._dir.cleanup()

    @property
    def origin(self) -> str:
        assert self._server is not None
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._server.server_address[1]}"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Client settings: a ready token (no OAuth) unless `credentials` is given; no retries."""
        settings: dict[str, Any] = {"base_url": self.origin + "/v1", "auth_url": self.origin + "/oauth",
                                    "max_retries": 0, "timeout": 20.0, "token_cache": "memory"}
        if "credentials" not in overrides:
            settings["access_token"] = "hostile-test-token"
        if self.ca_file:
            settings["ca_bundle_file"] = self.ca_file
        settings.update(overrides)
        return settings
