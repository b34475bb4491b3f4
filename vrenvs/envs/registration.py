"""Every env id, from the task specs. Importing :mod:`vrenvs` registers them with Gymnasium."""

from __future__ import annotations

import gymnasium as gym

from vrenvs.core.tasks import TASKS, TaskSpec

__all__ = ["ENVS", "env_ids", "register_envs"]

ENVS: tuple[TaskSpec, ...] = TASKS


def env_ids() -> list[str]:
    return [spec.id for spec in TASKS]


def register_envs() -> None:
    for spec in TASKS:
        if spec.id in gym.registry:
            continue
        gym.register(
            id=spec.id,
            entry_point=f"vrenvs.envs.tasks:{spec.cls}Env",
            vector_entry_point=f"vrenvs.envs.tasks:{spec.cls}VectorEnv",
            max_episode_steps=spec.max_steps,
        )
