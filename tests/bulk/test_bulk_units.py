"""The pure parts of bulk work: the rate gate's decisions and the Batch API's wire shapes."""

from __future__ import annotations

import json

import pytest

from gigachat_mcp import InvalidRequestError
from gigachat_mcp.client import _wire
from gigachat_mcp.client._bulk._engine import RateGate


def test_the_gate_honours_retry_after_else_doubles_its_pause_and_resets_on_success() -> None:
    now = [100.0]
    gate = RateGate(clock=lambda: now[0])
    assert gate.closed_for() == 0
    gate.pause(2.0)
    assert gate.closed_for() == 2.0
    gate.pause(None)  # a later, shorter pause never reopens the gate early
    assert gate.closed_for() == 2.0
    now[0] += 2.0
    assert [gate.pause(None) for _ in range(3)] == [2.0, 4.0, 8.0]  # two 429s in a row before these
    gate.cleared()
    assert gate.pause(None) == 0.5


def test_the_batch_wire_builds_the_documented_requests() -> None:
    body = _wire.batch_jsonl([("0", {"model": "m", "messages": []}), ("1", {"model": "m", "messages": []})])
    assert [json.loads(line)["id"] for line in body.split(b"\n")] == ["0", "1"]
    call = _wire.create_batch_call("https://h/v1", "embedder", body)
    assert call.url == "https://h/v1/batches?method=embedder" and call.headers["Content-Type"] == "application/octet-stream"
    assert _wire.get_batch_call("https://h/v1", "b 1").url == "https://h/v1/batches?batch_id=b%201"
    with pytest.raises(InvalidRequestError, match="twice"):
        _wire.batch_jsonl([("0", {}), ("0", {})])
    with pytest.raises(InvalidRequestError, match="1 to 500"):
        _wire.batch_jsonl([(str(i), {}) for i in range(501)])
    with pytest.raises(InvalidRequestError):
        _wire.create_batch_call("https://h/v1", "embeddings", body)


@pytest.mark.parametrize("payload", [
    {"batches": [{"id": "b", "method": "embedder", "status": "completed", "output_file_id": "f",
                  "request_counts": {"total": 3, "completed": 2, "failed": 1}}]},
    [{"id": "b", "method": "embedder", "status": "completed", "output_file_id": "f",
      "request_counts": {"total": 3, "completed": 2, "failed": 1}}],
    {"id": "b", "method": "embedder", "status": "completed", "output_file_id": "f",
     "request_counts": {"total": 3, "completed": 2, "failed": 1}},
])
def test_a_batch_is_read_from_every_shape_seen(payload: object) -> None:
    batch = _wire.get_batch_call("https://h/v1", "b").parse(payload)
    assert batch.done and (batch.total, batch.completed, batch.failed, batch.output_file_id) == (3, 2, 1, "f")


def test_output_lines_are_read_defensively() -> None:
    content = b'{"id": "1", "result": {"x": 1}}\n\n{"id": "2", "error": {"status": 422, "message": "bad"}}\n{"id": "3", "res\n'
    lines, unreadable = _wire.parse_batch_output(content)
    assert lines["1"].result == {"x": 1} and (lines["2"].status, lines["2"].message) == (422, "bad")
    assert "3" not in lines and unreadable == 1
    assert _wire.parse_batch_output(b'[{"id": 7, "result": {}}]')[0]["7"].result == {}
