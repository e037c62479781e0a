"""Client CPU per call and per streamed chunk: gigachat-mcp vs raw httpx (the floor) vs the official SDK.

    python tests/bench/bench_client.py [--rounds 15] [--calls 40]

Each round runs every contender back to back against the same emulator process over TLS with keep-alive,
measuring time.process_time() of this process only. The official SDK is optional (pip install gigachat).
Streams are measured in two framings: one SSE event per write (the emulator's default), and 64 events per
TCP write, as a buffering proxy or the real service under load delivers them.
"""

from __future__ import annotations

import argparse
import json
import ssl
import time
from typing import Any

import httpx
from _common import emulator_process, quiet_environment, report, settings_from

from gigachat_mcp import GigaChat

FRAMINGS = {"per event": "stream [emulator words=400 chunk=1]",
            "coalesced x64": "stream [emulator words=400 chunk=1 coalesce=64]"}


def raw_client(settings: dict[str, str]) -> tuple[httpx.Client, dict[str, str]]:
    """The floor: httpx with a context trusting the emulator CA, and a token fetched once by hand."""
    context = ssl.create_default_context(cafile=settings["ca_bundle_file"])
    client = httpx.Client(verify=context, timeout=30)
    import uuid

    token = client.post(settings["auth_url"], data={"scope": "GIGACHAT_API_PERS"},
                        headers={"Authorization": f"Basic {settings['credentials']}", "RqUID": str(uuid.uuid4())}
                        ).json()["access_token"]
    return client, {"Authorization": f"Bearer {token}"}


def stream_headers(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Accept": "text/event-stream"}  # the service answers a stream only to an SSE client


def raw_chat(client: httpx.Client, headers: dict[str, str], base: str, prompt: str) -> str:
    response = client.post(f"{base}/chat/completions", headers=headers,
                           json={"model": "GigaChat-2", "messages": [{"role": "user", "content": prompt}]})
    response.raise_for_status()
    return response.json()["choices"][0]["message"]["content"]


def raw_stream_v1(client: httpx.Client, headers: dict[str, str], base: str, prompt: str) -> int:
    """A hand-written SSE loop: data lines until [DONE], then the body is read to its end so the connection
    goes back to the pool (breaking out early would close it and cost the next call a TLS handshake)."""
    chunks = 0
    done = False
    body = {"model": "GigaChat-2", "messages": [{"role": "user", "content": prompt}], "stream": True}
    with client.stream("POST", f"{base}/chat/completions", headers=stream_headers(headers), json=body) as response:
        for line in response.iter_lines():
            if line.startswith("data:") and not done:
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    continue
                delta = json.loads(data)["choices"][0]["delta"].get("content")
                if delta:
                    chunks += 1
    return chunks


def raw_stream_v2(client: httpx.Client, headers: dict[str, str], base: str, prompt: str) -> int:
    chunks = 0
    body = {"model": "GigaChat-2", "messages": [{"role": "user", "content": [{"text": prompt}]}], "stream": True}
    url = base.rsplit("/v1", 1)[0] + "/v2/chat/completions"
    event = ""
    done = False
    with client.stream("POST", url, headers=stream_headers(headers), json=body) as response:
        for line in response.iter_lines():
            if done:
                continue
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                if event == "response.message.done":
                    done = True
                    continue
                content = json.loads(line[5:])["messages"][0]["content"]
                if content and content[0].get("text"):
                    chunks += 1
    return chunks


def sdk_client(settings: dict[str, str]):
    try:
        from gigachat import GigaChat as OfficialGigaChat
    except ImportError:
        return None
    return OfficialGigaChat(credentials=settings["credentials"], base_url=settings["base_url"],
                            auth_url=settings["auth_url"], ca_bundle_file=settings["ca_bundle_file"],
                            model="GigaChat-2")


def cpu(action, repeat: int) -> float:
    started = time.process_time()
    for _ in range(repeat):
        action()
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    quiet_environment()
    with emulator_process() as env:
        settings = settings_from(env)
        base = settings["base_url"]
        raw, headers = raw_client(settings)
        ours = GigaChat(**settings, token_cache="memory")
        ours_v2 = GigaChat(**settings, token_cache="memory", api_version="v2")
        sdk = sdk_client(settings)
        prompt = FRAMINGS["per event"]
        chunks = raw_stream_v1(raw, headers, base, prompt)  # warm up every connection and token
        for framed in FRAMINGS.values():
            assert raw_stream_v1(raw, headers, base, framed) == raw_stream_v2(raw, headers, base, framed) == chunks
        ours.chat("warm up"), ours_v2.chat("warm up")
        if sdk is not None:
            sdk.chat("warm up")

        def our_stream(client: GigaChat, prompt: str) -> None:
            for _ in client.stream(prompt):
                pass

        calls = {"raw httpx": lambda: raw_chat(raw, headers, base, "hello"),
                 "gigachat-mcp GigaChat.chat": lambda: ours.chat("hello")}
        streams: dict[str, dict[str, Any]] = {}
        for framing, framed in FRAMINGS.items():
            contenders = {
                "raw httpx + SSE loop (v1)": lambda p=framed: raw_stream_v1(raw, headers, base, p),
                "gigachat-mcp stream (v1)": lambda p=framed: our_stream(ours, p),
                "raw httpx + SSE loop (v2)": lambda p=framed: raw_stream_v2(raw, headers, base, p),
                "gigachat-mcp stream (v2)": lambda p=framed: our_stream(ours_v2, p),
            }
            if sdk is not None:
                contenders["official gigachat SDK stream (v1)"] = lambda p=framed: [None for _ in sdk.stream(p)]
            streams[framing] = contenders
        per_call: dict[str, list[float]] = {name: [] for name in calls}
        per_chunk = {framing: {name: [] for name in contenders} for framing, contenders in streams.items()}
        for _ in range(args.rounds):
            for name, action in calls.items():
                per_call[name].append(cpu(action, args.calls) / args.calls * 1e6)
            for framing, contenders in streams.items():
                for name, action in contenders.items():
                    per_chunk[framing][name].append(cpu(action, 2) / (2 * chunks) * 1e6)
    print(f"emulator over TLS, keep-alive; {args.rounds} interleaved rounds; {chunks} chunks per streamed answer")
    report("Client CPU per non-streaming call", "µs", per_call, "raw httpx",
           {"gigachat-mcp GigaChat.chat": 1.10})
    for framing, samples in per_chunk.items():
        v1 = {k: v for k, v in samples.items() if "v2" not in k}
        v2 = {k: v for k, v in samples.items() if "v2" in k}
        report(f"Client CPU per streamed chunk, v1, {framing}", "µs", v1, "raw httpx + SSE loop (v1)",
               {"gigachat-mcp stream (v1)": 1.05})
        report(f"Client CPU per streamed chunk, v2, {framing}", "µs", v2, "raw httpx + SSE loop (v2)",
               {"gigachat-mcp stream (v2)": 1.05})


if __name__ == "__main__":
    main()
