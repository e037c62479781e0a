"""Real programs the team-server tests run: a Redis server (installed by apt if missing) and server replicas."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from gigachat_mcp.emulator import Emulator
from tests.helpers import gigachat_mcp_command, subprocess_env
from tests.installs import installed, new_packages


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _which(name: str) -> str | None:
    return shutil.which(name) or next((p for p in (f"/usr/bin/{name}", f"/usr/sbin/{name}") if os.path.exists(p)),
                                      None)


def ensure_programs(programs: dict[str, str]) -> dict[str, str]:
    """Install the missing programs (name -> Debian package) with one apt-get run when root; return what is still
    missing, with a message saying how to install it. Never skips: the caller fails with that message."""
    missing = {name: package for name, package in programs.items() if _which(name) is None}
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        lock = ["-o", "DPkg::Lock::Timeout=300"]
        subprocess.run(["apt-get", *lock, "update", "-q"], env=env, check=False, capture_output=True, timeout=900)
        done = subprocess.run(["apt-get", *lock, "install", "-y", "-q", "--no-install-recommends", *missing.values()],
                              env=env, check=False, capture_output=True, text=True, timeout=900)
        packages = new_packages(done.stdout)
        if packages:
            installed(f"apt-get install --no-install-recommends {' '.join(missing.values())}: {len(packages)} "
                      f"Debian packages ({', '.join(packages)})")
    return {name: (f"{name} is not installed and the team-server tests need it: apt-get install -y {package} "
                   f"(brew install {package.removesuffix('-server')} on macOS), or run the tests as root on "
                   "Debian/Ubuntu so they install it themselves.")
            for name, package in programs.items() if _which(name) is None}


def find_program(name: str, debian_package: str) -> str:
    """The program's path, installed first if need be; raises RuntimeError saying how to install it."""
    problem = ensure_programs({name: debian_package}).get(name)
    if problem:
        raise RuntimeError(problem)
    return str(_which(name))


class RedisServer:
    """redis-server on a loopback port, no persistence; stop() and start() again keep the port.

    Its working dir (where SHUTDOWN SAVE writes) exists only while it runs or holds saved data: stop() removes it,
    so a test session leaves nothing in the temp dir."""

    def __init__(self) -> None:
        self.binary = find_program("redis-server", "redis-server")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="gigachat-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", self.dir, "--protected-mode", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def shutdown_keeping_data(self) -> None:
        """SHUTDOWN SAVE: what a restart of a persistent Redis looks like to its clients."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(b"SHUTDOWN SAVE\r\n")
            sock.recv(16)
        assert self.proc is not None
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)  # no data survives a SIGTERM without --save anyway

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"FLUSHALL\r\n")
            sock.recv(16)


class Replica:
    """One `gigachat-mcp serve --transport streamable-http` process. Its stderr goes to a temp file that stop()
    reads into memory and removes: output() still works after stop(), and nothing is left in the temp dir."""

    def __init__(self, emulator: Emulator, *args: str, env: dict[str, str] | None = None,
                 host: str = "127.0.0.1", port: int | None = None) -> None:
        self.port = port or free_port()
        self.host = host
        self.log = tempfile.NamedTemporaryFile(prefix="replica-", suffix=".log", delete=False)  # noqa: SIM115
        self._output: str | None = None
        self.proc = subprocess.Popen(
            [*gigachat_mcp_command(), "serve", "--transport", "streamable-http", "--host", host, "--port",
             str(self.port), *args],
            env=subprocess_env(emulator, GIGACHAT_LOG_LEVEL="INFO", **(env or {})), stdout=subprocess.DEVNULL,
            stderr=self.log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def wait_ready(self, timeout: float = 30) -> Replica:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"replica exited {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"replica did not start:\n{self.output()}")

    def output(self) -> str:
        if self._output is not None:
            return self._output
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._output is None:
            self._output = self.output()
            self.log.close()
            Path(self.log.name).unlink(missing_ok=True)
