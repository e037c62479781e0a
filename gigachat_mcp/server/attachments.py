"""The files a `chat` call names: file ids pass as given; local paths are read only under the allowed roots (the
client's roots over stdio, or GIGACHAT_MCP_FILE_ROOTS; never a remote client's roots); inline content is decoded.
The checks themselves are in `file_access` (the disk) and `attached` (the service's rules)."""

from __future__ import annotations

import logging
import warnings

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from .. import Settings
from .attached import MAX_INLINE_BASE64, AttachmentRefused, Ready, prepare
from .context import Ctx
from .file_access import HOW_TO_ALLOW, HOW_TO_ALLOW_REMOTE, allowed_roots
from .names import FILE_ID

__all__ = ["InlineFile", "prepare_attachments"]

log = logging.getLogger("gigachat_mcp.server")


class InlineFile(BaseModel):
    """A file sent inline with the call: what a remote client attaches from its own machine."""

    name: str = Field(min_length=1, max_length=255, description=(
        "File name with its extension, which tells the type, e.g. 'report.pdf', 'photo.jpg'."))
    data: str = Field(min_length=1, max_length=MAX_INLINE_BASE64 + MAX_INLINE_BASE64 // 64 + 4, description=(
        "The file's content in standard base64 (a data: URI is accepted too)."))
    mime_type: str | None = Field(default=None, max_length=255, description=(
        "Optional; gives the type when the name has no extension, e.g. 'image/png'."))


async def prepare_attachments(ctx: Ctx, settings: Settings, requested: list[str] | None,
                              inline: list[InlineFile] | None, trust_client_roots: bool) -> Ready:
    """Every attachment checked and read (nothing uploaded yet). Paths are read only under the allowed roots:
    GIGACHAT_MCP_FILE_ROOTS, and the client's roots only when they name this machine's directories (stdio)."""
    if not requested and not inline:
        return []
    local = trust_client_roots and not _over_http(ctx)
    roots = None
    if any(not FILE_ID.match(item) for item in requested or ()):
        roots = allowed_roots(await _client_roots(ctx) if local else [], settings.mcp_file_roots)
    entries = [entry.model_dump() for entry in inline or ()]
    try:
        return await anyio.to_thread.run_sync(prepare, requested, entries, roots,
                                              HOW_TO_ALLOW if local else HOW_TO_ALLOW_REMOTE)
    except AttachmentRefused as exc:
        raise ToolError(str(exc)) from None


def _over_http(ctx: Ctx) -> bool:
    """Whether this request came over HTTP, whatever the server was told at build time (a second guard)."""
    transport = getattr(ctx, "transport", None)
    return (ctx.request_context.request is not None or getattr(transport, "kind", "") == "streamable-http"
            or getattr(transport, "headers", None) is not None)


async def _client_roots(ctx: Ctx) -> list[str]:
    """The client's roots (2025-era clients that declare the capability); none otherwise."""
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.roots is None:
        return []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # roots are deprecated in the 2026 protocol, still what hosts send
            result = await ctx.session.list_roots()
    except Exception:  # noqa: BLE001 - a client that cannot answer simply has no roots to offer
        log.debug("roots/list failed", exc_info=True)
        return []
    return [str(root.uri) for root in result.roots]
