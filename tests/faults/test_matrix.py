"""The fault matrix: each upstream fault through each surface, with the outcome a user sees.

Recovered rows must give the same answer as a clean run, exactly once (nothing lost, nothing repeated).
Error rows must give a typed error whose text says what to do, within a bounded time, and where part of the
answer was already shown, keep exactly that part. The README's Reliability table is this list.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import pytest

from gigachat_mcp.emulator import Emulator
from tests.faults.surfaces import ALL, STREAMING, Fault, Outcome

BOUND_S = 10.0  # generous: the point is "bounded", the budget with these settings is ~3 s


@dataclass(frozen=True)
class Row:
    id: str
    fault: Fault
    expect: str  # "recovered", or a fragment the error message must contain
    partial: bool = False  # an error after part of the answer was shown
    streaming_only: bool = False


def revoke(emu: Emulator) -> None:
    emu.revoke_tokens()


def oauth_fault(**fields) -> Fault:
    def apply(emu: Emulator) -> None:
        emu.revoke_tokens()  # the next request gets a 401, so a new token must be fetched
        emu.add_fault("oauth", **fields)
    return apply


def chat_fault(**fields) -> Fault:
    return lambda emu: emu.add_fault("chat", **fields)


def refuse(emu: Emulator) -> None:
    port = emu.port
    emu.stop()  # nothing listens on the port any more: connection refused
    probe = socket.socket()
    assert probe.connect_ex(("127.0.0.1", port)) != 0
    probe.close()


ROWS = [
    Row("401-revoked-token", revoke, "recovered"),
    Row("401-expired-token", lambda emu: emu.expire_tokens(), "recovered"),
    Row("oauth-code-1-bad-scope", oauth_fault(status=400, code=1, message="scope data format invalid"),
        "GIGACHAT_SCOPE is not valid"),
    Row("oauth-code-4-undecodable-key", oauth_fault(status=401, code=4, message="Can't decode 'Authorization' header"),
        "GIGACHAT_CREDENTIALS could not be decoded"),
    Row("oauth-code-5-empty-scope", oauth_fault(status=400, code=5, message="scope is empty"), "set GIGACHAT_SCOPE"),
    Row("oauth-code-6-unknown-key", oauth_fault(status=401, code=6, message="credentials doesn't match db data"),
        "check GIGACHAT_CREDENTIALS"),
    Row("oauth-code-7-scope-mismatch", oauth_fault(status=400, code=7,
                                                   message="scope from db not fully includes consumed scope"),
        "Set GIGACHAT_SCOPE to your project's scope"),
    Row("oauth-429", oauth_fault(status=429, headers={"Retry-After": "0.05"}), "recovered"),
    Row("oauth-503", oauth_fault(status=503), "recovered"),
    Row("oauth-503-persistent", oauth_fault(status=503, times=5), "The OAuth host failed"),
    Row("429-retry-after", chat_fault(status=429, headers={"Retry-After": "0.05"}), "recovered"),
    Row("429-no-retry-after", chat_fault(status=429), "recovered"),
    Row("429-long-retry-after", chat_fault(status=429, headers={"Retry-After": "3600"}), "wait 3600 s"),
    Row("500", chat_fault(status=500), "recovered"),
    Row("502-503-then-ok", lambda emu: (emu.add_fault("chat", status=502), emu.add_fault("chat", status=503)),
        "recovered"),
    Row("5xx-persistent", chat_fault(status=500, times=5), "Try again later"),
    Row("connection-refused", refuse, "Could not connect to 127.0.0.1"),
    Row("reset-before-first-byte", chat_fault(drop="before"), "recovered"),
    Row("reset-before-first-byte-persistent", chat_fault(drop="before", times=5), "connection to 127.0.0.1 failed"),
    Row("silent-server-read-timeout", chat_fault(delay=30), "Timed out after 1 s"),
    Row("error-event-before-any-text", chat_fault(event="error", after_chunks=0, status=503), "recovered",
        streaming_only=True),
    Row("reset-mid-stream", chat_fault(drop="mid", after_chunks=3), "The stream broke", partial=True,
        streaming_only=True),
    Row("malformed-event-mid-stream", chat_fault(event="malformed", after_chunks=3), "malformed stream event",
        partial=True, streaming_only=True),
    Row("error-event-mid-stream", chat_fault(event="error", after_chunks=3), "error mid-stream", partial=True,
        streaming_only=True),
    Row("stall-half-way", chat_fault(stall=30, after_chunks=3), "Timed out after 1 s", partial=True,
        streaming_only=True),
]
CASES = [(row, name) for row in ROWS for name in (STREAMING if row.streaming_only else ALL)]


@pytest.mark.parametrize(("row", "surface"), CASES, ids=[f"{row.id}/{surface}" for row, surface in CASES])
def test_fault_matrix(row: Row, surface: str) -> None:
    with Emulator() as emulator:
        outcome: Outcome = ALL[surface](emulator, row.fault)
    assert outcome.seconds < BOUND_S
    if row.expect == "recovered":
        assert outcome.ok, outcome.error
        assert outcome.text == outcome.warm_answer  # the same answer, nothing lost or repeated
        return
    assert not outcome.ok
    assert row.expect in outcome.error, outcome.error
    assert "emulator-client-secret" not in outcome.error and Emulator.credentials not in outcome.error
    if row.partial:
        assert outcome.text and outcome.warm_answer.startswith(outcome.text)  # what was shown stays, exactly
        assert len(outcome.text) < len(outcome.warm_answer)
    else:
        assert outcome.text == ""
