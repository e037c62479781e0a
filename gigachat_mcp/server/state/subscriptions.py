"""Per-principal subscriptions: change events carry their conversation's owner, and each 2026 `subscriptions/listen`
stream is shown only its own principal's (another principal's conversation id stays unknown when subscribing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.subscriptions import ResourceUpdated, ServerEvent

__all__ = ["OwnedUpdate", "PrincipalBus"]


@dataclass(frozen=True)
class OwnedUpdate(ResourceUpdated):
    """ResourceUpdated for a conversation, with the principal that owns it (None without auth)."""

    owner: str | None = None


class PrincipalBus:
    """The bus as MCPServer's listen handler sees it: a stream opened by one principal hears only its own."""

    def __init__(self, bus: Any, current_owner: Callable[[], str | None]) -> None:
        self.bus = bus
        self.current_owner = current_owner

    async def publish(self, event: ServerEvent) -> None:
        await self.bus.publish(event)

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        owner = self.current_owner()  # called in the listen request, where the caller's token is known

        def deliver(event: ServerEvent) -> None:
            if isinstance(event, OwnedUpdate) and event.owner != owner:
                return
            listener(event)

        return self.bus.subscribe(deliver)

    def on_remote(self, listener: Any) -> None:
        self.bus.on_remote(listener)
