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
from vrenvs.core.language import MAX_TOKENS
from vrenvs.core.state import TaskConfig, WorldState

__all__ = ["NUM_SCALARS", "layer_highs", "observe"]

NUM_SCALARS = 7


def layer_highs() -> np.ndarray:
    """Largest id of each view layer: tiles, items, roles."""
    return np.array([CATALOG.num_tiles - 1, CATALOG.num_items, CATALOG.num_roles], dtype=np.int16)


def _window_index(state: WorldState, slot: int, radius: int) -> np.ndarray:
    """``(B, k*k)`` flat indices into the raveled ``(B, Hp, Wp)`` grids of each window."""
    _, hp, wp = state.tiles.shape
    offsets = np.arange(-radius, radius + 1)
    local = (offsets[:, None] * wp + offsets[None, :]).ravel()  # (k*k,)
    centre = np.arange(state.batch) * (hp * wp) + state.pos[:, slot, 0] * wp + state.pos[:, slot, 1]
    return centre[:, None] + local[None, :]


def observe(
    state: WorldState, config: TaskConfig, slot: int, full: bool, phrase: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """The observation dict of ``slot`` in every world (fresh arrays)."""
    role_of_occupant = config.occupant_roles()
    if full:
        m = config.margin
        inner = (slice(None), slice(m, m + config.size), slice(m, m + config.size))
        layers = [grid[inner].reshape(state.batch, -1) for grid in (state.tiles, state.items, state.occupant)]
    else:
        index = _window_index(state, slot, config.view // 2)
        layers = [np.take(grid, index) for grid in (state.tiles, state.items, state.occupant)]
    cells = layers[0].shape[1]
    view = np.empty((state.batch, 3 * cells), np.int64)
    view[:, :cells] = layers[0]
    view[:, cells : 2 * cells] = layers[1]
    view[:, 2 * cells :] = role_of_occupant[layers[2]]
    if phrase is None:
        tokens = state.req_tokens.astype(np.int64)
    else:
        tokens = np.broadcast_to(phrase, (state.batch, MAX_TOKENS)).astype(np.int64)
    scalars = np.zeros((state.batch, NUM_SCALARS), np.float32)
    scalars[:, :2] = (state.pos[:, slot] - config.margin) / max(config.size - 1, 1)
    scalars[:, 2] = np.clip(state.req_age / np.maximum(state.patience, 1), 0, 1)
    scalars[np.arange(state.batch), 2 + state.facing[:, slot]] = 1.0
    return {
        "view": view,
        "request": tokens,
        "inventory": state.carry[:, slot].astype(np.int64),
        "scalars": scalars,
    }
