"""Client memory against a hostile upstream, beside the documented caps (client/_limits.py), and the time the
stream decoder takes for long lines (linear now; issue 17 measured 4/8/16/32 MB lines at 0.1/0.5/2/8.8 s).

Each case runs in a fresh child process against the hostile HTTPS server of tests/client/hostile.py (in this
process, so its memory is not counted). The child warms up (imports, TLS, one small request), notes its resident
memory, runs the case, and reports its lifetime peak (ru_maxrss) minus that idle level: an upper bound on what
the case added.

    python tests/bench/bench_hostile.py [--bomb-mb 600]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gigachat_mcp.client import _limits  # noqa: E402
from tests.client.hostile import MIB, Hostile, answer, endless, gzip_bomb, v1_delta, v2_delta  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
CYRILLIC = 2  # bytes a Cyrillic character takes in a Python str
EVENT = _limits.MAX_EVENT_BYTES / MIB
TEXT = _limits.MAX_STREAM_CHARS * CYRILLIC / MIB


def cases(bomb_mb: int) -> dict[str, tuple[str, str, object, float, str]]:
    """name -> (route, client call, reply, cap in MiB, what the cap is)."""
    bomb = gzip_bomb(bomb_mb * MIB)
    gz = {"Content-Encoding": "gzip"}
    stream_v1, stream_v2 = "POST /v1/chat/completions", "POST /v2/chat/completions"
    line = f"MAX_EVENT_BYTES {EVENT:g} MiB"
    text = f"MAX_STREAM_CHARS {_limits.MAX_STREAM_CHARS:,} chars = {TEXT:g} MiB Cyrillic, x2 with .partial_text"
    return {
        "line with no end (v1)": (stream_v1, "stream-v1", endless(b"x" * 65536, first=b"data: ", limit=256 * MIB),
                                  EVENT, line),
        "line with no end (v2)": (stream_v2, "stream-v2", endless(b"y" * 65536, first=b"event: response.message."
                                                                  b"delta\ndata: ", limit=256 * MIB), EVENT, line),
        "answer with no end (v1, 4000-char deltas)": (stream_v1, "stream-v1", endless(v1_delta("ж" * 4000),
                                                                                      limit=1024 * MIB), 2 * TEXT, text),
        "answer with no end (v2, 4000-char deltas)": (stream_v2, "stream-v2", endless(v2_delta("ж" * 4000),
                                                                                      limit=1024 * MIB), 2 * TEXT, text),
        "answer with no end (v1, 16-char deltas)": (stream_v1, "stream-v1", endless(v1_delta("ж" * 16),
                                                                                    limit=1024 * MIB), 2 * TEXT, text),
        f"gzip bomb {bomb_mb} MiB on GET /models": ("GET /v1/models", "models", answer(200, bomb, gz),
                                                    _limits.MAX_BODY_BYTES / MIB,
                                                    f"MAX_BODY_BYTES {_limits.MAX_BODY_BYTES // MIB} MiB"),
        f"gzip bomb {bomb_mb} MiB as a file download": ("GET /v1/files/f/content", "download",
                                                        answer(200, bomb, gz), _limits.MAX_FILE_BYTES / MIB,
                                                        f"MAX_FILE_BYTES {_limits.MAX_FILE_BYTES // MIB} MiB"),
        f"gzip bomb {bomb_mb} MiB as a stream": (stream_v1, "stream-v1", answer(200, bomb, gz), EVENT, line),
        f"gzip bomb {bomb_mb} MiB as a 503 body": ("GET /v1/models", "models", answer(503, bomb, gz),
                                                   _limits.MAX_ERROR_BODY_BYTES / MIB, "MAX_ERROR_BODY_BYTES 64 KiB"),
    }


def child(call: str, settings: dict) -> None:
    """Runs in the child: warm up, note idle memory, run the case, print what happened."""
    from gigachat_mcp import GigaChat, GigaChatError

    with GigaChat(**{**settings, "api_version": "v2" if call == "stream-v2" else "v1"}) as giga:
        giga.balance()  # imports, TLS, connection pool: all before the idle level is taken
        with open("/proc/self/statm") as statm:
            idle = int(statm.read().split()[1]) * PAGE
        started = time.perf_counter()
        try:
            if call.startswith("stream"):
                for _ in giga.stream("hi"):
                    pass
            elif call == "models":
                giga.models()
            else:
                giga.download_file("f")
            error, message = "none", "the call succeeded"
        except GigaChatError as exc:
            error, message = type(exc).__name__, str(exc)
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"growth": (peak - idle) / MIB, "error": error, "message": message, "seconds": seconds}))


def decoder_times() -> None:
    """The decoder alone, fed 64 KiB at a time as the client feeds it: one line of each size, then its end."""
    from gigachat_mcp.client._sse import StreamDecoder

    print("\nStream decoder, one final event of one long line, fed 64 KiB at a time (issue 17 before: 4/8/16/32 MB "
          "took 0.1/0.5/2/8.8 s)")
    for mb in (1, 2, 4, 7.9, 16, 32):
        size = int(mb * MIB)
        # Cyrillic written as \uXXXX escapes, 6 bytes a character: the longest line a real answer could make
        event = {"choices": [{"delta": {"content": "ж" * (size // 6)}, "index": 0, "finish_reason": "stop"}]}
        body = b"data: " + json.dumps(event).encode() + b"\n\n"
        decoder = StreamDecoder("v1")
        started = time.perf_counter()
        outcome = "decoded"
        try:
            for start in range(0, len(body), 65536):
                decoder.feed(body[start:start + 65536])
            decoder.finish()
        except Exception as exc:  # noqa: BLE001 - reported
            outcome = f"{type(exc).__name__}: {str(exc)[:60]}..."
        print(f"  {mb:>5g} MiB line: {time.perf_counter() - started:6.3f} s  {outcome}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bomb-mb", type=int, default=600)
    parser.add_argument("--child", nargs=2, metavar=("CALL", "SETTINGS"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], json.loads(args.child[1]))
        return
    print("Client peak memory against a hostile upstream (growth over the idle client, in a fresh process each)")
    print(f"  {'case':<42} {'growth':>9} {'cap':>9}  {'error':<16} {'time':>6}  the cap")
    with Hostile() as hostile:
        hostile.routes["GET /v1/balance"] = answer(200, {"balance": []})
        for name, (route, call, reply, cap, what) in cases(args.bomb_mb).items():
            hostile.routes[route] = reply  # type: ignore[assignment]
            done = subprocess.run([sys.executable, __file__, "--child", call, json.dumps(hostile.settings())],
                                  capture_output=True, text=True, timeout=300)
            if done.returncode:
                print(f"  {name}: the child failed\n{done.stderr[-2000:]}")
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"  {name:<42} {result['growth']:>6.1f} MiB {cap:>5.1f} MiB  {result['error']:<16} "
                  f"{result['seconds']:>5.2f}s  {what}")
            print(f"      -> {result['message'][:150]}")
    decoder_times()


if __name__ == "__main__":
    main()
