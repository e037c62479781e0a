"""GigaChat calls as OpenTelemetry spans, children of the SDK's MCP `tools/call` spans: model, tokens, time to
first chunk, finish reason.

opentelemetry-api comes with mcp; spans are recorded only when the user installs an SDK and configures an exporter
(otherwise the API hands out non-recording spans and this costs a few checks per answer, not per chunk).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["TurnSpan", "chat_span"]


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
