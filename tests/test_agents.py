"""SB3 glue: the VecEnv adapter honours SB3's contract; the features extractor trains."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env
from stable_baselines3.common.vec_env import DummyVecEnv

import vrenvs  # noqa: F401
from agents.features import WorldFeatures
from agents.vec_env import make_vec_env

ENV_IDS = sorted(i for i in gym.registry if i.startswith("vrenvs/"))


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_adapter_matches_dummy_vec_env_over_single_envs(env_id):
    n, limit = 3, 40
    ours = make_vec_env(env_id, n, seed=5, max_episode_steps=limit)
    theirs = DummyVecEnv([lambda: gym.make(env_id, max_episode_steps=limit) for _ in range(n)])
    theirs.seed(5)
    assert _same(ours.reset(), theirs.reset())
    actions = np.random.default_rng(0).integers(0, 9, (120, n))
    ends = 0
    for t, a in enumerate(actions):
        obs_a, rew_a, done_a, info_a = ours.step(a)
        obs_b, rew_b, done_b, info_b = theirs.step(a)
        assert _same(obs_a, obs_b), f"step {t}: obs"
        assert np.allclose(rew_a, rew_b) and np.array_equal(done_a, done_b), f"step {t}"
        for i in np.flatnonzero(done_a):
            ends += 1
            assert _same(info_a[i]["terminal_observation"], info_b[i]["terminal_observation"])
            assert info_a[i]["TimeLimit.truncated"] == info_b[i].get("TimeLimit.truncated", False)
    assert ends >= n, "the comparison must cover episode ends"


def test_features_extractor_shapes_and_a_short_ppo_run(tmp_path):
    venv = make_vec_env("vrenvs/Assistant-Fetch-v0", 4, seed=0)
    model = PPO(
        "MultiInputPolicy",
        venv,
        n_steps=32,
        batch_size=64,
        n_epochs=1,
        policy_kwargs={"features_extractor_class": WorldFeatures},
        seed=0,
        device="cpu",
    )
    model.learn(total_timesteps=128)
    obs = venv.reset()
    actions, _ = model.predict(obs, deterministic=True)
    assert actions.shape == (4,) and ((actions >= 0) & (actions < 9)).all()
    path = tmp_path / "ppo.zip"
    model.save(path)
    assert path.stat().st_size > 0


def test_single_env_is_accepted_by_sb3_with_the_extractor():
    check_env(gym.make("vrenvs/Assistant-Guide-v0").unwrapped)
