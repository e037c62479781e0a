"""Which principal's turns made which files, in Redis, so every replica answers the same.

All principals share one GigaChat key, so GigaChat would hand any of them any file of the key: ownership is the
server's. Per principal (hashed, like the other per-principal keys) a sorted set of file id -> when it was made,
trimmed to the newest MAX_FILES_PER_OWNER and expiring with the conversations (its TTL is refreshed by each claim).
"""

from __future__ import annotations

import hashlib
import time

from .redis_link import RedisLink

__all__ = ["RedisFileOwners", "hashed"]

MAX_FILES_PER_OWNER = 10_000  # file ids remembered per principal


def hashed(owner: str | None) -> str:
    """A principal as a key part: fixed length, and its name never in a key (None, no auth, is "")."""
    return hashlib.sha256((owner or "").encode()).hexdigest()[:16]


class RedisFileOwners:
    def __init__(self, link: RedisLink, ttl: float, per_owner: int = MAX_FILES_PER_OWNER) -> None:
        self.link = link
        self.ttl_ms = int(ttl * 1000)
        self.per_owner = per_owner

    def _key(self, owner: str) -> str:
        return self.link.key("files", hashed(owner))

    async def claim(self, owner: str | None, file_ids: list[str]) -> None:
        if owner is None or not file_ids:
            return
        key, now = self._key(owner), time.time()

        async def write() -> None:
            async with self.link.redis.pipeline(transaction=True) as pipe:
                pipe.zadd(key, dict.fromkeys(file_ids, now))
                pipe.zremrangebyrank(key, 0, -self.per_owner - 1)
                pipe.pexpire(key, self.ttl_ms)
                await pipe.execute()

        await self.link.call(write)

    async def usable(self, owner: str | None, file_id: str) -> bool:
        if owner is None:
            return True
        key = self._key(owner)
        return await self.link.call(lambda: self.link.redis.zscore(key, file_id)) is not None
