"""Streaming cost as the answer grows: a 10x longer answer should cost ~10x, not 100x.

    python tests/bench/bench_growth.py [--rounds 3]

The same paced stream (2 ms between events) at 1x and 10x length through each surface, from an emulator in its
own process: client CPU of the core stream; for the MCP server (in memory) the CPU of server and client, the
progress notifications and their bytes; for the notebook display the updates and the bytes they resend.
"""

from __future__ import annotations

import argparse
import statistics
import time

import anyio
from _common import emulator_process, quiet_environment, settings_from
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from mcp import Client

from gigachat_mcp import GigaChat, Settings
from gigachat_mcp.server import build_server

BASE_WORDS = 500


def prompt(scale: int) -> str:
    return f"grow [emulator words={BASE_WORDS * scale} chunk=2]"


def core(settings: dict, scale: int) -> dict[str, float]:
    with GigaChat(**settings) as giga:
        giga.chat("warm")
        started = time.process_time()
        chars = sum(len(c.text) for c in giga.stream(prompt(scale)))
    return {"cpu ms": (time.process_time() - started) * 1000, "chars": chars}


def mcp(settings: dict, scale: int) -> dict[str, float]:
    async def run() -> dict[str, float]:
        sizes: list[int] = []

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            sizes.append(len((message or "").encode()))

        async with Client(build_server(Settings.resolve(environ={}, **settings))) as client:
            await client.call_tool("chat", {"prompt": "warm"})
            started = time.process_time()
            await client.call_tool("chat", {"prompt": prompt(scale)}, progress_callback=on_progress)
            return {"cpu ms": (time.process_time() - started) * 1000, "messages": len(sizes), "bytes": sum(sizes)}

    return anyio.run(run)


def notebook(settings: dict, scale: int) -> dict[str, float]:
    import os

    os.environ.update({f"GIGACHAT_{k.upper()}": v for k, v in settings.items()})
    shell = InteractiveShell.instance()
    shell.kernel = object()  # take the Jupyter display path
    shell.extension_manager.load_extension("gigachat_magics")
    try:
        with capture_output() as cap:
            started = time.process_time()
            shell.run_cell_magic("gigachat", "--new", prompt(scale))
            cpu = (time.process_time() - started) * 1000
        updates = [o for o in cap.outputs if o.update]
        return {"cpu ms": cpu, "messages": len(updates),
                "bytes": sum(len(o.data["text/plain"].encode()) for o in updates)}
    finally:
        shell.extension_manager.unload_extension("gigachat_magics")
        del shell.kernel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    quiet_environment()
    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    with emulator_process("--chunk-delay", "0.002") as env:
        settings = {**settings_from(env), "token_cache": "memory"}
        for _ in range(args.rounds):
            for surface, run in (("core stream", core), ("MCP server", mcp), ("notebook display", notebook)):
                for scale in (1, 10):
                    results.setdefault((surface, scale), []).append(run(settings, scale))
    print(f"answers of {BASE_WORDS} and {BASE_WORDS * 10} words, 2 ms between events; medians of {args.rounds}")
    print(f"  {'surface':<18} {'measure':<10} {'1x':>12} {'10x':>12} {'ratio':>8}")
    for surface in ("core stream", "MCP server", "notebook display"):
        for measure in results[(surface, 1)][0]:
            small = statistics.median(r[measure] for r in results[(surface, 1)])
            large = statistics.median(r[measure] for r in results[(surface, 10)])
            print(f"  {surface:<18} {measure:<10} {small:>12.1f} {large:>12.1f} {large / small:>7.1f}x")
    print("  target: every ratio near 10x (linear), none near 100x")


if __name__ == "__main__":
    main()
