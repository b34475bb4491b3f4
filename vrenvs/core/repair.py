"""Repair: turn any grid of glyph codes into a solvable scene with few edits.

An *edit* is a cell whose glyph changes; :class:`Repaired` reports how many. The steps,
each choosing the cheapest fix it can see:

1. the outer border becomes wall;
2. extra users / assistants are removed, a missing one is placed on free ground;
3. a scene with no requestable item gets one, placed far from the user;
4. while something is unreachable from the user, a 0-1 BFS from the reached cells finds
   the cheapest unreached target; each blocking cell on its path becomes ground (or, for a
   locked door whose key cannot be reached, a plain door). An unreachable item or NPC in a
   pocket too small to be a region is removed instead when that costs fewer edits.

The result always satisfies :func:`vrenvs.core.reach.problems` (property-tested).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.grid import label_components
from vrenvs.core.reach import base_passable, reachable
from vrenvs.core.regions import REGION_RULES, ground_mask, region_pieces
from vrenvs.core.scene import Scene, split_layers

__all__ = ["REPAIR_VERSION", "Repaired", "repair"]

REPAIR_VERSION = 1
"""Bumped whenever repair can give a different result for the same input."""

_GROUND_CODES = np.array([CATALOG.tile_code(n) for n in ("floor", "grass", "path")])
_REQUESTABLE_CODES = [CATALOG.item_code(i.name) for i in CATALOG.items if i.requestable]


@dataclass(frozen=True)
class Repaired:
    scene: Scene
    edits: int


def repair(scene: Scene | np.ndarray, name: str = "") -> Repaired:
    """Return a solvable version of ``scene`` and the number of cells changed."""
    original = scene.codes if isinstance(scene, Scene) else Scene(scene).codes
    codes = original.astype(np.int64)
    codes[[0, -1], :] = CATALOG.WALL
    codes[:, [0, -1]] = CATALOG.WALL
    _one_of_each(codes, "user")
    _one_of_each(codes, "assistant")
    _ensure_requestable(codes)
    _connect(codes)
    out = Scene(codes, name=name or (scene.name if isinstance(scene, Scene) else ""))
    return Repaired(out, int((out.codes != original).sum()))


def _ground_code(codes: np.ndarray, y: int, x: int) -> int:
    """The ground code this cell would show without its spawn or obstacle."""
    window = codes[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2]
    counts = [(window == g).sum() for g in _GROUND_CODES]
    return int(_GROUND_CODES[int(np.argmax(counts))])


def _free_ground(codes: np.ndarray) -> np.ndarray:
    interior = np.zeros(codes.shape, dtype=bool)
    interior[1:-1, 1:-1] = True
    return np.isin(codes, _GROUND_CODES) & interior


def _user_start(codes: np.ndarray) -> np.ndarray:
    start = codes == CATALOG.role_code("user")
    return start & (np.cumsum(start.ravel()).reshape(start.shape) == 1)


def _one_of_each(codes: np.ndarray, role: str) -> None:
    code = CATALOG.role_code(role)
    cells = np.argwhere(codes == code)
    for y, x in cells[1:]:
        codes[y, x] = _ground_code(codes, y, x)
    if len(cells):
        return
    free = _free_ground(codes)
    cell = _largest_area_cell(codes, free) if role == "user" else _nearest_free(codes, _user_start(codes))
    codes[cell] = code


def _largest_area_cell(codes: np.ndarray, free: np.ndarray) -> tuple[int, int]:
    if not free.any():
        return codes.shape[0] // 2, codes.shape[1] // 2
    tiles, _, _ = split_layers(codes)
    labels = label_components(base_passable(tiles))
    ids, counts = np.unique(labels[free], return_counts=True)
    best = ids[np.argmax(counts)]
    y, x = np.argwhere(free & (labels == best))[0]
    return int(y), int(x)


def _nearest_free(codes: np.ndarray, start: np.ndarray, farthest: bool = False) -> tuple[int, int]:
    """Free ground reachable from ``start``, nearest (or farthest) to it. Failing that, the
    nearest interior cell holding no user, assistant or requestable item."""
    tiles, items, _ = split_layers(codes)
    free = _free_ground(codes) & reachable(tiles, items, start)
    interior = np.zeros(codes.shape, dtype=bool)
    interior[1:-1, 1:-1] = True
    people = [CATALOG.role_code("user"), CATALOG.role_code("assistant")]
    for fallback in (np.isin(codes, people + _REQUESTABLE_CODES), np.isin(codes, people)):
        if free.any():
            break
        free = interior & ~fallback
        farthest = False
    (sy, sx) = np.argwhere(start)[0]
    cells = np.argwhere(free)
    dist = np.abs(cells - [sy, sx]).sum(axis=1)
    y, x = cells[np.argmax(dist) if farthest else np.argmin(dist)]
    return int(y), int(x)


def _ensure_requestable(codes: np.ndarray) -> None:
    if np.isin(codes, _REQUESTABLE_CODES).any():
        return
    cell = _nearest_free(codes, _user_start(codes), farthest=True)
    pick = int(np.frombuffer(codes.astype(np.uint8).tobytes(), np.uint8).sum())
    codes[cell] = _REQUESTABLE_CODES[pick % len(_REQUESTABLE_CODES)]


def _connect(codes: np.ndarray) -> None:
    start = _user_start(codes)
    while True:
        tiles, items, roles = split_layers(codes)
        reach = reachable(tiles, items, start)
        targets = ((items > 0) | (roles > 0)) & ~reach
        for piece in region_pieces(tiles):
            if not (piece & reach).any():
                targets |= piece
        if not targets.any():
            return
        cost = _edit_cost(tiles, items, reach)
        dist, parent = _zero_one_bfs(reach, cost)
        masked = np.where(targets, dist, np.iinfo(np.int64).max)
        y, x = divmod(int(np.argmin(masked)), codes.shape[1])
        target = (y, x)
        if dist[target] >= 2 and _removable(codes, target):
            codes[target] = _ground_code(codes, *target)
            continue
        _open_path(codes, tiles, cost, parent, target)


def _edit_cost(tiles: np.ndarray, items: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """1 for a cell that must change to be crossed, 0 otherwise; border cells cannot change."""
    keys = CATALOG.KEY_COLOUR[items[reach]]
    have = np.isin(CATALOG.LOCK_COLOUR[tiles], keys[keys >= 0])
    cost = np.where(base_passable(tiles) | have, 0, 1)
    cost[[0, -1], :] = -1
    cost[:, [0, -1]] = -1
    return cost


def _zero_one_bfs(reach: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = cost.shape
    flat_cost = cost.ravel()
    dist = np.full(h * w, np.iinfo(np.int64).max, dtype=np.int64)
    parent = np.full(h * w, -1, dtype=np.int64)
    queue: deque[int] = deque(np.flatnonzero(reach).tolist())
    dist[list(queue)] = 0
    while queue:
        cell = queue.popleft()
        y, x = divmod(cell, w)
        for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
            nxt = ny * w + nx
            if not (0 <= ny < h and 0 <= nx < w) or flat_cost[nxt] < 0:
                continue
            nd = dist[cell] + flat_cost[nxt]
            if nd < dist[nxt]:
                dist[nxt] = nd
                parent[nxt] = cell
                (queue.append if flat_cost[nxt] else queue.appendleft)(nxt)
    return dist.reshape(h, w), parent


def _removable(codes: np.ndarray, target: tuple[int, ...]) -> bool:
    """An item or NPC spawn whose own pocket is too small to be a region."""
    code = codes[target]
    role = CATALOG.CODE_ROLE[code]
    if role and not CATALOG.roles[role - 1].npc:
        return False
    if code in _REQUESTABLE_CODES and np.isin(codes, _REQUESTABLE_CODES).sum() == 1:
        return False
    if not CATALOG.CODE_ITEM[code] and not role:
        return False
    tiles, _, _ = split_layers(codes)
    labels = label_components(ground_mask(tiles))
    return int((labels == labels[target]).sum()) < REGION_RULES["min_cells"]


def _open_path(
    codes: np.ndarray, tiles: np.ndarray, cost: np.ndarray, parent: np.ndarray, target: tuple[int, ...]
) -> None:
    w = codes.shape[1]
    cell = int(np.ravel_multi_index(target, codes.shape))
    while cell >= 0:
        y, x = divmod(cell, w)
        if cost[y, x] > 0:
            locked = CATALOG.LOCK_COLOUR[tiles[y, x]] >= 0
            codes[y, x] = CATALOG.DOOR if locked else _ground_code(codes, y, x)
        cell = int(parent[cell])


def repair_batch(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Repair a batch of glyph grids ``(N, H, W)``; returns ``(repaired codes, edits per grid)``.

    Grids that are already solvable pass through untouched (checked batched, see
    :func:`vrenvs.core.reach.solvable_batch`); the rest go through :func:`repair`.
    """
    from vrenvs.core.reach import solvable_batch

    codes = np.asarray(codes, dtype=np.uint8)
    out = codes.copy()
    edits = np.zeros(len(codes), dtype=np.int64)
    for i in np.flatnonzero(~solvable_batch(codes)):
        fixed = repair(codes[i])
        out[i] = fixed.scene.codes
        edits[i] = fixed.edits
    return out, edits
