"""The PPO case of ``vrenvs bench`` (its ``vrenvs.bench`` entry point ``ppo``)."""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
from gymnasium.wrappers import FlattenObservation

from agents.vec_env import VrenvsVecEnv

__all__ = ["NAMES", "ppo_rates"]


NAMES = ("vrenvs", "minigrid", "vrenvs-plain", "minigrid-plain", "vrenvs-flat-plain")
"""The cases: ``vrenvs`` / ``minigrid``: ``MlpPolicy`` on one ``Box`` per env
(``VrenvsVecEnv(flat=True)``, ``ImgObsWrapper``), ``n_steps`` 512; ``*-plain``: a user's
plain SB3 code with every default, ``PPO("MultiInputPolicy", make_vec_env(ID, n_envs=4))``
on ours and ``PPO("MlpPolicy", make_vec_env(ID, n_envs=4, wrapper_class=ImgObsWrapper))`` on
the peer; ``vrenvs-flat-plain``: the same defaults with ``MlpPolicy`` over Gymnasium's
``FlattenObservation`` (the same one-hot features as one ``Box``)."""


def ppo_rates(name: str, env_id: str, peer_id: str, steps: int) -> dict[str, float] | None:
    """Env-steps/s of SB3 PPO (default hyperparameters, 4 envs; see :data:`NAMES`) and the
    share of wall time in the envs' ``step``."""
    if name not in NAMES:
        raise ValueError(f"PPO bench case {name!r} is not one of {', '.join(NAMES)}")
    try:
        from stable_baselines3 import PPO
        from stable_baselines3.common.env_util import make_vec_env
        from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv
    except ImportError:
        return None
    plain = name.endswith("-plain")
    if name == "vrenvs":
        venv: VecEnv = VrenvsVecEnv(env_id, 4, flat=True)  # one Box, as ImgObsWrapper gives the peer
    elif name == "vrenvs-plain":
        venv = make_vec_env(env_id, n_envs=4, seed=0)
    elif name == "vrenvs-flat-plain":
        venv = make_vec_env(env_id, n_envs=4, seed=0, wrapper_class=FlattenObservation)
    else:
        from minigrid.wrappers import ImgObsWrapper

        if plain:
            venv = make_vec_env(peer_id, n_envs=4, seed=0, wrapper_class=ImgObsWrapper)
        else:
            venv = DummyVecEnv([lambda: ImgObsWrapper(gym.make(peer_id)) for _ in range(4)])
    spent = [0.0]
    inner = venv.step_wait

    def timed() -> Any:
        start = time.perf_counter()
        out = inner()
        spent[0] += time.perf_counter() - start
        return out

    venv.step_wait = timed  # type: ignore[method-assign]
    if plain:
        policy = "MultiInputPolicy" if name == "vrenvs-plain" else "MlpPolicy"
        model = PPO(policy, venv, seed=0, device="cpu")
    else:
        model = PPO("MlpPolicy", venv, seed=0, device="cpu", n_steps=512)
    model.learn(model.n_steps * 4)  # warm-up: one update
    spent[0] = 0.0
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    wall = time.perf_counter() - start
    return {"env_steps_per_second": steps / wall, "env_share": spent[0] / wall}
