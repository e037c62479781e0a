"""OAuth calls for 10 processes started one after another within a token's life (target: 1).

    python tests/bench/bench_oauth_processes.py [--processes 10]

Baseline: the same processes with GIGACHAT_TOKEN_CACHE=memory, which must each fetch a token.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

from _common import quiet_environment

from gigachat_mcp.emulator import Emulator

SCRIPT = "from gigachat_mcp import GigaChat\nwith GigaChat() as g:\n    g.chat('hi')\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=10)
    args = parser.parse_args()
    quiet_environment()
    counts = {}
    for mode in ("memory", "file"):
        with Emulator() as emulator, tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, **emulator.env(token_cache=mode, token_cache_dir=cache)}
            for _ in range(args.processes):
                subprocess.run([sys.executable, "-c", SCRIPT], env=env, check=True)
            counts[mode] = emulator.oauth_calls
    print(f"OAuth calls for {args.processes} processes, one after another:")
    print(f"  token cache in memory only (baseline): {counts['memory']}")
    print(f"  token cache on disk (default):         {counts['file']}  "
          f"(target 1: {'OK' if counts['file'] == 1 else 'MISSED'})")


if __name__ == "__main__":
    main()
