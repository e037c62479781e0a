"""A map's plan, made before anything is sent: the rows' prompts (templates filled), the chat options checked,
each row's cache key, and the run's settings. Every mistake a caller can make is raised here, as a typed error
naming the row, so a run never fails half-way through for a reason that was visible at the start."""

from __future__ import annotations

import hashlib
import json
import os
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import _flows, _wire
from .._errors import InvalidRequestError
from .._settings import Settings
from .._structured import ResponseFormat

__all__ = ["CHAT_OPTIONS", "Plan", "check_batch_allowed", "default_concurrency", "fill_template", "make_plan",
           "note", "records"]

CHAT_OPTIONS = frozenset({"model", "system", "temperature", "max_tokens", "top_p", "repetition_penalty",
                          "profanity_check", "attachments", "tools", "tool_choice", "reasoning_effort",
                          "response_format", "extra"})
_NUMBERS = ("temperature", "top_p", "max_tokens", "repetition_penalty", "profanity_check")


@dataclass
class Plan:
    """What a run needs: prompts and keys per row, the options every row is sent with, and how to run."""

    prompts: list[Any]  # per row: a str or a message list, as chat() takes it
    keys: list[str]  # per row: the hash of the whole request (the cache's key)
    options: dict[str, Any]  # chat() keywords, the same for every row
    fmt: ResponseFormat | None
    concurrency: int
    cache: Path | None
    on_error: str
    batch: bool
    batch_timeout: float
    batch_poll: float


def default_concurrency(settings: Settings) -> int:
    """The key's limit: GIGACHAT_MAX_CONNECTIONS, else one stream for a personal key and 10 for business keys
    (the MCP server's rule for its upstream streams)."""
    return settings.max_connections or (1 if settings.scope == "GIGACHAT_API_PERS" else 10)


def check_batch_allowed(settings: Settings) -> None:
    """The Batch API is for pay-as-you-go keys: a personal or prepaid (B2B) authorization key is refused here,
    before anything is sent. A ready token or a user/password sign-in does not say its scope and is let through
    (the service answers 403 if it is not allowed)."""
    if settings.auth_method == "oauth" and settings.scope != "GIGACHAT_API_CORP":
        raise InvalidRequestError(
            f"batch=True needs a pay-as-you-go key (scope GIGACHAT_API_CORP); this key's scope is {settings.scope}. "
            "Run the map without batch=True: it sends the rows concurrently within your key's limit.")


def make_plan(settings: Settings, prompts: Any, rows: Any, options: dict[str, Any], *, concurrency: int | None,
              cache: Any, on_error: str, batch: bool, batch_timeout: float, batch_poll: float) -> Plan:
    unknown = set(options) - CHAT_OPTIONS
    if unknown:
        raise InvalidRequestError(f"map() got unknown option(s) {', '.join(sorted(unknown))}; the chat options are "
                                  f"{', '.join(sorted(CHAT_OPTIONS))}.")
    if on_error not in ("keep", "raise"):
        raise InvalidRequestError(f"on_error must be 'keep' (a failed row becomes a RowError) or 'raise', "
                                  f"not {on_error!r}.")
    if batch:
        check_batch_allowed(settings)
    items = _prompts(prompts, rows)
    fmt = _check_options(settings, items[0] if items else "x", options, batch)
    system = options.get("system")
    model = options.get("model") or settings.model
    prefix = _key_prefix(settings, model, {k: v for k, v in options.items() if k not in ("model", "system")}, batch)
    keys = []
    for index, item in enumerate(items):
        try:
            messages = _wire.normalise_messages(item, system)
        except InvalidRequestError as exc:
            raise InvalidRequestError(f"row {index}: {exc}") from None
        keys.append(_hash(prefix, messages))
    return Plan(items, keys, options, fmt, _concurrency(settings, concurrency), _cache_path(cache), on_error,
                bool(batch), _seconds("batch_timeout", batch_timeout), _seconds("batch_poll", batch_poll))


def _prompts(prompts: Any, rows: Any) -> list[Any]:
    if rows is not None:
        if not isinstance(prompts, str):
            raise InvalidRequestError("With rows=, the first argument is one template str with {field} "
                                      "placeholders (or {} for rows that are plain values).")
        return fill_template(prompts, records(rows))
    if isinstance(prompts, (str, bytes)):
        raise InvalidRequestError("map() takes a list of prompts; for one prompt use chat(), for a template pass "
                                  "rows= (a list of dicts, a DataFrame, or a list of values for {}).")
    if not isinstance(prompts, Iterable):
        raise InvalidRequestError(f"map() takes a list of prompts, not {type(prompts).__name__}.")
    items = list(prompts)
    for index, item in enumerate(items):
        if not isinstance(item, (str, list, tuple)):
            raise InvalidRequestError(f"row {index}: a prompt is a str or a list of {{role, content}} dicts, not "
                                      f"{type(item).__name__} ({item!r:.60}).")
    return items


def records(rows: Any) -> list[Any]:
    """rows as a list: a DataFrame (anything with `columns` and `to_dict`) as its records, a Series or array
    (anything with `tolist`) as its values, any other iterable as is. pandas is never imported."""
    if hasattr(rows, "columns") and callable(getattr(rows, "to_dict", None)):
        return list(rows.to_dict("records"))
    if callable(getattr(rows, "tolist", None)):
        return list(rows.tolist())
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise InvalidRequestError(f"rows must be a list of dicts, a DataFrame, or a list of values, not "
                                  f"{type(rows).__name__}.")
    return list(rows)


def fill_template(template: str, rows: list[Any]) -> list[str]:
    """The template filled for each row, as str.format does it: a dict row fills {field} (and {field.attr},
    {field[key]}); a plain value fills {} (or {0}); {{ and }} are literal braces. A field a row lacks is an
    InvalidRequestError naming the row and the fields it has."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise InvalidRequestError(f"The template is not a valid format string ({exc}); write literal braces as "
                                  "{{ and }}.") from None
    if not fields:
        raise InvalidRequestError("The template has no {field} placeholders, so every row would send the same "
                                  "prompt; use {column} for a dict or DataFrame row, {} for a plain value.")
    filled = []
    for index, row in enumerate(rows):
        try:
            filled.append(template.format_map(row) if isinstance(row, Mapping) else template.format(row))
        except (KeyError, IndexError, AttributeError, ValueError, TypeError) as exc:
            raise InvalidRequestError(_fill_problem(index, row, exc)) from None
    return filled


def _fill_problem(index: int, row: Any, exc: Exception) -> str:
    if isinstance(row, Mapping):
        have = ", ".join(map(str, list(row)[:20])) or "none"
        if isinstance(exc, KeyError):
            return f"row {index} has no field {exc}; the template needs it. The row's fields: {have}."
        if isinstance(exc, (IndexError, ValueError)) and ("positional" in str(exc) or isinstance(exc, IndexError)):
            return f"row {index} is a dict: name its fields ({{{next(iter(row), 'column')}}}), not {{}}."
    if isinstance(exc, KeyError):
        return (f"row {index} is a plain value ({row!r:.40}), so the template can use only {{}}, not {{{exc.args[0]}}}"
                f"; pass dicts (or a DataFrame) as rows to fill named fields.")
    return f"row {index} ({row!r:.40}) does not fill the template: {exc}."


def _check_options(settings: Settings, first: Any, options: dict[str, Any], batch: bool) -> ResponseFormat | None:
    """The options' own checks (numbers, tools, schema, attachments), run once: they are the same for every row."""
    numbers = {name: options.get(name) for name in _NUMBERS}
    _wire.ChatOptions(**numbers, reasoning_effort=options.get("reasoning_effort")).check()
    turn = _flows.turn(settings, first, options.get("system"), options.get("attachments"), options.get("tools"),
                       options.get("tool_choice"), options.get("response_format"))
    if batch and any(turn.groups):
        raise InvalidRequestError("batch=True cannot send attachments (a batch line is one JSON request); run "
                                  "the map without batch=True, or put the text in the prompt.")
    return turn.fmt if options.get("response_format") is not None else None


def _concurrency(settings: Settings, concurrency: int | None) -> int:
    if concurrency is None:
        return default_concurrency(settings)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidRequestError(f"concurrency must be a whole number of 1 or more, not {concurrency!r}.")
    return concurrency


def _cache_path(cache: Any) -> Path | None:
    if cache is False or cache is None:
        return None
    if cache is True:
        from ._cache import default_cache_path

        return default_cache_path()
    if isinstance(cache, (str, os.PathLike)):
        return Path(cache).expanduser()
    raise InvalidRequestError(f"cache must be True (the user cache directory), False, or a file path, not "
                              f"{type(cache).__name__}.")


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidRequestError(f"{name} must be a number of seconds above 0, not {value!r}.")
    return float(value)


# --- cache keys ------------------------------------------------------------------------------------------------

_KEY_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                                default=lambda value: _keyable(value))


def _keyable(value: Any) -> Any:
    """What a non-JSON option value contributes to a key: bytes by their hash, a schema class by its schema, a
    function by its name and signature text, a path or FileInfo by itself."""
    if isinstance(value, (bytes, bytearray)):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    schema = getattr(value, "model_json_schema", None) if isinstance(value, type) else None
    if callable(schema):
        return schema()
    if isinstance(value, (tuple, set, frozenset)):
        return sorted(map(str, value)) if isinstance(value, (set, frozenset)) else list(value)
    if callable(value):
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', repr(value))}"
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


def _key_prefix(settings: Settings, model: str, options: dict[str, Any], batch: bool) -> str:
    """Everything but the messages that shapes an answer; never the credentials. A batch line always goes out on
    the v1 contract, so a batch run's key says v1 whatever the client is configured for."""
    version = "v1" if batch else settings.api_version
    return _KEY_ENCODER.encode([settings.base_url, version, model, options])


def _hash(prefix: str, messages: list[dict[str, Any]]) -> str:
    return hashlib.sha256((prefix + _KEY_ENCODER.encode(messages)).encode()).hexdigest()[:40]


def note(error: BaseException, text: str) -> BaseException:
    """`error` with `text` added to its notes where Python has them (3.11+), for on_error="raise"."""
    add_note = getattr(error, "add_note", None)
    if add_note is not None:
        add_note(text)
    return error
