"""The assistant's objective: serve the user's requests (FETCH, GUIDE, OPEN).

Events: ``served`` when a request is completed, ``gave_up`` when the user gives up on one,
``refused`` when the learner offers the user something it did not ask for. A
single-request task ends when its request ends; a stream task only by time limit.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from vrenvs.core import requests
from vrenvs.core.catalog import CATALOG, COLOURS
from vrenvs.core.grid import UNREACHED
from vrenvs.core.jit import kernel
from vrenvs.core.rules import Events
from vrenvs.core.state import TaskConfig, WorldState
from vrenvs.core.tasks.spec import Objective

__all__ = ["SERVE", "Serve"]

_IS_KEY = CATALOG.KEY_COLOUR >= 0
_SHUT = CATALOG.IS_CLOSED | CATALOG.IS_LOCKED
_LOCKED_COLOUR = np.where(CATALOG.IS_LOCKED, CATALOG.LOCK_COLOUR, -1).astype(np.int64)  # by tile
_KEY_COLOUR = CATALOG.KEY_COLOUR.astype(np.int64)  # by item
_FETCH, _GUIDE, _OPEN = requests.FETCH, requests.GUIDE, requests.OPEN


def _goals(
    req_type, req_target, carry, items, tiles, door_map, guide, active, pos, users, slot, shut, is_key, out,
):  # fmt: skip
    """:meth:`Serve.targets` into ``out`` ``(4, B, Hp, Wp)`` bool, in one pass per world:
    ``item``, the wanted item on the ground while ``slot`` does not hold one; ``user``, the
    cells of the active users; ``place``, the central cell of the region to guide to (the
    request's region clipped to the guide fields) or the shut doors of the door to open;
    ``key``, any key on the ground."""
    regions = guide.shape[1]
    for b in range(req_type.shape[0]):
        kind = req_type[b]
        target = int(req_target[b])
        fetch = kind == _FETCH and target > 0 and int(carry[b, slot]) != target
        region = min(max(target, 0), regions - 1)
        for y in range(tiles.shape[1]):
            for x in range(tiles.shape[2]):
                out[0, b, y, x] = fetch and int(items[b, y, x]) == target
                out[1, b, y, x] = False
                if kind == _GUIDE:
                    out[2, b, y, x] = guide[b, region, y, x] == 0
                elif kind == _OPEN:
                    out[2, b, y, x] = door_map[b, y, x] == target and shut[tiles[b, y, x]]
                else:
                    out[2, b, y, x] = False
                out[3, b, y, x] = is_key[items[b, y, x]]
        for s in users:
            if active[b, s]:
                out[1, b, pos[b, s, 0], pos[b, s, 1]] = True


_goals = kernel(_goals)


def _left(
    req_type, req_target, carry, items, tiles, door_map, guide, pos, slot, user, at, dist, limit, lock,
    locked_colour, key_colour, out,
):  # fmt: skip
    """:meth:`Serve.left` into ``out`` ``(B,)``, one world at a time (``lock``: ``key_goal`` is
    ``"lock"``; ``user`` < 0: no user, a guide request reads 0)."""
    for b in range(req_type.shape[0]):
        kind = req_type[b]
        target = req_target[b]
        left = 0.0
        if kind == _FETCH:
            if carry[b, slot] == target:
                left = at[b, 1]
            else:
                left = at[b, 0] + limit
                if lock and dist[b, 0, 0] >= UNREACHED:  # out of reach: behind a lock if it lies there
                    for y in range(tiles.shape[1]):
                        for x in range(tiles.shape[2]):
                            if items[b, y, x] == target:
                                left = at[b, 3] + 2 * limit
        elif kind == _GUIDE:
            if user >= 0:
                region = min(max(int(target), 0), guide.shape[1] - 1)
                left = min(int(guide[b, region, pos[b, user, 0], pos[b, user, 1]]), limit)
        elif kind == _OPEN:
            if dist[b, 2, 0] < UNREACHED:
                left = at[b, 2]
                if lock:  # a locked door reads in reach (the path ends beside it): its key first
                    held = key_colour[carry[b, slot]]
                    for y in range(tiles.shape[1]):
                        for x in range(tiles.shape[2]):
                            locked = locked_colour[tiles[b, y, x]]
                            if door_map[b, y, x] == target and locked >= 0 and locked != held:
                                left = at[b, 3] + limit
            else:
                left = at[b, 3] + limit
        out[b] = left


_left = kernel(_left)


def lock_keys(state: WorldState, slot: int) -> np.ndarray:
    """``(B, Hp, Wp)``: keys on the ground that open a locked door still shut in their world,
    other than of the colour ``slot`` holds (``key_goal="lock"``)."""
    b = np.arange(state.batch)[:, None, None]
    wanted = np.zeros((state.batch, len(COLOURS) + 1), bool)  # by colour + 1 (0: none)
    wanted[b, _LOCKED_COLOUR[state.tiles] + 1] = True
    wanted[:, 0] = False
    wanted[np.arange(state.batch), _KEY_COLOUR[state.carry[:, slot]] + 1] = False
    return wanted[b, _KEY_COLOUR[state.items] + 1]


class Serve(Objective):
    NAME = "serve"
    REWARDS = MappingProxyType({"served": 1.0, "gave_up": 0.0, "refused": 0.0})
    EVENTS = MappingProxyType(
        {
            "served": "the user's request is completed",
            "gave_up": "the user gives up on its request",
            "refused": "the learner offers the user an item it did not ask for",
        }
    )
    GOALS = ("item", "user", "place", "key")
    SERVES_USER = True

    def counts(self, events: Events, state: WorldState, config: TaskConfig) -> dict[str, np.ndarray]:
        return {
            "served": events.done > 0,
            "gave_up": events.gave_up > 0,
            "refused": events.refused[:, config.learner],
        }

    def terminated(self, events: Events, state: WorldState, config: TaskConfig) -> np.ndarray:
        if config.stream:
            return np.zeros(state.batch, bool)
        return np.asarray((events.done > 0) | (events.gave_up > 0))

    def success(self, state: WorldState, config: TaskConfig) -> np.ndarray:
        return (state.served > 0) & (state.failed == 0)

    def targets(self, state: WorldState, config: TaskConfig, slot: int) -> list[np.ndarray]:
        """``item``: the wanted item on the ground, until ``slot`` holds one; ``user``;
        ``place``: the central cell of the region to guide to, or the shut door to open;
        ``key``: any key on the ground (``key_goal="any"``) or the keys of locked doors
        (``"lock"``, :func:`lock_keys`)."""
        goals = np.empty((4, *state.tiles.shape), bool)
        _goals(
            state.req_type, state.req_target, state.carry, state.items, state.tiles, state.door_map,
            state.guide, state.active, state.pos, config.slots("user"), slot, _SHUT, _IS_KEY, goals,
        )  # fmt: skip
        if config.key_goal == "lock":
            goals[3] = lock_keys(state, slot)
        return list(goals)

    def left(
        self, state: WorldState, config: TaskConfig, slot: int, at: np.ndarray, dist: np.ndarray
    ) -> np.ndarray:
        """fetch: the path to the wanted item plus one unit, then (carried) the path to the
        user; guide: the user's path to the region's centre; open: the path to the door, or
        the path to a key plus one unit when the door is out of reach; idle: 0. A locked door
        to open reads in reach, its key or not, so with ``key_goal="any"`` shaping leads to
        it and not to its key. With ``key_goal="lock"`` also: open a locked door without
        its key, the path to a key that opens a locked door (:func:`lock_keys`) plus one
        unit; fetch an item that lies behind a locked door, that path plus two units."""
        left = np.empty(state.batch, np.float32)
        _left(
            state.req_type, state.req_target, state.carry, state.items, state.tiles, state.door_map,
            state.guide, state.pos, slot, config.slot_of("user"), np.ascontiguousarray(at, np.float32),
            np.ascontiguousarray(dist, np.int64), 2 * config.size, config.key_goal == "lock", _LOCKED_COLOUR,
            _KEY_COLOUR, left,
        )  # fmt: skip
        return left

    def status(self, state: WorldState, config: TaskConfig, b: int) -> str:
        return f"served {int(state.served[b])}  failed {int(state.failed[b])}"


SERVE = Serve()
