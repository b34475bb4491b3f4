"""The BFS oracle assistant: serves the pending request with shortest paths.

It is the baseline the learned assistant is compared with, the scripted assistant in play
mode, and a test that generated scenes are really solvable. Per request type:

- FETCH: drop a wrong item, walk to the nearest wanted item, pick it up, walk next to the
  user and give it.
- GUIDE: walk to the centre of the target region, waiting whenever the user lags more than
  ``follow_radius - 1`` steps behind (the user only follows when close).
- OPEN: fetch the key if the door is locked, walk next to the door, face it and toggle.
"""

from __future__ import annotations

import numpy as np

from vrenvs.core import requests
from vrenvs.core.grid import UNREACHED, scratch, search
from vrenvs.core.jit import kernel
from vrenvs.core.navigation import NAV_TABLES, passable_row, targets, towards
from vrenvs.core.state import Action, TaskConfig, WorldState

__all__ = ["oracle"]

_FETCH, _GUIDE, _OPEN = requests.FETCH, requests.GUIDE, requests.OPEN
_NOOP, _PICKUP, _DROP, _GIVE = Action.NOOP, Action.PICKUP, Action.DROP, Action.GIVE


def _toward(world, w, slot, goals, passable, yielding, tables, work):  # fmt: skip
    """The step of ``slot`` in world ``w`` towards the nearest ``goals`` cell (BFS over the
    tiles ``passable`` marks, into ``work[4]``) and the length of that path. ``world``:
    ``(tiles, occupant, carry, facing, pos, key, t)``."""
    tiles, occupant, carry, facing, pos, key, t = world
    _, want, queue, none, dist = work
    search(goals, tiles[w], passable, UNREACHED, none, want, queue, dist)
    step = towards(tiles, occupant, carry, facing, pos, key, t, w, slot, dist, False, yielding, tables)
    return step, dist[pos[w, slot, 0], pos[w, slot, 1]]


_toward = kernel(_toward)


def _go(world, items, w, slot, goals, pickup, passable, yielding, tables, work, keys):  # fmt: skip
    """Walk to the nearest ``goals`` cell (and pick up what lies there, with ``pickup``); if
    locked doors are in the way, fetch a key (of another colour than the one carried) first.
    Whatever is carried (a key that opened the way, a wrong item) is dropped on arrival.
    ``keys`` ``(Hp, Wp)`` bool is scratch space."""
    carry = world[2]
    carrying = carry[w, slot] > 0
    go, dist = _toward(world, w, slot, goals, passable, yielding, tables, work)
    if dist == 0:
        return (_DROP if carrying else _PICKUP) if pickup else _NOOP
    if dist < UNREACHED:
        return go
    key_colour = tables[4]
    held = key_colour[carry[w, slot]]
    for y in range(keys.shape[0]):
        for x in range(keys.shape[1]):
            colour = key_colour[items[w, y, x]]
            keys[y, x] = colour >= 0 and colour != held
    go, dist = _toward(world, w, slot, keys, passable, yielding, tables, work)
    if dist >= UNREACHED:
        return _NOOP
    if carrying:
        return _DROP
    return _PICKUP if dist == 0 else go


_go = kernel(_go)


def _oracle_worlds(
    tiles, items, occupant, carry, facing, pos, key, t, active, req_type, req_target, region_map, item,
    user_cell, place, slot, radius, yielding, tables, actions,
):  # fmt: skip
    """The oracle's action per world with a request (see the module docstring); ``item``,
    ``user_cell`` and ``place`` are the task's goal masks (:func:`targets`)."""
    walkable, closed, lock_colour, key_colour = tables[0], tables[1], tables[3], tables[4]
    hp, wp = tiles.shape[1], tiles.shape[2]
    passable = np.zeros(tables.shape[1], np.bool_)  # by tile id
    walk = np.zeros(tables.shape[1], np.bool_)
    for tile in range(walk.shape[0]):
        walk[tile] = walkable[tile] != 0
    work = scratch(hp, wp)
    goals = np.zeros((hp, wp), np.bool_)
    keys = np.zeros((hp, wp), np.bool_)
    from_user = np.empty((hp, wp), np.int16)
    world = (tiles, occupant, carry, facing, pos, key, t)
    for w in range(tiles.shape[0]):
        kind = req_type[w] if active[w, slot] else 0
        if kind != _FETCH and kind != _GUIDE and kind != _OPEN:
            continue
        passable_row(key_colour[carry[w, slot]], tables, passable)
        if kind == _FETCH:
            if carry[w, slot] == req_target[w]:  # carried: give it next to the user
                go, dist = _toward(world, w, slot, user_cell[w], passable, yielding, tables, work)
                actions[w] = _GIVE if dist <= 1 else go
            else:
                actions[w] = _go(world, items, w, slot, item[w], True, passable, yielding, tables, work, keys)
        elif kind == _GUIDE:
            back, lag = _toward(world, w, slot, user_cell[w], passable, yielding, tables, work)
            if lag >= radius:  # wait for the user: go back towards it
                actions[w] = back
                continue
            # Inside the region with the user still outside: lead on to a region cell at
            # least two steps from the user, so that following brings the user in.
            target = req_target[w]
            _, want, queue, none, _ = work
            search(user_cell[w], tiles[w], walk, UNREACHED, none, want, queue, from_user)
            lead = False
            for y in range(hp):
                for x in range(wp):
                    goals[y, x] = region_map[w, y, x] == target and 2 <= from_user[y, x] < UNREACHED
                    lead = lead or goals[y, x]
            lead = lead and region_map[w, pos[w, slot, 0], pos[w, slot, 1]] == target
            towards_place = goals if lead else place[w]
            actions[w] = _go(
                world, items, w, slot, towards_place, False, passable, yielding, tables, work, keys
            )
        else:  # OPEN: the named door, closed or locked
            held = key_colour[carry[w, slot]]
            ready, shut, wanted = False, False, -1
            for y in range(hp):
                for x in range(wp):
                    tile = tiles[w, y, x]
                    goals[y, x] = place[w, y, x] and (closed[tile] != 0 or lock_colour[tile] == held)
                    ready = ready or goals[y, x]
                    if place[w, y, x]:
                        shut = True
                        wanted = max(wanted, lock_colour[tile])
            if ready:
                actions[w], _ = _toward(world, w, slot, goals, passable, yielding, tables, work)
            elif shut:  # locked, its key not held: fetch one of its colour
                for y in range(hp):
                    for x in range(wp):
                        goals[y, x] = key_colour[items[w, y, x]] == wanted
                go, dist = _toward(world, w, slot, goals, passable, yielding, tables, work)
                actions[w] = _DROP if carry[w, slot] > 0 else (_PICKUP if dist == 0 else go)


_oracle_worlds = kernel(_oracle_worlds)


def oracle(state: WorldState, config: TaskConfig, slot: int) -> np.ndarray:
    """Actions of the oracle assistant in ``slot`` for every world."""
    actions = np.zeros(state.batch, np.int64)
    if config.slot_of("user") < 0:
        return actions
    item, user_cell, place, _ = (np.ascontiguousarray(m, bool) for m in targets(state, config, slot))
    _oracle_worlds(
        state.tiles, state.items, state.occupant, state.carry, state.facing, state.pos, state.key, state.t,
        state.active, state.req_type, state.req_target, state.region_map, item, user_cell, place, slot,
        config.follow_radius, config.yielding(), NAV_TABLES, actions,
    )  # fmt: skip
    return actions
