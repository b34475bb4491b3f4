"""Named places of a scene: regions ("the kitchen") and doors ("the door to the garden").

Names are derived from the tile map alone, so scenes from any source (designer, procedural,
learned generators) get places that requests can refer to. Rules live in
``vrenvs/data/regions.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
import yaml

from vrenvs.core.catalog import CATALOG, COLOURS
from vrenvs.core.grid import label_components
from vrenvs.core.jit import kernel

__all__ = ["REGION_RULES", "Places", "find_places", "ground_mask"]

REGION_RULES = yaml.safe_load(resources.files("vrenvs.data").joinpath("regions.yaml").read_text())
_OUTDOOR = np.array([t.setting == "outdoor" for t in CATALOG.tiles])
_INDOOR = np.array([t.setting == "indoor" for t in CATALOG.tiles])
_DY, _DX = (-1, 1, 0, 0), (0, 0, -1, 1)


@dataclass(frozen=True)
class Places:
    """``region_map``/``door_map`` hold an index into ``region_names``/``door_names`` or -1."""

    region_map: np.ndarray
    region_names: tuple[str, ...]
    door_map: np.ndarray
    door_names: tuple[str, ...]


def ground_mask(tiles: np.ndarray) -> np.ndarray:
    """Walkable cells that are not doorways: the cells regions are made of."""
    return CATALOG.WALKABLE[tiles] & ~CATALOG.IS_DOOR[tiles]


def _pieces(
    labels, tiles, min_cells, max_cells, outdoor, indoor, piece_map, size, setting, ground, touching, sums
):  # fmt: skip
    """Cut the components of ``labels`` (from :func:`label_components`) with at least
    ``min_cells`` cells into pieces, in reading order of the components: a piece larger
    than ``max_cells`` is cut at the median of its longer axis (cells on or below it first)
    until every part fits or a cut would leave a side empty. Writes the piece of each cell
    (``piece_map``, -1: none) and per piece its size, ``setting`` (True: more outdoor
    than indoor ground), most common tile (the smallest id among equals), the tiles that
    touch it from outside (``touching``, by tile id) and the sums of its rows and columns;
    returns the number of pieces."""
    h, w = labels.shape
    cells = h * w
    counts = np.zeros(cells, np.int64)
    for y in range(h):
        for x in range(w):
            piece_map[y, x] = -1
            if labels[y, x] >= 0:
                counts[labels[y, x]] += 1
    ys, xs = np.empty(cells, np.int64), np.empty(cells, np.int64)
    high_y, high_x = np.empty(cells, np.int64), np.empty(cells, np.int64)
    stack = np.empty((cells, 2), np.int64)
    histogram = np.zeros(touching.shape[1], np.int64)
    count = 0
    for start in range(cells):  # a component's label is its first cell in reading order
        if labels[start // w, start % w] != start or counts[start] < min_cells:
            continue
        n = 0
        for c in range(start, cells):
            if labels[c // w, c % w] == start:
                ys[n], xs[n] = c // w, c % w
                n += 1
        stack[0, 0], stack[0, 1] = 0, n
        top = 1
        while top > 0:  # depth first, the low part of a cut before the high one
            top -= 1
            lo, hi = stack[top, 0], stack[top, 1]
            m = hi - lo
            if m > max_cells:
                by_row = ys[lo:hi].max() - ys[lo:hi].min() >= xs[lo:hi].max() - xs[lo:hi].min()
                axis = ys if by_row else xs
                ordered = np.sort(axis[lo:hi])
                median = ordered[m // 2] if m % 2 else (ordered[m // 2 - 1] + ordered[m // 2]) / 2
                taken = 0
                for k in range(lo, hi):
                    taken += axis[k] <= median
                if 0 < taken < m:  # a stable partition: both parts keep reading order
                    i, j = lo, 0
                    for k in range(lo, hi):
                        if axis[k] <= median:
                            ys[i], xs[i] = ys[k], xs[k]
                            i += 1
                        else:
                            high_y[j], high_x[j] = ys[k], xs[k]
                            j += 1
                    ys[i : i + j], xs[i : i + j] = high_y[:j], high_x[:j]
                    stack[top, 0], stack[top, 1] = lo + taken, hi
                    stack[top + 1, 0], stack[top + 1, 1] = lo, lo + taken
                    top += 2
                    continue
            for k in range(lo, hi):
                piece_map[ys[k], xs[k]] = count
            histogram[:] = 0
            sy, sx, out, inside = 0, 0, 0, 0
            for k in range(lo, hi):
                y, x = ys[k], xs[k]
                tile = tiles[y, x]
                histogram[tile] += 1
                out += outdoor[tile]
                inside += indoor[tile]
                sy += y
                sx += x
                for d in range(4):
                    ny, nx = y + _DY[d], x + _DX[d]
                    if 0 <= ny < h and 0 <= nx < w and piece_map[ny, nx] != count:
                        touching[count, tiles[ny, nx]] = True
            size[count] = m
            setting[count] = out > inside
            ground[count] = np.argmax(histogram)
            sums[count, 0], sums[count, 1] = sy, sx
            count += 1
    return count


_pieces = kernel(_pieces)


@dataclass(frozen=True)
class _Pieces:
    """The regions of a tile map before naming (see :func:`_pieces`)."""

    piece_map: np.ndarray  # (H, W) piece index or -1
    size: np.ndarray
    outdoor: np.ndarray  # bool: more outdoor than indoor ground
    ground: np.ndarray  # the most common tile id
    touching: np.ndarray  # (P, T) bool by tile id
    sums: np.ndarray  # (P, 2) sums of the rows and columns of the cells


def _cut(tiles: np.ndarray, labels: np.ndarray | None) -> _Pieces:
    """:func:`_pieces` of ``tiles``, checked first (the kernel reads tables by tile id and
    counts by label without bounds checks)."""
    tiles = np.asarray(tiles)
    if tiles.ndim != 2 or tiles.dtype.kind not in "iu":
        raise ValueError(f"tiles must be a 2-d array of tile ids; got {tiles.dtype} of shape {tiles.shape}")
    if tiles.size and (int(tiles.min()) < 0 or int(tiles.max()) >= CATALOG.num_tiles):
        raise ValueError(
            f"tile ids must be in [0, {CATALOG.num_tiles}); got {int(tiles.min())} .. {int(tiles.max())}"
        )
    if labels is None:
        labels = label_components(ground_mask(tiles))
    labels = np.asarray(labels)
    inside = not labels.size or (int(labels.min()) >= -1 and int(labels.max()) < labels.size)
    if labels.shape != tiles.shape or not inside:
        raise ValueError(
            f"labels must be label_components(ground_mask(tiles)) (shape {tiles.shape}, values -1 .. "
            f"{tiles.size - 1}); got shape {labels.shape}"
            + (f", values {int(labels.min())} .. {int(labels.max())}" if labels.size else "")
        )
    h, w = tiles.shape
    most = h * w
    piece_map = np.empty((h, w), np.int64)
    size, ground = np.empty(most, np.int64), np.empty(most, np.int64)
    outdoor = np.empty(most, bool)
    touching = np.zeros((most, CATALOG.num_tiles), bool)
    sums = np.empty((most, 2), np.int64)
    count = _pieces(
        np.ascontiguousarray(labels, np.int64), np.ascontiguousarray(tiles, np.uint8),
        REGION_RULES["min_cells"], REGION_RULES["max_cells"], _OUTDOOR, _INDOOR, piece_map, size, outdoor,
        ground, touching, sums,
    )  # fmt: skip
    return _Pieces(piece_map, size[:count], outdoor[:count], ground[:count], touching[:count], sums[:count])


def region_pieces(tiles: np.ndarray, labels: np.ndarray | None = None) -> list[np.ndarray]:
    """Boolean masks of the regions of ``tiles`` (``(H, W)``), in reading order.
    ``labels``: ``label_components(ground_mask(tiles))`` when the caller has it already."""
    pieces = _cut(tiles, labels)
    return [pieces.piece_map == i for i in range(len(pieces.size))]


def _kind(pieces: _Pieces, i: int) -> str:
    setting = "outdoor" if pieces.outdoor[i] else "indoor"
    ground = CATALOG.tiles[int(pieces.ground[i])].name
    touching = {CATALOG.tiles[t].name for t in np.flatnonzero(pieces.touching[i])}
    size = int(pieces.size[i])
    for kind in REGION_RULES["kinds"]:
        if kind.get("setting", setting) != setting:
            continue
        if "near" in kind and kind["near"] not in touching:
            continue
        if "ground" in kind and kind["ground"] != ground:
            continue
        if size < kind.get("min_cells", 0):
            continue
        return str(kind["name"])
    return "area"


def _compass(pieces: _Pieces, i: int) -> str:
    h, w = pieces.piece_map.shape
    dy = (pieces.sums[i, 0] / pieces.size[i] - (h - 1) / 2) / h
    dx = (pieces.sums[i, 1] / pieces.size[i] - (w - 1) / 2) / w
    words = []
    if abs(dy) > 0.125:
        words.append("north" if dy < 0 else "south")
    if abs(dx) > 0.125:
        words.append("west" if dx < 0 else "east")
    return " ".join(words) or "middle"


def find_places(tiles: np.ndarray, labels: np.ndarray | None = None) -> Places:
    """Regions and doors of one ``(H, W)`` tile map, with their names (``labels`` as for
    :func:`region_pieces`)."""
    pieces = _cut(tiles, labels)
    count = len(pieces.size)
    kinds = [_kind(pieces, i) for i in range(count)]
    piece_names = [f"{_compass(pieces, i)} {k}" if kinds.count(k) > 1 else k for i, k in enumerate(kinds)]
    names = tuple(dict.fromkeys(piece_names))
    index = np.array([names.index(name) for name in piece_names] + [-1], np.int16)
    region_map = index[pieces.piece_map]  # -1 (no piece) reads the last entry
    door_map, door_names = _doors(tiles, pieces, piece_names)
    return Places(region_map, names, door_map, door_names)


def _doors(tiles: np.ndarray, pieces: _Pieces, piece_names: list[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    door_map = np.full(tiles.shape, -1, dtype=np.int16)
    h, w = tiles.shape
    names: list[str] = []
    for y, x in np.argwhere(CATALOG.IS_DOOR[tiles]):
        colour = CATALOG.LOCK_COLOUR[tiles[y, x]]
        if colour >= 0:
            name = f"{COLOURS[colour]} door"
        else:
            touching = {
                int(pieces.piece_map[y + dy, x + dx])
                for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))
                if 0 <= y + dy < h and 0 <= x + dx < w and pieces.piece_map[y + dy, x + dx] >= 0
            }
            if touching:
                smallest = min(touching, key=lambda i: (pieces.size[i], i))
                name = f"door to the {piece_names[smallest]}"
            else:
                name = "wooden door"
        if name not in names:
            names.append(name)
        door_map[y, x] = names.index(name)
    return door_map, tuple(names)
