"""The pure half of `run_tools`: whether a call can run, and the message that carries its result
(or its failure) back to GigaChat. The clients only call the function, sync or awaited."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncGenerator, Generator
from typing import Any

from . import _functions, _structured
from ._types import ChatChunk, ChatResult, FunctionCall
from ._wire import Tools

__all__ = ["parsed_async", "parsed_chunks", "refusal", "result_message", "with_parsed"]

log = logging.getLogger("gigachat_mcp")


def refusal(tools: Tools, call: FunctionCall) -> dict[str, Any] | None:
    """None when the call can run (`tools.callables[call.name]`), else the function-result message that tells
    GigaChat why not: it named no callable we hold, or sent arguments that are not a JSON object."""
    if call.name not in tools.callables:
        known = ", ".join(tools.callables) or "none"
        return _message(call, _functions.error_result(call.name, LookupError(
            f"there is no function {call.name!r} to run; the functions are: {known}")))
    if "_raw" in call.arguments:
        return _message(call, _functions.error_result(call.name, ValueError("the arguments were not a JSON object")))
    return None


def result_message(call: FunctionCall, *, value: Any = None, error: BaseException | None = None) -> dict[str, Any]:
    """The message carrying a function's value (or its failure, logged at debug) back to GigaChat."""
    if error is None:
        return _message(call, _functions.result_content(value))
    log.debug("function %s failed", call.name, exc_info=error)
    return _message(call, _functions.error_result(call.name, error))


def _message(call: FunctionCall, content: str) -> dict[str, Any]:
    """A function-result message of the next request (v1 role function; the wire makes it v2 role tool)."""
    return {"role": "function", "name": call.name, "content": content}


def with_parsed(result: ChatResult, fmt: _structured.ResponseFormat | None) -> ChatResult:
    if fmt is None or result.function_call is not None:
        return result
    return dataclasses.replace(result, parsed=_structured.parse(result.text, fmt))


def parsed_chunks(chunks: Generator[ChatChunk, None, None],
                  fmt: _structured.ResponseFormat) -> Generator[ChatChunk, None, None]:
    """The stream with `.parsed` on its last chunk (StructuredOutputError instead, when the answer does not fit)."""
    parts: list[str] = []
    with contextlib.closing(chunks):
        for chunk in chunks:
            parts.append(chunk.text)
            if chunk.finish_reason is not None and chunk.function_call is None:
                chunk = dataclasses.replace(chunk, parsed=_structured.parse("".join(parts), fmt))
            yield chunk


async def parsed_async(chunks: AsyncGenerator[ChatChunk, None],
                       fmt: _structured.ResponseFormat) -> AsyncGenerator[ChatChunk, None]:
    parts: list[str] = []
    async with contextlib.aclosing(chunks):
        async for chunk in chunks:
            parts.append(chunk.text)
            if chunk.finish_reason is not None and chunk.function_call is None:
                chunk = dataclasses.replace(chunk, parsed=_structured.parse("".join(parts), fmt))
            yield chunk
