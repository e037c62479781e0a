"""The MCPServer the tools are registered on: it checks a call's arguments before the SDK's lax validation runs,
rejecting unknown arguments and non-booleans and explaining bad ones in sentences (the rules: `arguments`), and
lists the tools in the order it is given (hosts show them in that order; the groups register them apart)."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import Tool as MCPTool
from pydantic import ValidationError

from . import sdk
from .arguments import ArgumentProblem, check, combine, explain
from .context import Live
from .legacy_subscriptions import LegacySubscriptions
from .names import PATTERN_WORDS

__all__ = ["CheckedServer"]


class CheckedServer(MCPServer[Live]):
    """MCPServer whose tools reject unknown arguments and non-booleans, and explain bad ones in sentences."""

    _schemas: dict[str, dict[str, Any]] | None = None
    legacy_subscriptions: LegacySubscriptions | None = None  # the 2025-era subscriptions, for tests to count

    def __init__(self, *args: Any, listing_order: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rank = {name: index for index, name in enumerate(listing_order)}

    async def list_tools(self) -> list[MCPTool]:
        """The tools, those named in `listing_order` first and in that order, the rest as registered."""
        tools = await super().list_tools()
        return sorted(tools, key=lambda tool: self._rank.get(tool.name, len(self._rank)))

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        if self._schemas is None or name not in self._schemas:
            self._schemas = {tool.name: tool.input_schema for tool in await self.list_tools()}
        schema = self._schemas.get(name)
        if schema is None:  # an unknown tool: the SDK's own error
            return await super().call_tool(name, arguments, context)
        try:
            checked = check(name, schema, arguments, PATTERN_WORDS)
        except ArgumentProblem as found:
            problem = combine(found, self._validate(name, schema, found.rest))
            raise ToolError(str(problem)) from _names_only(name, problem)
        try:
            return await super().call_tool(name, checked, context)
        except ToolError as exc:
            if type(exc) is ToolError and isinstance(exc.__cause__, ValidationError):  # the arguments' validation
                problem = explain(name, schema, checked, exc.__cause__.errors(), PATTERN_WORDS)
                raise ToolError(str(problem)) from _names_only(name, problem)
            raise

    def _validate(self, name: str, schema: dict[str, Any], arguments: dict[str, Any]) -> ArgumentProblem | None:
        """What the SDK's validation says about `arguments`, without running the tool, so one reply names every
        bad argument; without the SDK's validator (see `sdk`), the reply names fewer."""
        validate = sdk.tool_validator(self, name)
        if validate is None:
            return None
        try:
            validate(arguments)
        except ValidationError as exc:
            return explain(name, schema, arguments, exc.errors(), PATTERN_WORDS)
        except Exception:  # noqa: BLE001 - the validator changed behaviour: report what check() found
            return None
        return None


def _names_only(tool: str, problem: ArgumentProblem) -> ValidationError:
    """A ValidationError naming only the bad arguments: the SDK logs its field names, never the caller's values."""
    return ValidationError.from_exception_data(tool, [
        {"type": "value_error", "loc": (name,), "input": None, "ctx": {"error": "see the tool error"}}
        for name in problem.names])
