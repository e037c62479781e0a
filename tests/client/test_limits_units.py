"""The caps of client/_limits.py at the unit level: the inflater's bounded steps, and the stream decoder's event
and answer caps at their exact edges (shrunk with monkeypatch so each case is a few bytes)."""

from __future__ import annotations

import json
import zlib

import pytest

from gigachat_mcp import APIError, StreamError
from gigachat_mcp.client import _sse
from gigachat_mcp.client._body import Inflater
from gigachat_mcp.client._limits import DECODE_PIECE_BYTES, MAX_EVENT_BYTES, size_text
from gigachat_mcp.client._sse import StreamDecoder


def fail(reason: str) -> APIError:
    return APIError(f"refused: {reason}", status_code=200)


def packed(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(("encoding", "wbits"), [("gzip", zlib.MAX_WBITS | 16), ("deflate", zlib.MAX_WBITS),
                                                 ("deflate", -zlib.MAX_WBITS)], ids=["gzip", "deflate", "raw-deflate"])
def test_the_inflater_undoes_each_encoding_in_bounded_steps(encoding: str, wbits: int) -> None:
    data = bytes(5 * DECODE_PIECE_BYTES + 17)  # 1000:1 on the wire: one read would inflate to all of it
    inflater = Inflater(encoding, fail)
    pieces = list(inflater.feed(packed(data, wbits))) + [inflater.flush()]
    assert b"".join(pieces) == data
    assert max(len(p) for p in pieces) == DECODE_PIECE_BYTES


def test_the_inflater_refuses_corrupt_data_and_unknown_encodings() -> None:
    with pytest.raises(APIError, match="refused: its gzip/deflate compression is corrupt"):
        list(Inflater("gzip", fail).feed(b"not gzip at all"))
    with pytest.raises(APIError, match="Content-Encoding 'zstd', which this client does not decode"):
        Inflater("zstd", fail)
    assert list(Inflater("identity", fail).feed(b"as is")) == [b"as is"]


def test_caps_read_as_people_write_them() -> None:
    assert (size_text(MAX_EVENT_BYTES), size_text(64 * 1024), size_text(1000)) == ("8 MiB", "64 KiB", "1000 bytes")


def delta(text: str) -> bytes:
    return b"data: " + json.dumps({"choices": [{"delta": {"content": text}, "index": 0}]}).encode() + b"\n\n"


@pytest.mark.parametrize("step", [1, 7, 40])
def test_an_event_of_exactly_the_cap_passes_and_one_byte_more_does_not(monkeypatch: pytest.MonkeyPatch,
                                                                        step: int) -> None:
    """The cap applies to what is buffered between reads; the client feeds at most DECODE_PIECE_BYTES (64 KiB)
    at a time, so an event past the 8 MiB cap is always buffered first."""
    event = delta("x" * 50)
    monkeypatch.setattr(_sse, "MAX_EVENT_BYTES", len(event))
    for body, fits in ((event, True), (delta("x" * 51), False)):
        decoder = StreamDecoder("v1")
        chunks = []
        try:
            for start in range(0, len(body), step):  # the blank line may be cut in two between feeds
                chunks += decoder.feed(body[start:start + step])
        except StreamError as error:
            assert not fits and "larger than" in str(error)
        else:
            assert fits and [c.text for c in chunks] == ["x" * 50]


def test_a_passed_answer_cap_hands_out_the_read_first_then_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sse, "MAX_STREAM_CHARS", 10)
    decoder = StreamDecoder("v1")
    handed = [c.text for c in decoder.feed(delta("abcdef") + delta("ghijkl"))]
    assert handed == ["abcdef", "ghijkl"]  # this read's chunks go out...
    with pytest.raises(StreamError, match="passed 10 characters") as caught:
        decoder.feed(delta("more"))  # ...and the next read (or the end of the body) raises
    assert caught.value.partial_text == "abcdefghijkl"
    with pytest.raises(StreamError, match="passed 10 characters"):
        decoder.finish()


def test_many_tiny_deltas_are_joined_so_they_cost_no_more_than_their_text() -> None:
    decoder = StreamDecoder("v1")
    text = []
    for _ in range(3):
        body = b"".join(delta(chr(0x430 + (i % 32))) for i in range(5000))
        decoder.feed(body)
        text.append("".join(chr(0x430 + (i % 32)) for i in range(5000)))
    assert decoder.partial_text == "".join(text)
    assert len(decoder._parts) <= 3  # one joined run per read here, not 15,000 one-character strings


def test_too_many_files_end_the_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sse, "MAX_STREAM_ITEMS", 3)
    decoder = StreamDecoder("v1")
    tags = "".join(f'<img src="f{i}" fuse="true"/>' for i in range(4))
    with pytest.raises(StreamError, match="named more than 3 files and sources"):
        decoder.feed(delta(tags))


def test_an_abandoned_inflater_leaves_the_rest_of_a_bomb_uninflated() -> None:
    """An error answer is read only as far as its message: flush() must not inflate the unread rest at once."""
    inflater = Inflater("gzip", fail)
    pieces = inflater.feed(packed(bytes(100 * DECODE_PIECE_BYTES), zlib.MAX_WBITS | 16))
    assert len(next(pieces)) == DECODE_PIECE_BYTES
    assert inflater.flush() == b""
