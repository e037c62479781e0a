"""GigaChat (sync) and AsyncGigaChat: thin shells that send the Calls built by _wire.

Each public method builds a Call (shared, pure) and hands it to one of two I/O drivers: `_request` for JSON
answers and `_iterate` for streams. Auth, retries and error mapping are decided by shared code; only the
waiting differs between the two classes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import time
from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from typing import Any

import httpx

from . import _wire
from ._auth import Authenticator
from ._errors import AuthenticationError, GigaChatError, StreamError
from ._http import client_options, transport_error
from ._retry import RetryPlan
from ._settings import Settings
from ._sse import StreamDecoder
from ._types import ChatChunk, ChatResult, Model, TokenCount

__all__ = ["AsyncGigaChat", "GigaChat"]

log = logging.getLogger("gigachat_mcp")
Prompt = str | Sequence[Mapping[str, Any]]


class _BaseClient:
    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        if settings is None:
            settings = Settings.resolve(**overrides)
        elif overrides:
            settings = settings.replace(**overrides)
        self.settings = settings
        self._auth = Authenticator(settings)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        s = self.settings
        return f"{type(self).__name__}(base_url={s.base_url!r}, model={s.model!r}, auth={s.auth_method!r})"

    def _chat_call(self, prompt: Prompt, stream: bool, model: str | None, system: str | None,
                   options: _wire.ChatOptions) -> _wire.Call:
        s = self.settings
        if options.profanity_check is None and s.profanity_check is not None:
            options = dataclasses.replace(options, profanity_check=s.profanity_check)
        messages = _wire.normalise_messages(prompt, system)
        return _wire.chat_call(s.base_url, s.api_version, model or s.model, messages, options, stream=stream)

    def _plan(self) -> RetryPlan:
        return RetryPlan(self.settings.max_retries, self.settings.retry_backoff_factor)

    def _failed(self, call: _wire.Call, response: httpx.Response, body: bytes, plan: RetryPlan,
                header: str | None) -> float | None:
        """After an error status: None to retry at once with a new token, else the delay before retrying."""
        error = _wire.api_error(response.status_code, body, response.headers, model=call.model)
        if isinstance(error, AuthenticationError):
            if not plan.reauthorized:
                plan.reauthorized = True
                self._auth.rejected(header, error)
                return None
            raise self._auth.explain(error)
        return plan.delay_for(error)

    def _broken(self, error: GigaChatError, decoder: StreamDecoder, plan: RetryPlan) -> float:
        """A stream failed: retry if nothing was handed out yet, else raise StreamError with the partial text."""
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


def _log_response(call: _wire.Call, response: httpx.Response, started: float) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s %s -> %s in %.0f ms", call.method, call.url, response.status_code,
                  (time.perf_counter() - started) * 1000)


class GigaChat(_BaseClient):
    """The synchronous client. `GigaChat()` reads GIGACHAT_* from the environment; keywords override it."""

    _http: httpx.Client | None = None

    def chat(self, prompt: Prompt, *, model: str | None = None, system: str | None = None,
             temperature: float | None = None, max_tokens: int | None = None, top_p: float | None = None,
             repetition_penalty: float | None = None, profanity_check: bool | None = None,
             extra: Mapping[str, Any] | None = None) -> ChatResult:
        """Ask for a whole answer. `prompt` is a str (one user message) or a list of {role, content}."""
        options = _wire.ChatOptions(temperature, top_p, max_tokens, repetition_penalty, profanity_check, None, extra)
        return self._request(self._chat_call(prompt, False, model, system, options))

    def stream(self, prompt: Prompt, *, model: str | None = None, system: str | None = None,
               temperature: float | None = None, max_tokens: int | None = None, top_p: float | None = None,
               repetition_penalty: float | None = None, profanity_check: bool | None = None,
               update_interval: float | None = None,
               extra: Mapping[str, Any] | None = None) -> Generator[ChatChunk, None, None]:
        """Iterate over the answer as it arrives; the last chunk carries finish_reason and usage.

        Stopping early (break, an exception, close()) closes the connection at once."""
        options = _wire.ChatOptions(temperature, top_p, max_tokens, repetition_penalty, profanity_check,
                                    update_interval, extra)
        return self._iterate(self._chat_call(prompt, True, model, system, options))

    def models(self) -> list[Model]:
        """The models this key can use."""
        return self._request(_wire.models_call(self.settings.base_url))

    def count_tokens(self, texts: str | Sequence[str], model: str | None = None) -> list[TokenCount]:
        """Token and character counts of each text, for `model`."""
        return self._request(_wire.count_tokens_call(self.settings.base_url, texts, model or self.settings.model))

    def embeddings(self, texts: str | Sequence[str], model: str | None = None) -> list[list[float]]:
        """One embedding vector per text (model 'Embeddings' unless given)."""
        return self._request(_wire.embeddings_call(self.settings.base_url, texts, model or "Embeddings"))

    def balance(self) -> dict[str, float]:
        """Remaining tokens per model, for prepaid keys (others get a 403 APIError)."""
        return self._request(_wire.balance_call(self.settings.base_url))

    def close(self) -> None:
        """Close the connections; the client can still be used afterwards (it reconnects)."""
        with self._lock:
            http, self._http = self._http, None
        if http is not None:
            http.close()
        self._auth.close()

    def __enter__(self) -> GigaChat:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- I/O ----------------------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        http = self._http
        if http is None:
            with self._lock:
                if self._http is None:
                    self._http = httpx.Client(**client_options(self.settings))
                http = self._http
        return http

    def _request(self, call: _wire.Call) -> Any:
        response = self._open(call, self._plan())
        try:
            body = response.read()
        except httpx.HTTPError as exc:
            raise transport_error(exc, call.url, self.settings.timeout) from None
        finally:
            response.close()
        return call.parse(json.loads(body))

    def _open(self, call: _wire.Call, plan: RetryPlan) -> httpx.Response:
        """Send until a success status arrives; 401 refreshes the token once, retryable failures back off."""
        while True:
            header = self._auth.header()
            started = time.perf_counter()
            delay: float | None
            try:
                http = self._client()
                request = http.build_request(call.method, call.url, content=call.body,
                                             headers=self._request_headers(call, header))
                response = http.send(request, stream=True)
                _log_response(call, response, started)
                if response.status_code < 400:
                    return response
                try:
                    body = response.read()
                finally:
                    response.close()
                delay = self._failed(call, response, body, plan, header)
            except httpx.HTTPError as exc:
                delay = plan.delay_for(transport_error(exc, call.url, self.settings.timeout))
            if delay:
                time.sleep(delay)

    def _iterate(self, call: _wire.Call) -> Generator[ChatChunk, None, None]:
        plan = self._plan()
        while True:
            response = self._open(call, plan)
            decoder = StreamDecoder(call.stream or "v1")
            try:
                for raw in response.iter_bytes():
                    yield from decoder.feed(raw)
                decoder.finish()
                return
            except StreamError as error:
                delay = self._broken(error, decoder, plan)
            except httpx.HTTPError as exc:
                delay = self._broken(transport_error(exc, call.url, self.settings.timeout), decoder, plan)
            finally:
                response.close()
            time.sleep(delay)


class AsyncGigaChat(_BaseClient):
    """The asyncio client: the same methods as GigaChat, awaited; `stream` is an async iterator."""

    _http: httpx.AsyncClient | None = None

    async def chat(self, prompt: Prompt, *, model: str | None = None, system: str | None = None,
                   temperature: float | None = None, max_tokens: int | None = None, top_p: float | None = None,
                   repetition_penalty: float | None = None, profanity_check: bool | None = None,
                   extra: Mapping[str, Any] | None = None) -> ChatResult:
        """Ask for a whole answer. `prompt` is a str (one user message) or a list of {role, content}."""
        options = _wire.ChatOptions(temperature, top_p, max_tokens, repetition_penalty, profanity_check, None, extra)
        return await self._request(self._chat_call(prompt, False, model, system, options))

    def stream(self, prompt: Prompt, *, model: str | None = None, system: str | None = None,
               temperature: float | None = None, max_tokens: int | None = None, top_p: float | None = None,
               repetition_penalty: float | None = None, profanity_check: bool | None = None,
               update_interval: float | None = None,
               extra: Mapping[str, Any] | None = None) -> AsyncGenerator[ChatChunk, None]:
        """Iterate (async for) over the answer as it arrives; the last chunk carries finish_reason and usage.

        Stopping early (break, cancellation, aclose()) closes the connection at once."""
        options = _wire.ChatOptions(temperature, top_p, max_tokens, repetition_penalty, profanity_check,
                                    update_interval, extra)
        return self._iterate(self._chat_call(prompt, True, model, system, options))

    async def models(self) -> list[Model]:
        """The models this key can use."""
        return await self._request(_wire.models_call(self.settings.base_url))

    async def count_tokens(self, texts: str | Sequence[str], model: str | None = None) -> list[TokenCount]:
        """Token and character counts of each text, for `model`."""
        return await self._request(_wire.count_tokens_call(self.settings.base_url, texts, model or self.settings.model))

    async def embeddings(self, texts: str | Sequence[str], model: str | None = None) -> list[list[float]]:
        """One embedding vector per text (model 'Embeddings' unless given)."""
        return await self._request(_wire.embeddings_call(self.settings.base_url, texts, model or "Embeddings"))

    async def balance(self) -> dict[str, float]:
        """Remaining tokens per model, for prepaid keys (others get a 403 APIError)."""
        return await self._request(_wire.balance_call(self.settings.base_url))

    async def aclose(self) -> None:
        """Close the connections; the client can still be used afterwards (it reconnects)."""
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()
        self._auth.close()

    async def __aenter__(self) -> AsyncGigaChat:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- I/O ----------------------------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(**client_options(self.settings))
        return self._http

    async def _request(self, call: _wire.Call) -> Any:
        response = await self._open(call, self._plan())
        try:
            body = await response.aread()
        except httpx.HTTPError as exc:
            raise transport_error(exc, call.url, self.settings.timeout) from None
        finally:
            await response.aclose()
        return call.parse(json.loads(body))

    async def _open(self, call: _wire.Call, plan: RetryPlan) -> httpx.Response:
        """Send until a success status arrives; 401 refreshes the token once, retryable failures back off."""
        while True:
            header = await self._auth.aheader()
            started = time.perf_counter()
            delay: float | None
            try:
                http = self._client()
                request = http.build_request(call.method, call.url, content=call.body,
                                             headers=self._request_headers(call, header))
                response = await http.send(request, stream=True)
                _log_response(call, response, started)
                if response.status_code < 400:
                    return response
                try:
                    body = await response.aread()
                finally:
                    await response.aclose()
                delay = self._failed(call, response, body, plan, header)
            except httpx.HTTPError as exc:
                delay = plan.delay_for(transport_error(exc, call.url, self.settings.timeout))
            if delay:
                await asyncio.sleep(delay)

    async def _iterate(self, call: _wire.Call) -> AsyncGenerator[ChatChunk, None]:
        plan = self._plan()
        while True:
            response = await self._open(call, plan)
            decoder = StreamDecoder(call.stream or "v1")
            try:
                async for raw in response.aiter_bytes():
                    for chunk in decoder.feed(raw):
                        yield chunk
                decoder.finish()
                return
            except StreamError as error:
                delay = self._broken(error, decoder, plan)
            except httpx.HTTPError as exc:
                delay = self._broken(transport_error(exc, call.url, self.settings.timeout), decoder, plan)
            finally:
                await response.aclose()
            await asyncio.sleep(delay)
