"""A small real HTTP CONNECT proxy for tests: it records each tunnel's target and Proxy-Authorization header,
refuses wrong credentials with 407, and pipes the bytes both ways (TLS runs end to end through it)."""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Tunnel:
    target: str  # host:port as the CONNECT line names it
    authorization: str | None


@dataclass
class ConnectProxy:
    user: str | None = None
    password: str | None = None
    tunnels: list[Tunnel] = field(default_factory=list)
    refused: int = 0
    port: int = 0

    def url(self, user: str | None = None, password: str | None = None) -> str:
        """The proxy's URL, with (percent-encoded) credentials if given."""
        from urllib.parse import quote

        login = f"{quote(user, safe='')}:{quote(password or '', safe='')}@" if user is not None else ""
        return f"http://{login}127.0.0.1:{self.port}"

    @property
    def targets(self) -> set[str]:
        return {t.target for t in self.tunnels}

    def _expected(self) -> str | None:
        if self.user is None:
            return None
        return "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()

    def _serve(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                data = client.recv(4096)
                if not data:
                    return
                head += data
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            if method != "CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            authorization = headers.get("proxy-authorization")
            self.tunnels.append(Tunnel(target, authorization))
            if self._expected() is not None and authorization != self._expected():
                self.refused += 1
                client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                               b"Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
                return
            host, _, port = target.rpartition(":")
            try:
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
            except OSError:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            with upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
                back.start()
                _pipe(client, upstream)
                back.join(timeout=10)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def connect_proxy(user: str | None = None, password: str | None = None) -> Iterator[ConnectProxy]:
    proxy = ConnectProxy(user, password)
    listener = socket.create_server(("127.0.0.1", 0))
    proxy.port = listener.getsockname()[1]
    listener.settimeout(0.1)  # so the accept loop sees `stopping`
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            threading.Thread(target=proxy._serve, args=(client,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        stopping.set()
        listener.close()
        thread.join(timeout=5)
