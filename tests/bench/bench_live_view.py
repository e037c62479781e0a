"""How many `read_answer` calls the live view needs for a 1,000-word answer, and how big its page is.

    python tests/bench/bench_live_view.py [--delay 0.03] [--words 1000]

The emulator streams 2 words an event, `--delay` seconds apart (0.03 s is ~65 words a second, a brisk
GigaChat). The page's loop (read_answer with the offset it has, until the turn ends) runs against the server in
memory, twice: as shipped (a poll keeps collecting for 0.5 s once text is there) and, as the baseline, a poll
that returns as soon as anything changed (the server's 0.1 s notification cadence). Both must deliver the text
exactly; the figure is calls per answer and the ratio between the two.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time

import anyio
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from gigachat_mcp import Settings
from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from gigachat_mcp.server.live_view import page_html
from gigachat_mcp.server.live_view import reading as _reading

APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


async def one_answer(settings: Settings, prompt: str) -> tuple[int, float, int, bool]:
    """The page's loop: (calls, seconds, chunks' worth of text, text exact)."""
    async with Client(build_server(settings), extensions=[APPS]) as client:
        final: dict = {}

        async def ask() -> None:
            final.update((await client.call_tool("chat", {"prompt": prompt})).structured_content)

        started = time.perf_counter()
        calls, text = 0, ""
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(ask)
            args: dict = {"prompt": prompt, "offset": 0, "wait_ms": 10_000}
            while True:
                part = (await client.call_tool("read_answer", args)).structured_content
                calls += 1
                text = text[:part["offset"]] + part["text"]
                if part["status"] in ("done", "error", "cancelled"):
                    break
                args = {"conversation_id": part["conversation_id"], "offset": len(text), "wait_ms": 10_000}
        return calls, time.perf_counter() - started, len(text), text == final["text"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.03)
    parser.add_argument("--words", type=int, default=1000)
    args = parser.parse_args()
    prompt = f"bench [emulator words={args.words} chunk=2 delay={args.delay}]"
    html = page_html().encode()
    print(f"page: {len(html):,} bytes, {len(gzip.compress(html, 9)):,} gzipped")
    rows = []
    with Emulator() as emulator:
        settings = Settings.resolve(environ={}, **emulator.client_settings())
        for name, linger in (("shipped (0.5 s linger)", _reading.LINGER), ("baseline (no linger)", 0.0)):
            _reading.LINGER = linger
            calls, seconds, chars, exact = anyio.run(one_answer, settings, prompt)
            chunks = emulator.streams[-1].planned_chunks
            rows.append((name, calls, seconds, chars, chunks, exact))
    print(f"{'':24} {'calls':>6} {'seconds':>8} {'chars':>7} {'chunks':>7}  text exact")
    for name, calls, seconds, chars, chunks, exact in rows:
        print(f"{name:24} {calls:6d} {seconds:8.1f} {chars:7d} {chunks:7d}  {exact}")
    shipped, baseline = rows[0][1], rows[1][1]
    print(f"calls, shipped / baseline: {shipped / baseline:.2f}x; shipped / chunks: {shipped / rows[0][4]:.3f}")
    if not all(r[5] for r in rows):
        sys.exit("the text read through read_answer differs from the chat result")


if __name__ == "__main__":
    main()
