"""The resources: a conversation's live transcript (updates are notified, see `updates`), the files GigaChat made
or this key uploaded, and the models this key can use."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from .. import GigaChatError
from .. import file_types as ft
from .access import current_owner
from .context import Ctx, Live, Parts
from .errors import missing_conversation
from .names import CONVERSATION_URI, FILE_URI, MODELS_URI, conversation_uri
from .state import StateUnavailable, UnknownFile

__all__ = ["register_resources"]

FILES_PREFIX = FILE_URI.split("{", 1)[0]


def blob_type(data: str) -> str:
    """A base64 blob's media type, from its first bytes (drawn images are JPEG; uploads are anything allowed)."""
    try:
        head = base64.b64decode(data[:88], validate=True)
    except (binascii.Error, ValueError):
        return "application/octet-stream"
    extension = ft.sniff_extension(head)
    return ft.mime_of(f"file.{extension}") if extension else "application/octet-stream"


async def _file_types(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Middleware: the files template names no fixed type, and each file read carries its own (the SDK takes one
    type per template)."""
    result = await call_next(ctx)
    if not isinstance(result, dict):
        return result
    if ctx.method == "resources/templates/list" and isinstance(result.get("resourceTemplates"), list):
        result = {**result, "resourceTemplates": [
            {k: v for k, v in t.items() if k != "mimeType"} if t.get("uriTemplate") == FILE_URI else t
            for t in result["resourceTemplates"]]}
    elif ctx.method == "resources/read" and str((ctx.params or {}).get("uri", "")).startswith(FILES_PREFIX):
        result = {**result, "contents": [{**c, "mimeType": blob_type(c["blob"])} if isinstance(c.get("blob"), str)
                                         else c for c in result.get("contents", [])]}
    return result


def register_resources(server: MCPServer[Live], parts: Parts) -> None:
    server.middleware.append(_file_types)

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

    @server.resource(FILE_URI, title="GigaChat file", mime_type="application/octet-stream")
    async def file_resource(file_id: str) -> bytes:
        """A file GigaChat made (drawn images are JPEG) or this key uploaded, as a blob of its own type; with auth,
        only a file the caller's own turns drew or uploaded."""
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
