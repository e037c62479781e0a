"""The server's shared state behind small interfaces, with an in-memory and a Redis implementation each.

`open_state()` picks the implementations once at start-up: in memory (stdio, one HTTP process) or Redis
(`--redis URL`). Nothing else in the server knows which one runs. Redis is imported only when configured.
"""

from .interfaces import (
    ConversationBusy,
    ConversationCapReached,
    Conversations,
    FileOwners,
    LimitExceeded,
    Quotas,
    SharedState,
    StateUnavailable,
    StreamLimiter,
    UnknownFile,
    open_state,
)

__all__ = ["ConversationBusy", "ConversationCapReached", "Conversations", "FileOwners", "LimitExceeded", "Quotas",
           "SharedState", "StateUnavailable", "StreamLimiter", "UnknownFile", "open_state"]
