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


METRICS_SCRIPT = """
import json, os, anyio
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
from mcp import Client
from gigachat_mcp import Settings
from gigachat_mcp.server import build_server
from gigachat_mcp.server.state import open_state

def points():
    found = []
    for resource in (reader.get_metrics_data() or type("", (), {"resource_metrics": []})).resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    found.append({"name": metric.name, "attributes": dict(point.attributes),
                                  "value": value if value is not None else point.count})
    return found

def value(found, name):
    return sum(p["value"] for p in found if p["name"] == name)

async def main():
    settings = Settings.resolve()
    state = open_state(redis_url=os.environ["REDIS_URL"], settings=settings, prefix="metrics")
    seen = {}
    async with Client(build_server(settings, state=state)) as client:
        for n in range(3):
            await client.call_tool("chat", {"prompt": f"secret-prompt-text {n} [emulator words=30 delay=0.03]",
                                            "background": True})
        with anyio.fail_after(20):
            while not (value(points(), "gigachat.answers.in_flight") == 3
                       and value(points(), "gigachat.streams.queued") == 2):
                await anyio.sleep(0.01)
        seen["streaming"] = points()
        with anyio.fail_after(20):
            while value(points(), "gigachat.answers.in_flight"):
                await anyio.sleep(0.05)
        failed = await client.call_tool("chat", {"prompt": "secret-prompt-text fails [emulator words=30]"})
        assert failed.is_error
    seen["after"] = points()
    print(json.dumps(seen))

anyio.run(main)
"""


def test_metrics_report_while_answers_stream_and_carry_no_content(emulator: Emulator, redis_server) -> None:
    emulator.add_fault("chat", event="error", status=500, after_chunks=2, skip_requests=3)
    env = subprocess_env(emulator, GIGACHAT_MAX_CONNECTIONS="1", REDIS_URL=redis_server.url)
    out = subprocess.run([sys.executable, "-c", METRICS_SCRIPT], env=env, capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])

    def total(phase: str, name: str) -> float:
        return sum(p["value"] for p in seen[phase] if p["name"] == name)

    # while three answers are accepted and the key allows one stream: three in flight, two of them queued
    assert total("streaming", "gigachat.answers.in_flight") == 3
    assert total("streaming", "gigachat.streams.queued") == 2
    assert total("after", "gigachat.answers.in_flight") == 0 and total("after", "gigachat.streams.queued") == 0
    assert [p["attributes"] for p in seen["after"] if p["name"] == "gigachat.upstream.errors"] == [
        {"error.type": "StreamError"}]
    assert total("after", "gigachat.upstream.errors") == 1
    redis = [p for p in seen["after"] if p["name"] == "gigachat.redis.duration"]
    assert {p["attributes"]["db.operation"] for p in redis} >= {"save", "group_commit", "command"} and total(
        "after", "gigachat.redis.duration") > 3
    for point in seen["streaming"] + seen["after"]:  # fixed words only: no prompt, id or principal
        assert set(point["attributes"]) <= {"error.type", "db.operation"}
        assert not any("secret" in str(v) or len(str(v)) >= 16 and str(v).isalnum() for v in
                       point["attributes"].values())
