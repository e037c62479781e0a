"""`chat_many` on a team server over real HTTP: two replicas sharing Redis, two principals. A background run is
its caller's record, readable on any replica and unknown to anyone else; it holds its caller's stream while it
runs, and the key's one stream is shared fleet-wide with the other principal's chats, row by row."""

from __future__ import annotations

from pathlib import Path

import pytest

from gigachat_mcp.emulator import Emulator
from tests.team.principals import as_user, write_tokens

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::UserWarning")]


async def test_a_background_run_is_its_principals_and_shares_the_keys_stream(emulator: Emulator, replicas,
                                                                           tmp_path: Path) -> None:
    emulator.latency = 0.3  # six rows take about two seconds on the personal key's one stream
    first, second = replicas(2, "--auth-tokens", str(write_tokens(tmp_path)), "--streams-per-user", "1")
    words = ["один", "два", "три", "четыре", "пять", "шесть"]
    async with as_user(first.url, "alice") as alice:
        started = await alice.call_tool("chat_many", {"template": "Translate {}", "items": words,
                                                      "background": True})
        assert not started.is_error, started.content[0].text
        refused = await alice.call_tool("chat", {"prompt": "alice while her run holds her stream"})
    cid = started.structured_content["conversation_id"]
    async with as_user(second.url, "bob") as bob:
        answered = await bob.call_tool("chat", {"prompt": "bob meanwhile"})
        hidden = await bob.call_tool("get_conversation", {"conversation_id": cid})
    async with as_user(second.url, "alice") as alice:
        done = await alice.call_tool("get_conversation", {"conversation_id": cid, "wait_seconds": 40})
    assert refused.is_error and "Too many answers in flight: 1 at a time" in refused.content[0].text
    assert not answered.is_error, answered.content[0].text
    assert hidden.is_error and f"Unknown conversation_id {cid!r}" in hidden.content[0].text
    snapshot = done.structured_content
    assert snapshot["status"] == "done", snapshot
    result = snapshot["messages"][-1]["json"]
    assert [f'heard: "Translate {w}"' in item["text"] for w, item in zip(words, result["items"])] == [True] * 6
    order = [r.body["messages"][-1]["content"] for r in emulator.requests_to("chat")]
    assert order.index("bob meanwhile") < order.index("Translate шесть"), order  # between rows, not after all
    assert emulator.max_in_flight == 1  # the key's one stream, fleet-wide
