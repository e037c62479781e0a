"""Slots shared by every replica, held as leases that expire unless renewed, so a dead replica frees its slots.

A lease set is a sorted set of holder -> expiry (Redis server time, ms). Taking a slot drops expired holders and
adds this one if fewer than `capacity` remain, in one script. The replica's heartbeat renews every lease it holds
every third of the lease time. Used for the upstream streams of one GigaChat key (waiting, with the same
"waiting for a free stream" progress as one process) and for each principal's concurrent streams (refusing).

Waiting is first come, first served, so a loop cannot starve a waiter: a caller that waits is in line (a sorted set
of waiter -> when it first asked, with a hash of when each last asked, so one that stopped asking is forgotten
after 3 s), and a free slot goes to the first in line, never to a newcomer. Without it a chat_many run (or any caller taking the next slot the instant it returns one)
wins every race against a waiter polling every quarter second.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio

from .interfaces import LimitExceeded, StateUnavailable
from .redis_link import RedisLink

__all__ = ["LeaseSet", "RedisLimiter", "RedisQuotas"]

_TAKE = """
local now = redis.call('TIME')
local ms = now[1] * 1000 + math.floor(now[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
local waiter = ARGV[4]
if waiter ~= '' then
  local seen = redis.call('HGETALL', KEYS[3])  -- forget waiters that stopped asking (no poll for 3 s)
  for i = 1, #seen, 2 do
    if tonumber(seen[i + 1]) < ms then
      redis.call('HDEL', KEYS[3], seen[i])
      redis.call('ZREM', KEYS[2], seen[i])
    end
  end
  redis.call('ZADD', KEYS[2], 'NX', ms, waiter)  -- in line by when it first asked
  redis.call('HSET', KEYS[3], waiter, ms + 3000)
  redis.call('PEXPIRE', KEYS[2], 6000)
  redis.call('PEXPIRE', KEYS[3], 6000)
  local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
  if free <= 0 or redis.call('ZRANK', KEYS[2], waiter) >= free then return 0 end  -- first come, first served
  redis.call('ZREM', KEYS[2], waiter)
  redis.call('HDEL', KEYS[3], waiter)
elseif redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 4)
return 1
"""

_RENEW = """
local now = redis.call('TIME')
local ms = now[1] * 1000 + math.floor(now[2] / 1000)
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', ms + tonumber(ARGV[1]), ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[1]) * 4)
end
return #KEYS
"""


class LeaseSet:
    """The leases this replica holds, renewed together by the heartbeat."""

    def __init__(self, link: RedisLink, lease: float) -> None:
        self.link = link
        self.lease_ms = int(lease * 1000)
        self.held: dict[str, str] = {}  # holder -> key
        self._take = link.redis.register_script(_TAKE)
        self._renew = link.redis.register_script(_RENEW)

    async def take(self, key: str, capacity: int, waiter: str = "") -> str | None:
        """A slot's holder id, or None when none is free; `waiter` (a caller that will ask again) is listed, and a
        free slot goes to the first in line (see the module's docstring)."""
        holder = f"{self.link.replica}:{uuid.uuid4().hex[:8]}"
        taken = await self.link.call(lambda: self._take(keys=[key, key + ":waiting", key + ":waiting-seen"],
                                                        args=[capacity, self.lease_ms, holder, waiter]))
        if not taken:
            return None
        self.held[holder] = key
        return holder

    async def give_back(self, holder: str) -> None:
        key = self.held.pop(holder, None)
        if key is not None:
            try:
                await self.link.call(lambda: self.link.redis.zrem(key, holder))
            except Exception:  # noqa: BLE001 - unreachable: the lease expires by itself
                pass

    async def renew(self) -> None:
        if self.held:
            holders = list(self.held.items())
            await self.link.call(lambda: self._renew(keys=[k for _, k in holders],
                                                     args=[self.lease_ms, *[h for h, _ in holders]]))


class RedisLimiter:
    """The upstream streams of one GigaChat key, fleet-wide: wait (polling with jitter) for a free lease."""

    def __init__(self, leases: LeaseSet, key: str, count: int) -> None:
        self.leases = leases
        self.key = key
        self.count = count

    @asynccontextmanager
    async def slot(self, on_queued: Callable[[], None]) -> AsyncIterator[None]:
        waiter = uuid.uuid4().hex
        holder = await self.leases.take(self.key, self.count, waiter)
        delay = 0.02
        if holder is None:
            on_queued()
            while holder is None:
                await anyio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.25)
                try:
                    holder = await self.leases.take(self.key, self.count, waiter)
                except StateUnavailable:  # Redis away while queued: keep the place in line, ask again
                    delay = 0.5
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                await self.leases.give_back(holder)


class RedisQuotas:
    """Requests a minute (a counter per principal and minute) and concurrent streams (leases), fleet-wide."""

    def __init__(self, leases: LeaseSet, requests_per_minute: int, streams_per_principal: int) -> None:
        self.leases = leases
        self.link = leases.link
        self.requests_per_minute = requests_per_minute
        self.streams_per_principal = streams_per_principal

    async def admit(self, owner: str) -> None:
        if not self.requests_per_minute:
            return
        now = time.time()
        key = self.link.key("rate", _hashed(owner), str(int(now // 60)))

        async def count() -> int:
            async with self.link.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, 120)
                return int((await pipe.execute())[0])

        if await self.link.call(count) > self.requests_per_minute:
            wait = max(1.0, 60 - now % 60)
            raise LimitExceeded(f"Too many requests: {self.requests_per_minute} a minute are allowed per user. "
                                f"Retry in {wait:.0f} s.", wait)

    @asynccontextmanager
    async def stream(self, owner: str) -> AsyncIterator[None]:
        limit = self.streams_per_principal
        if not limit:
            yield
            return
        holder = await self.leases.take(self.link.key("pstreams", _hashed(owner)), limit)
        if holder is None:
            raise LimitExceeded(f"Too many answers in flight: {limit} at a time are allowed per user. Retry when "
                                "one of them has finished (a few seconds).", 5.0)
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                await self.leases.give_back(holder)


def _hashed(owner: str) -> str:
    import hashlib

    return hashlib.sha256(owner.encode()).hexdigest()[:16]
