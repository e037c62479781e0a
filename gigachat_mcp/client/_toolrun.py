"""The pure half of `run_tools`: which Python function a call names, and the message that carries its result
(or its failure) back to GigaChat. The clients only call the function, sync or awaited."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

from . import _functions, _structured
from ._types import ChatChunk, ChatResult, FunctionCall
from ._wire import Tools

__all__ = ["function_for", "parsed_async", "parsed_chunks", "result_message", "with_parsed"]

log = logging.getLogger("gigachat_mcp")


def function_for(tools: Tools, call: FunctionCall) -> tuple[Callable[..., Any] | None, str | None]:
    """(the callable, None), or (None, the error to feed back) when GigaChat named no callable we hold or sent
    arguments that are not a JSON object."""
    function = tools.callables.get(call.name)
    if function is None:
        known = ", ".join(tools.callables) or "none"
        return None, _functions.error_result(call.name, LookupError(
            f"there is no function {call.name!r} to run; the functions are: {known}"))
    if "_raw" in call.arguments:
        return None, _functions.error_result(call.name, ValueError("the arguments were not a JSON object"))
    return function, None


def result_message(call: FunctionCall, *, value: Any = None, error: BaseException | str | None = None) -> dict[str, Any]:
    """The function-result message of the next request (v1 role function; the wire makes it v2 role tool)."""
    if isinstance(error, BaseException):
        log.debug("function %s failed", call.name, exc_info=error)
        content = _functions.error_result(call.name, error)
    elif isinstance(error, str):
        content = error
    else:
        content = _functions.result_content(value)
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
