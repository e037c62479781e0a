"""Chat on the v2 contract (`POST /v2/chat/completions`): content as parts, options under `model_options`,
answers as `messages` (drawn files as a part before the text, sources on the text part), and a stream of named
`response.message.delta` events that ends with `response.message.done`."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from .. import _answers, _drawing
from .._http import API_V2, Call, Route
from .chat import Dialect, read_messages, serve

if TYPE_CHECKING:
    from .._api import API

__all__ = ["DIALECT", "ROUTES"]


def _text_of(content: Any) -> str:
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def _read(request: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    source = request.get("model_options") or {}
    options = {name: source.get(name) for name in _answers.OPTION_NAMES}
    if "disable_filter" in request:
        options["profanity_check"] = not request["disable_filter"]
    return read_messages(request.get("messages"), _text_of), options


def _answer_json(served: str, answer: _answers.Answer) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if answer.reasoning:
        messages.append({"role": "reasoning", "content": [{"text": answer.reasoning}]})
    messages.append(_answer_message(answer))
    return {"model": served, "created_at": int(time.time()), "messages": messages,
            "finish_reason": answer.finish_reason, "usage": _usage(answer)}


def _answer_message(answer: _answers.Answer) -> dict[str, Any]:
    """The assistant message of a v2 answer: drawn files, then the text (with its sources) or a function call."""
    if answer.function_call is not None:
        content: list[dict[str, Any]] = [{"function_call": answer.function_call}]
    else:
        text: dict[str, Any] = {"text": answer.text}
        if answer.sources:
            text["inline_data"] = {"images": [], "sources": answer.sources}
        content = [*_drawing.v2_file_parts(answer), text]
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if answer.state_id:
        message["tool_state_id"] = answer.state_id
    return message


def _delta(served: str, message: dict[str, Any]) -> str:
    data = {"model": served, "created_at": int(time.time()), "messages": [message]}
    return f"event: response.message.delta\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _reasoning_event(served: str, piece: str) -> str:
    return _delta(served, {"role": "reasoning", "content": [{"text": piece}]})


def _delta_event(served: str, piece: str, first: bool, sources: dict[str, Any] | None) -> str:
    part: dict[str, Any] = {"text": piece}
    if sources:
        part["inline_data"] = {"images": [], "sources": sources}
    return _delta(served, {"role": "assistant", "content": [part]})


def _closing_events(served: str, answer: _answers.Answer) -> list[str]:
    data: dict[str, Any] = {"model": served, "created_at": int(time.time()), "finish_reason": answer.finish_reason,
                            "usage": _usage(answer)}
    if answer.function_call is not None:  # a streamed function call arrives only here, as recorded
        data["messages"] = [_answer_message(answer)]
    return [f"event: response.message.done\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"]


def _usage(answer: _answers.Answer) -> dict[str, Any]:
    return {"input_tokens": answer.prompt_tokens,
            "input_tokens_details": {"prompt_tokens": answer.prompt_tokens, "cached_tokens": 0},
            "output_tokens": answer.completion_tokens, "total_tokens": answer.prompt_tokens + answer.completion_tokens}


DIALECT = Dialect(
    version="v2",
    read=_read,
    answer_json=_answer_json,
    opening_events=lambda served, answer: [_drawing.v2_files_event(served, answer)] if answer.files else [],
    reasoning_event=_reasoning_event,
    delta_event=_delta_event,
    closing_events=_closing_events,
    malformed_event='event: response.message.delta\ndata: {"messages": [{"role": "assistant", "content": '
                    '[{"text": "bro\n\n',
    error_event=lambda payload: f"event: error\ndata: {payload}\n\n",
)


def chat(api: API, call: Call) -> None:
    serve(api, call, DIALECT)


ROUTES = (Route("POST", API_V2, "/chat/completions", "chat", chat),)
