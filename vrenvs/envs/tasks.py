"""The env classes, one single-env and one vector-env class per task spec.

``FetchEnv`` / ``FetchVectorEnv`` and the others are made from :data:`vrenvs.core.tasks.TASKS`;
each single-env docstring is its env's documentation page (:mod:`vrenvs.envs.docs`).
"""

from __future__ import annotations

from vrenvs.core.tasks import TASKS, TaskSpec
from vrenvs.envs.base import WorldEnv, WorldVectorEnv
from vrenvs.envs.docs import doc_page

__all__ = ["ENV_CLASSES", "VECTOR_CLASSES"]


def _classes(spec: TaskSpec) -> tuple[type[WorldEnv], type[WorldVectorEnv]]:
    single = type(
        f"{spec.cls}Env", (WorldEnv,), {"TASK": spec, "__doc__": doc_page(spec), "__module__": __name__}
    )
    vector = type(
        f"{spec.cls}VectorEnv",
        (WorldVectorEnv,),
        {
            "TASK": spec,
            "__doc__": f"Native vector env of :class:`{single.__name__}` (see its documentation).",
            "__module__": __name__,
        },
    )
    return single, vector


_MADE = {spec.cls: _classes(spec) for spec in TASKS}
ENV_CLASSES: dict[str, type[WorldEnv]] = {name: pair[0] for name, pair in _MADE.items()}
VECTOR_CLASSES: dict[str, type[WorldVectorEnv]] = {name: pair[1] for name, pair in _MADE.items()}
globals().update({cls.__name__: cls for cls in (*ENV_CLASSES.values(), *VECTOR_CLASSES.values())})
