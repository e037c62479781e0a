"""Telling listeners a conversation changed: the subscription bus (2026 `subscriptions/listen`, served by MCPServer
itself; other replicas through Redis) and the 2025-era resources/subscribe sessions, which this module serves
(bounded, checked and freed on close: see legacy_subscriptions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import ResourceUpdated
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_REQUEST, EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

from . import sdk
from .conversations import Conversation
from .legacy_subscriptions import LegacySubscriptions, check, kept
from .names import conversation_uri
from .state import LimitExceeded, SharedState, StateUnavailable

__all__ = ["Updates"]


class Updates:
    """Publishes a conversation's changes to every kind of listener. With `owned`, each event carries the
    conversation's owner, so a principal's listen stream hears only its own (see state.subscriptions)."""

    def __init__(self, shared: SharedState, bus: Any, owned: bool, current_owner: Callable[[], str | None]) -> None:
        self.shared = shared
        self.bus = bus
        self.owned = owned
        self.current_owner = current_owner
        self.legacy = LegacySubscriptions()  # 2025-era resources/subscribe: bounded per session, freed on close
        bus.on_remote(self.legacy.tell)  # changes made on other replicas reach this replica's 2025-era subscribers

    async def publish(self, conversation: Conversation) -> None:
        uri = conversation_uri(conversation.id)
        if self.owned:
            from .state.subscriptions import OwnedUpdate

            event: ResourceUpdated = OwnedUpdate(uri=uri, owner=self.shared.conversations.owner(conversation.id))
        else:
            event = ResourceUpdated(uri=uri)
        if self.shared.announce is not None:  # Redis: the new text and the event in one round trip
            await self.shared.announce(conversation, event)
        else:  # in memory: the conversation is the live object; tell this process's listeners
            await self.bus.publish(event)
        await self.legacy.tell(uri)

    # --- 2025-era subscriptions (2026 clients use subscriptions/listen, served by MCPServer itself) -------------

    async def subscribe(self, ctx: ServerRequestContext, params: SubscribeRequestParams) -> EmptyResult:
        uri = str(params.uri)
        quotas = self.shared.quotas
        try:
            if quotas is not None:  # each subscribe counts against the principal's requests a minute
                await quotas.admit(self.current_owner() or "")
            await check(uri, self.visible)
        except LimitExceeded as exc:
            raise MCPError(code=INVALID_REQUEST, message=str(exc), data={"retry_after": exc.retry_after}) from None
        except StateUnavailable as exc:
            raise MCPError(code=INVALID_REQUEST, message=str(exc)) from None
        if kept(uri):
            self.legacy.add(sdk.connection_of(ctx), uri)
        return EmptyResult()

    async def unsubscribe(self, ctx: ServerRequestContext, params: UnsubscribeRequestParams) -> EmptyResult:
        self.legacy.remove(sdk.connection_of(ctx), str(params.uri))
        return EmptyResult()

    async def visible(self, conversation_id: str) -> bool:
        """Whether the caller can see this conversation (another principal's is as unknown as a missing one)."""
        return await self.shared.conversations.find(conversation_id, self.current_owner()) is not None

    def register(self, server: MCPServer[Any]) -> None:
        """Serve the 2025-era resources/subscribe and resources/unsubscribe on `server`."""
        sdk.add_request_handler(server, "resources/subscribe", SubscribeRequestParams, self.subscribe)
        sdk.add_request_handler(server, "resources/unsubscribe", UnsubscribeRequestParams, self.unsubscribe)
