"""Which local files the MCP server may read for a model: only under the allowed roots, read once, safely.

The calling model is not trusted with the disk: a path it names is resolved (symlinks included) and must stay
inside an allowed directory; `..` is refused outright, and hidden files and directories (`.ssh`, `.env`) are
refused unless a listed root is itself inside them. The roots are the operator's GIGACHAT_MCP_FILE_ROOTS, plus
the client's roots only when the client runs on this machine (stdio): over HTTP a client's roots name
directories on *its* disk, never this one's.

The check and the read are one act: `read_allowed` opens the file by walking from the root's descriptor one
component at a time without following links, refuses anything that is not a regular file with one hard link
(a FIFO never blocks: it is opened non-blocking), and reads the bytes once from that descriptor. A file swapped
for a symlink or a FIFO between the check and the read is refused, never followed. Every refusal names its rule.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["HOW_TO_ALLOW", "HOW_TO_ALLOW_REMOTE", "FileAccessDenied", "allowed_roots", "read_allowed", "resolve"]

HOW_TO_ALLOW = ("To allow a directory, add it to the MCP client's roots (e.g. open it as a workspace folder), or "
                f"list it in GIGACHAT_MCP_FILE_ROOTS in the server's environment (several separated by {os.pathsep!r}).")
HOW_TO_ALLOW_REMOTE = (
    "This server reads only the directories listed in GIGACHAT_MCP_FILE_ROOTS in its environment (over HTTP a "
    "client's roots name directories on the client's machine, so they are never read here). To attach a file from "
    "your machine, send its content in inline_attachments ({name, data: base64}).")
_SAFE = hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY") and os.open in os.supports_dir_fd
_READ_CHUNK = 1 << 20


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
        if "\0" in path:
            continue
        real = Path(os.path.realpath(os.path.expanduser(path.strip())))
        if real.is_dir() and real not in roots:
            roots.append(real)
    return roots


def resolve(requested: str, roots: list[Path], how: str = HOW_TO_ALLOW) -> Path:
    """The real path of a regular file under one of `roots`, or FileAccessDenied saying why."""
    return _locate(requested, roots, how)[1]


def read_allowed(requested: str, roots: list[Path], how: str = HOW_TO_ALLOW) -> tuple[str, bytes]:
    """(file name, content) of an allowed file, opened once without following links; no more is read than
    GigaChat takes of the file's type."""
    from .. import file_types as ft

    root, real = _locate(requested, roots, how)
    kind = ft.kind_of(real.name)
    if kind is None:
        raise FileAccessDenied(f"Cannot attach {requested!r}: GigaChat does not read this type of file (rule: "
                               f"supported types are {ft.SUPPORTED}).")
    limit = ft.KIND_LIMITS[kind]
    try:
        fd = (_open_beneath(root, real.relative_to(root).parts) if _SAFE
              else os.open(real, os.O_RDONLY | getattr(os, "O_BINARY", 0)))
    except OSError as exc:
        raise FileAccessDenied(_refusal(requested, _open_problem(exc), how)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileAccessDenied(_refusal(requested, "it is not a regular file (rule: only regular files are "
                                                       "read; FIFOs, devices and sockets are refused)", how))
        if info.st_nlink > 1:
            raise FileAccessDenied(_refusal(requested, (
                f"it has {info.st_nlink} hard links (rule: files with more than one hard link are refused, since a "
                "hard link can make a file outside the allowed directories appear inside; attach a copy)"), how))
        if info.st_size > limit:
            raise FileAccessDenied(_too_big(requested, limit))
        return real.name, _read_bounded(fd, limit, requested)
    finally:
        os.close(fd)


def _locate(requested: str, roots: list[Path], how: str) -> tuple[Path, Path]:
    """The root and the real path under it that `requested` names, or FileAccessDenied saying why."""
    if "\0" in requested:
        raise FileAccessDenied(f"Cannot read {requested!r}: a path may not contain a NUL character (rule: paths "
                               "are plain text). Give the file's path as text.")
    if not roots:
        raise FileAccessDenied(f"Cannot read {requested!r}: no directory is allowed yet. {how}")
    try:
        raw = Path(os.path.expanduser(requested))
        if ".." in raw.parts:
            raise FileAccessDenied(f"Cannot read {requested!r}: paths with '..' are refused; give the path inside "
                                   f"an allowed directory. {how}")
        return _search(requested, raw, roots, how)
    except (OSError, ValueError) as exc:  # too long, not encodable for this system, …
        raise FileAccessDenied(_refusal(requested, f"this system cannot use it as a path ({exc}) (rule: a path "
                                                   "must be one this system can open)", how)) from None


def _search(requested: str, raw: Path, roots: list[Path], how: str) -> tuple[Path, Path]:
    candidates = [raw] if raw.is_absolute() else [root / raw for root in roots]
    reason = "it is outside the allowed directories"
    for candidate in candidates:
        try:
            real = Path(os.path.realpath(candidate))
        except OSError:  # a link on the way was replaced while it was being read
            raise FileAccessDenied(_refusal(requested, "it changed while it was being checked (rule: a file being "
                                                       "replaced is refused; try again once it stays put)", how)) from None
        for root in roots:
            if real != root and root not in real.parents:
                continue
            hidden = next((part for part in real.relative_to(root).parts if part.startswith(".")), None)
            if hidden is not None:
                reason = f"{hidden!r} is hidden (hidden files and directories are read only when listed as a root)"
                continue
            if real.is_file():
                return root, real
            reason = ("it is not a regular file (rule: only regular files are read; FIFOs, devices and sockets "
                      "are refused)" if real.exists() else "there is no such file in the allowed directories")
            break
        else:
            if real != candidate.absolute():
                reason = "it is a link to a place outside the allowed directories"
    shown = ", ".join(str(r) for r in roots)
    raise FileAccessDenied(f"Cannot read {requested!r}: {reason} ({shown}). {how}")


def _open_beneath(root: Path, parts: tuple[str, ...]) -> int:
    """A descriptor of root/parts, opened component by component from the root without following any link:
    a directory or file replaced by a symlink fails with ELOOP/ENOTDIR instead of leading elsewhere."""
    if not parts:
        raise IsADirectoryError(21, "Is a directory")
    directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=directory)
            os.close(directory)
            directory = inner
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
        return os.open(parts[-1], flags, dir_fd=directory)
    finally:
        os.close(directory)


def _open_problem(exc: OSError) -> str:
    import errno

    if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENOTDIR):
        return ("it or a directory on its way is a symbolic link now (rule: links are not followed when the file "
                "is opened)")
    if exc.errno == errno.ENOENT:
        return "there is no such file in the allowed directories"
    if exc.errno == errno.EISDIR:
        return "it is a directory (rule: only regular files are read)"
    return f"it cannot be opened ({exc.strerror or exc})"


def _read_bounded(fd: int, limit: int, requested: str) -> bytes:
    """At most `limit` bytes; a file that grew past it is refused rather than read whole."""
    chunks: list[bytes] = []
    size = 0
    while chunk := os.read(fd, min(_READ_CHUNK, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise FileAccessDenied(_too_big(requested, limit))
    return b"".join(chunks)


def _too_big(requested: str, limit: int) -> str:
    from .. import file_types as ft

    return (f"Cannot attach {requested!r}: it is larger than {ft.describe_size(limit)}, the most GigaChat takes of "
            "its type (rule: per-kind size limits: images 15 MB, documents 40 MB, audio 35 MB).")


def _refusal(requested: str, reason: str, how: str) -> str:
    return f"Cannot read {requested!r}: {reason}. {how}"
