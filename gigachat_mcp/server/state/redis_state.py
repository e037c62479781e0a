"""The Redis-backed state of a team server: made once at start-up when `--redis URL` is given."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

import anyio

from .interfaces import SharedState
from .redis_announce import Announcer
from .redis_bus import RedisSubscriptionBus
from .redis_conversations import RedisConversations
from .redis_files import RedisFileOwners
from .redis_leases import LeaseSet, RedisLimiter, RedisQuotas
from .redis_link import UNREACHABLE, RedisLink

if TYPE_CHECKING:
    from ... import Settings

__all__ = ["redis_state"]

log = logging.getLogger("gigachat_mcp.server")


def redis_state(url: str, *, prefix: str, max_conversations: int, max_messages: int, conversation_ttl: float,
                settings: Settings | None, requests_per_minute: int, streams_per_principal: int,
                lease: float = 15.0) -> SharedState:
    link = RedisLink(url, prefix)
    conversations = RedisConversations(link, max_conversations=max_conversations, max_messages=max_messages,
                                       ttl=conversation_ttl, lease=lease)
    bus = RedisSubscriptionBus(link)
    leases = LeaseSet(link, lease)
    key = _stream_key(settings)

    def limiter(count: int) -> RedisLimiter:
        return RedisLimiter(leases, link.key("streams", key), count)

    async def heartbeat() -> None:
        """Renew this replica's leases (streams, answers in flight) every third of their life."""
        while True:
            await anyio.sleep(lease / 3)
            try:
                await conversations.renew()
                await leases.renew()
            except UNREACHABLE as exc:
                link.warn("renewing leases", exc)
            except Exception:  # noqa: BLE001 - the heartbeat must outlive any one failure
                log.exception("lease renewal failed")

    shared_tokens = None
    if settings is not None and settings.key_material:
        from .redis_tokens import redis_token_caches

        shared_tokens = redis_token_caches(link.blocking_client(), link.shown, link.prefix, settings.key_material, lease)

    state = SharedState(conversations=conversations, bus=bus, limiter=limiter, backend="redis",
                        announce=Announcer(conversations, bus),  # save + publish, group-committed
                        quotas=(RedisQuotas(leases, requests_per_minute, streams_per_principal)
                                if requests_per_minute or streams_per_principal else None),
                        starters=[bus.run, heartbeat], closers=[link.close], ready=link.ping,
                        files=RedisFileOwners(link, conversation_ttl), shared_tokens=shared_tokens, link=link,
                        request_stop=bus.request_stop, relay_stops=bus.relay_stops)
    return state


def _stream_key(settings: Settings | None) -> str:
    """Which upstream key the stream limit belongs to, without revealing it."""
    parts: Any = (settings.base_url, *settings.key_material) if settings is not None else ("none",)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
