"""Memory of the MCP server as conversations accumulate: bounded by the documented caps.

    python tests/bench/bench_memory.py [--conversations 1000]

One chat per new conversation through the in-memory client, with the defaults (100 conversations kept,
40 messages each); traced Python memory after a collection, as a ratio to the level at the cap. Then one
conversation of 200 turns, which keeps its last 40 messages. The emulator runs in its own process, since it
keeps a log of every request.
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc

import anyio
from _common import emulator_process, quiet_environment, settings_from
from mcp import Client

from gigachat_mcp import Settings
from gigachat_mcp.server import build_server
from gigachat_mcp.server.conversations import ConversationStore


def traced_kib() -> float:
    gc.collect()
    return tracemalloc.get_traced_memory()[0] / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=1000)
    args = parser.parse_args()
    quiet_environment()
    with emulator_process() as env:
        store = ConversationStore()
        server = build_server(Settings.resolve(environ={}, **settings_from(env), token_cache="memory"),
                              conversations=store)
        checkpoints = sorted({100, 250, 500, args.conversations})
        levels: dict[int, float] = {}

        async def run() -> None:
            async with Client(server) as client:
                await client.call_tool("chat", {"prompt": "warm up"})
                tracemalloc.start()
                for i in range(1, args.conversations + 1):
                    await client.call_tool("chat", {"prompt": f"conversation {i} [emulator words=40]"})
                    if i in checkpoints:
                        levels[i] = traced_kib()
                first = (await client.call_tool("chat", {"prompt": "long one"})).structured_content
                for turn in range(200):
                    await client.call_tool("chat", {"prompt": f"turn {turn}",
                                                    "conversation_id": first["conversation_id"]})
                levels[-1] = traced_kib()
                long_messages = len(store.peek(first["conversation_id"]).messages)
                print(f"conversations kept: {len(store)} (cap {store.max_conversations}); "
                      f"a 200-turn conversation keeps {long_messages} messages (cap {store.max_messages})")

        anyio.run(run)
    base = levels[100]
    print(f"  {'after':<32} {'traced KiB':>12} {'vs at the cap':>14}")
    for count in checkpoints:
        print(f"  {f'{count} conversations':<32} {levels[count]:>12.0f} {levels[count] / base:>13.2f}x")
    print(f"  {'+ one of 200 turns':<32} {levels[-1]:>12.0f} {levels[-1] / base:>13.2f}x")
    print("  target: flat once the cap is reached (ratios near 1x)")


if __name__ == "__main__":
    main()
