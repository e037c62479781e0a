"""Pure request builders and response parsers for the GigaChat API (v1 and v2 chat contracts).

Nothing here does I/O, so the sync and async clients share every byte of it. A `Call` is one request plus
how to read its answer; the clients only send it.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from ._errors import APIError, AuthenticationError, InvalidRequestError, RateLimitError
from ._tokens import Token
from ._types import ChatResult, Model, TokenCount, Usage

__all__ = ["Call", "ChatOptions", "api_error", "chat_call", "oauth_error", "parse_oauth"]

ROLES = frozenset({"system", "user", "assistant", "function", "search_result", "function_in_progress"})
JSON_HEADERS = MappingProxyType({"Content-Type": "application/json", "Accept": "application/json"})
GET_HEADERS = MappingProxyType({"Accept": "application/json"})  # no body, so no Content-Type (as the SDK sends)
STREAM_HEADERS = MappingProxyType(
    {"Content-Type": "application/json", "Accept": "text/event-stream", "Cache-Control": "no-store"}
)


@dataclass(frozen=True, slots=True)
class Call:
    """One API request and the function that turns its JSON answer into a result."""

    method: str
    url: str
    parse: Callable[[Any], Any]
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: JSON_HEADERS)
    stream: str | None = None  # "v1" or "v2": the SSE dialect to decode
    model: str | None = None  # named in a 404's message


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """Generation settings shared by both contracts; None means 'the model's default'."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    repetition_penalty: float | None = None
    profanity_check: bool | None = None
    update_interval: float | None = None
    extra: Mapping[str, Any] | None = None

    def check(self) -> None:
        _check_number("temperature", self.temperature, low=0.0)
        _check_number("top_p", self.top_p, low=0.0, high=1.0)
        _check_number("repetition_penalty", self.repetition_penalty, low=0.0, open_low=True)
        _check_number("update_interval", self.update_interval, low=0.0)
        if self.max_tokens is not None and (isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int)
                                            or self.max_tokens < 1):
            raise InvalidRequestError(f"max_tokens must be a whole number of 1 or more, not {self.max_tokens!r}.")


def _check_number(name: str, value: Any, *, low: float, high: float | None = None, open_low: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidRequestError(f"{name} must be a finite number, not {value!r}.")
    if value < low or (open_low and value == low) or (high is not None and value > high):
        bounds = f"{'above' if open_low else 'at least'} {low}" + (f" and at most {high}" if high is not None else "")
        raise InvalidRequestError(f"{name} must be {bounds}, not {value!r}.")


# --- messages --------------------------------------------------------------------------------------------------

def normalise_messages(prompt: str | Sequence[Mapping[str, Any]], system: str | None) -> list[dict[str, Any]]:
    """A str is one user message; a list is [{role, content}]; `system` becomes the first message."""
    messages: list[dict[str, Any]]
    if isinstance(prompt, str):
        messages = [{"role": "user", "content": prompt}]
    elif isinstance(prompt, Sequence):
        messages = [_checked_message(i, m) for i, m in enumerate(prompt)]  # type: ignore[arg-type]
    else:
        raise InvalidRequestError(f"prompt must be a str or a list of {{role, content}} dicts, not {type(prompt).__name__}.")
    if not messages:
        raise InvalidRequestError("messages is empty: pass a prompt or at least one message.")
    if system is not None:
        if messages[0]["role"] == "system":
            raise InvalidRequestError("Pass the system prompt either as system= or as the first message, not both.")
        messages.insert(0, {"role": "system", "content": system})
    if any(m["role"] == "system" for m in messages[1:]):
        raise InvalidRequestError("Only one system message is allowed, and it must come first.")
    return messages


def _checked_message(index: int, message: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(message, Mapping) or "role" not in message:
        raise InvalidRequestError(f"messages[{index}] must be a dict with 'role' and 'content'.")
    if message["role"] not in ROLES:
        raise InvalidRequestError(
            f"messages[{index}] has role {message['role']!r}; use one of system, user, assistant, function."
        )
    content = message.get("content", "")
    if not isinstance(content, str):
        raise InvalidRequestError(f"messages[{index}]['content'] must be a str.")
    return {**message, "content": content}


# --- chat ------------------------------------------------------------------------------------------------------

def chat_call(
    base_url: str, api_version: str, model: str, messages: list[dict[str, Any]], options: ChatOptions, *, stream: bool
) -> Call:
    options.check()
    if api_version == "v2":
        body = _chat_body_v2(model, messages, options, stream)
        url, parse = v2_chat_url(base_url), parse_chat_v2
    else:
        body = _chat_body_v1(model, messages, options, stream)
        url, parse = base_url + "/chat/completions", parse_chat_v1
    return Call(
        "POST",
        url,
        parse,
        body=_dumps(body),
        headers=STREAM_HEADERS if stream else JSON_HEADERS,
        stream=api_version if stream else None,
        model=model,
    )


def v2_chat_url(base_url: str) -> str:
    """The v2 ("primary") contract lives beside v1: .../v1 becomes .../v2/chat/completions."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    head, _, last = path.rpartition("/")
    if last[:1] == "v" and last[1:].isdigit():
        path = head
    return urlunsplit(parts._replace(path=path + "/v2/chat/completions"))


def _chat_body_v1(model: str, messages: list[dict[str, Any]], o: ChatOptions, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": messages, "stream": stream}
    for name in ("temperature", "top_p", "max_tokens", "repetition_penalty", "profanity_check", "update_interval"):
        value = getattr(o, name)
        if value is not None:
            body[name] = value
    if o.extra:
        body.update(o.extra)
    return body


def _chat_body_v2(model: str, messages: list[dict[str, Any]], o: ChatOptions, stream: bool) -> dict[str, Any]:
    converted = []
    for message in messages:
        extra = {k: v for k, v in message.items() if k not in ("role", "content")}
        converted.append({"role": message["role"], "content": [{"text": message["content"]}], **extra})
    body: dict[str, Any] = {"model": model, "messages": converted, "stream": stream}
    model_options = {
        name: getattr(o, name)
        for name in ("temperature", "top_p", "max_tokens", "repetition_penalty", "update_interval")
        if getattr(o, name) is not None
    }
    if model_options:
        body["model_options"] = model_options
    if o.profanity_check is not None:
        body["disable_filter"] = not o.profanity_check
    if o.extra:
        body.update(o.extra)
    return body


def parse_chat_v1(data: Any) -> ChatResult:
    choice = data["choices"][0]
    return ChatResult(
        text=choice["message"].get("content") or "",
        model=data.get("model", ""),
        finish_reason=choice.get("finish_reason"),
        usage=usage_v1(data.get("usage")),
    )


def parse_chat_v2(data: Any) -> ChatResult:
    return ChatResult(
        text=text_v2(data.get("messages")),
        model=data.get("model", ""),
        finish_reason=data.get("finish_reason"),
        usage=usage_v2(data.get("usage")),
    )


def text_v2(messages: Any) -> str:
    """The answer text of v2 messages; reasoning messages and non-text parts are left out."""
    if not messages:
        return ""
    parts: list[str] = []
    for message in messages:
        if message.get("role", "assistant") == "assistant":
            parts.extend(part["text"] for part in message.get("content") or () if "text" in part)
    return "".join(parts)


def usage_v1(data: Any) -> Usage:
    if not data:
        return Usage()
    return Usage(
        prompt_tokens=data.get("prompt_tokens", 0),
        completion_tokens=data.get("completion_tokens", 0),
        total_tokens=data.get("total_tokens", 0),
        precached_prompt_tokens=data.get("precached_prompt_tokens", 0),
    )


def usage_v2(data: Any) -> Usage:
    if not data:
        return Usage()
    details = data.get("input_tokens_details") or {}
    return Usage(
        prompt_tokens=data.get("input_tokens", 0),
        completion_tokens=data.get("output_tokens", 0),
        total_tokens=data.get("total_tokens", 0),
        precached_prompt_tokens=details.get("cached_tokens", 0),
    )


# --- other endpoints -------------------------------------------------------------------------------------------

def models_call(base_url: str) -> Call:
    return Call("GET", base_url + "/models", _parse_models, headers=GET_HEADERS)


def _parse_models(data: Any) -> list[Model]:
    return [Model(m["id"], m.get("owned_by", ""), m.get("type", "chat")) for m in data.get("data", ())]


def count_tokens_call(base_url: str, texts: Sequence[str], model: str) -> Call:
    return _texts_call(base_url + "/tokens/count", texts, model, _parse_token_counts)


def _parse_token_counts(data: Any) -> list[TokenCount]:
    return [TokenCount(item["tokens"], item.get("characters", 0)) for item in data]


def embeddings_call(base_url: str, texts: Sequence[str], model: str) -> Call:
    return _texts_call(base_url + "/embeddings", texts, model, _parse_embeddings)


def _parse_embeddings(data: Any) -> list[list[float]]:
    return [item["embedding"] for item in sorted(data["data"], key=lambda item: item.get("index", 0))]


def _texts_call(url: str, texts: Sequence[str] | str, model: str, parse: Callable[[Any], Any]) -> Call:
    items = [texts] if isinstance(texts, str) else list(texts)
    if not items or not all(isinstance(t, str) for t in items):
        raise InvalidRequestError("texts must be a str or a non-empty list of str.")
    return Call("POST", url, parse, body=_dumps({"model": model, "input": items}), model=model)


def balance_call(base_url: str) -> Call:
    return Call("GET", base_url + "/balance", lambda data: {b["usage"]: b["value"] for b in data.get("balance", ())},
                headers=GET_HEADERS)


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


# --- authentication --------------------------------------------------------------------------------------------

def oauth_request(auth_url: str, credentials: str, scope: str) -> tuple[str, dict[str, str], bytes]:
    """POST auth_url with Basic <key>, an RqUID and scope=...: the authorization-key flow."""
    headers = {
        "Authorization": f"Basic {credentials}",
        "RqUID": str(uuid.uuid4()),
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    return auth_url, headers, f"scope={quote(scope)}".encode()


def password_token_url(base_url: str) -> str:
    return base_url + "/token"


def parse_oauth(data: Any) -> Token:
    """{access_token, expires_at} from /api/v2/oauth, or {tok, exp} from /token; expiry in ms or s."""
    if "access_token" in data:
        return Token.from_expiry(data["access_token"], data.get("expires_at"))
    return Token.from_expiry(data["tok"], data.get("exp"))


_OAUTH_HINTS = {
    1: "GIGACHAT_SCOPE is not valid: use GIGACHAT_API_PERS, GIGACHAT_API_B2B or GIGACHAT_API_CORP.",
    4: "GIGACHAT_CREDENTIALS could not be decoded. Paste the authorization key exactly as the Studio shows it "
       "(base64 of client_id:client_secret).",
    5: "The scope is empty: set GIGACHAT_SCOPE (PERS, B2B or CORP).",
    6: "GigaChat does not know these credentials: check GIGACHAT_CREDENTIALS, or make a new key in the Studio "
       "if it was revoked.",
    7: "The key does not belong to scope {scope}. Set GIGACHAT_SCOPE to your project's scope: PERS for "
       "individuals, B2B for prepaid business, CORP for pay-as-you-go business.",
}


def oauth_error(status: int, body: bytes, headers: Mapping[str, str], *, scope: str) -> Exception:
    """The typed error for a failed token request, with the fix for each OAuth error code."""
    data = _json_or_empty(body)
    code = data.get("code") if isinstance(data.get("code"), int) else None
    message = str(data.get("message") or data.get("error") or "").strip()
    if status == 429:
        return RateLimitError(
            "Too many token requests (429 from the OAuth host; the limit is 10 per second). Wait a moment and retry.",
            server_message=message,
            retry_after=retry_after_seconds(headers),
        )
    if status >= 500:
        return APIError(f"The OAuth host failed ({status} {message or 'server error'}). Try again shortly.",
                        status_code=status, server_message=message)
    detail = f"OAuth {status}" + (f" code {code}" if code is not None else "") + (f": {message}" if message else "")
    if code in _OAUTH_HINTS:
        hint = _OAUTH_HINTS[code].format(scope=scope)
    elif status == 400:
        hint = "The token request was malformed (a missing or invalid RqUID header). Check GIGACHAT_AUTH_URL."
    elif status in (401, 403):
        hint = _OAUTH_HINTS[6]
    else:
        hint = "Check GIGACHAT_AUTH_URL and GIGACHAT_CREDENTIALS."
    return AuthenticationError(f"Could not get an access token ({detail}). {hint}", status_code=status,
                               server_message=message, code=code)


# --- API errors ------------------------------------------------------------------------------------------------

def api_error(status: int, body: bytes, headers: Mapping[str, str], *, model: str | None = None) -> APIError:
    """The typed error for an API error answer ({status, message} body), with what to do next."""
    data = _json_or_empty(body)
    message = str(data.get("message") or "").strip() or _short_text(body)
    said = f"{status} {message}".strip()
    if status == 401:
        return AuthenticationError(f"GigaChat rejected the access token ({said}).", server_message=message)
    if status == 429:
        after = retry_after_seconds(headers)
        wait = f" The server asks to wait {after:g} s." if after else ""
        return RateLimitError(
            f"GigaChat is rate limiting this key ({said}).{wait} Personal keys allow one stream at a time; "
            "retry later or lower GIGACHAT_MAX_CONNECTIONS.",
            server_message=message,
            retry_after=after,
        )
    if status == 404 and model:
        hint = f"Model {model!r} does not exist for this key ({said}). List the available models and pick one."
    else:
        hint = {
            400: f"GigaChat could not read the request ({said}).",
            402: f"The token balance for this model is exhausted ({said}). Top up in the Studio or use another model.",
            403: f"This key may not use that ({said}), e.g. /balance is only for prepaid keys.",
            404: f"Not found ({said}). Check GIGACHAT_BASE_URL.",
            413: f"The request is too large ({said}). Shorten the conversation or the attachments.",
            422: f"GigaChat rejected the request parameters ({said}).",
        }.get(status) or (f"GigaChat had a server error ({said}). Try again later." if status >= 500
                          else f"GigaChat answered {said}.")
    return APIError(hint, status_code=status, server_message=message)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: rare enough to fall back to backoff
    return seconds if seconds >= 0 else None


def _json_or_empty(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _short_text(body: bytes) -> str:
    text = body[:200].decode("utf-8", "replace").strip()
    return "" if text.startswith("<") else text
