"""Which local files the MCP server may read for a model: only under the client's roots or GIGACHAT_MCP_FILE_ROOTS.

The calling model is not trusted with the disk: a path it names is resolved (symlinks included) and must stay
inside an allowed directory; `..` is refused outright, and hidden files and directories (`.ssh`, `.env`) are
refused unless a listed root is itself inside them. Every refusal says how to allow a directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["HOW_TO_ALLOW", "FileAccessDenied", "allowed_roots", "resolve"]

HOW_TO_ALLOW = ("To allow a directory, add it to the MCP client's roots (e.g. open it as a workspace folder), or "
                f"list it in GIGACHAT_MCP_FILE_ROOTS in the server's environment (several separated by {os.pathsep!r}).")


class FileAccessDenied(Exception):
    """The path is outside every allowed directory, or names something the rule refuses."""


def allowed_roots(client_roots: Iterable[str], configured: str | None) -> list[Path]:
    """Real paths of the client's `file://` roots and the configured directories."""
    paths: list[str] = []
    for uri in client_roots:
        parts = urlsplit(uri)
        if parts.scheme == "file" and parts.netloc in ("", "localhost"):
            paths.append(unquote(parts.path))
    if configured:
        paths.extend(p for p in configured.split(os.pathsep) if p.strip())
    roots: list[Path] = []
    for path in paths:
        real = Path(os.path.realpath(os.path.expanduser(path.strip())))
        if real.is_dir() and real not in roots:
            roots.append(real)
    return roots


def resolve(requested: str, roots: list[Path]) -> Path:
    """The real path of a readable regular file under one of `roots`, or FileAccessDenied saying why."""
    if not roots:
        raise FileAccessDenied(f"Cannot read {requested!r}: no directory is allowed yet. {HOW_TO_ALLOW}")
    raw = Path(os.path.expanduser(requested))
    if ".." in raw.parts:
        raise FileAccessDenied(f"Cannot read {requested!r}: paths with '..' are refused; give the path inside an "
                               f"allowed directory. {HOW_TO_ALLOW}")
    candidates = [raw] if raw.is_absolute() else [root / raw for root in roots]
    reason = "it is outside the allowed directories"
    for candidate in candidates:
        real = Path(os.path.realpath(candidate))
        for root in roots:
            if real != root and root not in real.parents:
                continue
            hidden = next((part for part in real.relative_to(root).parts if part.startswith(".")), None)
            if hidden is not None:
                reason = f"{hidden!r} is hidden (hidden files and directories are read only when listed as a root)"
                continue
            if real.is_file():
                return real
            reason = "there is no such file in the allowed directories"
            break
        else:
            if real != candidate.absolute():
                reason = "it is a link to a place outside the allowed directories"
    shown = ", ".join(str(r) for r in roots)
    raise FileAccessDenied(f"Cannot read {requested!r}: {reason} ({shown}). {HOW_TO_ALLOW}")
