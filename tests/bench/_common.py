"""Shared by the benchmark scripts: an emulator in its own process, medians, and a ratio table.

Benchmarks print ratios against a baseline measured in the same run, interleaved, because these machines are
noisy; absolute numbers are shown for context only.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def emulator_process(*args: str) -> Iterator[dict[str, str]]:
    """`gigachat-mcp emulator` in a subprocess (so its CPU is not the client's); yields its GIGACHAT_* env."""
    with tempfile.TemporaryDirectory() as certs:
        proc = subprocess.Popen([sys.executable, "-m", "gigachat_mcp.emulator", "--cert-dir", certs,
                                 "--chunk-delay", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True)
        env: dict[str, str] = {}
        try:
            while "GIGACHAT_CA_BUNDLE_FILE" not in env or ("--no-tls" in args and "GIGACHAT_CREDENTIALS" not in env):
                line = proc.stdout.readline()
                if not line:
                    raise RuntimeError("the emulator did not start")
                if line.startswith("export "):
                    name, _, value = line[7:].strip().partition("=")
                    env[name] = shlex.split(value)[0]
                if "--no-tls" in args and "GIGACHAT_CREDENTIALS" in env:
                    break
            yield env
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def settings_from(env: dict[str, str]) -> dict[str, str]:
    return {name.removeprefix("GIGACHAT_").lower(): value for name, value in env.items()}


def report(title: str, unit: str, samples: dict[str, list[float]], baseline: str, targets: dict[str, float]) -> None:
    base = statistics.median(samples[baseline])
    print(f"\n{title}")
    print(f"  {'contender':<34} {'median ' + unit:>16} {'vs ' + baseline:>18}  target")
    for name, values in samples.items():
        median = statistics.median(values)
        target = targets.get(name)
        verdict = "" if target is None else (f"<= {target:.2f}x  {'OK' if median / base <= target else 'MISSED'}")
        print(f"  {name:<34} {median:>16.2f} {median / base:>17.3f}x  {verdict}")


def quiet_environment() -> None:
    for name in [n for n in os.environ if n.startswith("GIGACHAT_")]:
        del os.environ[name]
