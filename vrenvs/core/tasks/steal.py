"""The thief's objective (``steal``): take a valuable item and leave the map with it, without
being caught. No registered single-agent task has a thief learner; the multi-agent envs
(:mod:`vrenvs.multiagent`) use it for every thief that learns.

Events: ``escaped`` when this thief leaves by its entry with an item, ``caught`` when a guard
catches it; it is done once it has left the world either way.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.rules import Events
from vrenvs.core.state import TaskConfig, WorldState
from vrenvs.core.tasks.spec import Objective, actor_cells, slots_of

__all__ = ["STEAL", "Steal"]


class Steal(Objective):
    NAME = "steal"
    REWARDS = MappingProxyType({"escaped": 1.0, "caught": -1.0})
    EVENTS = MappingProxyType(
        {
            "escaped": "the learner leaves the map by its entry with an item",
            "caught": "a guard catches the learner (stands next to it)",
        }
    )
    GOALS = ("loot", "entry", "guard", "-")

    def counts(self, events: Events, state: WorldState, config: TaskConfig) -> dict[str, np.ndarray]:
        me = config.learner
        return {"escaped": events.escaped[:, me], "caught": events.caught[:, me]}

    def terminated(self, events: Events, state: WorldState, config: TaskConfig) -> np.ndarray:
        return np.asarray(~state.active[:, config.learner])

    def success(self, state: WorldState, config: TaskConfig) -> np.ndarray:
        """Left the world with an item (a caught thief drops its loot)."""
        me = config.learner
        return ~state.active[:, me] & (state.carry[:, me] > 0)

    def targets(self, state: WorldState, config: TaskConfig, slot: int) -> list[np.ndarray]:
        """``loot``: valuable items on the ground; ``entry``: where ``slot`` came in (and
        leaves); ``guard``: active guards."""
        loot = CATALOG.REQUESTABLE[state.items]
        entry = actor_cells(state, [slot], where=state.home)
        return [loot, entry, actor_cells(state, slots_of(config, "guard")), np.zeros(state.tiles.shape, bool)]

    def left(
        self, state: WorldState, config: TaskConfig, slot: int, at: np.ndarray, dist: np.ndarray
    ) -> np.ndarray:
        """Holding an item: the path to the entry; else the path to the nearest loot plus one
        unit."""
        holding = state.carry[:, slot] > 0
        return np.where(holding, at[:, 1], at[:, 0] + 2 * config.size).astype(np.float32)

    def status(self, state: WorldState, config: TaskConfig, b: int) -> str:
        me = config.learner
        return f"carrying {int(state.carry[b, me])}  {'in the world' if state.active[b, me] else 'gone'}"


STEAL = Steal()
