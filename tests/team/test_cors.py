"""Browser-based hosts: `serve --allowed-origin` answers CORS preflights for the named origins only, over real HTTP,
and a page in headless Chromium on an allowed origin can talk MCP while one on another origin cannot."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import httpx
import pytest

from gigachat_mcp.emulator import Emulator
from tests.helpers import gigachat_mcp_command, subprocess_env
from tests.team.servers import Replica, free_port

PAGE_ORIGIN = "http://127.0.0.1:{port}"
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "page", "version": "1"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "MCP-Protocol-Version": "2025-11-25"}


def preflight(url: str, origin: str) -> httpx.Response:
    return httpx.options(url, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,mcp-protocol-version,mcp-session-id,authorization"})


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


@pytest.fixture
def served(emulator: Emulator) -> Iterator[Replica]:
    replica = Replica(emulator, "--allowed-origin", "http://localhost:5173", "--allowed-origin",
                      "https://app.example.com", env={"GIGACHAT_MCP_ALLOWED_ORIGINS": "http://127.0.0.1:4000"})
    try:
        yield replica.wait_ready()
    finally:
        replica.stop()


def test_allowed_origins_get_preflights_and_readable_answers(served: Replica) -> None:
    for origin in ("http://localhost:5173", "https://app.example.com", "http://127.0.0.1:4000"):  # flag, flag, env
        answer = preflight(served.url, origin)
        assert answer.status_code == 204, (origin, answer.status_code, answer.text)
        assert answer.headers["access-control-allow-origin"] == origin
        allowed = {h.strip() for h in answer.headers["access-control-allow-headers"].split(",")}
        assert {"content-type", "mcp-protocol-version", "mcp-session-id", "authorization",
                "last-event-id"} <= allowed
        assert {"POST", "GET", "DELETE"} <= {m.strip() for m in answer.headers["access-control-allow-methods"].split(",")}
    origin = "https://app.example.com"  # not loopback: also let through the SDK's Origin check now
    opened = httpx.post(served.url, json=INIT, headers={**MCP_HEADERS, "Origin": origin})
    assert opened.status_code == 200, opened.text
    assert opened.headers["access-control-allow-origin"] == origin
    assert "mcp-session-id" in opened.headers["access-control-expose-headers"].lower()
    session = {**MCP_HEADERS, "Origin": origin, "Mcp-Session-Id": opened.headers["mcp-session-id"]}
    listed = httpx.post(served.url, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=session)
    assert listed.status_code == 200 and '"chat"' in listed.text
    assert listed.headers["access-control-allow-origin"] == origin
    with httpx.stream("GET", served.url, headers={**session, "Accept": "text/event-stream"}) as stream:
        assert stream.status_code == 200 and stream.headers["access-control-allow-origin"] == origin
    closed = httpx.delete(served.url, headers=session)
    assert closed.status_code == 200 and closed.headers["access-control-allow-origin"] == origin


def test_other_origins_get_no_cors_and_are_still_refused(served: Replica) -> None:
    for origin in ("https://evil.example.com", "http://localhost:5174"):
        answer = preflight(served.url, origin)
        assert answer.status_code != 204 and cors_headers(answer) == {}
        posted = httpx.post(served.url, json=INIT, headers={**MCP_HEADERS, "Origin": origin})
        assert cors_headers(posted) == {}
    refused = httpx.post(served.url, json=INIT, headers={**MCP_HEADERS, "Origin": "https://evil.example.com"})
    assert refused.status_code == 403 and "Invalid Origin" in refused.text


def test_preflight_needs_no_token_and_401_is_readable(emulator: Emulator, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"alice: {hashlib.sha256(b'alice-secret-token').hexdigest()}\n")
    replica = Replica(emulator, "--auth-tokens", str(tokens), "--allowed-origin", "http://localhost:5173")
    try:
        replica.wait_ready()
        assert preflight(replica.url, "http://localhost:5173").status_code == 204  # browsers send no token here
        denied = httpx.post(replica.url, json=INIT, headers={**MCP_HEADERS, "Origin": "http://localhost:5173"})
        assert denied.status_code == 401
        assert denied.headers["access-control-allow-origin"] == "http://localhost:5173"
        assert "www-authenticate" in denied.headers["access-control-expose-headers"].lower()
        mine = httpx.post(replica.url, json=INIT, headers={**MCP_HEADERS, "Origin": "http://localhost:5173",
                                                           "Authorization": "Bearer alice-secret-token"})
        assert mine.status_code == 200 and mine.headers["access-control-allow-origin"] == "http://localhost:5173"
    finally:
        replica.stop()


@pytest.mark.parametrize("bad", ["http://localhost:5173/", "localhost:5173", "https://app.example.com/mcp", "*"])
def test_a_bad_origin_is_refused_in_one_line(emulator: Emulator, bad: str) -> None:
    refused = subprocess.run([*gigachat_mcp_command(), "serve", "--transport", "streamable-http", "--port",
                              str(free_port()), "--allowed-origin", bad], env=subprocess_env(emulator),
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2
    assert f"--allowed-origin (or GIGACHAT_MCP_ALLOWED_ORIGINS) {bad!r} is not an origin" in refused.stderr
    assert "e.g. http://localhost:8080" in refused.stderr and "Traceback" not in refused.stderr


def test_the_flag_is_for_http_only(emulator: Emulator) -> None:
    refused = subprocess.run([*gigachat_mcp_command(), "serve", "--allowed-origin", "http://localhost:5173"],
                             env=subprocess_env(emulator), capture_output=True, text=True, timeout=30, input="")
    assert refused.returncode == 2 and "--allowed-origin" in refused.stderr


PAGE = """<!doctype html><title>pending</title><script>
(async () => {
  const url = %s, headers = {"content-type": "application/json", "accept": "application/json, text/event-stream",
                             "mcp-protocol-version": "2025-11-25"};
  try {
    const init = await fetch(url, {method: "POST", headers, body: JSON.stringify(%s)});
    const session = init.headers.get("mcp-session-id");
    await init.text();
    await fetch(url, {method: "POST", headers: {...headers, "mcp-session-id": session},
                      body: JSON.stringify({jsonrpc: "2.0", method: "notifications/initialized"})});
    const tools = await fetch(url, {method: "POST", headers: {...headers, "mcp-session-id": session},
                                    body: JSON.stringify({jsonrpc: "2.0", id: 2, method: "tools/list"})});
    const text = await tools.text();
    document.title = JSON.stringify({session: !!session, chat: text.includes('"name":"chat"')});
  } catch (err) {
    document.title = JSON.stringify({error: String(err)});
  }
})();
</script>"""


def test_chromium_page_on_an_allowed_origin_talks_mcp(emulator: Emulator, tmp_path: Path) -> None:
    chromium = "/usr/bin/chromium"
    assert Path(chromium).exists(), "chromium is needed for this test (apt-get install --no-install-recommends chromium)"
    page_port = free_port()
    replica = Replica(emulator, "--allowed-origin", PAGE_ORIGIN.format(port=page_port))
    (tmp_path / "index.html").write_text(PAGE % (json.dumps(replica.url), json.dumps(INIT)))
    handler = type("Quiet", (SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    pages = ThreadingHTTPServer(("127.0.0.1", page_port),
                                lambda *a: handler(*a, directory=str(tmp_path)))  # type: ignore[misc]
    Thread(target=pages.serve_forever, daemon=True).start()
    try:
        replica.wait_ready()
        seen = {}
        # the same page from two origins: 127.0.0.1 is allowed, localhost (another origin) is not
        for name, host in (("allowed", "127.0.0.1"), ("other", "localhost")):
            dumped = subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--user-data-dir=" + str(tmp_path / f"profile-{name}"),
                 "--virtual-time-budget=15000", "--dump-dom", f"http://{host}:{page_port}/index.html"],
                capture_output=True, text=True, timeout=90)
            title = dumped.stdout.split("<title>", 1)[-1].split("</title>", 1)[0]
            seen[name] = json.loads(title.replace("&quot;", '"')) if title.startswith("{") else title
        assert seen["allowed"] == {"session": True, "chat": True}, seen
        assert seen["other"] == {"error": "TypeError: Failed to fetch"}, seen  # blocked by the browser
    finally:
        pages.shutdown()
        replica.stop()
