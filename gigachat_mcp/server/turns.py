"""One chat turn of the MCP server: queue for an upstream stream, stream into the conversation, tell listeners.

Listeners (MCP progress for the caller, resource-updated for subscribers) hear at most once per `interval`,
and the latest state is always delivered within one interval: a separate notifier task sends whatever is
newest when it wakes, so a burst of chunks costs one message and a pause never hides the last one. Each
message carries a bounded tail of the answer, so a 10x longer answer costs 10x work, not 100x.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio

from .. import ChatChunk, ConfigError, GigaChatError, InvalidRequestError
from .conversations import Conversation

if TYPE_CHECKING:
    from .. import AsyncGigaChat

__all__ = ["TurnRunner"]

log = logging.getLogger("gigachat_mcp.server")

Progress = Callable[[float, str], Awaitable[None]]
Publish = Callable[[Conversation], Awaitable[None]]
Claim = Callable[[Conversation, list[str]], Awaitable[None]]
QUEUED_MESSAGE = "Waiting for a free GigaChat stream (a personal key allows one at a time)…"


class _Notifier:
    """Sends the newest state to the caller and subscribers, at most once per interval."""

    def __init__(self, conversation: Conversation, progress: Progress | None, publish: Publish, interval: float,
                 tail: int) -> None:
        self.conversation = conversation
        self.progress = progress
        self.publish = publish
        self.interval = interval
        self.tail = tail
        self._changed = anyio.Event()
        self._sent_length = -1.0

    def poke(self) -> None:
        self._changed.set()

    async def run(self) -> None:
        while True:
            await self._changed.wait()
            self._changed = anyio.Event()
            started = anyio.current_time()
            await self.send()  # the interval counts from the start: a slow publish (Redis) does not add to it
            await anyio.sleep(max(0.0, self.interval - (anyio.current_time() - started)))

    async def send(self) -> None:
        conversation = self.conversation
        length = conversation.progress_length
        if self.progress is not None and length > self._sent_length and (length or conversation.status == "queued"):
            message = conversation.progress_message(self.tail) if length else QUEUED_MESSAGE
            self._sent_length = length
            try:
                await self.progress(float(length), message)
            except Exception:  # noqa: BLE001 - a caller that went away must not end the answer
                log.debug("progress notification not delivered", exc_info=True)
                self.progress = None
        await self.publish(conversation)


class _Queued:
    """A turn waiting for one of the key's upstream streams: the caller is told, the queue-depth metric counts it
    until it gets one (or gives up)."""

    def __init__(self, meter: Any, notifier: _Notifier) -> None:
        self.meter = meter
        self.notifier = notifier
        self.waiting = False

    def wait(self) -> None:
        self.waiting = True
        self.meter.queue(1)
        self.notifier.poke()

    def over(self) -> None:
        if self.waiting:
            self.waiting = False
            self.meter.queue(-1)

    def __enter__(self) -> _Queued:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.over()


class TurnRunner:
    """Runs turns against one AsyncGigaChat, at most `max_streams` upstream streams at a time."""

    def __init__(self, client: AsyncGigaChat, *, max_streams: int, interval: float = 0.1, tail: int = 2000,
                 limiter: Any = None, claim: Claim | None = None) -> None:
        self.client = client
        self.claim = claim  # told the files each turn drew, before its end is published
        self.max_streams = max_streams
        self.interval = interval
        self.tail = tail
        if limiter is None:
            from .state.memory import MemoryLimiter

            limiter = MemoryLimiter(max_streams)
        self.limiter = limiter  # a state.StreamLimiter: this process's, or the fleet's
        self._stops: dict[str, anyio.CancelScope] = {}  # turns running in this process, by conversation id
        self._why: dict[str, str] = {}  # why a turn was stopped, when not by the user (a shutdown)

    def stop(self, conversation_id: str, reason: str | None = None) -> bool:
        """Stop the turn running for this conversation (its upstream stream is closed, its status becomes
        cancelled, the text so far is kept, `reason` becomes its error); False when none is running here."""
        scope = self._stops.get(conversation_id)
        if scope is None:
            return False
        if reason:
            self._why[conversation_id] = reason
        scope.cancel()
        return True

    def stop_all(self, reason: str) -> int:
        """Stop every turn running here that is not already stopping, as `stop` does (a replica shutting down);
        returns how many."""
        running = [cid for cid, scope in self._stops.items() if not scope.cancel_called]
        return sum(self.stop(conversation_id, reason) for conversation_id in running)

    async def run(self, conversation: Conversation, messages: list[dict[str, Any]], options: dict[str, Any],
                  progress: Progress | None, publish: Publish) -> Conversation:
        """Stream one answer into `conversation`; raise GigaChatError or cancellation after recording it.
        A turn ended by `stop()` returns normally with the conversation `cancelled`."""
        from .http.telemetry import chat_span, metrics

        meter = metrics()
        meter.answer_started()
        try:
            with chat_span(options.get("model")) as span:
                return await self._run(conversation, messages, options, progress, publish, span)
        finally:
            meter.answer_ended()

    async def _run(self, conversation: Conversation, messages: list[dict[str, Any]], options: dict[str, Any],
                   progress: Progress | None, publish: Publish, span: Any) -> Conversation:
        notifier = _Notifier(conversation, progress, publish, self.interval, self.tail)
        failure: BaseException | None = None
        final: ChatChunk | None = None
        stop = anyio.CancelScope()
        why: str | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(notifier.run)
            self._stops[conversation.id] = stop
            try:
                with stop:
                    final = await self._stream(conversation, messages, options, notifier, span)
            except BaseException as exc:  # noqa: BLE001 - decided below, outside the task group
                failure = exc
            finally:
                if self._stops.get(conversation.id) is stop:
                    del self._stops[conversation.id]
                    why = self._why.pop(conversation.id, None)
            group.cancel_scope.cancel()
        with anyio.CancelScope(shield=True):
            if failure is None and stop.cancelled_caught:
                conversation.finish("cancelled", error=why)
            elif failure is None:
                usage = final.usage if final is not None else None
                conversation.finish("done", finish_reason=final.finish_reason if final else None,
                                    usage=_usage_dict(usage), files=_files(final),
                                    state_id=final.state_id if final else None, extras=_extras(final))
            elif isinstance(failure, (InvalidRequestError, ConfigError)) and not conversation.progress_length:
                conversation.retract()  # refused before sending (e.g. an attachment rule): not part of the history
                conversation.finish("error", error=str(failure))
            elif isinstance(failure, anyio.get_cancelled_exc_class()):
                conversation.finish("cancelled")
            elif isinstance(failure, GigaChatError):
                conversation.finish("error", error=str(failure))
                span.failed(failure)
            else:
                log.error("unexpected failure while streaming", exc_info=failure)
                conversation.finish("error", error=f"Unexpected {type(failure).__name__}; see the server log.")
            await self._claim(conversation, [f["id"] for f in _files(final)])
            await notifier.send()
        span.finished(conversation)
        if failure is not None:
            raise failure
        return conversation

    async def _claim(self, conversation: Conversation, file_ids: list[str]) -> None:
        """Record whose turn made the files; a failure is logged (the files stay unreadable), the answer kept."""
        if self.claim is None or not file_ids:
            return
        try:
            await self.claim(conversation, file_ids)
        except Exception:  # noqa: BLE001 - the answer matters more than its files' owner
            log.warning("could not record who made %d file(s) of conversation %s", len(file_ids), conversation.id,
                        exc_info=True)

    async def _stream(self, conversation: Conversation, messages: list[dict[str, Any]], options: dict[str, Any],
                      notifier: _Notifier, span: Any) -> ChatChunk | None:
        from .http.telemetry import metrics

        queued = _Queued(metrics(), notifier)
        with queued:
            async with self.limiter.slot(queued.wait):  # tell the caller it is queued behind another stream
                queued.over()
                return await self._chunks(conversation, messages, options, notifier, span)

    async def _chunks(self, conversation: Conversation, messages: list[dict[str, Any]], options: dict[str, Any],
                      notifier: _Notifier, span: Any) -> ChatChunk | None:
        """Stream the answer into the conversation, holding an upstream stream."""
        conversation.status = "streaming"
        notifier.poke()
        final = None
        async with contextlib.aclosing(self.client.stream(messages, **options)) as chunks:
            async for chunk in chunks:
                if chunk.reasoning:
                    conversation.think(chunk.reasoning)
                    notifier.poke()
                if chunk.text:
                    conversation.append(chunk.text)
                    notifier.poke()
                    span.first_chunk()
                if chunk.finish_reason is not None:
                    final = chunk
        return final


def _files(final: ChatChunk | None) -> list[dict[str, str]]:
    """The files an answer made, as the conversation records them."""
    if final is None:
        return []
    return [{"id": f.id, "mime_type": f.mime_type, "resource_uri": f"gigachat://files/{f.id}"} for f in final.files]


def _extras(final: ChatChunk | None) -> dict[str, Any]:
    """What else the answer carried, as the conversation records it: web sources and the parsed JSON."""
    if final is None:
        return {}
    return {"sources": [{"title": s.title, "url": s.url} for s in final.sources], "json": final.parsed}


def _usage_dict(usage: Any) -> dict[str, int] | None:
    if usage is None:
        return None
    return {name: getattr(usage, name) for name in
            ("prompt_tokens", "completion_tokens", "total_tokens", "precached_prompt_tokens")}
