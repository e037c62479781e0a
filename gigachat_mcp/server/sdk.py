"""The one adapter for the mcp SDK's private attributes: what MCPServer offers no public hook for.

Each use says why. tests/server/test_sdk_adapter.py fails when an SDK release renames or reshapes one of them,
so an upgrade breaks a test, not a user's session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server import ServerRequestContext
from mcp.server.mcpserver import MCPServer

__all__ = ["add_request_handler", "connection_of", "tool_validator"]


def tool_validator(server: MCPServer[Any], name: str) -> Callable[[dict[str, Any]], Any] | None:
    """The SDK's own argument validation of tool `name`, without running the tool, or None when it is unknown or
    the registry changed shape. Why private: MCPServer exposes tools only as their wire listing, not the pydantic
    model that validates a call; checking with it lets one reply name every bad argument."""
    tool = getattr(getattr(server, "_tool_manager", None), "get_tool", lambda _: None)(name)
    validate = getattr(getattr(tool, "fn_metadata", None), "validate_arguments", None)
    return validate if callable(validate) else None


def add_request_handler(server: MCPServer[Any], method: str, params_type: type[Any],
                        handler: Callable[..., Any]) -> None:
    """Serve `method` with `handler`. Why private: MCPServer has no public hook for request handlers it does not
    implement itself, here the 2025-era resources/subscribe and resources/unsubscribe (the mcp migration guide
    points to the low-level server for them)."""
    server._lowlevel_server.add_request_handler(method, params_type, handler)


def connection_of(ctx: ServerRequestContext[Any, Any]) -> Any:
    """The client connection a request came on, the same object for every request of that client. Why private:
    `ctx.session` is a per-request proxy, so a subscriber is remembered by the connection behind it, which is
    what can send it resources/updated later."""
    return ctx.session._connection
