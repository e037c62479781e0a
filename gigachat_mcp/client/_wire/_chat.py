"""The chat request of the configured contract: one entry point over the v1 and v2 builders."""

from __future__ import annotations

from typing import Any

from . import _chat_v1, _chat_v2
from ._call import JSON_HEADERS, NO_OPTIONS, STREAM_HEADERS, Call, ChatOptions, dumps
from ._tools import NO_TOOLS, Tools

__all__ = ["chat_call"]


def chat_call(
    base_url: str, api_version: str, model: str, messages: list[dict[str, Any]], options: ChatOptions, *, stream: bool,
    tools: Tools = NO_TOOLS,
) -> Call:
    if options != NO_OPTIONS:  # the defaults need no checking
        options.check()
    if api_version == "v2":
        body = _chat_v2.chat_body(model, messages, options, stream, tools)
        url, parse = _chat_v2.v2_chat_url(base_url), _chat_v2.parse_chat_v2
    else:
        body = _chat_v1.chat_body(model, messages, options, stream, tools)
        url, parse = _chat_v1.chat_url(base_url), _chat_v1.parse_chat_v1
    return Call(
        "POST",
        url,
        parse,
        body=dumps(body),
        headers=STREAM_HEADERS if stream else JSON_HEADERS,
        stream=api_version if stream else None,
        model=model,
    )
