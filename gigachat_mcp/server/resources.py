"""The resources: a conversation's live transcript (updates are notified, see `updates`), the files GigaChat made
or this key uploaded, and the models this key can use."""

from __future__ import annotations

import json

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from .. import GigaChatError
from .access import current_owner
from .context import Ctx, Live, Parts
from .errors import missing_conversation
from .names import CONVERSATION_URI, FILE_URI, MODELS_URI, conversation_uri
from .state import StateUnavailable, UnknownFile

__all__ = ["register_resources"]


def register_resources(server: MCPServer[Live], parts: Parts) -> None:
    @server.resource(CONVERSATION_URI, title="GigaChat conversation", mime_type="application/json")
    async def conversation_resource(conversation_id: str, ctx: Ctx) -> str:
        """A conversation's transcript, the answer in flight included, with its status; updates are notified."""
        try:
            conversation = await parts.store.find(conversation_id, current_owner())
        except StateUnavailable as exc:
            raise ResourceError(str(exc)) from None
        if conversation is None:
            raise missing_conversation(conversation_id, ctx.protocol_version, parts.store.max_conversations)
        return json.dumps(conversation.snapshot(conversation_uri(conversation_id)), ensure_ascii=False)

    @server.resource(FILE_URI, title="GigaChat file", mime_type="image/jpeg")
    async def file_resource(file_id: str) -> bytes:
        """A file GigaChat made (drawn images are JPEG) or this key uploaded, as a blob; with auth, only a file
        the caller's own turns drew or uploaded."""
        try:
            running = parts.current()
            await parts.shared.check_file(current_owner(), file_id)
            return await running.require().client.download_file(file_id)
        except (GigaChatError, ToolError, UnknownFile, StateUnavailable) as exc:
            raise ResourceError(str(exc)) from None

    @server.resource(MODELS_URI, title="GigaChat models", mime_type="application/json")
    async def models_resource() -> str:
        """The models this key can use."""
        try:
            models = await parts.current().require().client.models()
        except (GigaChatError, ToolError) as exc:
            raise ResourceError(str(exc)) from None
        return json.dumps([{"id": m.id, "type": m.type} for m in models])
