"""AsyncGigaChat, the asyncio client: the same Calls and flows as GigaChat, performed without blocking the loop.

Hashing local content and token requests go to worker threads; a caller's plain function in run_tools does too,
a coroutine function is awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from . import _attachments, _flows, _wire
from ._base import Attachments, BaseClient, Prompt, Uploadable, build, decode, log_response
from ._body import aread_answer, aread_error_body, astream_pieces
from ._errors import APIError, GigaChatError, StreamError, with_near_model
from ._http import client_options, transport_error
from ._retry import RetryPlan
from ._sse import StreamDecoder
from ._structured import ParsedTail, ResponseFormat
from ._types import AICheck, ChatChunk, ChatResult, FileInfo, Model, TokenCount

if TYPE_CHECKING:
    from . import _bulk  # loaded by map() and batch embeddings, not by a plain chat()

__all__ = ["AsyncGigaChat"]

T = TypeVar("T")


class AsyncGigaChat(BaseClient):
    """The asyncio client: the same methods as GigaChat, awaited; `stream` is an async iterator."""

    _http: httpx.AsyncClient | None = None

    async def chat(self, prompt: Prompt, *, model: str | None = None, system: str | None = None,
                   temperature: float | None = None, max_tokens: int | None = None, top_p: float | None = None,
                   repetition_penalty: float | None = None, profanity_check: bool | None = None,
                   attachments: Attachments = None, tools: Sequence[Any] | None = None,
                   tool_choice: str | None = None, reasoning_effort: str | None = None, response_format: Any = None,
                   extra: Mapping[str, Any] | None = None) -> ChatResult:
        """Ask for a whole answer; attachments, tools, reasoning and response_format as in GigaChat.chat."""
        options = _wire.ChatOptions(temperature, top_p, max_tokens, repetition_penalty, profanity_check, None, extra,
                                    reasoning_effort)
        turn = _flows.turn(self.settings, prompt, system, attachments, tools, tool_choice, response_format)
        return await self._run(_flows.answer(self.settings, self._files, turn, model, options))

    def stream(self, prompt: Prompt, *, model: str | None = None, system: str | None = None,
               temperature: float | None = None, max_tokens: int | None = None, top_p: float | None = None,
               repetition_penalty: float | None = None, profanity_check: bool | None = None,
               update_interval: float | None = None, attachments: Attachments = None,
               tools: Sequence[Any] | None = None, tool_choice: str | None = None,
               reasoning_effort: str | None = None, response_format: Any = None,
               extra: Mapping[str, Any] | None = None) -> AsyncGenerator[ChatChunk, None]:
        """Iterate (async for) over the answer as it arrives; chunks as in GigaChat.stream.

        Bad arguments and broken file rules raise here; uploads happen when iteration starts. Stopping early
        (break, cancellation, aclose()) closes the connection at once."""
        options = _wire.ChatOptions(temperature, top_p, max_tokens, repetition_penalty, profanity_check,
                                    update_interval, extra, reasoning_effort)
        turn = _flows.turn(self.settings, prompt, system, attachments, tools, tool_choice, response_format)
        flow = _flows.prepared(self.settings, self._files, turn, True, model, options)
        if not any(turn.groups):  # nothing to upload: the flow finishes at its first step, without waiting
            chunks = self._iterate(_flows.finished(flow))
        else:
            chunks = self._prepare_then_iterate(flow)
        return chunks if turn.fmt is None else _parsed(chunks, turn.fmt)

    async def run_tools(self, prompt: Prompt, *, tools: Sequence[Any], max_rounds: int = 5,
                        system: str | None = None, **options: Any) -> ChatResult:
        """As GigaChat.run_tools; coroutine functions are awaited, plain ones run in a worker thread."""
        messages, toolset = _flows.rounds(self.settings, prompt, system, tools, max_rounds, options)
        return await self._run(_flows.run_tools(messages, toolset, tools, max_rounds, options))

    async def map(self, prompts: Any, *, rows: Any = None, concurrency: int | None = None, cache: Any = True,
                  batch: bool = False, progress: _bulk.Progress | None = None, on_error: str = "keep",
                  batch_timeout: float = 3600.0, batch_poll: float = 5.0, **chat_options: Any) -> _bulk.MapResult:
        """As GigaChat.map, awaited on this client (its connections and its uploads). Cancelling the task stops
        the run; the answered rows are in the cache."""
        from . import _bulk
        plan = _bulk.make_plan(self.settings, prompts, rows, chat_options, concurrency=concurrency, cache=cache,
                               on_error=on_error, batch=batch, batch_timeout=batch_timeout, batch_poll=batch_poll)
        return await _bulk.execute(self, _bulk.Run(plan, progress))

    async def check_ai(self, text: str) -> AICheck:
        """As GigaChat.check_ai."""
        return await self._request(_wire.ai_check_call(self.settings.base_url, text))

    async def _prepare_then_iterate(self, flow: _flows.Flow[_wire.Call]) -> AsyncGenerator[ChatChunk, None]:
        call = await self._run(flow)
        async with contextlib.aclosing(self._iterate(call)) as chunks:
            async for chunk in chunks:
                yield chunk

    # --- files ------------------------------------------------------------------------------------------

    async def upload_file(self, file: Uploadable, *, purpose: str = "general") -> FileInfo:
        """Upload a path, bytes or binary file; a file is streamed from disk. Retries as GigaChat.upload_file."""
        local = _attachments.for_upload(file)
        return await self._run(_flows.upload(self.settings.base_url, self._files, local, file, purpose))

    async def attach(self, items: Sequence[Any]) -> list[FileInfo]:
        """One message's attachments as stored files, the way chat(attachments=) stores them: the service's rules
        checked first (type, size, one image), ids looked up, and the same content uploaded once per client."""
        return await self._run(_flows.attach(self.settings.base_url, self._files, items))

    async def list_files(self) -> list[FileInfo]:
        """The files this key stored (uploaded or drawn)."""
        return await self._run(_flows.list_files(self.settings.base_url, self._files))

    async def get_file(self, file_id: str) -> FileInfo:
        """One stored file's description."""
        return await self._run(_flows.get_file(self.settings.base_url, self._files, file_id))

    async def delete_file(self, file_id: str) -> bool:
        """Delete a stored file; True when the service confirms."""
        return await self._run(_flows.delete_file(self.settings.base_url, self._files, file_id))

    async def download_file(self, file_id: str) -> bytes:
        """A stored file's bytes, e.g. a drawn image (`ChatResult.files[0].id`)."""
        return await self._request(_wire.download_file_call(self.settings.base_url, file_id))

    async def models(self) -> list[Model]:
        """The models this key can use."""
        return await self._request(_wire.models_call(self.settings.base_url))

    async def count_tokens(self, texts: str | Sequence[str], model: str | None = None) -> list[TokenCount]:
        """Token and character counts of each text, for `model`."""
        return await self._request(_wire.count_tokens_call(self.settings.base_url, texts, model or self.settings.model))

    async def embeddings(self, texts: str | Sequence[str], model: str | None = None, *, batch: bool = False,
                         cache: Any = True, batch_timeout: float = 3600.0,
                         batch_poll: float = 5.0) -> list[list[float]]:
        """One embedding vector per text (model 'Embeddings' unless given); `batch=True` as in GigaChat."""
        if not batch:
            return await self._request(_wire.embeddings_call(self.settings.base_url, texts, model or "Embeddings"))
        from . import _bulk
        plan = _bulk.make_plan(self.settings, [], None, {}, concurrency=1, cache=cache, on_error="raise",
                               batch=True, batch_timeout=batch_timeout, batch_poll=batch_poll)
        return await _bulk.embed(self, texts, model or "Embeddings", plan)

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

    async def _run(self, flow: _flows.Flow[T]) -> T:
        """Step a flow through: perform what it yields and send back the result, or throw the error in."""
        try:
            op = next(flow)
            while True:
                try:
                    result = await self._perform(op)
                except BaseException as exc:  # the flow answers it, or releases what it holds and lets it go
                    op = flow.throw(exc)
                else:
                    op = flow.send(result)
        except StopIteration as done:
            return done.value

    async def _perform(self, op: _flows.Op) -> Any:
        if isinstance(op, _flows.Send):
            return await self._request(op.call)
        if isinstance(op, _flows.Ask):
            return await self.chat(op.messages, **op.options)
        if isinstance(op, _flows.Invoke):
            if inspect.iscoroutinefunction(op.function):
                return await op.function(**op.arguments)
            return await asyncio.to_thread(op.function, **op.arguments)
        if isinstance(op, _flows.ContentKey):  # hashing a big file must not stall the loop
            return await asyncio.to_thread(_attachments.content_key, op.local)
        guard = self._files.locks.setdefault(op.key, asyncio.Lock())
        await guard.acquire()
        return guard

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(**client_options(self.settings))
        return self._http

    async def _request(self, call: _wire.Call) -> Any:
        response = await self._open(call, self._plan(call))
        try:
            body = await aread_answer(response, raw=call.raw)
        except httpx.HTTPError as exc:
            raise transport_error(exc, call.url, self.settings.timeout) from None
        finally:
            await response.aclose()
        return decode(call, response, body)

    async def _open(self, call: _wire.Call, plan: RetryPlan) -> httpx.Response:
        """Send until a success status arrives; 401 refreshes the token once, retryable failures back off."""
        while True:
            header = await self._auth.aheader()
            started = time.perf_counter()
            delay: float | None
            try:
                http = self._client()
                response = await http.send(build(http, call, self._request_headers(call, header)), stream=True)
                log_response(call, response, started)
                if response.status_code < 300:
                    return response
                try:
                    body = await aread_error_body(response)
                finally:
                    await response.aclose()
                try:
                    delay = self._failed(call, response, body, plan, header)
                except APIError as error:  # a mistyped model: name the near one (models are listed only then)
                    raise (with_near_model(error, await self._chat_models()) if error.unknown_model else error) from None
            except httpx.HTTPError as exc:
                delay = self._lost(exc, call, plan)
            if delay:
                await asyncio.sleep(delay)

    async def _chat_models(self) -> list[str]:
        try:
            return [model.id for model in await self.models() if model.type == "chat"]
        except GigaChatError:
            return []

    async def _iterate(self, call: _wire.Call) -> AsyncGenerator[ChatChunk, None]:
        plan = self._plan()
        while True:
            response = await self._open(call, plan)
            decoder = StreamDecoder(call.stream or "v1")
            try:
                async for raw in astream_pieces(response, decoder.fail):
                    for chunk in decoder.feed(raw):
                        yield chunk
                decoder.finish()
                return
            except (StreamError, httpx.HTTPError) as exc:
                delay = self._broken(exc, call, decoder, plan)
            finally:
                await response.aclose()
            await asyncio.sleep(delay)


async def _parsed(chunks: AsyncGenerator[ChatChunk, None], fmt: ResponseFormat) -> AsyncGenerator[ChatChunk, None]:
    """The stream with `.parsed` on its last chunk, as GigaChat.stream's."""
    tail = ParsedTail(fmt)
    async with contextlib.aclosing(chunks):
        async for chunk in chunks:
            yield tail.see(chunk)
