"""The numbers the README promises, pinned as literals (a test that imports the constant would follow a change):
tokens refreshed 60 s early, 2 retries with a jittered exponential backoff from 0.5 s, a Retry-After of up
to 30 s waited and anything longer reported at once."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from gigachat_mcp import APIError, GigaChatConnectionError, RateLimitError
from gigachat_mcp.client import _sync
from gigachat_mcp.client._retry import RetryPlan
from gigachat_mcp.client._settings import Settings
from gigachat_mcp.client._types import Token
from gigachat_mcp.emulator import Emulator
from tests.helpers import sync_client


def test_a_token_is_used_until_60_seconds_before_it_expires() -> None:
    now = 1_800_000_000.0
    assert Token("t", now + 60.5).fresh(now)
    assert not Token("t", now + 60.0).fresh(now)
    assert not Token("t", now + 59.5).fresh(now)
    assert Token.from_expiry("t", 0).fresh(now) and Token.from_expiry("t", None).fresh(now)  # never expires
    assert Token.from_expiry("t", 1_000_000_000_000).expires_at == 1_000_000_000.0  # 1e12 is milliseconds
    assert Token.from_expiry("t", 999_999_999_999).expires_at == 999_999_999_999.0  # below it, seconds


@pytest.mark.parametrize(("ttl", "oauth_calls"), [(59.0, 2), (75.0, 1)])
def test_the_refresh_margin_through_the_client(emulator: Emulator, ttl: float, oauth_calls: int) -> None:
    """A 59 s token is already inside the margin, so each call fetches a new one; a 75 s one is reused."""
    emulator.token_ttl = ttl
    with sync_client(emulator, token_cache="memory") as giga:
        giga.chat("one")
        giga.chat("two")
    assert emulator.oauth_calls == oauth_calls
    assert [r.endpoint for r in emulator.requests].count("chat") == 2


def test_defaults_are_two_retries_and_a_half_second_backoff() -> None:
    settings = Settings.resolve(environ={})
    assert settings.max_retries == 2
    assert settings.retry_backoff_factor == 0.5


def test_backoff_doubles_with_up_to_100_percent_jitter_and_is_capped_at_8_seconds() -> None:
    error = APIError("boom", status_code=503)
    samples: list[list[float]] = []
    for _ in range(300):
        plan = RetryPlan(7, 0.5)
        samples.append([plan.delay_for(error) for _ in range(7)])
    for attempt, base in enumerate([0.5, 1.0, 2.0, 4.0]):
        delays = [s[attempt] for s in samples]
        assert all(base <= d <= 2 * base for d in delays), (attempt, min(delays), max(delays))
        # jittered: spread over the range, not one fixed value (300 uniform draws cover most of it)
        assert min(delays) < base * 1.2 and max(delays) > base * 1.8, (attempt, min(delays), max(delays))
    assert {s[4] for s in samples} | {s[5] for s in samples} | {s[6] for s in samples} <= {8.0}
    assert len({s[3] for s in samples}) > 250  # a fresh draw each time


def test_retries_are_counted_per_call() -> None:
    plan = RetryPlan(2, 0.5)
    error = GigaChatConnectionError("dropped")
    plan.delay_for(error)
    plan.delay_for(error)
    with pytest.raises(GigaChatConnectionError):
        plan.delay_for(error)


@pytest.mark.parametrize(("retry_after", "waited"), [(30.0, True), (30.01, False), (0.0, True)])
def test_retry_after_is_waited_up_to_30_seconds(retry_after: float, waited: bool) -> None:
    error = RateLimitError("slow down", retry_after=retry_after)
    if waited:
        assert RetryPlan(2, 0.5).delay_for(error) == retry_after
    else:
        with pytest.raises(RateLimitError):
            RetryPlan(2, 0.5).delay_for(error)


def test_the_client_sleeps_what_the_server_asks_at_the_edge(emulator: Emulator,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry-After: 30 is waited (the sleep is recorded, not slept) and the answer arrives; 30.01 is not."""
    slept: list[float] = []
    monkeypatch.setattr(_sync, "time", SimpleNamespace(sleep=slept.append, perf_counter=time.perf_counter))
    emulator.add_fault("chat", status=429, headers={"Retry-After": "30"})
    with sync_client(emulator) as giga:
        assert "heard" in giga.chat("patience").text
        assert slept == [30.0]
        emulator.add_fault("chat", status=429, headers={"Retry-After": "30.01"})
        with pytest.raises(RateLimitError) as caught:
            giga.chat("impatience")
    assert caught.value.retry_after == 30.01
    assert "wait 30.01 s" in str(caught.value)
    assert slept == [30.0]
    assert len(emulator.requests_to("chat")) == 3


def test_the_client_waits_the_default_backoff(emulator: Emulator) -> None:
    """With the shipped backoff factor (0.5 s), one 503 costs between 0.5 and 1 s of waiting, really slept."""
    delays: list[float] = []
    original = RetryPlan.delay_for

    def recorded(plan: RetryPlan, error: object) -> float:
        delay = original(plan, error)  # type: ignore[arg-type]
        delays.append(delay)
        return delay

    with sync_client(emulator, retry_backoff_factor=0.5) as giga:
        giga.chat("warm up")
        emulator.add_fault("chat", status=503)
        started = time.monotonic()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(RetryPlan, "delay_for", recorded)
            assert "heard" in giga.chat("after a pause").text
        elapsed = time.monotonic() - started
    assert len(delays) == 1 and 0.5 <= delays[0] <= 1.0
    assert elapsed >= delays[0]
