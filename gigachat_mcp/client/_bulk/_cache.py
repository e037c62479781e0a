"""The map cache: answered rows and the batches a run is waiting for, in one SQLite file (standard library), so a
rerun after a crash, a kill or a kernel restart sends only what is not answered yet.

Keys are hashes of the whole request (address, contract, model, messages, options), never the credentials. Each
answer is committed on its own in WAL mode, so a process killed at any moment leaves every answer it had
received before that moment, and several processes can share the file (SQLite's locking; a busy writer is
waited for). A file that is not a cache this version can read is left alone and the run goes on without one."""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._types import ChatResult, FunctionCall, GeneratedFile, Source, Usage

if TYPE_CHECKING:
    import sqlite3

__all__ = ["MapCache", "clear_map_cache", "default_cache_path", "dump_result", "load_result"]

log = logging.getLogger("gigachat_mcp")
SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, value TEXT NOT NULL, saved REAL NOT NULL);
CREATE TABLE IF NOT EXISTS batches (chunk TEXT PRIMARY KEY, batch_id TEXT NOT NULL, method TEXT NOT NULL,
                                    saved REAL NOT NULL);
"""
_LOOKUP = 500  # keys per SELECT ... IN (...), under SQLite's variable limit


def default_cache_path() -> Path:
    """map.sqlite3 in the user cache directory (beside the token cache)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("gigachat-mcp", appauthor=False)) / "map.sqlite3"


def clear_map_cache(path: str | Path | None = None) -> bool:
    """Delete the map cache (the default one, or the file given as `cache=` to map); True when there was one.
    Its batches are forgotten too: a batch still running on the service is then not resumed by a rerun."""
    target = Path(path).expanduser() if path is not None else default_cache_path()
    _close_idle(target)
    existed = target.exists()
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(target) + suffix).unlink()
    return existed


class MapCache:
    """One open cache file. Used from one thread at a time (the run's event loop, or the blocking map's threads
    under their lock); other processes may share the file."""

    def __init__(self, path: Path) -> None:
        import sqlite3  # loaded with the first map, not with the package

        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self._db: sqlite3.Connection = sqlite3.connect(path, timeout=30.0, isolation_level=None,
                                                      check_same_thread=False)  # autocommit: one write, one commit
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: survives a killed process, cheap commits
        self._db.executescript(SCHEMA)
        with contextlib.suppress(OSError):
            path.chmod(0o600)
        self._file = _identity(path)
        self._pid = os.getpid()  # a connection never crosses a fork (SQLite's rule)

    @classmethod
    def open(cls, path: Path | None) -> MapCache | None:
        if path is None:
            return None
        import sqlite3

        try:
            return cls(path)
        except (sqlite3.Error, OSError) as exc:
            log.warning("map cache %s cannot be used (%s); running without it", path, exc)
            return None

    @classmethod
    def borrow(cls, path: Path | None) -> MapCache | None:
        """`open`, or a connection to the same file a finished map gave back (opening and closing cost a map
        ~2 ms: the WAL's checkpoint and its file made again). One deleted or replaced meanwhile (another
        process's clear_map_cache) is closed and the file opened afresh; one from before a fork is dropped."""
        if path is None:
            return None
        with _IDLE_LOCK:
            idle = _IDLE.get(path)
            cache = idle.pop() if idle else None
        if cache is not None and cache._pid == os.getpid():
            if cache._file == _identity(path):
                return cache
            cache.close()
        return cls.open(path)

    def give_back(self) -> None:
        """Keep the connection for the next map on this file (closed at exit or by clear_map_cache)."""
        with _IDLE_LOCK:
            idle = _IDLE.setdefault(self.path, [])
            if len(idle) < _IDLE_PER_FILE:
                idle.append(self)
                return
        self.close()

    def close(self) -> None:
        self._db.close()

    # --- answers ---------------------------------------------------------------------------------------------

    def answers(self, keys: Sequence[str]) -> Iterator[tuple[str, str]]:
        """(key, stored value) for those of `keys` that are answered."""
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _LOOKUP):
            part = unique[start:start + _LOOKUP]
            marks = ",".join("?" * len(part))
            yield from self._db.execute(f"SELECT key, value FROM answers WHERE key IN ({marks})", part)

    def save(self, key: str, value: str) -> None:
        self._write("INSERT OR REPLACE INTO answers (key, value, saved) VALUES (?, ?, ?)", (key, value, time.time()))

    def save_many(self, items: Sequence[tuple[str, str]]) -> None:
        now = time.time()
        with self._transaction():
            self._db.executemany("INSERT OR REPLACE INTO answers (key, value, saved) VALUES (?, ?, ?)",
                                 [(key, value, now) for key, value in items])

    # --- batches ---------------------------------------------------------------------------------------------

    def batch_for(self, chunk: str) -> str | None:
        row = self._db.execute("SELECT batch_id FROM batches WHERE chunk = ?", (chunk,)).fetchone()
        return row[0] if row else None

    def remember_batch(self, chunk: str, batch_id: str, method: str) -> None:
        self._write("INSERT OR REPLACE INTO batches (chunk, batch_id, method, saved) VALUES (?, ?, ?, ?)",
                    (chunk, batch_id, method, time.time()))

    def forget_batch(self, chunk: str) -> None:
        self._write("DELETE FROM batches WHERE chunk = ?", (chunk,))

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        self._db.execute(sql, params)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


_IDLE: dict[Path, list[MapCache]] = {}  # connections given back by finished maps, per file
_IDLE_LOCK = threading.Lock()
_IDLE_PER_FILE = 4


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


@atexit.register
def _close_idle(path: Path | None = None) -> None:
    """Close the kept connections (to `path`, or all): at exit, so their WAL is checkpointed into the file."""
    with _IDLE_LOCK:
        closing = [cache for key in list(_IDLE) if path is None or key == path for cache in _IDLE.pop(key)]
    for cache in closing:
        cache.close()


# --- answers as JSON -------------------------------------------------------------------------------------------

_USAGE_FIELDS = tuple(field.name for field in fields(Usage))
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # made once, not per row


def dump_result(result: ChatResult) -> str:
    """A ChatResult as JSON, without `.parsed` (rebuilt from the text on reading, so a pydantic model's instance
    comes back as one)."""
    call, usage = result.function_call, result.usage
    data = {"text": result.text, "model": result.model, "finish_reason": result.finish_reason,
            "usage": {name: getattr(usage, name) for name in _USAGE_FIELDS},  # asdict's copying costs 5x more
            "files": [asdict(f) for f in result.files], "state_id": result.state_id,
            "reasoning": result.reasoning, "sources": [asdict(s) for s in result.sources],
            "function_call": {"name": call.name, "arguments": call.arguments} if call is not None else None}
    return _ENCODER.encode(data)


def load_result(value: str) -> ChatResult:
    data = json.loads(value)
    call = data.get("function_call")
    return ChatResult(
        text=data["text"], model=sys.intern(data.get("model") or ""), finish_reason=data.get("finish_reason"),
        usage=Usage(**data.get("usage") or {}),
        files=tuple(GeneratedFile(**f) for f in data.get("files") or ()),
        state_id=data.get("state_id"), reasoning=data.get("reasoning") or "",
        sources=tuple(Source(**s) for s in data.get("sources") or ()),
        function_call=FunctionCall(call["name"], call["arguments"]) if call else None,
    )
