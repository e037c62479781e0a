"""Server memory under a flood of 2025-era resources/subscribe calls (issue 17, item 6).

    python tests/bench/bench_subscriptions.py [--attempts 10000] [--uri-bytes 4096] [--concurrency 16]

A real `gigachat-mcp serve --transport streamable-http` process (loopback, no auth) against an emulator in its own
process. Baseline: the server's RSS after one chat. Then one 2025-era session sends `attempts` subscribe calls,
each with its own arbitrary URI of `uri-bytes` bytes (what the issue's attack sent), and the RSS is read with the
session still open and again after it closed. Ratios are against the baseline; absolute MB for context. Run it
with PYTHONPATH pointing at another checkout to compare with that code.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import anyio
import httpx
from _common import emulator_process, quiet_environment

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mcp import Client, MCPError  # noqa: E402

from tests.team.servers import free_port  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gigachat_mcp", "serve", "--transport", "streamable-http",
                             "--port", str(port)], env={**os.environ, **env, "GIGACHAT_TOKEN_CACHE": "memory"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1).status_code:
                return proc, f"http://127.0.0.1:{port}/mcp"
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


async def flood(url: str, pid: int, attempts: int, size: int, concurrency: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    counts = {"accepted": 0, "refused": 0}
    async with Client(url) as warm:
        await warm.call_tool("chat", {"prompt": "warm up"})
    await anyio.sleep(0.5)
    figures["baseline"] = rss_mb(pid)
    started = time.monotonic()
    async with Client(url, mode="legacy") as client:
        async def worker(first: int) -> None:
            for n in range(first, attempts, concurrency):
                uri = f"https://flood.example/{n:08d}/" + "x" * (size - 32)
                try:
                    await client.subscribe_resource(uri)
                    counts["accepted"] += 1
                except MCPError:
                    counts["refused"] += 1

        async with anyio.create_task_group() as group:
            for first in range(concurrency):
                group.start_soon(worker, first)
        figures["session open"] = rss_mb(pid)
    figures["seconds"] = time.monotonic() - started
    await anyio.sleep(1)  # the session's teardown runs after the client leaves
    figures["session closed"] = rss_mb(pid)
    figures.update(counts)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attempts", type=int, default=10_000)
    parser.add_argument("--uri-bytes", type=int, default=4096)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    quiet_environment()
    warnings.simplefilter("ignore")  # subscribe_resource is the 2025 API, deprecated in the 2026 one
    with emulator_process() as env:
        proc, url = start_server(env)
        try:
            figures = anyio.run(flood, url, proc.pid, args.attempts, args.uri_bytes, args.concurrency)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    base = figures["baseline"]
    print(f"\n{args.attempts} subscribe attempts of {args.uri_bytes}-byte URIs over one 2025-era session "
          f"({figures['seconds']:.1f} s; {figures['accepted']:.0f} accepted, {figures['refused']:.0f} refused)")
    print(f"  {'server RSS':<22} {'MB':>8} {'vs baseline':>12}")
    for name in ("baseline", "session open", "session closed"):
        print(f"  {name:<22} {figures[name]:>8.1f} {figures[name] / base:>11.3f}x")


if __name__ == "__main__":
    main()
