"""The routes that hand tokens out: OAuth for authorization keys (with the auth server's own codes and body
shape) and the user/password token of corporate setups; and the bearer check every other route passes first."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .._http import API_V1, AUTH, Call, Route, send_error
from .._records import LOG_LIMIT

if TYPE_CHECKING:
    from .._api import API
    from .._server import Connection

__all__ = ["ROUTES", "SCOPES", "TokenStore", "authorize"]

SCOPES = ("GIGACHAT_API_PERS", "GIGACHAT_API_B2B", "GIGACHAT_API_CORP")
_RQUID = re.compile(r"^[0-9a-fA-F-]{36}$")


@dataclass
class _Issued:
    owner: str
    scope: str
    expires_at: float


class TokenStore:
    """Tokens handed out, by value, with their owner and expiry; every one ever issued is remembered for tests."""

    def __init__(self) -> None:
        self._tokens: dict[str, _Issued] = {}
        self._ever_issued: deque[str] = deque(maxlen=LOG_LIMIT)
        self._lock = threading.Lock()

    def issue(self, owner: str, scope: str, ttl: float) -> tuple[str, float]:
        token = "emu-" + secrets.token_urlsafe(24)
        expires = time.time() + ttl
        with self._lock:
            now = time.time()
            for stale in [t for t, issued in self._tokens.items() if issued.expires_at < now - 3600]:
                del self._tokens[stale]  # long expired: a 401 'Unauthorized' now instead of 'Token has expired'
            self._tokens[token] = _Issued(owner, scope, expires)
            self._ever_issued.append(token)
        return token, expires

    def find(self, token: str) -> _Issued | None:
        with self._lock:
            return self._tokens.get(token)

    def revoke(self) -> None:
        with self._lock:
            self._tokens.clear()

    def expire(self) -> None:
        with self._lock:
            for issued in self._tokens.values():
                issued.expires_at = time.time() - 1

    def ever_issued(self) -> list[str]:
        with self._lock:
            return list(self._ever_issued)


def oauth_error(status: int, message: str, code: int | None = None) -> dict[str, Any]:
    """The auth server's error body: a numeric code (when there is one) and a message, no status."""
    return {"code": code, "message": message} if code else {"message": message}


def oauth(api: API, call: Call) -> None:
    conn = call.conn
    if not _RQUID.match(conn.headers.get("RqUID", "")):
        return conn.send_json(400, oauth_error(400, "RqUID header is missing or invalid"))
    scope = (parse_qs(call.body.decode("utf-8", "replace")).get("scope") or [""])[0]
    if not scope:
        return conn.send_json(400, oauth_error(400, "scope is empty", 5))
    if scope not in SCOPES:
        return conn.send_json(400, oauth_error(400, "scope data format invalid", 1))
    scheme, _, key = conn.headers.get("Authorization", "").partition(" ")
    if scheme != "Basic" or ":" not in _decoded(key):
        return conn.send_json(401, oauth_error(401, "Can't decode 'Authorization' header", 4))
    if key not in api.credentials:
        return conn.send_json(401, oauth_error(401, "credentials doesn't match db data", 6))
    if api.credentials[key] != scope:
        return conn.send_json(400, oauth_error(400, "scope from db not fully includes consumed scope", 7))
    token, expires = api.tokens.issue(owner=key, scope=scope, ttl=api.token_ttl)
    value = int(expires * 1000) if api.expires_at_unit == "ms" else int(expires)
    conn.send_json(200, {"access_token": token, "expires_at": value})


def password_token(api: API, call: Call) -> None:
    scheme, _, encoded = call.conn.headers.get("Authorization", "").partition(" ")
    user, _, password = _decoded(encoded).partition(":") if scheme == "Basic" else ("", "", "")
    if not user or api.users.get(user) != password:
        return send_error(call.conn, 401, "Unauthorized")
    token, expires = api.tokens.issue(owner=f"user:{user}", scope="GIGACHAT_API_CORP", ttl=api.token_ttl)
    call.conn.send_json(200, {"tok": token, "exp": int(expires)})  # seconds, as the docs' example shows


def authorize(api: API, conn: Connection) -> str | None:
    """The owner of the request's bearer token (or "mtls" for a client certificate), else a 401 and None."""
    scheme, _, token = conn.headers.get("Authorization", "").partition(" ")
    if scheme == "Bearer" and token:
        issued = api.tokens.find(token)
        if issued is not None and issued.expires_at > time.time():
            return issued.owner
        message = "Token has expired" if issued is not None else "Unauthorized"
    elif api.accept_client_certs and _peer_certificate(conn):
        return "mtls"
    else:
        message = "Unauthorized"
    send_error(conn, 401, message)
    return None


def _peer_certificate(conn: Connection) -> Any:
    getpeercert = getattr(conn.connection, "getpeercert", None)
    return getpeercert() if getpeercert is not None else None


def _decoded(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return ""


ROUTES = (
    Route("POST", AUTH, "/oauth", "oauth", oauth, public=True, error_body=oauth_error),
    Route("POST", API_V1, "/token", "token", password_token, public=True),
)
