"""NPC-Flee: the learner is a critter that eats food while wolves hunt it.

Events: ``food`` per food item eaten by the learner, ``caught`` when it is caught; the
episode ends when it is caught.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.rules import Events
from vrenvs.core.state import TaskConfig, WorldState
from vrenvs.core.tasks.spec import Objective, TaskSpec, actor_cells, slots_of

__all__ = ["FLEE", "FLEE_TASK", "Flee"]


class Flee(Objective):
    NAME = "flee"
    REWARDS = MappingProxyType({"food": 1.0, "caught": -1.0})
    EVENTS = MappingProxyType(
        {
            "food": "the learner eats a food item (steps on it)",
            "caught": "a wolf catches the learner (stands next to it)",
        }
    )
    GOALS = ("food", "chaser", "-", "-")

    def counts(self, events: Events, state: WorldState, config: TaskConfig) -> dict[str, np.ndarray]:
        me = config.learner
        return {"food": events.ate[:, me] > 0, "caught": events.caught[:, me]}

    def terminated(self, events: Events, state: WorldState, config: TaskConfig) -> np.ndarray:
        return np.asarray(~state.active[:, config.learner])

    def success(self, state: WorldState, config: TaskConfig) -> np.ndarray:
        return state.active[:, config.learner]

    def targets(self, state: WorldState, config: TaskConfig, slot: int) -> list[np.ndarray]:
        """``food`` on the ground; ``chaser``: active wolves."""
        none = np.zeros(state.tiles.shape, bool)
        chaser = actor_cells(state, slots_of(config, "chaser"))
        return [CATALOG.FOOD[state.items], chaser, none, none]

    def left(
        self, state: WorldState, config: TaskConfig, slot: int, at: np.ndarray, dist: np.ndarray
    ) -> np.ndarray:
        """Nothing: surviving and eating have no path to shorten."""
        return np.zeros(state.batch, np.float32)

    def status(self, state: WorldState, config: TaskConfig, b: int) -> str:
        return f"eaten {int(state.eaten[b])}"


FLEE = Flee()

FLEE_TASK = TaskSpec(
    name="NPC-Flee",
    cls="Flee",
    summary="critter: eat food while wolves chase you",
    objective=FLEE,
    learner="critter",
    roles=("critter",),
    npcs=("chaser", "chaser"),
    needs=("chaser",),
    max_steps=300,
    num_food=4,
    description="""\
The learner is a critter. Two wolves wander the map and chase it by shortest path once
it is within 5 steps. Food (apples, bread) lies around; stepping on it eats it and new
food grows elsewhere. Four food items are kept on the map at the start.""",
    episode_end="Terminated when a wolf catches the critter (stands next to it).",
)
