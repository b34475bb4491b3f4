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
from vrenvs.core.grid import dilate, label_components

__all__ = ["REGION_RULES", "Places", "find_places", "ground_mask"]

REGION_RULES = yaml.safe_load(resources.files("vrenvs.data").joinpath("regions.yaml").read_text())
_OUTDOOR = np.array([t.setting == "outdoor" for t in CATALOG.tiles])
_INDOOR = np.array([t.setting == "indoor" for t in CATALOG.tiles])


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


def region_pieces(tiles: np.ndarray, labels: np.ndarray | None = None) -> list[np.ndarray]:
    """Boolean masks of the regions of ``tiles`` (``(H, W)``), in reading order.
    ``labels``: ``label_components(ground_mask(tiles))`` when the caller has it already."""
    if labels is None:
        labels = label_components(ground_mask(tiles))
    ys, xs = np.nonzero(labels >= 0)  # reading order
    found = labels[ys, xs]
    ids, counts = np.unique(found, return_counts=True)
    pieces: list[np.ndarray] = []
    for label in ids[counts >= REGION_RULES["min_cells"]]:
        same = found == label
        for py, px in _split(ys[same], xs[same]):
            mask = np.zeros(tiles.shape, dtype=bool)
            mask[py, px] = True
            pieces.append(mask)
    return pieces


def _split(ys: np.ndarray, xs: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cut a piece (its cells in reading order) at the median of its longer axis until no
    part is larger than ``max_cells``; parts keep reading order."""
    if len(ys) <= REGION_RULES["max_cells"]:
        return [(ys, xs)]
    coords = ys if np.ptp(ys) >= np.ptp(xs) else xs
    low = coords <= np.median(coords)
    taken = int(low.sum())
    if taken == 0 or taken == len(ys):
        return [(ys, xs)]
    return _split(ys[low], xs[low]) + _split(ys[~low], xs[~low])


def _kind(tiles: np.ndarray, piece: np.ndarray) -> str:
    cells = tiles[piece]
    setting = "outdoor" if _OUTDOOR[cells].sum() > _INDOOR[cells].sum() else "indoor"
    ground = CATALOG.tiles[int(np.bincount(cells).argmax())].name
    touching = {CATALOG.tiles[t].name for t in np.unique(tiles[dilate(piece) & ~piece])}
    size = int(piece.sum())
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


def _compass(piece: np.ndarray) -> str:
    h, w = piece.shape
    ys, xs = np.nonzero(piece)
    dy = (ys.mean() - (h - 1) / 2) / h
    dx = (xs.mean() - (w - 1) / 2) / w
    words = []
    if abs(dy) > 0.125:
        words.append("north" if dy < 0 else "south")
    if abs(dx) > 0.125:
        words.append("west" if dx < 0 else "east")
    return " ".join(words) or "middle"


def find_places(tiles: np.ndarray, labels: np.ndarray | None = None) -> Places:
    """Regions and doors of one ``(H, W)`` tile map, with their names (``labels`` as for
    :func:`region_pieces`)."""
    pieces = region_pieces(tiles, labels)
    kinds = [_kind(tiles, p) for p in pieces]
    piece_names = [f"{_compass(p)} {k}" if kinds.count(k) > 1 else k for p, k in zip(pieces, kinds)]
    names = tuple(dict.fromkeys(piece_names))
    region_map = np.full(tiles.shape, -1, dtype=np.int16)
    for piece, name in zip(pieces, piece_names):
        region_map[piece] = names.index(name)
    door_map, door_names = _doors(tiles, pieces, piece_names)
    return Places(region_map, names, door_map, door_names)


def _doors(
    tiles: np.ndarray, pieces: list[np.ndarray], piece_names: list[str]
) -> tuple[np.ndarray, tuple[str, ...]]:
    door_map = np.full(tiles.shape, -1, dtype=np.int16)
    sizes = [int(p.sum()) for p in pieces]
    names: list[str] = []
    for y, x in np.argwhere(CATALOG.IS_DOOR[tiles]):
        colour = CATALOG.LOCK_COLOUR[tiles[y, x]]
        if colour >= 0:
            name = f"{COLOURS[colour]} door"
        else:
            touching = [
                i
                for i, p in enumerate(pieces)
                if any(
                    0 <= y + dy < p.shape[0] and 0 <= x + dx < p.shape[1] and p[y + dy, x + dx]
                    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))
                )
            ]
            if touching:
                smallest = min(touching, key=lambda i: (sizes[i], i))
                name = f"door to the {piece_names[smallest]}"
            else:
                name = "wooden door"
        if name not in names:
            names.append(name)
        door_map[y, x] = names.index(name)
    return door_map, tuple(names)
