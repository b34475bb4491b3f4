"""The route sensor: shortest-path directions from an actor to the things its task is about.

A game character with a navigation mesh knows which way leads to a place; this sensor gives
a learner the same, and nothing more: for each of :data:`NUM_GOALS` goal kinds of its task
it reports which of the four moves start a shortest path to the nearest such goal, the
path length and whether the goal can be reached. Which goal matters now (the item or the
user, the key or the door), when to pick up, give, toggle or wait for the user, and how to
get past other actors stay the learner's job.

Goals per task goal (a goal kind absent from the world reads as unreachable):

- serve: ``item`` (the requested item on the ground, until the learner holds one),
  ``user``, ``place`` (the central
  cell of the region to guide to, or the shut door to open), ``key`` (any key).
- guard: ``thief`` (active thieves), ``entry`` (where thieves came in and escape),
  ``loot`` (valuable items on the ground), nothing.
- flee: ``food``, ``chaser`` (active wolves), nothing, nothing.

Paths go through floor, closed doors and locked doors the actor holds the key of; actors
do not block them (they move). Per goal the sensor gives 6 values in [0, 1]: moves up,
right, down, left that shorten the path (several when tied, none at the goal), the path
length over twice the map size (1 when unreachable), and reachable (0 or 1).
"""

from __future__ import annotations

import numpy as np

from vrenvs.core import requests
from vrenvs.core.catalog import CATALOG
from vrenvs.core.controllers import _passable
from vrenvs.core.grid import UNREACHED, distances_at
from vrenvs.core.state import TaskConfig, WorldState

__all__ = ["GOAL_NAMES", "NUM_GOALS", "ROUTE_SIZE", "distances", "potential", "route"]

NUM_GOALS = 4
PER_GOAL = 6
ROUTE_SIZE = NUM_GOALS * PER_GOAL
GOAL_NAMES = {
    "serve": ("item", "user", "place", "key"),
    "guard": ("thief", "entry", "loot", "-"),
    "flee": ("food", "chaser", "-", "-"),
}
_MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])  # up, right, down, left (actions 1..4)
_IS_KEY = CATALOG.KEY_COLOUR >= 0


def _slots_of(config: TaskConfig, role: str) -> list[int]:
    return [s for s, r in enumerate(config.roles) if r == role]


def _actor_cells(state: WorldState, slots: list[int], where: np.ndarray | None = None) -> np.ndarray:
    """``(B, Hp, Wp)`` mask of the cells of the active actors in ``slots``."""
    mask = np.zeros(state.tiles.shape, bool)
    rows = np.arange(state.batch)
    for s in slots:
        on = state.active[:, s]
        cells = state.pos[:, s] if where is None else where[:, s]
        mask[rows[on], cells[on, 0], cells[on, 1]] = True
    return mask


def _targets(state: WorldState, config: TaskConfig, slot: int) -> list[np.ndarray]:
    """One ``(B, Hp, Wp)`` target mask per goal kind of the task."""
    shape = state.tiles.shape
    none = np.zeros(shape, bool)
    if config.goal == "serve":
        # the wanted item, until the learner holds one
        fetch = (state.req_type == requests.FETCH) & (state.req_target > 0)
        fetch &= state.carry[:, slot] != state.req_target
        item = (state.items == state.req_target[:, None, None]) & fetch[:, None, None]
        user = _actor_cells(state, _slots_of(config, "user"))
        rows = np.arange(state.batch)
        region = np.clip(state.req_target, 0, state.guide.shape[1] - 1)
        centre = (state.guide[rows, region] == 0) & (state.req_type == requests.GUIDE)[:, None, None]
        tiles = state.tiles
        shut = CATALOG.IS_CLOSED[tiles] | CATALOG.IS_LOCKED[tiles]
        door = shut & (state.door_map == state.req_target[:, None, None])
        door &= (state.req_type == requests.OPEN)[:, None, None]
        key = _IS_KEY[state.items]
        return [item, user, centre | door, key]
    if config.goal == "guard":
        thieves = _slots_of(config, "thief")
        thief = _actor_cells(state, thieves)
        entry = _actor_cells(state, thieves, where=state.home)
        loot = CATALOG.REQUESTABLE[state.items]
        return [thief, entry, loot, none]
    food = CATALOG.FOOD[state.items]
    chaser = _actor_cells(state, _slots_of(config, "chaser"))
    return [food, chaser, none, none]


def distances(state: WorldState, config: TaskConfig, slot: int) -> np.ndarray:
    """``(B, NUM_GOALS, 5)`` int64 path lengths to each goal kind from ``slot``'s cell and
    from the cells one move up, right, down and left (:data:`UNREACHED`: no path)."""
    b = state.batch
    targets = np.concatenate(_targets(state, config, slot))  # (G*B, Hp, Wp)
    passable = np.tile(_passable(state, np.arange(b), slot), (NUM_GOALS, 1, 1))
    here = state.pos[:, slot].astype(np.int64)  # (B, 2); the border is wall, so neighbours exist
    queries = np.concatenate([here[:, None], here[:, None] + _MOVES[None]], axis=1)  # (B, 5, 2)
    dist = distances_at(targets, passable, np.tile(queries, (NUM_GOALS, 1, 1)))
    return dist.reshape(NUM_GOALS, b, 5).transpose(1, 0, 2).astype(np.int64)


def route(state: WorldState, config: TaskConfig, slot: int, dist: np.ndarray | None = None) -> np.ndarray:
    """``(B, ROUTE_SIZE)`` float32 route readings of ``slot`` in every world (from
    :func:`distances` ``dist`` when given)."""
    dist = distances(state, config, slot) if dist is None else dist
    at = dist[..., 0]
    reached = at < UNREACHED
    out = np.zeros((state.batch, NUM_GOALS, PER_GOAL), np.float32)
    out[..., :4] = (dist[..., 1:] == at[..., None] - 1) & (reached & (at > 0))[..., None]
    limit = 2 * config.size
    out[..., 4] = np.where(reached, np.minimum(at, limit) / limit, 1.0)
    out[..., 5] = reached
    return out.reshape(state.batch, ROUTE_SIZE)


def potential(state: WorldState, config: TaskConfig, slot: int, dist: np.ndarray | None = None) -> np.ndarray:
    """``(B,)`` float32 potential for progress shaping (env kwarg ``shaping``): minus the
    work left on the current job, in units of ``2 * size`` steps, each unreached stage
    costing one unit more. A shaping reward ``w * (potential(s') - potential(s))``
    telescopes over an episode, so it speeds learning without changing which policies are
    best (Ng, Harada & Russell 1999).

    - fetch: the path to the wanted item plus one unit, then (carried) the path to the user;
    - guide: the user's path to the target region's centre;
    - open: the path to the door, or the path to a key plus one unit when it is unreachable;
    - guard: the path to the nearest thief; flee and idle stream steps: 0.
    """
    dist = distances(state, config, slot) if dist is None else dist
    limit = 2 * config.size
    at = np.minimum(dist[..., 0], limit).astype(np.float32)  # (B, G)
    left = np.zeros(state.batch, np.float32)
    if config.goal == "serve":
        fetch = state.req_type == requests.FETCH
        has = state.carry[:, slot] == state.req_target
        left = np.where(fetch & has, at[:, 1], left)
        left = np.where(fetch & ~has, at[:, 0] + limit, left)
        guide = state.req_type == requests.GUIDE
        user = config.slot_of("user")
        if user >= 0 and guide.any():
            rows = np.arange(state.batch)
            region = np.clip(state.req_target, 0, state.guide.shape[1] - 1)
            to_go = state.guide[rows, region, state.pos[:, user, 0], state.pos[:, user, 1]]
            left = np.where(guide, np.minimum(to_go, limit), left)
        door = state.req_type == requests.OPEN
        reachable = dist[:, 2, 0] < UNREACHED
        left = np.where(door & reachable, at[:, 2], left)
        left = np.where(door & ~reachable, at[:, 3] + limit, left)
    elif config.goal == "guard":
        left = at[:, 0]
    return (-left / limit).astype(np.float32)
