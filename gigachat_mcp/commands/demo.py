"""`gigachat-mcp demo`: the whole product in one command, as an MCP host would use it.

It starts `gigachat-mcp serve` as a subprocess over stdio, connects the mcp SDK's client, lists the tools and
asks a question, printing the answer as the progress notifications arrive, then continues the conversation.
Without credentials it starts the built-in emulator (HTTPS with a throwaway CA) and points the server at it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import Any, cast

from ._common import has_credentials


def run(args: argparse.Namespace) -> int:
    import anyio

    use_emulator = args.emulator or not has_credentials()
    try:
        return anyio.run(_demo, args.prompt, use_emulator)
    except KeyboardInterrupt:
        print("\ngigachat-mcp: interrupted", file=sys.stderr)
        return 130


async def _demo(prompt: str, use_emulator: bool) -> int:
    from mcp import Client, StdioServerParameters

    pacing = ""  # emulator directives: sent, but not shown as if the user had typed them
    with contextlib.ExitStack() as stack:
        env = {k: v for k, v in os.environ.items() if not (use_emulator and k.startswith("GIGACHAT_"))}
        if use_emulator:
            from ..emulator import Emulator

            emulator = stack.enter_context(Emulator(chunk_delay=0.04))
            env.update(emulator.env(token_cache="memory"))
            say(f"No GigaChat credentials in use: answering from the built-in emulator at {emulator.origin} "
                "(HTTPS, throwaway CA).")
            pacing = " [emulator words=60 delay=0.04]"  # a longer, paced answer, so the streaming is visible
        params = StdioServerParameters(command=sys.executable, args=["-m", "gigachat_mcp", "serve"], env=env)
        say("Starting `gigachat-mcp serve` over stdio and connecting an MCP client…")
        async with Client(params) as client:
            info = client.server_info
            assert info is not None  # set by the initialize handshake Client() made
            tools = [tool.name for tool in (await client.list_tools()).tools]
            say(f"Connected to {info.name} {info.version} (protocol {client.protocol_version}); tools: "
                f"{', '.join(tools)}")
            say(f"\n> {prompt}\n")
            first = await _ask(client, {"prompt": prompt + pacing})
            if first is None:
                return 1
            follow_up = "А теперь одним предложением."
            say(f"\n> {follow_up}   (same conversation_id: the server remembers the first turn)\n")
            second = await _ask(client, {"prompt": follow_up, "conversation_id": first["conversation_id"]})
            if second is None:
                return 1
            resource = await client.read_resource(second["resource_uri"])
            snapshot = json.loads(cast(Any, resource.contents[0]).text)  # a JSON resource: text contents
            say(f"\nResource {second['resource_uri']}: status {snapshot['status']}, "
                f"{len(snapshot['messages'])} messages.")
    say("Done. Next: `gigachat-mcp config claude-desktop` prints the snippet for your MCP host.")
    return 0


async def _ask(client: Any, arguments: dict[str, Any]) -> dict[str, Any] | None:
    printed = 0

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        nonlocal printed
        new = int(progress) - printed
        if message and new > 0:
            sys.stdout.write(message[-new:])
            sys.stdout.flush()
            printed = int(progress)

    result = await client.call_tool("chat", arguments, progress_callback=on_progress)
    if result.is_error:
        print(f"\ngigachat-mcp: {result.content[0].text}", file=sys.stderr)
        return None
    data = result.structured_content
    if printed < len(data["text"]):  # hosts may deliver the result before the last progress message
        sys.stdout.write(data["text"][printed:])
    usage = data.get("usage") or {}
    say(f"\n[{data['model']} · {data['finish_reason']} · {usage.get('total_tokens', '?')} tokens · "
        f"conversation {data['conversation_id']}]")
    return data


def say(text: str) -> None:
    print(text, flush=True)
