"""Assistant-Fetch: bring the user the item it asks for."""

from __future__ import annotations

from vrenvs.core.tasks.serve import SERVE
from vrenvs.core.tasks.spec import TaskSpec

__all__ = ["FETCH_TASK"]

FETCH_TASK = TaskSpec(
    name="Assistant-Fetch",
    cls="Fetch",
    summary="bring the user the item it asks for",
    objective=SERVE,
    learner="assistant",
    roles=("user", "assistant"),
    npcs=("guard",),
    requests=("fetch",),
    max_steps=256,
    description="""\
A 2D top-down tile world (house, village or cave) holds the simulated user, the learning
assistant and, by default, a patrolling guard. The user asks for one item present in the
world ("Please bring me the blue cup."), chosen by its hidden preference profile. The
assistant must find the item, pick it up, walk to the user and give it. The item is
often out of view at the start; doors may need opening and locked doors a key.""",
    episode_end="Terminated when the user has the item or gives up (after its patience, 200-400 steps).",
)
