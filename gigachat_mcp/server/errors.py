"""Failures in MCP terms: a GigaChat failure becomes a tool error whose text says what to do, with what only the
server knows added (the resource keeping a partial answer, the models this key can use); a missing conversation
resource gets the error code of the protocol era the client speaks."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from contextlib import contextmanager

from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from .. import APIError, GigaChatError, StreamError, StructuredOutputError
from .context import Live
from .names import conversation_uri
from .turns import TurnRunner

__all__ = ["BUSY", "DRAINING", "explain", "missing_conversation", "tool_errors"]

RESOURCE_NOT_FOUND_LEGACY = -32002  # resources/read of a missing resource, protocol 2025-11-25 and earlier
BUSY = ("Conversation {} is still answering. Wait for it (get_conversation with wait_seconds), or omit "
        "conversation_id to start a new conversation.")
DRAINING = "This GigaChat server is shutting down. Retry in a few seconds (another replica will answer)."


@contextmanager
def tool_errors() -> Iterator[None]:
    """A GigaChat failure as a tool error carrying the client's message (which says what to do)."""
    try:
        yield
    except GigaChatError as exc:
        raise ToolError(str(exc)) from None


async def explain(exc: GigaChatError, live: Live, runner: TurnRunner, uri: str, model: str) -> str:
    """The tool error text: the client's message, plus what only the server knows."""
    message = str(exc)
    if isinstance(exc, APIError) and exc.unknown_model:
        message = await _unknown_model(exc, live, runner, model)
    if isinstance(exc, StreamError) and exc.partial_text:
        message += f" The partial answer is kept in {uri}."
    if isinstance(exc, StructuredOutputError):
        message += f" The raw answer is kept in {uri}."
    return message


async def _unknown_model(exc: APIError, live: Live, runner: TurnRunner, model: str) -> str:
    """The wrong-model error in MCP terms: the way to list models here is the list_models tool. Written from the
    error's parts, not the core's sentence, whose hint (for Python or the command line) does not apply here."""
    try:
        live.models = live.models or [m.id for m in await runner.client.models() if m.type == "chat"]
    except GigaChatError:
        pass
    said = f"{exc.status_code} {exc.message}".strip()
    message = f"GigaChat has no model {model!r} for this key ({said})."
    close = difflib.get_close_matches(model, live.models, n=1, cutoff=0.85)
    if close:
        message += f" Did you mean {close[0]!r}?"
    message += " Call the list_models tool to see the models this key can use"
    return message + (f". Available chat models: {', '.join(live.models)}." if live.models else ".")


def missing_conversation(conversation_id: str, protocol_version: str | None, kept: int) -> MCPError:
    """resources/read of a conversation that is not there (or not the caller's)."""
    # The spec's code for a missing resource: -32002 up to 2025-11-25; 2026-07-28 retired it for -32602
    # (SEP-2164; its clients SHOULD still accept -32002). The SDK's ResourceNotFoundError says -32602 on
    # both eras, so the code is chosen here, by the era the client speaks.
    modern = (protocol_version or "") >= "2026-07-28"
    return MCPError(
        code=INVALID_PARAMS if modern else RESOURCE_NOT_FOUND_LEGACY,
        message=f"No conversation {conversation_id!r}: it never existed, or it was dropped (this server "
                f"keeps the {kept} most recent). Start a new one with the chat tool.",
        data={"uri": conversation_uri(conversation_id)})
