"""The bundle's icon: a PNG drawn in code (a white speech bubble on a green disc), so the same bytes come out
on every machine and no binary file has to live in the repository."""

from __future__ import annotations

import struct
import zlib

SIZE = 512  # what Claude Desktop recommends for bundle icons
GREEN = (0x21, 0xA0, 0x38, 0xFF)
WHITE = (0xFF, 0xFF, 0xFF, 0xFF)
CLEAR = (0, 0, 0, 0)


def icon_png(size: int = SIZE) -> bytes:
    """RGBA PNG, `size` pixels square; deterministic (no timestamps, fixed compression level)."""
    rows = b"".join(b"\x00" + b"".join(bytes(_pixel(x, y, size)) for x in range(size)) for y in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9)) + \
        _chunk(b"IEND", b"")


def _pixel(x: int, y: int, size: int) -> tuple[int, int, int, int]:
    u, v = (x + 0.5) / size - 0.5, (y + 0.5) / size - 0.5  # -0.5 .. 0.5, centre at 0
    if u * u + v * v > 0.25:
        return CLEAR
    bubble = (u / 0.30) ** 2 + ((v + 0.04) / 0.21) ** 2 <= 1  # an ellipse a little above the centre
    tail = -0.20 <= u <= -0.06 and 0.10 <= v <= 0.26 and (v - 0.10) <= (u + 0.20) * 0.9  # its pointer, lower left
    return WHITE if bubble or tail else GREEN


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
