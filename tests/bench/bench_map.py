"""GigaChat.map: throughput against the ideal, client CPU per row against plain chat(), memory over 100,000 rows.

    python tests/bench/bench_map.py [--rows 1000] [--latency 0.2] [--concurrency 10] [--cpu-rows 200]
                                    [--cpu-latency 0.05] [--memory-rows 100000]

1. Throughput: `rows` rows at `concurrency` against an emulator process answering each request after `latency`
   seconds; the ideal is rows / concurrency * latency. The emulator reports the most requests it saw at once.
2. CPU: time.process_time() of this process (every thread) per row of a map (cache on, new rows each round) vs
   per plain chat() call, rounds interleaved, medians. Measured with the emulator answering after `cpu-latency`
   seconds (50 ms by default; real answers take far longer), which is the target's case, and again at no latency
   at all, the map's worst case (shown, not judged): with instant answers its threads only take turns at the GIL.
3. Memory: a map of `memory-rows` short rows all answered by the cache (filled directly): the growth of this
   process's peak resident memory while the map runs and its result is held.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from _common import emulator_process, quiet_environment, settings_from

from gigachat_mcp import ChatResult, GigaChat, Usage


def control(settings: dict[str, str], action: str, **body: float) -> dict:  # type: ignore[type-arg]
    origin = settings["base_url"].rsplit("/v1", 1)[0]
    with httpx.Client(verify=False if "ca_bundle_file" not in settings else _context(settings)) as http:
        response = http.post(f"{origin}/_emulator/{action}", json=body) if body or action == "concurrency" \
            else http.get(f"{origin}/_emulator/{action}")
    return response.json()


def _context(settings: dict[str, str]):  # type: ignore[no-untyped-def]
    import ssl

    return ssl.create_default_context(cafile=settings["ca_bundle_file"])


def throughput(settings: dict[str, str], rows: int, latency: float, concurrency: int) -> None:
    control(settings, "settings", latency=latency)
    control(settings, "concurrency")  # POST: reset the maximum
    with GigaChat(**settings) as giga:
        giga.models()  # signed in, so the run measures rows only
        control(settings, "concurrency")
        started = time.perf_counter()
        result = giga.map([f"throughput row {i}" for i in range(rows)], concurrency=concurrency, cache=False)
        elapsed = time.perf_counter() - started
    seen = httpx.get(settings["base_url"].rsplit("/v1", 1)[0] + "/_emulator/concurrency",
                     verify=_context(settings)).json()["max_in_flight"]
    ideal = rows / concurrency * latency
    print(f"\n1. {rows} rows at concurrency {concurrency}, {latency * 1000:.0f} ms per answer "
          f"({len(result.errors)} failed)")
    print(f"   wall {elapsed:.2f} s vs ideal {ideal:.2f} s: {elapsed / ideal:.3f}x  (target <= 1.05x: "
          f"{'OK' if elapsed / ideal <= 1.05 else 'MISSED'})")
    print(f"   emulator saw at most {seen} requests at once (target <= {concurrency}: "
          f"{'OK' if seen <= concurrency else 'MISSED'})")


def cpu(settings: dict[str, str], rows: int, rounds: int, latency: float, judged: bool = True) -> None:
    control(settings, "settings", latency=latency)
    per_row: dict[str, list[float]] = {"map (cache on)": [], "plain chat()": []}
    with GigaChat(**settings) as giga, tempfile.TemporaryDirectory() as tmp:
        giga.chat("warm up")
        giga.map(["warm up map"], cache=Path(tmp) / "c.sqlite3")
        for r in range(rounds):
            started = time.process_time()
            giga.map([f"cpu round {r} row {i}" for i in range(rows)], concurrency=10, cache=Path(tmp) / "c.sqlite3")
            per_row["map (cache on)"].append((time.process_time() - started) / rows)
            started = time.process_time()
            for i in range(rows):
                giga.chat(f"cpu plain {r} row {i}")
            per_row["plain chat()"].append((time.process_time() - started) / rows)
    base = statistics.median(per_row["plain chat()"])
    print(f"\n2. client CPU per row, {rows} rows x {rounds} rounds, answers after {latency * 1000:.0f} ms (medians)")
    for name, values in per_row.items():
        ratio = statistics.median(values) / base
        verdict = (f"  (target <= 1.10x: {'OK' if ratio <= 1.10 else 'MISSED'})" if judged else "  (worst case, shown)"
                   ) if name.startswith("map") else ""
        print(f"   {name:<16} {statistics.median(values) * 1e6:8.0f} us  {ratio:.3f}x{verdict}")


def memory(settings: dict[str, str], rows: int) -> None:
    from gigachat_mcp.client._bulk._cache import MapCache, dump_result
    from gigachat_mcp.client._bulk._plan import make_plan

    with GigaChat(**settings) as giga, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.sqlite3"
        prompts = [f"short row {i}" for i in range(rows)]
        plan = make_plan(giga.settings, prompts, None, {}, concurrency=10, cache=path, on_error="keep", batch=False,
                         batch_timeout=1.0, batch_poll=1.0)
        cache = MapCache(path)
        cache.save_many([(key, dump_result(ChatResult(f"answer {i}", "GigaChat-2:2.0.28.2", "stop",
                                                      Usage(3, 2, 5))))
                         for i, key in enumerate(plan.keys)])
        cache.close()
        del plan
        before = _status("VmRSS")
        started = time.perf_counter()
        result = giga.map(prompts, cache=path)
        elapsed = time.perf_counter() - started
        peak = _status("VmHWM")
        assert result.ok and result.texts[-1] == f"answer {rows - 1}"
    growth = (peak - before) / 1024
    print(f"\n3. {rows} short rows, all cached: {elapsed:.1f} s, peak resident growth {growth:.0f} MB "
          f"(target < 100 MB: {'OK' if growth < 100 else 'MISSED'})")


def _status(field: str) -> int:
    """A /proc/self/status figure in kB (VmHWM: the peak resident set so far)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--cpu-rows", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cpu-latency", type=float, default=0.05)
    parser.add_argument("--memory-rows", type=int, default=100_000)
    args = parser.parse_args()
    quiet_environment()
    with emulator_process() as env:
        settings = settings_from(env)
        settings["token_cache"] = "memory"
        memory(settings, args.memory_rows)  # first, so the peak is not an earlier part's
        throughput(settings, args.rows, args.latency, args.concurrency)
        cpu(settings, args.cpu_rows, args.rounds, args.cpu_latency)
        cpu(settings, args.cpu_rows, args.rounds, 0.0, judged=False)


if __name__ == "__main__":
    main()
