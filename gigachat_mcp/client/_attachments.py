"""Attachments: what a caller may attach, the service's rules checked before anything is sent, and a content key
so one client uploads the same content only once.

Accepted: a path (str or os.PathLike), bytes, a `(filename, bytes)` pair, a `FileInfo`, or a file id. Local
content is classified from its name (or, for bare bytes, its first bytes) and size; ids are looked up by the
client. Only local disk is touched here (stat, a hashing read); the network is the client's job.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from . import _filetypes as ft
from ._errors import InvalidRequestError
from ._types import FileInfo

__all__ = ["Local", "check_attachments", "check_rules", "classify", "content_key", "describe", "kind_of_info",
           "open_local", "source_name"]

_FILE_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Local:
    """Content to upload, from a path (streamed from disk) or from memory."""

    filename: str
    kind: str
    mime: str
    size: int
    path: str | None = None
    data: bytes | None = None


Item = Local | FileInfo | str  # str: a file id not yet looked up


def classify(item: Any) -> Item:
    """What one attachment is; type and size rules for local content are checked here."""
    if isinstance(item, FileInfo):
        return item
    if isinstance(item, (bytes, bytearray, memoryview)):
        data = bytes(item)
        extension = ft.sniff_extension(data[:512])
        if extension is None:
            raise InvalidRequestError(
                "Cannot attach these bytes: their type is not one GigaChat reads (rule: supported types are "
                f"{ft.SUPPORTED}). Pass (filename, bytes) to name the type, or a path.")
        return _local(f"attachment.{extension}", len(data), data=data)
    if _is_named_bytes(item):
        return _local(os.path.basename(item[0]) or "attachment", len(item[1]), data=bytes(item[1]))
    if isinstance(item, (str, os.PathLike)):
        path = os.fspath(item)
        if isinstance(path, str) and _FILE_ID.match(path) and not os.path.exists(path):
            return path
        try:
            size = os.stat(path).st_size
        except OSError as exc:
            raise InvalidRequestError(f"Cannot attach {path!r}: {exc.strerror or exc} (not a readable file, and "
                                      "not a file id).") from None
        if not os.path.isfile(path):
            raise InvalidRequestError(f"Cannot attach {path!r}: it is not a regular file.")
        return _local(os.path.basename(path), size, path=os.path.abspath(path))
    raise InvalidRequestError(
        f"Cannot attach a {type(item).__name__}: pass a path, bytes, (filename, bytes), a FileInfo or a file id.")


def _local(filename: str, size: int, *, path: str | None = None, data: bytes | None = None) -> Local:
    kind = ft.kind_of(filename)
    if kind is None:
        raise InvalidRequestError(f"Cannot attach {filename!r}: GigaChat does not read "
                                  f"{'.' + ft.extension(filename) if ft.extension(filename) else 'files without a type'}"
                                  f" (rule: supported types are {ft.SUPPORTED}).")
    limit = ft.KIND_LIMITS[kind]
    if size > limit:
        raise InvalidRequestError(
            f"Cannot attach {filename!r}: it is {ft.describe_size(size)} and {kind} files may be at most "
            f"{ft.describe_size(limit)} (rule: per-kind size limits: images 15 MB, documents 40 MB, audio 35 MB).")
    if size == 0:
        raise InvalidRequestError(f"Cannot attach {filename!r}: it is empty.")
    return Local(filename, kind, ft.mime_of(filename), size, path=path, data=data)


def kind_of_info(info: FileInfo) -> str | None:
    return ft.kind_of(info.filename)


def describe(item: Local | FileInfo) -> str:
    return item.filename if isinstance(item, Local) else (item.filename or item.id)


def check_rules(messages: Sequence[Sequence[Local | FileInfo]]) -> None:
    """One image per message, ten per request: each error names the rule and the file."""
    total = 0
    for attached in messages:
        first_image: str | None = None
        for item in attached:
            kind = item.kind if isinstance(item, Local) else kind_of_info(item)
            if kind != "image":
                continue
            name = describe(item)
            if first_image is not None:
                raise InvalidRequestError(
                    f"Cannot attach {name!r}: this message already carries the image {first_image!r} (rule: one "
                    "image per message). Send the other image in its own message.")
            first_image = name
            total += 1
            if total > ft.MAX_IMAGES_PER_REQUEST:
                raise InvalidRequestError(
                    f"Cannot attach {name!r}: a request may carry at most {ft.MAX_IMAGES_PER_REQUEST} images and "
                    f"this one would have {total} with the conversation so far (rule: ten images per request). "
                    "Start a new conversation, or leave older images out.")


def content_key(local: Local) -> str:
    """The same content under the same type gets the same key, so it is uploaded once per client."""
    digest = hashlib.sha256()
    if local.data is not None:
        digest.update(local.data)
    else:
        with open_local(local) as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
    return f"{digest.hexdigest()}:{local.mime}"


@contextlib.contextmanager
def open_local(local: Local) -> Iterator[BinaryIO]:
    """The file behind `local`, opened for reading; a file gone or unreadable since it was classified is an
    InvalidRequestError naming it, not a bare OSError."""
    assert local.path is not None
    try:
        handle = open(local.path, "rb")  # noqa: SIM115 - closed by the with below, after the error is mapped
    except OSError as exc:
        raise InvalidRequestError(f"Cannot attach {local.path!r}: {exc.strerror or exc} (it changed after it was "
                                  "checked; attach it again).") from None
    with handle:
        yield handle


def source_name(file: Any) -> str | None:
    """The file name of an open binary file, if it has one."""
    name = getattr(file, "name", None)
    return os.path.basename(name) if isinstance(name, str) else None


def gather(messages: list[dict[str, Any]], attachments: Iterable[Any] | None) -> list[list[Item]]:
    """Classify every message's attachments (the `attachments=` argument goes on the last user message)."""
    if attachments is not None:
        if isinstance(attachments, (str, bytes, os.PathLike, FileInfo)) or _is_named_bytes(attachments) \
                or not isinstance(attachments, Iterable):
            raise InvalidRequestError("attachments must be a list, e.g. attachments=['photo.jpg'].")
        last_user = next((m for m in reversed(messages) if m["role"] == "user"), None)
        extra = list(attachments)
        if extra:
            if last_user is None:
                raise InvalidRequestError("attachments need a user message to go on.")
            last_user["attachments"] = [*(last_user.get("attachments") or ()), *extra]
    groups: list[list[Item]] = []
    for message in messages:
        raw = message.get("attachments") or ()
        if isinstance(raw, (str, bytes)) or not isinstance(raw, Iterable):
            raise InvalidRequestError("A message's 'attachments' must be a list.")
        groups.append([classify(item) for item in raw])
    return groups


def _is_named_bytes(item: Any) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) \
        and isinstance(item[1], (bytes, bytearray))


def ids_into(messages: list[dict[str, Any]], resolved: Sequence[Sequence[FileInfo]]) -> bool:
    """Write the file ids into the messages; True if a document (not an image) is attached."""
    documents = False
    for message, infos in zip(messages, resolved):
        if infos:
            message["attachments"] = [info.id for info in infos]
            documents = documents or any(kind_of_info(info) != "image" for info in infos)
        else:
            message.pop("attachments", None)
    return documents


def for_upload(file: Any) -> Local:
    """`upload_file`'s argument: a path, bytes, or an open binary file (its name gives the type)."""
    if isinstance(file, (str, os.PathLike)):
        path = os.fspath(file)
        if not os.path.isfile(path):
            raise InvalidRequestError(f"Cannot upload {path!r}: no such file.")
        return _local(os.path.basename(path), os.stat(path).st_size, path=os.path.abspath(path))
    if isinstance(file, (bytes, bytearray, memoryview)):
        item = classify(file)
        assert isinstance(item, Local)
        return item
    if not hasattr(file, "read"):
        raise InvalidRequestError(f"upload_file takes a path, bytes or a binary file, not a {type(file).__name__}.")
    name = source_name(file)
    if name is None:
        raise InvalidRequestError("This file object has no name to tell its type: pass the path, or the bytes.")
    size = _remaining(file)
    return _local(name, size if size is not None else 1, data=None)


def _remaining(file: Any) -> int | None:
    try:
        here = file.tell()
        end = file.seek(0, os.SEEK_END)
        file.seek(here)
        return int(end - here)
    except (AttributeError, OSError, ValueError):
        return None


def check_attachments(items: Sequence[Any]) -> None:
    """Check one message's attachments against the service's rules (type, size, one image per message) without
    sending anything: what a caller that uploads later (the MCP server admitting a turn) checks first. A path is
    only looked at, not read; file ids are not looked up."""
    check_rules([[item for item in map(classify, items) if not isinstance(item, str)]])
