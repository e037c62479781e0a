"""build_server(): the MCP server wired together (settings, shared state, lifespan, one register_* call per group).

`build_server()` returns the MCPServer, so tests connect to it in memory; `gigachat-mcp` serves it over stdio
(or streamable HTTP). The answer streams twice: as progress notifications on the tool call (what hosts show)
and into `gigachat://conversations/{id}`, whose subscribers hear about every change (both protocol eras).
Failures are tool errors whose text says what to do; nothing a tool does can end the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer

from .. import ConfigError, Settings, __version__
from .access import current_owner, known
from .attachments import forget_roots
from .checked_server import CheckedServer
from .completions import register_completions
from .context import Live, Parts, live
from .conversations import ConversationStore
from .live_view import LiveView, apps_offer
from .names import conversation_uri
from .prompts import register_prompts
from .redaction import install_redaction
from .resources import register_resources
from .state import SharedState, open_state
from .tools_bulk import register_bulk_tools
from .tools_chat import register_chat_tools
from .tools_conversations import register_conversation_tools
from .tools_info import register_info_tools
from .updates import Updates

__all__ = ["build_server"]

INSTRUCTIONS = """\
This server asks Sber's GigaChat, a Russian-language-first LLM, and returns its answer.
Use `chat` for a second opinion, for Russian text, or when the user asks for GigaChat by name. Pass the
returned `conversation_id` back to continue the same conversation (the system prompt is kept). The answer
streams as progress notifications; for long answers pass `background: true`, then read the resource
`gigachat://conversations/{id}` or call `get_conversation` with `wait_seconds`. `list_models` names the models.
GigaChat sees images and reads documents: pass file ids or local paths in `attachments` (over stdio: under the
user's roots; over HTTP only the server's GIGACHAT_MCP_FILE_ROOTS), or the content itself in `inline_attachments`.
It draws when asked ("нарисуй кота"); drawn images come back as image content and as `gigachat://files/{id}`.
For recent facts (news, prices, today's events) pass `web_search: true`; the sources come back as links (it works
unless the operator pinned GIGACHAT_API_VERSION=v1, and then the error says so). When you need fields rather than
prose, pass `json_schema` and read `json`. For hard problems pass `reasoning_effort`.
For many items at once (translate 200 strings, label 500 titles) use `chat_many` (at most 500 per call; answers
in order, a failed row carries its error; `background: true` for long runs, read with `get_conversation`).
"""
TOOLS_LISTED = ("chat", "list_models", "get_conversation", "count_tokens", "generate_image", "embed", "get_balance",
                "chat_many")


def build_server(
    settings: Settings | None = None,
    *,
    max_conversations: int = 100,
    max_messages: int = 40,
    progress_interval: float = 0.1,
    progress_tail: int = 2000,
    conversations: ConversationStore | None = None,
    state: SharedState | None = None,
    auth: tuple[Any, Any] | None = None,
    trust_client_roots: bool = False,
) -> MCPServer:
    """The GigaChat MCP server. Settings come from GIGACHAT_* unless given; a bad setting is reported by the
    tools (naming the variable), so the server still starts and the host can show the error. Pass
    `conversations` to look at (or share) the store; otherwise one is made with the two caps. A team server
    passes `state` (Redis-backed, see state/) and `auth` (a TokenVerifier and its AuthSettings).
    `trust_client_roots`: only a client on this machine (stdio) may widen the readable directories with its
    roots; left False (HTTP), only GIGACHAT_MCP_FILE_ROOTS is read, whatever roots a client declares."""
    config_error: ConfigError | None = None
    if settings is None:
        try:
            settings = Settings.resolve()
        except ConfigError as exc:
            config_error = exc
    if state is None:
        state = open_state(max_conversations=max_conversations, max_messages=max_messages, store=conversations)
    bus = state.bus
    if auth:  # each principal's listen streams hear only about its own conversations
        from .state.subscriptions import PrincipalBus

        bus = PrincipalBus(bus, current_owner)
    parts = Parts(state, Updates(state, bus, owned=bool(auth), current_owner=current_owner),
                  trust_client_roots=trust_client_roots)
    store = parts.store
    state.stoppers.append(  # a draining HTTP server stops what is left after --grace (http/drain.py)
        lambda why: sum(current.runner.stop_all(why) for current in parts.running if current.runner))
    view = LiveView(store, find=lambda cid, ctx: known(store, cid, current_owner()),  # the live view for Apps hosts
                    runner_of=lambda ctx: live(ctx).runner, uri_of=lambda c: conversation_uri(c.id),
                    owner_of=current_owner, offer=apps_offer(),
                    relay_stop=state.request_stop)
    _stops_from_elsewhere(state, parts)
    state.bus.subscribe(view.on_event)  # every principal's changes: each poll reads only what its caller may
    server = CheckedServer(
        "gigachat",
        title="GigaChat",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=_lifespan(parts, lambda: Live(settings, config_error, progress_interval, progress_tail, state)),
        subscriptions=bus,
        log_level=(settings.log_level if settings else "WARNING"),
        extensions=[view.apps],
        token_verifier=auth[0] if auth else None,
        auth=auth[1] if auth else None,
        listing_order=TOOLS_LISTED,
        legacy_subscriptions=parts.updates.legacy,
    )
    server.middleware.append(view.listing)
    server.middleware.append(forget_roots)  # roots/list is asked again only after the client says they changed
    install_redaction(settings)
    register_chat_tools(server, parts)
    register_info_tools(server)
    register_conversation_tools(server, parts)
    register_bulk_tools(server, parts)
    register_resources(server, parts)
    register_completions(server, parts, register_prompts(server))
    parts.updates.register(server)
    return server


def _stops_from_elsewhere(state: SharedState, parts: Parts) -> None:
    """A bus shared by replicas (Redis) relays Stop: this replica stops its turn for a conversation when the
    principal asking owns it (checked where it was asked, and again here)."""
    if state.relay_stops is None:
        return

    def stop_here(conversation_id: str, owner: str | None) -> bool:
        if (parts.store.owner(conversation_id) or None) != (owner or None):
            return False
        return any(current.runner.stop(conversation_id) for current in parts.running if current.runner)

    state.relay_stops(stop_here)


def _lifespan(parts: Parts, make: Callable[[], Live]
              ) -> Callable[[MCPServer[Live]], AbstractAsyncContextManager[Live]]:
    """While the server runs: the shared state's background work, and the client closed at the end."""

    @asynccontextmanager
    async def lifespan(server: MCPServer[Live]) -> AsyncIterator[Live]:
        current = make()
        async with anyio.create_task_group() as tasks:
            current.tasks = tasks
            for start in parts.shared.starters:  # the shared state's background work (pub/sub reader, leases)
                tasks.start_soon(start)
            parts.running.append(current)
            try:
                yield current
            finally:
                parts.running.remove(current)
                tasks.cancel_scope.cancel()
                if current.runner is not None:
                    with anyio.CancelScope(shield=True):
                        await current.runner.client.aclose()

    return lifespan
