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
    "scratch",
    "search",
    "search_from",
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


def search(
    targets: np.ndarray,
    cells: np.ndarray,
    table: np.ndarray,
    limit: int,
    queries: np.ndarray,
    want: np.ndarray,
    queue: np.ndarray,
    dist: np.ndarray,
) -> None:
    """Breadth-first search of one ``(H, W)`` grid into ``dist`` (int16, :data:`UNREACHED`
    where not reached), for kernels. Target cells are at 0 whether passable or not, and
    spread; another cell is entered when ``table[cells[y, x]]``. Cells at ``limit`` do not
    spread. With ``queries`` (``(Q, 2)``, Q > 0) the search stops once every query cell it
    can reach has its distance. ``want`` (``(H, W)`` int32, zero) and ``queue`` (``H * W``
    int32) are scratch space; ``want`` is zero again on return."""
    h, w = targets.shape
    waiting = 0 if queries.shape[0] > 0 else -1  # -1: search the whole grid
    for q in range(queries.shape[0]):
        qy, qx = queries[q, 0], queries[q, 1]
        if targets[qy, qx] or table[cells[qy, qx]]:  # others are never reached
            want[qy, qx] += 1
            waiting += 1
    tail = 0
    for y in range(h):
        for x in range(w):
            if targets[y, x]:
                dist[y, x] = 0
                queue[tail] = y * w + x
                tail += 1
                waiting -= want[y, x]
            else:
                dist[y, x] = UNREACHED
    head = 0
    while head < tail and waiting != 0:
        cell = queue[head]
        head += 1
        y, x = cell // w, cell % w
        d = dist[y, x]
        if d >= limit:
            continue
        for k in range(4):
            ny, nx = y + _DY[k], x + _DX[k]
            if 0 <= ny < h and 0 <= nx < w and dist[ny, nx] == UNREACHED and table[cells[ny, nx]]:
                dist[ny, nx] = d + 1
                queue[tail] = ny * w + nx
                tail += 1
                waiting -= want[ny, nx]
    for q in range(queries.shape[0]):
        want[queries[q, 0], queries[q, 1]] = 0


search = kernel(search)


def scratch(h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Work arrays for :func:`search_from` on ``(h, w)`` grids (allocate once per kernel call,
    reuse for every search)."""
    return (
        np.zeros((h, w), np.bool_),
        np.zeros((h, w), np.int32),
        np.empty(h * w, np.int32),
        np.zeros((0, 2), np.int64),
        np.empty((h, w), np.int16),
    )


scratch = kernel(scratch)


def search_from(y: int, x: int, cells: np.ndarray, table: np.ndarray, limit: int, work: tuple) -> np.ndarray:
    """:func:`search` from the one cell ``(y, x)`` over the whole grid, for kernels; returns
    the distances (``work[4]``, overwritten by the next search with the same ``work``)."""
    goals, want, queue, none, dist = work
    goals[y, x] = True
    search(goals, cells, table, limit, none, want, queue, dist)
    goals[y, x] = False
    return dist


search_from = kernel(search_from)


def _search(
    targets: np.ndarray,
    cells: np.ndarray,
    table: np.ndarray,
    owner: np.ndarray,
    limit: int,
    queries: np.ndarray,
    dist: np.ndarray,
) -> None:
    """:func:`search` of each grid ``g`` of ``targets`` (``(N, H, W)``) into ``dist``, on
    ``cells[owner[g]]`` with ``table[owner[g]]`` (grids can share one map of cell codes and
    each walk it by its own table), with ``queries[g]``."""
    n, h, w = targets.shape
    queue = np.empty(h * w, np.int32)
    want = np.zeros((h, w), np.int32)
    for g in range(n):
        o = owner[g]
        search(targets[g], cells[o], table[o], limit, queries[g], want, queue, dist[g])


_search = kernel(_search)


_BOOL_TABLE = np.array([[False, True]])


def _walk(passable: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(cells, table, owner)`` of :func:`_search` for a boolean ``passable`` stack."""
    grids = _grids(passable)
    n = len(grids)
    return grids.view(np.uint8), np.broadcast_to(_BOOL_TABLE, (n, 2)), np.arange(n)


def _no_queries(n: int) -> np.ndarray:
    return np.zeros((n, 0, 2), np.int64)


def flood(seed: np.ndarray, passable: np.ndarray) -> np.ndarray:
    """Cells of ``passable`` 4-connected to ``seed`` (seed cells count only if passable)."""
    where = _grids(passable)
    cells, table, owner = _walk(where)
    dist = np.empty(where.shape, np.int16)
    _search(_grids(seed) & where, cells, table, owner, UNREACHED, _no_queries(len(where)), dist)
    return (dist < UNREACHED).reshape(passable.shape)


def distance_field(targets: np.ndarray, passable: np.ndarray, limit: int | None = None) -> np.ndarray:
    """BFS steps from every cell to the nearest target through ``passable`` cells.

    Target cells have distance 0 even if not passable (an actor can walk *towards* a
    counter). Unreached cells hold :data:`UNREACHED`. ``limit`` stops the search early:
    cells farther than ``limit`` steps read :data:`UNREACHED`.
    """
    goals = _grids(targets)
    dist = np.empty(goals.shape, np.int16)
    stop = UNREACHED if limit is None else limit
    _search(goals, *_walk(passable), stop, _no_queries(len(goals)), dist)
    return dist.reshape(targets.shape)


def _checked_queries(queries: np.ndarray, h: int, w: int) -> np.ndarray:
    ys, xs = queries[..., 0], queries[..., 1]
    if queries.size and (ys.min() < 0 or xs.min() < 0 or ys.max() >= h or xs.max() >= w):
        raise ValueError(f"query cells outside the {h}x{w} grids: {queries.reshape(-1, 2).tolist()}")
    return np.ascontiguousarray(queries, np.int64)


def distances_at(targets: np.ndarray, passable: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """BFS steps to the nearest target, read only at ``queries`` ``(N, Q, 2)`` cells of the
    ``(N, H, W)`` grids: ``(N, Q)`` int16, :data:`UNREACHED` where no path leads.

    The same distances as :func:`distance_field`; each grid's search stops as soon as every
    query cell is reached.
    """
    n, h, w = targets.shape
    queries = _checked_queries(queries, h, w)
    dist = np.empty((n, h, w), np.int16)
    _search(_grids(targets), *_walk(passable), UNREACHED, queries, dist)
    return dist[np.arange(n)[:, None], queries[..., 0], queries[..., 1]]


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


_label = kernel(_label)


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
