"""Chat on the v1 contract (`POST /v1/chat/completions`): string contents, options at the top level, answers
as `choices`, and a stream of `data:` events that ends with `data: [DONE]`."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from .. import _answers
from .._http import API_V1, Call, Route
from .chat import Dialect, read_messages, serve

if TYPE_CHECKING:
    from .._api import API

__all__ = ["DIALECT", "ROUTES"]


def _read(request: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    messages = read_messages(request.get("messages"), lambda content: content if isinstance(content, str) else "")
    return messages, {name: request.get(name) for name in _answers.OPTION_NAMES}


def _answer_json(served: str, answer: _answers.Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text}
    if answer.state_id:
        message["functions_state_id"] = answer.state_id
    if answer.reasoning:
        message["reasoning_content"] = answer.reasoning
    if answer.function_call is not None:
        message["function_call"] = answer.function_call
    return {"choices": [{"message": message, "index": 0, "finish_reason": answer.finish_reason}],
            "created": int(time.time()), "model": served, "object": "chat.completion", "usage": _usage(answer)}


def _event(served: str, choice: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"choices": [choice], "created": int(time.time()), "model": served, "object": "chat.completion", **extra}


def _reasoning_event(served: str, piece: str) -> str:
    data = _event(served, {"delta": {"reasoning_content": piece, "role": "assistant"}, "index": 0})
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _delta_event(served: str, piece: str, first: bool, sources: dict[str, Any] | None) -> str:
    delta = {"content": piece, "role": "assistant"} if first else {"content": piece}  # v1 has no sources
    return f"data: {json.dumps(_event(served, {'delta': delta, 'index': 0}), ensure_ascii=False)}\n\n"


def _closing_events(served: str, answer: _answers.Answer) -> list[str]:
    delta: dict[str, Any] = {"content": ""}
    if answer.state_id:
        delta["functions_state_id"] = answer.state_id
    if answer.function_call is not None:
        delta["function_call"] = answer.function_call
    data = _event(served, {"delta": delta, "index": 0, "finish_reason": answer.finish_reason}, usage=_usage(answer))
    return [f"data: {json.dumps(data)}\n\n", "data: [DONE]\n\n"]


def _usage(answer: _answers.Answer) -> dict[str, int]:
    total = answer.prompt_tokens + answer.completion_tokens
    return {"prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens,
            "total_tokens": total, "precached_prompt_tokens": 0}


DIALECT = Dialect(
    version="v1",
    read=_read,
    answer_json=_answer_json,
    opening_events=lambda served, answer: [],
    reasoning_event=_reasoning_event,
    delta_event=_delta_event,
    closing_events=_closing_events,
    malformed_event='data: {"choices": [{"delta": {"content": "bro\n\n',
    error_event=lambda payload: f"data: {payload}\n\n",
)


def chat(api: API, call: Call) -> None:
    serve(api, call, DIALECT)


ROUTES = (Route("POST", API_V1, "/chat/completions", "chat", chat),)
