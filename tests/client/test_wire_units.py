"""The pure request builders and response readers, on values the emulator never sends."""

from __future__ import annotations

import pytest

from gigachat_mcp import AuthenticationError, InvalidRequestError
from gigachat_mcp.client import _wire


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
