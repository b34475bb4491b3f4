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

import numpy as np

from vrenvs.core.grid import UNREACHED, search
from vrenvs.core.jit import kernel
from vrenvs.core.navigation import passable_tiles, targets
from vrenvs.core.state import TaskConfig, WorldState
from vrenvs.core.tasks import OBJECTIVES, objective_of

__all__ = ["GOAL_NAMES", "NUM_GOALS", "ROUTE_SIZE", "distances", "potential", "route"]

NUM_GOALS = 4
PER_GOAL = 6
ROUTE_SIZE = NUM_GOALS * PER_GOAL
GOAL_NAMES = {name: objective.GOALS for name, objective in OBJECTIVES.items()}
_QY, _QX = (0, -1, 0, 1, 0), (0, 0, 1, 0, -1)  # the cell, then up, right, down, left (actions 1..4)


def _distances(goals, tiles, table, pos, slot, out):  # fmt: skip
    """``out[b, g, k]``: BFS steps from the cells of ``goals[g, b]`` to ``slot``'s cell
    (``k`` = 0) and to the cells one move up, right, down and left of it (``k`` = 1..4),
    walking ``tiles[b]`` where ``table[b, tile]``; :data:`UNREACHED` where no path leads.
    Each search stops once it has reached the five cells."""
    h, w = tiles.shape[1], tiles.shape[2]
    queue = np.empty(h * w, np.int32)
    want = np.zeros((h, w), np.int32)
    dist = np.empty((h, w), np.int16)
    queries = np.empty((5, 2), np.int64)
    for b in range(tiles.shape[0]):
        for k in range(5):  # the border is wall, so the neighbours exist
            queries[k, 0] = pos[b, slot, 0] + _QY[k]
            queries[k, 1] = pos[b, slot, 1] + _QX[k]
        for g in range(goals.shape[0]):
            search(goals[g, b], tiles[b], table[b], UNREACHED, queries, want, queue, dist)
            for k in range(5):
                out[b, g, k] = dist[queries[k, 0], queries[k, 1]]


_distances = kernel(_distances)


def distances(state: WorldState, config: TaskConfig, slot: int) -> np.ndarray:
    """``(B, NUM_GOALS, 5)`` int64 path lengths to each goal kind from ``slot``'s cell and
    from the cells one move up, right, down and left (:data:`UNREACHED`: no path)."""
    out = np.empty((state.batch, NUM_GOALS, 5), np.int64)
    goals = np.stack(targets(state, config, slot)).astype(bool, copy=False)  # (G, B, Hp, Wp)
    _distances(goals, state.tiles, passable_tiles(state, slot), state.pos, slot, out)
    return out


def _readings(dist, limit, out):  # fmt: skip
    """``out`` ``(B, NUM_GOALS * PER_GOAL)``: per goal, the moves that shorten the path, its
    length over ``limit`` (1 when unreached) and reachable (see the module docstring)."""
    for b in range(dist.shape[0]):
        for g in range(dist.shape[1]):
            at = dist[b, g, 0]
            reached = at < UNREACHED
            row = g * PER_GOAL
            for k in range(4):
                out[b, row + k] = 1.0 if reached and at > 0 and dist[b, g, k + 1] == at - 1 else 0.0
            out[b, row + 4] = min(at, limit) / limit if reached else 1.0
            out[b, row + 5] = 1.0 if reached else 0.0


_readings = kernel(_readings)


def route(state: WorldState, config: TaskConfig, slot: int, dist: np.ndarray | None = None) -> np.ndarray:
    """``(B, ROUTE_SIZE)`` float32 route readings of ``slot`` in every world (from
    :func:`distances` ``dist`` when given)."""
    dist = distances(state, config, slot) if dist is None else dist
    out = np.empty((state.batch, ROUTE_SIZE), np.float32)
    _readings(np.ascontiguousarray(dist, np.int64), 2 * config.size, out)
    return out


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
