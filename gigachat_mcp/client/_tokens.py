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
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from ._types import NEVER as _NEVER
from ._types import Token

__all__ = ["FileTokenCache", "TokenCache", "TokenCaches", "TokenSource", "cache_key", "token_source"]

log = logging.getLogger("gigachat_mcp")

_FORMAT = "gigachat-mcp/token-v1"


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


class TokenCache(Protocol):
    """Where a token outlives this process: FileTokenCache, or one every replica of a team server shares."""

    @property
    def path(self) -> object: ...  # where it is, for a log line

    def load(self) -> Token | None: ...

    def save(self, token: Token) -> None: ...

    def discard(self, value: str) -> None: ...

    def locked(self) -> AbstractContextManager[None]: ...


TokenCaches = Callable[[str], TokenCache]  # a credentials key -> its cache


class TokenSource:
    """The current token for one credentials key, refreshed by one caller at a time."""

    def __init__(self, cache: TokenCache | None) -> None:
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


_sources: dict[tuple[str, str, TokenCaches | None], TokenSource] = {}
_sources_lock = threading.Lock()


def token_source(key: str, cache_dir: Path | None, shared: TokenCaches | None = None) -> TokenSource:
    """The process-wide source for `key`, so every client with the same credentials shares one token. With
    `shared` (a cache every replica of a team server shares, made by the server), tokens live there instead of
    in the file cache."""
    registry_key = (key, str(cache_dir), shared)
    with _sources_lock:
        source = _sources.get(registry_key)
        if source is None:
            if shared is not None:
                cache: TokenCache | None = shared(key)
            else:
                cache = FileTokenCache(cache_dir, key) if cache_dir is not None else None
            source = _sources[registry_key] = TokenSource(cache)
        return source
