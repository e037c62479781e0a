"""Team server: many concurrent streaming chats on one replica, in-memory vs Redis state; 1 vs 3 replicas.

    nice -n 10 python tests/bench/bench_team.py [--sizes 100,300,1000] [--words 20] [--delay 0.25]

Needs redis-server on PATH (apt-get install redis-server). The emulator runs in its own process (plain HTTP, so
TLS is not what is measured) streaming one word per chunk every `delay` seconds: a slow stream, as GigaChat's.
Part 1, one replica in this process, N chats at once through one in-memory MCP client, for each state backend:
  - delay from the upstream chunk reaching the server to its progress notification reaching the caller (p50/p99
    over every progress notification), measured on one clock;
  - CPU per upstream chunk of this process (server + the in-memory client), and of redis-server;
  - Redis round trips per streamed answer.
Part 0, real replica processes over HTTP, memory and Redis side by side in one run (rounds interleaved): server
CPU for the same load (`--http-chats` concurrent `--http-words`-chunk answers), its ratio (goal <= 1.15x), and
Redis commands per answer (INFO commandstats) at 20 and 400 chunks. `--profile-redis FILE` also profiles the Redis
replica with py-spy (pip install py-spy) while it serves.
Part 2, real replica processes on loopback: M chats over HTTP (a session each) against 1 and against 3 replicas
sharing Redis (the client round-robins): wall time and p50/p99 delay from sending the call to its first progress. On a 2-core machine shared with
others, 3 replicas cannot be faster; the figures say what the extra hop costs, not what more machines buy.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
from _common import emulator_process, quiet_environment, settings_from

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mcp import Client  # noqa: E402

import gigachat_mcp  # noqa: E402
from gigachat_mcp import Settings  # noqa: E402
from gigachat_mcp.server import build_server  # noqa: E402
from gigachat_mcp.server.state import open_state  # noqa: E402
from tests.team.servers import RedisServer, free_port  # noqa: E402


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- part 1 -----------------------------------------------------------------------------------------------------

ARRIVALS: dict[str, list[tuple[int, float]]] = {}  # tag -> (answer length after the chunk, when it arrived)


def record_arrivals() -> None:
    """Wrap the client's stream so each chunk's arrival in the server is timestamped (the upstream clock)."""
    original = gigachat_mcp.AsyncGigaChat.stream

    async def stream(self, messages, **options):  # type: ignore[no-untyped-def]
        tag = next((m["content"].split()[0] for m in reversed(messages) if m["role"] == "user"), "")
        seen = ARRIVALS.setdefault(tag, [])
        length = 0
        async for chunk in original(self, messages, **options):
            if chunk.text:
                length += len(chunk.text)
                seen.append((length, time.monotonic()))
            yield chunk

    gigachat_mcp.AsyncGigaChat.stream = stream  # type: ignore[method-assign]


async def one_replica(settings: Settings, size: int, prompt: str, redis_url: str | None) -> dict[str, float]:
    ARRIVALS.clear()
    state = open_state(max_conversations=size * 2, redis_url=redis_url, settings=settings,
                       prefix=f"bench{time.monotonic_ns()}")
    server = build_server(settings, state=state, max_conversations=size * 2)
    delays: list[float] = []
    failures = 0

    async def chat(client: Client, n: int) -> None:
        nonlocal failures
        tag = f"b{n}x"

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            now = time.monotonic()
            for length, at in reversed(ARRIVALS.get(tag, ())):
                if length == int(value):
                    delays.append((now - at) * 1000)
                    break

        result = await client.call_tool("chat", {"prompt": f"{tag} {prompt}"}, progress_callback=on_progress)
        failures += bool(result.is_error)

    async with Client(server) as client:
        await client.call_tool("chat", {"prompt": "warm up"})
        link = getattr(state, "link", None)
        trips = link.round_trips if link else 0
        cpu, wall = time.process_time(), time.monotonic()
        async with anyio.create_task_group() as group:
            for n in range(size):
                group.start_soon(chat, client, n)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        trips = (link.round_trips - trips) if link else 0
    chunks = sum(len(v) for v in ARRIVALS.values())
    if link:
        await link.close()
    return {"p50": percentile(delays, 0.5), "p99": percentile(delays, 0.99), "cpu_per_chunk_us": cpu / chunks * 1e6,
            "chunks": chunks, "wall": wall, "trips_per_answer": trips / size, "failures": failures,
            "notifications": len(delays)}


# --- part 0 -----------------------------------------------------------------------------------------------------

def start_server(env: dict[str, str], *args: str, profile: str | None = None) -> tuple[subprocess.Popen, int]:
    """One replica process (memory unless `--redis` is among `args`), ready to answer."""
    import httpx

    port = free_port()
    command = [str(Path(sys.executable).parent / "gigachat-mcp"), "serve", "--transport", "streamable-http",
               "--port", str(port), *args]
    if profile:
        command = [str(Path(sys.executable).parent / "py-spy"), "record", "-o", profile, "-f", "raw", "-r", "200",
                   "--", *command]
    proc = subprocess.Popen(command, env={**os.environ, **env, "GIGACHAT_TOKEN_CACHE": "memory",
                                          "GIGACHAT_MAX_CONNECTIONS": "2000"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    body = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {}}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}/mcp", json=body, timeout=1)
            return proc, port
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the replica did not start")


def server_pid(proc: subprocess.Popen) -> int:
    """The server's pid (under py-spy, its child)."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    kids = children.read_text().split() if children.exists() else []
    return int(kids[0]) if kids and Path(f"/proc/{proc.pid}/cmdline").read_bytes().startswith(b"py-spy") \
        else proc.pid


async def load(port: int, chats: int, prompt: str) -> int:
    """`chats` concurrent answers over HTTP, one client session each; returns how many failed."""
    failed = 0

    async def chat(n: int) -> None:
        nonlocal failed
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            result = await client.call_tool("chat", {"prompt": f"h{n} {prompt}"},
                                            progress_callback=lambda *_: anyio.sleep(0))
            failed += bool(result.is_error)

    async with anyio.create_task_group() as group:
        for n in range(chats):
            group.start_soon(chat, n)
    return failed


def commands(redis_url: str) -> int:
    import redis as sync_redis

    with sync_redis.Redis.from_url(redis_url) as r:
        return sum(int(v["calls"]) for k, v in r.info("commandstats").items() if k != "cmdstat_info")


def http_cpu(env: dict[str, str], redis_url: str, chats: int, words: int, delay: float, rounds: int,
             profile: str | None) -> None:
    prompt = f"[emulator words={words} delay={delay} chunk=1]"
    servers = {"memory": start_server(env), "redis": start_server(env, "--redis", redis_url, profile=profile)}
    cpu = {name: 0.0 for name in servers}
    try:
        for _name, (_proc, port) in servers.items():
            anyio.run(load, port, 2, "warm up")
        print(f"\n{chats} concurrent {words}-chunk answers over HTTP, one replica each, {rounds} interleaved rounds")
        print(f"{'round':>6} {'memory CPU s':>13} {'redis CPU s':>12} {'ratio':>7} {'failed':>7}")
        for n in range(rounds):
            spent, failed = {}, 0
            for name in (("memory", "redis") if n % 2 == 0 else ("redis", "memory")):
                proc, port = servers[name]
                before = cpu_of(server_pid(proc))
                failed += anyio.run(load, port, chats, prompt)
                spent[name] = cpu_of(server_pid(proc)) - before
                cpu[name] += spent[name]
            print(f"{n + 1:>6} {spent['memory']:>13.2f} {spent['redis']:>12.2f} "
                  f"{spent['redis'] / spent['memory']:>6.2f}x {failed:>7}")
        print(f"{'all':>6} {cpu['memory']:>13.2f} {cpu['redis']:>12.2f} {cpu['redis'] / cpu['memory']:>6.2f}x"
              "   (goal <= 1.15x)")
        port = servers["redis"][1]
        for chunks in (20, 400):
            before = commands(redis_url)
            anyio.run(load, port, 10, f"[emulator words={chunks} delay=0.005 chunk=1]")
            print(f"Redis commands per answer at {chunks} chunks: {(commands(redis_url) - before) / 10:.1f}")
    finally:
        for proc, _ in servers.values():
            proc.send_signal(signal.SIGINT if profile else signal.SIGTERM)
            proc.wait()


# --- part 2 -----------------------------------------------------------------------------------------------------

def start_replicas(count: int, env: dict[str, str], redis_url: str) -> list[tuple[subprocess.Popen, int]]:
    import httpx

    made = []
    for _ in range(count):
        port = free_port()
        proc = subprocess.Popen([str(Path(sys.executable).parent / "gigachat-mcp"), "serve", "--transport",
                                 "streamable-http", "--port", str(port), "--redis", redis_url],
                                env={**os.environ, **env, "GIGACHAT_TOKEN_CACHE": "memory",
                                     "GIGACHAT_MAX_CONNECTIONS": "2000"},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        made.append((proc, port))
    for _proc, port in made:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
    return made


async def fleet(ports: list[int], size: int, prompt: str) -> dict[str, float]:
    firsts: list[float] = []

    async def chat(n: int) -> None:
        sent = time.monotonic()
        got: list[float] = []

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            if value > 0 and not got:
                got.append(time.monotonic())

        async with Client(f"http://127.0.0.1:{ports[n % len(ports)]}/mcp") as client:
            sent = time.monotonic()
            await client.call_tool("chat", {"prompt": f"f{n} {prompt}"}, progress_callback=on_progress)
        if got:
            firsts.append((got[0] - sent) * 1000)

    for port in ports:  # each replica builds its client and gets the shared token before the clock starts
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            await client.call_tool("chat", {"prompt": "warm up"})
    firsts.clear()
    wall = time.monotonic()
    async with anyio.create_task_group() as group:
        for n in range(size):
            group.start_soon(chat, n)
    return {"wall": time.monotonic() - wall, "p50": percentile(firsts, 0.5), "p99": percentile(firsts, 0.99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,300,1000")
    parser.add_argument("--words", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.25)
    parser.add_argument("--fleet-chats", type=int, default=60)
    parser.add_argument("--http-chats", type=int, default=100)
    parser.add_argument("--http-words", type=int, default=60)
    parser.add_argument("--http-delay", type=float, default=0.1)
    parser.add_argument("--http-rounds", type=int, default=3)
    parser.add_argument("--profile-redis", default=None)
    parser.add_argument("--parts", default="0,1,2,3")
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stopped early: the finally blocks stop Redis and the emulator
    quiet_environment()
    parts = {int(p) for p in args.parts.split(",")}
    redis = RedisServer().start()
    try:
        if 3 in parts:
            stop_figures(redis.url)
        with emulator_process("--no-tls") as env:
            if 0 in parts:
                http_cpu(env, redis.url, args.http_chats, args.http_words, args.http_delay, args.http_rounds,
                         args.profile_redis)
            if 1 in parts:
                in_process(env, args, redis)
            if 2 in parts and args.fleet_chats:
                prompt = f"[emulator words={args.words} delay={args.delay} chunk=1]"
                print(f"\n{args.fleet_chats} chats over HTTP, real replica processes sharing Redis")
                print(f"{'replicas':>9} {'wall s':>7} {'first progress p50 ms':>22} {'p99 ms':>8}")
                for count in (1, 3):
                    made = start_replicas(count, env, redis.url)
                    try:
                        r = anyio.run(fleet, [p for _, p in made], args.fleet_chats, prompt)
                    finally:
                        for proc, _ in made:
                            proc.terminate()
                            proc.wait()
                    print(f"{count:>9} {r['wall']:>7.1f} {r['p50']:>22.1f} {r['p99']:>8.1f}")
    finally:
        redis.stop()


def in_process(env: dict[str, str], args: argparse.Namespace, redis: RedisServer) -> None:
    """Part 1: one replica in this process, memory then Redis, for each size."""
    record_arrivals()
    prompt = f"[emulator words={args.words} delay={args.delay} chunk=1]"
    settings = Settings.resolve(environ={}, **settings_from(env), token_cache="memory", max_connections=2000)
    print(f"\nslow stream: one chunk every {args.delay} s")
    print(f"{'chats':>6} {'state':>7} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/chunk':>13} {'vs memory':>10} "
          f"{'redis-server us/chunk':>22} {'Redis trips/answer':>19} {'chunks/answer':>14} {'wall s':>7} "
          f"{'failed':>6}")
    for size in [int(s) for s in args.sizes.split(",")]:
        results = {}
        for backend in ("memory", "redis"):
            redis_cpu = cpu_of(redis.proc.pid)  # type: ignore[union-attr]
            results[backend] = r = anyio.run(one_replica, settings, size, prompt,
                                             redis.url if backend == "redis" else None)
            redis_us = (cpu_of(redis.proc.pid) - redis_cpu) / r["chunks"] * 1e6  # type: ignore[union-attr]
            ratio = r["cpu_per_chunk_us"] / results["memory"]["cpu_per_chunk_us"]
            print(f"{size:>6} {backend:>7} {r['p50']:>8.1f} {r['p99']:>8.1f} {r['cpu_per_chunk_us']:>13.0f} "
                  f"{ratio:>9.2f}x {redis_us if backend == 'redis' else 0:>22.1f} "
                  f"{r['trips_per_answer']:>19.1f} {r['chunks'] / size:>14.1f} {r['wall']:>7.1f} "
                  f"{r['failures']:>6.0f}")


def stop_figures(redis_url: str, trials: int = 5) -> None:
    """Part 3: Stop pressed on replica B for an answer replica A streams: seconds from the stop_answer call to
    the emulator seeing the upstream stream closed (goal <= 1 s)."""
    from mcp.client.extension import advertise
    from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

    from gigachat_mcp.emulator import Emulator
    from tests.team.servers import Replica

    apps = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})

    async def trial(emulator: Emulator, a: Replica, b: Replica) -> float:
        async with Client(a.url) as on_a, Client(b.url, extensions=[apps]) as on_b:
            started = await on_a.call_tool("chat", {"prompt": "stop me [emulator words=3000 delay=0.02]",
                                                    "background": True})
            cid = started.structured_content["conversation_id"]
            while len(emulator.streams) == 0 or emulator.streams[-1].sent_chunks < 20:
                await anyio.sleep(0.01)
            record = emulator.streams[-1]
            closed: list[float] = []

            async def watch() -> None:
                while record.outcome == "streaming":
                    await anyio.sleep(0.002)
                closed.append(time.monotonic())

            async with anyio.create_task_group() as group:
                group.start_soon(watch)
                pressed = time.monotonic()
                await on_b.call_tool("stop_answer", {"conversation_id": cid})
            return closed[0] - pressed

    with Emulator(tls=False) as emulator:
        replicas = [Replica(emulator, "--redis", redis_url).wait_ready() for _ in range(2)]
        try:
            times = [anyio.run(trial, emulator, *replicas) for _ in range(trials)]
        finally:
            for replica in replicas:
                replica.stop()
    print(f"\nStop on replica B, answer streamed by replica A: upstream closed after "
          f"p50 {percentile(times, 0.5) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms over {trials} stops "
          "(goal <= 1000 ms)")


if __name__ == "__main__":
    main()
