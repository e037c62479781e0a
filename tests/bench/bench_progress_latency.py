"""How soon the first progress notification follows the first chunk of an answer (target <= 20 ms).

    python tests/bench/bench_progress_latency.py [--runs 15]

The emulator runs in this process (its clock is the client's) and records when it wrote the first chunk.
Contenders, interleaved: AsyncGigaChat.stream receiving that chunk (the floor: network, TLS and parsing), the
MCP server in memory, and the real `gigachat-mcp` over stdio. Each run waits 0.3 s before the first chunk.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import anyio
from _common import quiet_environment, report
from mcp import Client, StdioServerParameters

from gigachat_mcp import AsyncGigaChat, Settings
from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server

PROMPT = "latency [emulator words=5 delay=0.3]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    quiet_environment()
    samples: dict[str, list[float]] = {"core stream: first chunk received": [], "MCP in memory: first progress": [],
                                       "MCP over stdio: first progress": []}
    with Emulator() as emulator:
        settings = Settings.resolve(environ={}, **emulator.client_settings(token_cache="memory"))

        def since_first_chunk(at: float) -> float:
            return (at - emulator.streams[-1].first_chunk_at) * 1000

        async def core() -> float:
            async with AsyncGigaChat(settings) as giga:
                async for chunk in giga.stream(PROMPT):
                    if chunk.text:
                        return since_first_chunk(time.monotonic())
            raise AssertionError("no text")

        async def through(client: Client) -> float:
            arrived: list[float] = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                if progress > 0 and not arrived:
                    arrived.append(time.monotonic())

            await client.call_tool("chat", {"prompt": PROMPT}, progress_callback=on_progress)
            return since_first_chunk(arrived[0])

        async def in_memory() -> float:
            async with Client(build_server(settings)) as client:
                return await through(client)

        async def over_stdio() -> float:
            command = str(Path(sys.executable).parent / "gigachat-mcp")
            env = {**emulator.env(token_cache="memory")}
            import os

            env.update({k: v for k, v in os.environ.items() if not k.startswith("GIGACHAT_")})
            async with Client(StdioServerParameters(command=command, env=env)) as client:
                return await through(client)

        for _ in range(args.runs):
            samples["core stream: first chunk received"].append(anyio.run(core))
            samples["MCP in memory: first progress"].append(anyio.run(in_memory))
            samples["MCP over stdio: first progress"].append(anyio.run(over_stdio))
    report("Latency from the emulator writing the first chunk", "ms", samples, "core stream: first chunk received",
           {})
    import statistics

    for name in ("MCP in memory: first progress", "MCP over stdio: first progress"):
        value = statistics.median(samples[name])
        print(f"  {name}: {value:.1f} ms (target <= 20 ms: {'OK' if value <= 20 else 'MISSED'})")


if __name__ == "__main__":
    main()
