"""The files a `chat` call names: file ids pass as given; local paths are read only under the allowed roots (the
client's roots over stdio, or GIGACHAT_MCP_FILE_ROOTS; the checks themselves are in `file_access`)."""

from __future__ import annotations

import logging
import warnings

from mcp.server.mcpserver.exceptions import ToolError

from .. import Settings
from .context import Ctx
from .file_access import FileAccessDenied, allowed_roots, resolve
from .names import FILE_ID

__all__ = ["resolve_attachments"]

log = logging.getLogger("gigachat_mcp.server")


async def resolve_attachments(ctx: Ctx, settings: Settings, requested: list[str] | None) -> list[str]:
    """File ids as given; local paths only under the client's roots or GIGACHAT_MCP_FILE_ROOTS (real paths)."""
    if not requested:
        return []
    paths = [item for item in requested if not FILE_ID.match(item)]
    roots = allowed_roots(await _client_roots(ctx), settings.mcp_file_roots) if paths else []
    resolved = []
    for item in requested:
        if FILE_ID.match(item):
            resolved.append(item)
            continue
        try:
            resolved.append(str(resolve(item, roots)))
        except FileAccessDenied as exc:
            raise ToolError(str(exc)) from None
    return resolved


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
