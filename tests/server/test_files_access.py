"""The roots rule on its own: what a model may make the MCP server read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gigachat_mcp.server.file_access import FileAccessDenied, allowed_roots, resolve


def test_relative_paths_are_tried_under_every_root(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (second / "only-here.txt").write_text("x")
    roots = allowed_roots([first.as_uri()], str(second))
    assert roots == [first.resolve(), second.resolve()]
    assert resolve("only-here.txt", roots) == (second / "only-here.txt").resolve()
    with pytest.raises(FileAccessDenied, match="no such file"):
        resolve("nowhere.txt", roots)


def test_refusals_name_the_rule_and_the_fix(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "config").write_text("x")
    (root / ".env").write_text("SECRET=1")
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    os.symlink(outside, root / "escape.txt")
    os.symlink(tmp_path, root / "up")
    roots = allowed_roots([], str(root))
    cases = {
        str(root / ".git" / "config"): "hidden",
        str(root / ".env"): "hidden",
        str(root / "escape.txt"): "link to a place outside",
        str(root / "up" / "outside.txt"): "link to a place outside",
        "../outside.txt": "'..'",
        str(outside): "outside the allowed directories",
    }
    for path, rule in cases.items():
        with pytest.raises(FileAccessDenied) as refused:
            resolve(path, roots)
        assert rule in str(refused.value) and "GIGACHAT_MCP_FILE_ROOTS" in str(refused.value), path
    with pytest.raises(FileAccessDenied, match="no directory is allowed yet"):
        resolve(str(outside), [])
    assert allowed_roots(["https://example.com/x", "file:///does/not/exist"], None) == []
