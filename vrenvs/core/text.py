"""Worlds as ASCII, in the scene glyphs: actors over items over tiles.

Used by rule tests (a failing test prints the map) and handy in a debugger.
"""

from __future__ import annotations

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.state import TaskConfig, WorldState

__all__ = ["world_ascii"]

_TILE = np.array([t.glyph for t in CATALOG.tiles])
_ITEM = np.array([" "] + [i.glyph for i in CATALOG.items])
_ROLE = np.array([" "] + [r.glyph for r in CATALOG.roles])


def world_ascii(state: WorldState, config: TaskConfig, b: int = 0) -> str:
    """World ``b`` without its padding, one glyph per cell."""
    m, n = config.margin, config.size
    inner = (b, slice(m, m + n), slice(m, m + n))
    grid = _TILE[state.tiles[inner]]
    items = state.items[inner]
    grid = np.where(items > 0, _ITEM[items], grid)
    role_of = config.occupant_roles()
    occupant = role_of[state.occupant[inner].astype(np.int64)]
    grid = np.where(occupant > 0, _ROLE[occupant], grid)
    return "\n".join("".join(row) for row in grid)
