"""The sprite atlas at one tile size: every tile, item, actor (role x facing), carried item,
mode badge, marker and text glyph as arrays ready for gathering, plus a cache of composed cells.

Built once per tile size from :mod:`vrenvs.render.sprites` and :mod:`vrenvs.render.font`; numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.state import MODES
from vrenvs.render import font as bitmap
from vrenvs.render.sprites import BASE, base_sprites, resample

__all__ = ["BADGES", "DIM", "INK", "PANEL", "Atlas", "CellCache", "atlas", "cell_code"]

BADGES: dict[str, tuple[str, tuple[int, int, int]]] = {
    "patrolling": ("P", (90, 150, 250)),
    "chasing": ("C", (240, 70, 60)),
    "fleeing": ("F", (250, 210, 60)),
    "trading": ("T", (80, 200, 100)),
    "stealing": ("S", (200, 110, 230)),
    "escaping": ("E", (250, 150, 50)),
    "caught": ("X", (170, 170, 170)),
    "following": ("G", (240, 240, 240)),
}
"""Mode -> (letter, colour) of the badge drawn at an actor's top-right; idle has none."""

PANEL = np.array([22, 20, 30], np.uint8)
INK = np.array([236, 232, 220], np.uint8)
DIM = np.array([150, 146, 160], np.uint8)
PATH = np.array([255, 226, 90], np.uint8)


def _packed(rgba: np.ndarray) -> np.ndarray:
    """``(..., 4)`` uint8 RGBA -> ``(...)`` uint32 pixels, 0 where transparent.

    Packed pixels let a layer be laid over others with one ``where`` per layer instead of a
    broadcast over colour channels (several times faster for the few busy cells).
    """
    rgba = np.where(rgba[..., 3:] > 0, rgba, 0).astype(np.uint8)
    return np.ascontiguousarray(rgba).view("<u4")[..., 0]


@dataclass(frozen=True)
class Atlas:
    """Sprites at one tile size; index 0 of every layer draws nothing."""

    size: int
    tile_rows: np.ndarray  # (T * ts, ts * 3): pixel rows of every tile, for the ground gather
    row_offsets: np.ndarray  # (1, 1, ts, 1) intp: pixel row within a tile
    # Packed uint32 pixels (see _packed), (..., ts, ts):
    tiles: np.ndarray  # (T, ...) by tile id
    items: np.ndarray  # (I+1, ...) by item id
    actors: np.ndarray  # (R+1, 5, ...) by role id and facing
    carried: np.ndarray  # (I+1, ...) small item at an actor's lower right
    badges: np.ndarray  # (len(MODES), ...) by mode, at the top right
    markers: np.ndarray  # (3, ...): none, planned-path dot, focus brackets
    font: bitmap.Font | None
    glyph_rows: np.ndarray  # (256 * ts, w * 3): codes < 128 in INK, >= 128 in DIM, on PANEL
    counter: np.ndarray  # (10000, 6) codes of "t=" and the step, right-aligned
    cells: CellCache = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cells", CellCache(self))


def _badge(letter: str, colour: tuple[int, int, int]) -> np.ndarray:
    """A 5 x 7 box in ``colour`` with ``letter``, outlined, at the top right of a 16 px cell."""
    glyph = bitmap.by_name("4x6").glyphs[ord(letter)][:5, :3]
    box = np.zeros((BASE, BASE, 4), np.uint8)
    box[1:8, 9:14, :3] = colour
    box[1:8, 9:14, 3] = 255
    box[2:7, 10:13, :3][glyph] = PANEL
    ink = np.zeros((BASE, BASE), bool)
    ink[0:9, 8:15] = True
    ink[1:8, 9:14] = False
    box[ink, :3] = PANEL
    box[ink, 3] = 255
    return box


def _marker(kind: str) -> np.ndarray:
    """Path dot or focus brackets at 16 px, RGBA."""
    out = np.zeros((BASE, BASE, 4), np.uint8)
    if kind == "path":
        y, x = np.mgrid[0:BASE, 0:BASE] - (BASE - 1) / 2
        dot = np.abs(y) + np.abs(x) <= 2.5
        ring = (np.abs(y) + np.abs(x) <= 3.5) & ~dot
        out[dot] = (*PATH, 255)
        out[ring] = (*PANEL, 255)
        return out
    corner = np.zeros((BASE, BASE), bool)
    corner[0, :4] = corner[:4, 0] = True
    for turns in range(4):
        out[np.rot90(corner, turns)] = (*INK, 255)
    return out


def _carried(items: np.ndarray, size: int) -> np.ndarray:
    """Items at half size in the lower right quarter, outlined at the final resolution."""
    canvas = np.zeros((items.shape[0], 2 * BASE, 2 * BASE, 4), np.uint8)
    canvas[:, BASE - 1 : 2 * BASE - 1, BASE - 1 : 2 * BASE - 1] = items
    small = resample(canvas, size)
    solid = small[..., 3] > 0
    near = np.zeros_like(solid)
    near[:, 1:] |= solid[:, :-1]
    near[:, :-1] |= solid[:, 1:]
    near[:, :, 1:] |= solid[:, :, :-1]
    near[:, :, :-1] |= solid[:, :, 1:]
    small[near & ~solid] = (*PANEL, 255)
    small[0] = 0
    return small


def _glyph_rows(font: bitmap.Font | None, scale: int, ts: int) -> np.ndarray:
    """Pixel rows of every character, ``(256 * ts, w * 3)``: each glyph is a full tile row
    tall (centred on PANEL), INK for codes < 128 and DIM for their copies at 128 and up."""
    if font is None:
        return np.zeros((0, 3), np.uint8)
    ink = font.glyphs.repeat(scale, axis=1).repeat(scale, axis=2)  # (128, h, w)
    top = max((ts - ink.shape[1]) // 2, 0)
    ink = ink[:, : ts - top]
    tall = np.zeros((256, ts, ink.shape[2], 1), bool)
    tall[:128, top : top + ink.shape[1], :, 0] = ink
    tall[128:] = tall[:128]
    colour = np.concatenate([np.broadcast_to(INK, (128, 3)), np.broadcast_to(DIM, (128, 3))])
    rgb = np.where(tall, colour[:, None, None, :], PANEL).astype(np.uint8)  # (256, ts, w, 3)
    return np.ascontiguousarray(rgb.reshape(256 * ts, -1))


def _counters() -> np.ndarray:
    steps = [f"t={t:>4}" for t in range(10000)]
    return bitmap.encode(steps, 6)


# A busy cell is fully described by these parts; its code is their mixed-radix number.
PARTS = (
    ("tile", CATALOG.num_tiles),
    ("item", CATALOG.num_items + 1),
    ("mark", 2),  # planned-path dot
    ("role", CATALOG.num_roles + 1),
    ("facing", 5),
    ("carry", CATALOG.num_items + 1),
    ("mode", len(MODES)),
    ("focus", 2),  # brackets around the actor a person plays
)
STRIDE = {name: int(np.prod([n for _, n in PARTS[i + 1 :]])) for i, (name, _) in enumerate(PARTS)}
"""Weight of each part in a cell code (the last part varies fastest)."""


def cell_code(**parts: np.ndarray | int) -> np.ndarray:
    """Integer code of cells from their parts (missing parts are 0)."""
    code = np.zeros((), np.int64)
    for name, value in parts.items():
        code = code + np.asarray(value, np.int64) * STRIDE[name]
    return code


class CellCache:
    """Composed busy cells as RGB pixel rows ``(ts, ts * 3)``, looked up by cell code.

    Composing a cell takes a dozen array operations; most frames show cells seen before, so
    one sorted-array lookup replaces them. Unknown codes are composed in one batch and the
    cache is emptied when it outgrows ``limit`` entries (memory stays a few MB).
    """

    def __init__(self, atlas: Atlas) -> None:
        ts = atlas.size
        self.atlas = atlas
        self.limit = max(512, (8 << 20) // (ts * ts * 3))
        # (sorted codes, their pixel rows), replaced as a whole so a lookup always reads a
        # consistent pair even if another thread extends the cache meanwhile.
        self.table = (np.zeros(0, np.int64), np.zeros((0, ts, ts * 3), np.uint8))

    def lookup(self, codes: np.ndarray) -> np.ndarray:
        """``(K, ts, ts * 3)`` pixels of the cells with ``codes`` (K,)."""
        known, rows = self.table
        if len(known):
            index = np.minimum(np.searchsorted(known, codes), len(known) - 1)
            if (known[index] == codes).all():
                return rows[index]
        known, rows = self._extend(known, rows, codes)
        return rows[np.searchsorted(known, codes)]

    def _extend(
        self, known: np.ndarray, rows: np.ndarray, codes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        new = np.setdiff1d(codes, known)
        if len(known) + len(new) > self.limit:
            known, rows, new = known[:0], rows[:0], np.unique(codes)
        every = np.concatenate([known, new])
        order = np.argsort(every, kind="stable")
        self.table = (every[order], np.concatenate([rows, self.compose(new)])[order])
        return self.table

    def compose(self, codes: np.ndarray) -> np.ndarray:
        """Draw cells from their codes: tile, path dot, item, actor, carried item, badge, focus."""
        part = {name: (codes // STRIDE[name]) % size for name, size in PARTS}
        a = self.atlas
        cells = a.tiles[part["tile"]]
        here = part["role"] > 0
        for sprites in (
            a.markers[part["mark"]],
            a.items[part["item"]],
            a.actors[part["role"], part["facing"]],
            a.carried[part["carry"] * here],
            a.badges[part["mode"] * here],
            a.markers[2 * part["focus"]],
        ):
            cells = np.where(sprites != 0, sprites, cells)
        k, ts, _ = cells.shape
        rgb = cells.view(np.uint8).reshape(k, ts, ts, 4)[..., :3]
        return np.ascontiguousarray(rgb).reshape(k, ts, ts * 3)


@lru_cache(maxsize=8)
def atlas(tile_size: int) -> Atlas:
    """Every sprite at ``tile_size`` px (cached: built once per size)."""
    base = base_sprites()
    ts = tile_size
    tiles = resample(base["tiles"], ts)
    badges = np.zeros((len(MODES), BASE, BASE, 4), np.uint8)
    for mode, (letter, colour) in BADGES.items():
        badges[MODES.index(mode)] = _badge(letter, colour)
    markers = np.stack([np.zeros((BASE, BASE, 4), np.uint8), _marker("path"), _marker("focus")])
    font = bitmap.font_for(ts)
    return Atlas(
        size=ts,
        tile_rows=np.ascontiguousarray(tiles.reshape(len(tiles) * ts, ts * 3)),
        row_offsets=np.arange(ts, dtype=np.intp)[None, None, :, None],
        tiles=_packed(np.concatenate([tiles, np.full((*tiles.shape[:-1], 1), 255, np.uint8)], -1)),
        items=_packed(resample(base["items"], ts)),
        actors=_packed(resample(base["actors"], ts)),
        carried=_packed(_carried(base["items"], ts)),
        badges=_packed(resample(badges, ts)),
        markers=_packed(resample(markers, ts)),
        font=font,
        glyph_rows=_glyph_rows(font, 2 if ts >= 32 else 1, ts),
        counter=_counters(),
    )
