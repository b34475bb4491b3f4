"""The assistant's objective: serve the user's requests (FETCH, GUIDE, OPEN).

Events: ``served`` when a request is completed, ``gave_up`` when the user gives up on one,
``refused`` when the learner offers the user something it did not ask for. A
single-request task ends when its request ends; a stream task only by time limit.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from vrenvs.core import requests
from vrenvs.core.catalog import CATALOG
from vrenvs.core.grid import UNREACHED
from vrenvs.core.rules import Events
from vrenvs.core.state import TaskConfig, WorldState
from vrenvs.core.tasks.spec import Objective, actor_cells, slots_of

__all__ = ["SERVE", "Serve"]

_IS_KEY = CATALOG.KEY_COLOUR >= 0
_SHUT = CATALOG.IS_CLOSED | CATALOG.IS_LOCKED


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
        ``key``: any key on the ground."""
        fetch = (state.req_type == requests.FETCH) & (state.req_target > 0)
        fetch &= state.carry[:, slot] != state.req_target
        item = (state.items == state.req_target[:, None, None]) & fetch[:, None, None]
        user = actor_cells(state, slots_of(config, "user"))
        place = np.zeros(state.tiles.shape, bool)
        guide = state.req_type == requests.GUIDE
        if guide.any():  # the centre of the region to guide to
            region = np.clip(state.req_target, 0, state.guide.shape[1] - 1)
            place |= (state.guide[np.arange(state.batch), region] == 0) & guide[:, None, None]
        shut = state.req_type == requests.OPEN
        if shut.any():  # the shut doors of the name to open
            shut = shut[:, None, None] & (state.door_map == state.req_target[:, None, None])
            place |= shut & _SHUT[state.tiles]
        return [item, user, place, _IS_KEY[state.items]]

    def left(
        self, state: WorldState, config: TaskConfig, slot: int, at: np.ndarray, dist: np.ndarray
    ) -> np.ndarray:
        """fetch: the path to the wanted item plus one unit, then (carried) the path to the
        user; guide: the user's path to the region's centre; open: the path to the door, or
        the path to a key plus one unit when the door is out of reach; idle: 0."""
        limit = 2 * config.size
        left = np.zeros(state.batch, np.float32)
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
        return np.where(door & ~reachable, at[:, 3] + limit, left)

    def status(self, state: WorldState, config: TaskConfig, b: int) -> str:
        return f"served {int(state.served[b])}  failed {int(state.failed[b])}"


SERVE = Serve()
