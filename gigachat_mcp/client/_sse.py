"""Server-sent events to ChatChunks: a spec-following SSE decoder working on bytes, and the v1 / v2 dialects.

Fed the body's bytes as they arrive (any split, any of CR, LF and CRLF), so the same decoder serves the sync
and the async client. It works on whole events, not lines: a proxy or a loaded service delivers dozens of
events per read, and splitting bytes at blank lines in C costs far less than decoding and handling every line
in Python. v1 streams `data:` JSON until `data: [DONE]`, with finish_reason and usage in the last JSON event;
v2 streams named events until `response.message.done`. An error event or a malformed one raises StreamError
carrying the text handed out so far.
"""

from __future__ import annotations

import json
from typing import Any

from ._errors import StreamError
from ._types import ChatChunk, FunctionCall, GeneratedFile, Source, text_chunk
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

_BOM = b"\xef\xbb\xbf"
_NO_CHUNKS: list[ChatChunk] = []  # returned (never mutated) when the bytes complete no event
# strict=False: a data field split over several lines keeps its line breaks, even inside a JSON string
_DECODER = json.JSONDecoder(strict=False)
_SCAN = _DECODER.scan_once  # type: ignore[attr-defined]  # the C scanner json.loads itself uses
_V2_DELTA = "event: response.message.delta\ndata: "


class StreamDecoder:
    """Decodes one streamed answer; `done` once the final event arrived, `partial_text` at any time."""

    __slots__ = ("_buffer", "_after_cr", "_fresh", "_parts", "_v2", "done", "_markup", "_files", "_state", "_thought",
                 "_marks", "_sources", "_call")

    def __init__(self, dialect: str) -> None:
        self._buffer = b""  # the start of an event whose blank line has not arrived; line ends are LF only
        self._after_cr = False  # the last byte was a CR: an LF starting the next bytes ends the same line
        self._fresh = True  # nothing fed yet: a leading byte order mark is dropped, as the spec says
        self._parts: list[str] = []
        self._v2 = dialect == "v2"
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

    def feed(self, raw: bytes) -> list[ChatChunk]:
        """Take the next bytes of the body; return the chunks of the events they complete, in order."""
        if not raw:
            return _NO_CHUNKS
        if self._fresh:
            raw, self._buffer = self._buffer + raw, b""
            if len(raw) < 3 and _BOM.startswith(raw):  # maybe a byte order mark, cut short
                self._buffer = raw
                return _NO_CHUNKS
            self._fresh = False
            if raw.startswith(_BOM):
                raw = raw[3:]
        if b"\r" in raw or self._after_cr:
            if self._after_cr and raw[:1] == b"\n":
                raw = raw[1:]
            self._after_cr = raw[-1:] == b"\r"
            raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if self._buffer:
            raw = self._buffer + raw
        cut = raw.rfind(b"\n\n") + 2  # the events up to the last blank line are complete
        if cut < 2 or self.done:
            self._buffer = raw if not self.done else b""
            return _NO_CHUNKS
        self._buffer = raw[cut:]
        try:
            text = raw[:cut].decode()  # whole events, so no character is cut in two
        except UnicodeDecodeError:
            raise self._error("GigaChat sent a stream event that is not UTF-8.") from None
        return self._events(text)

    def _events(self, text: str) -> list[ChatChunk]:
        """The chunks of complete events. The usual event (one `data:` line of JSON text, after `event:
        response.message.delta` in v2) is parsed in place, with no copy and no per-line work; anything else
        (the final event, [DONE], errors, comments, multi-line data) takes the general field-by-field path."""
        chunks: list[ChatChunk] = []
        parts = self._parts
        v2 = self._v2
        prefix = _V2_DELTA if v2 else "data: "
        held_marks, held_markup = self._marks, self._markup
        skip = len(prefix)
        pos, size = 0, len(text)
        while pos < size:
            if text.startswith(prefix, pos):
                start = pos + skip
                try:
                    obj, end = _SCAN(text, start)
                except (StopIteration, ValueError):
                    end = -1
                # the value fills the line, the line ends the event, and it is a JSON object
                if end > 0 and text.find("\n", start) == end and text.startswith("\n", end + 1) and type(obj) is dict:
                    pos = end + 2
                    piece = _v2_text(obj) if v2 else _v1_text(obj)
                    # a plain delta: the hot path, unless its text may hold (or finish) markup that the full
                    # path rewrites: v1 image tags, v2 source markers
                    if piece is not None and not ((held_marks._held or "[" in piece) if v2
                                                  else (held_markup._held or "<" in piece)):
                        if piece:
                            parts.append(piece)
                            chunks.append(text_chunk(piece, obj.get("model")))
                        continue
                    chunk = self._v2_delta(obj) if v2 else self._v1_object(obj)
                    if chunk is not None:
                        chunks.append(chunk)
                    if self.done:
                        break
                    continue
            stop = text.find("\n\n", pos)  # found: the text ends with a blank line
            event, data = _fields(text[pos:stop])
            pos = stop + 2
            if data is not None:
                chunk = self._v2_event(event, data) if v2 else self._v1_event(data)
                if chunk is not None:
                    chunks.append(chunk)
                if self.done:
                    break  # anything after the final event is not part of the answer
        return chunks

    def finish(self) -> None:
        """The body ended: fine after the final event, a StreamError before it (an unfinished event is dropped)."""
        if not self.done:
            raise self._error("The stream ended before the answer was complete (no final event).")

    def _v1_event(self, data: str) -> ChatChunk | None:
        if data == "[DONE]":
            self.done = True
            return None
        return self._v1_object(self._json(data))

    def _emit(self, chunk: ChatChunk) -> ChatChunk:
        if chunk.text:
            self._parts.append(chunk.text)
        self._thought = self._thought or bool(chunk.reasoning)
        return chunk

    def _v1_object(self, obj: dict[str, Any]) -> ChatChunk | None:
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
            return self._emit(ChatChunk(text + self._markup.flush(), finish, usage_v1(obj.get("usage")),
                                        obj.get("model"), tuple(self._markup.files), self._state, reasoning,
                                        function_call=self._call))
        if text or reasoning:
            return self._emit(ChatChunk(text, None, None, obj.get("model"), reasoning=reasoning))
        return None

    def _v2_delta(self, obj: dict[str, Any]) -> ChatChunk | None:
        messages = obj.get("messages")
        self._note_v2(messages)
        text = self._marks.feed(text_v2(messages))
        reasoning = reasoning_v2(messages)
        if text or reasoning:
            return self._emit(ChatChunk(text, None, None, obj.get("model"), reasoning=reasoning))
        return None

    def _v2_event(self, event: str, data: str) -> ChatChunk | None:
        if event == "response.message.delta":
            return self._v2_delta(self._json(data))
        if event == "response.message.done":
            obj = self._json(data)
            self.done = True
            messages = obj.get("messages")
            self._note_v2(messages)
            return self._emit(ChatChunk(
                self._marks.feed(text_v2(messages)) + self._marks.flush(), obj.get("finish_reason") or "stop",
                usage_v2(obj.get("usage")), obj.get("model"), tuple(self._files), self._state,
                reasoning_v2(messages), tuple(self._sources.values()), function_call_v2(messages) or self._call))
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
            obj = _loads(data)
        except ValueError:
            raise self._error(f"GigaChat sent a malformed stream event ({_shown(data)}).") from None
        if not isinstance(obj, dict):
            raise self._error(f"GigaChat sent an unexpected stream event ({_shown(data)}).")
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


def _v1_text(obj: dict[str, Any]) -> str | None:
    """The text of a plain v1 delta event, or None when it is anything else (final, error, odd shape)."""
    choices = obj.get("choices")
    if type(choices) is list and choices:
        choice = choices[0]
        if type(choice) is dict and not choice.get("finish_reason"):
            delta = choice.get("delta")
            # only content (and the first delta's role): reasoning, a function call or a state id take the slow path
            if type(delta) is dict and (len(delta) == 1 or (len(delta) == 2 and "role" in delta)):
                text = delta.get("content")
                if type(text) is str:
                    return text
    return None


def _v2_text(obj: dict[str, Any]) -> str | None:
    """The text of a v2 delta that is one assistant message of text parts, or None (use text_v2)."""
    messages = obj.get("messages")
    if type(messages) is list and len(messages) == 1:
        message = messages[0]
        # only role and content (a state id takes the slow path), one part holding only text (not sources)
        if type(message) is dict and len(message) == 2 and message.get("role") == "assistant":
            content = message.get("content")
            if type(content) is list and len(content) == 1 and type(content[0]) is dict and len(content[0]) == 1:
                text = content[0].get("text")
                if type(text) is str:
                    return text
    return None


def _fields(block: str) -> tuple[str, str | None]:
    """An event's type and data (None: no data field, so nothing to dispatch), per the SSE spec's field rules."""
    event = ""
    data: list[str] = []
    for line in block.split("\n"):
        if not line or line[0] == ":":  # an extra blank line, or a comment (keep-alive)
            continue
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        # id:, retry: and unknown fields are ignored, as the spec says
    if not data:
        return event, None
    return event, data[0] if len(data) == 1 else "\n".join(data)


def _loads(data: str) -> Any:
    """json.loads without its per-call overhead: scan the value directly; anything unusual (surrounding
    whitespace, trailing text, an error) goes through the full decoder, which also words the error."""
    try:
        obj, end = _SCAN(data, 0)
    except (StopIteration, ValueError):
        return _DECODER.decode(data)
    return obj if end == len(data) else _DECODER.decode(data)


def _shown(data: str) -> str:
    return repr(data[:80])
