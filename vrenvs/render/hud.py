"""What the overlays and the window panel say: scene captions, status lines, the badge
legend, and the assistant's planned path (cells to mark, see :func:`vrenvs.render.frames`).

Pure numpy and strings, no pygame: recordings use the same captions as the window.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vrenvs.core.grid import DELTAS, UNREACHED, distance_field
from vrenvs.core.language import spoken
from vrenvs.core.navigation import heading, keys_to_fetch, passable
from vrenvs.core.state import TaskConfig, WorldState
from vrenvs.core.tasks import objective_of
from vrenvs.render.draw import BADGES

__all__ = ["caption", "legend", "planned_path", "status_lines"]


def caption(identity: dict[str, Any]) -> str:
    """Short scene identity, e.g. ``procedural #81 cave`` or ``designer #3 greenhouse s5``.

    ``num_scenes=1, start_scene=<index>`` replays the scene (see the env docs).
    """
    parts = [str(identity.get("source", "scene"))]
    if "index" in identity:
        parts.append(f"#{identity['index']}")
    for key in ("style", "scene"):
        if identity.get(key):
            parts.append(str(identity[key]))
    if identity.get("symmetry"):
        parts.append(f"s{identity['symmetry']}")
    return " ".join(parts)


def legend() -> list[str]:
    """Panel lines explaining the NPC badges."""
    shown = [f"{letter} {mode}" for mode, (letter, _) in BADGES.items() if mode != "caught"]
    return ["# Badges"] + [f"~ {a:<14}{b}" for a, b in zip(shown[::2], [*shown[1::2], ""])]


def status_lines(state: WorldState, config: TaskConfig, identity: dict[str, Any], b: int = 0) -> list[str]:
    """Request, counters and scene of world ``b``, for the window panel."""
    goal = objective_of(config)
    said = spoken(state.req_tokens[b]) or "(no request)"
    return [
        "# Request",
        said if goal.SERVES_USER else f"({goal.NAME})",
        f"step {int(state.t[b])}  {goal.status(state, config, b)}",
        f"~ {caption(identity)}",
    ]


def planned_path(state: WorldState, config: TaskConfig, slot: int, limit: int = 64) -> np.ndarray:
    """``(B, Hp, Wp)`` bool: shortest route from ``slot`` to what the current job needs.

    The cells the oracle heads for (:func:`vrenvs.core.navigation.heading`: the wanted
    item, then the user; the region's centre; the named door), or a key when locked doors
    bar the way, walked down a BFS distance field over the same passable cells. Empty where
    nothing is requested or nothing can be reached.
    """
    worlds = np.arange(state.batch)
    where = passable(state, worlds, slot)
    field = distance_field(heading(state, config, slot), where)
    # out of reach behind locked doors: the way to a key first, as the oracle goes
    here = state.pos[:, slot].astype(np.intp)
    barred = np.flatnonzero(field[worlds, here[:, 0], here[:, 1]] >= UNREACHED)
    if len(barred):
        field[barred] = distance_field(keys_to_fetch(state, barred, slot), where[barred])
    rows = worlds
    path = np.zeros(state.tiles.shape, bool)
    for _ in range(limit):
        dist = field[rows, here[:, 0], here[:, 1]].astype(np.int32)
        going = (dist > 0) & (dist < UNREACHED) & state.active[:, slot] & (state.req_type > 0)
        if not going.any():
            break
        near = here[:, None, :] + DELTAS[1:][None]  # (B, 4, 2)
        step = field[rows[:, None], near[..., 0], near[..., 1]].argmin(axis=1)
        here = np.where(going[:, None], near[rows, step], here)
        path[rows[going], here[going, 0], here[going, 1]] = True
    return path
