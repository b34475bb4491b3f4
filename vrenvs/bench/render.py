"""``rgb_array`` frames/s of vrenvs next to MiniGrid's ``render()``, measured in one run.

Every case draws 256 x 256 frames: vrenvs at ``tile_size=16`` on a 16 x 16 scene, single
env and a native vector env of 64 worlds, and MiniGrid-DoorKey-8x8-v0 (8 cells x 32 px).
Only the ``render()`` call is timed; between frames each env takes a random step, so every
frame shows a new state. Cases are interleaved round by round so machine drift hits all
alike; the table gives min / median / max over rounds and the ratio of medians to MiniGrid.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import vrenvs  # noqa: F401  (registers the ids)
from vrenvs.bench.timing import compare

__all__ = ["run_render_bench"]

ENV_ID = "vrenvs/Assistant-v0"
MINIGRID = "MiniGrid-DoorKey-8x8 render()"


def _single(env_id: str, frames: int, **kwargs: Any) -> Callable[[], float]:
    env = gym.make(env_id, render_mode="rgb_array", **kwargs)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, int(env.action_space.n), frames).tolist()  # type: ignore[attr-defined]

    def run() -> float:
        spent = 0.0
        for a in actions:
            _, _, terminated, truncated, _ = env.step(a)
            if terminated or truncated:
                env.reset()
            start = time.perf_counter()
            env.render()
            spent += time.perf_counter() - start
        return frames / spent

    return run


def _batched(num_envs: int, frames: int) -> Callable[[], float]:
    env = gym.make_vec(
        ENV_ID,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        render_mode="rgb_array",
        tile_size=16,
    )
    env.reset(seed=0)
    calls = max(frames // num_envs, 2)
    actions = np.random.default_rng(0).integers(0, 9, (calls, num_envs))

    def run() -> float:
        spent = 0.0
        for a in actions:
            env.step(a)
            start = time.perf_counter()
            env.render()
            spent += time.perf_counter() - start
        return calls * num_envs / spent

    return run


def cases(quick: bool) -> dict[str, Callable[[], float]]:
    n = 100 if quick else 1500
    cases = {
        "vrenvs single render()": _single(ENV_ID, n, tile_size=16),
        "vrenvs vector B=64 render()": _batched(64, 16 * n),
    }
    try:
        import minigrid  # noqa: F401

        cases[MINIGRID] = _single("MiniGrid-DoorKey-8x8-v0", n)
    except ImportError:
        print('minigrid is not installed (pip install "vrenvs[bench]"): ratios are skipped')
    return cases


def check_sizes() -> None:
    """Every case must draw the same 256 x 256 frames, or the comparison means nothing."""
    ours = gym.make(ENV_ID, render_mode="rgb_array", tile_size=16)
    ours.reset(seed=0)
    shape = np.asarray(ours.render()).shape
    if shape != (256, 256, 3):
        raise RuntimeError(f"vrenvs frames are {shape}, expected (256, 256, 3)")


def run_render_bench(out: Path, quick: bool = False) -> dict[str, Any]:
    """Measure, print a markdown table and write ``render_bench.json`` / ``.md`` in ``out``."""
    check_sizes()
    return compare(
        cases(quick),
        rounds=2 if quick else 7,
        peer=MINIGRID,
        unit="frames",
        out=out / "render_bench",
        note="256x256 RGB (vrenvs: 16x16 scene, tile_size=16; MiniGrid DoorKey-8x8: 8x8 x 32 px)",
    )
