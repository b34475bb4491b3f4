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


def test_one_hot_reads_an_integer_box_from_zero_as_codes_and_other_boxes_as_they_are():
    codes = spaces.Box(0, np.array([2, 1]), shape=(2,), dtype=np.int64)
    as_box = OneHot(spaces.Dict({"codes": codes}))
    as_multi = OneHot(spaces.Dict({"codes": spaces.MultiDiscrete([3, 2])}))
    assert as_box.space == as_multi.space
    assert as_box({"codes": np.array([2, 0])}).tolist() == [0, 0, 1, 1, 0]
    shifted = OneHot(spaces.Dict({"x": spaces.Box(1, 3, shape=(2,), dtype=np.int64)}))
    assert shifted({"x": np.array([1, 3])}).tolist() == [1, 3]  # not from 0: values


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
@pytest.mark.parametrize("model", ["mlp", "world"])
def test_a_tiny_cotraining_run_writes_its_run_folder(tmp_path: Path, model: str):
    from agents.rllib_policy import load_role_policy
    from agents.rllib_train import main

    code = main(
        [
            "Guard-Thief",
            "--set",
            f"model={model}",
            "policy={features_dim: 16, channels: 4, net_arch: [8]}",
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
    for role in ("guard", "thief"):
        policy, card = load_role_policy(run / "policies" / role)
        assert card["format"] == f"vrenvs-rllib-{model}-1" and card["role"] == role
        assert type(policy).__name__ == {"mlp": "RolePolicy", "world": "WorldRolePolicy"}[model]


REFUSED_CONFIGS = [
    (["n_steps=3"], ValueError, r"--set 'n_steps=3': unknown key; choose from"),
    (
        ["ppo.learning_rate=0.1"],
        ValueError,
        r"ppo key 'learning_rate' is unknown; choose from \['clip_param'",
    ),
    (["test_start=10"], ValueError, r"test_start=10 lies inside the training scenes"),
    (["env_kwargs.num_scenes=5"], ValueError, r"env_kwargs.num_scenes is set by the run"),
    (["model=cnn"], ValueError, r"model='cnn' .*\['mlp', 'world'\]"),
    (["eval_greedy='yes'"], TypeError, r"eval_greedy='yes' must be true or false"),
    (["ppo.use_kl_loss=1"], TypeError, r"ppo.use_kl_loss=1 must be true or false"),
    (["policy={channels: 0}"], ValueError, r"policy.channels=0"),
]


@needs_ray
@pytest.mark.parametrize(("overrides", "error", "message"), REFUSED_CONFIGS)
def test_bad_configs_are_refused_with_the_choices(overrides, error, message):
    from agents.rllib_train import load_rllib_config

    with pytest.raises(error, match=message):
        load_rllib_config("Guard-Thief", overrides)


@needs_ray
def test_an_unknown_scenario_or_a_bad_seed_is_refused(capsys):
    from agents.rllib_train import load_rllib_config, main

    with pytest.raises(ValueError, match=r"scenario 'Nope' is unknown; choose from \['Guard-Thief'"):
        load_rllib_config("Nope", [])
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

    env = vector_env("Guard-Thief", 5, scenes="procedural")
    flat = OneHot(env.single_observation_space)
    inputs = flat.space.shape[0]
    spec = RLModuleSpec(
        module_class=DefaultPPOTorchRLModule,
        observation_space=flat.space,
        action_space=gym.spaces.Discrete(9),
        model_config=DefaultModelConfig(fcnet_hiddens=[16, 8]).__dict__,
        catalog_class=PPOCatalog,
    )
    module = spec.build()
    meta = {"scenario": "Guard-Thief", "role": "guard", "env_kwargs": {"scenes": "procedural"}}
    export_module(module, tmp_path / "guard", meta)
    policy, card = load_role_policy(tmp_path / "guard")
    assert (card["inputs"], card["hiddens"]) == (inputs, [16, 8])
    obs, _ = env.reset(seed=0)
    guards = {k: v[:, 0] for k, v in obs.items()}
    with torch.no_grad():
        want = module.forward_inference({"obs": torch.as_tensor(flat.batch(guards))})["action_dist_inputs"]
    assert np.array_equal(policy.act(guards), want.argmax(dim=-1).numpy())
    assert torch.allclose(policy(torch.as_tensor(flat.batch(guards))), want, atol=1e-6)
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


@pytest.mark.parametrize("model", ["mlp", "world"])
def test_a_role_policy_drives_its_role_in_a_single_agent_world(tmp_path: Path, model: str):
    """A co-trained thief as ``npc_controllers`` of NPC-Guard; a guard policy is refused there."""
    import gymnasium as gym
    import torch

    from agents.rllib_policy import RolePolicy, WorldRolePolicy, save_role_policy

    env = vector_env("Guard-Thief", scenes="procedural", route=True)
    inputs = OneHot(env.single_observation_space).space.shape[0]

    def made() -> RolePolicy | WorldRolePolicy:
        if model == "mlp":
            return RolePolicy(inputs, [8])
        world = WorldRolePolicy(env.single_observation_space, features_dim=16, channels=4, net_arch=[8])
        torch.nn.init.normal_(world.action_net.weight)  # not the near-uniform start,
        world.action_net.bias.data[1:5] += 3.0  # and one that walks (up, right, down, left)
        return world

    torch.manual_seed(0)
    meta = {"scenario": "Guard-Thief", "env_kwargs": {"scenes": "procedural", "route": True}}
    thief = save_role_policy(made(), tmp_path / "thief", {**meta, "role": "thief"})
    guard = save_role_policy(made(), tmp_path / "guard", {**meta, "role": "guard"})
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


def test_the_world_net_is_the_sb3_policy_with_its_names():
    """``WorldNet`` holds SB3's PPO policy networks under SB3's names: the SB3 policy's weights
    load into it as they are and give the same action probabilities and values."""
    import torch

    from agents.features import WorldNet
    from agents.policy_io import build_model

    kwargs = {"scenes": "procedural", "route": True}
    sizes = {"features_dim": 32, "channels": 4, "net_arch": [16]}
    model = build_model("vrenvs/Assistant-Fetch-v0", kwargs, sizes, {})
    sb3 = model.policy.state_dict()
    shared = ("pi_features_extractor.", "vf_features_extractor.")  # aliases of features_extractor
    mine = {k: v for k, v in sb3.items() if not k.startswith(shared)}
    env = vector_env("Assistant-Fetch", 6, **kwargs)
    net = WorldNet(env.single_observation_space, **sizes)
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == {
        k: tuple(v.shape) for k, v in mine.items()
    }
    net.load_state_dict(mine)
    obs, _ = env.reset(seed=1)
    batch = {k: v[:, 0] for k, v in obs.items()}
    tensors = {k: torch.as_tensor(v) for k, v in batch.items()}
    with torch.no_grad():
        want_p = model.policy.get_distribution(model.policy.obs_to_tensor(batch)[0]).distribution.probs
        want_v = model.policy.predict_values(model.policy.obs_to_tensor(batch)[0]).squeeze(-1)
        got_p = torch.softmax(net.logits(tensors), dim=-1)
        got_v = net.value(tensors)
    assert torch.allclose(got_p, want_p, atol=1e-6) and torch.allclose(got_v, want_v, atol=1e-5)
    # initialised as SB3 initialises: a near-uniform policy (action_net gain 0.01)
    fresh = torch.softmax(WorldNet(env.single_observation_space, **sizes).logits(tensors), dim=-1)
    assert (fresh - 1 / 9).abs().max() < 0.01


@needs_ray
def test_an_exported_world_policy_acts_as_the_world_module(tmp_path: Path):
    import gymnasium as gym
    import torch
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    from agents.rllib_module import WorldModule
    from agents.rllib_policy import WorldRolePolicy, export_module, load_role_policy

    env = vector_env("Guard-Thief", 5, scenes="procedural", route=True)
    sizes = {"features_dim": 16, "channels": 4, "net_arch": [8]}
    module = RLModuleSpec(
        module_class=WorldModule,
        observation_space=env.single_observation_space,
        action_space=gym.spaces.Discrete(9),
        model_config=sizes,
    ).build()
    meta = {"scenario": "Guard-Thief", "role": "thief", "env_kwargs": {"scenes": "procedural", "route": True}}
    export_module(module, tmp_path / "thief", meta)
    policy, card = load_role_policy(tmp_path / "thief")
    assert isinstance(policy, WorldRolePolicy)
    assert (card["format"], card["policy"]) == ("vrenvs-rllib-world-1", sizes)
    obs, _ = env.reset(seed=0)
    thieves = {k: v[:, 1] for k, v in obs.items()}
    with torch.no_grad():
        want = module.forward_inference({"obs": {k: torch.as_tensor(v) for k, v in thieves.items()}})
        values = module.compute_values({"obs": {k: torch.as_tensor(v) for k, v in thieves.items()}})
    assert np.array_equal(policy.act(thieves), want["action_dist_inputs"].argmax(dim=-1).numpy())
    assert values.shape == (5,)
    # a policy read against a scenario whose observation differs is refused, naming both
    card["env_kwargs"] = {"scenes": "procedural"}  # no route sensor
    (tmp_path / "thief" / "policy.json").write_text(__import__("json").dumps(card))
    with pytest.raises(
        ValueError, match=r"features_extractor.head.0.weight is \(16, 270\) there, \(16, 246\) by"
    ):
        load_role_policy(tmp_path / "thief")


@needs_ray
@pytest.mark.slow
def test_evaluation_and_export_use_the_learners_weights_with_remote_runners(tmp_path: Path):
    """Both read ``algo.get_module`` (the driver's copy): RLlib must keep it in step with the
    learner when remote runners sample, or held-out results and exports would be stale."""
    import torch

    from agents.rllib_policy import export_module, load_role_policy
    from agents.rllib_train import algo_config, load_rllib_config, start_ray

    cfg = load_rllib_config(
        "Guard-Thief",
        [
            "num_env_runners=1",
            "num_envs_per_env_runner=2",
            "ppo.train_batch_size_per_learner=200",
            "ppo.minibatch_size=100",
            "ppo.num_epochs=1",
            "env_kwargs.scenes=procedural",
        ],
    )
    algo = algo_config(cfg, start_ray()).build_algo()
    try:
        first = {k: v.clone() for k, v in algo.get_module("guard").state_dict().items()}
        algo.train()
        learner = algo.learner_group.get_weights(module_ids=["guard"])["guard"]
        meta = {"scenario": "Guard-Thief", "role": "guard", "env_kwargs": cfg.env_kwargs}
        export_module(algo.get_module("guard"), tmp_path / "guard", meta)
    finally:
        algo.stop()
    policy, _ = load_role_policy(tmp_path / "guard")
    want = torch.as_tensor(learner["net.action_net.weight"])
    assert torch.equal(policy.action_net.weight, want)
    assert not torch.equal(want, first["net.action_net.weight"])  # one update moved it


def test_a_world_role_policy_exports_to_the_sb3_format_and_acts_the_same(tmp_path: Path):
    import torch

    from agents.policy_io import load_policy, read_meta
    from agents.rllib_policy import WorldRolePolicy, export_sb3, sb3_env_id

    assert sb3_env_id("Guard-Thief", "guard") == "vrenvs/NPC-Guard-v0"
    assert sb3_env_id("Guard-Thief", "thief") is None  # no single-agent env learns the thief
    assert sb3_env_id("Assistant-Fetch", "assistant") == "vrenvs/Assistant-Fetch-v0"
    kwargs = {"scenes": "procedural", "route": True}
    env = vector_env("Assistant-Fetch", 8, **kwargs)
    torch.manual_seed(0)
    policy = WorldRolePolicy(env.single_observation_space, features_dim=16, channels=4, net_arch=[8])
    torch.nn.init.normal_(policy.action_net.weight)
    meta = {
        "env_id": "vrenvs/Assistant-Fetch-v0",
        "env_kwargs": kwargs,
        "num_timesteps": 1234,
        "engine": "rllib",
    }
    folder = export_sb3(policy, tmp_path / "assistant", meta)
    model = load_policy(folder)
    assert model.num_timesteps == 1234 and read_meta(folder)["engine"] == "rllib"
    obs, _ = env.reset(seed=2)
    batch = {k: v[:, 0] for k, v in obs.items()}
    with torch.no_grad():
        want = torch.softmax(policy.logits({k: torch.as_tensor(v) for k, v in batch.items()}), dim=-1)
        got = model.policy.get_distribution(model.policy.obs_to_tensor(batch)[0]).distribution.probs
    assert torch.allclose(got, want, atol=1e-6)
    assert np.array_equal(model.predict(batch, deterministic=True)[0], policy.act(batch))
    other = {**meta, "env_kwargs": {"scenes": "procedural"}}  # no route sensor: another observation
    with pytest.raises(ValueError, match=r"vrenvs/Assistant-Fetch-v0 observes .*; the policy reads"):
        export_sb3(policy, tmp_path / "other", other)


def test_sampled_evaluation_draws_from_the_policy_and_is_seeded():
    import torch

    from agents.rllib_policy import WorldRolePolicy, evaluate_roles

    kwargs = {"scenes": "procedural", "route": True, "max_episode_steps": 20}
    env = vector_env("Assistant-Fetch", 6, **kwargs)
    policy = WorldRolePolicy(env.single_observation_space, features_dim=16, channels=4, net_arch=[8])
    torch.nn.init.zeros_(policy.action_net.weight)  # every action equally likely
    obs, _ = env.reset(seed=0)
    mine = {k: v[:, 0] for k, v in obs.items()}
    assert policy.act(mine).tolist() == [0] * 6  # greedy: the first of equal logits
    drawn = policy.act(mine, greedy=False, rng=np.random.default_rng(1))
    assert len(set(drawn.tolist())) > 1
    assert drawn.tolist() == policy.act(mine, greedy=False, rng=np.random.default_rng(1)).tolist()
    runs = [
        evaluate_roles({"assistant": policy}, "Assistant-Fetch", kwargs, 8, seed=3, greedy=g)
        for g in (False, False, True)
    ]
    assert runs[0] == runs[1]
    assert runs[2]["assistant"]["return"] == 0.0  # standing still serves nobody


def test_shipping_a_run_copies_its_roles_with_their_heldout_card(tmp_path: Path, monkeypatch):
    import json

    import torch
    import yaml

    import agents.pretrained as pretrained
    from agents.rllib_policy import WorldRolePolicy, save_role_policy
    from agents.rllib_ship import ship

    kwargs = {"scenes": "procedural", "route": True, "max_episode_steps": 20}
    env = vector_env("Guard-Thief", scenes="procedural", route=True)
    run = tmp_path / "run"
    meta = {
        "scenario": "Guard-Thief",
        "env_kwargs": kwargs,
        "num_timesteps": 4096,
        "train_scenes": 100,
        "test_start": 1000,
        "test_scenes": 100,
    }
    torch.manual_seed(0)
    for role in ("guard", "thief"):
        policy = WorldRolePolicy(env.single_observation_space, features_dim=16, channels=4, net_arch=[8])
        save_role_policy(policy, run / "policies" / role, {**meta, "role": role})
    config = {"scenario": "Guard-Thief", "model": "world", "policy": policy.sizes, "seed": 3}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setattr(pretrained, "PRETRAINED", tmp_path / "pretrained")
    dest = ship(run, episodes=4, dest=tmp_path / "pretrained" / "rllib-Guard-Thief")
    rows = json.loads((dest / "heldout.json").read_text())
    kinds = {(r["role"], r["opponents"], r["actions"]) for r in rows}
    assert kinds == {
        (role, opponents, actions)
        for role in ("guard", "thief")
        for opponents in ("co-trained", "scripted")
        for actions in ("greedy", "sampled")
    }
    text = (dest / "card.md").read_text()
    assert "# Model card: `rllib-Guard-Thief`" in text and "4 episodes per row" in text
    assert text.count("| guard |") == 4 and "seed=3`" in text
    assert pretrained.role_names() == ["rllib-Guard-Thief/guard", "rllib-Guard-Thief/thief"]
    assert pretrained.policy_folder("rllib-Guard-Thief/thief") == dest / "thief"
    assert pretrained.role("rllib-Guard-Thief/thief") == "thief"
    with pytest.raises(
        ValueError, match=r"no policy 'rllib-Guard-Thief/cook': give a shipped policy \(.*thief"
    ):
        pretrained.policy_folder("rllib-Guard-Thief/cook")


@needs_ray
@pytest.mark.slow
def test_the_runner_benchmark_reports_training_and_sampling_rates(tmp_path: Path, capsys):
    import json

    from agents.rllib_bench import main

    tiny = [
        "num_envs_per_env_runner=2",
        "ppo.train_batch_size_per_learner=200",
        "ppo.minibatch_size=100",
        "ppo.num_epochs=1",
        "env_kwargs.scenes=procedural",
    ]
    out = tmp_path / "bench.json"
    assert (
        main(["Guard-Thief", "--runners", "0", "1", "--iterations", "1", "--out", str(out), "--set", *tiny])
        == 0
    )
    rows = json.loads(out.read_text())["rows"]
    assert [r["env_runners"] for r in rows] == [0, 1]
    assert all(r["train_steps_per_second"] > 0 and r["sample_steps_per_second"] > 0 for r in rows)
    assert rows[0]["x_first"] == rows[0]["sample_x_first"] == 1.0
    assert "| 1 |" in capsys.readouterr().out


@needs_ray
@pytest.mark.slow
def test_a_stop_signal_ends_the_run_with_its_evaluation_and_exports(tmp_path: Path):
    import os
    import signal
    import subprocess
    import sys
    import time

    command = [
        sys.executable,
        "-m",
        "agents.train",
        "--engine",
        "rllib",
        "Guard-Thief",
        "--set",
        "n_timesteps=100000000",
        "num_envs_per_env_runner=2",
        "ppo.train_batch_size_per_learner=200",
        "ppo.minibatch_size=100",
        "ppo.num_epochs=1",
        "eval_every=1000",
        "eval_episodes=2",
        "env_kwargs.scenes=procedural",
        "--num-env-runners",
        "0",
        "--runs",
        str(tmp_path),
        "--run-id",
        "stopped",
        "--no-progress",
    ]
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    progress = tmp_path / "stopped" / "progress.csv"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (progress.is_file() and progress.read_text().count("\n") >= 2):
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=240)
    assert process.returncode == 0, err.decode()[-2000:]
    run = tmp_path / "stopped"
    with (run / "eval.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["role"] for r in rows} == {"guard", "thief"}  # the last evaluation
    assert all((run / "policies" / role / "policy.json").is_file() for role in ("guard", "thief"))


def test_sb3_and_rllib_runs_are_evaluated_by_one_evaluator(tmp_path: Path, capsys):
    import json

    import torch

    from agents.engines import final_policy, main
    from agents.policy_io import build_model, save_policy
    from agents.rllib_policy import WorldRolePolicy, save_role_policy

    kwargs = {"scenes": "procedural", "route": True}
    sizes = {"features_dim": 16, "channels": 4, "net_arch": [8]}
    model = build_model("vrenvs/Assistant-Fetch-v0", kwargs, sizes, {})
    save_policy(
        model, tmp_path / "sb3" / "final", {"env_id": "vrenvs/Assistant-Fetch-v0", "env_kwargs": kwargs}
    )
    env = vector_env("Assistant-Fetch", 5, **kwargs)
    torch.manual_seed(1)
    mine = WorldRolePolicy(env.single_observation_space, **sizes)
    meta = {"scenario": "Assistant-Fetch", "role": "assistant", "env_kwargs": kwargs, "num_timesteps": 7}
    save_role_policy(mine, tmp_path / "rllib" / "policies" / "assistant", meta)
    policy, card = final_policy(tmp_path / "sb3", "assistant")
    assert (card["scenario"], card["role"]) == ("Assistant-Fetch", "assistant")
    obs, _ = env.reset(seed=4)
    batch = {k: v[:, 0] for k, v in obs.items()}
    assert np.array_equal(policy.act(batch), model.predict(batch, deterministic=True)[0])
    out = tmp_path / "rows.json"
    runs = ["--run", f"SB3={tmp_path / 'sb3'}", "--run", f"RLlib={tmp_path / 'rllib'}"]
    assert main([*runs, "--episodes", "2", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [(r["set-up"], r["steps"]) for r in rows] == [("SB3", 0), ("RLlib", 7)]
    assert all(0 <= r[k]["success"] <= 1 for r in rows for k in ("greedy", "sampled"))
    assert "| RLlib | rllib | 7 |" in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"has neither final/policy.json \(SB3\) nor policies/guard"):
        final_policy(tmp_path / "rllib", "guard")
