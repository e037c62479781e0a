"""GigaChat calls as OpenTelemetry spans, children of the SDK's MCP `tools/call` spans: model, tokens, time to
first chunk, finish reason; and the metrics an operator watches: answers in flight, turns queued for the key's
stream limit, upstream errors by kind, Redis latency.

opentelemetry-api comes with mcp; spans and metrics are recorded only when the user installs an SDK and configures
an exporter (otherwise the API hands out no-op instruments and this costs a few calls per answer, not per chunk).
Metric attributes are fixed words (an error's class, a Redis operation): never a prompt, an answer, a conversation
id or a principal.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

__all__ = ["TurnSpan", "chat_span", "metrics"]


class TurnSpan:
    def __init__(self, span: Any) -> None:
        self.span = span
        self.recording = span is not None and span.is_recording()
        self.started = time.monotonic()
        self._first = False

    def first_chunk(self) -> None:
        if self.recording and not self._first:
            self._first = True
            self.span.set_attribute("gigachat.time_to_first_chunk_ms", (time.monotonic() - self.started) * 1000)

    def failed(self, exc: BaseException) -> None:
        """An upstream failure: counted by kind (the class name; never its message, which may quote a prompt)."""
        metrics().upstream_error(exc)
        if self.recording:
            self.span.set_attribute("error.type", type(exc).__name__)

    def finished(self, conversation: Any) -> None:
        if not self.recording:
            return
        self.span.set_attribute("gigachat.status", conversation.status)
        if conversation.model:
            self.span.set_attribute("gen_ai.response.model", conversation.model)
        if conversation.finish_reason:
            self.span.set_attribute("gen_ai.response.finish_reasons", [conversation.finish_reason])
        usage = conversation.usage or {}
        if "prompt_tokens" in usage:
            self.span.set_attribute("gen_ai.usage.input_tokens", usage["prompt_tokens"])
            self.span.set_attribute("gen_ai.usage.output_tokens", usage.get("completion_tokens", 0))
        self.span.set_attribute("gigachat.answer_characters", conversation.answer_length)


@contextmanager
def chat_span(model: str | None) -> Iterator[TurnSpan]:
    try:
        from opentelemetry import trace
    except ImportError:  # opentelemetry-api is mcp's dependency, but be tolerant
        yield TurnSpan(None)
        return
    tracer = trace.get_tracer("gigachat_mcp")
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.system": "gigachat", "gen_ai.request.model": model or ""}
    with tracer.start_as_current_span(f"chat {model or 'GigaChat'}", kind=trace.SpanKind.CLIENT,
                                      attributes=attributes) as span:
        yield TurnSpan(span)


class Metrics:
    """The server's instruments, made once (through the API's proxy meter, so a provider set later still counts)."""

    def __init__(self) -> None:
        try:
            from opentelemetry import metrics as api
        except ImportError:  # opentelemetry-api is mcp's dependency, but be tolerant
            self.enabled = False
            return
        self.enabled = True
        meter = api.get_meter("gigachat_mcp")
        self.in_flight = meter.create_up_down_counter(
            "gigachat.answers.in_flight", unit="{answer}", description="Answers this process is streaming.")
        self.queued = meter.create_up_down_counter(
            "gigachat.streams.queued", unit="{answer}",
            description="Answers waiting for a free upstream stream of the key (its stream limit).")
        self.errors = meter.create_counter(
            "gigachat.upstream.errors", unit="{error}", description="GigaChat failures, by kind (error.type).")
        self.redis = meter.create_histogram(
            "gigachat.redis.duration", unit="s", description="Round trips to the shared store (Redis).")

    def answer_started(self) -> None:
        if self.enabled:
            self.in_flight.add(1)

    def answer_ended(self) -> None:
        if self.enabled:
            self.in_flight.add(-1)

    def queue(self, change: int) -> None:
        if self.enabled:
            self.queued.add(change)

    def upstream_error(self, exc: BaseException) -> None:
        if self.enabled:
            self.errors.add(1, {"error.type": type(exc).__name__})

    @contextmanager
    def redis_round_trip(self, operation: str) -> Iterator[None]:
        """Time one round trip; `operation` is a fixed word (save, group_commit), never a key."""
        started = time.monotonic()
        try:
            yield
        finally:
            if self.enabled:
                self.redis.record(time.monotonic() - started, {"db.operation": operation})


@cache
def metrics() -> Metrics:
    return Metrics()
