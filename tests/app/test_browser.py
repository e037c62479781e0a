"""The live view in a real headless Chromium, shown by a reference MCP Apps host (ext-apps' AppBridge) that talks
to the real `gigachat-mcp serve --transport streamable-http` against a slow emulator stream."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from gigachat_mcp.emulator import Emulator
from tests.app.conftest import AppsHost
from tests.helpers import gigachat_mcp_command, subprocess_env

SHOTS = Path(os.environ.get("GIGACHAT_MCP_SCREENSHOTS", Path(__file__).resolve().parents[2] / ".screenshots"))
PROMPT_FULL = ('Show **bold**, `code` and <img src=x onerror="window.pwned=1"> as text '
               "[emulator words=160 delay=0.04 chunk=2]")
PROMPT_STOP = "Keep going [emulator words=700 delay=0.04 chunk=2]"
PROMPT_MARKDOWN = """Render this
## Plan *now*

- item one
- item **two**

3. third
4. fourth

```html
<script>window.pwned = 2</script><b>not bold</b>
```

| name | value |
|------|-------|
| a    | 1     |

> quoted `x`

[safe](https://example.com/x?a=1&b=2) and [unsafe](javascript:alert(window.pwned=3)) and [wiki](https://en.wikipedia.org/wiki/Baikal_(lake))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def http_server(emulator: Emulator) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([*gigachat_mcp_command(), "serve", "--transport", "streamable-http", "--port", str(port)],
                            env=subprocess_env(emulator), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                anyio.run(anyio.sleep, 0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.timeout(2400)  # on a fresh machine the first run installs chromium and the npm packages
def test_answer_grows_in_the_frame_stop_cancels_upstream_and_final_state_matches(
        apps_host: AppsHost, emulator: Emulator, http_server: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MCP_URL": http_server, "HOST_DIR": str(apps_host.host_dir), "OUT_DIR": str(SHOTS),
           "CHROMIUM": apps_host.chromium, "PROMPT_FULL": PROMPT_FULL, "PROMPT_STOP": PROMPT_STOP,
           "PROMPT_MARKDOWN": PROMPT_MARKDOWN}
    proc = subprocess.run([apps_host.node, str(apps_host.driver)], env=env, capture_output=True, text=True,
                          timeout=150, cwd=apps_host.driver.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    (SHOTS / "seen.json").write_text(json.dumps(seen, indent=1, ensure_ascii=False))  # for a person to read
    assert "error" not in seen, (seen["error"], seen["console"][-20:])

    # 1. The text grows in the frame while the answer streams, then the frame shows exactly the tool's result.
    full = seen["full"]
    lengths = [s["length"] for s in full["samples"]]
    assert len(set(lengths)) >= 4 and lengths == sorted(lengths), lengths  # sampled several times, growing
    assert all(s["busy"] == "true" for s in full["samples"])
    assert full["midShot"] and (SHOTS / "mid-stream.png").stat().st_size > 5000
    result = full["result"]["result"]["structuredContent"]
    assert result["status"] == "done"
    assert full["result"]["toolMeta"]["ui"]["resourceUri"] == "ui://gigachat/answer.html"
    assert {"read_answer", "stop_answer"} <= set(full["result"]["listed"])
    view = full["view"]
    assert view["status"] == "done" and view["busy"] == "false" and view["live"] == "polite"
    assert view["label"] == "done" and view["model"] == result["model"]
    assert f"{result['usage']['completion_tokens']} tokens" in view["tokens"]
    rendered = words(view["text"])
    expected = words(result["text"].replace("**", "").replace("`", ""))
    assert rendered == expected  # markdown rendered, nothing lost or repeated
    assert view["strong"] == ["bold"] and view["code"] == ["code"]
    assert '<img src=x onerror="window.pwned=1">' in view["text"] and view["injected"] == 0  # text, never HTML
    assert full["copied"] == {"announced": "Answer copied.", "clipboard": result["text"]}  # Copy gives the Markdown
    for width, box in full["layout"].items():  # the finished header at 360, 480 and 640 px (done-*.png)
        assert box["width"] == int(width) and box["status_label"] == "done"
        assert box["scrollWidth"] <= box["width"], (width, box)  # nothing scrolls sideways
        for button in ("stop", "copy"):  # both buttons on the title's row, inside the frame
            assert box[button]["top"] < box["title"]["bottom"] and box[button]["bottom"] > box["title"]["top"], (
                width, button, box)
            assert box[button]["right"] <= box["width"], (width, button, box)
        assert box["copy"]["left"] > box["stop"]["right"] > box["title"]["right"]
    polls = full["callsDuring"].get("read_answer", 0)
    chunks = emulator.streams[0].planned_chunks
    assert 1 <= polls < chunks / 4, (polls, chunks)  # long polls: a handful of calls, not one per chunk
    assert full["callsDuring"]["readWithPrompt"] <= 2  # the prompt finds the turn; then the id alone is sent

    # 2. Stop (pressed from the keyboard) closes the upstream stream; everyone sees `cancelled`.
    stop = seen["stop"]
    assert stop["before"]["status"] == "streaming" and stop["before"]["bg"] != view["bg"]  # the host's dark theme
    stopped = stop["result"]["result"]["structuredContent"]
    assert stopped["status"] == "cancelled" and stopped["text"]
    assert stop["view"]["status"] == "cancelled" and stop["view"]["label"] == "stopped"
    assert words(stop["view"]["text"]) == words(stopped["text"])
    assert stop["calls"].get("stop_answer") == 1
    assert len(emulator.streams) == 3  # one upstream stream for each of the three answers
    record = emulator.streams[1]
    assert emulator.wait_until(lambda: record.outcome != "streaming", 5)
    assert record.outcome == "client went away" and record.sent_chunks < record.planned_chunks
    assert emulator.active_streams == 0

    async def conversation() -> dict:
        async with Client(http_server) as client:
            got = await client.call_tool("get_conversation", {"conversation_id": stopped["conversation_id"]})
        return json.loads(got.content[0].text)

    snapshot = anyio.run(conversation)
    assert snapshot["status"] == "cancelled"
    # kept in the transcript, marked, and never sent upstream again
    assert snapshot["messages"][-1] == {"role": "assistant", "content": stopped["text"], "cancelled": True}

    # 3. A host that lets the page call no tools: the final answer comes from the tool result alone, as Markdown.
    markdown = seen["markdown"]
    answer = markdown["result"]["result"]["structuredContent"]
    assert markdown["calls"].get("read_answer", 0) == 0 and answer["status"] == "done"
    assert markdown["view"]["status"] == "done" and markdown["view"]["model"] == answer["model"]
    dom = markdown["dom"]
    assert dom["headings"] == ["H3:Plan now"] and dom["em"] == ["now"]
    assert dom["ul"] == ["item one", "item two"] and dom["strong"] == ["two"] and dom["ol"] == ["third", "fourth"]
    assert dom["pre"] == ["<script>window.pwned = 2</script><b>not bold</b>"]
    assert dom["th"] == ["name", "value"] and dom["td"] == ["a", "1"] and dom["quote"] == ["quoted x"]
    # javascript: is shown as text, not a link; parentheses inside a link's address stay part of it, no stray `)`
    assert dom["links"] == [["safe", "https://example.com/x?a=1&b=2"], ["wiki", "https://en.wikipedia.org/wiki/Baikal_(lake)"]]
    [links_line] = [p for p in dom["p"] if "unsafe" in p]
    assert links_line.startswith("safe and unsafe and wiki") and ")" not in links_line, links_line
    assert dom["injected"] == 0
