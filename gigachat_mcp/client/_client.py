"""GigaChat (sync) and AsyncGigaChat: thin shells that send the Calls built by _wire.

Each public method builds a Call (shared, pure) and hands it to one of two I/O drivers: `_request` for JSON
answers and `_iterate` for streams. Auth, retries and error mapping are decided by shared code; only the
waiting differs between the two classes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
import os
import threading
import time
from collections.abc import AsyncGenerator, Generator, Iterable, Mapping, Sequence
from typing import IO, Any, TypeAlias

import httpx

from . import _attachments, _structured, _toolrun, _wire
from ._attachments import Local
from ._auth import Authenticator
from ._body import (
    aread_answer,
    aread_error_body,
    astream_pieces,
    parse_answer,
    read_answer,
    read_error_body,
    redirect_error,
    stream_pieces,
)
from ._errors import AuthenticationError, GigaChatError, InvalidRequestError, StreamError
from ._http import NOT_SENT, client_options, transport_error
from ._retry import RetryPlan
from ._settings import Settings
from ._sse import StreamDecoder
from ._types import AICheck, ChatChunk, ChatResult, FileInfo, Model, TokenCount

__all__ = ["AsyncGigaChat", "GigaChat"]

log = logging.getLogger("gigachat_mcp")
Prompt = str | Sequence[Mapping[str, Any]]
Attachments: TypeAlias = "Iterable[str | os.PathLike[str] | bytes | tuple[str, bytes] | FileInfo] | None"
Uploadable: TypeAlias = "str | os.PathLike[str] | bytes | IO[bytes]"


@dataclasses.dataclass
class _Turn:
    """A chat request before its attachments are resolved: messages, attachments per message, tools."""

    messages: list[dict[str, Any]]
    groups: list[list[_attachments.Item]]
    tools: _wire.Tools
    fmt: _structured.ResponseFormat | None = None


class _BaseClient:
    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        if settings is None:
            settings = Settings.resolve(**overrides)
        elif overrides:
            settings = settings.replace(**overrides)
        self.settings = settings
        self._auth = Authenticator(settings)
        self._lock = threading.Lock()
        self._uploaded: dict[str, FileInfo] = {}  # content key -> the upload of that content, once per client
        self._known: dict[str, FileInfo] = {}  # file id -> what the service said about it
        self._upload_locks: dict[str, Any] = {}  # content key -> the lock its one upload is made under

    def __repr__(self) -> str:
        s = self.settings
        return f"{type(self).__name__}(base_url={s.base_url!r}, model={s.model!r}, auth={s.auth_method!r})"

    def _turn(self, prompt: Prompt, system: str | None, attachments: Attachments, tools: Sequence[Any] | None,
              tool_choice: str | None, response_format: Any = None) -> _Turn:
        """Everything about a chat request that needs no network, checked before anything is sent."""
        messages = _wire.normalise_messages(prompt, system)
        if tools is None and tool_choice is None:  # the common plain chat skips the checks of what it lacks
            toolset = _wire.NO_TOOLS
        else:
            toolset = _wire.normalise_tools(tools, tool_choice, self.settings.api_version)
        fmt = None if response_format is None else _structured.normalise(response_format)
        return _Turn(messages, _attachments.gather(messages, attachments), toolset, fmt)

    def _rounds(self, prompt: Prompt, system: str | None, tools: Sequence[Any], max_rounds: int,
                options: Mapping[str, Any]) -> tuple[list[dict[str, Any]], _wire.Tools]:
        """run_tools' checks before anything is sent: the conversation so far and the tools."""
        if "attachments" in options or "tool_choice" in options:
            raise InvalidRequestError("run_tools takes neither attachments= nor tool_choice=: upload files with "
                                      "upload_file() and put their ids in a message's 'attachments'.")
        if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
            raise InvalidRequestError(f"max_rounds must be 1 or more, not {max_rounds!r}.")
        toolset = _wire.normalise_tools(tools, None, self.settings.api_version)
        if not toolset.callables:
            raise InvalidRequestError("run_tools needs Python functions in tools= to run (specs alone go to chat()).")
        return _wire.normalise_messages(prompt, system), toolset

    def _chat_call(self, turn: _Turn, infos: Sequence[Sequence[FileInfo]], stream: bool, model: str | None,
                   options: _wire.ChatOptions) -> _wire.Call:
        s = self.settings
        if options.profanity_check is None and s.profanity_check is not None:
            options = dataclasses.replace(options, profanity_check=s.profanity_check)
        tools = turn.tools
        if turn.fmt is not None:
            options = dataclasses.replace(options, response_schema=turn.fmt.schema)
        if _attachments.ids_into(turn.messages, infos):
            tools = dataclasses.replace(tools, reads_documents=True)
        return _wire.chat_call(s.base_url, s.api_version, model or s.model, turn.messages, options, stream=stream,
                               tools=tools)

    def _remember(self, info: FileInfo) -> FileInfo:
        self._known[info.id] = info
        return info

    def _forget(self, file_id: str) -> None:
        self._known.pop(file_id, None)
        for key in [key for key, info in self._uploaded.items() if info.id == file_id]:
            del self._uploaded[key]

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


def _build(http: httpx.Client | httpx.AsyncClient, call: _wire.Call, headers: Mapping[str, str]) -> httpx.Request:
    return http.build_request(call.method, call.url, content=call.body, data=call.form, files=call.files,
                              headers=headers)


def _decode(call: _wire.Call, response: httpx.Response, body: bytes) -> Any:
    return parse_answer(response, body, call.parse, raw=call.raw)


def _upload_call(base_url: str, local: Local, content: Any, purpose: str) -> _wire.Call:
    return _wire.upload_call(base_url, local.filename, content, local.mime, purpose)


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
             attachments: Attachments = None, tools: Sequence[Any] | None = None, tool_choice: str | None = None,
             reasoning_effort: str | None = None, response_format: Any = None,
             extra: Mapping[str, Any] | None = None) -> ChatResult:
        """Ask for a whole answer. `prompt` is a str (one user message) or a list of {role, content}.

        `attachments` go on the last user message: paths, bytes, (filename, bytes), FileInfos or file ids; local
        content is uploaded once per client. `tools=` holds built-in tools by name ("image_generate",
        "web_search", "url_content_extraction", "code_interpreter"), function specs and Python callables;
        `.function_call` is set when GigaChat asks for a function (run_tools runs them for you).
        `reasoning_effort="low"|"medium"|"high"` puts the thinking in `.reasoning`, apart from `.text`.
        `response_format=` a JSON Schema dict or a pydantic model class fills `.parsed` (StructuredOutputError,
        with the raw text, when the answer does not fit). Everything is checked before anything is sent."""
        options = _wire.ChatOptions(temperature, top_p, max_tokens, repetition_penalty, profanity_check, None, extra,
                                    reasoning_effort)
        turn = self._turn(prompt, system, attachments, tools, tool_choice, response_format)
        result = self._request(self._chat_call(turn, self._attach(turn), False, model, options))
        return _toolrun.with_parsed(result, turn.fmt)

    def stream(self, prompt: Prompt, *, model: str | None = None, system: str | None = None,
               temperature: float | None = None, max_tokens: int | None = None, top_p: float | None = None,
               repetition_penalty: float | None = None, profanity_check: bool | None = None,
               update_interval: float | None = None, attachments: Attachments = None,
               tools: Sequence[Any] | None = None, tool_choice: str | None = None,
               reasoning_effort: str | None = None, response_format: Any = None,
               extra: Mapping[str, Any] | None = None) -> Generator[ChatChunk, None, None]:
        """Iterate over the answer as it arrives; the last chunk carries finish_reason, usage, `files`,
        `sources`, `function_call` and `parsed`. Thinking arrives first, in chunks whose `.reasoning` is set and
        whose `.text` is empty.

        Attachments (uploaded before this returns) and the rest as in chat(). Stopping early (break, an
        exception, close()) closes the connection at once."""
        options = _wire.ChatOptions(temperature, top_p, max_tokens, repetition_penalty, profanity_check,
                                    update_interval, extra, reasoning_effort)
        turn = self._turn(prompt, system, attachments, tools, tool_choice, response_format)
        chunks = self._iterate(self._chat_call(turn, self._attach(turn), True, model, options))
        return chunks if turn.fmt is None else _toolrun.parsed_chunks(chunks, turn.fmt)

    def run_tools(self, prompt: Prompt, *, tools: Sequence[Any], max_rounds: int = 5, system: str | None = None,
                  **options: Any) -> ChatResult:
        """Chat, running the Python functions in `tools` whenever GigaChat asks, until it answers in words.

        Each call's result (or its exception, as {"error": ...}) goes back as a function-result message; after
        `max_rounds` function calls GigaChat is asked to answer without functions. Other keywords as in chat()."""
        messages, toolset = self._rounds(prompt, system, tools, max_rounds, options)
        for _ in range(max_rounds):
            result = self.chat(messages, tools=tools, **options)
            call = result.function_call
            if call is None:
                return result
            reply = _toolrun.refusal(toolset, call)
            if reply is None:
                function = toolset.callables[call.name]
                try:
                    reply = _toolrun.result_message(call, value=function(**call.arguments))
                except Exception as exc:  # noqa: BLE001 - told to the model, as the API expects
                    reply = _toolrun.result_message(call, error=exc)
            messages = [*messages, result.message, reply]
        return self.chat(messages, tools=tools, tool_choice="none", **options)

    def check_ai(self, text: str) -> AICheck:
        """Whether a model wrote `text` (/ai/check): category ai | human | mixed and the AI-written intervals.
        Corporate keys only; others get an APIError (403) that says so."""
        return self._request(_wire.ai_check_call(self.settings.base_url, text))

    # --- files ------------------------------------------------------------------------------------------

    def upload_file(self, file: Uploadable, *, purpose: str = "general") -> FileInfo:
        """Upload a path, bytes or binary file; a file is streamed from disk, never read into memory whole.

        Retries: an upload is repeated only where the service cannot have kept a copy: when the connection
        could not be made (nothing was sent), on 429 (refused), and once on 401 with a fresh token. A 5xx, a
        timeout or a connection lost after the file was sent is raised at once, so no file is stored twice."""
        local = _attachments.for_upload(file)
        if local.path is not None:
            with open(local.path, "rb") as handle:
                return self._remember(self._request(_upload_call(self.settings.base_url, local, handle, purpose)))
        content = local.data if local.data is not None else file
        return self._remember(self._request(_upload_call(self.settings.base_url, local, content, purpose)))

    def list_files(self) -> list[FileInfo]:
        """The files this key stored (uploaded or drawn)."""
        return [self._remember(info) for info in self._request(_wire.list_files_call(self.settings.base_url))]

    def get_file(self, file_id: str) -> FileInfo:
        """One stored file's description."""
        return self._remember(self._request(_wire.get_file_call(self.settings.base_url, file_id)))

    def delete_file(self, file_id: str) -> bool:
        """Delete a stored file; True when the service confirms."""
        deleted = self._request(_wire.delete_file_call(self.settings.base_url, file_id))
        self._forget(file_id)
        return bool(deleted)

    def download_file(self, file_id: str) -> bytes:
        """A stored file's bytes, e.g. a drawn image (`ChatResult.files[0].id`)."""
        return self._request(_wire.download_file_call(self.settings.base_url, file_id))

    def _attach(self, turn: _Turn) -> list[list[FileInfo]]:
        """Look up bare ids, check the image rules, then upload what is new: nothing is sent before the check."""
        if not any(turn.groups):
            return [[] for _ in turn.groups]
        for group in turn.groups:
            for index, item in enumerate(group):
                if isinstance(item, str):
                    group[index] = self._known.get(item) or self.get_file(item)
        _attachments.check_rules(turn.groups)  # type: ignore[arg-type]
        return [[self._upload_once(item) if isinstance(item, Local) else item for item in group]  # type: ignore[misc]
                for group in turn.groups]

    def _upload_once(self, local: Local) -> FileInfo:
        key = _attachments.content_key(local)
        with self._lock:
            guard = self._upload_locks.setdefault(key, threading.Lock())
        with guard:  # threads attaching the same content wait for one upload instead of making their own
            info = self._uploaded.get(key)
            if info is None:
                if local.path is not None:
                    info = self.upload_file(local.path)
                else:
                    info = self._remember(self._request(_upload_call(self.settings.base_url, local, local.data,
                                                                     "general")))
                self._uploaded[key] = info
        return info

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
        response = self._open(call, self._plan(call))
        try:
            body = read_answer(response, raw=call.raw)
        except httpx.HTTPError as exc:
            raise transport_error(exc, call.url, self.settings.timeout) from None
        finally:
            response.close()
        return _decode(call, response, body)

    def _open(self, call: _wire.Call, plan: RetryPlan) -> httpx.Response:
        """Send until a success status arrives; 401 refreshes the token once, retryable failures back off."""
        while True:
            header = self._auth.header()
            started = time.perf_counter()
            delay: float | None
            try:
                http = self._client()
                response = http.send(_build(http, call, self._request_headers(call, header)), stream=True)
                _log_response(call, response, started)
                if response.status_code < 300:
                    return response
                try:
                    body = read_error_body(response)
                finally:
                    response.close()
                delay = self._failed(call, response, body, plan, header)
            except httpx.HTTPError as exc:
                delay = plan.delay_for(transport_error(exc, call.url, self.settings.timeout),
                                       sent=not isinstance(exc, NOT_SENT))
            if delay:
                time.sleep(delay)

    def _iterate(self, call: _wire.Call) -> Generator[ChatChunk, None, None]:
        plan = self._plan()
        while True:
            response = self._open(call, plan)
            decoder = StreamDecoder(call.stream or "v1")
            try:
                for raw in stream_pieces(response, decoder.fail):
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
                   attachments: Attachments = None, tools: Sequence[Any] | None = None,
                   tool_choice: str | None = None, reasoning_effort: str | None = None, response_format: Any = None,
                   extra: Mapping[str, Any] | None = None) -> ChatResult:
        """Ask for a whole answer; attachments, tools, reasoning and response_format as in GigaChat.chat."""
        options = _wire.ChatOptions(temperature, top_p, max_tokens, repetition_penalty, profanity_check, None, extra,
                                    reasoning_effort)
        turn = self._turn(prompt, system, attachments, tools, tool_choice, response_format)
        result = await self._request(self._chat_call(turn, await self._attach(turn), False, model, options))
        return _toolrun.with_parsed(result, turn.fmt)

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
        turn = self._turn(prompt, system, attachments, tools, tool_choice, response_format)
        if not any(turn.groups):
            chunks = self._iterate(self._chat_call(turn, [[] for _ in turn.groups], True, model, options))
        else:
            chunks = self._attach_then_iterate(turn, model, options)
        return chunks if turn.fmt is None else _toolrun.parsed_async(chunks, turn.fmt)

    async def run_tools(self, prompt: Prompt, *, tools: Sequence[Any], max_rounds: int = 5,
                        system: str | None = None, **options: Any) -> ChatResult:
        """As GigaChat.run_tools; coroutine functions are awaited, plain ones run in a worker thread."""
        messages, toolset = self._rounds(prompt, system, tools, max_rounds, options)
        for _ in range(max_rounds):
            result = await self.chat(messages, tools=tools, **options)
            call = result.function_call
            if call is None:
                return result
            reply = _toolrun.refusal(toolset, call)
            if reply is None:
                function = toolset.callables[call.name]
                try:
                    if inspect.iscoroutinefunction(function):
                        value = await function(**call.arguments)
                    else:
                        value = await asyncio.to_thread(function, **call.arguments)
                    reply = _toolrun.result_message(call, value=value)
                except Exception as exc:  # noqa: BLE001 - told to the model, as the API expects
                    reply = _toolrun.result_message(call, error=exc)
            messages = [*messages, result.message, reply]
        return await self.chat(messages, tools=tools, tool_choice="none", **options)

    async def check_ai(self, text: str) -> AICheck:
        """As GigaChat.check_ai."""
        return await self._request(_wire.ai_check_call(self.settings.base_url, text))

    async def _attach_then_iterate(self, turn: _Turn, model: str | None,
                                   options: _wire.ChatOptions) -> AsyncGenerator[ChatChunk, None]:
        call = self._chat_call(turn, await self._attach(turn), True, model, options)
        async with contextlib.aclosing(self._iterate(call)) as chunks:
            async for chunk in chunks:
                yield chunk

    # --- files ------------------------------------------------------------------------------------------

    async def upload_file(self, file: Uploadable, *, purpose: str = "general") -> FileInfo:
        """Upload a path, bytes or binary file; a file is streamed from disk. Retries as GigaChat.upload_file."""
        local = _attachments.for_upload(file)
        if local.path is not None:
            with open(local.path, "rb") as handle:
                call = _upload_call(self.settings.base_url, local, handle, purpose)
                return self._remember(await self._request(call))
        content = local.data if local.data is not None else file
        return self._remember(await self._request(_upload_call(self.settings.base_url, local, content, purpose)))

    async def list_files(self) -> list[FileInfo]:
        """The files this key stored (uploaded or drawn)."""
        return [self._remember(i) for i in await self._request(_wire.list_files_call(self.settings.base_url))]

    async def get_file(self, file_id: str) -> FileInfo:
        """One stored file's description."""
        return self._remember(await self._request(_wire.get_file_call(self.settings.base_url, file_id)))

    async def delete_file(self, file_id: str) -> bool:
        """Delete a stored file; True when the service confirms."""
        deleted = await self._request(_wire.delete_file_call(self.settings.base_url, file_id))
        self._forget(file_id)
        return bool(deleted)

    async def download_file(self, file_id: str) -> bytes:
        """A stored file's bytes, e.g. a drawn image (`ChatResult.files[0].id`)."""
        return await self._request(_wire.download_file_call(self.settings.base_url, file_id))

    async def _attach(self, turn: _Turn) -> list[list[FileInfo]]:
        if not any(turn.groups):
            return [[] for _ in turn.groups]
        for group in turn.groups:
            for index, item in enumerate(group):
                if isinstance(item, str):
                    group[index] = self._known.get(item) or await self.get_file(item)
        _attachments.check_rules(turn.groups)  # type: ignore[arg-type]
        return [[await self._upload_once(item) if isinstance(item, Local) else item for item in group]  # type: ignore[misc]
                for group in turn.groups]

    async def _upload_once(self, local: Local) -> FileInfo:
        key = await asyncio.to_thread(_attachments.content_key, local)  # hashing a big file must not stall the loop
        guard = self._upload_locks.setdefault(key, asyncio.Lock())
        async with guard:  # tasks attaching the same content wait for one upload instead of making their own
            info = self._uploaded.get(key)
            if info is None:
                if local.path is not None:
                    info = await self.upload_file(local.path)
                else:
                    info = self._remember(await self._request(_upload_call(self.settings.base_url, local,
                                                                           local.data, "general")))
                self._uploaded[key] = info
        return info

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
        response = await self._open(call, self._plan(call))
        try:
            body = await aread_answer(response, raw=call.raw)
        except httpx.HTTPError as exc:
            raise transport_error(exc, call.url, self.settings.timeout) from None
        finally:
            await response.aclose()
        return _decode(call, response, body)

    async def _open(self, call: _wire.Call, plan: RetryPlan) -> httpx.Response:
        """Send until a success status arrives; 401 refreshes the token once, retryable failures back off."""
        while True:
            header = await self._auth.aheader()
            started = time.perf_counter()
            delay: float | None
            try:
                http = self._client()
                response = await http.send(_build(http, call, self._request_headers(call, header)), stream=True)
                _log_response(call, response, started)
                if response.status_code < 300:
                    return response
                try:
                    body = await aread_error_body(response)
                finally:
                    await response.aclose()
                delay = self._failed(call, response, body, plan, header)
            except httpx.HTTPError as exc:
                delay = plan.delay_for(transport_error(exc, call.url, self.settings.timeout),
                                       sent=not isinstance(exc, NOT_SENT))
            if delay:
                await asyncio.sleep(delay)

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
            except StreamError as error:
                delay = self._broken(error, decoder, plan)
            except httpx.HTTPError as exc:
                delay = self._broken(transport_error(exc, call.url, self.settings.timeout), decoder, plan)
            finally:
                await response.aclose()
            await asyncio.sleep(delay)
