"""Error answers to typed errors: the OAuth host's and the API's, each with what to do next."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._errors import APIError, AuthenticationError, RateLimitError, unknown_model_message

__all__ = ["api_error", "oauth_error", "retry_after_seconds"]

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


def api_error(status: int, body: bytes, headers: Mapping[str, str], *, model: str | None = None,
              not_found: str | None = None, forbidden: str | None = None) -> APIError:
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
        return APIError(unknown_model_message(model, said), status_code=status, server_message=message,
                        unknown_model=model)
    if status == 404 and not_found:
        hint = f"{not_found} ({said})"
    elif status == 403 and forbidden:
        hint = f"{forbidden} ({said})"
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
    """The start of a non-JSON error body, fit for a message: no HTML, and control characters (a hostile or
    broken upstream can send NULs) shown as spaces."""
    text = body[:200].decode("utf-8", "replace").translate(_CONTROLS).strip()
    return "" if text.startswith("<") else " ".join(text.split())


_CONTROLS = {code: " " for code in (*range(32), 127)}
