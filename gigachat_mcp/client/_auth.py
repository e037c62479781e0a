"""Where the Authorization header comes from: an OAuth key, user + password, a ready token, or mTLS alone.

Token requests go through a small sync httpx client of their own; the async client calls them in a worker
thread, which keeps one code path (and one single-flight lock) for threads, tasks and processes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from . import _wire
from ._body import read_error_body, read_limited
from ._errors import AuthenticationError, ConfigError, GigaChatError
from ._http import client_options, transport_error
from ._limits import MAX_TOKEN_BODY_BYTES
from ._retry import RetryPlan
from ._settings import Settings
from ._tokens import TokenCaches, TokenSource, cache_key, token_source
from ._types import Token

__all__ = ["Authenticator"]

log = logging.getLogger("gigachat_mcp")

MISSING_CREDENTIALS = (
    "No GigaChat credentials are set. Set GIGACHAT_CREDENTIALS to the authorization key of your project "
    "(GigaChat Studio -> project -> API keys), and GIGACHAT_SCOPE if it is not a personal (PERS) key. "
    "Alternatives: GIGACHAT_ACCESS_TOKEN, or GIGACHAT_USER with GIGACHAT_PASSWORD."
)
TRY_THE_EMULATOR = (  # the command line says its own `--emulator` instead
    " To try it without a key, use the built-in emulator: `with Emulator() as emu: "
    "GigaChat(**emu.client_settings())` (from gigachat_mcp.emulator import Emulator), or run `gigachat-mcp demo`."
)


class Authenticator:
    """Gives each request its Authorization header and refreshes the token when the server rejects it."""

    def __init__(self, settings: Settings, shared: TokenCaches | None = None) -> None:
        """`shared`: a token cache every replica of a team server shares, instead of this machine's file cache."""
        self._settings = settings
        self._static = settings.access_token or None  # a ready token, used as is
        self._source = self._make_source(settings, shared)
        self._http: httpx.Client | None = None
        self._http_lock = threading.Lock()

    def header(self) -> str | None:
        """'Bearer <token>', fetching or refreshing one if needed; None when mTLS alone authenticates."""
        if self._static is not None:
            return f"Bearer {self._static}"
        if self._source is None:
            if self._settings.auth_method == "mtls":
                return None
            raise ConfigError(MISSING_CREDENTIALS + TRY_THE_EMULATOR)
        return f"Bearer {self._source.get(self._fetch).value}"

    async def aheader(self) -> str | None:
        """The same, without blocking the event loop: only fetching a token goes to a worker thread."""
        if self._static is not None or self._source is None:
            return self.header()  # no I/O: a ready token, mTLS, or the missing-credentials error
        token = self._source.current()
        if token is not None:
            return f"Bearer {token.value}"
        return await asyncio.to_thread(self.header)

    def rejected(self, header: str | None, error: AuthenticationError) -> None:
        """The server answered 401 to `header`: forget that token, or raise if nothing can replace it."""
        if self._static is not None and header == f"Bearer {self._static}":
            if self._source is None:
                raise AuthenticationError(
                    f"{error} GIGACHAT_ACCESS_TOKEN was rejected; it may have expired (tokens live 30 minutes). "
                    "Set GIGACHAT_CREDENTIALS instead, so tokens are refreshed automatically.",
                    server_message=error.message,
                ) from None
            log.info("GIGACHAT_ACCESS_TOKEN was rejected; falling back to the configured credentials")
            self._static = None
            return
        if self._source is None or header is None:
            raise error
        self._source.invalidate(header.removeprefix("Bearer "))

    def explain(self, error: AuthenticationError) -> AuthenticationError:
        """A 401 right after a fresh token: the credentials themselves are at fault."""
        return AuthenticationError(
            f"{error} A freshly issued token was rejected too: check that GIGACHAT_CREDENTIALS and GIGACHAT_SCOPE "
            "belong to a project with access to GigaChat, and that GIGACHAT_BASE_URL is right.",
            server_message=error.message,
        )

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    # --- fetching tokens -------------------------------------------------------------------------------------

    def _make_source(self, s: Settings, shared: TokenCaches | None) -> TokenSource | None:
        cache_dir = _cache_dir(s)
        if s.credentials:
            return token_source(cache_key("oauth", s.auth_url, s.scope, s.credentials), cache_dir, shared)
        if s.user and s.password:
            return token_source(cache_key("password", s.base_url, s.user, s.password), cache_dir, shared)
        return None

    def _fetch(self) -> Token:
        s = self._settings
        plan = RetryPlan(s.max_retries, s.retry_backoff_factor)
        while True:
            try:
                return self._fetch_once()
            except GigaChatError as error:
                time.sleep(plan.delay_for(error))

    def _fetch_once(self) -> Token:
        s = self._settings
        if s.credentials:
            url, headers, body = _wire.oauth_request(s.auth_url, s.credentials, s.scope)
            auth: Any = httpx.USE_CLIENT_DEFAULT  # the Basic key is already in the headers
        else:
            url, headers, body = _wire.password_token_url(s.base_url), {"Accept": "application/json"}, None
            auth = httpx.BasicAuth(s.user or "", s.password or "")
        http = self._client()
        try:
            response = http.send(http.build_request("POST", url, headers=headers, content=body), auth=auth,
                                 stream=True)
            try:
                if response.status_code != 200:
                    error = read_error_body(response)
                    raise _wire.oauth_error(response.status_code, error, response.headers, scope=s.scope)
                answer = read_limited(response, MAX_TOKEN_BODY_BYTES, lambda reason: _no_token(url, reason),
                                      what="a token answer")
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise transport_error(exc, url, s.timeout) from None
        return _token_from(url, answer)

    def _client(self) -> httpx.Client:
        with self._http_lock:
            if self._http is None:
                self._http = httpx.Client(**client_options(self._settings))
            return self._http


def _token_from(url: str, answer: bytes) -> Token:
    """The token in a 200 answer; one that is missing, or already expired by this machine's clock, is an error
    (a token that never looks fresh would cost one OAuth call per request)."""
    try:
        data = json.loads(answer)
    except ValueError:
        raise _no_token(url, f"the answer is not JSON ({answer[:60]!r})") from None
    try:
        token = _wire.parse_oauth(data)
    except ValueError as exc:  # Token.from_expiry says what is wrong
        raise _no_token(url, str(exc)) from None
    except (KeyError, TypeError, AttributeError):
        raise _no_token(url, "there is no token in it") from None
    now = time.time()
    if token.expires_at <= now:
        raise _no_token(url, f"its token expired at {_utc(token.expires_at)}, before now ({_utc(now)}) by this "
                             "machine's clock; if the clock is wrong, correct it")
    return token


def _no_token(url: str, reason: str) -> AuthenticationError:
    return AuthenticationError(f"The token endpoint {url} answered 200 but gave no usable token: {reason}. Check "
                               "GIGACHAT_AUTH_URL (or GIGACHAT_BASE_URL for user and password).", status_code=200)


def _utc(seconds: float) -> str:
    try:
        return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"{seconds:g} s after 1970"


def _cache_dir(s: Settings) -> Path | None:
    if s.token_cache != "file":
        return None
    if s.token_cache_dir:
        return Path(s.token_cache_dir).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("gigachat-mcp", appauthor=False)) / "tokens"
