"""Memory while uploading a 15 MB file: streamed from disk (upload_file(path)) against the naive baseline of
reading the file into memory first (upload_file(bytes)), measured in the same run.

The emulator runs in its own process, so only the client's memory is counted. Resident memory is sampled
every 2 ms during each upload; the figure is the peak above the idle level just before it.

    python tests/bench/bench_upload_memory.py [--mb 15] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench._common import emulator_process, quiet_environment, settings_from  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def peak_above_idle(action) -> float:
    """MB of resident memory above the idle level at the worst moment of `action`."""
    gc.collect()
    time.sleep(0.05)
    idle = rss()
    peak = idle
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        action()
    finally:
        done.set()
        sampler.join()
    return (peak - idle) / MB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=15.0, help="file size in MB (images may be up to 15)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    quiet_environment()
    from gigachat_mcp import GigaChat

    with tempfile.TemporaryDirectory() as folder, emulator_process() as env:
        path = Path(folder) / "photo.png"
        block = os.urandom(MB)
        total = int(args.mb * MB) - 1024  # just under the 15 MB image limit
        with open(path, "wb") as handle:
            handle.write(b"\x89PNG\r\n\x1a\n")
            written = 8
            while written < total:
                written += handle.write(block[:total - written])
        del block
        size = path.stat().st_size
        with GigaChat(**settings_from(env), token_cache="memory") as giga:
            giga.upload_file(b"warm up: token, TLS, connection pool")
            samples: dict[str, list[float]] = {"streamed from disk": [], "chat(attachments=[path])": [],
                                               "bytes in memory (baseline)": []}
            for _ in range(args.rounds):  # interleaved, so drift hits both alike
                samples["streamed from disk"].append(peak_above_idle(lambda: giga.upload_file(path)))
                with GigaChat(**settings_from(env), token_cache="memory") as fresh:  # its own once-per-content cache
                    fresh.upload_file(b"warm up")
                    samples["chat(attachments=[path])"].append(
                        peak_above_idle(lambda: fresh.chat("describe", attachments=[path])))  # noqa: B023
                samples["bytes in memory (baseline)"].append(
                    peak_above_idle(lambda: giga.upload_file(path.read_bytes())))
                for info in giga.list_files():
                    giga.delete_file(info.id)
        print(f"\nUpload of a {size / MB:.1f} MB file: resident memory above idle during the upload "
              f"(median of {args.rounds}, MB)")
        base = statistics.median(samples["bytes in memory (baseline)"])
        for name, values in samples.items():
            median = statistics.median(values)
            print(f"  {name:<30} {median:8.1f} MB   {median / base if base else float('nan'):6.3f}x baseline   "
                  f"{median / (size / MB):6.3f}x file size")


if __name__ == "__main__":
    main()
