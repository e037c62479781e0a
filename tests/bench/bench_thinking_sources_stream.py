"""Client CPU per streamed chunk for the richer answers: thinking and web-search streams vs a plain stream.

    python tests/bench/bench_thinking_sources_stream.py [--rounds 15] [--calls 20]

Each round streams, back to back over TLS with keep-alive from an emulator in its own process, the same
400-word answer plainly, with reasoning_effort (the emulator's thinking, about 25 words, comes first) and with
web search (sources and [sources=[N]] markers to rewrite), on the v2 contract; reported per chunk received,
as time.process_time() of this process. The question: do thinking and sources cost more per chunk than text?
"""

from __future__ import annotations

import argparse
import contextlib
import time

from _common import emulator_process, quiet_environment, report, settings_from

from gigachat_mcp import GigaChat

PROMPT = "stream [emulator words=400 chunk=1]"
KINDS = {
    "plain stream (v2)": {},
    "with thinking (v2)": {"reasoning_effort": "high"},
    "with web search (v2)": {"tools": ["web_search"]},
}


def per_chunk(giga: GigaChat, options: dict, calls: int) -> float:
    chunks = 0
    started = time.process_time()
    for _ in range(calls):
        with contextlib.closing(giga.stream(PROMPT, **options)) as stream:
            for _chunk in stream:
                chunks += 1
    return (time.process_time() - started) / chunks * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    quiet_environment()
    samples: dict[str, list[float]] = {name: [] for name in KINDS}
    with emulator_process() as env, GigaChat(**settings_from(env), api_version="v2", token_cache="memory") as giga:
        for options in KINDS.values():
            per_chunk(giga, options, 2)  # warm up: connection, token, imports
        for _ in range(args.rounds):
            for name, options in KINDS.items():
                samples[name].append(per_chunk(giga, options, args.calls))
    report(f"Client CPU per chunk, {args.rounds} rounds x {args.calls} streams", "µs/chunk", samples,
           "plain stream (v2)", {"with thinking (v2)": 1.5, "with web search (v2)": 1.5})


if __name__ == "__main__":
    main()
