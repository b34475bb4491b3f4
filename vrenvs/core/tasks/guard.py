"""NPC-Guard: the learner is a guard that must catch the thief before it escapes with loot.

Events: ``caught`` per thief caught, ``escaped`` per thief that got away with an item; the
episode ends when no thief is left.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.rules import Events
from vrenvs.core.state import TaskConfig, WorldState
from vrenvs.core.tasks.spec import Objective, TaskSpec, actor_cells, slots_of

__all__ = ["GUARD", "GUARD_TASK", "Guard"]


class Guard(Objective):
    NAME = "guard"
    REWARDS = MappingProxyType({"caught": 1.0, "escaped": -1.0})
    EVENTS = MappingProxyType(
        {
            "caught": "a thief is caught (an actor that catches it stands next to it)",
            "escaped": "a thief leaves the map with an item",
        }
    )
    GOALS = ("thief", "entry", "loot", "-")

    def counts(self, events: Events, state: WorldState, config: TaskConfig) -> dict[str, np.ndarray]:
        return {"caught": events.caught.sum(axis=1), "escaped": events.escaped.sum(axis=1)}

    def terminated(self, events: Events, state: WorldState, config: TaskConfig) -> np.ndarray:
        return np.asarray(~state.active[:, slots_of(config, "thief")].any(axis=1))

    def success(self, state: WorldState, config: TaskConfig) -> np.ndarray:
        thieves = slots_of(config, "thief")
        return (state.carry[:, thieves] == 0).all(axis=1) & ~state.active[:, thieves].any(axis=1)

    def targets(self, state: WorldState, config: TaskConfig, slot: int) -> list[np.ndarray]:
        """``thief``: active thieves; ``entry``: where they came in (and escape); ``loot``:
        valuable items on the ground."""
        thieves = slots_of(config, "thief")
        none = np.zeros(state.tiles.shape, bool)
        loot = CATALOG.REQUESTABLE[state.items]
        return [actor_cells(state, thieves), actor_cells(state, thieves, where=state.home), loot, none]

    def left(
        self, state: WorldState, config: TaskConfig, slot: int, at: np.ndarray, dist: np.ndarray
    ) -> np.ndarray:
        """The path to the nearest thief."""
        return at[:, 0]

    def status(self, state: WorldState, config: TaskConfig, b: int) -> str:
        return f"thieves left {int(state.active[b, slots_of(config, 'thief')].sum())}"


GUARD = Guard()

GUARD_TASK = TaskSpec(
    name="NPC-Guard",
    cls="Guard",
    summary="guard: catch the thief before it escapes with an item",
    objective=GUARD,
    learner="guard",
    roles=("guard", "thief"),
    needs=("thief",),
    max_steps=200,
    description="""\
The learner is a guard. A thief walks to a valuable item, picks it up and heads back to
where it came in, fleeing a guard that comes within 2 steps. The guard catches the thief
by standing next to it. ``request`` holds the fixed task phrase.""",
    episode_end="Terminated when the thief is caught or has escaped.",
)
