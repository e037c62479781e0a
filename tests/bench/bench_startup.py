"""Start-up of the two front ends, which hosts and users start often.

    python tests/bench/bench_startup.py [--runs 15]

1. MCP cold start: spawn `gigachat-mcp`, initialize, tools/list — against a bare MCPServer with one tool,
   spawned and listed the same way, interleaved. Target: <= 1.25x.
2. `%load_ext gigachat_magics` in a fresh IPython shell, in a fresh process each run — against loading an
   empty extension. Target: <= 150 ms, and mcp not imported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import anyio
from _common import quiet_environment, report
from mcp import Client, StdioServerParameters

BARE_SERVER = textwrap.dedent('''
    from mcp.server.mcpserver import MCPServer
    server = MCPServer("bare")

    @server.tool()
    def echo(text: str) -> str:
        """Echo."""
        return text

    server.run()
''')
LOAD_EXT = textwrap.dedent('''
    import sys, time, json
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    started = time.perf_counter()
    shell.extension_manager.load_extension(sys.argv[1])
    elapsed = time.perf_counter() - started
    print(json.dumps({"ms": elapsed * 1000, "mcp": "mcp" in sys.modules, "httpx": "httpx" in sys.modules}))
''')


async def cold_start(command: str, args: list[str]) -> float:
    started = time.perf_counter()
    async with Client(StdioServerParameters(command=command, args=args)) as client:
        tools = await client.list_tools()
        assert tools.tools
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    quiet_environment()
    with tempfile.TemporaryDirectory() as work:
        bare = Path(work) / "bare_server.py"
        bare.write_text(BARE_SERVER)
        empty = Path(work) / "empty_extension.py"
        empty.write_text("def load_ipython_extension(ip):\n    pass\n")
        loader = Path(work) / "load_ext.py"
        loader.write_text(LOAD_EXT)
        ours = str(Path(sys.executable).parent / "gigachat-mcp")
        starts = {"bare MCPServer, one tool": [], "gigachat-mcp": []}
        loads = {"empty extension": [], "gigachat_magics": []}
        imported = set()
        for _ in range(args.runs):
            starts["bare MCPServer, one tool"].append(anyio.run(cold_start, sys.executable, [str(bare)]))
            starts["gigachat-mcp"].append(anyio.run(cold_start, ours, []))
            for name, module in (("empty extension", "empty_extension"), ("gigachat_magics", "gigachat_magics")):
                out = subprocess.run([sys.executable, str(loader), module], cwd=work, capture_output=True,
                                     text=True, check=True).stdout
                result = json.loads(out)
                loads[name].append(result["ms"])
                if name == "gigachat_magics":
                    imported |= {m for m in ("mcp", "httpx") if result[m]}
    report("MCP cold start: spawn, initialize, tools/list", "ms", starts, "bare MCPServer, one tool",
           {"gigachat-mcp": 1.25})
    report("%load_ext in a fresh shell", "ms", loads, "empty extension", {})
    median = statistics.median(loads["gigachat_magics"])
    print(f"  %load_ext gigachat_magics: {median:.1f} ms (target <= 150 ms: {'OK' if median <= 150 else 'MISSED'}); "
          f"imported at load: {sorted(imported) or 'neither mcp nor httpx'}")


if __name__ == "__main__":
    main()
