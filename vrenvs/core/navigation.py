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
from vrenvs.core.jit import kernel
from vrenvs.core.rng import Stream, draw_integer
from vrenvs.core.state import Action, TaskConfig, WorldState
from vrenvs.core.tasks import objective_of

_DY, _DX = tuple(int(d) for d in DELTAS[:, 0]), tuple(int(d) for d in DELTAS[:, 1])
_NOOP, _TOGGLE, _NPC_STREAM = Action.NOOP, Action.TOGGLE, Stream.NPC

__all__ = [
    "NAV_TABLES",
    "NO_YIELDING",
    "cells",
    "heading",
    "keys_to_fetch",
    "passable",
    "passable_row",
    "passable_tiles",
    "step_towards",
    "targets",
    "towards",
]


NAV_TABLES = np.zeros((5, max(len(CATALOG.WALKABLE), len(CATALOG.KEY_COLOUR))), np.int64)
for _row, _table in enumerate(
    (CATALOG.WALKABLE, CATALOG.IS_CLOSED, CATALOG.IS_LOCKED, CATALOG.LOCK_COLOUR, CATALOG.KEY_COLOUR)
):
    NAV_TABLES[_row, : len(_table)] = _table
NAV_TABLES.setflags(write=False)
"""Rows by tile or item id, for :func:`towards`: walkable, closed door, locked door, lock
colour (tiles); key colour (items)."""
NO_YIELDING = np.zeros(256, bool)
"""``yielding`` for :func:`towards` when every other actor blocks."""


def cells(state: WorldState, b: np.ndarray, cells: np.ndarray) -> np.ndarray:
    mask = np.zeros((len(b), *state.tiles.shape[1:]), bool)
    mask[np.arange(len(b)), cells[:, 0], cells[:, 1]] = True
    return mask


def passable_row(held: int, tables: np.ndarray, out: np.ndarray) -> None:
    """``out[tile]``: can an actor carrying a key of colour ``held`` (-1: none) path through
    ``tile``? Walkable tiles, closed doors, and locked doors of that colour (``tables``:
    :data:`NAV_TABLES`)."""
    walkable, closed, locked, lock_colour = tables[0], tables[1], tables[2], tables[3]
    for tile in range(out.shape[0]):
        out[tile] = (
            walkable[tile] != 0 or closed[tile] != 0 or (locked[tile] != 0 and lock_colour[tile] == held)
        )


passable_row = kernel(passable_row)


def _passable_rows(carry: np.ndarray, slot: int, tables: np.ndarray, out: np.ndarray) -> None:
    key_colour = tables[4]
    for w in range(out.shape[0]):
        passable_row(key_colour[carry[w, slot]], tables, out[w])


_passable_rows = kernel(_passable_rows)


def passable_tiles(state: WorldState, slot: int) -> np.ndarray:
    """``(B, T)`` bool by tile id: what :func:`passable` lets ``slot`` cross in each world."""
    out = np.empty((state.batch, CATALOG.num_tiles), bool)
    _passable_rows(state.carry, slot, NAV_TABLES, out)
    return out


def passable(state: WorldState, b: np.ndarray, slot: int) -> np.ndarray:
    """Where ``slot`` can path in worlds ``b``: walkable, closed doors, and locked doors its
    key opens (:func:`passable_row`)."""
    table = passable_tiles(state, slot)[b]
    return table[np.arange(len(table))[:, None, None], state.tiles[b]]


def towards(tiles, occupant, carry, facing, pos, key, t, w, slot, field, away, yielding, tables):  # fmt: skip
    """The action of :func:`step_towards` for ``slot`` in world ``w`` on the ``(Hp, Wp)``
    ``field``, for kernels (``tables``: :data:`NAV_TABLES`)."""
    walkable, closed, locked, lock_colour, key_colour = tables[0], tables[1], tables[2], tables[3], tables[4]
    py, px = int(pos[w, slot, 0]), int(pos[w, slot, 1])
    here = int(field[py, px])
    held = key_colour[carry[w, slot]]
    crowded = False
    best, best_value, best_open = -1, 0, False
    free = 0  # bit k: the move k + 1 is not blocked
    for k in range(4):
        ny, nx = py + _DY[k + 1], px + _DX[k + 1]
        tile = tiles[w, ny, nx]
        openable = closed[tile] != 0 or (locked[tile] != 0 and lock_colour[tile] == held)
        occ = occupant[w, ny, nx]
        solid = occ > 0 and not yielding[occ]
        crowded = crowded or solid
        blocked = solid or not (walkable[tile] != 0 or openable)
        if not blocked:
            free |= 1 << k
        v = int(field[ny, nx])
        if away:
            v = -1 if blocked else v
        elif blocked and v > 0:
            v = UNREACHED
        # the first of equal values, as argmin / argmax
        if best < 0 or (v > best_value if away else v < best_value):
            best, best_value, best_open = k, v, openable
    better = best_value > here if away else best_value < here
    direction = best + 1 if better else _NOOP
    if not better and 0 < here < UNREACHED and crowded:
        # blocked by an actor short of the goal: step aside at random so no two actors
        # wait on each other forever in a corridor
        pick = draw_integer(key[w], t[w] + 31 * slot, _NPC_STREAM, 4, 1, 0)
        direction = _NOOP
        for j in range(4):
            k = (pick + j) % 4
            if free & (1 << k):
                direction = k + 1
                break
    if better and best_open and facing[w, slot] == direction:
        direction = _TOGGLE
    return direction


towards = kernel(towards)


def _step_towards(
    tiles, occupant, carry, facing, pos, key, t, b, slot, field, frow, flayer, away, yielding, tables, out
):  # fmt: skip
    for i in range(b.shape[0]):
        out[i] = towards(
            tiles, occupant, carry, facing, pos, key, t, b[i], slot, field[frow[i], flayer[i]], away,
            yielding, tables,
        )  # fmt: skip


_step_towards = kernel(_step_towards)


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
    b = np.asarray(b, np.int64)
    if layer is None:
        stack, frow, flayer = field[:, None], np.arange(len(b)), np.zeros(len(b), np.int64)
    else:
        stack, frow, flayer = field, b, np.asarray(layer, np.int64)
    out = np.empty(len(b), np.int64)
    _step_towards(
        state.tiles, state.occupant, state.carry, state.facing, state.pos, state.key, state.t, b, int(slot),
        stack, frow, flayer, bool(away), NO_YIELDING if yielding is None else yielding, NAV_TABLES, out,
    )  # fmt: skip
    return out


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
