"""What one `chat` call attaches, checked and made ready before anything is sent, then uploaded once per content.

Three ways in: a file id from an earlier result (sent as is); a path on this server's disk, read once through
`file_access` under the allowed roots (the client's roots only over stdio, where they name this machine's
directories; over HTTP only GIGACHAT_MCP_FILE_ROOTS); content sent inline by the client (base64 with a name), the
way for a remote client, whose files are on its own machine. Local and inline content is checked against the
service's rules (type, size, one image per message) before the first upload, and each becomes a file id, which
is what the conversation records and later turns send again: nothing is read from disk twice.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import warnings
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from .. import InvalidRequestError, Settings, check_attachments
from .. import file_types as ft
from .context import Ctx
from .file_access import HOW_TO_ALLOW, HOW_TO_ALLOW_REMOTE, FileAccessDenied, allowed_roots, read_allowed
from .names import FILE_ID
from .sdk import connection_of

if TYPE_CHECKING:
    from .. import AsyncGigaChat

__all__ = ["MAX_ATTACHMENTS", "MAX_INLINE_BASE64", "AttachmentRefused", "InlineFile", "Ready", "forget_roots",
           "prepare", "prepare_attachments", "upload"]

MAX_ATTACHMENTS = 10
MAX_INLINE_BASE64 = -(-max(ft.KIND_LIMITS.values()) // 3) * 4  # base64 of the largest file GigaChat takes
_WHITESPACE = re.compile(rb"\s+")
_MIME_EXTENSIONS = {mime: ext for ext, (_, mime) in reversed(list(ft.TYPES.items()))}  # first extension wins
log = logging.getLogger("gigachat_mcp.server")
_ROOTS: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()  # per connection, see _client_roots

Ready = list[str | tuple[str, bytes]]  # file ids as given, and checked (name, content) to upload


class AttachmentRefused(Exception):
    """An attachment broke a rule; the message names the rule and what to do."""


def prepare(paths: Sequence[str] | None, inline: Sequence[Mapping[str, Any]] | None, roots: list[Path] | None,
            how: str) -> Ready:
    """Every attachment checked and in memory (nothing uploaded yet); `roots` is needed only when a path is
    given (the caller computes it lazily)."""
    paths, inline = list(paths or ()), list(inline or ())
    if len(paths) + len(inline) > MAX_ATTACHMENTS:
        raise AttachmentRefused(f"Cannot attach {len(paths) + len(inline)} files: one message takes at most "
                                f"{MAX_ATTACHMENTS} attachments and inline_attachments together (rule: ten "
                                "attachments per message). Send the rest in a later message.")
    ready: Ready = []
    for item in paths:
        if FILE_ID.match(item):
            ready.append(item)
            continue
        try:
            name, data = read_allowed(_path_of(item), roots or [], how)
        except FileAccessDenied as exc:
            raise AttachmentRefused(str(exc)) from None
        ready.append(_checked(name, data))
    ready.extend(_checked(*decode_inline(entry, index)) for index, entry in enumerate(inline))
    try:
        check_attachments([item for item in ready if not isinstance(item, str)])
    except InvalidRequestError as exc:
        raise AttachmentRefused(str(exc)) from None
    return ready


async def upload(client: AsyncGigaChat, ready: Ready) -> list[str]:
    """The file ids to record: ids as given, content uploaded (the same content once per client)."""
    content = [item for item in ready if not isinstance(item, str)]
    stored = iter(await client.attach(content) if content else ())
    return [item if isinstance(item, str) else next(stored).id for item in ready]


def decode_inline(entry: Mapping[str, Any], index: int) -> tuple[str, bytes]:
    """(file name, bytes) of one inline attachment; its type comes from the name's extension, else mime_type."""
    where = f"inline_attachments[{index}]"
    name = os.path.basename(str(entry.get("name") or "")).strip()
    mime = str(entry.get("mime_type") or "").split(";")[0].strip().lower()
    data_uri = entry.get("data")
    if not mime and isinstance(data_uri, str) and data_uri.startswith("data:"):
        mime = data_uri[5:].partition(",")[0].split(";")[0].strip().lower()
    if not name or "\0" in name:
        raise AttachmentRefused(f"Cannot attach {where}: give it a file name with its extension, e.g. "
                                "'report.pdf' (rule: the name tells GigaChat the file's type).")
    if ft.kind_of(name) is None and mime in _MIME_EXTENSIONS:
        name = f"{name}.{_MIME_EXTENSIONS[mime]}"
    if ft.kind_of(name) is None:
        raise AttachmentRefused(f"Cannot attach {where} ({name!r}{', ' + mime if mime else ''}): GigaChat does not "
                                f"read this type (rule: supported types are {ft.SUPPORTED}).")
    text = entry.get("data")
    if isinstance(text, str) and text.startswith("data:") and "," in text:  # a data: URI is taken as well
        text = text.partition(",")[2]
    if not isinstance(text, str) or not text:
        raise AttachmentRefused(f"Cannot attach {where} ({name!r}): 'data' must be the file's content in base64.")
    if len(text) > MAX_INLINE_BASE64 + len(text) // 64 + 4:  # room for line breaks
        raise AttachmentRefused(_too_big(where, name))
    try:
        data = base64.b64decode(_WHITESPACE.sub(b"", text.encode("ascii")), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise AttachmentRefused(f"Cannot attach {where} ({name!r}): 'data' is not valid base64 (rule: standard "
                                "base64, RFC 4648, with '+', '/' and '=' padding, optionally as a data: URI).") from None
    return name, data


def _path_of(item: str) -> str:
    """A `file://` URI (what hosts hand out for files under their roots) as the local path it names; anything else
    as given. The path then meets the same rules as one given directly."""
    if item[:7].lower() != "file://":
        return item
    parts = urlsplit(item)
    if parts.netloc not in ("", "localhost"):
        raise AttachmentRefused(f"Cannot attach {item!r}: the file URI names another machine ({parts.netloc}) "
                                "(rule: only files on this server's machine are read). Give a path on this "
                                "machine, or send the content in inline_attachments.")
    return url2pathname(parts.path)


def _checked(name: str, data: bytes) -> tuple[str, bytes]:
    """The content as the core checks it: type, per-kind size and emptiness rules, each naming itself."""
    try:
        check_attachments([(name, data)])
    except InvalidRequestError as exc:
        raise AttachmentRefused(str(exc)) from None
    return name, data


def _too_big(where: str, name: str) -> str:
    return (f"Cannot attach {where} ({name!r}): it is larger than GigaChat takes (rule: per-kind size limits: "
            "images 15 MB, documents 40 MB, audio 35 MB).")




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
    """Whether this request came over HTTP (the SDK hands HTTP requests their Starlette request; stdio and
    in-memory ones none), whatever the server was told at build time: a second guard."""
    return ctx.request_context.request is not None


async def _client_roots(ctx: Ctx) -> list[str]:
    """The client's roots (2025-era clients that declare the capability); none otherwise. A client that declared
    `listChanged` is asked once per connection, and again only after it says its roots changed (forget_roots)."""
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.roots is None:
        return []
    cacheable = bool(capabilities.roots.list_changed)
    connection = _connection(ctx.request_context) if cacheable else None
    if connection is not None and connection in _ROOTS:
        return _ROOTS[connection]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # roots are deprecated in the 2026 protocol, still what hosts send
            result = await ctx.session.list_roots()
    except Exception:  # noqa: BLE001 - a client that cannot answer simply has no roots to offer
        log.debug("roots/list failed", exc_info=True)
        return []
    roots = [str(root.uri) for root in result.roots]
    if connection is not None:
        _ROOTS[connection] = roots
    return roots


def _connection(request: ServerRequestContext[Any, Any]) -> Any:
    """The client connection behind a request, if it can key the roots cache (None: ask every time)."""
    try:
        connection = connection_of(request)
        weakref.ref(connection)
    except (AttributeError, TypeError, LookupError, ValueError):
        return None
    return connection


async def forget_roots(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Middleware: `notifications/roots/list_changed` drops that connection's cached roots (asked again next time)."""
    if ctx.method == "notifications/roots/list_changed":
        connection = _connection(ctx)
        if connection is not None:
            _ROOTS.pop(connection, None)
    return await call_next(ctx)
