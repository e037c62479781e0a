"""The SDK internals the server leans on (gigachat_mcp/server/sdk.py), checked against the installed mcp: each test
fails when a release renames or reshapes one of them, before a user meets the difference."""

from __future__ import annotations

import pytest
from mcp import Client, types
from mcp.server import ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import EmptyResult, SubscribeRequestParams
from pydantic import ValidationError

from gigachat_mcp import Settings
from gigachat_mcp.server import build_server
from gigachat_mcp.server.sdk import add_request_handler, connection_of, tool_validator

pytestmark = pytest.mark.anyio


def test_the_tool_registry_validates_a_tools_arguments_without_running_it() -> None:
    """_tool_manager.get_tool(name).fn_metadata.validate_arguments: how one reply names every bad argument."""
    server = build_server(Settings.resolve(environ={}, credentials="x"))
    validate = tool_validator(server, "chat")
    assert validate is not None, "the SDK's tool registry changed shape: see gigachat_mcp/server/sdk.py"
    validate({"prompt": "hi", "temperature": 1})
    with pytest.raises(ValidationError) as caught:
        validate({"prompt": "hi", "temperature": 5, "max_tokens": 0})
    assert {error["loc"][0] for error in caught.value.errors()} == {"temperature", "max_tokens"}
    assert tool_validator(server, "no_such_tool") is None


async def test_a_request_handler_is_served_and_its_connection_outlives_the_request() -> None:
    """_lowlevel_server.add_request_handler and ctx.session._connection: the 2025-era subscriptions keep the
    connection of a subscribe request and later send resources/updated on it."""
    server = MCPServer("probe")

    @server.resource("probe://thing")
    def thing() -> str:
        return "thing"

    seen: list[object] = []

    async def subscribe(ctx: ServerRequestContext, params: SubscribeRequestParams) -> EmptyResult:
        connection = connection_of(ctx)
        seen.append(connection)
        await connection.send_resource_updated(str(params.uri))
        return EmptyResult()

    add_request_handler(server, "resources/subscribe", SubscribeRequestParams, subscribe)
    heard: list[str] = []

    async def on_message(message: object) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            heard.append(str(message.params.uri))

    async with Client(server, mode="legacy", message_handler=on_message) as client:
        with pytest.warns(UserWarning):  # subscribe_resource is deprecated in the 2026 protocol
            await client.subscribe_resource("probe://thing")
            await client.subscribe_resource("probe://thing")
        await client.list_resources()  # a round trip: the notifications sent before it have arrived
    assert len(seen) == 2 and seen[0] is seen[1], "the connection must be the same object for every request"
    assert heard == ["probe://thing", "probe://thing"]
