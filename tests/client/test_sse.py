"""The stream decoder against the SSE spec and GigaChat's real recordings, fed line by line."""

from __future__ import annotations

import json

import httpx
import pytest

from gigachat_mcp import ChatChunk, GigaChat, StreamError
from gigachat_mcp.client import _sse
from gigachat_mcp.client._sse import StreamDecoder

V1_RECORDING = (
    'data: {"choices":[{"delta":{"content":"Hello","role":"assistant"},"index":0}],"created":1768996178,'
    '"model":"GigaChat:2.0.28.2","object":"chat.completion"}\n\n'
    'data: {"choices":[{"delta":{"content":" world"},"index":0}],"created":1768996178,'
    '"model":"GigaChat:2.0.28.2","object":"chat.completion"}\n\n'
    'data: {"choices":[{"delta":{"content":""},"index":0,"finish_reason":"stop"}],"created":1768996178,'
    '"object":"chat.completion","usage":{"prompt_tokens":17,"completion_tokens":25,"total_tokens":42,'
    '"precached_prompt_tokens":2}}\n\n'
    "data: [DONE]\n\n"
)
V2_RECORDING = (
    'event: response.message.delta\ndata: {"model":"GigaChat-3-Ultra:32.3.18.5","created_at":1,'
    '"messages":[{"role":"assistant","content":[{"text":"1, 2, 3"}]}]}\n\n'
    "event: response.tool.completed\ndata: {}\n\n"
    'event: response.message.done\ndata: {"model":"GigaChat-3-Ultra:32.3.18.5","finish_reason":"stop",'
    '"usage":{"input_tokens":19,"input_tokens_details":{"prompt_tokens":19,"cached_tokens":4},'
    '"output_tokens":8,"total_tokens":27}}\n\n'
)


def decode(body: str, dialect: str = "v1", split: int = 0) -> tuple[list, StreamDecoder]:
    """Feed the body's bytes whole, or `split` bytes at a time (cutting lines, CRLFs and UTF-8 characters)."""
    decoder = StreamDecoder(dialect)
    data = body.encode()
    step = split or len(data)
    chunks = []
    for start in range(0, len(data), step):
        chunks.extend(decoder.feed(data[start:start + step]))
    return chunks, decoder


def test_v1_recording() -> None:
    chunks, decoder = decode(V1_RECORDING)
    assert [c.text for c in chunks] == ["Hello", " world", ""]
    assert chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage.precached_prompt_tokens == 2 and chunks[-1].usage.total_tokens == 42
    assert decoder.done


def test_v2_recording() -> None:
    chunks, decoder = decode(V2_RECORDING, "v2")
    assert [c.text for c in chunks] == ["1, 2, 3", ""]
    assert chunks[-1].usage.prompt_tokens == 19 and chunks[-1].usage.precached_prompt_tokens == 4
    assert decoder.done


def test_spec_details_comments_multiline_data_and_no_space() -> None:
    body = (": keep-alive comment\n\n"
            'data:{"choices":[{"delta":{"content":"a: b"},\n'
            'data: "index":0}]}\n'
            "id: 7\nretry: 1000\n\n"
            'data: {"choices":[{"delta":{"content":"c"},"index":0,"finish_reason":"stop"}]}\n\n')
    chunks, decoder = decode(body)
    assert [c.text for c in chunks] == ["a: b", "c"]  # content with ': ' survives (gigachat-js#12)
    assert decoder.done


def test_multiline_data_is_joined_with_a_line_break_even_inside_a_string() -> None:
    """The spec joins data lines with LF: split inside a string value, the break is part of the text
    (joining with "" would give "line oneline two"; dropping the second line would be malformed JSON)."""
    body = ('data: {"choices":[{"delta":{"content":"line one\n'
            'data: line two"},"index":0,"finish_reason":"stop"}]}\n\n')
    chunks, decoder = decode(body)
    assert [c.text for c in chunks] == ["line one\nline two"]
    assert decoder.done


def test_event_type_and_data_lines_are_fields_not_positions() -> None:
    """v2: an event whose `data:` comes before `event:`, with a comment and an id between, is still typed."""
    body = ('data: {"messages":[{"role":"assistant","content":[{"text":"hi"}]}]}\n: note\nid: 3\n'
            "event: response.message.delta\n\n"
            "data\n\n"  # a data field with no colon: empty data, an untyped event that carries nothing
            'event: response.message.done\ndata: {"finish_reason":"length"}\n\n')
    chunks, decoder = decode(body, "v2")
    assert [(c.text, c.finish_reason) for c in chunks] == [("hi", None), ("", "length")]
    assert decoder.done


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("split", [1, 2, 3, 7, 64])
def test_any_byte_split_and_line_ending_decodes_the_same(newline: str, split: int) -> None:
    """Bytes arrive cut anywhere: inside a CRLF, inside a multi-byte character, between an event's lines."""
    body = "\ufeff" + V1_RECORDING.replace("Hello", "Привет ✓").replace("\n", newline)
    chunks, decoder = decode(body, split=split)
    assert [c.text for c in chunks] == ["Привет ✓", " world", ""]
    assert chunks[-1].usage.total_tokens == 42
    assert decoder.done and decoder.partial_text == "Привет ✓ world"


def test_coalesced_events_in_one_read_come_out_in_order() -> None:
    deltas = "".join(f'data: {{"choices":[{{"delta":{{"content":"{i} "}},"index":0}}]}}\n\n' for i in range(64))
    chunks, decoder = decode(deltas + V1_RECORDING)
    assert "".join(c.text for c in chunks) == "".join(f"{i} " for i in range(64)) + "Hello world"
    assert decoder.done


def test_events_after_the_final_one_are_ignored() -> None:
    chunks, _ = decode(V1_RECORDING + 'data: {"choices":[{"delta":{"content":"late"},"index":0}]}\n\n')
    assert [c.text for c in chunks] == ["Hello", " world", ""]


def test_an_event_without_its_blank_line_is_not_dispatched() -> None:
    """The spec drops an unfinished event at the end of the body: the final event cut short is an error."""
    _, decoder = decode(V1_RECORDING.rsplit("\n\n", 2)[0] + "\n")  # [DONE] gone, the usage event unfinished
    with pytest.raises(StreamError, match="ended before the answer was complete") as caught:
        decoder.finish()
    assert caught.value.partial_text == "Hello world"


@pytest.mark.parametrize("bad", ["data: {not json\n\n", 'data: {"status_code": 500, "message": "boom"}\n\n',
                                 "data: [1, 2]\n\n"])
def test_malformed_and_error_events_raise_with_partial_text(bad: str) -> None:
    head = 'data: {"choices":[{"delta":{"content":"partial"},"index":0}]}\n\n'
    with pytest.raises(StreamError) as caught:
        decode(head + bad)
    assert caught.value.partial_text == "partial"


def test_v2_error_event_carries_its_status() -> None:
    with pytest.raises(StreamError) as caught:
        decode('event: error\ndata: {"status_code": 429, "message": "Too many requests"}\n\n', "v2")
    assert caught.value.status_code == 429 and "Too many requests" in str(caught.value)


def test_ending_without_final_event_is_an_error() -> None:
    _, decoder = decode('data: {"choices":[{"delta":{"content":"x"},"index":0}]}\n\n')
    with pytest.raises(StreamError, match="ended before the answer was complete"):
        decoder.finish()


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_client_streams_any_line_ending_through_httpx(newline: str) -> None:
    body = V1_RECORDING.replace("\n", newline).encode()

    def app(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    giga = GigaChat(base_url="http://gigachat.test/v1", access_token="t")
    giga._http = httpx.Client(transport=httpx.MockTransport(app))
    assert "".join(c.text for c in giga.stream("hi")) == "Hello world"


def test_decoded_chunks_are_ordinary_frozen_chunks() -> None:
    """The decoder's fast constructor makes the same value ChatChunk(...) does: equal, hashable, frozen."""
    import dataclasses

    chunks, _ = decode(V1_RECORDING)
    first = chunks[0]
    assert first == ChatChunk("Hello", None, None, "GigaChat:2.0.28.2")
    assert hash(first) == hash(ChatChunk("Hello", None, None, "GigaChat:2.0.28.2"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.text = "changed"  # type: ignore[misc]


# --- the stream decoder's fast path: the usual events never take the per-line field loop -----------------------

def test_one_line_events_are_scanned_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    slow: list[str] = []
    original = _sse._fields
    monkeypatch.setattr(_sse, "_fields", lambda block: slow.append(block) or original(block))
    objects: list[object] = []
    v1_object = StreamDecoder._v1_object
    monkeypatch.setattr(StreamDecoder, "_v1_object", lambda self, obj: objects.append(obj) or v1_object(self, obj))
    v1 = StreamDecoder("v1")
    assert [c.text for c in v1.feed(V1_RECORDING.encode())] == ["Hello", " world", ""]
    assert len(objects) == 1 and objects[0]["choices"][0]["finish_reason"] == "stop"  # deltas took the fast path
    assert slow == []  # the deltas and the final event were scanned in place ([DONE] is not needed after it)
    slow.clear()
    general: list[object] = []
    text_v2 = _sse.text_v2
    monkeypatch.setattr(_sse, "text_v2", lambda messages: general.append(messages) or text_v2(messages))
    v2 = StreamDecoder("v2")
    assert [c.text for c in v2.feed(V2_RECORDING.encode())] == ["1, 2, 3", ""]
    assert general == [None]  # only the final event (no messages) needed the general text reader
    assert [block.split("\n")[0] for block in slow] == ["event: response.tool.completed",
                                                        "event: response.message.done"]


def test_partial_text_includes_text_the_final_event_carries() -> None:
    decoder = StreamDecoder("v1")
    decoder.feed(b'data: {"choices":[{"delta":{"content":"one "},"index":0}]}\n\n'
                 b'data: {"choices":[{"delta":{"content":"two"},"index":0,"finish_reason":"stop"}]}\n\n')
    assert decoder.partial_text == "one two" and decoder.done
    v2 = StreamDecoder("v2")
    v2.feed(b'event: response.message.done\ndata: {"messages":[{"role":"assistant","content":[{"text":"all"}]}]}\n\n')
    assert v2.partial_text == "all" and v2.done


def test_a_malformed_event_is_quoted_in_the_error() -> None:
    with pytest.raises(StreamError, match=r"malformed stream event \('\{not json'\)"):
        StreamDecoder("v1").feed(b"data: {not json\n\n")


def test_v2_reasoning_is_not_answer_text() -> None:
    body = ('event: response.message.delta\ndata: {"messages":[{"role":"reasoning","content":[{"text":"hmm"}]}]}\n\n'
            'event: response.message.delta\ndata: {"messages":[{"role":"assistant","content":[{"text":"42"}]}]}\n\n'
            'event: response.message.done\ndata: {"finish_reason":"stop"}\n\n')
    chunks, decoder = decode(body, "v2")
    assert [(c.text, c.reasoning) for c in chunks] == [("", "hmm"), ("42", ""), ("", "")]  # thinking kept apart
    assert decoder.partial_text == "42"


def test_v2_delta_with_several_messages_keeps_all_their_text() -> None:
    body = ('event: response.message.delta\ndata: {"messages":[{"role":"assistant","content":[{"text":"a"}]},'
            '{"role":"assistant","content":[{"text":"b"}]}]}\n\n'
            'event: response.message.done\ndata: {"finish_reason":"stop"}\n\n')
    chunks, _ = decode(body, "v2")
    assert [c.text for c in chunks] == ["ab", ""]


def test_markup_split_over_plain_deltas_is_still_removed() -> None:
    """Plain deltas take the decoder's fast path; an image tag or a source marker split across them must not."""
    v1 = "".join(f'data: {{"choices":[{{"delta":{{"content":{json.dumps(piece)}}},"index":0}}]}}\n\n'
                 for piece in ["Вот кот: <im", 'g src="f-1" fuse', '="true"/> готово'])
    v1 += 'data: {"choices":[{"delta":{"content":""},"index":0,"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    chunks, decoder = decode(v1, "v1")
    assert "".join(c.text for c in chunks) == "Вот кот:  готово" and chunks[-1].files[0].id == "f-1"
    v2 = "".join('event: response.message.delta\ndata: {"messages":[{"role":"assistant","content":[{"text":'
                 f'{json.dumps(piece)}}}]}}]}}\n\n' for piece in ["Казань [sour", "ces=[1]] стоит"])
    v2 += ('event: response.message.delta\ndata: {"messages":[{"role":"assistant","content":[{"text":".",'
           '"inline_data":{"sources":{"1":{"url":"https://kazan.example","title":"Казань"}}}}]}]}\n\n'
           'event: response.message.done\ndata: {"finish_reason":"stop"}\n\n')
    chunks, decoder = decode(v2, "v2")
    assert "".join(c.text for c in chunks) == "Казань [1] стоит."
    assert [(s.title, s.url) for s in chunks[-1].sources] == [("Казань", "https://kazan.example")]
