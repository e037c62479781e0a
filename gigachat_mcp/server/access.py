"""Who is asking, and which conversations they may read: a conversation belongs to the principal whose request
made it, and anyone else's id reads as unknown (the same words as an id that never existed)."""

from __future__ import annotations

from mcp.server.mcpserver.exceptions import ToolError

from .conversations import Conversation
from .state import Conversations, StateUnavailable

__all__ = ["current_owner", "known"]


def current_owner() -> str | None:
    """The authenticated principal of this request (None when the server runs without auth)."""
    from mcp.server.auth.middleware.auth_context import get_access_token

    token = get_access_token()
    if token is None:
        return None
    subject = token.subject or (token.claims or {}).get("sub")
    issuer = (token.claims or {}).get("iss")
    return f"{issuer} {subject}" if subject and issuer else token.client_id


async def known(store: Conversations, conversation_id: str, owner: str | None) -> Conversation:
    """The conversation, or a tool error that says what to do when `owner` may not read it (or it is gone)."""
    try:
        conversation = await store.find(conversation_id, owner)
    except StateUnavailable as exc:
        raise ToolError(str(exc)) from None
    if conversation is None:
        raise ToolError(f"Unknown conversation_id {conversation_id!r}: it never existed, or it was dropped (this "
                        f"server keeps the {store.max_conversations} most recent). Omit conversation_id to start "
                        "a new conversation.") from None
    return conversation
