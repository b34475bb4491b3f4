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
from vrenvs.core.grid import UNREACHED, distance_field, scratch, search_from
from vrenvs.core.jit import kernel
from vrenvs.core.navigation import (
    NAV_TABLES,
    NO_YIELDING,
    cells,
    passable,
    passable_row,
    step_towards,
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
_NPC_STREAM, _USER_STREAM, _GUIDE = Stream.NPC, Stream.USER, requests.GUIDE


def _nearest_in_sight(
    state: WorldState, config: TaskConfig, slot: int, role: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per world: slot of the nearest active actor with ``role`` within sight, and a mask."""
    slots = [s for s, r in enumerate(config.roles) if r == role] if role else []
    if not slots:
        return np.zeros(state.batch, np.int64), np.zeros(state.batch, bool)
    gaps = np.stack([np.abs(state.pos[:, s] - state.pos[:, slot]).sum(axis=1) for s in slots], axis=1)
    alive = np.stack([state.active[:, s] for s in slots], axis=1)
    gaps = np.where(alive, gaps, 1 << 20)
    best = gaps.argmin(axis=1)
    return np.array(slots)[best], gaps.min(axis=1) <= config.sight


def _pursue(
    state: WorldState, b: np.ndarray, slot: int, target: np.ndarray, away: bool, limit: int
) -> np.ndarray:
    mask = cells(state, b, state.pos[b, target])
    field = distance_field(mask, passable(state, b, slot), limit=limit)
    return step_towards(state, b, slot, field, away=away)


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
        target, nearest = -1, 1 << 20
        for s in prey:
            if active[w, s]:
                gap = abs(pos[w, s, 0] - pos[w, slot, 0]) + abs(pos[w, s, 1] - pos[w, slot, 1])
                if gap < nearest:
                    target, nearest = s, gap
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


def flee(state: WorldState, config: TaskConfig, slot: int) -> Decision:
    actions = np.zeros(state.batch, np.int64)
    mode = state.mode[:, slot].copy()
    alive = state.active[:, slot]
    threat = _threat(config, slot)
    target, seen = _nearest_in_sight(state, config, slot, threat)
    run = np.flatnonzero(alive & seen)
    eat = np.flatnonzero(alive & ~seen)
    if len(run):
        actions[run] = _pursue(state, run, slot, target[run], True, config.sight + 4)
        mode[run] = _MODE["fleeing"]
    if len(eat):
        food = CATALOG.FOOD[state.items[eat]]
        field = distance_field(food, passable(state, eat, slot))
        actions[eat] = step_towards(state, eat, slot, field)
        mode[eat] = _MODE["idle"]
    return Decision(actions, mode)


def trade(state: WorldState, config: TaskConfig, slot: int) -> Decision:
    actions = np.zeros(state.batch, np.int64)
    home = (state.pos[:, slot] == state.home[:, slot]).all(axis=1)
    away = np.flatnonzero(state.active[:, slot] & ~home)
    if len(away):
        field = distance_field(cells(state, away, state.home[away, slot]), passable(state, away, slot))
        actions[away] = step_towards(state, away, slot, field)
    return Decision(actions, np.where(home, _MODE["trading"], _MODE["idle"]).astype(np.uint8))


def steal(state: WorldState, config: TaskConfig, slot: int) -> Decision:
    actions = np.zeros(state.batch, np.int64)
    mode = state.mode[:, slot].copy()
    alive = state.active[:, slot]
    guard, near = _nearest_in_sight(state, config, slot, _threat(config, slot) or "guard")
    near &= np.abs(state.pos[np.arange(state.batch), guard] - state.pos[:, slot]).sum(axis=1) <= 2
    run = np.flatnonzero(alive & near)
    if len(run):
        actions[run] = _pursue(state, run, slot, guard[run], True, config.sight + 4)
        mode[run] = _MODE["fleeing"]
    side = state.tiles.shape[-1]
    goal = np.stack(np.divmod(state.goal[:, slot].astype(np.int64), side), axis=1)
    loot_there = state.items[np.arange(state.batch), goal[:, 0], goal[:, 1]] > 0
    steal_now = alive & ~near & (state.carry[:, slot] == 0) & loot_there
    go = np.flatnonzero(steal_now)
    if len(go):
        field = distance_field(cells(state, go, goal[go]), passable(state, go, slot))
        adjacent = field[np.arange(len(go)), state.pos[go, slot, 0], state.pos[go, slot, 1]] <= 1
        actions[go] = np.where(adjacent, Action.PICKUP, step_towards(state, go, slot, field))
        mode[go] = _MODE["stealing"]
    leave = np.flatnonzero(alive & ~near & ~steal_now)
    if len(leave):
        field = distance_field(cells(state, leave, state.home[leave, slot]), passable(state, leave, slot))
        actions[leave] = step_towards(state, leave, slot, field)
        mode[leave] = _MODE["escaping"]
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
