"""Server-sent events to ChatChunks: a spec-following SSE decoder working on bytes, and the v1 / v2 dialects.

Fed the body's bytes as they arrive (any split, any of CR, LF and CRLF), so the same decoder serves the sync
and the async client. It works on whole events, not lines: a proxy or a loaded service delivers dozens of
events per read, and splitting bytes at blank lines in C costs far less than decoding and handling every line
in Python. v1 streams `data:` JSON until `data: [DONE]`, with finish_reason and usage in the last JSON event;
v2 streams named events until `response.message.done`. An error event or a malformed one raises StreamError
carrying the text handed out so far.

What a stream may make the client hold is bounded (see _limits): the bytes of an unfinished event (a line
with no end is one) up to MAX_EVENT_BYTES, kept as a list of pieces so that buffering stays linear; the
answer text and reasoning up to MAX_STREAM_CHARS; generated files and sources up to MAX_STREAM_ITEMS.
"""

from __future__ import annotations

import json
from typing import Any

from ._errors import StreamError
from ._limits import MAX_EVENT_BYTES, MAX_STREAM_CHARS, MAX_STREAM_ITEMS, size_text
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
_RUN = 4096  # text pieces joined into one string, so a stream of one-character deltas costs no more than its text
_SHAPE_ERRORS = (KeyError, IndexError, TypeError, AttributeError, ValueError)


class StreamDecoder:
    """Decodes one streamed answer; `done` once the final event arrived, `partial_text` at any time."""

    __slots__ = ("_pending", "_pending_size", "_after_cr", "_fresh", "_parts", "_v2", "done", "_markup", "_files",
                 "_state", "_thought", "_marks", "_sources", "_call", "_chars", "_runs", "_fault", "_seen")

    def __init__(self, dialect: str) -> None:
        self._pending: list[bytes] = []  # the start of an event whose blank line has not arrived; LF line ends
        self._pending_size = 0
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
        self._chars = 0  # characters of text and reasoning handed out
        self._runs = 0  # _parts[:_runs] are joined runs of _RUN pieces each
        self._fault: StreamError | None = None  # a cap passed while handing out chunks: raised on the next feed
        self._seen = False  # an event was completed

    @property
    def partial_text(self) -> str:
        return "".join(self._parts)

    @property
    def handed_out(self) -> bool:
        return bool(self._parts) or self._thought

    def feed(self, raw: bytes) -> list[ChatChunk]:
        """Take the next bytes of the body; return the chunks of the events they complete, in order. Linear in
        the bytes fed; StreamError once an unfinished event or the answer passes its cap (see _limits)."""
        if self._fault is not None:
            raise self._fault
        if not raw or self.done:
            return _NO_CHUNKS
        if self._fresh:
            raw = self._unmarked(raw)
        if b"\r" in raw or self._after_cr:
            if self._after_cr and raw[:1] == b"\n":
                raw = raw[1:]
            self._after_cr = raw[-1:] == b"\r"
            raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        pending = self._pending
        split = raw[:1] == b"\n" and bool(pending) and pending[-1][-1:] == b"\n"  # a blank line cut in two
        cut = raw.rfind(b"\n\n") + 2  # the events up to the last blank line are complete
        if cut < 2 and not split:
            return self._hold(raw)
        if pending:
            if self._pending_size + (1 if split else raw.find(b"\n\n") + 2) > MAX_EVENT_BYTES:
                raise self._too_big()
            head = b"".join(pending) + raw[:max(cut, 1)]
        else:
            head = raw[:cut]
        rest = raw[max(cut, 1):]
        self._pending, self._pending_size, self._seen = [rest] if rest else [], len(rest), True
        try:
            text = head.decode()  # whole events, so no character is cut in two
        except UnicodeDecodeError:
            raise self._error("GigaChat sent a stream event that is not UTF-8.") from None
        chunks: list[ChatChunk] = []
        try:
            self._events(text, chunks)
        except _SHAPE_ERRORS as exc:  # like a malformed event, at once: .partial_text has the events before it
            raise self._error(f"GigaChat sent a stream event of an unexpected shape ({type(exc).__name__}: "
                              f"{str(exc)[:80]}).") from None
        self._account(chunks)
        return chunks

    def _unmarked(self, raw: bytes) -> bytes:
        """The first bytes without a leading byte order mark, as the spec says (held back while it may be one)."""
        raw, self._pending, self._pending_size = b"".join(self._pending) + raw, [], 0
        if len(raw) < 3 and _BOM.startswith(raw):  # maybe a byte order mark, cut short
            self._pending, self._pending_size = [raw], len(raw)
            return b""
        self._fresh = False
        return raw[3:] if raw.startswith(_BOM) else raw

    def _hold(self, raw: bytes) -> list[ChatChunk]:
        """Keep bytes that complete no event, up to MAX_EVENT_BYTES: a list of pieces, never copied."""
        if raw:
            self._pending.append(raw)
            self._pending_size += len(raw)
            if self._pending_size > MAX_EVENT_BYTES:
                raise self._too_big()
        return _NO_CHUNKS

    def _account(self, chunks: list[ChatChunk]) -> None:
        """Check the stream's caps after handing out `chunks`; join small text pieces into runs."""
        parts = self._parts
        if len(parts) - self._runs > _RUN:
            parts[self._runs:] = ["".join(parts[self._runs:])]
            self._runs += 1
        if self._fault is not None:
            return
        if self._chars > MAX_STREAM_CHARS:
            self._stop(chunks, self._error(f"GigaChat's answer passed {MAX_STREAM_CHARS:,} characters of text and "
                                           "reasoning, the most one stream may hold; the client stopped reading it."))
        elif len(self._files) + len(self._sources) + len(self._markup.files) > MAX_STREAM_ITEMS:
            self._stop(chunks, self._error(f"GigaChat's answer named more than {MAX_STREAM_ITEMS:,} files and "
                                           "sources, the most one stream may hold; the client stopped reading it."))
        elif self._pending_size > MAX_EVENT_BYTES:
            self._stop(chunks, self._too_big())

    def _stop(self, chunks: list[ChatChunk], error: StreamError) -> None:
        """Raise `error` now or, when `chunks` are still to be handed out, on the next feed or at finish, so that
        .partial_text is exactly what the caller saw."""
        self._fault = error
        self._pending, self._pending_size = [], 0
        if not chunks:
            raise error

    def _too_big(self) -> StreamError:
        self._pending, self._pending_size = [], 0
        return self._error(self._too_big_message())

    @staticmethod
    def _too_big_message() -> str:
        return (f"GigaChat sent a stream event larger than {size_text(MAX_EVENT_BYTES)} (a line with no end, or "
                "lines with no blank line after them), the most this client buffers; it stopped reading there.")

    def fail(self, message: str) -> StreamError:
        """A StreamError carrying the text handed out so far, for failures found outside the decoder."""
        return self._error(message)

    def _events(self, text: str, chunks: list[ChatChunk]) -> None:
        """Append the chunks of complete events to `chunks`. The usual event (one `data:` line of JSON text, after `event:
        response.message.delta` in v2) is parsed in place, with no copy and no per-line work; anything else
        (the final event, [DONE], errors, comments, multi-line data) takes the general field-by-field path."""
        parts = self._parts
        v2 = self._v2
        prefix = _V2_DELTA if v2 else "data: "
        held_marks, held_markup = self._marks, self._markup
        skip = len(prefix)
        pos, size = 0, len(text)
        chars = 0
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
                            chars += len(piece)
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
        self._chars += chars

    def finish(self) -> None:
        """The body ended: fine after the final event, a StreamError before it (an unfinished event is dropped)."""
        if self._fault is not None:
            raise self._fault
        if not self.done:
            message = "The stream ended before the answer was complete (no final event)."
            if not self._seen and self._pending:
                message += f" It sent no server-sent events, only {_shown(self._pending[0][:80].decode('utf-8', 'replace'))}."
            raise self._error(message)

    def _v1_event(self, data: str) -> ChatChunk | None:
        if data == "[DONE]":
            self.done = True
            return None
        return self._v1_object(self._json(data))

    def _emit(self, chunk: ChatChunk) -> ChatChunk:
        self._chars += len(chunk.text) + len(chunk.reasoning)
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
