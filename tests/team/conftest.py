"""A real Redis server for the whole session, emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.team.servers import RedisServer, ensure_programs

PROGRAMS = {"redis-server": "redis-server", "haproxy": "haproxy"}
_missing: dict[str, str] = {}


def pytest_collection_finish(session: pytest.Session) -> None:
    """Install what the team tests run before any test starts (apt can take a minute; no per-test timeout)."""
    if not any("tests/team/" in item.nodeid for item in session.items):
        return
    _missing.update(ensure_programs(PROGRAMS))


@pytest.fixture(scope="session")
def redis_server_session() -> Iterator[RedisServer]:
    if "redis-server" in _missing:
        pytest.fail(_missing["redis-server"], pytrace=False)
    try:
        server = RedisServer().start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def redis_server(redis_server_session: RedisServer) -> RedisServer:
    if redis_server_session.proc is None:
        redis_server_session.start()
    redis_server_session.flush()
    return redis_server_session


@pytest.fixture
def replicas(emulator, redis_server):  # type: ignore[no-untyped-def]
    """Start replicas sharing the test's Redis: replicas(3, "--streams-per-user", "1")."""
    from tests.team.servers import Replica

    started: list[Replica] = []

    def start(count: int, *args: str, lease: str = "1.5", **kwargs) -> list[Replica]:  # type: ignore[no-untyped-def]
        made = [Replica(emulator, "--redis", redis_server.url, "--lease-seconds", lease, *args, **kwargs)
                for _ in range(count)]
        started.extend(made)
        return [r.wait_ready() for r in made]

    yield start
    for replica in started:
        replica.stop()
