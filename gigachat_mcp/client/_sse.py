"""Server-sent events to ChatChunks: a spec-following SSE line decoder and the v1 / v2 stream dialects.

Fed one line at a time (the transport splits CR, LF and CRLF), so the same decoder serves the sync and the
async client. v1 streams `data:` JSON until `data: [DONE]`, with finish_reason and usage in the last JSON
event; v2 streams named events until `response.message.done`. An error event or a malformed one raises
StreamError carrying the text handed out so far.
"""

from __future__ import annotations

import json
from typing import Any

from ._errors import StreamError
from ._types import ChatChunk, FunctionCall, GeneratedFile, Source
from ._wire import (
    MarkupFilter,
    SourceMarks,
    files_v2,
    function_call,
    function_call_v2,
    reasoning_v2,
    sources_v2,
    state_v2,
    text_v2,
    usage_v1,
    usage_v2,
)

__all__ = ["StreamDecoder"]


class StreamDecoder:
    """Decodes one streamed answer; `done` once the final event arrived, `partial_text` at any time."""

    __slots__ = ("_data", "_event", "_parts", "_dispatch", "done", "_markup", "_files", "_state", "_thought",
                 "_marks", "_sources", "_call")

    def __init__(self, dialect: str) -> None:
        self._data: list[str] = []
        self._event = ""
        self._parts: list[str] = []
        self._dispatch = self._v2 if dialect == "v2" else self._v1
        self.done = False
        self._markup = MarkupFilter()  # v1 puts drawn files in the text as <img …/> markup
        self._files: list[GeneratedFile] = []  # v2 sends them as content parts
        self._state: str | None = None
        self._thought = False  # reasoning was handed out: a retry would repeat it
        self._marks = SourceMarks()  # v2 web search cites sources as [sources=[N]] in the text
        self._sources: dict[str, Source] = {}
        self._call: FunctionCall | None = None

    @property
    def partial_text(self) -> str:
        return "".join(self._parts)

    @property
    def handed_out(self) -> bool:
        return bool(self._parts) or self._thought

    def feed(self, line: str) -> ChatChunk | None:
        """Take one line; return a chunk when an event completes it."""
        if line:
            if line[0] == ":":  # a comment, e.g. a keep-alive
                return None
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._event = value
            return None  # id:, retry: and unknown fields are ignored, as the spec says
        if not self._data:
            self._event = ""
            return None
        data = self._data[0] if len(self._data) == 1 else "\n".join(self._data)
        event, self._data, self._event = self._event, [], ""
        if self.done:
            return None
        chunk = self._dispatch(event, data)
        if chunk is not None:
            if chunk.text:
                self._parts.append(chunk.text)
            self._thought = self._thought or bool(chunk.reasoning)
        return chunk

    def finish(self) -> None:
        """The body ended: fine after the final event, a StreamError before it."""
        if not self.done:
            raise self._error("The stream ended before the answer was complete (no final event).")

    def _v1(self, event: str, data: str) -> ChatChunk | None:
        if data == "[DONE]":
            self.done = True
            return None
        obj = self._json(data)
        choices = obj.get("choices")
        if not choices:
            raise self._event_error(obj)
        choice = choices[0]
        delta = choice.get("delta") or {}
        text = delta.get("content") or ""
        if text:
            text = self._markup.feed(text)
        if delta.get("functions_state_id"):
            self._state = delta["functions_state_id"]
        self._call = function_call(delta.get("function_call")) or self._call
        reasoning = delta.get("reasoning_content") or ""
        finish = choice.get("finish_reason")
        if finish:
            self.done = True
            return ChatChunk(text + self._markup.flush(), finish, usage_v1(obj.get("usage")), obj.get("model"),
                             tuple(self._markup.files), self._state, reasoning, function_call=self._call)
        if text or reasoning:
            return ChatChunk(text, None, None, obj.get("model"), reasoning=reasoning)
        return None

    def _v2(self, event: str, data: str) -> ChatChunk | None:
        if event == "response.message.delta":
            obj = self._json(data)
            messages = obj.get("messages")
            if '"files"' in data or "state_id" in data or '"sources"' in data:  # rare: text deltas stay cheap
                self._note_v2(messages)
            text = self._marks.feed(text_v2(messages))
            reasoning = reasoning_v2(messages) if "reasoning" in data else ""
            return ChatChunk(text, None, None, obj.get("model"), reasoning=reasoning) if text or reasoning else None
        if event == "response.message.done":
            obj = self._json(data)
            self.done = True
            messages = obj.get("messages")
            self._note_v2(messages)
            return ChatChunk(self._marks.feed(text_v2(messages)) + self._marks.flush(),
                             obj.get("finish_reason") or "stop", usage_v2(obj.get("usage")), obj.get("model"),
                             tuple(self._files), self._state, reasoning_v2(messages),
                             tuple(self._sources.values()), function_call_v2(messages) or self._call)
        if event == "error" or (not event and '"status' in data):
            raise self._event_error(self._json(data))
        return None  # response.tool.* and future events carry no answer text

    def _note_v2(self, messages: Any) -> None:
        if messages:
            self._files.extend(files_v2(messages))
            self._state = state_v2(messages) or self._state
            self._sources.update(sources_v2(messages))

    def _json(self, data: str) -> dict[str, Any]:
        try:
            obj = json.loads(data)
        except ValueError:
            raise self._error(f"GigaChat sent a malformed stream event ({data[:80]!r}).") from None
        if not isinstance(obj, dict):
            raise self._error(f"GigaChat sent an unexpected stream event ({data[:80]!r}).")
        return obj

    def _event_error(self, obj: dict[str, Any]) -> StreamError:
        status = obj.get("status_code") or obj.get("status") or obj.get("code")
        message = obj.get("message") or "unknown error"
        said = f"{status} {message}" if status else message
        return self._error(f"GigaChat reported an error mid-stream ({said}).",
                           status_code=status if isinstance(status, int) else None)

    def _error(self, message: str, status_code: int | None = None) -> StreamError:
        if self._parts:
            message += f" The {len(self.partial_text)} characters received so far are kept in .partial_text."
        return StreamError(message, partial_text=self.partial_text, status_code=status_code)
