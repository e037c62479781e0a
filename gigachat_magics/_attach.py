"""`%%gigachat -a ATTACHMENT`: a path, or a variable whose object becomes a file, found by duck typing.

bytes go as they are; a PIL image or a matplotlib figure as PNG; a pandas DataFrame as CSV text. None of those
libraries is imported here: an object is recognised by what it can do, so loading the extension costs nothing
and a notebook without them works the same.
"""

from __future__ import annotations

import io
import os
from typing import Any

from IPython.core.error import UsageError

__all__ = ["AnswerText", "attachments_from"]

KINDS = "a path, or a variable holding bytes, a PIL image, a matplotlib figure or a pandas DataFrame"


class AnswerText(str):
    """What `-o VAR` stores: the answer text (a str), plus `.files` (what GigaChat drew: `.id`, `.mime_type`)
    and `.images` (their bytes, in the same order)."""

    files: tuple[Any, ...]
    images: list[bytes]

    def __new__(cls, text: str, files: tuple[Any, ...] = (), images: list[bytes] | None = None) -> AnswerText:
        value = super().__new__(cls, text)
        value.files = files
        value.images = images or []
        return value


def attachments_from(values: list[str], namespace: dict[str, Any]) -> list[Any]:
    """What the core client accepts for each -a value: a path, bytes or (filename, bytes)."""
    return [_one(value, namespace) for value in values]


def _one(value: str, namespace: dict[str, Any]) -> Any:
    if value.isidentifier() and value in namespace:
        return _from_object(value, namespace[value])
    path = os.path.expanduser(value)
    if not os.path.isfile(path):
        raise UsageError(f"-a {value}: no such file, and no variable of that name. Give {KINDS}.")
    return path


def _from_object(name: str, obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj)
    if isinstance(obj, (str, os.PathLike)):
        return _one(os.fspath(obj), {})
    if hasattr(obj, "savefig"):  # a matplotlib Figure
        return f"{name}.png", _saved(lambda buffer: obj.savefig(buffer, format="png", bbox_inches="tight"))
    if hasattr(obj, "save") and hasattr(obj, "mode") and hasattr(obj, "size"):  # a PIL Image
        image = obj if obj.mode in ("RGB", "RGBA", "L", "LA", "P", "1") else obj.convert("RGBA")
        return f"{name}.png", _saved(lambda buffer: image.save(buffer, format="PNG"))
    if hasattr(obj, "to_csv") and hasattr(obj, "columns"):  # a pandas DataFrame
        return f"{name}.txt", obj.to_csv(index=True).encode("utf-8")  # CSV text; .txt is the type GigaChat reads
    kind = type(obj).__name__
    raise UsageError(f"-a {name}: the variable {name} holds {'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind}, "
                     f"which cannot be attached. Attach {KINDS} (text goes in the prompt itself, or with -T as "
                     f"{{{name}}}).")


def _saved(save: Any) -> bytes:
    buffer = io.BytesIO()
    save(buffer)
    return buffer.getvalue()
