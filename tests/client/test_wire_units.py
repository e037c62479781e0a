"""The pure request builders and response readers, on values the emulator never sends."""

from __future__ import annotations

import json

import pytest

from gigachat_mcp import AuthenticationError, FunctionCall, InvalidRequestError
from gigachat_mcp.client import _flows, _wire


def test_v2_usage_without_details_counts_no_cached_tokens() -> None:
    usage = _wire.usage_v2({"input_tokens": 19, "output_tokens": 8, "total_tokens": 27})
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens, usage.precached_prompt_tokens) == (
        19, 8, 27, 0)
    usage = _wire.usage_v1({"prompt_tokens": 17})
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens, usage.precached_prompt_tokens) == (
        17, 0, 0, 0)


@pytest.mark.parametrize("texts", [[], ["fine", 42], [None]])
def test_texts_must_be_a_non_empty_list_of_strings(texts: list) -> None:
    with pytest.raises(InvalidRequestError, match="texts must be a str or a non-empty list of str"):
        _wire.count_tokens_call("https://h/v1", texts, "GigaChat-2")


def test_bodies_are_compact_utf8_as_the_sdk_sends_them() -> None:
    call = _wire.chat_call("https://h/v1", "v1", "GigaChat-2", [{"role": "user", "content": "Привет, мир"}],
                           _wire.ChatOptions(), stream=False)
    assert call.body == '{"model":"GigaChat-2","messages":[{"role":"user","content":"Привет, мир"}],"stream":false}'.encode()


@pytest.mark.parametrize(("status", "body", "expected"), [
    (401, b'{"code": 6, "message": "credentials doesn\'t match db data"}',
     "(OAuth 401 code 6: credentials doesn't match db data). GigaChat does not know these credentials"),
    (401, b'{"message": "Unauthorized"}', "(OAuth 401: Unauthorized). GigaChat does not know these credentials"),
    (403, b"", "(OAuth 403). GigaChat does not know these credentials"),
    (400, b"", "(OAuth 400). The token request was malformed (a missing or invalid RqUID header)"),
    (418, b"", "(OAuth 418). Check GIGACHAT_AUTH_URL and GIGACHAT_CREDENTIALS."),
])
def test_oauth_errors_say_what_happened_and_the_fix(status: int, body: bytes, expected: str) -> None:
    error = _wire.oauth_error(status, body, {}, scope="GIGACHAT_API_PERS")
    assert isinstance(error, AuthenticationError) and error.status_code == status
    assert str(error).startswith("Could not get an access token ") and expected in str(error)


@pytest.mark.parametrize("message", [{"content": "no role"}, "just text"])
def test_a_message_needs_a_role(message: object) -> None:
    with pytest.raises(InvalidRequestError, match=r"messages\[0\] must be a dict with 'role' and 'content'"):
        _wire.normalise_messages([message], None)  # type: ignore[list-item]


@pytest.mark.parametrize(("base", "url"), [
    ("https://api.giga.chat/v1", "https://api.giga.chat/v2/chat/completions"),
    ("https://gigachat.devices.sberbank.ru/api/v1/", "https://gigachat.devices.sberbank.ru/api/v2/chat/completions"),
    ("https://proxy.example/gigachat", "https://proxy.example/gigachat/v2/chat/completions"),
    ("https://proxy.example/vault", "https://proxy.example/vault/v2/chat/completions"),
    ("https://proxy.example/v", "https://proxy.example/v/v2/chat/completions"),
])
def test_the_v2_url_replaces_only_a_version_suffix(base: str, url: str) -> None:
    assert _wire.v2_chat_url(base) == url


def test_extra_fields_reach_both_contracts() -> None:
    for version in ("v1", "v2"):
        call = _wire.chat_call("https://h/v1", version, "GigaChat-2", [{"role": "user", "content": "x"}],
                               _wire.ChatOptions(extra={"storage": {"limit": 3}}), stream=False)
        assert b'"storage":{"limit":3}' in (call.body or b""), version


def test_v1_usage_missing_or_partial_is_zeros() -> None:
    for data in (None, {}):
        usage = _wire.usage_v1(data)
        assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens,
                usage.precached_prompt_tokens) == (0, 0, 0, 0)
    assert _wire.usage_v1({"completion_tokens": 3}).prompt_tokens == 0


@pytest.mark.parametrize(("value", "seconds"), [("0", 0.0), ("2.5", 2.5), ("-1", None),
                                                ("Wed, 21 Oct 2015 07:28:00 GMT", None)])
def test_retry_after_in_seconds(value: str, seconds: float | None) -> None:
    assert _wire.retry_after_seconds({"retry-after": value}) == seconds
    assert _wire.retry_after_seconds({}) is None


def test_run_tools_refuses_a_call_it_cannot_run_and_tells_the_model_why() -> None:
    def weather(city: str) -> str:
        """The weather in a city."""
        return "sunny"

    tools = _wire.normalise_tools([weather])
    assert _flows.refusal(tools, FunctionCall("weather", {"city": "Omsk"})) is None
    unknown = _flows.refusal(tools, FunctionCall("stocks", {}))
    assert unknown is not None and (unknown["role"], unknown["name"]) == ("function", "stocks")
    assert json.loads(unknown["content"]) == {
        "error": "LookupError: there is no function 'stocks' to run; the functions are: weather", "function": "stocks"}
    garbled = _flows.refusal(tools, FunctionCall("weather", {"_raw": "{city: Omsk"}))
    assert garbled is not None and json.loads(garbled["content"]) == {
        "error": "ValueError: the arguments were not a JSON object", "function": "weather"}
    failed = _flows.result_message(FunctionCall("weather", {}), error=KeyError("city"))
    assert json.loads(failed["content"])["error"] == "KeyError: 'city'"
    assert json.loads(_flows.result_message(FunctionCall("weather", {}), value={"t": 3})["content"]) == {"t": 3}


def test_an_error_body_of_control_characters_stays_out_of_the_message() -> None:
    """A 503 whose body is NUL bytes (a broken proxy) gives a readable message, not 200 raw NULs."""
    from gigachat_mcp.client._wire import api_error

    error = api_error(503, b"\x00" * 200 + b"upstream\x07down", {})
    assert "\x00" not in str(error) and "\x07" not in str(error)
