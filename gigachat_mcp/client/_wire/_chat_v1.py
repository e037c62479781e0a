"""The v1 chat contract (POST {base}/chat/completions): the request body and the whole answer read back."""

from __future__ import annotations

import re
from typing import Any

from .._types import ChatResult, GeneratedFile, Usage
from ._call import ChatOptions
from ._filters import MarkupFilter
from ._messages import function_call
from ._tools import BUILTIN_TOOLS, Tools

__all__ = ["chat_body", "chat_url", "parse_chat_v1", "usage_v1"]


def chat_url(base_url: str) -> str:
    return base_url + "/chat/completions"


def chat_body(model: str, messages: list[dict[str, Any]], o: ChatOptions, stream: bool,
              tools: Tools) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [_message(m) for m in messages], "stream": stream}
    for name in ("temperature", "top_p", "max_tokens", "repetition_penalty", "profanity_check", "update_interval"):
        value = getattr(o, name)
        if value is not None:
            body[name] = value
    if o.reasoning_effort is not None:
        body["reasoning_effort"] = o.reasoning_effort
    if o.response_schema is not None:
        body["response_format"] = o.schema_format()
    if o.extra:
        body.update(o.extra)
    _apply_tools(body, tools)
    return body


def _apply_tools(body: dict[str, Any], tools: Tools) -> None:
    if tools.functions:
        body["functions"] = list(tools.functions)
    if tools.choice == "none":
        body["function_call"] = "none"
    elif tools.choice in BUILTIN_TOOLS:
        # v1 documents no forced built-in tool: a drawing is asked for with function_call "auto" and a drawing
        # request in the prompt (the docs' images-generation page), so that is what a forced drawing sends
        body["function_call"] = "auto"
        body["messages"] = _asking_to_draw(body["messages"])
    elif tools.choice is not None:
        body["function_call"] = {"name": tools.choice}
    elif tools.builtins or tools.reads_documents or tools.functions:
        body["function_call"] = "auto"  # with no `functions`, the service may use its built-in ones


_DRAW = re.compile(r"\s*(нарису|изобрази|draw\b|paint\b)", re.IGNORECASE)


def _asking_to_draw(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages with the last user prompt worded as a drawing request ("Нарисуй: ..."), unless it is one."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str) and not _DRAW.match(content):
                return [*messages[:index], {**message, "content": f"Нарисуй: {content}"}, *messages[index + 1:]]
            break
    return messages


def _message(message: dict[str, Any]) -> dict[str, Any]:
    if "state_id" not in message:
        return message
    converted = {k: v for k, v in message.items() if k != "state_id"}
    converted["functions_state_id"] = message["state_id"]
    return converted


def parse_chat_v1(data: Any) -> ChatResult:
    choice = data["choices"][0]
    message = choice["message"]
    text = message.get("content") or ""
    files: tuple[GeneratedFile, ...] = ()
    if "<" in text:  # only then can there be file markup to take out
        markup = MarkupFilter()
        text = markup.feed(text) + markup.flush()
        files = tuple(markup.files)
    return ChatResult(
        text=text,
        model=data.get("model", ""),
        finish_reason=choice.get("finish_reason"),
        usage=usage_v1(data.get("usage")),
        files=files,
        state_id=message.get("functions_state_id"),
        reasoning=message.get("reasoning_content") or "",
        function_call=function_call(message.get("function_call")),
    )


def usage_v1(data: Any) -> Usage:
    if not data:
        return Usage()
    return Usage(
        prompt_tokens=data.get("prompt_tokens", 0),
        completion_tokens=data.get("completion_tokens", 0),
        total_tokens=data.get("total_tokens", 0),
        precached_prompt_tokens=data.get("precached_prompt_tokens", 0),
    )

