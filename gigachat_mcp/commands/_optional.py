"""Optional extras a command needs, checked before it starts, so a missing one is one line naming the install."""

from __future__ import annotations

import importlib.util


def redis_missing(redis_url: str | None) -> str | None:
    """The message for a Redis URL given without the `redis` extra installed; None when all is well.
    Looked up, not imported: only the Redis state imports redis."""
    if not redis_url or importlib.util.find_spec("redis") is not None:
        return None
    return ("--redis (or GIGACHAT_MCP_REDIS_URL) needs the redis extra: pip install 'gigachat-mcp[redis]' "
            "(or pip install redis), then run the command again.")
