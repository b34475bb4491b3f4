"""Every env id in one place. Importing :mod:`vrenvs` registers them with Gymnasium."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym

__all__ = ["ENVS", "EnvInfo", "env_ids", "register_envs"]


@dataclass(frozen=True)
class EnvInfo:
    name: str
    cls: str
    max_episode_steps: int
    summary: str

    @property
    def id(self) -> str:
        return f"vrenvs/{self.name}-v0"


ENVS = (
    EnvInfo("Assistant-Fetch", "Fetch", 256, "bring the user the item it asks for"),
    EnvInfo("Assistant-Guide", "Guide", 256, "lead the user to a named region"),
    EnvInfo("Assistant", "Assistant", 512, "serve a stream of mixed fetch / guide / open requests"),
    EnvInfo("NPC-Guard", "Guard", 200, "guard: catch the thief before it escapes with an item"),
    EnvInfo("NPC-Flee", "Flee", 300, "critter: eat food while wolves chase you"),
)


def env_ids() -> list[str]:
    return [e.id for e in ENVS]


def register_envs() -> None:
    for env in ENVS:
        if env.id in gym.registry:
            continue
        gym.register(
            id=env.id,
            entry_point=f"vrenvs.envs.tasks:{env.cls}Env",
            vector_entry_point=f"vrenvs.envs.tasks:{env.cls}VectorEnv",
            max_episode_steps=env.max_episode_steps,
        )
