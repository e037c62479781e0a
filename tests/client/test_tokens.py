"""Tokens: one OAuth call shared by threads, tasks and processes; expiry, revocation and the file cache."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gigachat_mcp import GigaChat
from gigachat_mcp.client._types import Token
from gigachat_mcp.emulator import Emulator
from tests.helpers import async_client, sync_client

pytestmark = pytest.mark.anyio


def cache_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.json"))


def test_expires_at_in_milliseconds_and_seconds_mean_the_same() -> None:
    in_ms = Token.from_expiry("t", 1_706_026_848_841)
    in_s = Token.from_expiry("t", 1_706_026_848)
    assert abs(in_ms.expires_at - in_s.expires_at) < 1
    assert Token.from_expiry("t", 0).fresh()  # 0 means 'never expires'
    now = time.time()
    assert Token("t", now + 65).fresh(now)
    assert not Token("t", now + 55).fresh(now)  # refreshed 60 s early


def test_token_file_is_private_atomic_and_holds_no_credentials(emulator: Emulator, token_cache: Path) -> None:
    with sync_client(emulator) as giga:
        giga.chat("hi")
    [path] = cache_files(token_cache)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_cache.stat().st_mode) == 0o700
    text = path.read_text()
    assert emulator.credentials not in text and "emulator-client-secret" not in text
    assert emulator.credentials not in path.name
    data = json.loads(text)
    assert data["access_token"].startswith("emu-")
    assert not list(token_cache.glob(".token-*"))  # no temp file left behind


def test_a_second_client_reuses_the_cached_token(emulator: Emulator, token_cache: Path) -> None:
    with sync_client(emulator) as first:
        first.chat("one")
    from gigachat_mcp.client import _tokens

    _tokens._sources.clear()  # as if a new process started: memory is empty, the file remains
    with sync_client(emulator) as second:
        second.chat("two")
    assert emulator.oauth_calls == 1


class DictTokenCache:
    """A token cache every replica shares, as a team server makes one (here a dict instead of Redis)."""

    def __init__(self, store: dict[str, Token], key: str) -> None:
        self.path = f"the shared dict, key {key}"
        self._store = store
        self._key = key

    def load(self) -> Token | None:
        return self._store.get(self._key)

    def save(self, token: Token) -> None:
        self._store[self._key] = token

    def discard(self, value: str) -> None:
        if self.load() is not None and self._store[self._key].value == value:
            del self._store[self._key]

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        yield


def test_a_shared_token_cache_serves_the_clients_it_is_handed_to_and_no_other(emulator: Emulator,
                                                                              token_cache: Path) -> None:
    shared: dict[str, Token] = {}

    def caches(key: str) -> DictTokenCache:
        return DictTokenCache(shared, key)

    with sync_client(emulator, shared_tokens=caches) as giga:
        giga.chat("one")
    [token] = shared.values()
    assert token.value.startswith("emu-") and cache_files(token_cache) == []  # not on this machine's disk
    from gigachat_mcp.client import _tokens

    _tokens._sources.clear()  # another replica: its memory is empty, the shared cache holds the token
    with sync_client(emulator, shared_tokens=caches) as replica:
        replica.chat("two")
    assert emulator.oauth_calls == 1
    with sync_client(emulator) as plain:  # a client without it keeps to its file cache: nothing was installed
        plain.chat("three")
    assert emulator.oauth_calls == 2 and len(cache_files(token_cache)) == 1


def test_memory_cache_writes_no_file(emulator: Emulator, token_cache: Path) -> None:
    with sync_client(emulator, token_cache="memory") as giga:
        giga.chat("hi")
    assert not token_cache.exists() or cache_files(token_cache) == []


@pytest.mark.parametrize("content", ["{not json", "", '{"format": "other", "access_token": "x"}', "[1, 2]",
                                     '{"format": "gigachat-mcp/token-v1", "key": "someone-else", '
                                     '"access_token": "emu-stolen", "expires_at": 9999999999}'])
def test_corrupt_truncated_or_foreign_cache_files_are_ignored(emulator: Emulator, token_cache: Path,
                                                              content: str) -> None:
    with sync_client(emulator) as giga:
        giga.chat("fill the cache")
    [path] = cache_files(token_cache)
    path.write_text(content)
    from gigachat_mcp.client import _tokens

    _tokens._sources.clear()
    with sync_client(emulator) as giga:
        assert "heard" in giga.chat("again").text
    assert emulator.oauth_calls == 2
    assert json.loads(path.read_text())["access_token"].startswith("emu-")  # rewritten whole


def test_unwritable_cache_directory_falls_back_to_memory(emulator: Emulator, tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a directory should be")
    with sync_client(emulator, token_cache_dir=str(blocked / "tokens")) as giga:
        assert "heard" in giga.chat("hi").text
        assert "heard" in giga.chat("again").text
    assert emulator.oauth_calls == 1
    assert "keeping tokens in memory" in caplog.text or "cannot lock" in caplog.text


def test_many_threads_share_one_oauth_call(emulator: Emulator) -> None:
    emulator.add_fault("oauth", delay=0.3)  # a slow token endpoint makes the race real
    with sync_client(emulator) as giga:
        errors: list[BaseException] = []

        def ask(i: int) -> None:
            try:
                assert f'heard: "thread {i}"' in giga.chat(f"thread {i}").text
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert emulator.oauth_calls == 1


async def test_many_tasks_share_one_oauth_call(emulator: Emulator) -> None:
    emulator.add_fault("oauth", delay=0.3)
    async with async_client(emulator) as giga:
        results = await asyncio.gather(*(giga.chat(f"task {i}") for i in range(12)))
    assert [f'heard: "task {i}"' in r.text for i, r in enumerate(results)] == [True] * 12
    assert emulator.oauth_calls == 1


PROCESS_SCRIPT = """
import sys
from gigachat_mcp import GigaChat
with GigaChat() as giga:
    print(giga.chat(sys.argv[1]).text)
"""


def run_processes(emulator: Emulator, token_cache: Path, count: int, together: bool) -> list[str]:
    env = {**os.environ, **emulator.env(), "GIGACHAT_TOKEN_CACHE_DIR": str(token_cache)}
    command = [sys.executable, "-c", PROCESS_SCRIPT]
    if together:
        procs = [subprocess.Popen([*command, f"p{i}"], env=env, stdout=subprocess.PIPE, text=True)
                 for i in range(count)]
        outputs = [p.communicate(timeout=60)[0] for p in procs]
        assert all(p.returncode == 0 for p in procs)
        return outputs
    return [subprocess.run([*command, f"p{i}"], env=env, capture_output=True, text=True, check=True,
                           timeout=60).stdout for i in range(count)]


def test_processes_started_together_make_one_oauth_call(emulator: Emulator, token_cache: Path) -> None:
    emulator.add_fault("oauth", delay=0.5)
    outputs = run_processes(emulator, token_cache, 6, together=True)
    assert [f'heard: "p{i}"' in out for i, out in enumerate(outputs)] == [True] * 6
    assert emulator.oauth_calls == 1


def test_processes_started_one_after_another_make_one_oauth_call(emulator: Emulator, token_cache: Path) -> None:
    outputs = run_processes(emulator, token_cache, 3, together=False)
    assert [f'heard: "p{i}"' in out for i, out in enumerate(outputs)] == [True] * 3
    assert emulator.oauth_calls == 1


def test_keys_and_scopes_never_share_tokens(tmp_path: Path, token_cache: Path) -> None:
    import base64

    other = base64.b64encode(b"second-client:second-secret").decode()
    with Emulator(credentials={Emulator.credentials: "GIGACHAT_API_PERS", other: "GIGACHAT_API_B2B"}) as emu:
        with sync_client(emu) as first, sync_client(emu, credentials=other, scope="B2B") as second:
            first.chat("first")
            second.chat("second")
            assert first._auth.header() != second._auth.header()
        assert emu.oauth_calls == 2
        assert len(cache_files(token_cache)) == 2


def test_token_near_expiry_is_refreshed_before_use(emulator: Emulator) -> None:
    emulator.token_ttl = 59.0  # valid at the server, but inside the 60 s refresh margin
    with sync_client(emulator) as giga:
        giga.chat("one")
        giga.chat("two")
    assert emulator.oauth_calls == 2
    chats = emulator.requests_to("chat")
    assert len(chats) == 2 and all(r.headers.get("authorization") == "Bearer ***" for r in chats)


def test_expired_token_is_refreshed_without_the_caller_noticing(emulator: Emulator) -> None:
    with sync_client(emulator) as giga:
        giga.chat("one")
        emulator.expire_tokens()  # the client still believes its token is good for 30 minutes
        assert "heard" in giga.chat("two").text  # 401 'Token has expired' -> refresh -> retry once
    assert emulator.oauth_calls == 2
    assert [r.endpoint for r in emulator.requests] == ["oauth", "chat", "chat", "oauth", "chat"]


@pytest.mark.parametrize("streaming", [False, True])
def test_revoked_token_is_recovered_once(emulator: Emulator, streaming: bool) -> None:
    with sync_client(emulator) as giga:
        giga.chat("warm up")
        emulator.revoke_tokens()
        if streaming:
            text = "".join(c.text for c in giga.stream("after revoke"))
        else:
            text = giga.chat("after revoke").text
    assert 'heard: "after revoke"' in text
    assert emulator.oauth_calls == 2


async def test_revoked_token_is_recovered_by_the_async_client(emulator: Emulator) -> None:
    async with async_client(emulator) as giga:
        await giga.chat("warm up")
        emulator.revoke_tokens()
        assert "heard" in "".join([c.text async for c in giga.stream("after revoke")])
    assert emulator.oauth_calls == 2


def test_ready_token_rejected_falls_back_to_credentials(emulator: Emulator) -> None:
    with sync_client(emulator, access_token="emu-not-a-real-token") as giga:
        assert "heard" in giga.chat("hi").text
    assert emulator.oauth_calls == 1


def test_file_cache_on_other_processes_is_not_mutated_by_a_rejected_newer_token(tmp_path: Path) -> None:
    from gigachat_mcp.client._tokens import FileTokenCache

    cache = FileTokenCache(tmp_path, "k")
    cache.save(Token("new", time.time() + 1000))
    cache.discard("old")  # a stale rejection must not delete another process's fresh token
    assert cache.load() == Token("new", cache.load().expires_at)
    cache.discard("new")
    assert cache.load() is None


def test_gigachat_client_repr_and_errors_hide_the_key(emulator: Emulator) -> None:
    giga = GigaChat(**emulator.client_settings())
    assert emulator.credentials not in repr(giga) and emulator.credentials not in repr(giga.settings)
