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

from dataclasses import dataclass

import numpy as np

from vrenvs.core import requests
from vrenvs.core.catalog import CATALOG
from vrenvs.core.grid import UNREACHED, distance_field
from vrenvs.core.navigation import keys_to_fetch, passable, step_towards, targets
from vrenvs.core.state import Action, TaskConfig, WorldState

__all__ = ["oracle"]


@dataclass(frozen=True)
class _Context:
    user: int  # the user's slot
    yielding: np.ndarray  # by occupant value: does that actor swap places when walked into?
    item: np.ndarray  # (B, Hp, Wp) the task's targets (vrenvs.core.navigation.targets)
    user_cell: np.ndarray
    place: np.ndarray


def _toward(
    state: WorldState, b: np.ndarray, slot: int, targets: np.ndarray, ctx: _Context
) -> tuple[np.ndarray, np.ndarray]:
    """Actions toward the nearest ``targets`` cell and the remaining distance."""
    field = distance_field(targets, passable(state, b, slot))
    dist = field[np.arange(len(b)), state.pos[b, slot, 0], state.pos[b, slot, 1]]
    return step_towards(state, b, slot, field, yielding=ctx.yielding), dist


def _go(
    state: WorldState, b: np.ndarray, slot: int, targets: np.ndarray, ctx: _Context, pickup: bool
) -> np.ndarray:
    """Walk to the nearest ``targets`` cell (and pick up what lies there, with ``pickup``);
    if locked doors are in the way, fetch a key first.

    Whatever is carried (a key that opened the way, a wrong item) is dropped on arrival.
    """
    carrying = state.carry[b, slot] > 0
    go, dist = _toward(state, b, slot, targets, ctx)
    arrived = np.where(carrying, Action.DROP, Action.PICKUP) if pickup else np.zeros(len(b), np.int64)
    actions = np.where(dist == 0, arrived, go)
    stuck = np.flatnonzero(dist >= UNREACHED)
    if len(stuck):
        sb = b[stuck]
        key_go, key_dist = _toward(state, sb, slot, keys_to_fetch(state, sb, slot), ctx)
        fetch_key = np.where(carrying[stuck], Action.DROP, np.where(key_dist == 0, Action.PICKUP, key_go))
        actions[stuck] = np.where(key_dist < UNREACHED, fetch_key, Action.NOOP)
    return actions


def _fetch(state: WorldState, b: np.ndarray, slot: int, ctx: _Context) -> np.ndarray:
    want = state.req_target[b]
    has = state.carry[b, slot] == want
    actions = np.zeros(len(b), np.int64)
    if has.any():
        hb = b[has]
        go, dist = _toward(state, hb, slot, ctx.user_cell[hb], ctx)
        actions[has] = np.where(dist <= 1, Action.GIVE, go)
    seek = ~has
    if seek.any():
        sb = b[seek]
        actions[seek] = _go(state, sb, slot, ctx.item[sb], ctx, pickup=True)
    return actions


def _guide(state: WorldState, config: TaskConfig, b: np.ndarray, slot: int, ctx: _Context) -> np.ndarray:
    user_cell = ctx.user_cell[b]
    back, lag = _toward(state, b, slot, user_cell, ctx)
    target = state.req_target[b].astype(np.int64)
    goal = ctx.place[b]  # the region's central cell
    # Inside the region with the user still outside: lead on to a region cell at least two
    # steps from the user, so that following brings the user in.
    region = state.region_map[b] == target[:, None, None]
    rows = np.arange(len(b))
    inside = region[rows, state.pos[b, slot, 0], state.pos[b, slot, 1]]
    from_user = distance_field(user_cell, CATALOG.WALKABLE[state.tiles[b]])
    deeper = region & (from_user >= 2) & (from_user < UNREACHED)
    lead = inside & deeper.any(axis=(1, 2))
    goal[lead] = deeper[lead]
    ahead = _go(state, b, slot, goal, ctx, pickup=False)
    return np.where(lag >= config.follow_radius, back, ahead)


def _open(state: WorldState, b: np.ndarray, slot: int, ctx: _Context) -> np.ndarray:
    tiles = state.tiles[b]
    shut = ctx.place[b]  # the named door, closed or locked
    key_colour = CATALOG.KEY_COLOUR[state.carry[b, slot]][:, None, None]
    reachable_door = shut & (CATALOG.IS_CLOSED[tiles] | (CATALOG.LOCK_COLOUR[tiles] == key_colour))
    ready = reachable_door.any(axis=(1, 2))
    actions = np.zeros(len(b), np.int64)
    if ready.any():
        rb = b[ready]
        actions[ready], _ = _toward(state, rb, slot, reachable_door[ready], ctx)
    need_key = np.flatnonzero(~ready & shut.any(axis=(1, 2)))
    if len(need_key):
        kb = b[need_key]
        colour = CATALOG.LOCK_COLOUR[tiles[need_key]]
        wanted = np.where(shut[need_key], colour, -1).max(axis=(1, 2))
        keys = CATALOG.KEY_COLOUR[state.items[kb]] == wanted[:, None, None]
        holding = state.carry[kb, slot] > 0
        go, dist = _toward(state, kb, slot, keys, ctx)
        actions[need_key] = np.where(holding, Action.DROP, np.where(dist == 0, Action.PICKUP, go))
    return actions


def oracle(state: WorldState, config: TaskConfig, slot: int) -> np.ndarray:
    """Actions of the oracle assistant in ``slot`` for every world."""
    user = config.slot_of("user")
    actions = np.zeros(state.batch, np.int64)
    if user < 0:
        return actions
    item, user_cell, place, _ = targets(state, config, slot)
    ctx = _Context(user, config.yielding(), item, user_cell, place)
    kind = np.where(state.active[:, slot], state.req_type, 0)
    for value, serve in (
        (requests.FETCH, lambda b: _fetch(state, b, slot, ctx)),
        (requests.GUIDE, lambda b: _guide(state, config, b, slot, ctx)),
        (requests.OPEN, lambda b: _open(state, b, slot, ctx)),
    ):
        b = np.flatnonzero(kind == value)
        if len(b):
            actions[b] = serve(b)
    return actions
