"""Access tokens: memory and file caches, and one refresh at a time per credentials.

A token is reused until 60 s before it expires. One `TokenSource` per credentials key lives per process, so all
clients in a process share it; its lock serialises refreshes across threads, and a lock file serialises them
across processes, so ten processes started together make one OAuth call. The file cache holds only the token
(mode 0600, written atomically); a corrupt or foreign file is ignored, and an unwritable directory degrades to
memory with one warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["REFRESH_MARGIN_S", "FileTokenCache", "Token", "TokenSource", "cache_key", "token_source", "use_shared_cache"]

log = logging.getLogger("gigachat_mcp")

REFRESH_MARGIN_S = 60.0
_FORMAT = "gigachat-mcp/token-v1"
_NEVER = float("inf")


@dataclass(frozen=True)
class Token:
    """An access token and when it expires, in seconds since the epoch (inf: never)."""

    value: str
    expires_at: float

    @classmethod
    def from_expiry(cls, value: str, expires_at: float | int | None) -> Token:
        """GigaChat sends milliseconds; a value under 1e12 is taken as seconds, 0 or None as 'never'.

        Anything else (a bool, text, NaN, infinity, a negative number) or a token that is not a non-empty str
        is a ValueError saying so: such a token would never look fresh, costing one OAuth call per request."""
        if not isinstance(value, str) or not value.strip():
            raise ValueError("the access token is missing or empty" if value is None or isinstance(value, str)
                             else f"the access token is not a string (it is of type {type(value).__name__})")
        if expires_at is None:
            return cls(value, _NEVER)
        if isinstance(expires_at, bool) or not isinstance(expires_at, (int, float)) or not math.isfinite(expires_at) \
                or expires_at < 0:
            raise ValueError(f"its expiry time (expires_at) is {expires_at!r:.40}, not a time in milliseconds "
                             "or seconds since 1970")
        if expires_at == 0:
            return cls(value, _NEVER)
        seconds = expires_at / 1000 if expires_at >= 1e12 else float(expires_at)
        return cls(value, seconds)

    def fresh(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) + REFRESH_MARGIN_S < self.expires_at

    def __repr__(self) -> str:
        return f"Token(expires_at={self.expires_at!r})"


def cache_key(*parts: str) -> str:
    """A stable name for credentials that reveals nothing about them."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]


class FileTokenCache:
    """One JSON file per credentials key, plus a lock file used to single-flight refreshes across processes."""

    def __init__(self, directory: Path, key: str) -> None:
        self.path = directory / f"{key}.json"
        self._lock_path = directory / f"{key}.lock"
        self._key = key
        self._warned = False

    def load(self) -> Token | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != _FORMAT or data.get("key") != self._key:
                return None
            expires = data["expires_at"]
            token = Token(str(data["access_token"]), _NEVER if expires is None else float(expires))
            return token if token.value and not math.isnan(token.expires_at) else None
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.debug("ignoring unreadable token cache %s (%s)", self.path, type(exc).__name__)
            return None

    def save(self, token: Token) -> None:
        expires = None if token.expires_at == _NEVER else token.expires_at
        payload = json.dumps({"format": _FORMAT, "key": self._key, "access_token": token.value, "expires_at": expires})
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".token-", suffix=".tmp")  # created 0600
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(payload)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            self._warn(f"cannot write the token cache in {self.path.parent} ({exc.strerror}); keeping tokens in memory")

    def discard(self, value: str) -> None:
        """Forget `value` if it is the cached token (it was rejected), leaving a newer one alone."""
        cached = self.load()
        if cached is not None and cached.value == value:
            with contextlib.suppress(OSError):
                self.path.unlink()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the cross-process lock; without fcntl or a writable directory, go on unlocked."""
        try:
            import fcntl
        except ImportError:  # Windows: threads are still serialised by TokenSource
            yield
            return
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            self._warn(f"cannot lock the token cache in {self.path.parent} ({exc.strerror})")
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning(message)


class TokenSource:
    """The current token for one credentials key, refreshed by one caller at a time."""

    def __init__(self, cache: FileTokenCache | None) -> None:
        self._cache = cache
        self._lock = threading.Lock()
        self._token: Token | None = None

    def current(self) -> Token | None:
        """The token if it is fresh: the lock-free fast path of every request."""
        token = self._token
        return token if token is not None and token.fresh() else None

    def get(self, fetch: Callable[[], Token]) -> Token:
        """A fresh token: from memory, else the file cache, else `fetch()`; one caller fetches, others wait."""
        token = self.current()
        if token is not None:
            return token
        with self._lock:
            token = self.current()
            if token is not None:
                return token
            if self._cache is None:
                token = self._fetch(fetch)
            else:
                with self._cache.locked():
                    token = self._cache.load()
                    if token is None or not token.fresh():
                        token = self._fetch(fetch)
                        self._cache.save(token)
                    else:
                        log.debug("access token loaded from %s", self._cache.path)
            self._token = token
            return token

    def invalidate(self, value: str) -> None:
        """Drop `value` after the server rejected it; a token another caller already refreshed is kept."""
        with self._lock:
            if self._token is not None and self._token.value == value:
                self._token = None
            if self._cache is not None:
                self._cache.discard(value)

    def _fetch(self, fetch: Callable[[], Token]) -> Token:
        token = fetch()
        log.info("obtained a new access token (valid for %.0f s)", token.expires_at - time.time())
        return token


_sources: dict[tuple[str, str], TokenSource] = {}
_sources_lock = threading.Lock()
_shared_cache: Callable[[str], Any] | None = None


def use_shared_cache(factory: Callable[[str], Any] | None) -> None:
    """Keep tokens in a cache every replica of a team server shares (a Redis one, made by the server) instead of
    the file cache: `factory(key)` returns an object with FileTokenCache's load/save/discard/locked."""
    global _shared_cache
    with _sources_lock:
        _shared_cache = factory
        _sources.clear()


def token_source(key: str, cache_dir: Path | None) -> TokenSource:
    """The process-wide source for `key`, so every client with the same credentials shares one token."""
    registry_key = (key, str(cache_dir))
    with _sources_lock:
        source = _sources.get(registry_key)
        if source is None:
            if _shared_cache is not None:
                cache = _shared_cache(key)
            else:
                cache = FileTokenCache(cache_dir, key) if cache_dir is not None else None
            source = _sources[registry_key] = TokenSource(cache)
        return source
