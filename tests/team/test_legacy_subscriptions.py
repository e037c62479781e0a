"""2025-era resources/subscribe on a team server: URIs that are not ours are refused, and every attempt counts
against the principal's requests a minute."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import MCPError

from gigachat_mcp.emulator import Emulator
from tests.team.test_auth import as_user, token_file  # noqa: F401 - the fixture

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::UserWarning")]  # subscribe_resource: 2025 API


async def test_subscribe_refuses_foreign_uris_and_counts_against_the_principals_requests(
        emulator: Emulator, replicas, token_file: Path) -> None:  # noqa: F811
    [replica] = replicas(1, "--auth-tokens", str(token_file), "--requests-per-minute", "6")
    async with as_user(replica.url, "alice-secret-token", mode="legacy") as alice, \
            as_user(replica.url, "bob-secret-token", mode="legacy") as bob:
        chat = await alice.call_tool("chat", {"prompt": "hello"})  # request 1
        cid = chat.structured_content["conversation_id"]
        await alice.subscribe_resource(f"gigachat://conversations/{cid}")  # 2
        for foreign in (f"GIGACHAT://conversations/{cid}", f"gigachat://Conversations/{cid}",  # 3, 4
                        "x" * 4096):  # 5
            with pytest.raises(MCPError, match="not a resource of this server"):
                await alice.subscribe_resource(foreign)
        with pytest.raises(MCPError, match="Unknown conversation"):  # 6: bob cannot follow alice's conversation
            await bob.subscribe_resource(f"gigachat://conversations/{cid}")
        with pytest.raises(MCPError, match="not a resource of this server"):  # 6
            await alice.subscribe_resource("gigachat://conversations/" + "0" * 4096)
        with pytest.raises(MCPError) as limited:  # 7: over alice's six a minute
            await alice.subscribe_resource(f"gigachat://conversations/{cid}")
        assert "Too many requests: 6 a minute are allowed per user. Retry in" in str(limited.value)
        refused = await alice.call_tool("chat", {"prompt": "and chats are limited too"})
        assert refused.is_error and "Too many requests" in refused.content[0].text
        await bob.subscribe_resource("gigachat://models")  # bob's own minute is untouched by alice's
