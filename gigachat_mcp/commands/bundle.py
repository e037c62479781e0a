"""`gigachat-mcp bundle`: an MCP Bundle (.mcpb) for a one-click install in Claude Desktop.

The bundle is small and holds no code of ours: a manifest, an icon, a pyproject.toml that names this version
of gigachat-mcp (the host's uv installs it from PyPI), and a three-line entry point that starts the stdio server.
The same bytes come out every time for the same version (fixed timestamps, fixed order).
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path
from typing import Any

from .._version import __version__
from ._common import USAGE, fail

DEFAULT_OUTPUT = f"gigachat-mcp-{__version__}.mcpb"
PYPROJECT = f"""\
# Read by the host's uv (manifest server type "uv"): it installs these dependencies, then runs server/main.py.
[project]
name = "gigachat-mcp-bundle"
version = "{__version__}"
description = "GigaChat MCP server, packaged for MCP hosts"
requires-python = ">=3.10"
dependencies = ["gigachat-mcp=={__version__}"]

[tool.uv]
package = false  # nothing to build here: only the dependencies are installed
"""
ENTRY = '''\
"""The GigaChat MCP server over stdio, as the bundle's host starts it."""

import sys

from gigachat_mcp.cli import main

if __name__ == "__main__":
    sys.exit(main([]))
'''


def add_parser(commands: Any) -> None:
    bundle = commands.add_parser("bundle", help="write an MCP Bundle (.mcpb) for a one-click install in Claude Desktop",
                                 description="Write an MCP Bundle: open it with Claude Desktop (or drag it onto "
                                             "Settings -> Extensions) and it asks for your GigaChat key.")
    bundle.add_argument("-o", "--output", default=DEFAULT_OUTPUT, metavar="FILE.mcpb",
                        help=f"where to write it (default: {DEFAULT_OUTPUT} in the current directory)")


def run(args: argparse.Namespace) -> int:
    import anyio

    from ._icon import icon_png
    from ._manifest import ENTRY_POINT, ICON, manifest, server_catalogue

    tools, prompts = anyio.run(server_catalogue)
    files = {
        "manifest.json": json.dumps(manifest(tools, prompts), ensure_ascii=False, indent=2).encode() + b"\n",
        ICON: icon_png(),
        "pyproject.toml": PYPROJECT.encode(),
        ENTRY_POINT: ENTRY.encode(),
    }
    output = Path(args.output)
    try:
        write_zip(output, files)
    except OSError as exc:
        return fail(f"bundle: cannot write {str(output)!r} ({exc.strerror or exc}); pick another path with -o.",
                    USAGE)
    print(f"Wrote {output} ({output.stat().st_size // 1024 + 1} KB). Open it with Claude Desktop (or drag it onto "
          "Settings -> Extensions); it asks for your GigaChat authorization key. The host runs it with uv.")
    return 0


def write_zip(path: Path, files: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
