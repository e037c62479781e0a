"""Real redis-server processes beyond the plain one: with a password and TLS, and the Sentinel set-up of
deploy/redis/ (a master, a replica, a Sentinel) with its addresses, password and timings rewritten for loopback."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from tests.team.servers import find_program, free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "redis"


class RedisNode:
    """One redis-server (or Sentinel) on loopback; `args` follow the config file, as on a command line."""

    def __init__(self, *args: str, config: Path | None = None, password: str | None = None,
                 tls: dict[str, str] | None = None, sentinel: bool = False) -> None:
        self.binary = find_program("redis-server", "redis-server")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="gigachat-redis-node-")
        self.password = password
        self.tls = tls
        self.config = config
        self.sentinel = sentinel
        self.args = list(args)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = Path(self.dir) / "redis.log"

    def command(self) -> list[str]:
        command = [self.binary] + ([str(self.config)] if self.config else []) + (["--sentinel"] if self.sentinel else [])
        command += ["--bind", "127.0.0.1", "--dir", self.dir, "--logfile", str(self.log)]
        if self.tls:
            command += ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", self.tls["cert"],
                        "--tls-key-file", self.tls["key"], "--tls-ca-cert-file", self.tls["ca"],
                        "--tls-auth-clients", "no"]
        else:
            command += ["--port", str(self.port)]
        if not self.sentinel:
            command += ["--save", "", "--appendonly", "no"]
        if self.password and not self.config:
            command += ["--requirepass", self.password]
        return command + self.args

    def client(self) -> redis.Redis:
        tls = {"ssl": True, "ssl_ca_certs": self.tls["ca"]} if self.tls else {}
        return redis.Redis(port=self.port, password=None if self.sentinel else self.password, socket_timeout=2,
                           **tls)

    def start(self) -> RedisNode:
        os.makedirs(self.dir, exist_ok=True)  # stop() removed it: a restart begins with an empty data dir
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text() if self.log.exists() else "redis-server exited"
            try:
                with self.client() as client:
                    client.ping()
                return self
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start: {self.log.read_text() if self.log.exists() else ''}")

    def kill(self) -> None:
        """kill -9: what a lost machine looks like."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self) -> None:
        """Stop the server (if it runs) and remove its data dir, so a test run leaves nothing behind."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def deploy_config(name: str, directory: Path, replace: dict[str, str]) -> Path:
    """A copy of deploy/redis/NAME with each `old` text replaced (addresses, password, timings): what an operator
    edits. Sentinel rewrites its file, so it always gets a copy."""
    text = (DEPLOY / name).read_text()
    for old, new in replace.items():
        assert old in text, f"{old!r} is not in deploy/redis/{name}"
        text = text.replace(old, new)
    text = re.sub(r"^(bind|dir) .*$", "", text, flags=re.MULTILINE)  # given on the command line instead
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


class SentinelSetup:
    """deploy/redis/: master, replica (replicaof the master) and one Sentinel (quorum 1), with `password`."""

    def __init__(self, directory: Path, password: str, down_after_ms: int = 1000) -> None:
        self.password = password
        secret = {"CHANGE-ME": password}
        self.master = RedisNode(config=deploy_config("master.conf", directory / "m", secret), password=password)
        self.replica = RedisNode(config=deploy_config("replica.conf", directory / "r", {
            **secret, "10.0.0.5 6379": f"127.0.0.1 {self.master.port}"}), password=password)
        timings = {"down-after-milliseconds gigachat 5000": f"down-after-milliseconds gigachat {down_after_ms}",
                   "failover-timeout gigachat 30000": "failover-timeout gigachat 3000"}
        self.sentinel = RedisNode(config=deploy_config("sentinel.conf", directory / "s", {
            **secret, "gigachat 10.0.0.5 6379 2": f"gigachat 127.0.0.1 {self.master.port} 1", **timings}),
            password=password, sentinel=True)

    @property
    def url(self) -> str:
        return f"redis+sentinel://:{self.password}@127.0.0.1:{self.sentinel.port}/gigachat/0"

    def start(self) -> SentinelSetup:
        self.master.start()
        self.replica.start()
        self.sentinel.start()
        # the replica holds the master's data (the first sync waits repl-diskless-sync-delay, 5 s) and the Sentinel
        # has found it: a fail-over has somewhere to go, with the data
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with self.replica.client() as replica, self.sentinel.client() as sentinel:
                if (replica.info("replication").get("master_link_status") == "up"
                        and sentinel.sentinel_slaves("gigachat")):
                    return self
            time.sleep(0.1)
        raise RuntimeError("the replica did not sync, or the Sentinel did not discover it")

    def master_port(self) -> int:
        with self.sentinel.client() as client:
            return int(client.sentinel_get_master_addr_by_name("gigachat")[1])

    def stop(self) -> None:
        for node in (self.sentinel, self.replica, self.master):
            node.stop()
