"""A bitmap font in numpy, so frames carry text with only the core installed (no pygame).

Glyphs are the public-domain X11 "misc-fixed" fonts ("Public domain font. Share and enjoy."):
``6x10`` for tiles of 12 px and more, ``4x6`` below. Printable ASCII only; other characters
draw as ``?``. Each glyph is stored as one character per pixel row (a base-64 digit whose
bits are the row, leftmost pixel first), so the table stays small and greppable.

Text is handled as ``(B, columns)`` uint8 character codes so a whole batch of lines is drawn
with one gather, never a Python loop over worlds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["Font", "by_name", "draw", "encode", "font_for"]

_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/"

# Characters 32..126 in order, one glyph per word.
_6X10 = (
    "0000000000 0888880800 0KKK000000 0KK+K+KK00 08SeSAS800 0IgK8Kga00 0GeeGgaQ00 0888000000 048GGG8400 "
    "0G84448G00 00YK+KY000 0088+88000 000000C8G0 0000+00000 0000008S80 02248GWW00 08KYYYK800 08Oe888+00 "
    "0SY2CGW+00 0+24C2YS00 04CKa+4400 0+Wio2YS00 0CGWioYS00 0+2448GG00 0SYYSYYS00 0SYcQ24O00 008S808S80 "
    "008S80C8G0 0248G84200 000+0+0000 0G84248G00 0SY4880800 0SYcgiWS00 08KYY+YY00 0yIISIIy00 0SYWWWYS00 "
    "0yIIIIIy00 0+WWyWW+00 0+WWyWWW00 0SYWWcYS00 0YYY+YYY00 0S88888S00 0E4444aO00 0YaemeaY00 0WWWWWW+00 "
    "0YYsgYYY00 0YYogcYY00 0SYYYYYS00 0yYYyWWW00 0SYYYYgS20 0yYYyeaY00 0SYWS2YS00 0+88888800 0YYYYYYS00 "
    "0YYYKKK800 0YYYggsY00 0YYK8KYY00 0YYK888800 0+248GW+00 0SGGGGGS00 0WWG842200 0S44444S00 08KY000000 "
    "00000000+0 8400000000 000S2UYU00 0WWioYoi00 000SYWYS00 022QcYcQ00 000SY+WS00 0CIGyGGG00 000UYYU2YS "
    "0WWioYYY00 080O888S00 0206222IIC 0WWYauaY00 0O88888S00 000qgggY00 000ioYYY00 000SYYYS00 000ioYoiWW "
    "000QcYcQ22 000ioWWW00 000SWS2y00 0GGyGGIC00 000YYYcQ00 000YYKK800 000YYggK00 000YK8KY00 000YYcQ2YS "
    "000+48G+00 0684O48600 0888888800 0O48684O00 0Iga000000"
)
_4X6 = (
    "000000 444040 AA0000 AFAFA0 4EC2E4 824820 4A4A50 440000 244442 844448 A4E4A0 44E440 000048 00E000 "
    "000040 224880 4AEA40 4C44E0 4A24E0 E242C0 AAE220 E8C2C0 68CA40 E24880 6A4AC0 4A62C0 040040 040048 "
    "248420 0E0E00 842480 C24040 6AA860 4AEAA0 CACAC0 4A8A40 CAAAC0 E8C8E0 E8C880 68AA60 AAEAA0 E444E0 "
    "222A40 AACAA0 8888E0 AEEAA0 2AEA80 4AAA40 CAC880 4AAA42 CACAA0 6842C0 E44440 AAAAE0 AAAE40 AAEEA0 "
    "AA4AA0 AA4440 E248E0 644460 884220 C444C0 4A0000 00000E 420000 06AA60 8CAAC0 068860 26AA60 04AC60 "
    "24E440 06A62C 8CAAA0 40C4E0 20222C 8ACAA0 C444E0 0AEAA0 0CAAA0 04AA40 0CAC88 06AA62 0AC880 06C2C0 "
    "4E4420 0AAA60 0AAA40 0AAEA0 0A44A0 0AA62C 0E24E0 24C442 444440 846448 5A0000"
)


@dataclass(frozen=True)
class Font:
    """A monospaced bitmap font: ``glyphs[code]`` is a ``(height, width)`` bool mask."""

    name: str
    glyphs: np.ndarray  # (128, h, w) bool; codes outside 32..126 draw as "?"

    @property
    def height(self) -> int:
        return int(self.glyphs.shape[1])

    @property
    def width(self) -> int:
        return int(self.glyphs.shape[2])


def _decode(table: str, width: int) -> np.ndarray:
    words = table.split()
    height = len(words[0])
    rows = np.array([[_DIGITS.index(c) for c in w] for w in words], np.int64)  # (95, h)
    bits = (rows[..., None] >> np.arange(width - 1, -1, -1)) & 1  # (95, h, w)
    glyphs = np.zeros((128, height, width), bool)
    glyphs[:] = bits[ord("?") - 32].astype(bool)
    glyphs[32:127] = bits.astype(bool)
    glyphs.setflags(write=False)
    return glyphs


@lru_cache(maxsize=2)
def by_name(name: str) -> Font:
    """The font ``"6x10"`` or ``"4x6"``."""
    table, width = {"6x10": (_6X10, 6), "4x6": (_4X6, 4)}[name]
    return Font(name, _decode(table, width))


def font_for(tile_size: int) -> Font | None:
    """The font whose glyphs fit one row of tiles, or ``None`` when tiles are too small."""
    if tile_size >= 12:
        return by_name("6x10")
    if tile_size >= 7:
        return by_name("4x6")
    return None


def encode(lines: Sequence[str], columns: int) -> np.ndarray:
    """``(len(lines), columns)`` uint8 codes, each line cut or padded with spaces."""
    joined = "".join(line[:columns].ljust(columns) for line in lines)
    codes = np.frombuffer(joined.encode("ascii", "replace"), np.uint8)
    return codes.reshape(len(lines), columns).copy()


def draw(codes: np.ndarray, font: Font, scale: int = 1) -> np.ndarray:
    """Ink masks of ``(B, columns)`` codes: ``(B, h * scale, columns * w * scale)`` bool."""
    ink = font.glyphs[codes & 127]  # (B, C, h, w)
    b, c, h, w = ink.shape
    ink = ink.transpose(0, 2, 1, 3).reshape(b, h, c * w)
    if scale > 1:
        ink = ink.repeat(scale, axis=1).repeat(scale, axis=2)
    return ink
