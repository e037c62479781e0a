"""The emulator's HTTP/1.1 server: a thread per connection, TLS per connection, chunked SSE, abrupt resets.

The standard library server gives the control a fault emulator needs: it can reset a connection before any
byte or mid-stream, stall, and notice at once when a client goes away while a stream is waiting.
"""

from __future__ import annotations

import json
import select
import socket
import ssl
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["ClientGone", "Connection", "Server"]


class ClientGone(Exception):
    """The client closed the connection, or the emulator reset it on purpose."""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: Any, tls: ssl.SSLContext | None) -> None:
        self.app = app
        self.tls = tls
        self.stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, Connection)

    def close_connections(self) -> None:
        """End every open connection, keep-alive ones included, as a stopped server does."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def finish_request(self, request: Any, client_address: Any) -> None:  # a TCP server: always a socket
        """Runs in the connection's own thread, so a slow TLS handshake never blocks accepting others."""
        if self.tls is not None:
            request.settimeout(10)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                request.close()  # e.g. the client does not trust our CA: it aborts the handshake
                return
            request.settimeout(None)
        with self._open_lock:
            self._open.add(request)
        try:
            self.RequestHandlerClass(request, client_address, self)  # type: ignore[arg-type]  # typeshed's Self
        finally:
            with self._open_lock:
                self._open.discard(request)
            try:
                request.close()
            except OSError:
                pass


class Connection(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections end, so threads do not pile up
    # TCP_NODELAY: headers and body go out as separate writes; with Nagle on, the body waited for the client's
    # delayed ACK (~40 ms on Linux loopback), which added 40 ms to every answer and hid real concurrency.
    disable_nagle_algorithm = True
    server: Server

    def handle(self) -> None:
        try:
            super().handle()
        except (ClientGone, ConnectionError, ssl.SSLError, OSError):
            self.close_connection = True

    def do_GET(self) -> None:
        self.server.app.handle(self)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:  # the app keeps its own request log
        pass

    # --- helpers for the app ----------------------------------------------------------------------------------

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def send_bytes(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def start_stream(self, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def send_event(self, text: str) -> None:
        data = text.encode()
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            raise ClientGone() from exc

    def end_stream(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            raise ClientGone() from exc

    def wait(self, seconds: float) -> None:
        """Sleep, but raise ClientGone as soon as the client closes the connection."""
        if seconds <= 0:
            return
        sock = self.connection
        readable, _, _ = select.select([sock], [], [], seconds)
        if self.server.stopping.is_set():
            raise ClientGone()
        if readable:
            try:
                data = sock.recv(1)
            except ssl.SSLWantReadError:
                return
            except (ConnectionError, ssl.SSLError, OSError) as exc:
                raise ClientGone() from exc
            if not data:
                raise ClientGone()

    def reset(self) -> None:
        """Drop the connection with a TCP reset, as a crashing proxy would (use before any byte is sent)."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # no TLS close_notify: the peer sees a bare reset
        except OSError:
            pass
        raise ClientGone()

    def cut(self) -> None:
        """End the connection mid-body: what was sent arrives, then EOF without TLS close_notify or the last chunk.

        A reset here could make the client's kernel discard data it has not read yet, so a test could not
        know how much of the answer the client saw; a bare FIN keeps that deterministic.
        """
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()
        except OSError:
            pass
        raise ClientGone()
