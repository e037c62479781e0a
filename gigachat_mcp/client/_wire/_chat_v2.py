"""The v2 ("primary") chat contract (POST .../v2/chat/completions): the request body with its tools and content
parts, and the readers of the answer's messages the stream decoder shares."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .._types import ChatResult, FunctionCall, GeneratedFile, Source, Usage
from ._call import ChatOptions
from ._filters import SourceMarks
from ._messages import function_call
from ._tools import BUILTIN_TOOLS, Tools

__all__ = ["chat_body", "files_v2", "function_call_v2", "parse_chat_v2", "reasoning_v2", "sources_v2", "state_v2",
           "text_v2", "usage_v2", "v2_chat_url"]

_V2_TOOL_BODY: dict[str, dict[str, Any]] = {"web_search": {"type": "actual_info_web_search"}}


def v2_chat_url(base_url: str) -> str:
    """The v2 ("primary") contract lives beside v1: .../v1 becomes .../v2/chat/completions."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    head, _, last = path.rpartition("/")
    if last[:1] == "v" and last[1:].isdigit():
        path = head
    return urlunsplit(parts._replace(path=path + "/v2/chat/completions"))


def chat_body(model: str, messages: list[dict[str, Any]], o: ChatOptions, stream: bool,
              tools: Tools) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [_message(m) for m in messages], "stream": stream}
    model_options = {
        name: getattr(o, name)
        for name in ("temperature", "top_p", "max_tokens", "repetition_penalty", "update_interval")
        if getattr(o, name) is not None
    }
    if o.reasoning_effort is not None:
        model_options["reasoning"] = {"effort": o.reasoning_effort}
    if o.response_schema is not None:
        model_options["response_format"] = o.schema_format()
    if model_options:
        body["model_options"] = model_options
    if o.profanity_check is not None:
        body["disable_filter"] = not o.profanity_check
    if o.extra:
        body.update(o.extra)
    _apply_tools(body, tools)
    return body


def _apply_tools(body: dict[str, Any], tools: Tools) -> None:
    entries: list[dict[str, Any]] = [{str(BUILTIN_TOOLS[name]["v2"]): dict(_V2_TOOL_BODY.get(name, {}))}
                                     for name in tools.builtins]
    if tools.functions:
        entries.append({"functions": {"specifications": list(tools.functions)}})
    if entries:
        body["tools"] = entries
    if tools.choice == "none":
        body["tool_config"] = {"mode": "none"}
    elif tools.choice in BUILTIN_TOOLS:
        body["tool_config"] = {"mode": "forced", "tool_name": BUILTIN_TOOLS[tools.choice]["v2"]}
    elif tools.choice is not None:
        body["tool_config"] = {"mode": "forced", "function_name": tools.choice}


def _message(message: dict[str, Any]) -> dict[str, Any]:
    if message["role"] == "function":  # a function's result: role tool with a function_result part, as recorded
        return {"role": "tool", "content": [{"function_result": {"name": message.get("name", ""),
                                                                  "result": _result_value(message["content"])}}]}
    parts: list[dict[str, Any]] = [{"text": message["content"]}] if message["content"] or not message.get(
        "function_call") else []
    if message.get("attachments"):
        parts.append({"files": [{"id": file_id} for file_id in message["attachments"]]})
    if message.get("function_call"):
        parts.append({"function_call": message["function_call"]})
    converted = {"role": message["role"], "content": parts}
    for key, value in message.items():
        if key == "state_id":
            converted["tools_state_id"] = value
        elif key not in ("role", "content", "attachments", "function_call", "name"):
            converted[key] = value
    return converted


def _result_value(content: str) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return content

def parse_chat_v2(data: Any) -> ChatResult:
    messages = data.get("messages")
    marks = SourceMarks()
    return ChatResult(
        text=marks.feed(text_v2(messages)) + marks.flush(),
        model=data.get("model", ""),
        finish_reason=data.get("finish_reason"),
        usage=usage_v2(data.get("usage")),
        files=files_v2(messages),
        state_id=state_v2(messages),
        reasoning=reasoning_v2(messages),
        sources=tuple(sources_v2(messages).values()),
        function_call=function_call_v2(messages),
    )


def function_call_v2(messages: Any) -> FunctionCall | None:
    for message in messages or ():
        for part in message.get("content") or ():
            found = function_call(part.get("function_call"))
            if found is not None:
                return found
    return None


def reasoning_v2(messages: Any) -> str:
    """The thinking: text of messages with role reasoning (and reasoning_content, should a message carry it)."""
    parts: list[str] = []
    for message in messages or ():
        if message.get("role") == "reasoning":
            parts.extend(part["text"] for part in message.get("content") or () if "text" in part)
        elif message.get("reasoning_content"):
            parts.append(message["reasoning_content"])
    return "".join(parts)


def sources_v2(messages: Any) -> dict[str, Source]:
    """Web-search sources: inline_data.sources on text parts, {"1": {url, title}, ...}, in their number order."""
    found: dict[str, Source] = {}
    for message in messages or ():
        for part in message.get("content") or ():
            inline = part.get("inline_data") or {}
            sources = inline.get("sources") or {}
            items = sources.items() if isinstance(sources, Mapping) else enumerate(sources, 1)
            for key, item in items:
                if isinstance(item, Mapping) and item.get("url"):
                    found[str(key)] = Source(str(item.get("title") or item["url"]), str(item["url"]))
    return dict(sorted(found.items(), key=lambda kv: (not kv[0].isdigit(), int(kv[0]) if kv[0].isdigit() else 0)))


def files_v2(messages: Any) -> tuple[GeneratedFile, ...]:
    """Files the answer made: `files` content parts of assistant messages."""
    found: list[GeneratedFile] = []
    for message in messages or ():
        for part in message.get("content") or ():
            for item in part.get("files") or ():
                found.append(GeneratedFile(item["id"], item.get("mime") or "image/jpeg"))
    return tuple(found)


def state_v2(messages: Any) -> str | None:
    for message in messages or ():
        state = message.get("tool_state_id") or message.get("tools_state_id")
        if state:
            return str(state)
    return None


def text_v2(messages: Any) -> str:
    """The answer text of v2 messages; reasoning messages and non-text parts are left out."""
    if not messages:
        return ""
    parts: list[str] = []
    for message in messages:
        if message.get("role", "assistant") == "assistant":
            parts.extend(part["text"] for part in message.get("content") or () if "text" in part)
    return "".join(parts)


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
