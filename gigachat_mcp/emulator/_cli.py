"""`gigachat-mcp emulator` / `python -m gigachat_mcp.emulator`: run the emulator and print how to reach it."""

from __future__ import annotations

import argparse
import errno
import shlex
import sys
import threading


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="gigachat-mcp emulator")
    parser.description = ("Run an offline GigaChat API on loopback and print the GIGACHAT_* variables that point "
                          "any client at it. Stop it with Ctrl-C.")
    parser.add_argument("--tls", action=argparse.BooleanOptionalAction, default=True,
                        help="serve HTTPS with a throwaway CA (default) or plain HTTP (--no-tls)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    parser.add_argument("--cert-dir", help="where to write the CA and certificates (default: a temp dir)")
    parser.add_argument("--chunk-delay", type=float, default=0.05,
                        help="seconds between streamed events, so streaming is visible (default 0.05)")
    parser.add_argument("--token-ttl", type=float, default=1800.0, help="token lifetime in seconds (default 1800)")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds every API request waits before its answer, to see concurrency (default 0)")
    parser.add_argument("--batch-delay", type=float, default=1.0,
                        help="seconds a Batch API batch takes to complete (default 1)")
    return parser


def run(args: argparse.Namespace) -> int:
    from ._emulator import Emulator

    emulator = Emulator(tls=args.tls, host=args.host, port=args.port, cert_dir=args.cert_dir,
                        chunk_delay=args.chunk_delay, token_ttl=args.token_ttl, latency=args.latency,
                        batch_delay=args.batch_delay)
    try:
        emulator.start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(f"gigachat-mcp: port {args.port} on {args.host} is already in use: stop what holds it, or pick "
              "another with --port (0: any free port).", file=sys.stderr)
        return 2
    try:
        print(f"# GigaChat emulator listening on {emulator.origin}", flush=True)
        print("# Paste these into your shell (or an MCP host's env block):", flush=True)
        for name, value in emulator.env().items():
            print(f"export {name}={shlex.quote(value)}", flush=True)
        print("# Faults: POST /_emulator/faults, e.g. "
              f"curl -X POST {emulator.origin}/_emulator/faults -d '{{\"status\": 429}}'"
              + (f" --cacert {emulator.ca_file}" if emulator.ca_file else ""), file=sys.stderr, flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        print("# emulator stopped", file=sys.stderr)
    finally:
        emulator.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m gigachat_mcp.emulator`: the same signal handling as `gigachat-mcp emulator` (see cli.py)."""
    from ..commands._signals import clean_up_on

    with clean_up_on("SIGTERM", "SIGHUP"):
        return run(build_parser().parse_args(argv))
