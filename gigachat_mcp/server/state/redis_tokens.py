"""The GigaChat access token shared by every replica: one OAuth call per token life for the whole fleet.

It plugs into the core's TokenSource (same load/save/discard/locked as the file cache); refreshes are
single-flight across replicas through a Redis lock that lives no longer than a replica's lease: a replica killed
mid-refresh must not hold the others' tokens up for longer than it holds their stream slots. The token is stored encrypted (Fernet) with a key derived
from the GigaChat credentials, which never leave the replicas: someone who can read Redis but has no
credentials cannot use it, and nothing else is ever written. It expires in Redis when it expires upstream.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import time
from collections.abc import Iterator
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from ... import Token
from .redis_link import UNREACHABLE

__all__ = ["RedisTokenCache", "redis_token_caches"]

log = logging.getLogger("gigachat_mcp")


class RedisTokenCache:
    def __init__(self, client: Any, key: str, fernet: Fernet, prefix: str, shown: str, hold: float = 15.0) -> None:
        self._redis = client
        self._hold = hold
        self._name = f"{prefix}:token:{key}"
        self._fernet = fernet
        self.path = f"{shown} {self._name}"  # for the core's log line

    def load(self) -> Token | None:
        try:
            raw = self._redis.get(self._name)
        except UNREACHABLE:
            return None  # no shared token now: this replica fetches its own
        if raw is None:
            return None
        try:
            value, expires = self._fernet.decrypt(raw).decode().rsplit("\0", 1)
            return Token(value, float(expires))
        except (InvalidToken, ValueError):
            return None  # another deployment's or other credentials': ignored

    def save(self, token: Token) -> None:
        payload = self._fernet.encrypt(f"{token.value}\0{token.expires_at!r}".encode())
        ttl = token.expires_at - time.time()
        try:
            if ttl == float("inf"):
                self._redis.set(self._name, payload, ex=86400)
            elif ttl > 1:
                self._redis.set(self._name, payload, px=int(ttl * 1000))
        except UNREACHABLE:
            log.warning("cannot share the access token in Redis; this replica keeps it in memory")

    def discard(self, value: str) -> None:
        cached = self.load()
        if cached is not None and cached.value == value:
            with contextlib.suppress(*UNREACHABLE):
                self._redis.delete(self._name)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One replica refreshes at a time. The lock expires after one lease, so a holder that died mid-refresh
        delays the others by at most that; a refresh slower than that only means a second OAuth call."""
        lock = self._redis.lock(self._name + ":lock", timeout=self._hold, blocking_timeout=self._hold)
        try:
            acquired = lock.acquire()
        except UNREACHABLE:
            acquired = False
        try:
            yield
        finally:
            if acquired:
                with contextlib.suppress(Exception):
                    lock.release()


def redis_token_caches(client: Any, shown: str, prefix: str, secrets: tuple[str, ...], hold: float) -> Any:
    """A credentials key -> its RedisTokenCache: what the GigaChat client takes as `shared_tokens=`. `client` is
    a blocking Redis client (the token source runs in a worker thread), made like the shared link's."""
    secret = hashlib.sha256(b"gigachat-mcp token encryption\0" + "\0".join(secrets).encode()).digest()
    fernet = Fernet(base64.urlsafe_b64encode(secret))
    return lambda key: RedisTokenCache(client, key, fernet, prefix, shown, hold)
