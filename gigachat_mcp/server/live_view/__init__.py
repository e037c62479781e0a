"""The live view: an MCP App (`io.modelcontextprotocol/ui`) that shows a `chat` answer while it is written.

Hosts that render MCP Apps (Claude, ChatGPT, VS Code Copilot, Goose, ...) show `ui://gigachat/answer.html` in a
sandboxed frame beside the `chat` call. No host forwards progress into the frame, so the page polls the
app-only tool `read_answer` (a long poll, see `_reading`) and may stop the answer with `stop_answer`.
A client that did not negotiate Apps sees none of this: `chat` keeps no `_meta.ui`, and the app-only tools
and the page are left out of its listings, so its tools, resources and results stay exactly as without it.

Why the gate stays (GIGACHAT_MCP_APPS=auto, the default): the Apps spec says "Servers SHOULD check client
capabilities before registering UI-enabled tools" (ext-apps specification/2026-01-26/apps.mdx, "Server Behavior"),
and hosts that render Apps fix themselves to announce it rather than servers guessing (Inspector
https://github.com/modelcontextprotocol/inspector/issues/2403 and /1740, MCPJam/inspector#1532, sunpeak#87,
nicobailon/pi-mcp-adapter#465). Offered to everyone, the app-only tools would reach the model in hosts that do not
enforce `_meta.ui.visibility` (only Apps hosts know it). But the reference host's released basic-host renders any
tool with `_meta.ui.resourceUri` while announcing nothing (ext-apps examples/basic-host/src/implementation.ts:
`new Client(IMPLEMENTATION)` without capabilities, then `getToolUiResourceUri(tool)`), so GIGACHAT_MCP_APPS=always
offers the view to every client, for operators whose hosts render Apps without announcing them; `never` turns it off.

Imported only by server.py (this module uses mcp; the core never does).
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from mcp.server.apps import APP_MIME_TYPE, Apps, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resources import FunctionResource
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from ..context import Ctx
from ..conversations import ID_PATTERN, Conversation
from ..state.interfaces import Conversations
from .reading import RECENT, Changes, Slice, last_prompt, read_slice

if TYPE_CHECKING:
    from ..turns import TurnRunner

__all__ = ["APPS_VARIABLE", "VIEW_URI", "LiveView", "apps_offer", "page_html"]

APPS_VARIABLE = "GIGACHAT_MCP_APPS"
APPS_CHOICES = ("auto", "always", "never")
log = logging.getLogger("gigachat_mcp.server")

VIEW_URI = "ui://gigachat/answer.html"
APP_ONLY_TOOLS = ("read_answer", "stop_answer")
MAX_WAIT_MS = 25_000  # under the 30 s many hosts allow a call from a frame
CANDIDATES = 50  # recent conversations searched when the page knows only the prompt


def apps_offer(environ: dict[str, str] | None = None) -> str:
    """GIGACHAT_MCP_APPS: auto (to clients that announce Apps), always, or never; a bad value is logged, not fatal
    (the server still starts), and means auto."""
    raw = (dict(os.environ) if environ is None else environ).get(APPS_VARIABLE, "").strip().lower() or "auto"
    if raw not in APPS_CHOICES:
        log.warning("%s=%r is not one of auto, always, never; using auto (the live view for hosts that announce "
                    "MCP Apps).", APPS_VARIABLE, raw)
        return "auto"
    return raw


@functools.cache
def page_html() -> str:
    """The page, read from the package on first use (not at import or start-up)."""
    return resources.files(__package__).joinpath("answer.html").read_text(encoding="utf-8")


class AnswerSlice(BaseModel):
    """What `read_answer` returns: the answer's text from `offset` on, and the turn's state."""

    conversation_id: str | None = Field(description="The conversation (null while the turn has not started).")
    offset: int = Field(description="Where `text` starts in the answer (0 again when a new turn began).")
    text: str = Field(description="The answer's text from `offset` on (at most 100,000 characters a call).")
    length: int = Field(description="The answer's length so far.")
    status: str = Field(description="pending, queued, streaming, done, error or cancelled.")
    model: str | None = None
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    error: str | None = None


class StopOutcome(BaseModel):
    conversation_id: str
    stopped: bool = Field(description="True when a running answer was stopped by this call.")
    status: str = Field(description="The conversation's status afterwards (cancelled when stopped).")
    length: int = Field(description="Characters of the answer kept.")


class LiveView:
    """The Apps extension (page + app-only tools) and the listing filter, for one server.

    `find(conversation_id, ctx)` is the lookup the other tools use (it raises ToolError for an id the caller may
    not read), so whatever rules decide who reads a conversation decide who reads its live answer too.
    `runner_of(ctx)` is the server's turn runner, or None before the first chat; `owner_of()` the principal of
    the request (None without auth), whose recent conversations a search by prompt reads. `relay_stop(id, owner)`
    asks the replica streaming a conversation to stop it (the shared bus; None in memory, where no other replica
    streams), so Stop works whichever replica the host's call lands on."""

    def __init__(self, store: Conversations, find: Callable[[str, Ctx], Awaitable[Conversation]],
                 runner_of: Callable[[Ctx], TurnRunner | None], uri_of: Callable[[Conversation], str],
                 owner_of: Callable[[], str | None] = lambda: None, offer: str = "auto",
                 relay_stop: Callable[[str, str | None], Awaitable[bool]] | None = None) -> None:
        self.store = store
        self.offer = offer  # auto, always or never (apps_offer)
        self.relay_stop = relay_stop
        self.owner_of = owner_of
        self.find = find
        self.runner_of = runner_of
        self.uri_of = uri_of
        self.changes = Changes()
        self.apps = Apps()
        self._register()

    def on_event(self, event: Any) -> None:
        """Subscription-bus listener: a changed conversation wakes the polls waiting on it."""
        uri = getattr(event, "uri", None)
        if isinstance(uri, str):
            self.changes.changed(uri)

    async def listing(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """Middleware: Apps clients see `chat` bound to the page and the app-only tools (listed last); others see
        the listings exactly as without the live view."""
        result = await call_next(ctx)
        if ctx.method not in ("tools/list", "resources/list") or not isinstance(result, dict):
            return result  # the runner hands middleware the wire dict
        apps = self.offer == "always" or (self.offer == "auto" and client_supports_apps(ctx))
        if ctx.method == "tools/list" and isinstance(result.get("tools"), list):
            own = [t for t in result["tools"] if t.get("name") not in APP_ONLY_TOOLS]
            if apps:
                own = [{**t, "_meta": {**t.get("_meta", {}), "ui": {"resourceUri": VIEW_URI}}}
                       if t.get("name") == "chat" else t for t in own]
                own += [t for t in result["tools"] if t.get("name") in APP_ONLY_TOOLS]
            result = {**result, "tools": own}
        elif ctx.method == "resources/list" and isinstance(result.get("resources"), list) and not apps:
            result = {**result, "resources": [r for r in result["resources"] if r.get("uri") != VIEW_URI]}
        return result

    async def _locate(self, ctx: Ctx, conversation_id: str | None, prompt: str | None
                      ) -> Callable[[], Awaitable[Conversation | None]]:
        """The turn the page shows, looked up afresh on every wake (a shared store hands out snapshots): by id
        (checked at once, so an unreadable id fails fast), else by prompt among the conversations this caller
        may read."""
        found: list[str] = []
        first: list[Conversation] = []  # the id's check at once doubles as the first poll's read
        if conversation_id is not None:
            first.append(await self.find(conversation_id, ctx))
            found.append(conversation_id)

        async def locate() -> Conversation | None:
            if found:
                conversation = first.pop() if first else await self.find(found[0], ctx)
                return conversation if prompt is None or last_prompt(conversation) == prompt else None
            now = time.time()
            finished: Conversation | None = None
            for candidate_id in await self.store.recent(CANDIDATES, self.owner_of()):  # newest first
                try:
                    candidate = await self.find(candidate_id, ctx)  # the same rule as every other read
                except ToolError:
                    continue
                if last_prompt(candidate) != prompt:
                    continue
                if candidate.busy:  # an answer in flight wins: the rest need not be read
                    found.append(candidate.id)
                    return candidate
                if finished is None and now - candidate.updated_at <= RECENT:
                    finished = candidate
            if finished is not None:
                found.append(finished.id)
            return finished

        return locate

    def _register(self) -> None:
        view = self

        self.apps.add_resource(FunctionResource(
            uri=VIEW_URI, name="gigachat-answer", title="GigaChat answer, live",
            description="Shows a GigaChat answer while it is written, with Stop and Copy.",
            mime_type=APP_MIME_TYPE, fn=page_html, meta={"ui": {"prefersBorder": True, "permissions": {"clipboardWrite": {}}}}))

        @self.apps.tool(resource_uri=VIEW_URI, visibility=["app"], name="read_answer",
                        title="Read a GigaChat answer as it is written",
                        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
        async def read_answer(
            ctx: Ctx,
            conversation_id: Annotated[str | None, Field(pattern=ID_PATTERN, description=(
                "The conversation, when known (from the chat result or its arguments)."))] = None,
            prompt: Annotated[str | None, Field(min_length=1, max_length=200_000, description=(
                "The chat call's prompt: finds its turn before the conversation id is known."))] = None,
            offset: Annotated[int, Field(ge=0, le=10_000_000, description=(
                "Characters of the answer the page already has."))] = 0,
            wait_ms: Annotated[int, Field(ge=0, le=MAX_WAIT_MS, description=(
                "Wait up to this long for more text or the end of the answer."))] = 10_000,
        ) -> AnswerSlice:
            """For the live view: the answer's text after `offset` and its status, waiting up to wait_ms."""
            if conversation_id is None and prompt is None:
                raise ToolError("Pass conversation_id, or the chat call's prompt to find its answer.")
            locate = await view._locate(ctx, conversation_id, prompt)
            part: Slice = await read_slice(locate, view.uri_of, view.changes, offset, wait_ms / 1000)
            return AnswerSlice(**part.__dict__)

        @self.apps.tool(resource_uri=VIEW_URI, visibility=["app"], name="stop_answer",
                        title="Stop a GigaChat answer",
                        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False,
                                                    idempotent_hint=True, open_world_hint=False))
        async def stop_answer(
            conversation_id: Annotated[str, Field(pattern=ID_PATTERN, description="The conversation.")],
            ctx: Ctx,
        ) -> StopOutcome:
            """For the live view's Stop button: end the answer being written (the text so far is kept)."""
            conversation = await view.find(conversation_id, ctx)  # another principal's id reads as unknown
            return await view.stop(ctx, conversation)

    async def stop(self, ctx: Ctx, conversation: Conversation) -> StopOutcome:
        """Stop the turn here, or relay the stop to the replica streaming it; then wait (5 s at most) for the
        conversation to say it ended, so the page shows what was kept."""
        runner = self.runner_of(ctx)
        here = runner is not None and runner.stop(conversation.id)
        relayed = False
        if not here and conversation.busy:
            if self.relay_stop is None or not await self.relay_stop(conversation.id, self.owner_of()):
                raise ToolError("This answer is being written by another server process that cannot be reached "
                                "now; retry Stop in a few seconds, or wait for it to finish.")
            relayed = True
        if here or relayed:
            with anyio.move_on_after(5):
                while conversation.busy:
                    await self.changes.wait(self.uri_of(conversation), 0.25)
                    conversation = await self.find(conversation.id, ctx)
        stopped = here or (relayed and conversation.status == "cancelled")
        return StopOutcome(conversation_id=conversation.id, stopped=stopped, status=conversation.status,
                           length=conversation.answer_length)
