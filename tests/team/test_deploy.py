"""The deployment recipe, run: deploy/haproxy.cfg in front of two replicas, 2025-era clients kept on theirs."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.team.servers import find_program, free_port

pytestmark = pytest.mark.anyio
CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"


class HAProxy:
    def __init__(self, config: Path, replicas: list[int]) -> None:
        self.port = free_port()
        env = {**os.environ, "GIGACHAT_LB_BIND": f"127.0.0.1:{self.port}"}
        env.update({f"GIGACHAT_REPLICA_{n}": f"127.0.0.1:{port}" for n, port in enumerate(replicas, 1)})
        self.proc = subprocess.Popen([find_program("haproxy", "haproxy"), "-db", "-f", str(config)], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.proc.stdout.read().decode() if self.proc.stdout else ""
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("haproxy did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def balancer(replicas) -> Iterator[tuple[HAProxy, list]]:
    fleet = replicas(2)
    proxy = HAProxy(CONFIG, [r.port for r in fleet])
    yield proxy, fleet
    proxy.stop()


async def chat_twice(url: str, mode: str) -> list[str]:
    async with Client(url, mode=mode) as client:
        first = await client.call_tool("chat", {"prompt": "through the balancer [emulator words=20 delay=0.01]"})
        assert not first.is_error, first.content[0].text
        cid = first.structured_content["conversation_id"]
        texts = [first.structured_content["text"]]
        for n in range(3):
            more = await client.call_tool("chat", {"prompt": f"again {n}", "conversation_id": cid})
            assert not more.is_error, more.content[0].text
            texts.append(more.structured_content["text"])
        return texts


async def test_2025_clients_keep_their_replica_and_2026_clients_use_any(balancer, tmp_path: Path) -> None:
    proxy, fleet = balancer
    with anyio.fail_after(60):
        for _ in range(4):  # four sessions: round robin puts them on both replicas
            texts = await chat_twice(proxy.url, "legacy")
            assert 'Previous user message: "again 1"' in texts[-1]
        await chat_twice(proxy.url, "auto")
    sessions = [r.output().count("Created new transport with session ID") for r in fleet]
    assert all(sessions) and sum(sessions) >= 4, f"both replicas held 2025-era sessions: {sessions}"

    # the control: the same file without the stick lines breaks 2025-era sessions, so the test can fail
    plain = tmp_path / "no-affinity.cfg"
    plain.write_text("\n".join(line for line in CONFIG.read_text().splitlines() if "stick" not in line) + "\n")
    unsticky = HAProxy(plain, [r.port for r in fleet])
    try:
        failures = 0
        for _ in range(2):
            try:
                await chat_twice(unsticky.url, "legacy")
            except Exception:  # noqa: BLE001 - "Session not found" from the other replica
                failures += 1
        assert failures == 2
    finally:
        unsticky.stop()


# --- the systemd unit: verified by systemd-analyze, and its command line run the way systemd would run it ---

UNIT = CONFIG.parent / "gigachat-mcp@.service"
ENV_EXAMPLE = CONFIG.parent / "gigachat-mcp.env.example"
INSTALLED = "/opt/gigachat-mcp/bin/gigachat-mcp"  # where the unit expects the virtualenv's command


def unit_value(key: str) -> str:
    [line] = [line for line in UNIT.read_text().splitlines() if line.startswith(f"{key}=")]
    return line.split("=", 1)[1]


def read_env_file(path: Path) -> dict[str, str]:
    """systemd's EnvironmentFile=: VAR=value lines, # comments, surrounding quotes dropped."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip().strip('"\'')
    return values


def exec_start(command: str, env: dict[str, str], instance: str) -> list[str]:
    """ExecStart= as systemd expands it: %i is the instance, ${VAR} one word, a bare $VAR split on spaces."""
    import re
    import shlex

    words = []
    for word in shlex.split(command.replace("%i", instance)):
        if re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", word):
            words += env.get(word[1:], "").split()
        else:
            words.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), ""), word))
    return words


def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    from tests.helpers import gigachat_mcp_command

    [command] = gigachat_mcp_command()  # the console script, as installed in a virtualenv
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(INSTALLED, command))
    verified = subprocess.run([find_program("systemd-analyze", "systemd"), "verify", str(unit)],
                              capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0 and not verified.stdout + verified.stderr, verified.stdout + verified.stderr
    assert unit_value("EnvironmentFile") == "/etc/gigachat-mcp/gigachat-mcp.env"


async def test_the_units_command_line_with_the_example_env_file_serves_a_replica(emulator, redis_server,
                                                                                 tmp_path: Path) -> None:
    import httpx

    from tests.helpers import gigachat_mcp_command, subprocess_env
    from tests.team.principals import as_user, write_tokens

    env = read_env_file(ENV_EXAMPLE)  # the example as an operator edits it: addresses, secrets, paths
    assert set(env) >= {"GIGACHAT_CREDENTIALS", "GIGACHAT_MCP_REDIS_URL", "GIGACHAT_MCP_AUTH_TOKENS"}
    env.update(GIGACHAT_MCP_REDIS_URL=redis_server.url, GIGACHAT_MCP_HOST="127.0.0.1",
               GIGACHAT_MCP_AUTH_TOKENS=str(write_tokens(tmp_path)), **emulator.env())
    del env["GIGACHAT_SCOPE"]  # the emulator's key is a personal one
    port = free_port()
    argv = exec_start(unit_value("ExecStart"), env, str(port))
    assert argv[0] == INSTALLED
    [command] = gigachat_mcp_command()
    base = {k: v for k, v in subprocess_env().items() if not k.startswith("GIGACHAT_")}
    proc = subprocess.Popen([command, *argv[1:]], env={**base, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        async with httpx.AsyncClient() as http:
            with anyio.fail_after(30):
                while True:
                    assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                    try:
                        if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await anyio.sleep(0.1)
        async with as_user(f"http://127.0.0.1:{port}/mcp", "alice") as alice:
            answer = await alice.call_tool("chat", {"prompt": "from the systemd unit's command line"})
        assert not answer.is_error and answer.structured_content["status"] == "done", answer.content[0].text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
