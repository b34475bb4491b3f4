"""The tasks: one :class:`TaskSpec` per registered env, in :data:`TASKS`.

A new task is one spec file here (a :class:`TaskSpec`, and an :class:`Objective` if its
learner is rewarded for something new), its entry in :data:`TASKS`, and a training config
``agents/configs/<name>.yaml``. Registration, the env classes, their documentation pages
and the list of training configs follow from :data:`TASKS`.
"""

from __future__ import annotations

from vrenvs.core.state import TaskConfig
from vrenvs.core.tasks.assistant import ASSISTANT_TASK
from vrenvs.core.tasks.chase import CHASE
from vrenvs.core.tasks.fetch import FETCH_TASK
from vrenvs.core.tasks.flee import FLEE, FLEE_TASK
from vrenvs.core.tasks.guard import GUARD, GUARD_TASK
from vrenvs.core.tasks.guide import GUIDE_TASK
from vrenvs.core.tasks.serve import SERVE
from vrenvs.core.tasks.spec import Objective, TaskSpec
from vrenvs.core.tasks.steal import STEAL

__all__ = ["OBJECTIVES", "TASKS", "Objective", "TaskSpec", "objective", "objective_of", "task"]

TASKS: tuple[TaskSpec, ...] = (FETCH_TASK, GUIDE_TASK, ASSISTANT_TASK, GUARD_TASK, FLEE_TASK)

OBJECTIVES: dict[str, Objective] = {o.NAME: o for o in (SERVE, GUARD, FLEE, STEAL, CHASE)}
"""Every objective by name; a role's (``objective`` in ``actors.yaml``) is what it is
rewarded for as a learner. ``steal`` and ``chase`` have no single-agent task (yet): the
multi-agent envs use them."""


def task(name: str) -> TaskSpec:
    """The spec of task ``name`` (``"Assistant-Fetch"`` or its id ``"vrenvs/Assistant-Fetch-v0"``)."""
    for spec in TASKS:
        if name in (spec.name, spec.id):
            return spec
    raise ValueError(f"unknown task {name!r}; choose from {[s.name for s in TASKS]}")


def objective(name: str) -> Objective:
    """The objective called ``name`` (``serve``, ``guard``, ``flee``, ``steal``, ``chase``)."""
    if name not in OBJECTIVES:
        raise ValueError(f"unknown objective {name!r}; choose from {sorted(OBJECTIVES)}")
    return OBJECTIVES[name]


def objective_of(config: TaskConfig) -> Objective:
    """The objective of a world's configuration (``config.goal``)."""
    return objective(config.goal)
