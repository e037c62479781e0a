"""`gigachat-mcp config HOST`: the snippet that adds this server to an MCP host, with the right command path.

It reads no secret: the key is a placeholder to fill in (or, for VS Code, a prompt the editor asks once).
Non-secret GIGACHAT_* settings already exported in this shell are carried over.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
from pathlib import Path

KEY_PLACEHOLDER = "<your GigaChat authorization key>"
CARRIED = ("GIGACHAT_SCOPE", "GIGACHAT_MODEL", "GIGACHAT_BASE_URL", "GIGACHAT_AUTH_URL", "GIGACHAT_CA_BUNDLE_FILE",
           "GIGACHAT_API_VERSION", "GIGACHAT_TIMEOUT", "GIGACHAT_MAX_CONNECTIONS", "GIGACHAT_LOG_LEVEL")
WHERE = {
    "claude-desktop": "Add to claude_desktop_config.json (macOS: ~/Library/Application Support/Claude/, Windows: "
                      "%APPDATA%\\Claude\\), then restart Claude Desktop.",
    "cursor": "Add to ~/.cursor/mcp.json (all projects) or .cursor/mcp.json (this project).",
    "vscode": "Add to .vscode/mcp.json; VS Code asks for the key once and stores it securely.",
    "claude-code": "Run this in your shell (add --scope user to use it in every project).",
}


def command_line() -> list[str]:
    """An absolute command: hosts start servers with a minimal PATH and their own working directory."""
    beside = Path(sys.executable).parent / ("gigachat-mcp.exe" if os.name == "nt" else "gigachat-mcp")
    found = str(beside) if beside.is_file() else shutil.which("gigachat-mcp")
    if found:
        return [os.path.abspath(found)]
    return [os.path.abspath(sys.executable), "-m", "gigachat_mcp"]


def snippet(host: str) -> str:
    command, *args = command_line()
    env = {name: os.environ[name] for name in CARRIED if os.environ.get(name)}
    if host == "claude-code":
        flags = [f"-e {shlex.quote(f'{k}={v}')}" for k, v in {"GIGACHAT_CREDENTIALS": KEY_PLACEHOLDER, **env}.items()]
        return " ".join(["claude mcp add gigachat", *flags, "--", shlex.quote(command), *map(shlex.quote, args)])
    if host == "vscode":
        entry = {"type": "stdio", "command": command, "args": args,
                 "env": {"GIGACHAT_CREDENTIALS": "${input:gigachat-key}", **env}}
        document = {"inputs": [{"type": "promptString", "id": "gigachat-key", "password": True,
                                "description": "GigaChat authorization key"}],
                    "servers": {"gigachat": entry}}
    else:
        document = {"mcpServers": {"gigachat": {"command": command, "args": args,
                                                "env": {"GIGACHAT_CREDENTIALS": KEY_PLACEHOLDER, **env}}}}
    return json.dumps(document, indent=2, ensure_ascii=False)


def run(args: argparse.Namespace) -> int:
    print(f"# {WHERE[args.host]}", file=sys.stderr)
    print(snippet(args.host))
    return 0
