"""`ask`'s drawn images: fetched and written to --save-dir, one file each, never over an existing file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["save_files"]

_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "video/mp4": ".mp4"}


def save_files(giga: Any, files: Any, directory: str) -> list[dict[str, str]]:
    """Download each made file into `directory`; returns {id, mime_type, path} per file."""
    if not files:
        return []
    folder = Path(directory).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for made in files:
        data = giga.download_file(made.id)
        extension = _EXTENSIONS.get(made.mime_type, ".bin")
        path = folder / f"gigachat-{made.id[:8]}{extension}"
        if path.exists():
            path = folder / f"gigachat-{made.id}{extension}"
        with open(path, "xb") as handle:  # "x": never replace a file that is already there
            handle.write(data)
        saved.append({"id": made.id, "mime_type": made.mime_type, "path": os.path.abspath(path)})
    return saved
