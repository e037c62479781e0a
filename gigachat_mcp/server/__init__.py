"""The MCP server: everything that speaks MCP, and the only package that imports server-side `mcp`.

`build_server()` returns the MCPServer (tests connect to it in memory; `gigachat-mcp serve` runs it over stdio or
streamable HTTP).
"""

from .build import build_server

__all__ = ["build_server"]
