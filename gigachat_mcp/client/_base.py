"""What the two clients share besides the flows: settings, the authenticator, the files they know, and the
decisions after a failed request (retry, refresh the token, or raise). Only the waiting differs between them."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any, TypeAlias

import httpx

from . import _wire
from ._auth import Authenticator
from ._body import parse_answer, redirect_error
from ._errors import AuthenticationError, GigaChatError, StreamError
from ._flows import FileBook
from ._http import NOT_SENT, transport_error
from ._retry import RetryPlan
from ._settings import Settings
from ._sse import StreamDecoder
from ._tokens import TokenCaches
from ._types import FileInfo

__all__ = ["Attachments", "BaseClient", "Prompt", "Uploadable", "build", "decode", "log_response"]

log = logging.getLogger("gigachat_mcp")
Prompt = str | Sequence[Mapping[str, Any]]
Attachments: TypeAlias = "Iterable[str | os.PathLike[str] | bytes | tuple[str, bytes] | FileInfo] | None"
Uploadable: TypeAlias = "str | os.PathLike[str] | bytes | IO[bytes]"


class BaseClient:
    def __init__(self, settings: Settings | None = None, *, shared_tokens: TokenCaches | None = None,
                 **overrides: Any) -> None:
        """`shared_tokens`: a token cache every replica of a team server shares (credentials key -> cache), used
        instead of this machine's file cache."""
        if settings is None:
            settings = Settings.resolve(**overrides)
        elif overrides:
            settings = settings.replace(**overrides)
        self.settings = settings
        self._shared_tokens = shared_tokens  # a map run's worker client signs in through the same cache
        self._auth = Authenticator(settings, shared_tokens)
        self._files = FileBook()
        self._lock = threading.Lock()  # the sync client's: guards making its HTTP client and its upload locks

    def __repr__(self) -> str:
        s = self.settings
        return f"{type(self).__name__}(base_url={s.base_url!r}, model={s.model!r}, auth={s.auth_method!r})"

    def _plan(self, call: _wire.Call | None = None) -> RetryPlan:
        return RetryPlan(self.settings.max_retries, self.settings.retry_backoff_factor,
                         no_duplicates=call is not None and call.upload)

    def _failed(self, call: _wire.Call, response: httpx.Response, body: bytes, plan: RetryPlan,
                header: str | None) -> float | None:
        """After an error status: None to retry at once with a new token, else the delay before retrying."""
        if response.status_code < 400:
            raise redirect_error(response)
        error = _wire.api_error(response.status_code, body, response.headers, model=call.model,
                                not_found=call.not_found, forbidden=call.forbidden)
        if isinstance(error, AuthenticationError):
            if not plan.reauthorized:
                plan.reauthorized = True
                self._auth.rejected(header, error)
                return None
            raise self._auth.explain(error)
        return plan.delay_for(error)

    def _lost(self, exc: httpx.HTTPError, call: _wire.Call, plan: RetryPlan) -> float:
        """The request failed in transport: the delay before retrying, or the typed error raised."""
        return plan.delay_for(transport_error(exc, call.url, self.settings.timeout), sent=not isinstance(exc, NOT_SENT))

    def _broken(self, exc: StreamError | httpx.HTTPError, call: _wire.Call, decoder: StreamDecoder,
                plan: RetryPlan) -> float:
        """A stream failed: retry if nothing was handed out yet, else raise StreamError with the partial text."""
        error: GigaChatError = exc if isinstance(exc, StreamError) else transport_error(exc, call.url,
                                                                                        self.settings.timeout)
        if decoder.handed_out:
            if isinstance(error, StreamError):
                raise error
            raise StreamError(f"The stream broke: {error}", partial_text=decoder.partial_text) from error
        status = error.status_code if isinstance(error, StreamError) else None
        if status is not None and status >= 400:
            error = _wire.api_error(status, b"", {})  # an error event: retried like its status
        return plan.delay_for(error)

    def _request_headers(self, call: _wire.Call, header: str | None) -> Mapping[str, str]:
        if header is None:
            return call.headers
        return {**call.headers, "Authorization": header}


def build(http: httpx.Client | httpx.AsyncClient, call: _wire.Call, headers: Mapping[str, str]) -> httpx.Request:
    return http.build_request(call.method, call.url, content=call.body, data=call.form, files=call.files,
                              headers=headers)


def decode(call: _wire.Call, response: httpx.Response, body: bytes) -> Any:
    return parse_answer(response, body, call.parse, raw=call.raw)


def log_response(call: _wire.Call, response: httpx.Response, started: float) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s %s -> %s in %.0f ms", call.method, call.url, response.status_code,
                  (time.perf_counter() - started) * 1000)
