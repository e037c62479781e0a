"""The surfaces a user meets GigaChat through, each reduced to what the user sees: an answer or an error.

Every adapter first asks once with no fault (the warm-up also fetches a token, so faults can strike a session
in progress), then applies the fault, then asks again and reports the Outcome of that second question.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from mcp import Client

from gigachat_mcp import AsyncGigaChat, GigaChat, GigaChatError, Settings, StreamError
from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from gigachat_mcp.server.conversations import ConversationStore

PROMPT = "matrix question [emulator words=12]"
SETTINGS = {"timeout": 1.0, "retry_backoff_factor": 0.01, "token_cache": "memory"}
Fault = Callable[[Emulator], None]


@dataclass
class Outcome:
    ok: bool
    text: str  # the answer, or the partial answer the user still sees after an error
    error: str = ""
    kind: str = ""
    seconds: float = 0.0
    warm_answer: str = ""


def settings(emulator: Emulator) -> dict:
    return emulator.client_settings(**SETTINGS)


def core_chat(emulator: Emulator, fault: Fault) -> Outcome:
    with GigaChat(**settings(emulator)) as giga:
        warm = giga.chat(PROMPT).text
        fault(emulator)
        started = time.monotonic()
        try:
            return Outcome(True, giga.chat(PROMPT).text, seconds=time.monotonic() - started, warm_answer=warm)
        except GigaChatError as exc:
            return Outcome(False, "", str(exc), type(exc).__name__, time.monotonic() - started, warm)


def core_stream(emulator: Emulator, fault: Fault) -> Outcome:
    with GigaChat(**settings(emulator)) as giga:
        warm = "".join(c.text for c in giga.stream(PROMPT))
        fault(emulator)
        seen: list[str] = []
        started = time.monotonic()
        try:
            for chunk in giga.stream(PROMPT):
                seen.append(chunk.text)
            return Outcome(True, "".join(seen), seconds=time.monotonic() - started, warm_answer=warm)
        except GigaChatError as exc:
            partial = exc.partial_text if isinstance(exc, StreamError) else ""
            assert partial == "".join(seen)  # what the error carries is exactly what was handed out
            return Outcome(False, partial, str(exc), type(exc).__name__, time.monotonic() - started, warm)


def core_astream(emulator: Emulator, fault: Fault) -> Outcome:
    async def main() -> Outcome:
        async with AsyncGigaChat(**settings(emulator)) as giga:
            warm = "".join([c.text async for c in giga.stream(PROMPT)])
            fault(emulator)
            seen: list[str] = []
            started = time.monotonic()
            try:
                async for chunk in giga.stream(PROMPT):
                    seen.append(chunk.text)
                return Outcome(True, "".join(seen), seconds=time.monotonic() - started, warm_answer=warm)
            except GigaChatError as exc:
                partial = exc.partial_text if isinstance(exc, StreamError) else ""
                return Outcome(False, partial, str(exc), type(exc).__name__, time.monotonic() - started, warm)

    return anyio.run(main)


def mcp_tool(emulator: Emulator, fault: Fault) -> Outcome:
    async def main() -> Outcome:
        store = ConversationStore()
        server = build_server(Settings.resolve(environ={}, **settings(emulator)), conversations=store)
        async with Client(server) as client:
            warm = (await client.call_tool("chat", {"prompt": PROMPT})).structured_content["text"]
            fault(emulator)
            started = time.monotonic()
            result = await client.call_tool("chat", {"prompt": PROMPT})
            seconds = time.monotonic() - started
            if not result.is_error:
                return Outcome(True, result.structured_content["text"], seconds=seconds, warm_answer=warm)
            [cid] = [c for c in store.ids() if store.peek(c).status == "error"]
            snapshot = json.loads((await client.read_resource(f"gigachat://conversations/{cid}")).contents[0].text)
            last = snapshot["messages"][-1]
            partial = last["content"] if last["role"] == "assistant" else ""
            assert snapshot["status"] == "error" and snapshot["error"] in result.content[0].text
            return Outcome(False, partial, result.content[0].text, "ToolError", seconds, warm)

    outcome = anyio.run(main)
    assert emulator.wait_until(lambda: emulator.active_streams == 0, 5)  # no stream left open upstream
    return outcome


def notebook_magic(emulator: Emulator, fault: Fault) -> Outcome:
    import os

    saved = {k: v for k, v in os.environ.items() if k.startswith("GIGACHAT_")}
    os.environ.update(emulator.env(**SETTINGS))
    ip = InteractiveShell.instance()
    ip.extension_manager.load_extension("gigachat_magics")
    try:
        ip.run_line_magic("config", "GigaChatMagics.show_status = False")
        with capture_output() as cap:
            ip.run_cell_magic("gigachat", "--new", PROMPT)
        warm = cap.stdout.rstrip("\n")
        fault(emulator)
        started = time.monotonic()
        with capture_output() as cap:
            try:
                ip.run_cell_magic("gigachat", "--new", PROMPT)
                return Outcome(True, cap.stdout.rstrip("\n"), seconds=time.monotonic() - started, warm_answer=warm)
            except (UsageError, GigaChatError) as exc:  # UsageError for settings; the error's own type otherwise
                error, kind = str(exc), type(exc).__name__
        shown = cap.stdout.rstrip("\n")
        marker = "\n[stopped by an error]"
        partial = shown.removesuffix(marker) if shown.endswith(marker) else ""
        return Outcome(False, partial, error, kind, time.monotonic() - started, warm)
    finally:
        ip.extension_manager.unload_extension("gigachat_magics")
        ip.config.pop("GigaChatMagics", None)
        for name in [k for k in os.environ if k.startswith("GIGACHAT_")]:
            del os.environ[name]
        os.environ.update(saved)


STREAMING = {"core-stream": core_stream, "core-async-stream": core_astream, "mcp-tool": mcp_tool,
             "notebook": notebook_magic}
ALL = {"core-chat": core_chat, **STREAMING}
