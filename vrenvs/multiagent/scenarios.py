"""The registered multi-agent scenarios: a task's world, the NPCs in it and the roles that learn.

Any task with any ``learners`` is a multi-agent env (``parallel_env("Assistant",
learners=["assistant", "guard"])``); a scenario names a useful combination and documents it.
"""

from __future__ import annotations

from dataclasses import dataclass

from vrenvs.core.tasks import TaskSpec, task

__all__ = ["SCENARIOS", "Scenario", "scenario", "scenario_names"]


@dataclass(frozen=True)
class Scenario:
    """``learners`` are roles: every actor slot of a learning role is an agent."""

    name: str
    task: str  # the task whose world (roles, requests, limits) the scenario plays
    learners: tuple[str, ...]
    npcs: tuple[str, ...] | None  # None: the task's default NPCs
    summary: str
    description: str

    @property
    def spec(self) -> TaskSpec:
        return task(self.task)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        name="Guard-Thief",
        task="NPC-Guard",
        learners=("guard", "thief"),
        npcs=None,
        summary="a guard and a thief, both learning: catch it / escape with an item",
        description="""\
The NPC-Guard world with both sides learning. The thief is rewarded for leaving by its
entry with a valuable item (+1) and punished when caught (-1); the guard the other way
round. Zero-sum. Ends when the thief has left the world (caught or escaped), else at the
time limit (200 steps).""",
    ),
    Scenario(
        name="Wolves",
        task="NPC-Flee",
        learners=("critter", "chaser"),
        npcs=("critter", "chaser", "chaser"),
        summary="two critters eat and flee, two wolves hunt them; all four learn",
        description="""\
The NPC-Flee world with two critters and two wolves. A critter gets +1 per food item it
eats and -1 when caught; it leaves when caught. The wolves share +1 per critter caught
and leave when no critter is left. Food grows back. Time limit 300 steps.""",
    ),
    Scenario(
        name="Everyone",
        task="Assistant",
        learners=("assistant", "guard", "thief", "chaser", "critter"),
        npcs=("guard", "thief", "chaser", "critter"),
        summary="the assistant serves the user while a guard, a thief, a wolf and a critter learn",
        description="""\
The Assistant world (a stream of fetch / guide / open requests, 512 steps) with every NPC
role learning beside the assistant: the assistant is rewarded for served requests, the
guard for catches (and -1 per escape), the thief for escaping with an item, the wolf for
catching the critter, the critter for food. The user is scripted.""",
    ),
)


def scenario_names() -> list[str]:
    return [s.name for s in SCENARIOS]


def scenario(name: str) -> Scenario | None:
    """The scenario called ``name`` (None when ``name`` is not a scenario)."""
    for s in SCENARIOS:
        if s.name == name:
            return s
    return None
