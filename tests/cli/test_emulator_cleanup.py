"""Nothing with a private key outlives the process that made it, however the process ends (short of SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gigachat_mcp.emulator import Emulator
from tests.helpers import gigachat_mcp_command, subprocess_env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def emulator_dirs(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("gigachat-emulator-*"))


GIGACHAT_MCP = gigachat_mcp_command()
COMMANDS = {
    "emulator": [*GIGACHAT_MCP, "emulator"],
    "python -m gigachat_mcp.emulator": [sys.executable, "-m", "gigachat_mcp.emulator"],
    "serve stdio": [*GIGACHAT_MCP, "serve", "--emulator"],
    "serve http": [*GIGACHAT_MCP, "serve", "--emulator", "--transport", "streamable-http", "--port", "{port}"],
}


def wait_until_serving(command: str, proc: subprocess.Popen, port: int) -> None:
    if command.endswith("emulator"):
        assert proc.stdout.readline().startswith(b"# GigaChat emulator listening")
    elif command == "serve stdio":
        request = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
        proc.stdin.write(json.dumps(request).encode() + b"\n")
        proc.stdin.flush()
        assert b'"id":1' in proc.stdout.readline().replace(b" ", b"")
    else:
        def accepts() -> bool:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return proc.poll() is not None
        assert wait_for(accepts) and proc.poll() is None


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "SIGINT"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_commands_remove_the_emulator_dir_when_stopped_by_a_signal(command: str, how: str, tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    port = free_port()
    args = [a.format(port=port) for a in COMMANDS[command]]
    proc = subprocess.Popen(args, env=subprocess_env(TMPDIR=str(tmp)),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until_serving(command, proc, port)
        [directory] = emulator_dirs(tmp)
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert sorted(p.name for p in directory.iterdir()) == ["emulator-ca.pem", "server.pem"]  # no private key
        proc.send_signal(getattr(signal, how))
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    errors = proc.stderr.read().decode()
    # ended in order (0), by Ctrl-C while starting (130), or by the signal itself after the exit hooks ran
    assert proc.returncode in (0, 130, -getattr(signal, how)), errors
    assert emulator_dirs(tmp) == []
    assert "Traceback" not in errors


def test_an_emulator_nobody_stopped_is_removed_when_its_process_exits(tmp_path: Path) -> None:
    """A notebook's emulator, or a script's that forgot stop(): the interpreter's exit removes its files."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    script = "from gigachat_mcp.emulator import Emulator; e = Emulator().start(); print(e.ca_file)"
    done = subprocess.run([sys.executable, "-c", script], env=subprocess_env(TMPDIR=str(tmp)), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(str(tmp)) and emulator_dirs(tmp) == []


def test_key_files_are_owner_only_and_gone_after_stop(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask: new files would be world-readable
    try:
        emulator = Emulator(accept_client_certs=True, cert_dir=tmp_path / "certs").start()
    finally:
        os.umask(old)
    certificates = emulator.certificates
    try:
        assert certificates is not None and certificates.client_key is not None
        assert stat.S_IMODE(certificates.client_key.stat().st_mode) == 0o600
        assert not certificates.server_key.exists()  # in the TLS context only
    finally:
        emulator.stop()
    assert not certificates.client_key.exists()
    assert certificates.ca_file.exists()  # the caller's cert_dir keeps the public parts


def test_without_mtls_no_client_key_is_ever_written() -> None:
    with Emulator() as emulator:
        assert emulator.certificates is not None and emulator.certificates.client_key is None
        directory = emulator.certificates.ca_file.parent
        assert sorted(p.name for p in directory.iterdir()) == ["emulator-ca.pem", "server.pem"]
    assert not directory.exists()
