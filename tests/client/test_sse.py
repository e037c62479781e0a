"""The stream decoder against the SSE spec and GigaChat's real recordings, fed line by line."""

from __future__ import annotations

import httpx
import pytest

from gigachat_mcp import GigaChat, StreamError
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


def decode(body: str, dialect: str = "v1") -> tuple[list, StreamDecoder]:
    decoder = StreamDecoder(dialect)
    chunks = []
    for line in body.replace("\r\n", "\n").split("\n"):
        chunk = decoder.feed(line)
        if chunk is not None:
            chunks.append(chunk)
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
