"""`gigachat-mcp serve`: the MCP server over stdio (default) or streamable HTTP."""

from __future__ import annotations

import argparse
import contextlib
import errno
import socket

from ._common import USAGE, fail, settings_for
from ._signals import clean_up_on


def run(args: argparse.Namespace) -> int:
    from ..server import build_server

    http = args.transport == "streamable-http"
    if http and not _port_is_free(args.host, args.port):
        return fail(f"port {args.port} on {args.host} is already in use: stop what holds it, or pick another with "
                    "--port.", USAGE)
    with contextlib.ExitStack() as stack:
        # without --emulator a bad GIGACHAT_* value is reported by the tools, so a host can show it
        settings = stack.enter_context(settings_for(True)) if args.emulator else None
        server = build_server(settings)
        if http:  # uvicorn turns SIGINT/SIGTERM into a graceful shutdown, then raises them again
            with contextlib.suppress(KeyboardInterrupt):
                server.run(transport="streamable-http", host=args.host, port=args.port)
        else:
            # A host ends stdio by closing stdin, or by a signal. mcp reads stdin in a worker thread that only an
            # EOF ends, so no orderly shutdown can finish: on Ctrl-C too, run the exit hooks and go.
            with clean_up_on("SIGINT"):
                server.run()
    return 0


def _port_is_free(host: str, port: int) -> bool:
    """Bound the way uvicorn binds (SO_REUSEADDR), so a port in TIME_WAIT counts as free, a listener does not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return True  # let the server report a bad host itself
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.errno != errno.EADDRINUSE
    return True
