"""Response bodies read within the caps of _limits, and answers that are not what was asked for as typed errors.

httpx would inflate a gzip body one network read at a time, and one 64 KiB read of a gzip bomb is 64 MiB; so
bodies are read raw and inflated here in pieces of at most DECODE_PIECE_BYTES, counted as they come. A
redirect, an empty or non-JSON body and JSON of the wrong shape become APIErrors that say what came back.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx

from ._errors import APIError, GigaChatError
from ._limits import DECODE_PIECE_BYTES, MAX_BODY_BYTES, MAX_ERROR_BODY_BYTES, MAX_FILE_BYTES, size_text

__all__ = ["ACCEPT_ENCODING", "Inflater", "aread_answer", "aread_error_body", "aread_limited", "astream_pieces",
           "parse_answer", "read_answer", "read_error_body", "read_limited", "redirect_error", "stream_pieces"]

ACCEPT_ENCODING = "gzip, deflate"  # what Inflater decodes; httpx would also offer br and zstd when installed
Fail = Callable[[str], GigaChatError]


class Inflater:
    """Undoes a response's Content-Encoding (none, gzip or deflate) in pieces of at most DECODE_PIECE_BYTES."""

    __slots__ = ("_z", "_may_be_raw", "_fail")

    def __init__(self, encoding: str, fail: Fail) -> None:
        name = encoding.strip().lower()
        self._fail = fail
        self._may_be_raw = name == "deflate"  # some servers send raw deflate without the zlib header
        if name in ("", "identity"):
            self._z = None
        elif name in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif name == "deflate":
            self._z = zlib.decompressobj()
        else:
            raise fail(f"it came with Content-Encoding {encoding[:40]!r}, which this client does not decode "
                       f"(it asks for {ACCEPT_ENCODING})")

    def feed(self, data: bytes) -> Iterator[bytes]:
        z = self._z
        if z is None:
            if data:
                yield data  # httpcore reads at most 64 KiB at a time
            return
        first = data
        try:
            while True:
                out = z.decompress(data, DECODE_PIECE_BYTES)
                self._may_be_raw = False
                data = z.unconsumed_tail
                if out:
                    yield out
                if not data and len(out) < DECODE_PIECE_BYTES:
                    return
        except zlib.error:
            if not self._may_be_raw:
                raise self._fail("its gzip/deflate compression is corrupt") from None
        self._z, self._may_be_raw = zlib.decompressobj(-zlib.MAX_WBITS), False
        yield from self.feed(first)

    def flush(self) -> bytes:
        """The last bytes, once every read was fed whole; b"" for a body abandoned half-way, whose unread input
        flush() would inflate all at once."""
        z = self._z
        return b"" if z is None or z.unconsumed_tail else z.flush()


def _encoding(response: httpx.Response) -> str:
    """The Content-Encoding still to undo: none when httpx already holds the body (read, or built in memory)."""
    return "" if response.is_stream_consumed else response.headers.get("content-encoding", "")


def _raw(response: httpx.Response) -> Iterator[bytes]:
    return iter((response.content,)) if response.is_stream_consumed else response.iter_raw()


async def _araw(response: httpx.Response) -> AsyncIterator[bytes]:
    if response.is_stream_consumed:
        yield response.content
        return
    async for raw in response.aiter_raw():
        yield raw


class _Collector:
    """The bytes of a body up to `limit`: past it, `fail` (or, with `truncate`, the first `limit` bytes)."""

    __slots__ = ("_inflater", "_buffer", "_limit", "_fail", "_truncate", "_what", "_cut")

    def __init__(self, response: httpx.Response, limit: int, fail: Fail, truncate: bool, what: str) -> None:
        self._inflater = Inflater(_encoding(response), fail)
        self._buffer = bytearray()
        self._limit, self._fail, self._truncate, self._what = limit, fail, truncate, what
        self._cut = False  # truncated: the rest is never inflated

    def take(self, raw: bytes) -> bool:
        """Add one network read; False once the body is complete as far as it will be read."""
        return all(self._add(piece) for piece in self._inflater.feed(raw))

    def result(self) -> bytes:
        if not self._cut:
            self._add(self._inflater.flush())
        return bytes(self._buffer)

    def _add(self, piece: bytes) -> bool:
        room = self._limit - len(self._buffer)
        if len(piece) > room:
            if self._truncate:
                self._buffer += piece[:room]
                self._cut = True
                return False
            raise self._fail(f"it is larger than {size_text(self._limit)} once decompressed, the most this client "
                             f"reads of {self._what}; it stopped reading there")
        self._buffer += piece
        return True


def read_limited(response: httpx.Response, limit: int, fail: Fail, *, truncate: bool = False,
                 what: str = "such an answer") -> bytes:
    """The decompressed body of a streamed response, at most `limit` bytes (see _Collector)."""
    collector = _Collector(response, limit, fail, truncate, what)
    for raw in _raw(response):
        if not collector.take(raw):
            break
    return collector.result()


async def aread_limited(response: httpx.Response, limit: int, fail: Fail, *, truncate: bool = False,
                        what: str = "such an answer") -> bytes:
    collector = _Collector(response, limit, fail, truncate, what)
    async for raw in _araw(response):
        if not collector.take(raw):
            break
    return collector.result()


def _answer_limits(response: httpx.Response, raw: bool) -> tuple[int, Fail, str]:
    def fail(reason: str) -> GigaChatError:
        return _unexpected(response, f"The answer to {_label(response)} was refused: {reason}.")
    return (MAX_FILE_BYTES, fail, "a file") if raw else (MAX_BODY_BYTES, fail, "a JSON answer")


def read_answer(response: httpx.Response, *, raw: bool) -> bytes:
    """A success answer's body: a file (`raw`) up to MAX_FILE_BYTES, JSON up to MAX_BODY_BYTES."""
    limit, fail, what = _answer_limits(response, raw)
    return read_limited(response, limit, fail, what=what)


async def aread_answer(response: httpx.Response, *, raw: bool) -> bytes:
    limit, fail, what = _answer_limits(response, raw)
    return await aread_limited(response, limit, fail, what=what)


def _ignore_encoding(response: httpx.Response) -> Fail:
    def fail(reason: str) -> GigaChatError:  # an error answer with a body we cannot read: its status still says
        return _unexpected(response, f"The error answer to {_label(response)} could not be read: {reason}.")
    return fail


def read_error_body(response: httpx.Response) -> bytes:
    """The first MAX_ERROR_BODY_BYTES of an error answer (its message is all that is used); b"" if unreadable."""
    try:
        return read_limited(response, MAX_ERROR_BODY_BYTES, _ignore_encoding(response), truncate=True)
    except APIError:
        return b""


async def aread_error_body(response: httpx.Response) -> bytes:
    try:
        return await aread_limited(response, MAX_ERROR_BODY_BYTES, _ignore_encoding(response), truncate=True)
    except APIError:
        return b""


def stream_pieces(response: httpx.Response, fail: Fail) -> Iterator[bytes]:
    """A streamed answer's decompressed bytes, in pieces of at most DECODE_PIECE_BYTES."""
    inflater = Inflater(_encoding(response), _stream_fail(fail))
    for raw in _raw(response):
        yield from inflater.feed(raw)
    yield inflater.flush()


async def astream_pieces(response: httpx.Response, fail: Fail) -> AsyncIterator[bytes]:
    inflater = Inflater(_encoding(response), _stream_fail(fail))
    async for raw in _araw(response):
        for piece in inflater.feed(raw):
            yield piece
    yield inflater.flush()


def _stream_fail(fail: Fail) -> Fail:
    return lambda reason: fail(f"GigaChat's stream could not be read: {reason}.")


def parse_answer(response: httpx.Response, body: bytes, parse: Callable[[Any], Any], *, raw: bool) -> Any:
    """`parse` applied to the answer; an answer that is not JSON, or JSON `parse` cannot read, is an APIError."""
    if raw:
        return parse(body)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        kind = response.headers.get("content-type") or "no Content-Type"
        raise _unexpected(response, f"The answer to {_label(response)} ({response.status_code}, {kind}) was "
                                    f"{_described(body)}, not JSON. {_NOT_GIGACHAT}") from None
    try:
        return parse(data)
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        raise _unexpected(response, f"The answer to {_label(response)} was JSON of an unexpected shape "
                                    f"({_described(body)}; {type(exc).__name__}: {str(exc)[:80]}). "
                                    f"{_NOT_GIGACHAT}") from None


def redirect_error(response: httpx.Response) -> APIError:
    """A 3xx: never followed, since it could carry the access token to another host."""
    location = response.headers.get("location")
    to = f" to {location[:200]!r}" if location else " with no Location"
    return _unexpected(response, f"{_label(response)} answered {response.status_code}, a redirect{to}. The client "
                                 "does not follow redirects (they could carry the access token elsewhere): if that "
                                 "address is GigaChat's, set GIGACHAT_BASE_URL (or GIGACHAT_AUTH_URL) to it.")


_NOT_GIGACHAT = ("The address in GIGACHAT_BASE_URL may not be the GigaChat API (a proxy's page, or a wrong "
                 "address), or it is failing.")


def _unexpected(response: httpx.Response, message: str) -> APIError:
    return APIError(message, status_code=response.status_code)


def _label(response: httpx.Response) -> str:
    request = response.request
    return f"{request.method} {request.url.path}"


def _described(body: bytes) -> str:
    if not body.strip():
        return "an empty body" if not body else "blank"
    return f"{len(body)} bytes beginning {body[:60]!r}"
