"""A hostile or broken upstream (issue 17, point 7): whatever it sends, the client holds no more than the caps in
client/_limits.py and ends the call with a typed GigaChatError that says what came back.

Each case runs against a real HTTPS server on loopback (tests/client/hostile.py) that writes the bad bytes
itself: a line with no end, an answer with no end, a gzip bomb, an empty redirect, a nonsense expires_at.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gigachat_mcp import APIError, AsyncGigaChat, AuthenticationError, GigaChat, GigaChatError, StreamError
from gigachat_mcp.client._limits import MAX_EVENT_BYTES, MAX_STREAM_CHARS
from tests.client.hostile import MIB, Hostile, answer, endless, gzip_bomb, v1_delta, v2_delta

CHAT_V1 = "POST /v1/chat/completions"
CHAT_V2 = "POST /v2/chat/completions"
MODELS = "GET /v1/models"
OAUTH = "POST /oauth"
GOOD_CHAT = {"choices": [{"message": {"role": "assistant", "content": "fine"}, "index": 0, "finish_reason": "stop"}],
             "model": "GigaChat", "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    with Hostile() as server:
        yield server


def outcome(settings: dict[str, Any], call: str, use_async: bool) -> tuple[GigaChatError, str]:
    """Run `call` ("chat", "stream" or "models") on a sync or async client; the error it ended with, and the
    text of the chunks handed out before it. A call that succeeds fails the test."""
    seen: list[str] = []

    def sync() -> None:
        with GigaChat(**settings) as giga:
            if call == "stream":
                seen.extend(chunk.text for chunk in giga.stream("hi"))
            else:
                getattr(giga, call)(*(("hi",) if call == "chat" else ()))

    async def main() -> None:
        async with AsyncGigaChat(**settings) as giga:
            if call == "stream":
                async for chunk in giga.stream("hi"):
                    seen.append(chunk.text)
            else:
                await getattr(giga, call)(*(("hi",) if call == "chat" else ()))

    try:
        asyncio.run(main()) if use_async else sync()
    except GigaChatError as exc:
        return exc, "".join(seen)
    raise AssertionError(f"{call} succeeded against a hostile upstream")


def wait_for_reply_end(hostile: Hostile, route: str) -> None:
    deadline = time.monotonic() + 30
    while hostile.finished[route] + hostile.cut_short[route] < hostile.hits[route] and time.monotonic() < deadline:
        time.sleep(0.01)


SYNC_ASYNC = pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])


# --- a stream line or event with no end -----------------------------------------------------------------------

@pytest.mark.parametrize(("route", "version", "first", "piece", "use_async"), [
    (CHAT_V1, "v1", b"data: ", b"x" * 65536, False),
    (CHAT_V1, "v1", b"data: ", b"x" * 65536, True),
    (CHAT_V2, "v2", b"event: response.message.delta\ndata: ", b"y" * 65536, False),
    (CHAT_V1, "v1", b"", b"data: " + b"z" * 1000 + b"\n", False),  # lines, but never the blank line ending the event
], ids=["v1-line-sync", "v1-line-async", "v2-line-sync", "v1-lines-without-blank-line"])
def test_an_event_with_no_end_is_cut_at_the_event_cap(hostile: Hostile, route: str, version: str, first: bytes,
                                                       piece: bytes, use_async: bool) -> None:
    hostile.routes[route] = endless(piece, first=first, limit=4 * MAX_EVENT_BYTES)
    error, seen = outcome(hostile.settings(api_version=version), "stream", use_async)
    assert isinstance(error, StreamError)
    assert "GigaChat sent a stream event larger than 8 MiB (a line with no end" in str(error)
    assert "the most this client buffers; it stopped reading there" in str(error)
    assert error.partial_text == seen == ""
    wait_for_reply_end(hostile, route)
    assert hostile.cut_short[route] == 1  # the client went away long before the server's 32 MiB were out


def test_a_stream_gzip_bomb_is_inflated_in_steps_and_cut_at_the_event_cap(hostile: Hostile) -> None:
    hostile.routes[CHAT_V1] = answer(200, gzip_bomb(64 * MIB), {"Content-Encoding": "gzip",
                                                               "Content-Type": "text/event-stream"})
    error, _ = outcome(hostile.settings(), "stream", False)
    assert isinstance(error, StreamError)
    assert "larger than 8 MiB" in str(error)


# --- an answer with no end --------------------------------------------------------------------------------------

PIECE = "ж" * 4000  # Cyrillic, as most real answers are


@pytest.mark.parametrize(("route", "version", "delta", "use_async"), [
    (CHAT_V1, "v1", v1_delta(PIECE), False),
    (CHAT_V1, "v1", v1_delta(PIECE), True),
    (CHAT_V2, "v2", v2_delta(PIECE), False),
    (CHAT_V2, "v2", v2_delta(PIECE), True),
    (CHAT_V1, "v1", v1_delta("<" + PIECE), False),  # text that may hold image markup takes the general path
], ids=["v1-sync", "v1-async", "v2-sync", "v2-async", "v1-general-path"])
def test_an_answer_with_no_end_is_stopped_at_the_stream_cap(hostile: Hostile, route: str, version: str,
                                                             delta: bytes, use_async: bool) -> None:
    hostile.routes[route] = endless(delta, limit=64 * MIB)
    error, seen = outcome(hostile.settings(api_version=version), "stream", use_async)
    assert isinstance(error, StreamError)
    assert f"GigaChat's answer passed {MAX_STREAM_CHARS:,} characters of text and reasoning, the most one stream " \
           "may hold; the client stopped reading it." in str(error)
    assert error.partial_text == seen  # exactly what the caller was handed, no more
    assert MAX_STREAM_CHARS < len(seen) < MAX_STREAM_CHARS + 64 * 1024
    assert f"The {len(seen)} characters received so far are kept in .partial_text" in str(error)
    wait_for_reply_end(hostile, route)
    assert hostile.cut_short[route] == 1


def test_endless_reasoning_counts_toward_the_stream_cap(hostile: Hostile) -> None:
    hostile.routes[CHAT_V2] = endless(v2_delta(PIECE, role="reasoning"), limit=64 * MIB)
    thought = 0
    with GigaChat(**hostile.settings(api_version="v2")) as giga, pytest.raises(StreamError) as caught:
        for chunk in giga.stream("hi", reasoning_effort="high"):
            thought += len(chunk.reasoning)
    assert f"passed {MAX_STREAM_CHARS:,} characters of text and reasoning" in str(caught.value)
    assert MAX_STREAM_CHARS < thought < MAX_STREAM_CHARS + 64 * 1024
    assert caught.value.partial_text == ""


# --- bodies that are not what was asked for -------------------------------------------------------------------

@SYNC_ASYNC
def test_a_gzip_bomb_behind_models_is_refused_at_the_body_cap(hostile: Hostile, use_async: bool) -> None:
    hostile.routes[MODELS] = answer(200, gzip_bomb(64 * MIB), {"Content-Encoding": "gzip",
                                                              "Content-Type": "application/json"})
    error, _ = outcome(hostile.settings(), "models", use_async)
    assert type(error) is APIError and error.status_code == 200
    assert str(error).startswith("The answer to GET /v1/models was refused: it is larger than 32 MiB once "
                                 "decompressed, the most this client reads of a JSON answer; it stopped reading there.")
    assert hostile.headers[MODELS]["accept-encoding"] == "gzip, deflate"  # no br or zstd it cannot bound


def test_a_gzip_bomb_in_an_error_answer_is_read_only_as_far_as_its_message(hostile: Hostile) -> None:
    hostile.routes[MODELS] = answer(503, gzip_bomb(64 * MIB), {"Content-Encoding": "gzip"})
    error, _ = outcome(hostile.settings(), "models", False)
    assert type(error) is APIError and error.status_code == 503
    assert "GigaChat had a server error (503" in str(error)


def test_a_gzip_bomb_as_the_token_answer_is_an_authentication_error(hostile: Hostile) -> None:
    hostile.routes[OAUTH] = answer(200, gzip_bomb(64 * MIB), {"Content-Encoding": "gzip"})
    error, _ = outcome(hostile.settings(credentials="a2V5OnNlY3JldA=="), "chat", False)
    assert isinstance(error, AuthenticationError)
    assert "answered 200 but gave no usable token: it is larger than 64 KiB once decompressed" in str(error)
    assert hostile.hits[CHAT_V1] == 0


def test_an_encoding_the_client_did_not_ask_for_is_refused(hostile: Hostile) -> None:
    hostile.routes[MODELS] = answer(200, b"\x0b\x02\x80{}\x03", {"Content-Encoding": "br"})
    error, _ = outcome(hostile.settings(), "models", False)
    assert type(error) is APIError
    assert "it came with Content-Encoding 'br', which this client does not decode (it asks for gzip, deflate)" \
        in str(error)


@pytest.mark.parametrize(("call", "route"), [("chat", CHAT_V1), ("stream", CHAT_V1), ("models", MODELS)])
@SYNC_ASYNC
def test_an_empty_redirect_is_an_api_error_naming_where_it_points(hostile: Hostile, call: str, route: str,
                                                                  use_async: bool) -> None:
    hostile.routes[route] = answer(302, b"", {"Location": "https://elsewhere.example/v1/"})
    error, _ = outcome(hostile.settings(), call, use_async)
    assert type(error) is APIError and error.status_code == 302
    method, path = route.split()
    assert f"{method} {path} answered 302, a redirect to 'https://elsewhere.example/v1/'. The client does not " \
           "follow redirects" in str(error)
    assert "set GIGACHAT_BASE_URL" in str(error)
    assert hostile.hits[route] == 1


def test_a_redirect_of_the_token_request_is_an_authentication_error(hostile: Hostile) -> None:
    hostile.routes[OAUTH] = answer(307, b"", {"Location": "https://elsewhere.example/oauth"})
    error, _ = outcome(hostile.settings(credentials="a2V5OnNlY3JldA=="), "chat", False)
    assert isinstance(error, AuthenticationError) and error.status_code == 307
    assert "Could not get an access token (OAuth 307)" in str(error)


@pytest.mark.parametrize(("body", "content_type", "said"), [
    (b"", "application/json", "(200, application/json) was an empty body, not JSON."),
    (b"<html><body>Proxy login</body></html>", "text/html", "(200, text/html) was 37 bytes beginning "
                                                              "b'<html><body>Proxy login</body></html>', not JSON."),
    (b'{"data": 5}', "application/json", "was JSON of an unexpected shape (11 bytes beginning b'{\"data\": 5}'; "
                                         "TypeError: "),
    (b"[1, 2]", "application/json", "was JSON of an unexpected shape"),
])
def test_a_body_that_is_not_the_expected_json_is_an_api_error(hostile: Hostile, body: bytes, content_type: str,
                                                              said: str) -> None:
    hostile.routes[MODELS] = answer(200, body, {"Content-Type": content_type})
    error, _ = outcome(hostile.settings(), "models", False)
    assert type(error) is APIError and error.status_code == 200
    assert str(error).startswith("The answer to GET /v1/models ")
    assert said in str(error)
    assert "GIGACHAT_BASE_URL may not be the GigaChat API" in str(error)


def test_a_chat_answer_of_the_wrong_shape_is_an_api_error(hostile: Hostile) -> None:
    hostile.routes[CHAT_V1] = answer(200, {"choices": "none today"})
    error, _ = outcome(hostile.settings(), "chat", True)
    assert type(error) is APIError
    assert "The answer to POST /v1/chat/completions was JSON of an unexpected shape" in str(error)


def test_a_page_instead_of_a_stream_says_what_came(hostile: Hostile) -> None:
    hostile.routes[CHAT_V1] = answer(200, "<html>Sign in to the proxy</html>", {"Content-Type": "text/html"})
    error, _ = outcome(hostile.settings(), "stream", False)
    assert isinstance(error, StreamError)
    assert str(error) == ("The stream ended before the answer was complete (no final event). It sent no "
                          "server-sent events, only '<html>Sign in to the proxy</html>'.")


def test_a_stream_event_of_the_wrong_shape_is_a_stream_error(hostile: Hostile) -> None:
    hostile.routes[CHAT_V1] = answer(200, v1_delta("first ") + b'data: {"choices": "oops"}\n\n',
                                     {"Content-Type": "text/event-stream"})
    error, _ = outcome(hostile.settings(), "stream", False)
    assert isinstance(error, StreamError)
    assert "GigaChat sent a stream event of an unexpected shape (AttributeError: " in str(error)
    assert error.partial_text == "first "


# --- a token answer whose expires_at is nonsense --------------------------------------------------------------

BAD_EXPIRY = [
    (-5, "its expiry time (expires_at) is -5, not a time in milliseconds or seconds since 1970"),
    (float("nan"), "its expiry time (expires_at) is nan, not a time"),
    (float("inf"), "its expiry time (expires_at) is inf, not a time"),
    (True, "its expiry time (expires_at) is True, not a time"),
    (False, "its expiry time (expires_at) is False, not a time"),
    ("soon", "its expiry time (expires_at) is 'soon', not a time"),
    (1000, "its token expired at 1970-01-01 00:16:40 UTC, before now ("),
]


@pytest.mark.parametrize(("expires_at", "said"), BAD_EXPIRY, ids=[repr(v) for v, _ in BAD_EXPIRY])
@SYNC_ASYNC
def test_a_nonsense_expires_at_is_an_authentication_error_not_one_oauth_call_per_request(
        hostile: Hostile, expires_at: Any, said: str, use_async: bool) -> None:
    hostile.routes[OAUTH] = answer(200, {"access_token": "hostile.jwe.token", "expires_at": expires_at})
    hostile.routes[CHAT_V1] = answer(200, GOOD_CHAT)
    error, _ = outcome(hostile.settings(credentials="a2V5OnNlY3JldA=="), "chat", use_async)
    assert type(error) is AuthenticationError and error.status_code == 200
    assert str(error).startswith(f"The token endpoint {hostile.origin}/oauth answered 200 but gave no usable "
                                 f"token: {said}")
    assert "Check GIGACHAT_AUTH_URL" in str(error)
    assert "hostile.jwe.token" not in str(error)
    assert hostile.hits[OAUTH] == 1 and hostile.hits[CHAT_V1] == 0


@pytest.mark.parametrize(("body", "said"), [
    ({"access_token": 5, "expires_at": 0}, "the access token is not a string (it is of type int)"),
    ({"access_token": "", "expires_at": 0}, "the access token is missing or empty"),
    ({"token": "x"}, "there is no token in it"),
    ([1], "there is no token in it"),
    ("not json", "the answer is not JSON (b'not json')"),
])
def test_a_token_answer_without_a_usable_token_says_so(hostile: Hostile, body: Any, said: str) -> None:
    hostile.routes[OAUTH] = answer(200, body if isinstance(body, str) else json.dumps(body))
    error, _ = outcome(hostile.settings(credentials="a2V5OnNlY3JldA=="), "chat", False)
    assert type(error) is AuthenticationError
    assert f"gave no usable token: {said}." in str(error)


@SYNC_ASYNC
def test_a_sound_expires_at_still_means_one_oauth_call_for_many_requests(hostile: Hostile, use_async: bool) -> None:
    hostile.routes[OAUTH] = answer(200, {"access_token": "t", "expires_at": int((time.time() + 1800) * 1000)})
    hostile.routes[CHAT_V1] = answer(200, GOOD_CHAT)
    settings = hostile.settings(credentials="a2V5OnNlY3JldA==")

    async def three() -> list[str]:
        async with AsyncGigaChat(**settings) as giga:
            return [(await giga.chat("hi")).text for _ in range(3)]

    if use_async:
        texts = asyncio.run(three())
    else:
        with GigaChat(**settings) as giga:
            texts = [giga.chat("hi").text for _ in range(3)]
    assert texts == ["fine"] * 3
    assert hostile.hits[OAUTH] == 1 and hostile.hits[CHAT_V1] == 3
