"""The wolf's objective (``chase``): catch the critters. No registered single-agent task has
a chaser learner; the multi-agent envs (:mod:`vrenvs.multiagent`) use it for every chaser
that learns.

Events: ``caught`` per critter caught in the step (by any wolf: the pack shares it); a
chaser is done once no critter is left.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from vrenvs.core.rules import Events
from vrenvs.core.state import TaskConfig, WorldState
from vrenvs.core.tasks.spec import Objective, actor_cells, slots_of

__all__ = ["CHASE", "Chase"]


class Chase(Objective):
    NAME = "chase"
    REWARDS = MappingProxyType({"caught": 1.0})
    EVENTS = MappingProxyType({"caught": "a critter is caught (a wolf stands next to it)"})
    GOALS = ("critter", "-", "-", "-")

    def counts(self, events: Events, state: WorldState, config: TaskConfig) -> dict[str, np.ndarray]:
        return {"caught": events.caught[:, slots_of(config, "critter")].sum(axis=1)}

    def terminated(self, events: Events, state: WorldState, config: TaskConfig) -> np.ndarray:
        return np.asarray(~state.active[:, slots_of(config, "critter")].any(axis=1))

    def success(self, state: WorldState, config: TaskConfig) -> np.ndarray:
        """Every critter caught."""
        return np.asarray(~state.active[:, slots_of(config, "critter")].any(axis=1))

    def targets(self, state: WorldState, config: TaskConfig, slot: int) -> list[np.ndarray]:
        """``critter``: active critters."""
        none = np.zeros(state.tiles.shape, bool)
        return [actor_cells(state, slots_of(config, "critter")), none, none, none]

    def left(
        self, state: WorldState, config: TaskConfig, slot: int, at: np.ndarray, dist: np.ndarray
    ) -> np.ndarray:
        """The path to the nearest critter."""
        return at[:, 0]

    def status(self, state: WorldState, config: TaskConfig, b: int) -> str:
        return f"critters left {int(state.active[b, slots_of(config, 'critter')].sum())}"


CHASE = Chase()
