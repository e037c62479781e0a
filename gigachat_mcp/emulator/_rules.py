"""The service's file rules, stated here from its documentation (shared/reference/gigachat-api.md, "Limits"
and the files table) rather than imported from the client: the emulator is what a client is tested against,
so a wrong rule in the client's own table shows up as a refusal here.

Per file: image <= 15 MB, text <= 40 MB, audio <= 35 MB. Types: jpeg/png/tiff/bmp; txt/doc/docx/pdf/epub/
ppt/pptx; mp4/mp3/m4a/wav/weba/ogg/opus. Uploads name the purpose general or assistant; the documentation
names no type that either purpose excludes. A chat carries one image per message, ten per request.
"""

from __future__ import annotations

__all__ = ["IMAGES_PER_MESSAGE", "IMAGES_PER_REQUEST", "PURPOSES", "SIZE_LIMITS", "SUPPORTED", "kind_of",
           "mime_of", "upload_problem"]

MB = 1024 * 1024
PURPOSES = ("general", "assistant")
FORMATS: dict[str, dict[str, str]] = {  # kind -> {file name extension: MIME type}
    "image": {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "tif": "image/tiff",
              "tiff": "image/tiff", "bmp": "image/bmp"},
    "text": {"txt": "text/plain", "doc": "application/msword",
             "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "pdf": "application/pdf", "epub": "application/epub+zip", "ppt": "application/vnd.ms-powerpoint",
             "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    "audio": {"mp4": "audio/mp4", "mp3": "audio/mpeg", "m4a": "audio/x-m4a", "wav": "audio/wav",
              "weba": "audio/webm", "ogg": "audio/ogg", "opus": "audio/ogg"},
}
SIZE_LIMITS = {"image": 15 * MB, "text": 40 * MB, "audio": 35 * MB}
IMAGES_PER_MESSAGE = 1
IMAGES_PER_REQUEST = 10
_OTHER_SPELLINGS = ("jpeg", "tif")  # left out of the list a refusal names: jpg and tiff stand for them
SUPPORTED = ", ".join(sorted(ext for kind in FORMATS.values() for ext in kind if ext not in _OTHER_SPELLINGS))
_KINDS = {ext: kind for kind, extensions in FORMATS.items() for ext in extensions}


def _extension(filename: str) -> str:
    return filename.rpartition(".")[2].lower() if "." in filename else ""


def kind_of(filename: str) -> str | None:
    """image, text or audio; None for a type the service does not read."""
    return _KINDS.get(_extension(filename))


def mime_of(filename: str) -> str:
    kind = kind_of(filename)
    return FORMATS[kind][_extension(filename)] if kind else "application/octet-stream"


def upload_problem(filename: str, size: int, purpose: str) -> tuple[int, str] | None:
    """The service's status and message for an upload it refuses, or None when it takes it."""
    if purpose not in PURPOSES:
        return 422, f"Invalid params: purpose must be general or assistant, not {purpose!r}"
    kind = kind_of(filename)
    if kind is None:
        return 415, f"Unsupported file type: {filename}. Supported: {SUPPORTED}"
    if size > SIZE_LIMITS[kind]:
        return 413, "Payload too large"
    return None
