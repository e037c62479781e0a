"""`gigachat-mcp serve`: the MCP server over stdio (default) or streamable HTTP."""

from __future__ import annotations

import argparse
import contextlib

from ._common import settings_for


def run(args: argparse.Namespace) -> int:
    from ..server import build_server

    with contextlib.ExitStack() as stack:
        settings = stack.enter_context(settings_for(True)) if args.emulator else None
        server = build_server(settings)
        try:
            if args.transport == "streamable-http":
                server.run(transport="streamable-http", host=args.host, port=args.port)
            else:
                server.run()
        except KeyboardInterrupt:
            pass
    return 0
