"""The battery every registered id passes (ids come from the registry, not a hand list)."""

from __future__ import annotations

import pickle
import random
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.registration import EnvSpec
from gymnasium.utils.env_checker import check_env, data_equivalence

import vrenvs  # noqa: F401  (registers the ids)

ENV_IDS = sorted(i for i in gym.registry if i.startswith("vrenvs/"))


def test_registry_has_the_promised_envs():
    for name in ("Assistant-Fetch", "Assistant-Guide", "Assistant", "NPC-Guard", "NPC-Flee"):
        assert f"vrenvs/{name}-v0" in ENV_IDS


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env_with_warnings_as_errors(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(env_id)
        check_env(env.unwrapped, skip_render_check=False)
        env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_stable_baselines3_check_env(env_id):
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_checker.check_env(gym.make(env_id).unwrapped, warn=True)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pickled_env_continues_identically(env_id):
    env = gym.make(env_id)
    env.reset(seed=3)
    for a in (1, 2, 3):
        if env.step(a)[2]:  # terminated: the next step needs a reset
            env.reset(seed=4)
    clone = pickle.loads(pickle.dumps(env))
    for a in (4, 5, 8, 1, 2):
        out = env.step(a)
        assert data_equivalence(out[:4], clone.step(a)[:4])
        if out[2]:  # terminated: the next step needs a reset
            break


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_spec_json_round_trip(env_id):
    env = gym.make(env_id, size=16, obs_mode="full")
    spec = EnvSpec.from_json(env.spec.to_json())
    assert spec == env.spec
    again = gym.make(spec)
    assert again.observation_space == env.observation_space


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_truncated_exactly_at_max_episode_steps(env_id):
    limit = 40
    env = gym.make(env_id, max_episode_steps=limit)
    for seed in range(20):
        env.reset(seed=seed)
        for t in range(1, limit + 1):
            _, _, terminated, truncated, _ = env.step(0)
            if terminated:
                break
            assert truncated == (t == limit), f"step {t}: truncated={truncated}"
        else:
            return
    pytest.fail("every episode terminated early; truncation never reached")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_env_truncates_itself(env_id):
    env = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point", max_episode_steps=25)
    env.reset(seed=0)
    seen = np.zeros(3, bool)
    for t in range(1, 26):
        _, _, terminated, truncated, _ = env.step(np.zeros(3, np.int64))
        seen |= terminated
        assert (truncated[~seen] == (t == 25)).all()
    env.close()


def _rollout(env_id: str, seed: int, steps: int = 300, meddle: bool = False) -> list:
    env = gym.make(env_id)
    actions = np.random.default_rng(1234).integers(0, env.action_space.n, steps)
    out = [env.reset(seed=seed)]
    for a in actions:
        if meddle:
            np.random.seed(int(a))  # noqa: NPY002 - the agent-side call under test
            random.seed(int(a))
            torch = pytest.importorskip("torch")
            torch.manual_seed(int(a))
        step = env.step(int(a))
        out.append(step)
        if step[2] or step[3]:
            out.append(env.reset())
    return out


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_300_step_trajectory_with_resets(env_id):
    assert data_equivalence(_rollout(env_id, 7), _rollout(env_id, 7))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_global_seeding_by_the_agent_does_not_change_the_env(env_id):
    assert data_equivalence(_rollout(env_id, 7, 120), _rollout(env_id, 7, 120, meddle=True))


def test_a_vector_reset_without_a_seed_goes_on_like_gymnasiums_own_vector_envs():
    # reset(seed=0) then reset() must replay: it drew fresh entropy for every world
    kwargs = {"num_envs": 3, "scenes": "procedural"}
    native = gym.make_vec("vrenvs/Assistant-Fetch-v0", vectorization_mode="vector_entry_point", **kwargs)
    reference = gym.make_vec("vrenvs/Assistant-Fetch-v0", vectorization_mode="sync", **kwargs)
    got = [native.reset(seed=0), native.reset(), native.reset(seed=[None, 5, None])]
    want = [reference.reset(seed=0), reference.reset(), reference.reset(seed=[None, 5, None])]
    assert data_equivalence([g[0] for g in got], [w[0] for w in want])
    assert not np.array_equal(got[0][0]["view"], got[1][0]["view"])


def test_different_seeds_give_different_scenes():
    env = gym.make("vrenvs/Assistant-Fetch-v0")
    scenes = {env.reset(seed=s)[1]["scene"]["index"] for s in range(10)}
    assert len(scenes) == 10


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_env_equals_single_envs_step_by_step(env_id):
    n, steps = 4, 300
    kwargs = {"num_envs": n, "max_episode_steps": 100}
    native = gym.make_vec(env_id, vectorization_mode="vector_entry_point", **kwargs)
    reference = gym.make_vec(env_id, vectorization_mode="sync", **kwargs)
    actions = np.random.default_rng(0).integers(0, 9, (steps, n))
    obs_a, _ = native.reset(seed=11)
    obs_b, _ = reference.reset(seed=11)
    assert data_equivalence(obs_a, obs_b)
    ended = 0
    for t, a in enumerate(actions):
        out_a = native.step(a)
        out_b = reference.step(a)
        for name, x, y in zip(("obs", "reward", "terminated", "truncated"), out_a[:4], out_b[:4]):
            assert data_equivalence(x, y), f"step {t}: {name} differs"
        ended += int((out_a[2] | out_a[3]).sum())
    assert ended > 0, "the comparison must cover autoresets"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_step_autoreset_equals_gymnasium_sync_vector_env(env_id):
    from gymnasium.vector import AutoresetMode

    n, steps = 3, 150
    kwargs = {"num_envs": n, "max_episode_steps": 60}
    native = gym.make_vec(
        env_id, vectorization_mode="vector_entry_point", autoreset_mode="same_step", **kwargs
    )
    reference = gym.make_vec(
        env_id, vectorization_mode="sync", vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP}, **kwargs
    )
    assert native.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    actions = np.random.default_rng(1).integers(0, 9, (steps, n))
    assert data_equivalence(native.reset(seed=4)[0], reference.reset(seed=4)[0])
    finals = 0
    for t, a in enumerate(actions):
        obs_a, rew_a, term_a, trunc_a, info_a = native.step(a)
        obs_b, rew_b, term_b, trunc_b, info_b = reference.step(a)
        for name, x, y in (("obs", obs_a, obs_b), ("reward", rew_a, rew_b), ("term", term_a, term_b)):
            assert data_equivalence(x, y), f"step {t}: {name} differs"
        assert data_equivalence(trunc_a, trunc_b)
        ended = term_a | trunc_a
        if ended.any():
            finals += 1
            for i in np.flatnonzero(ended):
                assert data_equivalence(info_a["final_obs"][i], info_b["final_obs"][i])
    assert finals > 0


def test_ended_infos_give_the_same_episodes_and_only_the_ended_worlds_infos():
    """``infos="ended"`` (what the SB3 adapter asks for) changes nothing but the infos: the
    same observations, rewards and flags as ``"every"``, an empty info on steps where no
    episode ended, and on those that end one exactly ``final_obs`` / ``final_info`` with the
    values ``"every"`` gives."""
    n, steps = 3, 200
    kwargs = {"num_envs": n, "max_episode_steps": 40, "autoreset_mode": "same_step"}
    every = gym.make_vec("vrenvs/Assistant-Fetch-v0", vectorization_mode="vector_entry_point", **kwargs)
    ended_only = gym.make_vec(
        "vrenvs/Assistant-Fetch-v0", vectorization_mode="vector_entry_point", infos="ended", **kwargs
    )
    assert data_equivalence(every.reset(seed=3), ended_only.reset(seed=3))  # a reset's infos are whole
    finals = 0
    for t, a in enumerate(np.random.default_rng(2).integers(0, 9, (steps, n))):
        obs_a, rew_a, term_a, trunc_a, info_a = every.step(a)
        obs_b, rew_b, term_b, trunc_b, info_b = ended_only.step(a)
        assert data_equivalence((obs_a, rew_a, term_a, trunc_a), (obs_b, rew_b, term_b, trunc_b)), t
        if not (term_a | trunc_a).any():
            assert info_b == {}, t
            continue
        finals += 1
        assert sorted(info_b) == ["_final_info", "_final_obs", "final_info", "final_obs"]
        for key in info_b:
            assert data_equivalence(info_a[key], info_b[key]), (t, key)
    assert finals >= 5
