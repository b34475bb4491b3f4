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
- steal (a learning thief): ``loot``, ``entry`` (its own), ``guard`` (active guards), nothing.
- chase (a learning wolf): ``critter`` (active critters), nothing, nothing, nothing.

Paths go through floor, closed doors and locked doors the actor holds the key of; actors
do not block them (they move). Per goal the sensor gives 6 values in [0, 1]: moves up,
right, down, left that shorten the path (several when tied, none at the goal), the path
length over twice the map size (1 when unreachable), and reachable (0 or 1).
"""

from __future__ import annotations

import functools

import numpy as np

from vrenvs.core.grid import UNREACHED, distances_on
from vrenvs.core.navigation import passable_tiles, targets
from vrenvs.core.state import TaskConfig, WorldState
from vrenvs.core.tasks import OBJECTIVES, objective_of

__all__ = ["GOAL_NAMES", "NUM_GOALS", "ROUTE_SIZE", "distances", "potential", "route"]

NUM_GOALS = 4
PER_GOAL = 6
ROUTE_SIZE = NUM_GOALS * PER_GOAL
GOAL_NAMES = {name: objective.GOALS for name, objective in OBJECTIVES.items()}
_MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])  # up, right, down, left (actions 1..4)
_QUERY_OFFSETS = np.concatenate([np.zeros((1, 2), np.int64), _MOVES])  # here, then the moves


@functools.lru_cache(maxsize=16)
def _owners(batch: int) -> np.ndarray:
    """``(NUM_GOALS * batch,)`` the world of each goal grid of :func:`distances` (private:
    only read)."""
    return np.tile(np.arange(batch), NUM_GOALS)


def distances(state: WorldState, config: TaskConfig, slot: int) -> np.ndarray:
    """``(B, NUM_GOALS, 5)`` int64 path lengths to each goal kind from ``slot``'s cell and
    from the cells one move up, right, down and left (:data:`UNREACHED`: no path)."""
    b = state.batch
    goals = np.concatenate(targets(state, config, slot))  # (G*B, Hp, Wp)
    # (B, 5, 2): the cell and its neighbours (the border is wall, so neighbours exist)
    queries = state.pos[:, slot, None].astype(np.int64) + _QUERY_OFFSETS
    owner = _owners(b)
    queries = np.broadcast_to(queries, (NUM_GOALS, *queries.shape)).reshape(NUM_GOALS * b, 5, 2)
    dist = distances_on(goals, state.tiles, passable_tiles(state, slot), owner, queries)
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

    The work left is the objective's (:meth:`vrenvs.core.tasks.Objective.left`): for the
    assistant the path to the wanted item then to the user, the user's path to the region,
    the path to the door (or a key); for the guard the path to the thief; flee: 0.
    """
    dist = distances(state, config, slot) if dist is None else dist
    limit = 2 * config.size
    at = np.minimum(dist[..., 0], limit).astype(np.float32)  # (B, G)
    left = objective_of(config).left(state, config, slot, at, dist)
    return (-left / limit).astype(np.float32)
