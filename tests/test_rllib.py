"""RLlib: the one-hot observation, the MultiAgentEnv adapter and a tiny co-training run.

The adapter and training tests need ``vrenvs[rllib]`` (its own environment: Ray pins
gymnasium 1.2.2; ``make test-rllib``); they are skipped where Ray is not installed.
"""

from __future__ import annotations

import csv
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces

from vrenvs.multiagent import vector_env
from vrenvs.multiagent.flat import OneHot


def test_one_hot_puts_each_code_in_its_own_block():
    space = spaces.Dict(
        {
            "codes": spaces.MultiDiscrete([3, 2]),
            "item": spaces.Discrete(4),
            "scalars": spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32),
        }
    )
    flat = OneHot(space)
    assert flat.space.shape == (3 + 2 + 4 + 2,)
    got = flat({"codes": np.array([2, 0]), "item": np.int64(1), "scalars": np.array([0.25, 0.5], np.float32)})
    assert got.tolist() == [0, 0, 1, 1, 0, 0, 1, 0, 0, 0.25, 0.5]
    assert flat.space.contains(got)


def test_one_hot_of_a_real_observation_has_one_one_per_code():
    env = vector_env("Guard-Thief", scenes="procedural", route=True)
    obs, _ = env.reset(seed=0)
    flat = OneHot(env.single_observation_space)
    agent = {k: v[0, 0] for k, v in obs.items()}
    got = flat(agent)
    codes = agent["view"].size + agent["request"].size + 1  # one 1 per code, inventory too
    boxes = np.concatenate([agent["scalars"], agent["route"]])
    assert flat.space.contains(got)
    assert np.isclose(got.sum(), codes + boxes.sum())
    batch = flat.batch({k: v[:, 1] for k, v in obs.items()})  # the thief, one world
    assert np.array_equal(batch[0], flat({k: v[0, 1] for k, v in obs.items()}))


needs_ray = pytest.mark.skipif(find_spec("ray") is None, reason="needs vrenvs[rllib]: make test-rllib")


def _env(**kwargs):
    from vrenvs.multiagent.rllib import RLlibWorldEnv

    return RLlibWorldEnv({"name": "Guard-Thief", "scenes": "procedural", **kwargs})


@needs_ray
def test_rllibs_own_checks_pass_on_every_scenario():
    from ray.rllib.utils.pre_checks.env import check_multiagent_environments

    from vrenvs.multiagent import scenario_names
    from vrenvs.multiagent.rllib import RLlibWorldEnv

    for name in scenario_names():
        check_multiagent_environments(RLlibWorldEnv({"name": name, "scenes": "procedural"}))


@needs_ray
def test_an_agent_that_leaves_stays_listed_for_the_step_that_reports_its_end():
    # RLlib's checker wants every key of a step's return among ``env.agents``; an agent caught
    # mid-episode is reported on that step and gone from the next one.
    from vrenvs.multiagent.rllib import RLlibWorldEnv

    env = RLlibWorldEnv({"name": "Wolves", "scenes": "procedural", "max_episode_steps": 60})
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=3)
    left_mid_episode = 0
    for _ in range(1500):
        acting = sorted(a for a in env.agents if a in env.parallel.agents)
        obs, _, terminated, truncated, _ = env.step({a: int(rng.integers(9)) for a in env.agents})
        assert set(obs) == set(env.agents) == set(acting)
        gone = {a for a in obs if terminated[a] or truncated[a]}
        assert set(env.parallel.agents) == set(obs) - gone
        if terminated["__all__"] or truncated["__all__"]:
            obs, _ = env.reset()
        elif gone:
            left_mid_episode += 1
            # its action on the next step is ignored, the others' are taken
            env.step({a: 0 for a in env.agents})
            assert not gone & set(env.agents)
            if not env.parallel.agents:
                obs, _ = env.reset()
    assert left_mid_episode >= 3


@needs_ray
def test_all_tells_how_the_episode_ended():
    env = _env(max_episode_steps=30)
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"guard_0", "thief_0"}
    assert all(env.observation_spaces[a].contains(o) for a, o in obs.items())
    ends = []
    for _ in range(200):
        _, _, terminated, truncated, _ = env.step(dict.fromkeys(env.agents, 0))
        if terminated["__all__"] or truncated["__all__"]:
            ends.append((terminated["__all__"], truncated["__all__"], sorted(truncated)))
            env.reset()
    # nobody moves: the thief never reaches loot and the time limit ends every episode
    assert ends and all(e == (False, True, ["__all__", "guard_0", "thief_0"]) for e in ends)


@needs_ray
def test_a_dict_observation_on_request():
    env = _env(flat=False)
    obs, _ = env.reset(seed=0)
    assert sorted(obs["guard_0"]) == ["inventory", "request", "scalars", "view"]
    with pytest.raises(ValueError, match="has no 'name'"):
        type(env)({"scenes": "procedural"})
    with pytest.raises(TypeError, match="flat='yes' must be True or False"):
        _env(flat="yes")


@needs_ray
@pytest.mark.slow
def test_a_tiny_cotraining_run_writes_its_run_folder(tmp_path: Path):
    from agents.rllib_train import main

    code = main(
        [
            "Guard-Thief",
            "--set",
            "n_timesteps=600",
            "num_envs_per_env_runner=2",
            "ppo.train_batch_size_per_learner=300",
            "ppo.minibatch_size=150",
            "ppo.num_epochs=1",
            "eval_every=1",
            "eval_episodes=2",
            "checkpoint_every=1",
            "env_kwargs.scenes=procedural",
            "--num-env-runners",
            "0",
            "--runs",
            str(tmp_path),
            "--run-id",
            "tiny",
            "--no-progress",
        ]
    )
    assert code == 0
    run = tmp_path / "tiny"
    with (run / "eval.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["role"] for r in rows} == {"guard", "thief"}
    assert all(0 <= float(r["success"]) <= 1 for r in rows)
    with (run / "progress.csv").open() as handle:
        progress = list(csv.DictReader(handle))
    assert int(progress[-1]["timesteps"]) >= 600
    assert (run / "checkpoints" / "final").is_dir() and (run / "learning_curves.png").is_file()
    assert any((run / "tb").iterdir())


@needs_ray
def test_bad_configs_are_refused_with_the_choices(capsys):
    from agents.rllib_train import load_rllib_config, main

    with pytest.raises(ValueError, match=r"scenario 'Nope' is unknown; choose from \['Guard-Thief'"):
        load_rllib_config("Nope", [])
    with pytest.raises(ValueError, match=r"--set 'n_steps=3': unknown key; choose from"):
        load_rllib_config("Guard-Thief", ["n_steps=3"])
    with pytest.raises(ValueError, match=r"ppo key 'learning_rate' is unknown; choose from \['clip_param'"):
        load_rllib_config("Guard-Thief", ["ppo.learning_rate=0.1"])
    with pytest.raises(ValueError, match=r"test_start=10 lies inside the training scenes"):
        load_rllib_config("Guard-Thief", ["test_start=10"])
    with pytest.raises(ValueError, match=r"env_kwargs.num_scenes is set by the run"):
        load_rllib_config("Guard-Thief", ["env_kwargs.num_scenes=5"])
    assert main(["Guard-Thief", "--set", "seed=-1"]) == 2
    assert "seed=-1" in capsys.readouterr().err


@needs_ray
def test_an_exported_role_policy_acts_as_the_rllib_module(tmp_path: Path):
    import gymnasium as gym
    import torch
    from ray.rllib.algorithms.ppo.ppo_catalog import PPOCatalog
    from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    from agents.rllib_policy import export_module, load_role_policy

    spec = RLModuleSpec(
        module_class=DefaultPPOTorchRLModule,
        observation_space=gym.spaces.Box(0, 1, (20,), np.float32),
        action_space=gym.spaces.Discrete(9),
        model_config=DefaultModelConfig(fcnet_hiddens=[16, 8]).__dict__,
        catalog_class=PPOCatalog,
    )
    module = spec.build()
    export_module(module, tmp_path / "guard", {"scenario": "Guard-Thief", "role": "guard"})
    policy, card = load_role_policy(tmp_path / "guard")
    assert (card["inputs"], card["hiddens"]) == (20, [16, 8])
    x = torch.rand(5, 20)
    with torch.no_grad():
        want = module.forward_inference({"obs": x})["action_dist_inputs"]
    assert torch.allclose(policy(x), want, atol=1e-6)
    (tmp_path / "guard" / "policy.safetensors").write_bytes(b"junk")
    with pytest.raises(ValueError, match="does not match the sha256"):
        load_role_policy(tmp_path / "guard")


@needs_ray
@pytest.mark.slow
def test_a_tiny_asha_search_writes_its_table(tmp_path: Path):
    from agents.rllib_tune import main

    code = main(
        [
            "vrenvs/NPC-Guard-v0",  # an env id without an RLlib config is refused first
        ]
    )
    assert code == 2
    code = main(
        [
            "Guard-Thief",
            "--samples",
            "2",
            "--max-iterations",
            "2",
            "--set",
            "num_envs_per_env_runner=2",
            "ppo.train_batch_size_per_learner=100",
            "ppo.minibatch_size=50",
            "ppo.num_epochs=1",
            "env_kwargs.scenes=procedural",
            "num_env_runners=0",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    with (tmp_path / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2
    assert all(1e-5 <= float(r["lr"]) <= 1e-3 and 0.1 <= float(r["clip_param"]) <= 0.3 for r in rows)
    assert "ASHA search on Guard-Thief" in (tmp_path / "results.md").read_text()


def test_a_role_policy_drives_its_role_in_a_single_agent_world(tmp_path: Path):
    """A co-trained thief as ``npc_controllers`` of NPC-Guard; a guard policy is refused there."""
    import gymnasium as gym
    import torch

    from agents.rllib_policy import RolePolicy, save_role_policy

    env = vector_env("Guard-Thief", scenes="procedural", route=True)
    inputs = OneHot(env.single_observation_space).space.shape[0]
    torch.manual_seed(0)
    meta = {"scenario": "Guard-Thief", "env_kwargs": {"scenes": "procedural", "route": True}}
    thief = save_role_policy(RolePolicy(inputs, [8]), tmp_path / "thief", {**meta, "role": "thief"})
    guard = save_role_policy(RolePolicy(inputs, [8]), tmp_path / "guard", {**meta, "role": "guard"})
    single = gym.make(
        "vrenvs/NPC-Guard-v0", scenes="procedural", route=True, npc_controllers={"thief": str(thief)}
    )
    single.reset(seed=0)
    world = single.unwrapped.world
    moved = 0
    for _ in range(20):
        before = world.state.pos[0, 1].copy()
        single.step(0)
        moved += int((world.state.pos[0, 1] != before).any())
    assert moved > 0  # the thief acts (by its policy: its slot has no scripted controller)
    with pytest.raises(
        ValueError, match=r"is a policy trained as the guard; give a policy trained as the thief"
    ):
        gym.make("vrenvs/NPC-Guard-v0", npc_controllers={"thief": str(guard)})
