"""OpenTelemetry: GigaChat calls become spans under the MCP tools/call span once the user configures an exporter."""

from __future__ import annotations

import json
import subprocess
import sys

from gigachat_mcp.emulator import Emulator
from tests.helpers import subprocess_env

SCRIPT = """
import json, anyio
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
from mcp import Client
from gigachat_mcp.server import build_server

async def main():
    async with Client(build_server()) as client:
        await client.call_tool("chat", {"prompt": "traced [emulator words=10 delay=0.01]", "model": "GigaChat-2-Max"})
anyio.run(main)
print(json.dumps([{"name": s.name, "id": s.context.span_id, "parent": s.parent.span_id if s.parent else None,
                   "attributes": dict(s.attributes)} for s in exporter.get_finished_spans()]))
"""


def test_gigachat_calls_are_spans_under_the_mcp_tool_span(emulator: Emulator) -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=subprocess_env(emulator), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    spans = json.loads(out.stdout.strip().splitlines()[-1])
    [chat] = [s for s in spans if s["name"] == "chat GigaChat-2-Max"]
    [tool] = [s for s in spans if s["id"] == chat["parent"]]
    assert tool["attributes"]["gen_ai.tool.name"] == "chat"
    attributes = chat["attributes"]
    assert attributes["gen_ai.request.model"] == "GigaChat-2-Max" and attributes["gigachat.status"] == "done"
    assert attributes["gen_ai.usage.output_tokens"] > 10 and attributes["gen_ai.usage.input_tokens"] > 0
    assert attributes["gigachat.time_to_first_chunk_ms"] > 0


def test_without_an_exporter_nothing_is_recorded() -> None:
    code = ("from gigachat_mcp.server.http.telemetry import chat_span\n"
            "with chat_span('m') as span: print(span.recording)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
