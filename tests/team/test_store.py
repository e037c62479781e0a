"""The Redis store itself, against a real Redis: append-only growth, fleet-wide caps, TTLs, key prefixes, tokens."""

from __future__ import annotations

import pytest
import redis
from mcp import Client

from gigachat_mcp import Settings
from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from gigachat_mcp.server.state import open_state
from tests.helpers import FAST_RETRIES

pytestmark = pytest.mark.anyio


def settings_for(emulator: Emulator) -> Settings:
    return Settings.resolve(environ={}, **emulator.client_settings(token_cache="memory", **FAST_RETRIES))


def redis_input_bytes(url: str) -> int:
    return int(redis.Redis.from_url(url).info("stats")["total_net_input_bytes"])


async def test_an_answer_is_written_in_proportion_to_its_length_not_its_square(emulator: Emulator,
                                                                               redis_server) -> None:
    state = open_state(redis_url=redis_server.url)
    server = build_server(settings_for(emulator), state=state, progress_interval=0.02)
    written = {}
    async with Client(server) as client:
        await client.call_tool("chat", {"prompt": "warm up"})
        for words in (40, 400):
            before = redis_input_bytes(redis_server.url)
            result = await client.call_tool("chat", {"prompt": f"grow [emulator words={words} delay=0.004 chunk=1]"})
            written[words] = (redis_input_bytes(redis_server.url) - before) / len(result.structured_content["text"])
    # bytes sent to Redis per character of answer stay flat as the answer grows 10x (a rewrite per save would 10x it)
    assert written[400] < written[40] * 1.5, written


async def test_caps_hold_fleet_wide_and_every_key_expires(emulator: Emulator, redis_server) -> None:
    settings = settings_for(emulator)
    one = build_server(settings, state=open_state(redis_url=redis_server.url, max_conversations=3))
    two = build_server(settings, state=open_state(redis_url=redis_server.url, max_conversations=3))
    ids = []
    async with Client(one) as on_one, Client(two) as on_two:
        for n in range(6):
            result = await (on_one if n % 2 else on_two).call_tool("chat", {"prompt": f"number {n}"})
            ids.append(result.structured_content["conversation_id"])
        kept = [cid for cid in ids if not (await on_one.call_tool("get_conversation", {"conversation_id": cid})
                                           ).is_error]
    assert kept == ids[-3:], "the three most recent conversations, across both replicas"
    client = redis.Redis.from_url(redis_server.url)
    keys = list(client.scan_iter("gigachat-mcp:*"))
    assert keys and all(client.ttl(key) > 0 for key in keys), {k: client.ttl(k) for k in keys}


async def test_a_key_prefix_separates_deployments_sharing_one_redis(emulator: Emulator, redis_server) -> None:
    settings = settings_for(emulator)
    blue = build_server(settings, state=open_state(redis_url=redis_server.url, prefix="blue"))
    green = build_server(settings, state=open_state(redis_url=redis_server.url, prefix="green"))
    async with Client(blue) as on_blue, Client(green) as on_green:
        made = await on_blue.call_tool("chat", {"prompt": "blue only"})
        cid = made.structured_content["conversation_id"]
        assert (await on_green.call_tool("get_conversation", {"conversation_id": cid})).is_error
        seen = (await on_blue.call_tool("get_conversation", {"conversation_id": cid})).structured_content
        assert seen["status"] == "done"
    names = {key.decode().split(":")[0] for key in redis.Redis.from_url(redis_server.url).scan_iter("*")}
    assert names == {"blue"}


async def test_the_shared_access_token_is_never_in_redis_in_the_clear(emulator: Emulator, replicas,
                                                                      redis_server) -> None:
    for replica in replicas(2):
        async with Client(replica.url) as client:
            assert not (await client.call_tool("chat", {"prompt": "token please"})).is_error
    [token] = emulator.issued_tokens
    client = redis.Redis.from_url(redis_server.url)
    stored = [client.dump(key) or b"" for key in client.scan_iter("*")]
    assert any(b"token" in key for key in client.scan_iter("*")), "the token is shared through Redis"
    assert not any(token.encode() in value for value in stored)
