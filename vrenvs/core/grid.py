"""Batched grid primitives on ``(..., H, W)`` arrays: dilation, flood fill, BFS distances.

Every function works on any number of leading axes, so one call serves a whole batch of
worlds. Movement is 4-connected throughout the suite.
"""

from __future__ import annotations

import numpy as np

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


def dilate(mask: np.ndarray) -> np.ndarray:
    """``mask`` grown by one cell in the 4 directions (cells outside the grid stay off)."""
    out = mask.copy()
    out[..., 1:, :] |= mask[..., :-1, :]
    out[..., :-1, :] |= mask[..., 1:, :]
    out[..., :, 1:] |= mask[..., :, :-1]
    out[..., :, :-1] |= mask[..., :, 1:]
    return out


def _pack(mask: np.ndarray) -> np.ndarray:
    """``(..., H, W)`` bool, W <= 64 -> ``(..., H)`` uint64 rows, bit x = column x."""
    width = mask.shape[-1]
    padded = np.zeros((*mask.shape[:-1], 64), dtype=bool)
    padded[..., :width] = mask
    return np.packbits(padded, axis=-1, bitorder="little").view("<u8")[..., 0]


def _unpack(rows: np.ndarray, width: int) -> np.ndarray:
    as_bytes = rows[..., None].astype("<u8").view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1, bitorder="little")[..., :width].astype(bool)


def flood(seed: np.ndarray, passable: np.ndarray) -> np.ndarray:
    """Cells of ``passable`` 4-connected to ``seed`` (seed cells count only if passable).

    Grids up to 64 wide are flooded as bitboards (one uint64 per row), which makes a step
    of the fill a handful of integer operations per row instead of per cell.
    """
    if passable.shape[-1] > 64:
        return _flood_cells(seed & passable, passable)
    one = np.uint64(1)
    allowed = _pack(passable)
    reach = _pack(seed) & allowed
    while True:
        grown = _grow_rows(reach, reach | (reach << one) | (reach >> one)) & allowed
        if np.array_equal(grown, reach):
            return _unpack(reach, passable.shape[-1])
        reach = grown


def _grow_rows(reach: np.ndarray, grown: np.ndarray) -> np.ndarray:
    """Add the rows above and below to ``grown`` (``(..., H)`` bitboards)."""
    grown[..., 1:] |= reach[..., :-1]
    grown[..., :-1] |= reach[..., 1:]
    return grown


def _flood_cells(reach: np.ndarray, passable: np.ndarray) -> np.ndarray:
    while True:
        grown = dilate(reach) & passable
        if np.array_equal(grown, reach):
            return reach
        reach = grown


def distance_field(targets: np.ndarray, passable: np.ndarray, limit: int | None = None) -> np.ndarray:
    """BFS steps from every cell to the nearest target through ``passable`` cells.

    Target cells have distance 0 even if not passable (an actor can walk *towards* a
    counter). Unreached cells hold :data:`UNREACHED`. ``limit`` stops the search early.
    """
    dist = np.full(targets.shape, UNREACHED, dtype=np.int16)
    frontier = targets.copy()
    seen = targets.copy()
    dist[frontier] = 0
    step = 0
    while frontier.any() and (limit is None or step < limit):
        step += 1
        frontier = dilate(frontier) & passable & ~seen
        seen |= frontier
        dist[frontier] = step
    return dist


def distances_at(targets: np.ndarray, passable: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """BFS steps to the nearest target, read only at ``queries`` ``(N, Q, 2)`` cells of the
    ``(N, H, W)`` grids: ``(N, Q)`` int16, :data:`UNREACHED` where no path leads.

    The same distances as :func:`distance_field`, found by a bitboard BFS that stops as
    soon as every query cell is reached, for callers that need a few cells, not the field.
    """
    n, _, w = targets.shape
    if w > 64:
        field = distance_field(targets, passable)
        return field[np.arange(n)[:, None], queries[..., 0], queries[..., 1]]
    one = np.uint64(1)
    rows = np.arange(n)[:, None]
    qy, qbit = queries[..., 0], np.left_shift(one, queries[..., 1].astype(np.uint64))
    allowed = _pack(passable)
    seen = _pack(targets)
    frontier = seen.copy()
    out = np.full(queries.shape[:2], UNREACHED, dtype=np.int16)
    step = 0
    while True:
        hit = ((frontier[rows, qy] & qbit) != 0) & (out == UNREACHED)
        out[hit] = step
        if not frontier.any() or (out < UNREACHED).all():
            return out
        step += 1
        grown = _grow_rows(frontier, frontier | (frontier << one) | (frontier >> one))
        frontier = grown & allowed & ~seen
        seen |= frontier


def label_components(mask: np.ndarray) -> np.ndarray:
    """4-connected component labels of ``mask`` (``(..., H, W)``): -1 off, else the smallest
    flat index (within its grid) in the component, so labels are canonical for equal masks."""
    h, w = mask.shape[-2:]
    big = h * w
    labels = np.where(mask, np.arange(big).reshape(h, w), big)
    while True:
        nxt = labels.copy()
        np.minimum(nxt[..., 1:, :], labels[..., :-1, :], out=nxt[..., 1:, :])
        np.minimum(nxt[..., :-1, :], labels[..., 1:, :], out=nxt[..., :-1, :])
        np.minimum(nxt[..., :, 1:], labels[..., :, :-1], out=nxt[..., :, 1:])
        np.minimum(nxt[..., :, :-1], labels[..., :, 1:], out=nxt[..., :, :-1])
        nxt = np.where(mask, nxt, big)
        if np.array_equal(nxt, labels):
            return np.where(mask, labels, -1)
        labels = nxt


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
    ``limit`` cells: :func:`component_sizes` below ``limit``, without labelling every component.

    Minimum-label spreading for ``limit - 2`` steps settles every component of fewer than
    ``limit`` cells (its diameter is at most ``limit - 2``). A group of cells then sharing a
    label lies in one component, and it is that whole component exactly when no cell of the
    group touches a ``mask`` cell of another label; such a closed group of fewer than
    ``limit`` cells is a small component, and every small component is one.
    """
    h, w = mask.shape[-2:]
    flat = mask.reshape(-1, h, w)
    n, cells = len(flat), h * w
    if limit <= 1 or not n:
        return np.zeros(mask.shape, dtype=bool)
    labels = np.where(flat, np.arange(cells, dtype=np.int32).reshape(h, w), np.int32(cells))
    for _ in range(limit - 2):
        nxt = labels.copy()
        np.minimum(nxt[:, 1:, :], labels[:, :-1, :], out=nxt[:, 1:, :])
        np.minimum(nxt[:, :-1, :], labels[:, 1:, :], out=nxt[:, :-1, :])
        np.minimum(nxt[:, :, 1:], labels[:, :, :-1], out=nxt[:, :, 1:])
        np.minimum(nxt[:, :, :-1], labels[:, :, 1:], out=nxt[:, :, :-1])
        labels = np.where(flat, nxt, np.int32(cells))
    # Off cells hold the label `cells`, so a differing neighbour label means an open edge.
    edge_v = flat[:, 1:, :] & flat[:, :-1, :] & (labels[:, 1:, :] != labels[:, :-1, :])
    edge_h = flat[:, :, 1:] & flat[:, :, :-1] & (labels[:, :, 1:] != labels[:, :, :-1])
    touching = np.zeros_like(flat)
    touching[:, 1:, :] |= edge_v
    touching[:, :-1, :] |= edge_v
    touching[:, :, 1:] |= edge_h
    touching[:, :, :-1] |= edge_h
    group = np.where(flat, labels + (np.arange(n, dtype=np.int64) * cells)[:, None, None], n * cells)
    counts = np.bincount(group.ravel(), minlength=n * cells + 1)
    opened = np.zeros(n * cells + 1, dtype=bool)
    opened[group[touching]] = True
    return (flat & (counts[group] < limit) & ~opened[group]).reshape(mask.shape)
