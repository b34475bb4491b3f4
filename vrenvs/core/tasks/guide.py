"""Assistant-Guide: lead the user to a named place."""

from __future__ import annotations

from vrenvs.core.tasks.serve import SERVE
from vrenvs.core.tasks.spec import TaskSpec

__all__ = ["GUIDE_TASK"]

GUIDE_TASK = TaskSpec(
    name="Assistant-Guide",
    cls="Guide",
    summary="lead the user to a named region",
    objective=SERVE,
    learner="assistant",
    roles=("user", "assistant"),
    npcs=("guard",),
    requests=("guide",),
    max_steps=256,
    description="""\
The user asks to be taken to a region ("Please take me to the kitchen."). Regions are
named from the tiles (kitchen, hall, room, garden, shore, square, market, meadow; with
compass words when a name repeats). The user follows the assistant while it is within 3
steps, with a per-user chance (mobility) of taking each step; the assistant must lead,
opening doors on the way, and not run off.""",
    episode_end="Terminated when the user arrives or gives up.",
)
