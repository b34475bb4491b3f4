"""Gymnasium spaces of the vrenvs observations and the validation of env arguments."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from vrenvs.core.catalog import CATALOG
from vrenvs.core.checks import check_choice, check_int
from vrenvs.core.language import MAX_TOKENS, VOCABULARY
from vrenvs.core.observe import NUM_SCALARS, layer_highs
from vrenvs.core.sensors import ROUTE_SIZE
from vrenvs.core.state import ACTION_NAMES

__all__ = [
    "MAX_NPCS",
    "NPC_ROLES",
    "OBS_MODES",
    "SIZES",
    "TILE_SIZES",
    "action_space",
    "check_choice",
    "check_int",
    "observation_space",
    "view_grid",
]

OBS_MODES = ("symbolic", "full")
SIZES = (16, 32)
NPC_ROLES = tuple(r.name for r in CATALOG.roles if r.npc)
MAX_NPCS = 6
TILE_SIZES = (4, 64)
"""Pixels per cell the renderer draws: ``tile_size`` in ``[4, 64]``."""


def observation_space(side: int, route: bool = False) -> spaces.Dict:
    """The observation of one actor; ``side`` is the view width (or the map size in full mode).

    ``view`` is a flat ``MultiDiscrete`` of the three layers (tiles, items, actors), each
    ``side x side`` in row-major order (:func:`view_grid` gives ``(3, side, side)``);
    stable-baselines3 one-hot encodes it, as it does the request tokens.
    """
    nvec = np.repeat(layer_highs().astype(np.int64) + 1, side * side)
    parts: dict[str, spaces.Space] = {
        "view": spaces.MultiDiscrete(nvec),
        "request": spaces.MultiDiscrete(np.full(MAX_TOKENS, len(VOCABULARY))),
        "inventory": spaces.Discrete(CATALOG.num_items + 1),
        "scalars": spaces.Box(0.0, 1.0, shape=(NUM_SCALARS,), dtype=np.float32),
    }
    if route:  # the route sensor, see vrenvs.core.sensors
        parts["route"] = spaces.Box(0.0, 1.0, shape=(ROUTE_SIZE,), dtype=np.float32)
    return spaces.Dict(parts)


def view_grid(view: np.ndarray) -> np.ndarray:
    """``(..., 3 * k * k)`` flat views back to ``(..., 3, k, k)`` layers."""
    side = round((view.shape[-1] / 3) ** 0.5)
    return view.reshape(*view.shape[:-1], 3, side, side)


def action_space() -> spaces.Discrete:
    return spaces.Discrete(len(ACTION_NAMES))
