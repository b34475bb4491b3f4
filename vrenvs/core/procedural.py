"""Seeded procedural scenes in three styles: ``house``, ``village`` and ``cave``.

They are training data for learned generators next to hand-made designer scenes, so each
style aims at plausible, varied layouts that are solvable as generated (no call to
:func:`vrenvs.core.repair.repair`): every builder joins all walkable ground into one area
itself, and a locked door always has its key on the user's side.

:func:`generate` is a pure function of the rng state; nothing else is random.
"""

from __future__ import annotations

import heapq

import numpy as np

from vrenvs.core.catalog import CATALOG, COLOURS
from vrenvs.core.grid import dilate
from vrenvs.core.scene import Scene

__all__ = ["SIZE_RANGE", "STYLES", "generate"]

STYLES: tuple[str, ...] = ("house", "village", "cave")
SIZE_RANGE = (12, 64)
"""Accepted ``size`` values, inclusive (16 is the default, 32 the large variant)."""

_FLOOR, _WALL, _GRASS, _PATH, _WATER, _TREE, _COUNTER, _DOOR, _OPEN = (
    CATALOG.tile_code(n)
    for n in ("floor", "wall", "grass", "path", "water", "tree", "counter", "door", "door_open")
)
_USER, _ASSISTANT, _GUARD, _THIEF, _CHASER, _CRITTER, _MERCHANT = (
    CATALOG.role_code(n) for n in ("user", "assistant", "guard", "thief", "chaser", "critter", "merchant")
)
Cell = tuple[int, int]
Rect = tuple[int, int, int, int]  # y0, x0, y1, x1 of the floor cells, inclusive
Split = tuple[int, int, int, Rect]  # axis, wall row/column, corridor half-width, split rect
_REQUESTABLE = np.array([CATALOG.item_code(i.name) for i in CATALOG.items if i.requestable])
_MIN_ROOM = 3  # smallest room side: two rooms and a wall need 7 cells
_MIN_REGION = 4  # matches regions.yaml min_cells: smaller pockets are never named places

# Per-code lookups, so whole grids are classified with one fancy index.
_TILE = CATALOG.CODE_TILE
_IS_SPAWN = _TILE < 0
_IS_DOOR = ~_IS_SPAWN & CATALOG.IS_DOOR[np.maximum(_TILE, 0)]
_PASSABLE = _IS_SPAWN | CATALOG.WALKABLE[np.maximum(_TILE, 0)] | _IS_DOOR  # locked doors too
_IS_GROUND = np.isin(np.arange(CATALOG.num_codes), [_FLOOR, _GRASS, _PATH])
_IS_OUTDOOR = np.isin(np.arange(CATALOG.num_codes), [_GRASS, _PATH])
_IS_BUILT = np.isin(np.arange(CATALOG.num_codes), [_WALL, _COUNTER])


def generate(style: str, rng: np.random.Generator, size: int = 16) -> Scene:
    """One scene of `style`, size x size including the outer wall; a pure function of the rng state."""
    if style not in STYLES:
        raise ValueError(f"unknown procedural style {style!r}; choose from {STYLES}")
    lo, hi = SIZE_RANGE
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not lo <= size <= hi:
        raise ValueError(f"size must be an integer in [{lo}, {hi}], got {size!r}")
    codes = _BUILDERS[style](rng, int(size))
    # A random rotation / mirror: builders lay out in one orientation, the data should not.
    codes = np.rot90(codes, int(rng.integers(4)))
    if rng.random() < 0.5:
        codes = codes[:, ::-1]
    return Scene(codes, name=f"{style}", meta={"style": style})


def _passable(codes: np.ndarray) -> np.ndarray:
    """Cells an actor may cross given keys; the border is forced off so fills need no bounds checks."""
    passable = _PASSABLE[codes]
    passable[[0, -1], :] = False
    passable[:, [0, -1]] = False
    return passable


def _components(passable: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """4-connected labels (-1 off) and sizes. A stack fill: at these sizes it beats numpy
    min-propagation, which needs one pass per step of the longest path in a winding cave."""
    w = passable.shape[1]
    flat = passable.ravel().tolist()
    label = [-1] * len(flat)
    sizes: list[int] = []
    for start in np.flatnonzero(passable).tolist():
        if label[start] >= 0:
            continue
        k, stack, size = len(sizes), [start], 0
        label[start] = k
        while stack:
            i = stack.pop()
            size += 1
            for j in (i - 1, i + 1, i - w, i + w):
                if flat[j] and label[j] < 0:
                    label[j] = k
                    stack.append(j)
        sizes.append(size)
    return np.array(label).reshape(passable.shape), sizes


def _connect(codes: np.ndarray, rng: np.random.Generator, carve: int, fill: int) -> None:
    """Join every pocket that could hold a region or a spawn to the largest area by L-shaped
    tunnels, nearest pocket first so each joins whatever is closest; fill smaller empty
    pockets with ``fill`` (trees on grass). Unreachable ground breaks solvability."""
    passable = _passable(codes)
    labels, sizes = _components(passable)
    if len(sizes) <= 1:
        return
    edge = passable & dilate(~passable)  # closest pairs always lie on the edges
    main = int(np.argmax(sizes))
    pockets = []
    for k in range(len(sizes)):
        piece = labels == k
        if k != main and sizes[k] < _MIN_REGION and not _IS_SPAWN[codes[piece]].any():
            codes[piece] = np.where(codes[piece] == _GRASS, _TREE, fill)
        elif k != main:
            pockets.append((np.argwhere(edge & piece), bool((codes[piece] == _FLOOR).any())))
    reached = np.argwhere(edge & (labels == main))
    while pockets:
        outdoor = reached[_IS_OUTDOOR[codes[reached[:, 0], reached[:, 1]]]]
        # An outdoor pocket joins the outdoors, not a house interior through its wall.
        joins = [
            _nearest(cells, reached if indoor or not len(outdoor) else outdoor) for cells, indoor in pockets
        ]
        best = min(range(len(joins)), key=lambda i: joins[i][0])
        _tunnel(codes, rng, *joins[best][1:], carve)
        reached = np.concatenate([reached, pockets.pop(best)[0]])


def _nearest(cells: np.ndarray, goals: np.ndarray) -> tuple[int, Cell, Cell]:
    """Manhattan gap and the closest (cell, goal) pair."""
    gaps = np.abs(cells[:, None, :] - goals[None, :, :]).sum(axis=-1)
    a, b = np.unravel_index(int(np.argmin(gaps)), gaps.shape)
    return int(gaps[a, b]), (int(cells[a, 0]), int(cells[a, 1])), (int(goals[b, 0]), int(goals[b, 1]))


def _tunnel(codes: np.ndarray, rng: np.random.Generator, a: Cell, b: Cell, carve: int) -> None:
    """Clear an L-shaped trail from ``a`` to ``b``, bending where fewer walls are in the way:
    trees become grass, other blockers ``carve`` (a bridge over water when that is path)."""

    def line(p: Cell, q: Cell) -> np.ndarray:  # a view, so clearing it edits ``codes``
        return codes[min(p[0], q[0]) : max(p[0], q[0]) + 1, min(p[1], q[1]) : max(p[1], q[1]) + 1]

    ways = [(line(a, c), line(c, b)) for c in ((a[0], b[1]), (b[0], a[1]))]
    walls = [sum(int(_IS_BUILT[seg].sum()) for seg in way) for way in ways]
    pick = int(rng.integers(2)) if walls[0] == walls[1] else int(np.argmin(walls))
    for seg in ways[pick]:
        blocked = ~_PASSABLE[seg]
        seg[blocked] = np.where(seg[blocked] == _TREE, _GRASS, carve)


class _Placer:
    """Puts spawns on free ground, never two side by side (a spawn's ground tile is inferred
    from its neighbours) and, for items, far from everything placed so far."""

    def __init__(self, codes: np.ndarray, rng: np.random.Generator) -> None:
        free = _IS_GROUND[codes] & _passable(codes)
        busy = dilate(_IS_DOOR[codes] | _IS_SPAWN[codes])  # keep doorways and stalls clear
        if (free & ~busy).sum() >= 16:
            free &= ~busy
        self.codes, self.rng = codes, rng
        self.ys, self.xs = np.nonzero(free)
        self.open = np.ones(len(self.ys), dtype=bool)
        self.gap = np.full(len(self.ys), 2.0 * len(codes))  # distance to the nearest spawn
        self.from_user = self.gap.copy()

    def put(self, code: int, weight: np.ndarray | None = None, where: np.ndarray | None = None) -> bool:
        """Place ``code`` with probability ~ ``weight`` on open cells inside ``where``; False
        if there is no such cell."""
        ok = self.open if where is None else self.open & where[self.ys, self.xs]
        if not ok.any():
            return False
        cum = np.cumsum(ok * (1.0 if weight is None else weight))  # weights are > 0
        i = min(int(np.searchsorted(cum, self.rng.random() * cum[-1], side="right")), len(cum) - 1)
        y, x = self.ys[i], self.xs[i]
        self.codes[y, x] = code
        dist = np.abs(self.ys - y) + np.abs(self.xs - x)
        self.gap = np.minimum(self.gap, dist)
        self.open &= dist > 1
        if code == _USER:
            self.from_user = dist.astype(float)
        return True


def _spawn(
    codes: np.ndarray,
    rng: np.random.Generator,
    npcs: list[int],
    user_side: np.ndarray | None = None,
    behind: np.ndarray | None = None,
    key: int | None = None,
) -> None:
    """User, assistant nearby, the key on the user's side, 2-5 distinct requestable items
    spread out (the first behind the locked door, if any), then the NPCs."""
    placer = _Placer(codes, rng)
    placer.put(_USER, where=user_side)
    placer.put(_ASSISTANT, 1.0 / (1.0 + placer.from_user) ** 2)
    if key is not None:
        placer.put(key, placer.gap**2, user_side)
    kinds = rng.permutation(_REQUESTABLE)[: int(rng.integers(2, 6))]
    for i, kind in enumerate(kinds):
        if not (i == 0 and placer.put(int(kind), placer.gap**3, behind)):
            placer.put(int(kind), placer.gap**3)
    for npc in npcs:
        placer.put(npc, placer.gap)


def _house(rng: np.random.Generator, n: int) -> np.ndarray:
    """Rooms and corridors from a BSP split, a kitchen, maybe a garden and a locked door."""
    garden = int(rng.integers(2, max(3, n // 6) + 1)) if rng.random() < 0.55 else 0
    bottom = n - 2 - garden if garden else n - 1  # the building's lower wall row
    codes = np.full((n, n), _WALL, dtype=np.int64)
    codes[1:bottom, 1 : n - 1] = _FLOOR
    leaves: list[Rect] = []
    splits: list[Split] = []
    max_area = rng.uniform(20, 42) * (n / 16) ** 1.5
    _bsp((1, 1, bottom - 1, n - 2), rng, max_area, leaves, splits, 0)
    for axis, c, gap, (y0, x0, y1, x1) in splits:
        view, (lo, hi) = (codes, (x0, x1)) if axis == 0 else (codes.T, (y0, y1))
        view[[c - gap, c + gap], lo : hi + 1] = _WALL
    doors = [door for split in splits for door in _split_doors(codes, rng, split)]
    if garden:
        doors.append(_garden(codes, rng, bottom))
    _kitchen(codes, rng, leaves)
    _connect(codes, rng, _FLOOR, _WALL)
    user_side, behind, key = _lock(codes, rng, doors) if rng.random() < 0.45 else (None, None, None)
    npcs = [int(c) for c in rng.choice([_GUARD, _THIEF], int(rng.integers(0, 3)))]
    _spawn(codes, rng, npcs, user_side, behind, key)
    return codes


def _bsp(
    rect: Rect, rng: np.random.Generator, max_area: float, leaves: list[Rect], splits: list[Split], depth: int
) -> None:
    """Recursively cut ``rect`` (inclusive floor cells) by a wall, or near the top by a
    corridor between two walls, until rooms are small; splits are recorded for doors."""
    y0, x0, y1, x1 = rect
    dims = (y1 - y0 + 1, x1 - x0 + 1)
    axes = [a for a in (0, 1) if dims[a] >= 2 * _MIN_ROOM + 1]
    if not axes or (dims[0] * dims[1] <= max_area and rng.random() < 0.8):
        leaves.append(rect)
        return
    axis = max(axes, key=lambda a: dims[a] + 3 * rng.random())  # mostly cut the long side
    lo, hi = (y0, y1) if axis == 0 else (x0, x1)
    gap = int(depth < 2 and dims[axis] >= 2 * _MIN_ROOM + 3 and rng.random() < 0.3)
    c = int(rng.integers(lo + _MIN_ROOM + gap, hi - _MIN_ROOM - gap + 1))
    splits.append((axis, c, gap, rect))
    if axis == 0:
        parts = ((y0, x0, c - 1 - gap, x1), (c + 1 + gap, x0, y1, x1))
    else:
        parts = ((y0, x0, y1, c - 1 - gap), (y0, c + 1 + gap, y1, x1))
    for part in parts:
        _bsp(part, rng, max_area, leaves, splits, depth + 1)


def _split_doors(codes: np.ndarray, rng: np.random.Generator, split: Split) -> list[Cell]:
    """One door through each wall of a split (the rooms form a tree, so each door is a cut);
    corridors sometimes get a second one. Doors go where both sides are floor."""
    axis, c, gap, (y0, x0, y1, x1) = split
    view, (lo, hi) = (codes, (x0, x1)) if axis == 0 else (codes.T, (y0, y1))
    doors = []
    for row in (c - gap, c + gap) if gap else (c,):
        ok = np.flatnonzero((view[row - 1, lo : hi + 1] == _FLOOR) & (view[row + 1, lo : hi + 1] == _FLOOR))
        if not len(ok):  # not seen with 3-cell rooms; _connect would still join the house
            continue
        picks = rng.choice(ok, 1 + int(gap and len(ok) > 4 and rng.random() < 0.5), replace=False)
        for k in picks:
            view[row, lo + k] = _OPEN if rng.random() < 0.3 else _DOOR
            doors.append((row, lo + int(k)) if axis == 0 else (lo + int(k), row))
    return doors


def _garden(codes: np.ndarray, rng: np.random.Generator, bottom: int) -> Cell:
    """Grass strip below the building: a front door, a path out of it, some trees."""
    n = len(codes)
    codes[bottom + 1 : n - 1, 1 : n - 1] = _GRASS
    xs = np.flatnonzero(codes[bottom - 1, 1 : n - 1] == _FLOOR) + 1
    x = int(rng.choice(xs))
    codes[bottom, x] = _OPEN if rng.random() < 0.3 else _DOOR
    codes[bottom + 1 : n - 1, x] = _PATH
    _trees(codes, rng, rng.uniform(0.08, 0.25))
    walkway = codes[bottom + 1]  # a clear row along the house keeps the garden in one piece
    walkway[walkway == _TREE] = _GRASS
    return bottom, x


def _kitchen(codes: np.ndarray, rng: np.random.Generator, leaves: list[Rect]) -> None:
    """A run of 2-4 counters along one wall of one room, clear of every doorway."""
    near_door = dilate(_IS_DOOR[codes])
    for room in rng.permutation(len(leaves)):
        y0, x0, y1, x1 = leaves[room]
        ys, xs = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
        side, end = int(rng.integers(2)), (0, -1)[int(rng.integers(2))]
        ys, xs = (ys[end], xs[end]) if side == 0 else (ys[:, end], xs[:, end])
        length = int(rng.integers(2, 5))
        free = np.convolve(~near_door[ys, xs], np.ones(length), "valid") == length
        if free.any():
            start = int(rng.choice(np.flatnonzero(free)))
            codes[ys[start : start + length], xs[start : start + length]] = _COUNTER
            return


def _lock(
    codes: np.ndarray, rng: np.random.Generator, doors: list[Cell]
) -> tuple[np.ndarray | None, np.ndarray | None, int | None]:
    """Turn a door that cuts the house in two into a coloured one; the smaller part is
    behind it. Returns (user side, behind, key code), or Nones if no door qualified."""
    for i in rng.permutation(len(doors))[:4]:
        y, x = doors[i]
        vertical = _PASSABLE[codes[y - 1, x]] and _PASSABLE[codes[y + 1, x]]
        a, b = ((y - 1, x), (y + 1, x)) if vertical else ((y, x - 1), (y, x + 1))
        passable = _passable(codes)
        passable[y, x] = False
        labels, _ = _components(passable)
        if labels[a] == labels[b]:
            continue
        side_a, side_b = labels == labels[a], labels == labels[b]
        front, behind = (side_b, side_a) if side_a.sum() < side_b.sum() else (side_a, side_b)
        colour = COLOURS[int(rng.integers(len(COLOURS)))]
        codes[y, x] = CATALOG.tile_code(f"door_{colour}")
        return front, behind, CATALOG.item_code(f"{colour}_key")
    return None, None, None


def _village(rng: np.random.Generator, n: int) -> np.ndarray:
    """Grass, water, small houses, a market stall with its merchant, roads between them."""
    codes = np.full((n, n), _WALL, dtype=np.int64)
    codes[1:-1, 1:-1] = _GRASS
    _water(codes, rng)
    hub = _market(codes, rng)
    fronts = _houses(codes, rng, int(rng.integers(2, 2 + n // 8)))
    if rng.random() < 0.6:  # a road leaving the village
        fronts.append((1, int(rng.integers(2, n - 2))))
    if hub is None:  # no room for a stall: the roads meet on any grass cell
        cells = np.argwhere(codes == _GRASS)
        y, x = cells[int(rng.integers(len(cells)))]
        hub = int(y), int(x)
    _roads(codes, rng, hub, fronts)
    _trees(codes, rng, rng.uniform(0.03, 0.12))
    _connect(codes, rng, _PATH, _TREE)
    npcs = [int(rng.choice([_CRITTER, _GUARD, _THIEF]))] if rng.random() < 0.5 else []
    _spawn(codes, rng, npcs)
    return codes


def _water(codes: np.ndarray, rng: np.random.Generator) -> None:
    """A meandering river across the map (roads must bridge it) or a pond."""
    n = len(codes)
    cols = np.arange(n)
    if rng.random() < 0.45:
        x = np.clip(int(rng.integers(n // 4, 3 * n // 4)) + np.cumsum(rng.integers(-1, 2, n)), 2, n - 4)
        width = 1 + (rng.random(n) < 0.4)
        water = (cols >= x[:, None]) & (cols < (x + width)[:, None])
    else:
        water = _ellipse(n, rng.integers(3, n - 3, 2), rng.uniform(1.2, 1.2 + n / 8, 2))
    codes[water & (codes == _GRASS)] = _WATER


def _spot(codes: np.ndarray, rng: np.random.Generator, h: int, w: int) -> Cell | None:
    """Top-left of a random ``h`` x ``w`` window that is all grass (so never touching the
    border wall), or None. One summed-area table replaces a rejection-sampling loop."""
    bad = np.zeros((len(codes) + 1, len(codes) + 1), dtype=np.int32)
    bad[1:, 1:] = (codes != _GRASS).cumsum(0).cumsum(1)
    sums = bad[h:, w:] - bad[:-h, w:] - bad[h:, :-w] + bad[:-h, :-w]
    ok = np.flatnonzero(sums == 0)
    if not len(ok):
        return None
    y, x = divmod(int(ok[int(rng.integers(len(ok)))]), sums.shape[1])
    return y, x


def _market(codes: np.ndarray, rng: np.random.Generator) -> Cell | None:
    """A 2-3 cell counter with the merchant behind it and a paved square in front; returns
    the square cell roads lead to, or None if no dry spot was found."""
    length = int(rng.integers(2, 4))
    spot = _spot(codes, rng, 5, length + 2)
    if spot is None:
        return None
    y, x = spot[0] + 2, spot[1] + 1  # the counter's first cell
    codes[y, x : x + length] = _COUNTER
    codes[y - 1, x + int(rng.integers(length))] = _MERCHANT
    codes[y + 1 : y + 3, x - 1 : x + length + 1] = _PATH
    return y + 1, x + length // 2


def _houses(codes: np.ndarray, rng: np.random.Generator, count: int) -> list[Cell]:
    """Up to ``count`` small walled houses on dry grass, a free cell around each; returns the
    cells in front of their doors."""
    fronts: list[Cell] = []
    for _ in range(2 * count):
        if len(fronts) == count:
            break
        h, w = (int(v) for v in rng.integers(4, 6 + len(codes) // 16, 2))
        spot = _spot(codes, rng, h + 2, w + 2)
        if spot is None:
            if h == w == 4:  # not even the smallest house fits
                break
            continue
        y, x = spot[0] + 1, spot[1] + 1
        codes[y : y + h, x : x + w] = _WALL
        codes[y + 1 : y + h - 1, x + 1 : x + w - 1] = _FLOOR
        side, out = int(rng.integers(2)), (-1, 1)[int(rng.integers(2))]
        k = int(rng.integers(1, (w, h)[side] - 1))  # not a corner
        if side == 0:  # top or bottom wall
            row = y if out < 0 else y + h - 1
            door, front = (row, x + k), (row + out, x + k)
        else:
            col = x if out < 0 else x + w - 1
            door, front = (y + k, col), (y + k, col + out)
        codes[door] = _OPEN if rng.random() < 0.3 else _DOOR
        fronts.append(front)
    return fronts


def _roads(codes: np.ndarray, rng: np.random.Generator, hub: Cell, ends: list[Cell]) -> None:
    """Pave the cheapest routes from ``hub`` to each end. Noisy grass costs make roads wind,
    and water is dear, so bridges appear only where a river is in the way."""
    n = len(codes)
    cost = np.where(codes == _GRASS, 2.0 + 2.0 * rng.random(codes.shape), 0.0)
    cost[codes == _PATH] = 1.0
    cost[codes == _WATER] = 12.0
    cost[[0, -1], :] = cost[:, [0, -1]] = 0.0
    flat = cost.ravel().tolist()
    targets = {y * n + x for y, x in ends}
    source = hub[0] * n + hub[1]
    parent, dist, heap = [-1] * len(flat), [np.inf] * len(flat), [(0.0, source)]
    dist[source] = 0.0
    while heap and targets:
        d, i = heapq.heappop(heap)
        if d > dist[i]:
            continue
        targets.discard(i)
        for j in (i - 1, i + 1, i - n, i + n):
            nd = d + flat[j]
            if flat[j] > 0 and nd < dist[j]:
                dist[j], parent[j] = nd, i
                heapq.heappush(heap, (nd, j))
    for y, x in ends:
        i = y * n + x
        while i != source and parent[i] >= 0:
            codes.flat[i] = _PATH
            i = parent[i]


def _trees(codes: np.ndarray, rng: np.random.Generator, density: float) -> None:
    """Scattered trees plus small clumps on open grass, never beside a door or a spawn."""
    shape = codes.shape
    ok = (codes == _GRASS) & ~dilate(_IS_DOOR[codes] | _IS_SPAWN[codes])
    clumps = dilate(rng.random(shape) < density / 4) & (rng.random(shape) < 0.5)
    codes[ok & ((rng.random(shape) < density) | clumps)] = _TREE


def _cave(rng: np.random.Generator, n: int) -> np.ndarray:
    """A cellular-automaton cave (floor / wall) or forest (grass / trees) with a pool and
    wolves or rabbits."""
    forest = rng.random() < 0.5
    ground, block = (_GRASS, _TREE) if forest else (_FLOOR, _WALL)
    fill, steps = rng.uniform(0.36, 0.44) if forest else rng.uniform(0.41, 0.48), int(rng.integers(2, 5))
    for _ in range(5):  # too little open ground leaves no room for spawns and regions
        solid = _automaton(rng, n, fill, steps)
        if (~solid).sum() >= 0.45 * (n - 2) ** 2:
            break
        fill -= 0.03
    codes = np.where(solid, block, ground)
    codes[[0, -1], :] = codes[:, [0, -1]] = _WALL
    if forest:
        _trees(codes, rng, 0.04)
    _connect(codes, rng, ground, block)
    _pool(codes, rng, ground)
    _connect(codes, rng, ground, block)  # the pool may have cut a passage
    npcs = [_CRITTER if forest and rng.random() < 0.7 else _CHASER for _ in range(int(rng.integers(1, 3)))]
    _spawn(codes, rng, npcs)
    return codes


def _automaton(rng: np.random.Generator, n: int, fill: float, steps: int) -> np.ndarray:
    """Random rock at density ``fill``, then 3x3 majority smoothing: noise becomes blobby
    caverns and winding tunnels. Returns the solid mask (border always solid)."""
    solid = rng.random((n, n)) < fill
    for _ in range(steps):
        solid[[0, -1], :] = solid[:, [0, -1]] = True
        padded = np.pad(solid, 1, constant_values=True).astype(np.int8)
        solid = np.sum([padded[dy : dy + n, dx : dx + n] for dy in range(3) for dx in range(3)], axis=0) >= 5
    solid[[0, -1], :] = solid[:, [0, -1]] = True
    return solid


def _pool(codes: np.ndarray, rng: np.random.Generator, ground: int) -> None:
    """A small elliptical pool of water on open ground."""
    n = len(codes)
    cells = np.argwhere(codes[2:-2, 2:-2] == ground) + 2
    if not len(cells):
        return
    water = _ellipse(n, cells[int(rng.integers(len(cells)))], rng.uniform(0.8, 1.0 + n / 10, 2))
    codes[water & (codes == ground)] = _WATER


def _ellipse(n: int, centre: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Mask of the cells of an n x n grid inside an axis-aligned ellipse (ponds, pools)."""
    cols = np.arange(n)
    return ((cols[:, None] - centre[0]) / radii[0]) ** 2 + ((cols - centre[1]) / radii[1]) ** 2 <= 1


_BUILDERS = {"house": _house, "village": _village, "cave": _cave}
