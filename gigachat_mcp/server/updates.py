"""Telling listeners a conversation changed: the subscription bus (2026 `subscriptions/listen`, served by MCPServer
itself; other replicas through Redis) and the 2025-era resources/subscribe sessions, which this module serves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import ResourceUpdated
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

from . import sdk
from .conversations import Conversation
from .names import conversation_uri
from .state import SharedState

__all__ = ["Updates"]


class Updates:
    """Publishes a conversation's changes to every kind of listener. With `owned`, each event carries the
    conversation's owner, so a principal's listen stream hears only its own (see state.subscriptions)."""

    def __init__(self, shared: SharedState, bus: Any, owned: bool, current_owner: Callable[[], str | None]) -> None:
        self.shared = shared
        self.bus = bus
        self.owned = owned
        self.current_owner = current_owner
        self.legacy_subscribers: dict[str, set[Any]] = {}
        bus.on_remote(self.tell_legacy)  # changes made on other replicas reach this replica's 2025-era subscribers

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
        await self.tell_legacy(uri)

    async def tell_legacy(self, uri: str) -> None:
        for connection in list(self.legacy_subscribers.get(uri, ())):
            try:
                await connection.send_resource_updated(uri)
            except Exception:  # noqa: BLE001 - a subscriber that left is simply forgotten
                self.legacy_subscribers[uri].discard(connection)

    # --- 2025-era subscriptions (2026 clients use subscriptions/listen, served by MCPServer itself) -------------

    async def subscribe(self, ctx: ServerRequestContext, params: SubscribeRequestParams) -> EmptyResult:
        conversation_id = str(params.uri).rpartition("/")[2]
        if str(params.uri).startswith("gigachat://conversations/") and await self.shared.conversations.find(
                conversation_id, self.current_owner()) is None:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown conversation {conversation_id!r}.")
        self.legacy_subscribers.setdefault(str(params.uri), set()).add(sdk.connection_of(ctx))
        return EmptyResult()

    async def unsubscribe(self, ctx: ServerRequestContext, params: UnsubscribeRequestParams) -> EmptyResult:
        self.legacy_subscribers.get(str(params.uri), set()).discard(sdk.connection_of(ctx))
        return EmptyResult()

    def register(self, server: MCPServer[Any]) -> None:
        """Serve the 2025-era resources/subscribe and resources/unsubscribe on `server`."""
        sdk.add_request_handler(server, "resources/subscribe", SubscribeRequestParams, self.subscribe)
        sdk.add_request_handler(server, "resources/unsubscribe", UnsubscribeRequestParams, self.unsubscribe)
