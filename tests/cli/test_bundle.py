"""`gigachat-mcp bundle`: the MCP Bundle passes the official CLI (`mcpb validate`, strict schema) and, started
exactly as its `mcp_config` says after the host's own substitution code fills the placeholders, serves `chat`.

The official CLI (npm `@anthropic-ai/mcpb`, pinned) is installed by this test on first run into
~/.cache/gigachat-mcp-tests/, the way tests/app installs its npm packages; it also provides the host's
substitution function (`getMcpConfigForManifest`, the code the README of modelcontextprotocol/mcpb says Claude
uses), which the test calls through node.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from gigachat_mcp.client._settings import Settings
from gigachat_mcp.emulator import Emulator
from gigachat_mcp.server import build_server
from tests.cli.test_commands import run
from tests.helpers import subprocess_env
from tests.installs import npm_packages

MCPB = {"@anthropic-ai/mcpb": "2.1.2"}
CHECKOUT = Path(__file__).resolve().parents[2]
HOST_CONFIG = """\
import { readFileSync } from "node:fs";
import { getMcpConfigForManifest } from "@anthropic-ai/mcpb";
const [manifestPath, extensionPath, userConfig] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const config = await getMcpConfigForManifest({
  manifest, extensionPath, userConfig: JSON.parse(userConfig), pathSeparator: "/",
  systemDirs: { HOME: "/home/u", DESKTOP: "/home/u/Desktop", DOCUMENTS: "/home/u/Documents",
                DOWNLOADS: "/home/u/Downloads" },
});
console.log(JSON.stringify(config ?? null));
"""


@dataclass
class McpbCli:
    node: str
    home: Path

    def run(self, *args: str, cwd: Path) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.home / "node_modules" / ".bin" / "mcpb"), *args], cwd=cwd,
                              capture_output=True, text=True, timeout=300)

    def host_config(self, manifest: Path, extension: Path, user_config: dict) -> dict | None:
        proc = subprocess.run([self.node, str(self.home / "host_config.mjs"), str(manifest), str(extension),
                               json.dumps(user_config)], capture_output=True, text=True, timeout=120, check=True)
        return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def mcpb() -> McpbCli:
    node = shutil.which("node")
    if node is None:
        pytest.fail("The bundle test needs node and npm (apt-get install --no-install-recommends nodejs npm).")
    home = npm_packages("mcpb", MCPB)
    (home / "host_config.mjs").write_text(HOST_CONFIG)
    return McpbCli(node=node, home=home)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "gigachat.mcpb"
    proc = run("bundle", "-o", str(out), env=subprocess_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"Wrote {out} (") and "Claude Desktop" in proc.stdout
    return out


def unpacked(mcpb: McpbCli, bundle: Path, where: Path) -> Path:
    proc = mcpb.run("unpack", str(bundle), str(where), cwd=where.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return where


def test_the_official_cli_unpacks_and_validates_the_bundle(mcpb: McpbCli, bundle: Path, tmp_path: Path) -> None:
    folder = unpacked(mcpb, bundle, tmp_path / "ext")
    proc = mcpb.run("validate", str(folder / "manifest.json"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Manifest schema validation passes!" in proc.stdout
    assert "ERROR" not in proc.stdout + proc.stderr
    # the validator is strict, so it would have caught a key the v0.4 schema does not know
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["user_config"]["credentials"]["secret"] = True
    (folder / "manifest.json").write_text(json.dumps(manifest))
    refused = mcpb.run("validate", str(folder / "manifest.json"), cwd=tmp_path)
    assert refused.returncode == 1 and "Unrecognized key(s) in object: 'secret'" in refused.stdout + refused.stderr


@pytest.mark.anyio
async def test_the_manifest_says_what_claude_desktop_shows(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        icon = archive.read(manifest["icon"])
        entry = archive.read(manifest["server"]["entry_point"]).decode()
        pyproject = archive.read("pyproject.toml").decode()
    assert sorted(names) == ["icon.png", "manifest.json", "pyproject.toml", "server/main.py"]
    assert manifest["manifest_version"] == "0.4" and manifest["server"]["type"] == "uv"
    assert manifest["server"]["mcp_config"]["env"]["GIGACHAT_CREDENTIALS"] == "${user_config.credentials}"
    key, scope, model = (manifest["user_config"][name] for name in ("credentials", "scope", "model"))
    assert key["required"] is True and key["sensitive"] is True and key["type"] == "string"
    assert (scope["required"], scope["default"], model["required"], model["default"]) == \
        (False, "GIGACHAT_API_PERS", False, "GigaChat-2")
    assert manifest["privacy_policies"] and all(url.startswith("https://") for url in manifest["privacy_policies"])
    assert icon.startswith(b"\x89PNG\r\n\x1a\n") and icon[16:24] == (512).to_bytes(4, "big") * 2
    assert 'dependencies = ["gigachat-mcp==' in pyproject and "from gigachat_mcp.cli import main" in entry
    async with Client(build_server(None)) as client:  # the tools and prompts are the server's, by name
        tools = {tool.name for tool in (await client.list_tools()).tools}
        prompts = {p.name: [a.name for a in p.arguments or []] for p in (await client.list_prompts()).prompts}
    assert {tool["name"] for tool in manifest["tools"]} == tools and manifest["tools_generated"] is False
    assert {p["name"]: p["arguments"] for p in manifest["prompts"]} == prompts
    assert "${arguments.answer}" in next(p["text"] for p in manifest["prompts"] if p["name"] == "second_opinion")


def test_the_same_version_makes_the_same_bytes(bundle: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.mcpb"
    assert run("bundle", "-o", str(again), env=subprocess_env()).returncode == 0
    assert again.read_bytes() == bundle.read_bytes()


def test_an_unwritable_output_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = run("bundle", "-o", str(tmp_path / "missing-dir" / "x.mcpb"), env=subprocess_env())
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("gigachat-mcp: bundle: cannot write ") and "pick another path with -o" in proc.stderr


def test_unfilled_optional_placeholders_are_read_as_unset() -> None:
    """A host that applies no default passes `${user_config.scope}` literally; that is not a scope."""
    settings = Settings.resolve(environ={"GIGACHAT_SCOPE": "${user_config.scope}",
                                         "GIGACHAT_MODEL": "${user_config.model}"})
    assert (settings.scope, settings.model) == ("GIGACHAT_API_PERS", "GigaChat-2")


def test_without_the_key_the_host_does_not_start_the_server(mcpb: McpbCli, bundle: Path, tmp_path: Path) -> None:
    folder = unpacked(mcpb, bundle, tmp_path / "ext")
    assert mcpb.host_config(folder / "manifest.json", folder, {}) is None


@pytest.mark.anyio
@pytest.mark.parametrize("defaults", ["applied", "dropped"])
async def test_started_as_its_mcp_config_says_the_bundle_serves_chat(mcpb: McpbCli, bundle: Path, tmp_path: Path,
                                                                     emulator: Emulator, defaults: str) -> None:
    """`dropped`: a host that fills no defaults leaves `${user_config.scope}` / `.model` as text; it still works.

    The command is substituted: mcp_config runs `uv run --directory <bundle> server/main.py`, and uv would
    install gigachat-mcp from PyPI (no network in tests, and this checkout's version need not be published). So
    `uv run --directory D` becomes this interpreter run in D, with the rest of the args and the env exactly as
    the host's code produced them; only PYTHONPATH (this checkout, standing for the installed dependency) and
    where the emulator listens are added."""
    folder = unpacked(mcpb, bundle, tmp_path / "ext")
    manifest_path = folder / "manifest.json"
    if defaults == "dropped":
        manifest = json.loads(manifest_path.read_text())
        for option in manifest["user_config"].values():
            option.pop("default", None)
        manifest_path.write_text(json.dumps(manifest))
    config = mcpb.host_config(manifest_path, folder, {"credentials": emulator.credentials})
    assert config["command"] == "uv" and config["args"][:3] == ["run", "--directory", str(folder)]
    expected_scope, expected_model = (("GIGACHAT_API_PERS", "GigaChat-2") if defaults == "applied"
                                      else ("${user_config.scope}", "${user_config.model}"))
    assert config["env"] == {"GIGACHAT_CREDENTIALS": emulator.credentials, "GIGACHAT_SCOPE": expected_scope,
                             "GIGACHAT_MODEL": expected_model}
    where = {k: v for k, v in emulator.env().items() if k != "GIGACHAT_CREDENTIALS"}  # URLs and the test CA
    env = {**subprocess_env(**where), **config["env"],
           "PYTHONPATH": os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")]))}
    params = StdioServerParameters(command=sys.executable, args=config["args"][3:], env=env, cwd=config["args"][2])
    async with Client(params) as client:
        result = await client.call_tool("chat", {"prompt": "from the bundle"})
    assert not result.is_error, result.content
    assert result.structured_content["text"].startswith('GigaChat emulator (GigaChat-2) heard: "from the bundle".')
