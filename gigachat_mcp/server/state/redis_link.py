"""The connection to Redis every Redis-backed piece shares, and what an unreachable Redis means to a user."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..http.telemetry import metrics
from .interfaces import StateUnavailable
from .redis_connect import Target, async_client, parse_target, sync_client

__all__ = ["UNREACHABLE", "RedisLink", "safe_url"]

log = logging.getLogger("gigachat_mcp.server")
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
T = TypeVar("T")


def safe_url(url: str) -> str:
    """The URL without its password or options, for messages and logs (Sentinel URLs list several hosts)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class RedisLink:
    """One asyncio client (a pool that reconnects by itself), the key prefix, and this replica's id."""

    def __init__(self, url: str, prefix: str, max_connections: int = 128) -> None:
        self.url = url
        self.target: Target = parse_target(url)
        self.shown = safe_url(url)
        self.prefix = prefix.rstrip(":")
        self.replica = uuid.uuid4().hex[:12]
        # A connection broken by a Redis restart is replaced and the command sent again (once, at once): what
        # failed before reaching Redis is safe to repeat, and every write here is idempotent or checked.
        # A bounded pool that waits for a free connection: a burst of chats queues briefly instead of failing.
        # Through Sentinel, each new connection asks for the master: after a fail-over the broken connections
        # are replaced by ones to the new master, with no restart.
        self.redis: Any = async_client(self.target, max_connections=max_connections, timeout=30, socket_timeout=3,
                                       socket_connect_timeout=2, health_check_interval=15,
                                       retry=Retry(NoBackoff(), 1),
                                       retry_on_error=[RedisConnectionError, RedisTimeoutError])
        self.round_trips = 0  # counted for the benchmark: one per command or pipeline sent
        self._warned_at = 0.0

    def blocking_client(self) -> Any:
        """A blocking client to the same Redis (or the same Sentinel-managed master), for worker threads."""
        return sync_client(self.target, socket_timeout=3, socket_connect_timeout=2)

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def unavailable(self) -> StateUnavailable:
        """What a client is told: not where Redis is (the log says that, see `warn`)."""
        return StateUnavailable("The server cannot reach its shared store; retry in a few seconds (it reconnects "
                                "by itself). If it persists, ask the operator to check the server's log.")

    def warn(self, what: str, exc: BaseException) -> None:
        """Log an unreachable Redis at most every 10 s (not per chunk)."""
        now = time.monotonic()
        if now - self._warned_at > 10:
            self._warned_at = now
            log.warning("Redis %s unreachable while %s (%s); will retry", self.shown, what, type(exc).__name__)

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run one round trip; an unreachable Redis becomes StateUnavailable with what to do."""
        self.round_trips += 1
        try:
            with metrics().redis_round_trip("command"):  # Redis latency, by a fixed word (never a key)
                return await operation()
        except UNREACHABLE as exc:
            self.warn("serving a request", exc)
            raise self.unavailable() from None

    async def ping(self) -> str | None:
        try:
            await self.redis.ping()
            return None
        except UNREACHABLE as exc:
            self.warn("answering /readyz", exc)  # the address goes to the log; /readyz needs no auth
            return "the shared store (Redis) is unreachable"

    async def close(self) -> None:
        await self.redis.aclose()
        await self.redis.connection_pool.disconnect()
