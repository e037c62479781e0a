"""Stream text filters: GigaChat's file markup (v1) and web-search citation marks (v2) taken out of the answer
text piece by piece, holding back a piece that may be the start of one until it is complete."""

from __future__ import annotations

import re

from .._types import GeneratedFile

__all__ = ["MarkupFilter", "SourceMarks"]

_SOURCE_MARK = re.compile(r"\[sources=\[([\d,\s]*)\]\]")
_MARK_HEAD = "[sources=["


class SourceMarks:
    """Turns the service's `[sources=[1, 2]]` citation markers into `[1][2]`, even when a stream splits one: a
    piece that may be the start of a marker is held back until it is complete."""

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held = ""

    def feed(self, text: str) -> str:
        text, self._held = self._held + text, ""
        if "[" not in text:
            return text
        text = _SOURCE_MARK.sub(lambda m: "".join(f"[{n.strip()}]" for n in m.group(1).split(",") if n.strip()),
                                text)
        start = len(text)
        while True:  # an unfinished marker holds back from its "[" (its number list has a "[" of its own)
            start = text.rfind("[", max(0, len(text) - 64), start)
            tail = text[start:]
            if start < 0 or "]]" in tail:
                return text
            if _MARK_HEAD.startswith(tail) or tail.startswith(_MARK_HEAD):
                self._held = tail
                return text[:start]

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held


_MARKUP = re.compile(r'<(img|video)\b[^>]*\bfuse="true"[^>]*>')
_SRC = re.compile(r'\bsrc="([^"]+)"')
_MARKUP_MIME = {"img": "image/jpeg", "video": "video/mp4"}
_MAX_HELD = 2000


class MarkupFilter:
    """Takes v1 answer text piece by piece and removes GigaChat's `<img src="ID" fuse="true"/>` markup, noting
    each file. A piece that may be the start of such a tag is held back until the tag is complete, so the
    markup is stripped even when a stream splits it; anything else passes through unchanged."""

    __slots__ = ("_held", "files")

    def __init__(self) -> None:
        self._held = ""
        self.files: list[GeneratedFile] = []

    def feed(self, text: str) -> str:
        if self._held:
            text, self._held = self._held + text, ""
        if "<" not in text:
            return text
        out: list[str] = []
        position = 0
        while True:
            start = text.find("<", position)
            if start < 0:
                out.append(text[position:])
                break
            out.append(text[position:start])
            end = text.find(">", start)
            if end < 0:
                rest = text[start:]
                if len(rest) < _MAX_HELD and _may_be_markup(rest):
                    self._held = rest
                else:
                    out.append(rest)
                break
            tag = text[start:end + 1]
            match = _MARKUP.fullmatch(tag)
            source = _SRC.search(tag) if match else None
            if match and source:
                self.files.append(GeneratedFile(source.group(1), _MARKUP_MIME[match.group(1)]))
            else:
                out.append(tag)
            position = end + 1
        return "".join(out)

    def flush(self) -> str:
        """What is still held back when the answer ends (an unfinished tag is text after all)."""
        held, self._held = self._held, ""
        return held


def _may_be_markup(rest: str) -> bool:
    name = rest[1:]
    return any(tag.startswith(name) or name.startswith(tag + " ") for tag in ("img", "video"))
