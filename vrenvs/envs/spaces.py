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
    "code_classes",
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
    ``side x side`` in row-major order (:func:`view_grid` gives ``(3, side, side)``), and
    ``request`` a ``MultiDiscrete`` of token ids: categorical codes, declared as such.
    stable-baselines3's ``MultiInputPolicy`` one-hot encodes them (one entry at a time, which
    is slow); Gymnasium's ``FlattenObservation`` gives the same one-hot features as one
    ``Box`` for an ``MlpPolicy`` at a fraction of the cost. (As an integer ``Box`` SB3 would
    read the codes as floats: faster, but a plain MLP learned next to nothing from them,
    see docs/performance.md.)
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


def code_classes(space: spaces.Space) -> np.ndarray | None:
    """Classes per entry of a space of codes, flat: a ``MultiDiscrete``'s ``nvec`` (the view
    and request), or ``high + 1`` of an integer ``Box`` from 0 (the same codes as a user's
    wrapper may declare them); ``None`` for any other space."""
    if isinstance(space, spaces.MultiDiscrete):
        return np.asarray(space.nvec, np.int64).ravel()
    if (
        isinstance(space, spaces.Box)
        and np.issubdtype(space.dtype, np.integer)
        and space.is_bounded()
        and not np.any(space.low)
    ):
        return np.asarray(space.high, np.int64).ravel() + 1
    return None


def view_grid(view: np.ndarray) -> np.ndarray:
    """``(..., 3 * k * k)`` flat views back to ``(..., 3, k, k)`` layers."""
    side = round((view.shape[-1] / 3) ** 0.5)
    return view.reshape(*view.shape[:-1], 3, side, side)


def action_space() -> spaces.Discrete:
    return spaces.Discrete(len(ACTION_NAMES))
