"""Observations of one actor slot, for the whole batch.

- ``view``: ``(B, 3 * k * k)`` int64, the egocentric window centred on the actor (not
  rotated), flattened from ``(3, k, k)``: layer 0 tile ids, layer 1 item ids (0 none),
  layer 2 actor role ids (0 none). Cells past the map edge read as wall.
- ``full`` mode replaces the window with the whole map (``k`` = map size).
- ``request``: ``(B, L)`` int64 token ids of the pending request (or the task phrase).
- ``inventory``: ``(B,)`` int64 carried item id.
- ``scalars``: ``(B, 7)`` float32 in [0, 1]: row and column of the actor, the request's age
  over the user's patience, and the facing direction one-hot (up, right, down, left).
"""

from __future__ import annotations

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.jit import kernel
from vrenvs.core.language import MAX_TOKENS
from vrenvs.core.state import TaskConfig, WorldState

__all__ = ["NUM_SCALARS", "layer_highs", "observe"]

NUM_SCALARS = 7


def layer_highs() -> np.ndarray:
    """Largest id of each view layer: tiles, items, roles."""
    return np.array([CATALOG.num_tiles - 1, CATALOG.num_items, CATALOG.num_roles], dtype=np.int16)


def _views(tiles, items, occupant, pos, slot, radius, top, side, occupant_roles, view):  # fmt: skip
    """Fill ``view`` ``(B, 3 * k * k)``: the window of ``radius`` around ``slot`` (``radius``
    < 0: the ``side`` x ``side`` map from ``top``), layer by layer."""
    for b in range(view.shape[0]):
        if radius >= 0:
            y0, x0, k = pos[b, slot, 0] - radius, pos[b, slot, 1] - radius, 2 * radius + 1
        else:
            y0, x0, k = top, top, side
        cells = k * k
        for dy in range(k):
            for dx in range(k):
                y, x, c = y0 + dy, x0 + dx, dy * k + dx
                view[b, c] = tiles[b, y, x]
                view[b, cells + c] = items[b, y, x]
                view[b, 2 * cells + c] = occupant_roles[occupant[b, y, x]]


_views = kernel(_views)


def _scalars(pos, slot, margin, size, req_age, patience, facing, out):  # fmt: skip
    scale = max(size - 1, 1)
    for b in range(out.shape[0]):
        out[b, 0] = (pos[b, slot, 0] - margin) / scale
        out[b, 1] = (pos[b, slot, 1] - margin) / scale
        out[b, 2] = min(max(req_age[b] / max(patience[b], 1), 0.0), 1.0)
        out[b, 2 + facing[b, slot]] = 1.0


_scalars = kernel(_scalars)


def observe(
    state: WorldState, config: TaskConfig, slot: int, full: bool, phrase: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """The observation dict of ``slot`` in every world (fresh arrays)."""
    cells = config.size**2 if full else config.view**2
    view = np.empty((state.batch, 3 * cells), np.int64)
    radius = -1 if full else config.view // 2
    _views(
        state.tiles, state.items, state.occupant, state.pos, slot, radius, config.margin, config.size,
        config.occupant_roles(), view,
    )  # fmt: skip
    if phrase is None:
        tokens = state.req_tokens.astype(np.int64)
    else:
        tokens = np.broadcast_to(phrase, (state.batch, MAX_TOKENS)).astype(np.int64)
    scalars = np.zeros((state.batch, NUM_SCALARS), np.float32)
    _scalars(
        state.pos, slot, config.margin, config.size, state.req_age, state.patience, state.facing, scalars
    )
    return {
        "view": view,
        "request": tokens,
        "inventory": state.carry[:, slot].astype(np.int64),
        "scalars": scalars,
    }
