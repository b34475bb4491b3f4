"""The PPO case of ``vrenvs bench`` (its ``vrenvs.bench`` entry point ``ppo``)."""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym

from agents.vec_env import VrenvsVecEnv

__all__ = ["ppo_rates"]


def ppo_rates(name: str, env_id: str, peer_id: str, steps: int) -> dict[str, float] | None:
    """Env-steps/s of SB3 PPO (defaults, MLP policy, 4 envs) and the share of wall time in
    the envs' ``step``."""
    try:
        from stable_baselines3 import PPO
        from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv
    except ImportError:
        return None
    if name == "vrenvs":
        venv: VecEnv = VrenvsVecEnv(env_id, 4, flat=True)  # one Box, as ImgObsWrapper gives the peer
    else:
        from minigrid.wrappers import ImgObsWrapper

        venv = DummyVecEnv([lambda: ImgObsWrapper(gym.make(peer_id)) for _ in range(4)])
    spent = [0.0]
    inner = venv.step_wait

    def timed() -> Any:
        start = time.perf_counter()
        out = inner()
        spent[0] += time.perf_counter() - start
        return out

    venv.step_wait = timed  # type: ignore[method-assign]
    model = PPO("MlpPolicy", venv, seed=0, device="cpu", n_steps=512)
    model.learn(512 * 4)  # warm-up
    spent[0] = 0.0
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    wall = time.perf_counter() - start
    return {"env_steps_per_second": steps / wall, "env_share": spent[0] / wall}
