"""GigaChat, the synchronous client: it builds Calls and flows (shared, pure) and performs them, blocking.

`_request` sends a Call for a JSON answer, `_iterate` for a stream, `_run` steps a flow through; the logic of
chat, attachments, files and tool rounds lives in `_flows`, the decisions after a failure in `_base`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from . import _attachments, _flows, _wire
from ._async import AsyncGigaChat  # a batch map runs the async engine (see _bulk._thread)
from ._base import Attachments, BaseClient, Prompt, Uploadable, build, decode, log_response
from ._body import read_answer, read_error_body, stream_pieces
from ._errors import APIError, GigaChatError, StreamError, with_near_model
from ._http import client_options, transport_error
from ._retry import RetryPlan
from ._sse import StreamDecoder
from ._structured import ParsedTail, ResponseFormat
from ._types import AICheck, ChatChunk, ChatResult, FileInfo, Model, TokenCount

if TYPE_CHECKING:
    from . import _bulk  # loaded by map() and batch embeddings, not by a plain chat()

__all__ = ["GigaChat"]

T = TypeVar("T")


class GigaChat(BaseClient):
    """The synchronous client. `GigaChat()` reads GIGACHAT_* from the environment; keywords override it."""

    _http: httpx.Client | None = None
    _lanes: _bulk.Lanes | None = None  # a blocking map's threads' own connections (see _bulk._lanes)

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
        turn = _flows.turn(self.settings, prompt, system, attachments, tools, tool_choice, response_format)
        return self._run(_flows.answer(self.settings, self._files, turn, model, options))

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
        turn = _flows.turn(self.settings, prompt, system, attachments, tools, tool_choice, response_format)
        chunks = self._iterate(self._run(_flows.prepared(self.settings, self._files, turn, True, model, options)))
        return chunks if turn.fmt is None else _parsed(chunks, turn.fmt)

    def run_tools(self, prompt: Prompt, *, tools: Sequence[Any], max_rounds: int = 5, system: str | None = None,
                  **options: Any) -> ChatResult:
        """Chat, running the Python functions in `tools` whenever GigaChat asks, until it answers in words.

        Each call's result (or its exception, as {"error": ...}) goes back as a function-result message; after
        `max_rounds` function calls GigaChat is asked to answer without functions. Other keywords as in chat()."""
        messages, toolset = _flows.rounds(self.settings, prompt, system, tools, max_rounds, options)
        return self._run(_flows.run_tools(messages, toolset, tools, max_rounds, options))

    def map(self, prompts: Any, *, rows: Any = None, concurrency: int | None = None, cache: Any = True,
            batch: bool = False, progress: _bulk.Progress | None = None, on_error: str = "keep",
            batch_timeout: float = 3600.0, batch_poll: float = 5.0, **chat_options: Any) -> _bulk.MapResult:
        """Answer many prompts: a list of prompts (each a str or a message list), or one template str with
        `rows` (a list of dicts, a DataFrame, or plain values): `{field}` is filled from a dict row or a
        DataFrame column, `{}` from a plain value; a row lacking a field is an error before anything is sent.

        Returns a MapResult in input order, each item the row's ChatResult or a RowError (index, exception,
        prompt); `.texts`, `.parsed`, `.errors`, `.usage` (summed). One row's failure never loses the others;
        `on_error="raise"` raises the first failure instead (answered rows stay cached).

        `concurrency`: requests at once, by default the key's limit (GIGACHAT_MAX_CONNECTIONS; 1 for a personal
        key, 10 for business keys). A 429 pauses the whole run (Retry-After honoured), and no row is sent again
        once answered. `cache`: answered rows are kept in an SQLite file in the user cache directory (True), at
        a path you give, or nowhere (False); a rerun (after a crash, a kill, a kernel restart) sends only rows
        not answered yet. `clear_map_cache()` empties it. `progress(done, total, errors)` is called in this
        thread after each row. `batch=True` sends the rows through the Batch API (pay-as-you-go keys; waits up
        to `batch_timeout` seconds, polling from every `batch_poll` seconds; BatchTimeoutError names the batch,
        and rerunning resumes it). `**chat_options` are chat()'s (system, model, temperature, response_format,
        reasoning_effort, tools, attachments, ...), the same for every row.

        The rows' requests are this client's chat() calls in `concurrency` threads of the map's own (batches: the
        async engine on a loop of its own in a worker thread; see `_bulk._thread`), so it also works in a
        notebook; Ctrl-C stops it and raises MapInterrupted, whose `.partial` holds what was answered."""
        from . import _bulk
        plan = _bulk.make_plan(self.settings, prompts, rows, chat_options, concurrency=concurrency, cache=cache,
                               on_error=on_error, batch=batch, batch_timeout=batch_timeout, batch_poll=batch_poll)
        run = _bulk.Run(plan, None)
        if not plan.batch:
            options = plan.options
            return _bulk.run_threads(lambda prompt: self.chat(prompt, **options), run, progress, self._map_lanes().lane)
        settings, shared = self.settings, self._shared_tokens

        async def work(report: _bulk.Progress | None) -> _bulk.MapResult:
            run.progress = report
            async with AsyncGigaChat(settings, shared_tokens=shared) as client:
                return await _bulk.execute(client, run)

        return _bulk.run_blocking(work, progress, run.outcome)

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
        return self._run(_flows.upload(self.settings.base_url, self._files, local, file, purpose))

    def attach(self, items: Sequence[Any]) -> list[FileInfo]:
        """One message's attachments as stored files, the way chat(attachments=) stores them: the service's rules
        checked first (type, size, one image), ids looked up, and the same content uploaded once per client."""
        return self._run(_flows.attach(self.settings.base_url, self._files, items))

    def list_files(self) -> list[FileInfo]:
        """The files this key stored (uploaded or drawn)."""
        return self._run(_flows.list_files(self.settings.base_url, self._files))

    def get_file(self, file_id: str) -> FileInfo:
        """One stored file's description."""
        return self._run(_flows.get_file(self.settings.base_url, self._files, file_id))

    def delete_file(self, file_id: str) -> bool:
        """Delete a stored file; True when the service confirms."""
        return self._run(_flows.delete_file(self.settings.base_url, self._files, file_id))

    def download_file(self, file_id: str) -> bytes:
        """A stored file's bytes, e.g. a drawn image (`ChatResult.files[0].id`)."""
        return self._request(_wire.download_file_call(self.settings.base_url, file_id))

    def models(self) -> list[Model]:
        """The models this key can use."""
        return self._request(_wire.models_call(self.settings.base_url))

    def count_tokens(self, texts: str | Sequence[str], model: str | None = None) -> list[TokenCount]:
        """Token and character counts of each text, for `model`."""
        return self._request(_wire.count_tokens_call(self.settings.base_url, texts, model or self.settings.model))

    def embeddings(self, texts: str | Sequence[str], model: str | None = None, *, batch: bool = False,
                   cache: Any = True, batch_timeout: float = 3600.0, batch_poll: float = 5.0) -> list[list[float]]:
        """One embedding vector per text (model 'Embeddings' unless given). `batch=True` goes through the Batch
        API (pay-as-you-go keys), one line per text, with map()'s cache, waiting and resuming."""
        if not batch:
            return self._request(_wire.embeddings_call(self.settings.base_url, texts, model or "Embeddings"))
        from . import _bulk
        plan = _bulk.make_plan(self.settings, [], None, {}, concurrency=1, cache=cache, on_error="raise",
                               batch=True, batch_timeout=batch_timeout, batch_poll=batch_poll)
        settings, shared = self.settings, self._shared_tokens

        async def work(report: _bulk.Progress | None) -> list[list[float]]:
            async with AsyncGigaChat(settings, shared_tokens=shared) as client:
                return await _bulk.embed(client, texts, model or "Embeddings", plan)

        return _bulk.run_blocking(work, None)

    def balance(self) -> dict[str, float]:
        """Remaining tokens per model, for prepaid keys (others get a 403 APIError)."""
        return self._request(_wire.balance_call(self.settings.base_url))

    def close(self) -> None:
        """Close the connections; the client can still be used afterwards (it reconnects)."""
        with self._lock:
            http, self._http = self._http, None
        if http is not None:
            http.close()
        if self._lanes is not None:
            self._lanes.close()
        self._auth.close()

    def __enter__(self) -> GigaChat:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- I/O ----------------------------------------------------------------------------------------------

    def _run(self, flow: _flows.Flow[T]) -> T:
        """Step a flow through: perform what it yields and send back the result, or throw the error in."""
        try:
            op = next(flow)
            while True:
                try:
                    result = self._perform(op)
                except BaseException as exc:  # the flow answers it, or releases what it holds and lets it go
                    op = flow.throw(exc)
                else:
                    op = flow.send(result)
        except StopIteration as done:
            return done.value

    def _perform(self, op: _flows.Op) -> Any:
        if isinstance(op, _flows.Send):
            return self._request(op.call)
        if isinstance(op, _flows.Ask):
            return self.chat(op.messages, **op.options)
        if isinstance(op, _flows.Invoke):
            return op.function(**op.arguments)
        if isinstance(op, _flows.ContentKey):
            return _attachments.content_key(op.local)
        with self._lock:
            guard = self._files.locks.setdefault(op.key, threading.Lock())
        guard.acquire()
        return guard

    def _map_lanes(self) -> _bulk.Lanes:
        from . import _bulk
        with self._lock:
            if self._lanes is None:
                self._lanes = _bulk.Lanes(lambda: httpx.Client(**client_options(self.settings)))
            return self._lanes

    def _client(self) -> httpx.Client:
        lanes = self._lanes
        if lanes is not None and (own := lanes.current()) is not None:
            return own
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
        return decode(call, response, body)

    def _open(self, call: _wire.Call, plan: RetryPlan) -> httpx.Response:
        """Send until a success status arrives; 401 refreshes the token once, retryable failures back off."""
        while True:
            header = self._auth.header()
            started = time.perf_counter()
            delay: float | None
            try:
                http = self._client()
                response = http.send(build(http, call, self._request_headers(call, header)), stream=True)
                log_response(call, response, started)
                if response.status_code < 300:
                    return response
                try:
                    body = read_error_body(response)
                finally:
                    response.close()
                try:
                    delay = self._failed(call, response, body, plan, header)
                except APIError as error:  # a mistyped model: name the near one (models are listed only then)
                    raise (with_near_model(error, self._chat_models()) if error.unknown_model else error) from None
            except httpx.HTTPError as exc:
                delay = self._lost(exc, call, plan)
            if delay:
                time.sleep(delay)

    def _chat_models(self) -> list[str]:
        try:
            return [model.id for model in self.models() if model.type == "chat"]
        except GigaChatError:
            return []

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
            except (StreamError, httpx.HTTPError) as exc:
                delay = self._broken(exc, call, decoder, plan)
            finally:
                response.close()
            time.sleep(delay)


def _parsed(chunks: Generator[ChatChunk, None, None], fmt: ResponseFormat) -> Generator[ChatChunk, None, None]:
    """The stream with `.parsed` on its last chunk (StructuredOutputError instead, when the answer does not fit)."""
    tail = ParsedTail(fmt)
    with contextlib.closing(chunks):
        for chunk in chunks:
            yield tail.see(chunk)
