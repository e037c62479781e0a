"""What the browser test needs, installed by the test itself on a fresh machine: Debian's chromium (apt, as
root, without recommended packages: what chromium links against is all in its dependencies), node, and a
reference MCP Apps host (the ext-apps AppBridge) bundled with esbuild from the npm registry into
~/.cache/gigachat-mcp-tests/ (npm's download cache is a temp dir, removed: nothing lands in ~/.npm).
Each install prints one line and is listed again in the run's summary (tests/installs.py).
Nothing is skipped: a missing piece that cannot be installed fails the test with what to do."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.installs import installed, new_packages

HERE = Path(__file__).parent
CHROMIUM = "/usr/bin/chromium"
PACKAGES = {  # pinned: the reference host the test was written against
    "@modelcontextprotocol/ext-apps": "2.0.4",
    "@modelcontextprotocol/client": "2.4.0",
    "@modelcontextprotocol/core": "2.4.0",
    "zod": "4.6.7",
    "playwright-core": "1.65.1",
    "esbuild": "0.28.2",
}


@dataclass
class AppsHost:
    node: str
    chromium: str
    driver: Path
    host_dir: Path


def _run(command: list[str], what: str, **kwargs) -> str:
    proc = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        pytest.fail(f"{what} failed ({' '.join(command)}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc.stdout


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def _apt_install(*packages: str) -> None:
    if os.geteuid() != 0:
        pytest.fail(f"The browser test needs {', '.join(packages)}; install them (apt-get install "
                    f"--no-install-recommends {' '.join(packages)})"
                    " or run the tests as root so they install themselves.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update"], "apt-get update", env=env, timeout=900)
    out = _run(["apt-get", "install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300", *packages],
               "apt-get install", env=env, timeout=1800)
    made = new_packages(out)
    installed(f"apt-get install --no-install-recommends {' '.join(packages)}: {len(made)} Debian packages "
              f"({', '.join(made)})")


@pytest.fixture(scope="session")
def apps_host() -> AppsHost:
    missing = [pkg for pkg, present in (("chromium", Path(CHROMIUM).exists()),
                                        ("nodejs", shutil.which("node") is not None),
                                        ("npm", shutil.which("npm") is not None)) if not present]
    if missing:
        _apt_install(*missing)
    node = shutil.which("node")
    npm = shutil.which("npm")
    assert node and npm and Path(CHROMIUM).exists()
    key = hashlib.sha256(json.dumps(PACKAGES, sort_keys=True).encode()).hexdigest()[:12]
    cache = Path.home() / ".cache" / "gigachat-mcp-tests" / f"apps-host-{key}"
    if not (cache / "node_modules" / ".installed").exists():
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "package.json").write_text(json.dumps(
            {"name": "gigachat-mcp-apps-host", "private": True, "type": "module", "dependencies": PACKAGES}))
        with tempfile.TemporaryDirectory(prefix="npm-cache-") as npm_cache:
            _run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--cache", npm_cache], "npm install",
                 cwd=cache, timeout=900)
        (cache / "node_modules" / ".installed").touch()
        installed(f"npm install {' '.join(f'{k}@{v}' for k, v in PACKAGES.items())}: "
                  f"{_size_mb(cache / 'node_modules'):.0f} MB into {cache}")
    host_dir = cache / "host"
    host_dir.mkdir(exist_ok=True)
    shutil.copy(HERE / "host" / "host.html", host_dir / "host.html")
    shutil.copy(HERE / "host" / "host.mjs", cache / "host.mjs")
    _run([str(cache / "node_modules" / ".bin" / "esbuild"), "host.mjs", "--bundle", "--format=esm",
          "--platform=browser", f"--outfile={host_dir / 'host.js'}", "--log-level=error"], "esbuild", cwd=cache,
         timeout=300)
    driver = cache / "driver.mjs"  # beside node_modules, so its imports resolve
    shutil.copy(HERE / "driver.mjs", driver)
    return AppsHost(node=node, chromium=CHROMIUM, driver=driver, host_dir=host_dir)
