"""Reading a conversation as a tool, for hosts that cannot read resources: `get_conversation`, which can wait for
a background answer to finish."""

from __future__ import annotations

import json
from typing import Annotated

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from .access import current_owner, known
from .context import Live, Parts
from .names import ID_PATTERN, conversation_uri
from .results import ConversationOut

__all__ = ["register_conversation_tools"]


def register_conversation_tools(server: MCPServer[Live], parts: Parts) -> None:
    @server.tool(title="Read a GigaChat conversation", annotations=ToolAnnotations(read_only_hint=True))
    async def get_conversation(
        conversation_id: Annotated[str, Field(pattern=ID_PATTERN, description="From a chat result.")],
        wait_seconds: Annotated[float, Field(ge=0, le=50, description=(
            "Wait up to this long for an answer in flight to finish (0: return at once)."))] = 0,
    ) -> Annotated[CallToolResult, ConversationOut]:
        """The conversation's transcript and status (queued, streaming, done, error, cancelled); the way to read a
        background answer in hosts that cannot read resources."""
        owner = current_owner()
        conversation = await known(parts.store, conversation_id, owner)
        with anyio.move_on_after(wait_seconds):
            while conversation.busy:
                await anyio.sleep(0.05)
                conversation = await known(parts.store, conversation_id, owner)
        snapshot = conversation.snapshot(conversation_uri(conversation.id))
        return CallToolResult(content=[TextContent(type="text", text=json.dumps(snapshot, ensure_ascii=False, indent=1))],
                              structured_content=snapshot)
