"""SB3 glue: the VecEnv adapter honours SB3's contract; the features extractor trains."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

pytest.importorskip("stable_baselines3")

from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env
from stable_baselines3.common.vec_env import DummyVecEnv

import vrenvs  # noqa: F401
from agents.features import WorldFeatures
from agents.vec_env import make_vec_env, policy_space

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


def test_flat_observations_are_the_dict_observations_in_one_vector():
    """``flat=True`` gives SB3's MlpPolicy one Box: the Dict entries in key order, the
    Discrete inventory one-hot; terminal observations are flattened the same way."""
    limit = 15
    flat = make_vec_env("vrenvs/Assistant-Fetch-v0", 2, seed=3, flat=True, max_episode_steps=limit)
    plain = make_vec_env("vrenvs/Assistant-Fetch-v0", 2, seed=3, max_episode_steps=limit)
    space = plain.observation_space
    assert isinstance(flat.observation_space, gym.spaces.Box)
    n_inventory = int(space["inventory"].n)

    def expected(obs: dict) -> np.ndarray:
        parts = []
        for key in space.spaces:  # Dict keys are sorted
            value = np.asarray(obs[key])
            if key == "inventory":
                value = np.eye(n_inventory, dtype=np.float32)[value.astype(int)]
            parts.append(value.reshape(len(value), -1).astype(np.float32))
        return np.concatenate(parts, axis=1)

    got = flat.reset()
    assert got.shape == (2, flat.observation_space.shape[0]) and got.dtype == np.float32
    assert np.array_equal(got, expected(plain.reset()))
    assert flat.observation_space.contains(got[0])
    ends = 0
    for t in range(2 * limit):
        a = np.array([t % 9, (t * 5) % 9])
        obs_f, _, done, info_f = flat.step(a)
        obs_p, _, _, info_p = plain.step(a)
        assert np.array_equal(obs_f, expected(obs_p)), f"step {t}"
        for i in np.flatnonzero(done):
            ends += 1
            final = {k: np.asarray(v)[None] for k, v in info_p[i]["terminal_observation"].items()}
            assert np.array_equal(info_f[i]["terminal_observation"], expected(final)[0])
    assert ends >= 2, "the comparison must cover episode ends"
    PPO("MlpPolicy", flat, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu").learn(32)


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


def test_plain_sb3_one_hot_encodes_the_codes_and_flatten_observation_gives_the_same_features():
    """A user's plain ``PPO("MultiInputPolicy", make_vec_env(ID))``: SB3 one-hot encodes the
    view (7*7*(13+11+8)), request (10*50) and inventory (11) and passes the scalars (7).
    Gymnasium's ``FlattenObservation`` gives the same one-hot features as one ``Box`` (for an
    ``MlpPolicy``), and so does our ``OneHot`` (RLlib's flat observation)."""
    from gymnasium.wrappers import FlattenObservation
    from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env

    from vrenvs.multiagent.flat import OneHot

    venv = sb3_make_vec_env("vrenvs/Assistant-Fetch-v0", n_envs=2, seed=0)
    model = PPO("MultiInputPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu")
    assert model.policy.features_extractor.features_dim == 1568 + 500 + 11 + 7
    model.learn(32)
    env = gym.make("vrenvs/Assistant-Fetch-v0", scenes="procedural")
    flat = FlattenObservation(env)
    assert flat.observation_space.shape == (2086,)
    got, _ = flat.reset(seed=0)
    raw, _ = env.unwrapped.reset(seed=0)
    assert np.array_equal(got, OneHot(env.observation_space)(raw))
    codes = np.concatenate([got[:511], got[518:]])  # inventory, request | scalars | view
    assert set(np.unique(codes).tolist()) == {0.0, 1.0} and codes.sum() == 1 + 10 + 147
    assert got[511:518].tolist() == pytest.approx(raw["scalars"].tolist())
    flat_venv = sb3_make_vec_env(
        "vrenvs/Assistant-Fetch-v0", n_envs=2, seed=0, wrapper_class=FlattenObservation
    )
    PPO("MlpPolicy", flat_venv, n_steps=16, batch_size=32, n_epochs=1, seed=0, device="cpu").learn(32)


def test_world_features_reads_codes_as_sb3_reads_the_one_hot_and_keeps_the_cell_major_grid():
    """From codes (our vector env's policy space) the extractor builds the same grid, and so
    the same features, as from SB3's one-hot of the env's ``MultiDiscrete``; the grid is a
    cell-major (channels-last) view, the layout the shipped policies were trained on (the
    convolution's rounding depends on it)."""
    from stable_baselines3.common.preprocessing import preprocess_obs

    env = gym.make("vrenvs/Assistant-Fetch-v0", scenes="procedural", route=True)
    space = env.observation_space
    codes_space = policy_space(space)
    obs = [env.reset(seed=s)[0] for s in range(3)]
    batch = {k: torch.as_tensor(np.stack([o[k] for o in obs])) for k in space.spaces}
    from_codes = WorldFeatures(codes_space, features_dim=16, channels=4)
    from_one_hot = WorldFeatures(space, features_dim=16, channels=4)
    from_one_hot.load_state_dict(from_codes.state_dict())
    codes = preprocess_obs(batch, codes_space)
    one_hot = preprocess_obs(batch, space)
    grid = from_codes._grid_of_codes(codes["view"])
    assert torch.equal(grid, from_one_hot._grid(one_hot["view"]))
    assert grid.shape == (3, 32, 7, 7) and grid.stride() == (49 * 32, 1, 7 * 32, 32)
    assert grid.sum().item() == 3 * 147 and set(grid.unique().tolist()) == {0.0, 1.0}
    # the one-hot path's grid is channel-major: the same features up to rounding
    assert torch.allclose(from_codes(codes), from_one_hot(one_hot), atol=1e-6)


def test_ppo_bench_refuses_an_unknown_case_naming_the_cases():
    from agents.bench import ppo_rates

    names = "vrenvs, minigrid, vrenvs-plain, minigrid-plain, vrenvs-flat-plain"
    with pytest.raises(ValueError, match=f"'plain' is not one of {names}"):
        ppo_rates("plain", "vrenvs/Assistant-Fetch-v0", "MiniGrid-DoorKey-8x8-v0", 64)


CODES = ("view", "request")
ENV_ID = "vrenvs/Assistant-Fetch-v0"


def test_policy_space_is_the_same_for_the_codes_as_multidiscrete_or_as_an_integer_box():
    """A user's wrapper may declare the codes as an integer ``Box``: the policies see the
    same space (and act the same) either way."""
    from agents.vec_env import policy_space

    env_space = gym.make("vrenvs/Assistant-Fetch-v0").observation_space
    as_box = gym.spaces.Dict(
        {
            k: gym.spaces.Box(0, sub.nvec - 1, shape=sub.shape, dtype=np.int64)
            if k in ("view", "request")
            else sub
            for k, sub in env_space.spaces.items()
        }
    )
    seen = policy_space(env_space)
    assert seen == policy_space(as_box)
    assert seen["view"].dtype == np.float32 and seen["view"].high[:49].tolist() == [12.0] * 49
    assert seen["request"].high.tolist() == [49.0] * 10


def test_single_env_is_accepted_by_sb3_with_the_extractor():
    check_env(gym.make("vrenvs/Assistant-Guide-v0").unwrapped)


TINY = [
    "n_envs=2",
    "n_timesteps=256",
    "eval_every=128",
    "eval_episodes=2",
    "checkpoint_every=128",
    "ppo.n_steps=64",
    "ppo.batch_size=64",
    "ppo.n_epochs=1",
    "env_kwargs={max_episode_steps: 24}",
    "policy.channels=8",
    "policy.features_dim=32",
    "policy.net_arch=[32]",
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from agents.train import train

    runs = tmp_path_factory.mktemp("runs")
    return train("vrenvs/Assistant-Fetch-v0", TINY, runs=runs, run_id="a", progress_bar=False)


def test_tiny_training_run_writes_the_run_folder(tiny_run):
    for name in (
        "config.yaml",
        "eval.csv",
        "learning_curve.png",
        "best/policy.json",
        "final/policy.safetensors",
    ):
        assert (tiny_run / name).exists(), name
    assert (tiny_run / "checkpoints/latest/state.json").exists()
    assert any((tiny_run / "tb").rglob("events.out.tfevents*"))


def test_two_identical_seeded_runs_act_identically(tmp_path):
    from agents.policy_io import load_policy
    from agents.train import train

    short = [t for t in TINY if not t.startswith("n_timesteps")] + ["n_timesteps=128"]
    runs = [
        train("vrenvs/Assistant-Fetch-v0", short, tmp_path, f"r{i}", progress_bar=False) for i in range(2)
    ]
    venv = make_vec_env("vrenvs/Assistant-Fetch-v0", 8, seed=1)
    obs = venv.reset()
    acts = [load_policy(r / "final").predict(obs, deterministic=True)[0] for r in runs]
    assert np.array_equal(acts[0], acts[1])


def test_resume_continues_from_the_saved_step_count(tiny_run):
    import json

    from agents.train import train

    state = json.loads((tiny_run / "checkpoints/latest/state.json").read_text())
    assert state["num_timesteps"] >= 256
    import yaml

    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    config["n_timesteps"] = state["num_timesteps"] + 128
    (tiny_run / "config.yaml").write_text(yaml.safe_dump(config))
    train("vrenvs/Assistant-Fetch-v0", resume=tiny_run, progress_bar=False)
    after = json.loads((tiny_run / "checkpoints/latest/state.json").read_text())
    assert after["num_timesteps"] == state["num_timesteps"] + 128


def test_crafted_policy_file_does_not_run_code(tmp_path, tiny_run):
    """A policy folder whose files carry a pickle payload must be refused, not executed."""
    import pickle
    import shutil

    from agents.policy_io import PolicyFileError, load_policy

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    bad = tmp_path / "crafted"
    shutil.copytree(tiny_run / "final", bad)
    (bad / "policy.safetensors").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(PolicyFileError, match="sha256"):
        load_policy(bad)
    meta = (bad / "policy.json").read_text()
    import hashlib

    digest = hashlib.sha256((bad / "policy.safetensors").read_bytes()).hexdigest()
    import json

    data = json.loads(meta)
    data["sha256"] = digest  # even with matching digests the file is only parsed as tensors
    from vrenvs.core.jsonfiles import digest as config_digest

    data["config_sha256"] = config_digest(data, "config_sha256")
    (bad / "policy.json").write_text(json.dumps(data))
    with pytest.raises(PolicyFileError, match="cannot be loaded"):
        load_policy(bad)
    assert not marker.exists(), "loading a policy ran code from the file"


def test_bad_inputs_give_clear_errors(tmp_path, tiny_run):
    from agents.config import load_config
    from agents.evaluate import main as eval_main
    from agents.policy_io import PolicyFileError, load_policy

    with pytest.raises(ValueError, match=r"config key 'ppo.learnin_rate' does not exist"):
        load_config("vrenvs/Assistant-Fetch-v0", ["ppo.learnin_rate=1"])
    with pytest.raises(ValueError, match=r"unknown task 'vrenvs/Nope-v0'; choose from \['Assistant-Fetch'"):
        load_config("vrenvs/Nope-v0")
    with pytest.raises(PolicyFileError, match="missing"):
        load_policy(tmp_path / "nowhere")
    assert eval_main([str(tiny_run / "final"), "--env", "vrenvs/Assistant-Guide-v0", "--episodes", "2"]) == 2


def test_eval_cli_prints_policy_and_baselines(tiny_run, capsys):
    from agents.evaluate import main as eval_main

    code = eval_main(
        [str(tiny_run / "final"), "--env", "vrenvs/Assistant-Fetch-v0", "--episodes", "2", "--json"]
    )
    assert code == 0
    import json

    rows = json.loads(capsys.readouterr().out)
    assert set(rows) == {"policy (deterministic)", "policy (stochastic)", "random", "scripted (oracle)"}
    assert all(0 <= r["success_low"] <= r["success"] <= r["success_high"] <= 1 for r in rows.values())


@pytest.mark.slow
def test_sigint_writes_a_loadable_checkpoint(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from agents.policy_io import load_policy

    args = [t for t in TINY if not t.startswith(("n_timesteps", "checkpoint_every"))]
    args += ["n_timesteps=10000000", "checkpoint_every=10000000", "eval_every=10000000"]
    cmd = [sys.executable, "-m", "agents.train", "vrenvs/Assistant-Fetch-v0", "--no-progress"]
    cmd += ["--runs", str(tmp_path), "--run-id", "x", "--set", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    run = tmp_path / "Assistant-Fetch-v0" / "x"
    deadline = time.time() + 120
    while not any((run / "tb").rglob("events.out.tfevents*")) and time.time() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # let it train a little
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    latest = run / "checkpoints" / "latest"
    model = load_policy(latest / "policy")
    assert model.num_timesteps > 0
    assert not (run / "final").exists(), "an interrupted run has no final policy"


def test_vrenvs_cli_forwards_train_and_eval(tiny_run, capsys):
    from vrenvs.app.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    assert "--resume" in capsys.readouterr().out
    assert (
        main(["eval", str(tiny_run / "final"), "--env", "vrenvs/Assistant-Fetch-v0", "--episodes", "2"]) == 0
    )
    assert "scripted (oracle)" in capsys.readouterr().out
    assert main(["train", "vrenvs/Assistant-Fetch-v0", "--set", "ppo.nope=1"]) == 2


@pytest.fixture(scope="module")
def tiny_flee(tmp_path_factory):
    """A tiny NPC-Flee policy trained with the route sensor (and ``key_goal``, which its
    controller carries into the worlds it drives)."""
    from agents.train import train

    runs = tmp_path_factory.mktemp("runs")
    args = [t for t in TINY if not t.startswith("env_kwargs")]
    args.append("env_kwargs={route: true, max_episode_steps: 24, key_goal: lock}")
    return train("vrenvs/NPC-Flee-v0", args, runs=runs, run_id="f", progress_bar=False) / "final"


def test_policy_controller_sees_what_its_training_env_shows(tiny_flee):
    from agents.pretrained import PolicyController

    drive = PolicyController(tiny_flee)
    assert drive.key_goal == "lock"
    env = gym.make("vrenvs/NPC-Flee-v0", route=True, key_goal="lock")
    obs, _ = env.reset(seed=2)
    world = env.unwrapped.world
    seen = drive.observation(world.state, world.config, world.config.learner)
    assert _same({k: v[0] for k, v in seen.items()}, obs)
    want, _ = drive.model.predict({k: v[None] for k, v in obs.items()}, deterministic=True)
    assert np.array_equal(drive(world.state, world.config, world.config.learner), want)


def test_npc_controllers_put_a_trained_npc_next_to_the_assistant(tiny_flee):
    from agents.pretrained import PolicyController

    env = gym.make(
        "vrenvs/Assistant-v0", npcs=["critter", "chaser"], npc_controllers={"critter": str(tiny_flee)}
    )
    env.reset(seed=0)
    world = env.unwrapped.world
    critter = world.config.roles.index("critter")
    drive = world.controllers[critter]
    assert isinstance(drive, PolicyController) and drive.folder.resolve() == tiny_flee.resolve()
    for _ in range(30):
        expected = drive(world.state, world.config, critter)
        assert expected.shape == (1,) and 0 <= expected[0] < 9
        env.step(env.action_space.sample())
    with pytest.raises(
        ValueError, match=r"npc_controllers key 'user' is not an NPC of this world; choose from"
    ):
        gym.make("vrenvs/Assistant-v0", npc_controllers={"user": str(tiny_flee)})
    with pytest.raises(ValueError, match=r"unknown controller 'no/such/policy'.*trained policies"):
        gym.make("vrenvs/Assistant-v0", npc_controllers={"guard": "no/such/policy"})


def test_watch_records_a_trained_policy_and_play_takes_one_as_assistant(tiny_run, tmp_path, capsys):
    from vrenvs.app.cli import main
    from vrenvs.app.play import Session

    out = tmp_path / "watch.gif"
    assert main(["watch", str(tiny_run / "final"), "--record", str(out), "--max-steps", "6"]) == 0
    assert out.stat().st_size > 0
    assert "driven by" in capsys.readouterr().out
    session = Session("vrenvs/Assistant-v0", assistant=str(tiny_run / "final"), speed=0)
    session.world.step(np.zeros(1, np.int64))
    assert main(["watch", "Nowhere", "--record", str(out)]) == 2
    assert "neither an env" in capsys.readouterr().err


def test_ship_writes_a_model_card_and_results_make_the_table(tiny_run, tmp_path):
    from agents.results import markdown
    from agents.ship import ship

    dest = ship(tiny_run, "final", episodes=2, dest=tmp_path / "ppo-Assistant-Fetch")
    card = (dest / "card.md").read_text()
    assert card.startswith("# Model card: `ppo-Assistant-Fetch`")
    assert "Held-out scenes" in card and "scripted (oracle)" in card
    summary = json.loads((dest / "results.json").read_text())
    from agents.policy_io import load_policy, read_meta

    steps = read_meta(tiny_run / "final")["num_timesteps"]  # other tests resume the run
    assert summary["steps"] == steps and summary["splits"]["test"][0] == 10_000_000
    assert set(summary["results"]) == {"test", "train"}
    table = markdown([summary])
    assert "`ppo-Assistant-Fetch`" in table and f"| {steps:,} |" in table
    assert load_policy(dest).num_timesteps == steps


@pytest.mark.slow
def test_demo_runs_the_shipped_or_given_assistant_and_a_short_training(tiny_run, tmp_path):
    from agents.demo import run_demo

    summary = run_demo(
        tmp_path, episodes=1, assistant=str(tiny_run / "final"), train_minutes=0.05, eval_episodes=2
    )
    assert Path(summary["rollout_gif"]).stat().st_size > 0
    assert Path(summary["scene_sheet_png"]).stat().st_size > 0
    assert summary["scenes"] == "vqvae"
    assert (Path(summary["training"]["run"]) / "final" / "policy.json").exists()
    assert "scripted (oracle)" in summary["training"]["held_out"]


def test_a_trained_npc_shows_the_mode_its_role_would_be_in():
    """Trained policies return bare actions; the world gives them the badge the role's
    scripted behaviour would have (a guard with the thief in sight is chasing)."""
    from vrenvs.core.controllers import situation
    from vrenvs.core.state import MODES

    env = gym.make(
        "vrenvs/NPC-Flee-v0",
        scenes="procedural",
        npcs=["chaser", "guard", "thief"],
        npc_controllers={"guard": "ppo-NPC-Guard"},
    )
    env.reset(seed=1)
    world = env.unwrapped.world
    guard = world.config.roles.index("guard")
    shown = set()
    for _ in range(40):
        expected = situation(world.state, world.config, guard)
        *_, terminated, truncated, _ = env.step(0)
        assert world.state.mode[0, guard] == expected[0] or not world.state.active[0, guard]
        shown.add(MODES[int(world.state.mode[0, guard])])
        if terminated or truncated:
            break
    assert shown <= {"patrolling", "chasing", "caught"} and shown & {"patrolling", "chasing"}


def test_results_name_the_scenes_each_policy_was_trained_and_measured_on():
    """Shipped results record their sources; older ones fall back to their env kwargs (the
    default source then), and the results note names the source per policy when they differ."""
    from agents.config import played_scenes, trained_scenes
    from agents.pretrained import PRETRAINED
    from agents.results import markdown
    from agents.ship import card

    flee = json.loads((PRETRAINED / "ppo-NPC-Flee" / "results.json").read_text())
    fetch = json.loads((PRETRAINED / "ppo-Assistant-Fetch" / "results.json").read_text())
    assert (trained_scenes(flee), played_scenes(flee)) == ("gan", "gan")
    assert (trained_scenes(fetch), played_scenes(fetch)) == ("vqvae", "vqvae")
    older = {k: v for k, v in flee.items() if k not in ("trained_scenes", "scenes")}
    assert (trained_scenes(older), played_scenes(older)) == ("vqvae", "vqvae")
    assert (trained_scenes({**older, "env_kwargs": {"size": 32}}), played_scenes(older)) == ("vqvae", "vqvae")
    assert "200 episodes per cell on `gan` (ppo-NPC-Flee) / `vqvae` (ppo-Assistant-Fetch) scenes" in markdown(
        [fetch, flee]
    )
    assert "200 episodes per cell on `vqvae` scenes" in markdown([fetch])
    assert "held out [10,000,000, 10,100,000) of `gan`." in card(flee)
    assert "200 episodes per row on `gan` scenes" in card(flee)


def test_a_checkpoint_from_before_the_curriculum_keys_still_resumes(tmp_path):
    import json

    import yaml

    from agents.train import plan, train

    short = [t for t in TINY if not t.startswith("n_timesteps")] + ["n_timesteps=128"]
    run = train("vrenvs/Assistant-Fetch-v0", short, tmp_path, "old", progress_bar=False)
    state_path = run / "checkpoints/latest/state.json"
    state = json.loads(state_path.read_text())
    for key in ("curriculum", "hard_episodes"):  # what a checkpoint written before them records
        state["config"].pop(key, None)
    state_path.write_text(json.dumps(state))
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["n_timesteps"] = 256
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    assert plan("vrenvs/Assistant-Fetch-v0", resume=run).done == state["num_timesteps"]
    config["curriculum"] = {"method": "plr"}  # a curriculum it was not trained with is refused
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ValueError, match="curriculum="):
        plan("vrenvs/Assistant-Fetch-v0", resume=run)


def test_the_engines_plot_reads_both_run_kinds_and_reports_steps_to_a_level(tmp_path, capsys):
    from agents.plots import curve, main, steps_to

    sb3, rllib = tmp_path / "sb3", tmp_path / "rllib"
    sb3.mkdir()
    rllib.mkdir()
    (sb3 / "eval.csv").write_text("timesteps,seconds,success\n100,1,0.5\n200,2,0.99\n300,3,1.0\n")
    (rllib / "eval.csv").write_text(
        "timesteps,role,success\n150,assistant,0.9\n150,guard,1.0\n250,assistant,0.98\n250,guard,1.0\n"
    )
    assert curve(sb3 / "eval.csv") == [(100, 0.5), (200, 0.99), (300, 1.0)]
    assert curve(rllib / "eval.csv", "assistant") == [(150, 0.9), (250, 0.98)]
    assert steps_to(curve(sb3 / "eval.csv"), 0.99) == 200
    assert steps_to(curve(rllib / "eval.csv", "assistant"), 0.99) is None
    with pytest.raises(ValueError, match=r"has the roles \['assistant', 'guard'\]; role='thief'"):
        curve(rllib / "eval.csv", "thief")
    out = tmp_path / "engines.png"
    assert main(["engines", "--run", f"SB3={sb3}", "--run", f"RLlib={rllib}", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| SB3 | sb3 | 200 | 1.00 at 300 |" in text
    assert "| RLlib | rllib | not by 250 | 0.98 at 250 |" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_episodes_records_the_scene_and_success_of_each_episode():
    from agents.evaluate import controller_actor, run_episodes

    kwargs = {"scenes": "procedural", "num_scenes": 5, "start_scene": 40, "max_episode_steps": 60}
    played: list[tuple[int, bool]] = []
    row = run_episodes(controller_actor("oracle"), "vrenvs/Assistant-Fetch-v0", kwargs, 6, 0, 3, played)
    assert len(played) == row["episodes"] == 6
    assert all(40 <= index < 45 for index, _ in played)
    assert row["success"] == sum(won for _, won in played) / 6
    again: list[tuple[int, bool]] = []
    run_episodes(controller_actor("oracle"), "vrenvs/Assistant-Fetch-v0", kwargs, 6, 0, 3, again)
    assert again == played, "seeded: the same scenes in the same order"


def test_run_episodes_plays_the_task_s_own_rewards_and_requests():
    """Training-only kwargs (shaping, locked_requests) are dropped: the same episodes as without."""
    from agents.evaluate import TRAINING_ONLY, controller_actor, run_episodes

    assert TRAINING_ONLY == ("shaping", "locked_requests")
    from agents.hardset import hard_kwargs, locked_scenes

    first = int(np.flatnonzero(locked_scenes())[0])  # scenes with a locked door and its key
    kwargs = {**hard_kwargs({}), "num_scenes": 4, "start_scene": first, "max_episode_steps": 120}
    actor = controller_actor("oracle")
    rows = [
        run_episodes(actor, "vrenvs/Assistant-v0", {**kwargs, **extra}, 6, 0, 3)
        for extra in ({}, {"shaping": 1.0, "locked_requests": 1.0})
    ]
    assert rows[0] == rows[1]
    assert rows[0]["return"] > 0, "the oracle serves requests"
    asked = {  # the knob does act on these scenes: it changes the first requests
        p: [
            gym.make("vrenvs/Assistant-v0", **kwargs, locked_requests=p).reset(seed=s)[1]["request"]
            for s in range(8)
        ]
        for p in (0.0, 1.0)
    }
    assert asked[0.0] != asked[1.0]
