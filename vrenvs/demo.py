"""The main job on the embedded default: scenes from a source, the scripted oracle assistant
serving the simulated user, a rendered rollout (GIF) and a sheet of the scenes played (PNG).

The learned generators and the trained assistant replace the source and the oracle once
they ship; the command stays ``vrenvs demo``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from vrenvs.core.controllers import controller
from vrenvs.core.sources import default_source
from vrenvs.record import write_frames
from vrenvs.render import mosaic

__all__ = ["run_demo"]


def run_demo(out: Path, episodes: int = 4, seed: int = 0, scenes: str | None = None) -> dict[str, Any]:
    """Play ``episodes`` of Assistant-v0 with the oracle; write ``rollout.gif`` and ``scenes.png``."""
    out.mkdir(parents=True, exist_ok=True)
    env = gym.make("vrenvs/Assistant-v0", render_mode="rgb_array", scenes=scenes, max_episode_steps=120)
    world = env.unwrapped.world  # type: ignore[attr-defined]
    drive = controller("oracle")
    frames: list[np.ndarray] = []
    firsts: list[np.ndarray] = []
    log: list[dict[str, Any]] = []
    start = time.perf_counter()
    for ep in range(episodes):
        _, info = env.reset(seed=seed + ep)
        firsts.append(np.asarray(env.render()))
        for _ in range(120):
            frames.append(np.asarray(env.render()))
            action = int(drive(world.state, world.config, world.config.learner)[0])
            _, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        log.append(
            {"episode": ep, "scene": info["scene"], "served": info["served"], "failed": info["failed"]}
        )
    gif = write_frames(out / "rollout.gif", frames[::2], fps=1000 / 120)
    png = write_frames(out / "scenes.png", [mosaic(firsts, columns=4)])
    return {
        "env": "vrenvs/Assistant-v0",
        "assistant": "scripted BFS oracle",
        "scenes": scenes or default_source(16),
        "episodes": log,
        "requests_served": int(sum(e["served"] for e in log)),
        "requests_failed": int(sum(e["failed"] for e in log)),
        "seconds": round(time.perf_counter() - start, 2),
        "rollout_gif": str(gif),
        "scene_sheet_png": str(png),
    }
