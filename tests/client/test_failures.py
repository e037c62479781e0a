"""Failures: transient ones are absorbed without repeating anything; the rest are typed errors, quickly."""

from __future__ import annotations

import socket
import time

import pytest

from gigachat_mcp import (
    APIError,
    AuthenticationError,
    ConfigError,
    GigaChat,
    GigaChatConnectionError,
    GigaChatTimeoutError,
    RateLimitError,
    StreamError,
)
from gigachat_mcp.emulator import Emulator
from tests.helpers import async_client, sync_client

pytestmark = pytest.mark.anyio


TRANSIENT = {
    "429-retry-after": {"status": 429, "headers": {"Retry-After": "0.05"}},
    "429": {"status": 429},
    "500": {"status": 500},
    "503": {"status": 503},
    "reset-before-first-byte": {"drop": "before"},
}
CASES = [(name, fault, streaming) for name, fault in TRANSIENT.items() for streaming in (False, True)]
CASES.append(("error-event-before-any-text", {"event": "error", "after_chunks": 0, "status": 503}, True))


@pytest.mark.parametrize(("name", "fault", "streaming"), CASES, ids=[f"{c[0]}-{'stream' if c[2] else 'chat'}"
                                                                    for c in CASES])
def test_transient_faults_are_absorbed(emulator: Emulator, name: str, fault: dict, streaming: bool) -> None:
    emulator.add_fault("chat", **fault)
    with sync_client(emulator) as giga:
        expected = 'heard: "survive" '
        if streaming:
            chunks = list(giga.stream("survive [emulator words=5]"))
            text = "".join(c.text for c in chunks)
            assert text.count("GigaChat emulator") == 1  # nothing handed out twice
            assert chunks[-1].finish_reason == "stop"
        else:
            text = giga.chat("survive [emulator words=5]").text
    assert expected.strip() in text
    assert len(emulator.requests_to("chat")) == 2


def test_retry_after_is_honoured(emulator: Emulator) -> None:
    emulator.add_fault("chat", status=429, headers={"Retry-After": "0.4"})
    with sync_client(emulator) as giga:
        started = time.monotonic()
        giga.chat("patience")
        assert time.monotonic() - started >= 0.4


def test_retries_are_bounded_and_end_in_a_typed_error(emulator: Emulator) -> None:
    emulator.add_fault("chat", status=500, times=10)
    with sync_client(emulator, max_retries=2) as giga, pytest.raises(APIError) as caught:
        giga.chat("doomed")
    assert caught.value.status_code == 500
    assert "Try again later" in str(caught.value)
    assert len(emulator.requests_to("chat")) == 3


def test_long_retry_after_is_reported_not_waited(emulator: Emulator) -> None:
    emulator.add_fault("chat", status=429, headers={"Retry-After": "120"})
    with sync_client(emulator) as giga, pytest.raises(RateLimitError) as caught:
        giga.chat("hurry")
    assert caught.value.retry_after == 120 and caught.value.status_code == 429
    assert caught.value.message == "Too many requests"  # the server's own words, kept apart from ours
    assert "wait 120 s" in str(caught.value)
    assert len(emulator.requests_to("chat")) == 1


@pytest.mark.parametrize(("status", "message", "fragment"), [
    (400, "Your request contains invalid JSON syntax.", "could not read the request"),
    (402, "Payment Required", "balance for this model is exhausted"),
    (413, "Payload too large", "too large"),
    (422, "Invalid params: repetition_penalty must be in range (0, +inf)", "rejected the request parameters"),
])
def test_client_errors_are_not_retried(emulator: Emulator, status: int, message: str, fragment: str) -> None:
    emulator.add_fault("chat", status=status, message=message)
    with sync_client(emulator) as giga, pytest.raises(APIError) as caught:
        giga.chat("x")
    assert caught.value.status_code == status
    assert caught.value.message == message
    assert fragment in str(caught.value)
    assert len(emulator.requests_to("chat")) == 1


def test_unknown_model_is_named(giga: GigaChat) -> None:
    with pytest.raises(APIError) as caught:
        giga.chat("hi", model="GigaChat-9000")
    assert caught.value.status_code == 404
    assert "Model 'GigaChat-9000' does not exist" in str(caught.value)
    assert str(caught.value).endswith("List the models it offers with `client.models()`.")  # the Python way
    assert caught.value.unknown_model == "GigaChat-9000"
    on_a_surface = caught.value.message_for(list_models="`%gigachat models`")  # each front end names its own
    assert on_a_surface.startswith("Model 'GigaChat-9000' does not exist for this key (404 No such model).")
    assert on_a_surface.endswith("with `%gigachat models`.") and "client.models()" not in on_a_surface
    other = APIError("GigaChat answered 418.", status_code=418)
    assert other.message_for(list_models="x") == "GigaChat answered 418."


@pytest.mark.parametrize("api_version", ["v1", "v2"])
@pytest.mark.parametrize("fault", [{"drop": "mid"}, {"event": "error"}, {"event": "malformed"}])
def test_broken_stream_after_text_raises_with_the_partial_text(emulator: Emulator, api_version: str,
                                                              fault: dict) -> None:
    emulator.add_fault("chat", after_chunks=3, **fault)
    received = []
    with sync_client(emulator, api_version=api_version) as giga, pytest.raises(StreamError) as caught:
        for chunk in giga.stream("break [emulator words=30]"):
            received.append(chunk.text)
    assert len(received) == 3
    said = {"drop": "The stream broke", "event": "reported an error mid-stream", "malformed": "malformed stream event"}
    assert said["malformed" if fault.get("event") == "malformed" else next(iter(fault))] in str(caught.value)
    assert caught.value.partial_text == "".join(received)
    assert caught.value.partial_text.startswith("GigaChat emulator")
    assert len(emulator.requests_to("chat")) == 1  # never retried after text was handed out


async def test_async_broken_stream_keeps_partial_text(emulator: Emulator) -> None:
    emulator.add_fault("chat", after_chunks=2, drop="mid")
    received = []
    async with async_client(emulator) as giga:
        with pytest.raises(StreamError) as caught:
            async for chunk in giga.stream("break [emulator words=30]"):
                received.append(chunk.text)
    assert caught.value.partial_text == "".join(received) != ""


def test_stream_that_ends_without_final_event_is_an_error(emulator: Emulator) -> None:
    emulator.add_fault("chat", after_chunks=2, event="end")  # a complete HTTP body, but no final event
    received: list[str] = []
    with sync_client(emulator) as giga, pytest.raises(StreamError) as caught:
        for chunk in giga.stream("x [emulator words=20]"):
            received.append(chunk.text)
    assert len(received) == 2 and caught.value.partial_text == "".join(received)
    assert "ended before the answer was complete" in str(caught.value)
    assert [s.outcome for s in emulator.streams] == ["ended early"]


def test_stream_cut_after_a_stall_is_a_broken_stream(emulator: Emulator) -> None:
    emulator.add_fault("chat", after_chunks=2, stall=0.01)  # stalls briefly, then the connection ends mid-body
    with sync_client(emulator) as giga, pytest.raises(StreamError) as caught:
        list(giga.stream("x [emulator words=20]"))
    assert "The stream broke" in str(caught.value) and caught.value.partial_text.startswith("GigaChat emulator")


def test_stalled_stream_times_out_with_partial_text(emulator: Emulator) -> None:
    emulator.add_fault("chat", after_chunks=2, stall=30)
    with sync_client(emulator, timeout=0.5) as giga, pytest.raises(StreamError) as caught:
        started = time.monotonic()
        list(giga.stream("stall [emulator words=20]"))
    assert time.monotonic() - started < 5
    assert "Timed out after 0.5 s" in str(caught.value)
    assert caught.value.partial_text.startswith("GigaChat emulator")


def test_silent_server_is_a_read_timeout_in_bounded_time(emulator: Emulator) -> None:
    emulator.add_fault("chat", delay=30)
    with sync_client(emulator, timeout=0.5, max_retries=0) as giga, pytest.raises(GigaChatTimeoutError) as caught:
        started = time.monotonic()
        giga.chat("hello?")
    assert time.monotonic() - started < 3
    assert "Timed out after 0.5 s waiting for data from 127.0.0.1" in str(caught.value)
    assert "GIGACHAT_TIMEOUT" in str(caught.value)


def test_silent_listener_is_a_connect_timeout(tmp_path) -> None:
    """TCP is accepted (by the kernel's backlog) but the TLS handshake never gets an answer: connecting times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)  # accepts the TCP connection but never speaks TLS
    port = listener.getsockname()[1]
    try:
        with GigaChat(base_url=f"https://127.0.0.1:{port}/v1", access_token="t", timeout=0.5,
                      max_retries=0) as giga, pytest.raises(GigaChatTimeoutError) as caught:
            started = time.monotonic()
            giga.chat("anyone?")
        assert time.monotonic() - started < 3
        assert "Timed out after 0.5 s connecting to 127.0.0.1" in str(caught.value)
    finally:
        listener.close()


def test_connection_refused_is_retried_then_typed(tmp_path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens here now
    with GigaChat(base_url=f"https://127.0.0.1:{port}/v1", access_token="t", retry_backoff_factor=0.01) as giga:
        with pytest.raises(GigaChatConnectionError) as caught:
            giga.chat("hello")
    assert "Could not connect to 127.0.0.1" in str(caught.value)


@pytest.mark.parametrize(("credentials", "scope", "code", "fragment"), [
    ("bm90LXJlZ2lzdGVyZWQ6c2VjcmV0", "PERS", 6, "does not know these credentials"),
    ("%%%not-base64%%%", "PERS", 4, "could not be decoded"),
    (None, "B2B", 7, "does not belong to scope GIGACHAT_API_B2B"),
])
def test_oauth_failures_are_authentication_errors_with_the_fix(emulator: Emulator, credentials, scope, code,
                                                               fragment) -> None:
    overrides = {"scope": scope}
    if credentials:
        overrides["credentials"] = credentials
    with sync_client(emulator, **overrides) as giga, pytest.raises(AuthenticationError) as caught:
        giga.chat("hi")
    assert caught.value.code == code
    assert fragment in str(caught.value)
    assert emulator.requests_to("chat") == []
    assert (credentials or emulator.credentials) not in str(caught.value)


def test_oauth_host_429_and_5xx_are_retried(emulator: Emulator) -> None:
    emulator.add_fault("oauth", status=429, headers={"Retry-After": "0.05"})
    emulator.add_fault("oauth", status=503)
    with sync_client(emulator) as giga:
        assert "heard" in giga.chat("hi").text
    assert emulator.oauth_calls == 3


def test_missing_credentials_is_a_config_error_naming_the_variable(emulator: Emulator) -> None:
    with GigaChat(base_url=emulator.base_url, ca_bundle_file=emulator.ca_file) as giga:
        with pytest.raises(ConfigError, match="Set GIGACHAT_CREDENTIALS"):
            giga.chat("hi")
    assert emulator.requests == []


def test_rejected_fresh_token_blames_the_credentials(emulator: Emulator) -> None:
    emulator.add_fault("chat", status=401, times=2)
    with sync_client(emulator) as giga, pytest.raises(AuthenticationError, match="freshly issued token was rejected"):
        giga.chat("hi")
    assert emulator.oauth_calls == 2
    assert len(emulator.requests_to("chat")) == 2


def test_a_request_rejected_before_streaming_does_not_use_up_a_mid_stream_fault(emulator: Emulator) -> None:
    with sync_client(emulator) as giga:
        giga.chat("warm up")
        emulator.revoke_tokens()  # the next request is rejected (401) before any stream starts
        emulator.add_fault("chat", after_chunks=3, drop="mid")
        with pytest.raises(StreamError):
            list(giga.stream("break [emulator words=30]"))
    assert [s.outcome for s in emulator.streams] == ["dropped by fault"]


def test_a_transport_error_without_words_is_named_by_its_cause_or_its_type() -> None:
    import httpx

    from gigachat_mcp.client._http import transport_error

    bare = transport_error(httpx.ReadError(""), "https://api.example/v1", 5)
    assert str(bare) == "The connection to api.example failed (ReadError). It may work on a retry."
    caused = httpx.ReadError("")
    caused.__cause__ = ConnectionResetError("Connection reset by peer")
    assert "(Connection reset by peer)" in str(transport_error(caused, "https://api.example/v1", 5))
    refused = transport_error(httpx.ConnectError("[Errno 111] Connection refused"), "https://api.example/v1", 5)
    assert isinstance(refused, GigaChatConnectionError)
    assert str(refused).startswith("Could not connect to api.example ([Errno 111] Connection refused).")


async def test_async_client_errors_and_streams_cut_short_are_typed(emulator: Emulator) -> None:
    emulator.add_fault("chat", status=400, message="Your request contains invalid JSON syntax.")
    async with async_client(emulator) as giga:
        with pytest.raises(APIError) as caught:
            await giga.chat("x")
        assert caught.value.status_code == 400 and "could not read the request" in str(caught.value)
        emulator.add_fault("chat", after_chunks=2, event="end")
        received: list[str] = []
        with pytest.raises(StreamError, match="ended before the answer was complete") as broken:
            async for chunk in giga.stream("x [emulator words=20]"):
                received.append(chunk.text)
    assert len(received) == 2 and broken.value.partial_text == "".join(received)


def test_an_error_event_before_any_text_is_the_typed_error_of_its_status(emulator: Emulator) -> None:
    """A 400 error event is the service refusing the request: an APIError, not retried (a 5xx one is retried)."""
    emulator.add_fault("chat", event="error", after_chunks=0, status=400, message="Bad request")
    with sync_client(emulator) as giga, pytest.raises(APIError) as caught:
        list(giga.stream("x"))
    assert caught.value.status_code == 400 and not isinstance(caught.value, StreamError)
    assert len(emulator.requests_to("chat")) == 1


def test_a_stream_retry_waits_the_backoff_first(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from gigachat_mcp.client import _sync

    slept: list[float] = []
    monkeypatch.setattr(_sync, "time", SimpleNamespace(sleep=slept.append, perf_counter=time.perf_counter))
    emulator.add_fault("chat", event="error", after_chunks=0, status=503)
    with sync_client(emulator, retry_backoff_factor=0.5) as giga:
        assert "heard" in "".join(c.text for c in giga.stream("again"))
    assert len(slept) == 1 and 0.5 <= slept[0] <= 1.0


def test_close_closes_both_connections_and_the_client_still_works(emulator: Emulator) -> None:
    with sync_client(emulator) as giga:
        giga.chat("hi")
        api, oauth = giga._http, giga._auth._http
        assert api is not None and oauth is not None
        giga.close()
        assert api.is_closed and oauth.is_closed
        assert "heard" in giga.chat("again").text  # reconnects


async def test_async_close_closes_the_connection_and_is_safe_unused(emulator: Emulator) -> None:
    async with async_client(emulator) as unused:
        pass
    assert unused._http is None
    async with async_client(emulator) as giga:
        await giga.chat("hi")
        api = giga._http
    assert api is not None and api.is_closed
