"""What the overlays and the window panel say: scene captions, status lines, the badge
legend, and the assistant's planned path (cells to mark, see :func:`vrenvs.render.frames`).

Pure numpy and strings, no pygame: recordings use the same captions as the window.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vrenvs.core import requests
from vrenvs.core.catalog import CATALOG
from vrenvs.core.grid import DELTAS, UNREACHED, distance_field
from vrenvs.core.language import detokenize
from vrenvs.core.reach import base_passable
from vrenvs.core.state import TaskConfig, WorldState
from vrenvs.render.draw import BADGES

__all__ = ["caption", "legend", "planned_path", "sentence", "status_lines"]


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


def sentence(tokens: np.ndarray) -> str:
    """Token ids -> "Please bring me the blue cup." ("" for no request)."""
    text = detokenize(tokens)
    return text[:1].upper() + text[1:] + "." if text else ""


def legend() -> list[str]:
    """Panel lines explaining the NPC badges."""
    shown = [f"{letter} {mode}" for mode, (letter, _) in BADGES.items() if mode != "caught"]
    return ["# Badges"] + [f"~ {a:<14}{b}" for a, b in zip(shown[::2], [*shown[1::2], ""])]


def status_lines(state: WorldState, config: TaskConfig, identity: dict[str, Any], b: int = 0) -> list[str]:
    """Request, counters and scene of world ``b``, for the window panel."""
    said = sentence(state.req_tokens[b]) or "(no request)"
    if config.goal == "serve":
        counts = f"served {int(state.served[b])}  failed {int(state.failed[b])}"
    elif config.goal == "flee":
        counts = f"eaten {int(state.eaten[b])}"
    else:
        counts = f"thieves left {int(state.active[b, [r == 'thief' for r in config.roles]].sum())}"
    return [
        "# Request",
        said if config.goal == "serve" else f"({config.goal})",
        f"step {int(state.t[b])}  {counts}",
        f"~ {caption(identity)}",
    ]


def _targets(state: WorldState, config: TaskConfig, slot: int) -> np.ndarray:
    """``(B, Hp, Wp)`` cells the oracle heads for in each world (none without a request)."""
    kind = state.req_type
    want = state.req_target.astype(np.int64)
    targets = np.zeros(state.tiles.shape, bool)
    user = config.slot_of("user")
    fetch = kind == requests.FETCH
    has = fetch & (state.carry[:, slot] == want)
    targets |= (fetch & ~has)[:, None, None] & (state.items == want[:, None, None])
    if user >= 0:
        b = np.flatnonzero(has)
        targets[b, state.pos[b, user, 0], state.pos[b, user, 1]] = True
    guide = np.flatnonzero(kind == requests.GUIDE)
    targets[guide] |= state.guide[guide, want[guide]] == 0
    shut = CATALOG.IS_CLOSED[state.tiles] | CATALOG.IS_LOCKED[state.tiles]
    targets |= (kind == requests.OPEN)[:, None, None] & shut & (state.door_map == want[:, None, None])
    return targets


def planned_path(state: WorldState, config: TaskConfig, slot: int, limit: int = 64) -> np.ndarray:
    """``(B, Hp, Wp)`` bool: shortest route from ``slot`` to what the current request needs.

    The same targets the oracle serves (the wanted item, then the user; the region's centre;
    the named door), walked down a BFS distance field. Empty where nothing is requested or
    the target is out of reach (e.g. behind a locked door).
    """
    field = distance_field(_targets(state, config, slot), base_passable(state.tiles))
    rows = np.arange(state.batch)
    path = np.zeros(state.tiles.shape, bool)
    here = state.pos[:, slot].astype(np.intp)
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
