"""Batched grid primitives on ``(..., H, W)`` arrays: dilation, flood fill, BFS distances,
connected components.

Every function works on any number of leading axes, so one call serves a whole batch of
worlds. Movement is 4-connected throughout the suite. The searches are compiled kernels
(:mod:`vrenvs.core.jit`): a queue-based breadth-first search per grid, which visits each cell
once, where whole-array numpy versions had to sweep every grid once per step of distance.
"""

from __future__ import annotations

import numpy as np

from vrenvs.core.jit import kernel

__all__ = [
    "DELTAS",
    "UNREACHED",
    "component_sizes",
    "dilate",
    "distance_field",
    "distances_at",
    "flood",
    "label_components",
    "small_components",
]

# (dy, dx) for the actions up, right, down, left; index 0 is "stay".
DELTAS = np.array([(0, 0), (-1, 0), (0, 1), (1, 0), (0, -1)], dtype=np.int16)
UNREACHED = np.iinfo(np.int16).max
_DY, _DX = (-1, 0, 1, 0), (0, 1, 0, -1)  # up, right, down, left, as constants of the kernels


def dilate(mask: np.ndarray) -> np.ndarray:
    """``mask`` grown by one cell in the 4 directions (cells outside the grid stay off)."""
    out = mask.copy()
    out[..., 1:, :] |= mask[..., :-1, :]
    out[..., :-1, :] |= mask[..., 1:, :]
    out[..., :, 1:] |= mask[..., :, :-1]
    out[..., :, :-1] |= mask[..., :, 1:]
    return out


def _grids(mask: np.ndarray) -> np.ndarray:
    """``(..., H, W)`` -> C-contiguous ``(N, H, W)`` bool (a view when it already is one)."""
    return np.ascontiguousarray(mask, dtype=bool).reshape(-1, *mask.shape[-2:])


@kernel
def _search(
    targets: np.ndarray, passable: np.ndarray, limit: int, want: np.ndarray, dist: np.ndarray
) -> None:
    """Breadth-first search of grid ``g`` of ``targets``/``passable`` into ``dist`` (``(N, H,
    W)`` int16, :data:`UNREACHED` where not reached). Target cells are at 0 whether passable or
    not, and spread; other cells are entered when passable. Cells at ``limit`` do not spread.
    ``want`` (``(N, H, W)`` int32): how many queries wait on each cell; when it is not empty,
    a grid's search stops once every waiting cell has its distance."""
    n, h, w = targets.shape
    queue = np.empty(h * w, np.int32)
    early = want.shape[0] == n
    for g in range(n):
        waiting = 0
        if early:
            for y in range(h):
                for x in range(w):
                    waiting += want[g, y, x]
        tail = 0
        for y in range(h):
            for x in range(w):
                if targets[g, y, x]:
                    dist[g, y, x] = 0
                    queue[tail] = y * w + x
                    tail += 1
                    if early:
                        waiting -= want[g, y, x]
                else:
                    dist[g, y, x] = UNREACHED
        head = 0
        while head < tail and not (early and waiting == 0):
            cell = queue[head]
            head += 1
            y, x = cell // w, cell % w
            d = dist[g, y, x]
            if d >= limit:
                continue
            for k in range(4):
                ny, nx = y + _DY[k], x + _DX[k]
                if 0 <= ny < h and 0 <= nx < w and passable[g, ny, nx] and dist[g, ny, nx] == UNREACHED:
                    dist[g, ny, nx] = d + 1
                    queue[tail] = ny * w + nx
                    tail += 1
                    if early:
                        waiting -= want[g, ny, nx]


_NO_WANT = np.zeros((0, 0, 0), np.int32)


def flood(seed: np.ndarray, passable: np.ndarray) -> np.ndarray:
    """Cells of ``passable`` 4-connected to ``seed`` (seed cells count only if passable)."""
    where = _grids(passable)
    dist = np.empty(where.shape, np.int16)
    _search(_grids(seed) & where, where, UNREACHED, _NO_WANT, dist)
    return (dist < UNREACHED).reshape(passable.shape)


def distance_field(targets: np.ndarray, passable: np.ndarray, limit: int | None = None) -> np.ndarray:
    """BFS steps from every cell to the nearest target through ``passable`` cells.

    Target cells have distance 0 even if not passable (an actor can walk *towards* a
    counter). Unreached cells hold :data:`UNREACHED`. ``limit`` stops the search early:
    cells farther than ``limit`` steps read :data:`UNREACHED`.
    """
    dist = np.empty((int(np.prod(targets.shape[:-2], dtype=np.int64)), *targets.shape[-2:]), np.int16)
    _search(_grids(targets), _grids(passable), UNREACHED if limit is None else limit, _NO_WANT, dist)
    return dist.reshape(targets.shape)


def distances_at(targets: np.ndarray, passable: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """BFS steps to the nearest target, read only at ``queries`` ``(N, Q, 2)`` cells of the
    ``(N, H, W)`` grids: ``(N, Q)`` int16, :data:`UNREACHED` where no path leads.

    The same distances as :func:`distance_field`; each grid's search stops as soon as every
    query cell is reached.
    """
    n, h, w = targets.shape
    ys, xs = queries[..., 0], queries[..., 1]
    if queries.size and (ys.min() < 0 or xs.min() < 0 or ys.max() >= h or xs.max() >= w):
        raise ValueError(f"query cells outside the {h}x{w} grids: {queries.reshape(-1, 2).tolist()}")
    rows = np.arange(n)[:, None]
    want = np.zeros((n, h, w), np.int32)
    np.add.at(want, (np.broadcast_to(rows, ys.shape), ys, xs), 1)
    dist = np.empty((n, h, w), np.int16)
    _search(_grids(targets), _grids(passable), UNREACHED, want, dist)
    return dist[rows, ys, xs]


@kernel
def _label(mask: np.ndarray, labels: np.ndarray) -> None:
    n, h, w = mask.shape
    queue = np.empty(h * w, np.int32)
    for g in range(n):
        for y in range(h):
            for x in range(w):
                labels[g, y, x] = -1
        for start in range(h * w):  # flat order: a component's first cell is its smallest
            if not mask[g, start // w, start % w] or labels[g, start // w, start % w] >= 0:
                continue
            labels[g, start // w, start % w] = start
            queue[0] = start
            head, tail = 0, 1
            while head < tail:
                cell = queue[head]
                head += 1
                y, x = cell // w, cell % w
                for k in range(4):
                    ny, nx = y + _DY[k], x + _DX[k]
                    if 0 <= ny < h and 0 <= nx < w and mask[g, ny, nx] and labels[g, ny, nx] < 0:
                        labels[g, ny, nx] = start
                        queue[tail] = ny * w + nx
                        tail += 1


def label_components(mask: np.ndarray) -> np.ndarray:
    """4-connected component labels of ``mask`` (``(..., H, W)``): -1 off, else the smallest
    flat index (within its grid) in the component, so labels are canonical for equal masks."""
    grids = _grids(mask)
    labels = np.empty(grids.shape, np.int64)
    _label(grids, labels)
    return labels.reshape(mask.shape)


def component_sizes(labels: np.ndarray) -> np.ndarray:
    """For labels from :func:`label_components` (``(N, H, W)``), the size of each cell's
    component (0 where off)."""
    n, h, w = labels.shape
    offset = (np.arange(n) * (h * w))[:, None, None]
    flat = np.where(labels >= 0, labels + offset, n * h * w)
    counts = np.bincount(flat.ravel(), minlength=n * h * w + 1)
    return np.where(labels >= 0, counts[flat], 0)


def small_components(mask: np.ndarray, limit: int) -> np.ndarray:
    """Cells of ``mask`` (``(..., H, W)``) whose 4-connected component has fewer than
    ``limit`` cells."""
    grids = _grids(mask)
    if limit <= 1 or not len(grids):
        return np.zeros(mask.shape, dtype=bool)
    return (grids & (component_sizes(label_components(grids)) < limit)).reshape(mask.shape)
