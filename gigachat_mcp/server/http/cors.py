"""CORS for browser-based MCP hosts: `serve --allowed-origin ORIGIN` (or GIGACHAT_MCP_ALLOWED_ORIGINS).

A page on another origin (the ext-apps reference host, a web IDE) must first pass the browser's preflight, then
read the answer and its `Mcp-Session-Id`. Only the origins named here get CORS headers; every other origin gets
none, exactly as before, and the SDK's Origin check (DNS-rebinding protection) still refuses it. The named origins
are added to that check's allow-list, so a page on them is not refused with 403 either.

Preflights are answered here, before authentication: a browser never sends credentials with a preflight.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["ORIGINS_VARIABLE", "allowed_origins", "with_cors", "with_origins"]

ORIGINS_VARIABLE = "GIGACHAT_MCP_ALLOWED_ORIGINS"
ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"
ALLOW_HEADERS = ("content-type, accept, authorization, mcp-protocol-version, mcp-session-id, last-event-id, "
                 "mcp-method, mcp-name")  # the last two: 2026-07-28 clients send them for routing
EXPOSE_HEADERS = "Mcp-Session-Id, Mcp-Protocol-Version, WWW-Authenticate"
MAX_AGE = "600"
_ORIGIN = re.compile(r"^https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$")
_LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


def allowed_origins(flags: Iterable[str] | None, environ: dict[str, str] | None = None) -> list[str]:
    """The --allowed-origin values and the variable's comma-separated ones, each checked; ValueError names the
    bad one and the form it must take."""
    environ = dict(os.environ) if environ is None else environ
    given = [*(flags or ()), *(part for part in environ.get(ORIGINS_VARIABLE, "").split(","))]
    origins: list[str] = []
    for raw in given:
        origin = raw.strip()
        if not origin:
            continue
        if not _ORIGIN.match(origin):
            raise ValueError(f"--allowed-origin (or {ORIGINS_VARIABLE}) {origin!r} is not an origin: give the "
                             "scheme, host and port the browser page runs on, without a path or a trailing "
                             "slash, e.g. http://localhost:8080 or https://app.example.com.")
        if origin.lower() not in origins:
            origins.append(origin.lower())
    return origins


def with_origins(security: Any, host: str, origins: list[str]) -> Any:
    """The SDK's transport security settings with `origins` also accepted by its Origin check. None stays None
    off loopback (the SDK checks nothing there); on loopback None means the SDK's default, rebuilt with them."""
    if not origins:
        return security
    from mcp.server.transport_security import TransportSecuritySettings

    if security is None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            return None
        security = TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                             allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
                                             allowed_origins=list(_LOOPBACK_ORIGINS))
    return security.model_copy(update={"allowed_origins": [*security.allowed_origins, *origins]})


def with_cors(app: Any, origins: list[str]) -> Any:
    """`app` answering preflights from `origins` and marking its responses to them readable; unchanged without."""
    return _Cors(app, frozenset(origins)) if origins else app


class _Cors:
    """ASGI middleware: CORS headers for the allowed origins only (others pass through untouched)."""

    def __init__(self, app: Any, origins: frozenset[str]) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        origin = headers.get("origin", "")
        if origin.lower() not in self.origins:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await send({"type": "http.response.start", "status": 204, "headers": [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-methods", ALLOW_METHODS.encode()),
                (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
                (b"access-control-max-age", MAX_AGE.encode()),
                (b"vary", b"Origin")]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [
                    *[(k, v) for k, v in message.get("headers", []) if not k.lower().startswith(b"access-control-")],
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-expose-headers", EXPOSE_HEADERS.encode()),
                    (b"vary", b"Origin")]}
            await send(message)

        await self.app(scope, receive, send_with_cors)
