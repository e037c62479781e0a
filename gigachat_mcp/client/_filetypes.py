"""The service's file rules in one table: which types GigaChat reads, how large each kind may be, how many images.

Pure data and lookups (no I/O). The client checks these before it sends anything. The emulator states the
service's rules itself (`emulator/_rules.py`, from the documentation), so a wrong entry here is caught by it.
"""

from __future__ import annotations

__all__ = [
    "KIND_LIMITS",
    "MAX_IMAGES_PER_MESSAGE",
    "MAX_IMAGES_PER_REQUEST",
    "TYPES",
    "describe_size",
    "kind_of",
    "mime_of",
    "sniff_extension",
]

MB = 1024 * 1024
# extension -> (kind, MIME type); docs: jpeg/png/tiff/bmp; txt/doc/docx/pdf/epub/ppt/pptx; mp4/mp3/m4a/wav/weba/ogg/opus
TYPES: dict[str, tuple[str, str]] = {
    "jpg": ("image", "image/jpeg"),
    "jpeg": ("image", "image/jpeg"),
    "png": ("image", "image/png"),
    "tif": ("image", "image/tiff"),
    "tiff": ("image", "image/tiff"),
    "bmp": ("image", "image/bmp"),
    "txt": ("text", "text/plain"),
    "doc": ("text", "application/msword"),
    "docx": ("text", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "pdf": ("text", "application/pdf"),
    "epub": ("text", "application/epub+zip"),
    "ppt": ("text", "application/vnd.ms-powerpoint"),
    "pptx": ("text", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "mp4": ("audio", "audio/mp4"),
    "mp3": ("audio", "audio/mpeg"),
    "m4a": ("audio", "audio/x-m4a"),
    "wav": ("audio", "audio/wav"),
    "weba": ("audio", "audio/webm"),
    "ogg": ("audio", "audio/ogg"),
    "opus": ("audio", "audio/ogg"),
}
KIND_LIMITS = {"image": 15 * MB, "text": 40 * MB, "audio": 35 * MB}
MAX_IMAGES_PER_MESSAGE = 1
MAX_IMAGES_PER_REQUEST = 10
SUPPORTED = ", ".join(sorted({ext for ext in TYPES if ext not in ("jpeg", "tif")}))


def extension(filename: str) -> str:
    return filename.rpartition(".")[2].lower() if "." in filename else ""


def kind_of(filename: str) -> str | None:
    """image, text or audio; None for a type GigaChat does not read."""
    entry = TYPES.get(extension(filename))
    return entry[0] if entry else None


def mime_of(filename: str) -> str:
    entry = TYPES.get(extension(filename))
    return entry[1] if entry else "application/octet-stream"


def sniff_extension(head: bytes) -> str | None:
    """The extension for content given without a name, from its first bytes; None if it is not a known type."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"BM"):
        return "bmp"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3"):
        return "mp3"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut at the end of the sample is still text
            return None
    return "txt" if b"\x00" not in head else None


def describe_size(size: int) -> str:
    return f"{size / MB:.2f} MB" if size >= MB else f"{size} bytes"
