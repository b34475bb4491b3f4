"""Scripted drivers for actors the learner does not control.

A controller is any callable ``(state, config, slot)`` returning the ``(B,)`` actions of
``slot`` in every world, or a :class:`Decision` (actions plus the actor's mode, shown as a
badge, and its next waypoint). Controllers never write the state: the world writes the
modes and waypoints they decide. For a controller that returns bare actions (a trained
policy) the world shows the mode the role's scripted behaviour would
be in (:func:`situation`), so a trained guard's badge still says when it is chasing;
``random`` and ``noop`` leave the mode as it is.
Built-ins, by name:

- ``user``: the simulated user; follows the assistant during a GUIDE request when it is
  within ``follow_radius`` steps, with probability ``mobility`` per step.
- ``oracle``: a BFS assistant that serves FETCH / GUIDE / OPEN requests (the baseline).
- ``patrol``: walks a round of the region centres in a fixed order (region ``k``, then
  ``k + 1``, ..., from a random first one), chases the role it catches while it is in
  sight and then resumes its round.
- ``chase``: roams, heading for a random region centre after each one it reaches, and
  pursues the role it catches by BFS when it is in sight.
- ``flee``: keeps away from actors that catch it when in sight, else walks to food.
- ``trade``: walks to a stall (a cell next to a counter) and waits; giving it an item swaps
  it for the merchant's stock (see :mod:`vrenvs.core.rules`).
- ``steal``: walks to its target item, picks it up and heads back to where it came from,
  fleeing guards that come close.
- ``random`` and ``noop``.

A trained policy plugs in as another callable (from ``agents``; the core never imports it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from vrenvs.core import requests
from vrenvs.core.catalog import CATALOG
from vrenvs.core.grid import UNREACHED, scratch, search, search_from
from vrenvs.core.jit import kernel
from vrenvs.core.navigation import (
    NAV_TABLES,
    NO_YIELDING,
    passable_row,
    towards,
)
from vrenvs.core.oracle import oracle
from vrenvs.core.rng import Stream, draw, draw_integer, integers
from vrenvs.core.state import MODES, Action, TaskConfig, WorldState

__all__ = ["CONTROLLERS", "Controller", "Decision", "controller", "controller_names", "decide", "situation"]


class Decision(NamedTuple):
    """What a controller decided for one slot in every world."""

    actions: np.ndarray  # (B,) int64 action ids
    mode: np.ndarray | None = None  # (B,) uint8 index into MODES; None keeps the current ones
    waypoint: np.ndarray | None = None  # (B,) int16 new ``state.goal``; None keeps it


Controller = Callable[[WorldState, TaskConfig, int], "np.ndarray | Decision"]
_MODE = {name: i for i, name in enumerate(MODES)}
_CHASING, _PATROLLING, _FOLLOWING = _MODE["chasing"], _MODE["patrolling"], _MODE["following"]
_IDLE, _FLEEING, _TRADING = _MODE["idle"], _MODE["fleeing"], _MODE["trading"]
_STEALING, _ESCAPING, _PICKUP = _MODE["stealing"], _MODE["escaping"], Action.PICKUP
_NPC_STREAM, _USER_STREAM, _GUIDE = Stream.NPC, Stream.USER, requests.GUIDE


def _nearest(pos, active, w, slot, slots):  # fmt: skip
    """The nearest active actor of ``slots`` to ``slot`` in world ``w`` by Manhattan gap
    (the first of equal gaps) and that gap; ``(-1, 1 << 20)`` when none is active."""
    target, nearest = -1, 1 << 20
    for s in slots:
        if active[w, s]:
            gap = abs(pos[w, s, 0] - pos[w, slot, 0]) + abs(pos[w, s, 1] - pos[w, slot, 1])
            if gap < nearest:
                target, nearest = s, gap
    return target, nearest


_nearest = kernel(_nearest)


def _step_from(
    tiles, occupant, carry, facing, pos, key, t, w, slot, y, x, limit, away, passable, work, tables
):  # fmt: skip
    """The step of ``slot`` in world ``w`` towards (or ``away`` from) the cell ``(y, x)``,
    by BFS from it up to ``limit`` steps over the tiles ``passable`` marks."""
    dist = search_from(y, x, tiles[w], passable, limit, work)
    return towards(tiles, occupant, carry, facing, pos, key, t, w, slot, dist, away, NO_YIELDING, tables)


_step_from = kernel(_step_from)


def _escape(
    tiles, occupant, carry, facing, pos, key, t, active, w, slot, threats, reach, sight, passable, work,
    tables,
):  # fmt: skip
    """The step of ``slot`` in world ``w`` away from the nearest active ``threats`` slot when
    that one is within ``reach`` (Manhattan) steps, by BFS from it up to ``sight + 4`` steps;
    -1 when none is."""
    threat, gap = _nearest(pos, active, w, slot, threats)
    if threat < 0 or gap > reach:
        return -1
    ty, tx = pos[w, threat, 0], pos[w, threat, 1]
    return _step_from(
        tiles, occupant, carry, facing, pos, key, t, w, slot, ty, tx, sight + 4, True, passable, work, tables
    )  # fmt: skip


_escape = kernel(_escape)


def _hunt_worlds(
    tiles, occupant, carry, facing, pos, key, t, active, guide, num_regions, slot, prey, sight, round_,
    tables, no_yielding, actions, mode, waypoint,
):  # fmt: skip
    """Per world: chase the nearest active ``prey`` slot within ``sight`` (BFS up to
    ``2 * sight`` steps), else walk to the centre of region ``waypoint``; on arrival go on to
    the next region of the round (``round_``) or to a random one."""
    key_colour = tables[4]
    hp, wp = tiles.shape[1], tiles.shape[2]
    passable = np.zeros(tables.shape[1], np.bool_)  # by tile id
    work = scratch(hp, wp)
    for w in range(tiles.shape[0]):
        if not active[w, slot]:
            continue
        target, nearest = _nearest(pos, active, w, slot, prey)
        if target >= 0 and nearest <= sight:
            passable_row(key_colour[carry[w, slot]], tables, passable)
            dist = search_from(pos[w, target, 0], pos[w, target, 1], tiles[w], passable, 2 * sight, work)
            actions[w] = towards(
                tiles, occupant, carry, facing, pos, key, t, w, slot, dist, False, no_yielding, tables
            )
            mode[w] = _CHASING
        else:
            goal = int(waypoint[w])
            if guide[w, goal, pos[w, slot, 0], pos[w, slot, 1]] == 0:
                regions = max(int(num_regions[w]), 1)
                if round_:
                    goal = (goal + 1) % regions
                else:
                    goal = draw_integer(key[w], t[w] + slot, _NPC_STREAM, regions, 1, 0)
                waypoint[w] = goal
            field = guide[w, goal]
            actions[w] = towards(
                tiles, occupant, carry, facing, pos, key, t, w, slot, field, False, no_yielding, tables
            )
            mode[w] = _PATROLLING


_hunt_worlds = kernel(_hunt_worlds)


def _hunt(state: WorldState, config: TaskConfig, slot: int, round_: bool) -> Decision:
    actions = np.zeros(state.batch, np.int64)
    mode = state.mode[:, slot].copy()
    waypoint = state.goal[:, slot].copy()
    prey = config.slots(CATALOG.role[config.roles[slot]].catches)  # none: empty
    _hunt_worlds(
        state.tiles, state.occupant, state.carry, state.facing, state.pos, state.key, state.t, state.active,
        state.guide, state.num_regions, slot, prey, config.sight, round_, NAV_TABLES, NO_YIELDING,
        actions, mode, waypoint,
    )  # fmt: skip
    return Decision(actions, mode, waypoint)


def patrol(state: WorldState, config: TaskConfig, slot: int) -> Decision:
    """A guard: the round of region centres in order, the thief when in sight."""
    return _hunt(state, config, slot, round_=True)


def chase(state: WorldState, config: TaskConfig, slot: int) -> Decision:
    """A wolf: random region centres one after another, its prey when in sight."""
    return _hunt(state, config, slot, round_=False)


def _threat(config: TaskConfig, slot: int) -> str | None:
    me = config.roles[slot]
    hunters = [r.name for r in CATALOG.roles if r.catches == me]
    return hunters[0] if hunters else None


def _flee_worlds(
    tiles, items, occupant, carry, facing, pos, key, t, active, slot, threats, sight, food, tables, actions,
    mode,
):  # fmt: skip
    """Per world: step away from the nearest active ``threats`` slot within ``sight`` (BFS
    from it up to ``sight + 4`` steps), else towards the nearest ``food`` item."""
    key_colour = tables[4]
    hp, wp = tiles.shape[1], tiles.shape[2]
    passable = np.zeros(tables.shape[1], np.bool_)  # by tile id
    work = scratch(hp, wp)
    goals, want, queue, none, dist = work
    for w in range(tiles.shape[0]):
        if not active[w, slot]:
            continue
        passable_row(key_colour[carry[w, slot]], tables, passable)
        away = _escape(
            tiles, occupant, carry, facing, pos, key, t, active, w, slot, threats, sight, sight, passable,
            work, tables,
        )  # fmt: skip
        if away >= 0:
            actions[w] = away
            mode[w] = _FLEEING
            continue
        for y in range(hp):
            for x in range(wp):
                goals[y, x] = food[items[w, y, x]]
        search(goals, tiles[w], passable, UNREACHED, none, want, queue, dist)
        goals[:, :] = False
        actions[w] = towards(
            tiles, occupant, carry, facing, pos, key, t, w, slot, dist, False, NO_YIELDING, tables
        )
        mode[w] = _IDLE


_flee_worlds = kernel(_flee_worlds)


def flee(state: WorldState, config: TaskConfig, slot: int) -> Decision:
    actions = np.zeros(state.batch, np.int64)
    mode = state.mode[:, slot].copy()
    _flee_worlds(
        state.tiles, state.items, state.occupant, state.carry, state.facing, state.pos, state.key, state.t,
        state.active, slot, config.slots(_threat(config, slot)), config.sight, CATALOG.FOOD, NAV_TABLES,
        actions, mode,
    )  # fmt: skip
    return Decision(actions, mode)


def _trade_worlds(
    tiles, occupant, carry, facing, pos, key, t, active, home, slot, tables, actions, mode
):  # fmt: skip
    """Per world: wait at home (mode trading), else (active) walk back to it."""
    key_colour = tables[4]
    passable = np.zeros(tables.shape[1], np.bool_)  # by tile id
    work = scratch(tiles.shape[1], tiles.shape[2])
    for w in range(tiles.shape[0]):
        hy, hx = home[w, slot, 0], home[w, slot, 1]
        there = pos[w, slot, 0] == hy and pos[w, slot, 1] == hx
        mode[w] = _TRADING if there else _IDLE
        if there or not active[w, slot]:
            continue
        passable_row(key_colour[carry[w, slot]], tables, passable)
        actions[w] = _step_from(
            tiles, occupant, carry, facing, pos, key, t, w, slot, hy, hx, UNREACHED, False, passable, work,
            tables,
        )  # fmt: skip


_trade_worlds = kernel(_trade_worlds)


def trade(state: WorldState, config: TaskConfig, slot: int) -> Decision:
    actions = np.zeros(state.batch, np.int64)
    mode = np.empty(state.batch, np.uint8)
    _trade_worlds(
        state.tiles, state.occupant, state.carry, state.facing, state.pos, state.key, state.t, state.active,
        state.home, slot, NAV_TABLES, actions, mode,
    )  # fmt: skip
    return Decision(actions, mode)


def _steal_worlds(
    tiles, items, occupant, carry, facing, pos, key, t, active, goal, home, slot, guards, sight, tables,
    actions, mode,
):  # fmt: skip
    """Per world: step away from the nearest active ``guards`` slot when it is within
    ``sight`` and 2 steps (BFS from it up to ``sight + 4`` steps); else, empty-handed with
    loot still on the ``goal`` cell, walk to it and pick it up from the cell or next to it;
    else walk home."""
    key_colour = tables[4]
    wp = tiles.shape[2]
    passable = np.zeros(tables.shape[1], np.bool_)  # by tile id
    work = scratch(tiles.shape[1], wp)
    for w in range(tiles.shape[0]):
        if not active[w, slot]:
            continue
        passable_row(key_colour[carry[w, slot]], tables, passable)
        away = _escape(
            tiles, occupant, carry, facing, pos, key, t, active, w, slot, guards, min(sight, 2), sight,
            passable, work, tables,
        )  # fmt: skip
        if away >= 0:
            actions[w] = away
            mode[w] = _FLEEING
            continue
        gy, gx = goal[w, slot] // wp, goal[w, slot] % wp
        if carry[w, slot] == 0 and items[w, gy, gx] > 0:
            dist = search_from(gy, gx, tiles[w], passable, UNREACHED, work)
            if dist[pos[w, slot, 0], pos[w, slot, 1]] <= 1:
                actions[w] = _PICKUP
            else:
                actions[w] = towards(
                    tiles, occupant, carry, facing, pos, key, t, w, slot, dist, False, NO_YIELDING, tables
                )
            mode[w] = _STEALING
        else:
            hy, hx = home[w, slot, 0], home[w, slot, 1]
            actions[w] = _step_from(
                tiles, occupant, carry, facing, pos, key, t, w, slot, hy, hx, UNREACHED, False, passable,
                work, tables,
            )  # fmt: skip
            mode[w] = _ESCAPING


_steal_worlds = kernel(_steal_worlds)


def steal(state: WorldState, config: TaskConfig, slot: int) -> Decision:
    actions = np.zeros(state.batch, np.int64)
    mode = state.mode[:, slot].copy()
    _steal_worlds(
        state.tiles, state.items, state.occupant, state.carry, state.facing, state.pos, state.key, state.t,
        state.active, state.goal, state.home, slot, config.slots(_threat(config, slot) or "guard"),
        config.sight, NAV_TABLES, actions, mode,
    )  # fmt: skip
    return Decision(actions, mode)


def _follow_worlds(
    tiles, occupant, carry, facing, pos, key, t, active, req_type, mobility, region_map, slot, helper,
    radius, walkable, yielding, tables, actions, mode,
):  # fmt: skip
    """Per world with a GUIDE request: when the assistant is 2 to ``radius`` steps away (by
    walkable cells) and the user is keen this step (``mobility``), step towards it, among
    equally short steps preferring one into the assistant's region."""
    hp, wp = tiles.shape[1], tiles.shape[2]
    score = np.empty((hp, wp), np.int32)
    work = scratch(hp, wp)
    for w in range(tiles.shape[0]):
        if req_type[w] != _GUIDE or not active[w, slot]:
            continue
        hy, hx = pos[w, helper, 0], pos[w, helper, 1]
        gap = abs(hy - pos[w, slot, 0]) + abs(hx - pos[w, slot, 1])
        if gap <= 1 or gap > radius or not draw(key[w], t[w], _USER_STREAM, 1, 0) < mobility[w]:
            continue
        dist = search_from(hy, hx, tiles[w], walkable, radius + 1, work)
        if dist[pos[w, slot, 0], pos[w, slot, 1]] > radius:
            continue
        lead = region_map[w, hy, hx]
        for y in range(hp):
            for x in range(wp):
                if dist[y, x] < UNREACHED:
                    score[y, x] = 2 * np.int32(dist[y, x]) + (region_map[w, y, x] != lead)
                else:
                    score[y, x] = UNREACHED
        actions[w] = towards(
            tiles, occupant, carry, facing, pos, key, t, w, slot, score, False, yielding, tables
        )
        mode[w] = _FOLLOWING


_follow_worlds = kernel(_follow_worlds)


def user(state: WorldState, config: TaskConfig, slot: int) -> Decision:
    actions = np.zeros(state.batch, np.int64)
    mode = np.zeros(state.batch, np.uint8)  # idle, MODES[0]
    helper = config.slot_of("assistant")
    if helper >= 0:
        _follow_worlds(
            state.tiles, state.occupant, state.carry, state.facing, state.pos, state.key, state.t,
            state.active, state.req_type, state.mobility, state.region_map, slot, helper,
            config.follow_radius, CATALOG.WALKABLE, config.yielding(), NAV_TABLES, actions, mode,
        )  # fmt: skip
    return Decision(actions, mode)


def random(state: WorldState, config: TaskConfig, slot: int) -> Decision:
    """Uniform actions; the actor's mode stays as it is."""
    return Decision(integers(state.key, state.t + 7919 * slot, Stream.NPC, 9)[:, 0])


def noop(state: WorldState, config: TaskConfig, slot: int) -> Decision:
    return Decision(np.zeros(state.batch, np.int64))


CONTROLLERS: dict[str, Controller] = {
    "user": user,
    "oracle": oracle,
    "patrol": patrol,
    "chase": chase,
    "flee": flee,
    "trade": trade,
    "steal": steal,
    "random": random,
    "noop": noop,
}


def controller(name: str) -> Controller:
    """The built-in controller called ``name`` (error lists the choices)."""
    if not isinstance(name, str) or name not in CONTROLLERS:
        raise ValueError(f"unknown controller {name!r}; choose from {sorted(CONTROLLERS)}")
    return CONTROLLERS[name]


def controller_names() -> list[str]:
    """The names of the built-in controllers."""
    return sorted(CONTROLLERS)


def decide(drive: Controller, state: WorldState, config: TaskConfig, slot: int) -> Decision:
    """``drive``'s decision for ``slot``; bare actions get the role's :func:`situation`."""
    made = drive(state, config, slot)
    if isinstance(made, Decision):
        return made
    return Decision(np.asarray(made, dtype=np.int64).reshape(state.batch), situation(state, config, slot))


def situation(state: WorldState, config: TaskConfig, slot: int) -> np.ndarray | None:
    """``(B,)`` the mode the role's scripted behaviour would be in (None: it has none)."""
    scripted = CONTROLLERS[CATALOG.role[config.roles[slot]].behaviour](state, config, slot)
    return scripted.mode if isinstance(scripted, Decision) else None
