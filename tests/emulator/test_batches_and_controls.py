"""The emulator's Batch API shapes (the spec's BatchResponse / BatchesList) and the latency and concurrency
controls, spoken to with plain httpx as any client would."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from gigachat_mcp import GigaChat
from gigachat_mcp.emulator import DEFAULT_CREDENTIALS, Emulator


def test_a_batch_moves_created_in_progress_completed_and_its_output_holds_result_or_error_lines() -> None:
    with Emulator(tls=False, credentials={DEFAULT_CREDENTIALS: "GIGACHAT_API_CORP"}, batch_delay=0.4) as emu, \
            GigaChat(**emu.client_settings(scope="CORP")) as giga:
        token = giga._auth.header()
        headers = {"Authorization": token or ""}
        jsonl = "\n".join(json.dumps({"id": i, "request": {"model": "GigaChat-2", "messages": [
            {"role": "user", "content": text}]}}) for i, text in (("a", "hi"), ("b", "no [emulator fail=500]")))
        created = httpx.post(f"{emu.base_url}/batches?method=chat_completions", content=jsonl,
                             headers={**headers, "Content-Type": "application/octet-stream"}).json()
        assert created["status"] == "created" and created["request_counts"] == {"total": 2}
        assert set(created) == {"id", "method", "request_counts", "status", "created_at", "updated_at"}
        seen = []
        while not seen or seen[-1]["status"] != "completed":
            got = httpx.get(f"{emu.base_url}/batches", params={"batch_id": created["id"]}, headers=headers).json()
            seen.append(got["batches"][0])
            time.sleep(0.05)
        statuses = [b["status"] for b in seen]
        assert statuses[0] == "created" and "in_progress" in statuses
        assert seen[-1]["request_counts"] == {"total": 2, "completed": 1, "failed": 1}
        out = httpx.get(f"{emu.base_url}/files/{seen[-1]['output_file_id']}/content", headers=headers).text
        lines = {line["id"]: line for line in map(json.loads, out.splitlines())}
        assert lines["a"]["result"]["choices"][0]["message"]["content"].startswith("GigaChat emulator")
        assert lines["b"]["error"] == {"status": 500, "message": "Internal Server Error"}
        missing = httpx.get(f"{emu.base_url}/batches", params={"batch_id": "nope"}, headers=headers)
        assert missing.status_code == 404 and missing.json() == {"status": 404, "message": "Batch task not found"}
        bad = httpx.post(f"{emu.base_url}/batches?method=chat_completions", content=b'{"id": 1}', headers=headers)
        assert bad.status_code == 400


def test_a_personal_key_may_not_create_batches() -> None:
    with Emulator(tls=False) as emu, GigaChat(**emu.client_settings()) as giga:
        refused = httpx.post(f"{emu.base_url}/batches?method=embedder", content=b"{}",
                             headers={"Authorization": giga._auth.header() or ""})
        assert refused.status_code == 403


def test_latency_and_the_most_requests_seen_at_once_can_be_set_and_read_from_another_process() -> None:
    with Emulator(tls=False) as emu, GigaChat(**emu.client_settings()) as giga:
        giga.models()  # signed in
        assert httpx.post(f"{emu.origin}/_emulator/settings", json={"latency": 0.2}).json()["latency"] == 0.2
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda _: giga.models(), range(3)))
        assert httpx.get(f"{emu.origin}/_emulator/concurrency").json() == {"in_flight": 0, "max_in_flight": 3}
        assert httpx.post(f"{emu.origin}/_emulator/concurrency").json()["max_in_flight"] == 0
        assert httpx.post(f"{emu.origin}/_emulator/settings", json={"latency": -1}).status_code == 400
