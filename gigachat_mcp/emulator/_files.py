"""Files on the emulated service: multipart upload, listing, download, deletion, and the pictures it draws.

Files are private to the key (the token's owner) that uploaded them, as on the real service. What the service
accepts is stated in `_rules`; this module keeps what was accepted.
"""

from __future__ import annotations

import base64
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from . import _rules

__all__ = ["DRAWN_JPEG", "FileStore", "StoredFile", "parse_multipart", "purpose_of"]

# A real 64x64 baseline JPEG (a cat's face), so a client can open what "GigaChat" drew in any image decoder.
DRAWN_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4pLSwzOko+MzZGNywtQFdBRkxO"
    "UlNSMj5aYVpQYEpRUk//2wBDAQ4ODhMREyYVFSZPNS01T09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09P"
    "T09PT09PT0//wAARCABAAEADASIAAhEBAxEB/8QAGwAAAgMBAQEAAAAAAAAAAAAAAAUDBAYCAQf/xAAyEAACAgIABAMFBgcAAAAA"
    "AAABAgADBBEFEiExQVGREyJhscEGFCMycYE0NXJzoeHw/8QAGQEAAwEBAQAAAAAAAAAAAAAAAAMFAQIE/8QAHhEAAwEBAAIDAQAA"
    "AAAAAAAAAAECAxESQTEyUQT/2gAMAwEAAhEDEQA/APoUIQnkHBCK+I5TU51XIR+GNkA999wfQRhRcl9QsrOwfUfCLnROnP4d1m5l"
    "V+kkJzY61oXdgqjuTFePmm7igbeq2BRQx7f7JEL0UtJ+wjN0m16G0IQjDgIQnNjiutnbelBJ1MAz+e/tM21ta02vTp9JxRk3Y/N7"
    "F+Xm79AZFKmJxLCzLrKsXIWx6/zAb9R5j4iTO026RV5KSljK7LvvQJa/MoO9aAkdT+zuSzW+VgdeepTzeIYmAitl3CsOdL0JJ/YS"
    "wjK6K6MGVhsEHYImPy+zBeP1Rq4SDBcPhUkb6KB1+HT6SeVE+rpLa4+BKnE/5fb+3zEtzi6sXUvWde8NdRvXxmWuy0bD5SZlMilc"
    "jHtockLYhQkd9EaiHg32cswOI/er71cV79kE8dgjZ326eA9fPSWI1blHUqw7gzmTp0uE5XspVnNtU/Qi+0HArOJ3V349qraq8jK/"
    "Yjqd9B36/wDeLTh2GuBgVYqOXFYPvHxJOz/kyzPQCxAUEk9AB4wetVKh/CBZyqdr5Y54N/CP/cPyEYSDCp+74qVkDm7t+snnvzTU"
    "JMnaNO20EIQjDgq5uGuUnTS2D8rfQxRbg5NR0ambyK9ZoYROmE2+js96hcM4mHkudLQ4/qGvnG2BgDG9+whrfMdh+kuwmRhMPpun"
    "9FWuBCEI8Qf/2Q=="
)

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_DISPOSITION = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class StoredFile:
    id: str
    owner: str
    filename: str
    purpose: str
    data: bytes
    created_at: int
    mime: str

    def info(self) -> dict[str, Any]:
        return {"id": self.id, "object": "file", "bytes": len(self.data), "created_at": self.created_at,
                "filename": self.filename, "purpose": self.purpose, "access_policy": "private"}


class FileStore:
    """Every stored file, by id; each owner sees only its own."""

    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}
        self._lock = threading.Lock()

    def add(self, owner: str, filename: str, data: bytes, purpose: str = "general", mime: str | None = None) -> StoredFile:
        stored = StoredFile(str(uuid.uuid4()), owner, filename, purpose, data, int(time.time()),
                            mime or _rules.mime_of(filename))
        with self._lock:
            self._files[stored.id] = stored
        return stored

    def get(self, owner: str, file_id: str) -> StoredFile | None:
        with self._lock:
            stored = self._files.get(file_id)
        return stored if stored is not None and stored.owner == owner else None

    def owned_by(self, owner: str) -> list[StoredFile]:
        with self._lock:
            return [f for f in self._files.values() if f.owner == owner]

    def delete(self, owner: str, file_id: str) -> bool:
        with self._lock:
            stored = self._files.get(file_id)
            if stored is None or stored.owner != owner:
                return False
            del self._files[file_id]
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._files)

    def draw(self, owner: str) -> StoredFile:
        """What the image tool makes: a JPEG the key that asked for it may download."""
        return self.add(owner, f"{uuid.uuid4().hex[:8]}.jpg", DRAWN_JPEG, purpose="general", mime="image/jpeg")


def purpose_of(fields: dict[str, tuple[str | None, bytes]]) -> str:
    """The upload's purpose field; general when it is missing or empty."""
    return fields.get("purpose", (None, b"general"))[1].decode("utf-8", "replace") or "general"


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]] | None:
    """multipart/form-data fields as {name: (filename or None, bytes)}; None if the body is not multipart."""
    match = _BOUNDARY.search(content_type or "")
    if not content_type.lower().startswith("multipart/form-data") or match is None:
        return None
    delimiter = b"--" + match.group(1).encode()
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.partition(b"\r\n\r\n")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        disposition = next((line for line in head.decode("utf-8", "replace").split("\r\n")
                            if line.lower().startswith("content-disposition:")), "")
        params = dict(_DISPOSITION.findall(disposition))
        if "name" in params:
            fields[params["name"]] = (params.get("filename"), content)
    return fields
