"""`gigachat-mcp ask -a FILE` and drawn images saved to --save-dir, as a subprocess against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from PIL import Image

from gigachat_mcp.emulator import Emulator
from tests.helpers import gigachat_mcp_command, subprocess_env

CLI = gigachat_mcp_command()


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=60, cwd=cwd)


def test_ask_attaches_files_and_saves_drawings(emulator: Emulator, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("cli doc", encoding="utf-8")
    (tmp_path / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 8)
    proc = run("ask", "-a", "notes.txt", "-a", "chart.png", "нарисуй кота", env=subprocess_env(emulator), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert 'Text of notes.txt: "cli doc"' in proc.stdout and "Attachment: chart.png (image/png, 16 bytes)." in proc.stdout
    assert "<img" not in proc.stdout
    saved_line = proc.stdout.strip().splitlines()[-1]
    assert saved_line.startswith("Saved image: ")
    saved = Path(saved_line.removeprefix("Saved image: "))
    assert saved.parent == tmp_path and saved.suffix == ".jpg"  # the current directory by default
    assert Image.open(saved).format == "JPEG"


def test_ask_json_lists_saved_files_in_save_dir(emulator: Emulator, tmp_path: Path) -> None:
    out = tmp_path / "pictures"
    proc = run("ask", "--json", "--save-dir", str(out), "draw a cat", env=subprocess_env(emulator), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [item] = json.loads(proc.stdout)["files"]
    assert item["mime_type"] == "image/jpeg" and Path(item["path"]).parent == out
    assert os.path.getsize(item["path"]) > 100
    none = run("ask", "--json", "--no-images", "draw a cat", env=subprocess_env(emulator), cwd=tmp_path)
    assert json.loads(none.stdout)["files"] == []


def test_ask_refuses_a_broken_rule_before_sending(emulator: Emulator, tmp_path: Path) -> None:
    (tmp_path / "tool.exe").write_bytes(b"MZ")
    proc = run("ask", "-a", "tool.exe", "what is this", env=subprocess_env(emulator), cwd=tmp_path)
    assert proc.returncode == 2 and "tool.exe" in proc.stderr and "supported types" in proc.stderr  # usage
    assert emulator.requests_to("chat") == [] and emulator.requests_to("upload") == []
