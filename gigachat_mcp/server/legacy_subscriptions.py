"""2025-era `resources/subscribe`: which sessions hear about which conversations, bounded and freed on close.

2026 clients use `subscriptions/listen` (served by MCPServer itself); 2025 ones subscribe per URI and stay
subscribed for as long as their session lives, so each subscription is held in this process. To keep that small:
- only our own URIs are taken, checked exactly: `gigachat://conversations/<16 lowercase hex>` of a conversation the
  caller can see (`gigachat://models` and `gigachat://files/<uuid>` are accepted, but they never change, so nothing
  is kept). Anything else (`GIGACHAT://…`, `gigachat://Conversations/…`, arbitrary text) is refused: it could
  never be notified;
- each subscribe counts against the principal's requests a minute (`--requests-per-minute`);
- a session keeps at most PER_SESSION subscriptions; past that, subscribe is refused saying so;
- a session's subscriptions are dropped when it closes (and a session that cannot be reached is dropped too).

The request handlers are in updates.py; this module holds the bookkeeping and the URI rules.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, INVALID_REQUEST

from .conversations import ID_PATTERN

__all__ = ["PER_SESSION", "Exists", "LegacySubscriptions", "check", "kept"]

PER_SESSION = 256  # subscriptions one 2025-era session may hold at once (README, "Team server")
_CONVERSATION = re.compile(r"gigachat://conversations/(" + ID_PATTERN.strip("^$") + ")")
_UNCHANGING = re.compile(r"gigachat://models|gigachat://files/[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
Exists = Callable[[str], Awaitable[bool]]  # whether the caller can see this conversation id


def kept(uri: str) -> bool:
    """Whether a subscription to `uri` is held: only conversations change (models and files never do)."""
    return _CONVERSATION.fullmatch(uri) is not None


class LegacySubscriptions:
    """Subscribed URIs per session (the SDK's per-client Connection) and sessions per URI."""

    def __init__(self, per_session: int = PER_SESSION) -> None:
        self.per_session = per_session
        self._sessions: dict[Any, set[str]] = {}
        self._by_uri: dict[str, set[Any]] = {}

    def __len__(self) -> int:
        """Subscriptions held, all sessions together."""
        return sum(len(uris) for uris in self._sessions.values())

    def add(self, connection: Any, uri: str) -> None:
        uris = self._sessions.get(connection)
        if uris is None:
            uris = self._sessions[connection] = set()
            connection.exit_stack.callback(self.forget, connection)  # the SDK unwinds it when the session closes
        if uri in uris:
            return
        if len(uris) >= self.per_session:
            raise MCPError(code=INVALID_REQUEST, message=(
                f"Too many subscriptions on this session: at most {self.per_session} are kept per session. "
                "Unsubscribe (resources/unsubscribe) from conversations you no longer follow, or open a new "
                "session."))
        uris.add(uri)
        self._by_uri.setdefault(uri, set()).add(connection)

    def remove(self, connection: Any, uri: str) -> None:
        self._sessions.get(connection, set()).discard(uri)
        self._drop(uri, connection)

    def forget(self, connection: Any) -> None:
        """Everything a session subscribed to (it closed, or cannot be reached)."""
        for uri in self._sessions.pop(connection, ()):
            self._drop(uri, connection)

    def _drop(self, uri: str, connection: Any) -> None:
        sessions = self._by_uri.get(uri)
        if sessions is not None:
            sessions.discard(connection)
            if not sessions:
                del self._by_uri[uri]

    async def tell(self, uri: str) -> None:
        """Send `notifications/resources/updated` to every session subscribed to `uri`."""
        for connection in list(self._by_uri.get(uri, ())):
            try:
                await connection.send_resource_updated(uri)
            except Exception:  # noqa: BLE001 - a session that left is simply forgotten
                self.forget(connection)


async def check(uri: str, exists: Exists) -> None:
    """Refuse a URI that is not exactly one of ours, or a conversation the caller cannot see."""
    conversation = _CONVERSATION.fullmatch(uri)
    if conversation is None and not _UNCHANGING.fullmatch(uri):
        shown = uri if len(uri) <= 80 else uri[:80] + "…"
        raise MCPError(code=INVALID_PARAMS, message=(
            f"Cannot subscribe to {shown!r}: not a resource of this server. Subscribe to a conversation's "
            "resource_uri exactly as a chat result gives it: gigachat://conversations/<conversation_id> "
            "(lowercase; the id is 16 hex digits)."), data={"uri": shown})
    if conversation is not None and not await exists(conversation.group(1)):
        raise MCPError(code=INVALID_PARAMS, message=(
            f"Unknown conversation {conversation.group(1)!r}: it never existed, or it was dropped. Start a new one "
            "with the chat tool."), data={"uri": uri})

