"""The one rollout loop: a controller plays the learner's part in an env, episode after
episode, and every state's frame goes to a callback (a window, a GIF, a scene sheet).

``vrenvs watch``, ``vrenvs record`` and the demo all run it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import gymnasium as gym
import numpy as np

from vrenvs.core.checks import check_int
from vrenvs.core.controllers import Controller
from vrenvs.envs.base import WorldEnv

__all__ = ["Frame", "keep", "rollout"]

Frame = Callable[[np.ndarray, int, int], bool]
"""``(rgb frame, episode, step) -> keep going``: called for every state, the first and last
of each episode included; returning False stops the rollout."""


def keep(frames: list[np.ndarray]) -> Frame:
    """A :data:`Frame` callback that appends every frame to ``frames``."""

    def append(frame: np.ndarray, episode: int, step: int) -> bool:
        frames.append(frame)
        return True

    return append


def rollout(
    env: gym.Env, drive: Controller, episodes: int, seed: int, frame: Frame | None = None
) -> list[dict[str, Any]]:
    """``episodes`` episodes of ``env`` (seeds ``seed``, ``seed + 1``, ...) with ``drive``
    choosing the learner's actions (``World.act``: modes and waypoints written as for any
    controller). ``env`` renders ``rgb_array`` when ``frame`` is given. Returns one record
    per episode played: steps, return, served, failed, success and the scene identity."""
    check_int("episodes", episodes, 1)
    check_int("seed", seed, 0)
    world = cast(WorldEnv, env.unwrapped).world
    log: list[dict[str, Any]] = []
    for episode in range(episodes):
        _, info = env.reset(seed=seed + episode)
        steps, total, done = 0, 0.0, False
        going = frame is None or frame(np.asarray(env.render()), episode, 0)
        while going and not done:
            _, reward, terminated, truncated, info = env.step(int(world.act(drive)[0]))
            steps, total, done = steps + 1, total + float(reward), terminated or truncated
            going = frame is None or frame(np.asarray(env.render()), episode, steps)
        log.append(
            {
                "episode": episode,
                "steps": steps,
                "return": total,
                "served": int(info["served"]),
                "failed": int(info["failed"]),
                "is_success": bool(info.get("is_success", False)),
                "scene": info["scene"],
            }
        )
        if not going:
            break
    return log
