"""Navigation: where an actor can go, which step brings it closer, and what it heads for.

One module for every walker: the scripted behaviours and the oracle
(:mod:`vrenvs.core.controllers`, :mod:`vrenvs.core.oracle`), the route sensor
(:mod:`vrenvs.core.sensors`) and the planned-path overlay (:mod:`vrenvs.render.hud`) all take
passability, steps and targets from here.

- :func:`passable`: walkable tiles, closed doors, and locked doors the carried key opens.
- :func:`step_towards`: the action that moves down (or up) a distance field, opening doors
  on the way and stepping aside when another actor blocks.
- :func:`targets`: the task's goal kinds as cell masks (see the objectives in
  :mod:`vrenvs.core.tasks`); :func:`heading`: the one the current job needs now.
"""

from __future__ import annotations

import numpy as np

from vrenvs.core import requests
from vrenvs.core.catalog import CATALOG
from vrenvs.core.grid import DELTAS, UNREACHED
from vrenvs.core.reach import base_passable
from vrenvs.core.rng import Stream, integers
from vrenvs.core.state import Action, TaskConfig, WorldState
from vrenvs.core.tasks import objective_of

__all__ = ["cells", "heading", "keys_to_fetch", "passable", "step_towards", "targets"]


def cells(state: WorldState, b: np.ndarray, cells: np.ndarray) -> np.ndarray:
    mask = np.zeros((len(b), *state.tiles.shape[1:]), bool)
    mask[np.arange(len(b)), cells[:, 0], cells[:, 1]] = True
    return mask


def passable(state: WorldState, b: np.ndarray, slot: int) -> np.ndarray:
    """Where ``slot`` can path: walkable, closed doors, and locked doors its key opens."""
    tiles = state.tiles[b]
    key = CATALOG.KEY_COLOUR[state.carry[b, slot]][:, None, None]
    return base_passable(tiles) | (CATALOG.IS_LOCKED[tiles] & (CATALOG.LOCK_COLOUR[tiles] == key))


def step_towards(
    state: WorldState,
    b: np.ndarray,
    slot: int,
    field: np.ndarray,
    away: bool = False,
    yielding: np.ndarray | None = None,
    layer: np.ndarray | None = None,
) -> np.ndarray:
    """Actions moving ``slot`` in worlds ``b`` down (or up, ``away``) the ``(n, Hp, Wp)`` field.

    With ``layer``, ``field`` is a whole ``(B, R, Hp, Wp)`` stack (such as ``state.guide``)
    read at ``[b, layer]`` without copying it.

    A closed door (or a locked one the carried key opens) on the way is faced and then
    toggled open. Cells of other actors block, except those ``yielding[occupant]`` marks
    (actors that swap places, see the move rule). 0 (noop) when no neighbour improves.
    """
    n = len(b)
    rows = np.arange(n)
    pos = state.pos[b, slot]
    near = pos[:, None, :] + DELTAS[1:][None]  # (n, 4, 2)
    if layer is None:
        value = field[rows[:, None], near[..., 0], near[..., 1]].astype(np.int32)
        here = field[rows, pos[:, 0], pos[:, 1]].astype(np.int32)
    else:
        value = field[b[:, None], layer[:, None], near[..., 0], near[..., 1]].astype(np.int32)
        here = field[b, layer, pos[:, 0], pos[:, 1]].astype(np.int32)
    tiles = state.tiles[b[:, None], near[..., 0], near[..., 1]]
    key = CATALOG.KEY_COLOUR[state.carry[b, slot]][:, None]
    openable = CATALOG.IS_CLOSED[tiles] | (CATALOG.IS_LOCKED[tiles] & (CATALOG.LOCK_COLOUR[tiles] == key))
    occupant = state.occupant[b[:, None], near[..., 0], near[..., 1]].astype(np.int64)
    solid = (occupant > 0) if yielding is None else (occupant > 0) & ~yielding[occupant]
    blocked = solid | ~(CATALOG.WALKABLE[tiles] | openable)
    if away:
        value = np.where(blocked, -1, value)
        best = value.argmax(axis=1)
        better = value[rows, best] > here
    else:
        value = np.where(blocked & (value > 0), UNREACHED, value)
        best = value.argmin(axis=1)
        better = value[rows, best] < here
    direction = np.where(better, best + 1, Action.NOOP)
    # Blocked by an actor short of the goal: step aside at random so no two actors wait on
    # each other forever in a corridor.
    stuck = ~better & (here > 0) & (here < UNREACHED) & solid.any(axis=1)
    if stuck.any():
        free = ~blocked[stuck]
        pick = integers(state.key[b[stuck]], state.t[b[stuck]] + 31 * slot, Stream.NPC, 4)[:, 0]
        order = (pick[:, None] + np.arange(4)) % 4
        first = np.take_along_axis(free, order, axis=1).argmax(axis=1)
        chosen = order[np.arange(len(order)), first]
        direction[stuck] = np.where(free.any(axis=1), chosen + 1, Action.NOOP)
    door = better & openable[rows, best]
    facing = state.facing[b, slot] == direction
    return np.where(door & facing, Action.TOGGLE, direction).astype(np.int64)


def targets(state: WorldState, config: TaskConfig, slot: int) -> list[np.ndarray]:
    """One ``(B, Hp, Wp)`` mask per goal kind of the task's objective (its ``GOALS``: for
    the assistant the wanted item, the user, the place to guide to or door to open, keys)."""
    return objective_of(config).targets(state, config, slot)


def heading(state: WorldState, config: TaskConfig, slot: int) -> np.ndarray:
    """``(B, Hp, Wp)``: the cells the current job of ``slot`` needs next. Serving: the
    wanted item, then (held) the user; the centre of the region to guide to; the door to
    open. Other objectives: their first goal kind (the thief, food)."""
    kinds = targets(state, config, slot)
    if not objective_of(config).SERVES_USER:
        return kinds[0]
    item, user, place, _ = kinds
    has = (state.req_type == requests.FETCH) & (state.carry[:, slot] == state.req_target)
    return item | (user & has[:, None, None]) | place


def keys_to_fetch(state: WorldState, b: np.ndarray, slot: int) -> np.ndarray:
    """``(n, Hp, Wp)``: keys on the ground in worlds ``b`` of another colour than the one
    ``slot`` carries (where to go when locked doors bar the way)."""
    held = CATALOG.KEY_COLOUR[state.carry[b, slot]][:, None, None]
    colour = CATALOG.KEY_COLOUR[state.items[b]]
    return (colour >= 0) & (colour != held)
