"""Scripted drivers for actors the learner does not control.

A controller is any callable ``(state, config, slot) -> (B,) actions``. Built-ins, by name:

- ``user``: the simulated user; follows the assistant during a GUIDE request when it is
  within ``follow_radius`` steps, with probability ``mobility`` per step.
- ``oracle``: a BFS assistant that serves FETCH / GUIDE / OPEN requests (the baseline).
- ``patrol``: walks between region centres; chases the role it catches when in sight.
- ``chase``: pursues the role it catches by BFS when in sight, else wanders like patrol.
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

import numpy as np

from vrenvs.core import requests
from vrenvs.core.catalog import CATALOG
from vrenvs.core.grid import DELTAS, UNREACHED, distance_field
from vrenvs.core.reach import base_passable
from vrenvs.core.rng import Stream, integers, uniform
from vrenvs.core.state import MODES, Action, TaskConfig, WorldState

__all__ = ["CONTROLLERS", "Controller", "controller", "controller_names", "step_towards"]

Controller = Callable[[WorldState, TaskConfig, int], np.ndarray]
_MODE = {name: i for i, name in enumerate(MODES)}


def _cells(state: WorldState, b: np.ndarray, cells: np.ndarray) -> np.ndarray:
    mask = np.zeros((len(b), *state.tiles.shape[1:]), bool)
    mask[np.arange(len(b)), cells[:, 0], cells[:, 1]] = True
    return mask


def _passable(state: WorldState, b: np.ndarray, slot: int) -> np.ndarray:
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
    mask = _cells(state, b, state.pos[b, target])
    field = distance_field(mask, _passable(state, b, slot), limit=limit)
    return step_towards(state, b, slot, field, away=away)


def _wander(state: WorldState, b: np.ndarray, slot: int) -> np.ndarray:
    """Walk to the centre of region ``goal``; pick a new random region on arrival."""
    goal = state.goal[b, slot].astype(np.int64)
    arrived = state.guide[b, goal, state.pos[b, slot, 0], state.pos[b, slot, 1]] == 0
    if arrived.any():
        a = b[arrived]
        goal[arrived] = integers(
            state.key[a], state.t[a] + slot, Stream.NPC, np.maximum(state.num_regions[a], 1)
        )[:, 0]
        state.goal[a, slot] = goal[arrived]
    return step_towards(state, b, slot, state.guide, layer=goal)


def _hunt(state: WorldState, config: TaskConfig, slot: int, idle_mode: str) -> np.ndarray:
    actions = np.zeros(state.batch, np.int64)
    prey = CATALOG.roles[config.role_ids()[slot] - 1].catches
    target, seen = _nearest_in_sight(state, config, slot, prey)
    alive = state.active[:, slot]
    chase = np.flatnonzero(alive & seen)
    roam = np.flatnonzero(alive & ~seen)
    if len(chase):
        actions[chase] = _pursue(state, chase, slot, target[chase], False, 2 * config.sight)
        state.mode[chase, slot] = _MODE["chasing"]
    if len(roam):
        actions[roam] = _wander(state, roam, slot)
        state.mode[roam, slot] = _MODE[idle_mode]
    return actions


def patrol(state: WorldState, config: TaskConfig, slot: int) -> np.ndarray:
    return _hunt(state, config, slot, "patrolling")


def chase(state: WorldState, config: TaskConfig, slot: int) -> np.ndarray:
    return _hunt(state, config, slot, "patrolling")


def _threat(config: TaskConfig, slot: int) -> str | None:
    me = config.roles[slot]
    hunters = [r.name for r in CATALOG.roles if r.catches == me]
    return hunters[0] if hunters else None


def flee(state: WorldState, config: TaskConfig, slot: int) -> np.ndarray:
    actions = np.zeros(state.batch, np.int64)
    alive = state.active[:, slot]
    threat = _threat(config, slot)
    target, seen = _nearest_in_sight(state, config, slot, threat)
    run = np.flatnonzero(alive & seen)
    eat = np.flatnonzero(alive & ~seen)
    if len(run):
        actions[run] = _pursue(state, run, slot, target[run], True, config.sight + 4)
        state.mode[run, slot] = _MODE["fleeing"]
    if len(eat):
        food = CATALOG.FOOD[state.items[eat]]
        field = distance_field(food, _passable(state, eat, slot))
        actions[eat] = step_towards(state, eat, slot, field)
        state.mode[eat, slot] = _MODE["idle"]
    return actions


def trade(state: WorldState, config: TaskConfig, slot: int) -> np.ndarray:
    actions = np.zeros(state.batch, np.int64)
    home = (state.pos[:, slot] == state.home[:, slot]).all(axis=1)
    away = np.flatnonzero(state.active[:, slot] & ~home)
    if len(away):
        field = distance_field(_cells(state, away, state.home[away, slot]), _passable(state, away, slot))
        actions[away] = step_towards(state, away, slot, field)
    state.mode[:, slot] = np.where(home, _MODE["trading"], _MODE["idle"])
    return actions


def steal(state: WorldState, config: TaskConfig, slot: int) -> np.ndarray:
    actions = np.zeros(state.batch, np.int64)
    alive = state.active[:, slot]
    guard, near = _nearest_in_sight(state, config, slot, _threat(config, slot) or "guard")
    near &= np.abs(state.pos[np.arange(state.batch), guard] - state.pos[:, slot]).sum(axis=1) <= 2
    run = np.flatnonzero(alive & near)
    if len(run):
        actions[run] = _pursue(state, run, slot, guard[run], True, config.sight + 4)
        state.mode[run, slot] = _MODE["fleeing"]
    side = state.tiles.shape[-1]
    goal = np.stack(np.divmod(state.goal[:, slot].astype(np.int64), side), axis=1)
    loot_there = state.items[np.arange(state.batch), goal[:, 0], goal[:, 1]] > 0
    steal_now = alive & ~near & (state.carry[:, slot] == 0) & loot_there
    go = np.flatnonzero(steal_now)
    if len(go):
        field = distance_field(_cells(state, go, goal[go]), _passable(state, go, slot))
        adjacent = field[np.arange(len(go)), state.pos[go, slot, 0], state.pos[go, slot, 1]] <= 1
        actions[go] = np.where(adjacent, Action.PICKUP, step_towards(state, go, slot, field))
        state.mode[go, slot] = _MODE["stealing"]
    leave = np.flatnonzero(alive & ~near & ~steal_now)
    if len(leave):
        field = distance_field(_cells(state, leave, state.home[leave, slot]), _passable(state, leave, slot))
        actions[leave] = step_towards(state, leave, slot, field)
        state.mode[leave, slot] = _MODE["escaping"]
    return actions


def user(state: WorldState, config: TaskConfig, slot: int) -> np.ndarray:
    actions = np.zeros(state.batch, np.int64)
    helper = config.slot_of("assistant")
    guided = (state.req_type == requests.GUIDE) & state.active[:, slot]
    state.mode[:, slot] = _MODE["idle"]
    if helper < 0 or not guided.any():
        return actions
    gap = np.abs(state.pos[:, helper] - state.pos[:, slot]).sum(axis=1)
    keen = uniform(state.key, state.t, Stream.USER)[:, 0] < state.mobility
    b = np.flatnonzero(guided & (gap > 1) & (gap <= config.follow_radius) & keen)
    if len(b):
        mask = _cells(state, b, state.pos[b, helper])
        walk = CATALOG.WALKABLE[state.tiles[b]]
        field = distance_field(mask, walk, limit=config.follow_radius + 1)
        follow = (
            field[np.arange(len(b)), state.pos[b, slot, 0], state.pos[b, slot, 1]] <= config.follow_radius
        )
        # Between equally short steps, prefer one into the assistant's region: the user
        # follows its guide through the door it took, not around it.
        lead_region = state.region_map[b, state.pos[b, helper, 0], state.pos[b, helper, 1]]
        elsewhere = state.region_map[b] != lead_region[:, None, None]
        score = np.where(field < UNREACHED, 2 * field.astype(np.int32) + elsewhere, UNREACHED)
        yielding = CATALOG.YIELDS[np.concatenate([[0], config.role_ids()])]
        actions[b[follow]] = step_towards(state, b, slot, score, yielding=yielding)[follow]
        state.mode[b[follow], slot] = _MODE["following"]
    return actions


def random(state: WorldState, config: TaskConfig, slot: int) -> np.ndarray:
    return integers(state.key, state.t + 7919 * slot, Stream.NPC, 9)[:, 0]


def noop(state: WorldState, config: TaskConfig, slot: int) -> np.ndarray:
    return np.zeros(state.batch, np.int64)


def _controllers() -> dict[str, Controller]:
    from vrenvs.core.oracle import oracle

    return {
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


CONTROLLERS: dict[str, Controller] = {}


def controller(name: str) -> Controller:
    """The built-in controller called ``name`` (error lists the choices)."""
    if not CONTROLLERS:
        CONTROLLERS.update(_controllers())
    if name not in CONTROLLERS:
        raise ValueError(f"unknown controller {name!r}; choose from {sorted(CONTROLLERS)}")
    return CONTROLLERS[name]


def controller_names() -> list[str]:
    """The names of the built-in controllers."""
    if not CONTROLLERS:
        CONTROLLERS.update(_controllers())
    return sorted(CONTROLLERS)
