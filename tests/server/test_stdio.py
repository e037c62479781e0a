"""The real `gigachat-mcp` command over stdio, driven by the SDK's client, on both protocol eras."""

from __future__ import annotations

import pytest
from mcp import Client, StdioServerParameters

from gigachat_mcp.emulator import Emulator
from tests.helpers import gigachat_mcp_command, subprocess_env

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_stdio_server_streams_progress_and_answers(emulator: Emulator, mode: str) -> None:
    emulator.chunk_delay = 0.02
    command, *args = gigachat_mcp_command()
    params = StdioServerParameters(command=command, args=args, env=subprocess_env(emulator,
                                                                                  GIGACHAT_LOG_LEVEL="DEBUG"))
    progress: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async with Client(params, mode=mode) as client:
        assert {t.name for t in (await client.list_tools()).tools} >= {"chat", "list_models"}
        result = await client.call_tool("chat", {"prompt": "over stdio [emulator words=20]", "system": "sys"},
                                        progress_callback=on_progress)
        follow = await client.call_tool("chat", {"prompt": "and again",
                                                 "conversation_id": result.structured_content["conversation_id"]})
        bad = await client.call_tool("chat", {"prompt": "x", "model": "Nope-1"})
    assert not result.is_error
    assert result.structured_content["text"].startswith('GigaChat emulator (GigaChat-2) heard: "over stdio"')
    assert len(progress) >= 2 and result.structured_content["text"].startswith(progress[0])
    assert 'Previous user message: "over stdio' in follow.structured_content["text"]
    assert bad.is_error and "Available chat models" in bad.content[0].text


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_streamable_http_server_streams_progress_and_answers(emulator: Emulator, mode: str) -> None:
    import subprocess

    import anyio

    emulator.chunk_delay = 0.02
    port = free_port()
    proc = subprocess.Popen([*gigachat_mcp_command(), "serve", "--transport", "streamable-http", "--port", str(port)],
                            env=subprocess_env(emulator), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with anyio.fail_after(30):
            while True:  # until the server accepts connections
                try:
                    stream = await anyio.connect_tcp("127.0.0.1", port)
                    await stream.aclose()
                    break
                except OSError:
                    assert proc.poll() is None, proc.stderr.read().decode()
                    await anyio.sleep(0.05)
        progress: list[str] = []

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append(message or "")

        async with Client(f"http://127.0.0.1:{port}/mcp", mode=mode) as client:
            result = await client.call_tool("chat", {"prompt": "over http [emulator words=20]"},
                                            progress_callback=on_progress)
            again = await client.call_tool("chat", {"prompt": "and again",
                                                    "conversation_id": result.structured_content["conversation_id"]})
        assert result.structured_content["text"].startswith('GigaChat emulator (GigaChat-2) heard: "over http"')
        assert len(progress) >= 2 and result.structured_content["text"].startswith(progress[0])
        assert 'Previous user message: "over http' in again.structured_content["text"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
