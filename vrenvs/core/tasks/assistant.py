"""Assistant: serve a stream of mixed requests."""

from __future__ import annotations

from vrenvs.core.tasks.serve import SERVE
from vrenvs.core.tasks.spec import TaskSpec

__all__ = ["ASSISTANT_TASK"]

ASSISTANT_TASK = TaskSpec(
    name="Assistant",
    cls="Assistant",
    summary="serve a stream of mixed fetch / guide / open requests",
    objective=SERVE,
    learner="assistant",
    roles=("user", "assistant"),
    npcs=("guard",),
    requests=("fetch", "guide", "open"),
    stream=True,
    max_steps=512,
    description="""\
The user makes one request after another: FETCH an item, GUIDE it to a region, or OPEN
a door ("Please open the red door."). A new request follows 4 steps after each one
ends. The assistant must read the request tokens and switch behaviour accordingly.""",
    episode_end="Never terminated. ``is_success`` is served > 0 with none failed.",
)
