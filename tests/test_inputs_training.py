"""Bad training and evaluation inputs fail up front, naming the key and the value.

Every case here is refused before any training starts (no run folder is written), so each
takes milliseconds once the env and SB3 are imported.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

pytest.importorskip("stable_baselines3")

from hypothesis import example, given, settings
from hypothesis import strategies as st

from agents.config import (
    TrainConfig,
    check_env_kwargs,
    check_splits,
    load_config,
    read_config,
    split_kwargs,
)
from vrenvs.core.sources import NUM_SCENE_INDICES

ROOT = Path(__file__).resolve().parents[1]
FETCH = "vrenvs/Assistant-Fetch-v0"
GUIDE = "vrenvs/Assistant-Guide-v0"
TINY = [
    "n_envs=4",
    "n_timesteps=256",
    "ppo.n_steps=32",
    "ppo.batch_size=64",
    "ppo.n_epochs=1",
    "env_kwargs={max_episode_steps: 24}",
    "policy.channels=4",
    "policy.features_dim=8",
    "policy.net_arch=[8]",
]
PPO_NAMES = "['batch_size', 'clip_range', 'clip_range_vf', 'ent_coef', 'gae_lambda', 'gamma', 'learning_rate'"


@pytest.fixture(autouse=True)
def no_training(monkeypatch):
    """A bad input that got through would start a run: fail at once instead."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("training started on an input that should have been refused")

    monkeypatch.setattr("agents.train.execute", refuse)


def _names(message: str, *fragments: str) -> None:
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# --- `--set key=value` overrides: (override, exception, fragments of the message) ---------------

OVERRIDES: list[tuple[str, type[Exception], tuple[str, ...]]] = [
    ("n_envs=abc", TypeError, ("n_envs='abc'", "an integer in [1, 1024]")),
    ("n_envs=1.5", TypeError, ("n_envs=1.5", "an integer")),
    ("n_envs=true", TypeError, ("n_envs=True", "an integer")),
    ("n_envs=", TypeError, ("n_envs=None", "an integer")),
    ("n_envs=0", ValueError, ("n_envs=0", "[1, 1024]")),
    ("n_envs=1025", ValueError, ("n_envs=1025", "[1, 1024]")),
    ("n_timesteps=-5", ValueError, ("n_timesteps=-5", "[1, 10000000000]")),
    ("n_timesteps=0", ValueError, ("n_timesteps=0", "[1, 10000000000]")),
    ("n_timesteps=1e6", TypeError, ("n_timesteps=1000000.0", "an integer")),
    ("n_timesteps=100000000000", ValueError, ("n_timesteps=100000000000", "[1, 10000000000]")),
    ("seed=-1", ValueError, ("seed=-1", "[0, 4294967294]")),
    ("seed=4294967295", ValueError, ("seed=4294967295", "[0, 4294967294]")),
    ("seed=x", TypeError, ("seed='x'", "an integer")),
    ("train_scenes=0", ValueError, ("train_scenes=0", "[1, 2147483647]")),
    ("train_scenes=2147483648", ValueError, ("train_scenes=2147483648", "[1, 2147483647]")),
    ("train_scenes=many", TypeError, ("train_scenes='many'", "an integer")),
    (
        "test_start=5",
        ValueError,
        ("test_start=5", "inside the training scenes [0, 100000)", "train_scenes=100000"),
    ),
    ("test_start=99999", ValueError, ("test_start=99999", "test_start >= 100000")),
    ("test_start=-1", ValueError, ("test_start=-1", "[0, 2147483646]")),
    ("test_start=2147483647", ValueError, ("test_start=2147483647", "[0, 2147483646]")),
    ("test_scenes=0", ValueError, ("test_scenes=0", "[1, 2147483647]")),
    ("test_scenes=2147483647", ValueError, ("test_scenes=2147483647", "test_start=10000000", "runs past")),
    ("test_scenes=1.0", TypeError, ("test_scenes=1.0", "an integer")),
    ("eval_every=0", ValueError, ("eval_every=0", "[1, 10000000000]")),
    ("eval_every=-1", ValueError, ("eval_every=-1", "[1, 10000000000]")),
    ("eval_every=2.5", TypeError, ("eval_every=2.5", "an integer")),
    ("eval_episodes=0", ValueError, ("eval_episodes=0", "[1, 10000]")),
    ("eval_episodes=10001", ValueError, ("eval_episodes=10001", "[1, 10000]")),
    ("checkpoint_every=0", ValueError, ("checkpoint_every=0", "[1, 10000000000]")),
    ("checkpoint_every=abc", TypeError, ("checkpoint_every='abc'", "an integer")),
    ("max_minutes=-1", ValueError, ("max_minutes=-1", "[0.0, 525600]")),
    ("max_minutes=.inf", ValueError, ("max_minutes=inf", "a finite number")),
    ("max_minutes=.nan", ValueError, ("max_minutes=nan", "a finite number")),
    ("max_minutes=soon", TypeError, ("max_minutes='soon'", "a number")),
    ("threads=-1", ValueError, ("threads=-1", "[0, 256]")),
    ("threads=257", ValueError, ("threads=257", "[0, 256]")),
    ("threads=1.0", TypeError, ("threads=1.0", "an integer")),
    ("ppo.learning_rate=[1]", TypeError, ("ppo.learning_rate=[1]", "a number")),
    ("ppo.learning_rate=0", ValueError, ("ppo.learning_rate=0", "(0.0, 1.0]")),
    ("ppo.learning_rate=-1e-4", ValueError, ("ppo.learning_rate=-0.0001", "(0.0, 1.0]")),
    ("ppo.learning_rate=.nan", ValueError, ("ppo.learning_rate=nan", "finite")),
    ("ppo.learning_rate=lin_0.001", TypeError, ("ppo.learning_rate='lin_0.001'", "a number")),
    ("ppo.n_steps=0", ValueError, ("ppo.n_steps=0", "[1, 1048576]")),
    ("ppo.n_steps=2.0", TypeError, ("ppo.n_steps=2.0", "an integer")),
    ("ppo.n_steps=100000", ValueError, ("ppo.n_steps=100000 with n_envs=16", "at most 1048576")),
    ("ppo.batch_size=1", ValueError, ("ppo.batch_size=1", "[2, 4096]", "256 * 16")),
    ("ppo.batch_size=8192", ValueError, ("ppo.batch_size=8192", "[2, 4096]")),
    ("ppo.batch_size=0", ValueError, ("ppo.batch_size=0", "[1, 1048576]")),
    ("ppo.n_epochs=0", ValueError, ("ppo.n_epochs=0", "[1, 1000]")),
    ("ppo.gamma=1.5", ValueError, ("ppo.gamma=1.5", "[0.0, 1.0]")),
    ("ppo.gamma=-0.1", ValueError, ("ppo.gamma=-0.1", "[0.0, 1.0]")),
    ("ppo.gae_lambda=2", ValueError, ("ppo.gae_lambda=2", "[0.0, 1.0]")),
    ("ppo.clip_range=0", ValueError, ("ppo.clip_range=0", "> 0.0")),
    ("ppo.clip_range_vf=-1", ValueError, ("ppo.clip_range_vf=-1", "> 0.0")),
    ("ppo.ent_coef=-0.01", ValueError, ("ppo.ent_coef=-0.01", ">= 0.0")),
    ("ppo.vf_coef=.inf", ValueError, ("ppo.vf_coef=inf", "finite")),
    ("ppo.max_grad_norm=0", ValueError, ("ppo.max_grad_norm=0", "> 0.0")),
    ("ppo.normalize_advantage=1", TypeError, ("ppo.normalize_advantage=1", "True or False")),
    ("ppo.target_kl=0", ValueError, ("ppo.target_kl=0", "> 0.0")),
    ("ppo.verbose=3", ValueError, ("ppo.verbose=3", "[0, 2]")),
    ("ppo.nope=1", ValueError, ("'ppo.nope' does not exist", PPO_NAMES)),
    ("ppo.seed=1", ValueError, ("'ppo.seed' does not exist", PPO_NAMES)),
    ("ppo.device=cuda", ValueError, ("'ppo.device' does not exist", PPO_NAMES)),
    ("ppo=[1]", TypeError, ("ppo=[1]", "a mapping")),
    ("ppo={learning_rate: 0.1, use_sde: true}", ValueError, ("'ppo.use_sde' does not exist",)),
    ("policy.net_arch=5", TypeError, ("policy.net_arch=5", "a list of layer widths")),
    ("policy.net_arch=[0]", ValueError, ("policy.net_arch[0]=0", "[1, 4096]")),
    ("policy.net_arch=[64, 5000]", ValueError, ("policy.net_arch[1]=5000", "[1, 4096]")),
    (
        "policy.net_arch=[8,8,8,8,8,8,8,8,8]",
        ValueError,
        ("policy.net_arch=[8, 8, 8", "has 9 layers", "at most 8"),
    ),
    ("policy.net_arch=[1.5]", TypeError, ("policy.net_arch[0]=1.5", "an integer")),
    (
        "policy.net_arch={pi: [64], vf: [64]}",
        TypeError,
        ("policy.net_arch={'pi': [64], 'vf': [64]}", "a list"),
    ),
    ("policy.features_dim=0", ValueError, ("policy.features_dim=0", "[1, 4096]")),
    ("policy.channels=600", ValueError, ("policy.channels=600", "[1, 512]")),
    (
        "policy.activation=tanh",
        ValueError,
        ("'policy.activation' does not exist", "['channels', 'features_dim', 'net_arch']"),
    ),
    ("policy=x", TypeError, ("policy='x'", "a mapping")),
    ("env_kwargs=[1]", TypeError, ("env_kwargs=[1]", "a mapping")),
    ("env_kwargs={1: 2}", TypeError, ("env_kwargs key 1", "a string")),
    ("env_kwargs.num_scenes=5", ValueError, ("env_kwargs.num_scenes=5", "train_scenes and test_scenes")),
    ("env_kwargs.start_scene=0", ValueError, ("env_kwargs.start_scene=0", "test_start")),
    ("env_kwargs.render_mode=human", ValueError, ("env_kwargs.render_mode='human'", "do not render")),
    ("env_kwargs.a.b=1", ValueError, ("'env_kwargs.a.b' does not exist", "env_kwargs.NAME")),
    ("env_id=vrenvs/NPC-Flee-v0", ValueError, ("env_id='vrenvs/NPC-Flee-v0'", "ENV_ID argument")),
    ("nope=1", ValueError, ("'nope' does not exist", "'checkpoint_every'")),
    ("n_envs", ValueError, ("override 'n_envs'", "key=value")),
    ("n_envs=[1", ValueError, ("override 'n_envs=[1'", "not valid YAML")),
    ("n_envs.x=1", ValueError, ("'n_envs' is not a section", "'n_envs.x'")),
    ("ppo.=1", ValueError, ("'ppo.' does not exist",)),
]


@pytest.mark.parametrize(("override", "error", "fragments"), OVERRIDES, ids=[o[0] for o in OVERRIDES])
def test_bad_override_is_refused(override: str, error: type[Exception], fragments: tuple[str, ...]) -> None:
    with pytest.raises(error) as info:
        load_config(FETCH, [override])
    assert type(info.value) is error
    _names(str(info.value), *fragments)


COMBINED: list[tuple[list[str], type[Exception], tuple[str, ...]]] = [
    (["n_envs=1", "ppo.n_steps=1"], ValueError, ("ppo.n_steps=1 with n_envs=1", ">= 2")),
    (
        ["n_envs=1", "ppo.n_steps=1", "ppo.normalize_advantage=false", "ppo.batch_size=2"],
        ValueError,
        ("ppo.batch_size=2", "[1, 1]"),
    ),
    (
        ["train_scenes=20000000"],
        ValueError,
        ("test_start=10000000", "inside the training scenes [0, 20000000)"),
    ),
    (
        ["test_start=2147483000", "test_scenes=1000"],
        ValueError,
        ("test_scenes=1000 with test_start=2147483000",),
    ),
    (
        ["train_scenes=1", "test_start=1", "test_scenes=2147483647"],
        ValueError,
        ("test_scenes=2147483647 with test_start=1 runs past the last scene index 2147483646",),
    ),
    (["ppo=abc", "ppo.n_steps=4"], TypeError, ("ppo='abc' must be a mapping", "'ppo.n_steps' cannot be set")),
    ([42], TypeError, ("override=42", "a string")),  # type: ignore[list-item]
]


@pytest.mark.parametrize(("overrides", "error", "fragments"), COMBINED, ids=[str(c[0]) for c in COMBINED])
def test_bad_override_combination_is_refused(overrides, error, fragments) -> None:
    with pytest.raises(error) as info:
        load_config(FETCH, overrides)
    assert type(info.value) is error
    _names(str(info.value), *fragments)


ENV_KWARGS: list[tuple[str, type[Exception], tuple[str, ...]]] = [
    ("env_kwargs.size=[1]", TypeError, ("env_kwargs: size=[1]", "must be an integer")),
    ("env_kwargs.size=24", ValueError, ("env_kwargs: size=24", "[16, 32]")),
    ("env_kwargs.npcs=[1]", ValueError, ("env_kwargs: npcs entry=1", "'critter'")),
    ("env_kwargs.controllers=[1]", TypeError, ("env_kwargs: controllers=[1]", "must be a dict")),
    ("env_kwargs.npc_controllers=3", TypeError, ("env_kwargs: npc_controllers=3", "must be a dict")),
    ("env_kwargs.controllers={guard: 3}", ValueError, ("env_kwargs: controllers['guard']=3", "'patrol'")),
    ("env_kwargs.sizee=3", TypeError, ("env_kwargs:", "'sizee'")),
    ("env_kwargs.route=maybe", TypeError, ("env_kwargs: route='maybe' must be True or False",)),
    ("env_kwargs.view=4", ValueError, ("env_kwargs: view=4", "odd")),
]


@pytest.mark.parametrize(("override", "error", "fragments"), ENV_KWARGS, ids=[e[0] for e in ENV_KWARGS])
def test_bad_env_kwargs_are_refused_by_one_env_made_up_front(override, error, fragments, tmp_path) -> None:
    from agents.train import main

    config = load_config("vrenvs/Assistant-v0", [override])  # the env checks these, not the schema
    with pytest.raises(error) as info:
        check_env_kwargs(config)
    _names(str(info.value), *fragments)
    assert main(["vrenvs/Assistant-v0", "--runs", str(tmp_path), "--set", override]) == 2
    assert list(tmp_path.iterdir()) == [], "a refused config wrote into the runs folder"


# --- config files read back --------------------------------------------------------------------

GOOD = load_config(FETCH).to_yaml()

FILES: list[tuple[str, bytes, type[Exception], tuple[str, ...]]] = [
    ("syntax", b"n_envs: [1\n", ValueError, ("is not valid YAML", "line 2")),
    ("list", b"- 1\n- 2\n", ValueError, ("must hold a mapping of config keys, not list",)),
    ("empty", b"", ValueError, ("must hold a mapping of config keys, not NoneType",)),
    ("scalar", b"hello\n", ValueError, ("not str",)),
    ("binary", b"\xff\xfe\x00garbage", ValueError, ("cannot be read",)),
    ("unknown key", (GOOD + "n_env: 3\n").encode(), ValueError, ("config keys ['n_env'] do not exist",)),
    ("no env_id", b"n_envs: 4\n", ValueError, ("env_id is missing",)),
    (
        "bad env_id",
        GOOD.replace("Assistant-Fetch-v0", "Nope-v0").encode(),
        ValueError,
        ("env_id='vrenvs/Nope-v0' is not supported",),
    ),
    ("n_envs 0", GOOD.replace("n_envs: 16", "n_envs: 0").encode(), ValueError, ("n_envs=0",)),
    ("n_envs text", GOOD.replace("n_envs: 16", "n_envs: lots").encode(), TypeError, ("n_envs='lots'",)),
    (
        "eval_every 0",
        GOOD.replace("eval_every: 50000", "eval_every: 0").encode(),
        ValueError,
        ("eval_every=0",),
    ),
    (
        "test_start inside",
        GOOD.replace("test_start: 10000000", "test_start: 5").encode(),
        ValueError,
        ("test_start=5", "inside the training scenes"),
    ),
    (
        "ppo key",
        GOOD.replace("  n_epochs: 4", "  n_epoch: 4").encode(),
        ValueError,
        ("'ppo.n_epoch' does not exist",),
    ),
    ("net_arch", GOOD.replace("  - 128", "  - -128").encode(), ValueError, ("policy.net_arch[0]=-128",)),
]


@pytest.mark.parametrize(("content", "error", "fragments"), [f[1:] for f in FILES], ids=[f[0] for f in FILES])
def test_bad_config_file_names_the_file(content: bytes, error, fragments, tmp_path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(content)
    with pytest.raises(error) as info:
        read_config(path)
    assert type(info.value) is error
    _names(str(info.value), str(path), *fragments)


def test_missing_config_file_names_the_file(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"config\.yaml is missing") as info:
        read_config(tmp_path / "config.yaml")
    _names(str(info.value), str(tmp_path))


# --- resume ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A run folder with a (fresh) checkpoint at step 128 of 256, made without training."""
    from agents.policy_io import build_model, save_optimizer, save_policy
    from agents.train import checkpoint_state

    config = load_config(FETCH, TINY)
    run = tmp_path_factory.mktemp("runs") / "Assistant-Fetch-v0" / "t"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(config.to_yaml())
    model = build_model(config.env_id, config.env_kwargs, config.policy, {}, seed=0)  # one env
    meta = {"env_id": config.env_id, "env_kwargs": config.env_kwargs, "policy": config.policy}
    latest = run / "checkpoints" / "latest"
    save_policy(model, latest / "policy", meta)
    save_optimizer(model, latest)
    (latest / "state.json").write_text(json.dumps(checkpoint_state(config, 128)))
    return run


@pytest.fixture
def run(template, tmp_path) -> Path:
    copy = tmp_path / "Assistant-Fetch-v0" / "t"
    shutil.copytree(template, copy)
    return copy


def _tree(folder: Path) -> list[tuple[str, int]]:
    """Every path under ``folder`` with its file's mtime (folders' mtimes change when the
    output check probes them with a temporary file, which it removes)."""
    return sorted(
        (str(p.relative_to(folder)), p.stat().st_mtime_ns if p.is_file() else 0) for p in folder.rglob("*")
    )


def test_the_template_run_resumes(run) -> None:
    """The resume cases below break one thing each of a run that resumes."""
    from agents.train import plan

    checked = plan(FETCH, resume=run)
    assert (checked.done, checked.resume, checked.run) == (128, True, run)


def _edit_config(run: Path, **changes: Any) -> None:
    data = yaml.safe_load((run / "config.yaml").read_text())
    data.update(changes)
    (run / "config.yaml").write_text(yaml.safe_dump(data))


def _edit_state(run: Path, text: str) -> None:
    (run / "checkpoints/latest/state.json").write_text(text)


RESUMES: list[tuple[str, Any, dict[str, Any], tuple[str, ...]]] = [
    ("no checkpoints", lambda r: shutil.rmtree(r / "checkpoints"), {}, ("{run}", "has no checkpoint")),
    ("no config.yaml", lambda r: (r / "config.yaml").unlink(), {}, ("{run}/config.yaml is missing",)),
    (
        "config.yaml syntax",
        lambda r: (r / "config.yaml").write_text("n_envs: [4\n"),
        {},
        ("{run}/config.yaml is not valid YAML",),
    ),
    (
        "config.yaml list",
        lambda r: (r / "config.yaml").write_text("[1, 2]\n"),
        {},
        ("{run}/config.yaml must hold a mapping",),
    ),
    ("config.yaml field", lambda r: _edit_config(r, eval_every=0), {}, ("{run}/config.yaml: eval_every=0",)),
    (
        "another env id",
        lambda r: None,
        {"env_id": GUIDE},
        ("the run trains vrenvs/Assistant-Fetch-v0, not vrenvs/Assistant-Guide-v0",),
    ),
    ("unknown env id", lambda r: None, {"env_id": "vrenvs/Nope-v0"}, ("ENV_ID='vrenvs/Nope-v0'", FETCH)),
    (
        "checkpoint of another env",
        lambda r: _edit_config(r, env_id=GUIDE),
        {"env_id": GUIDE},
        ("holds a policy for 'vrenvs/Assistant-Fetch-v0'", "trains 'vrenvs/Assistant-Guide-v0'"),
    ),
    (
        "policy changed",
        lambda r: _edit_config(r, policy={"channels": 4, "features_dim": 8, "net_arch": [16]}),
        {},
        ("{run}/config.yaml: policy=", "'net_arch': [16]", "differs from the checkpoint"),
    ),
    (
        "env_kwargs changed",
        lambda r: _edit_config(r, env_kwargs={"route": True}),
        {},
        ("env_kwargs={'route': True}", "differs from the checkpoint"),
    ),
    (
        "complete",
        lambda r: _edit_config(r, n_timesteps=128),
        {},
        ("the run is complete (128 steps of n_timesteps=128)", "raise n_timesteps"),
    ),
    (
        "no state.json",
        lambda r: (r / "checkpoints/latest/state.json").unlink(),
        {},
        ("{run}/checkpoints/latest/state.json is missing",),
    ),
    (
        "state.json malformed",
        lambda r: _edit_state(r, "{num_timesteps"),
        {},
        ("{run}/checkpoints/latest/state.json is not valid JSON",),
    ),
    ("state.json list", lambda r: _edit_state(r, "[1]"), {}, ("state.json must hold", "[1]")),
    ("state.json negative", lambda r: _edit_state(r, '{"num_timesteps": -3}'), {}, ("num_timesteps=-3",)),
    (
        "no optimizer.pt",
        lambda r: (r / "checkpoints/latest/optimizer.pt").unlink(),
        {},
        ("{run}/checkpoints/latest/optimizer.pt is missing",),
    ),
    (
        "no policy",
        lambda r: shutil.rmtree(r / "checkpoints/latest/policy"),
        {},
        ("{run}/checkpoints/latest/policy is missing or not a folder",),
    ),
    (
        "with --set",
        lambda r: None,
        {"overrides": ["n_envs=2"]},
        ("--set n_envs=2 cannot be used with --resume",),
    ),
    ("with --run-id", lambda r: None, {"run_id": "b"}, ("--run-id='b' cannot be used with --resume",)),
]


@pytest.mark.parametrize(
    ("spoil", "args", "fragments"), [r[1:] for r in RESUMES], ids=[r[0] for r in RESUMES]
)
def test_bad_resume_is_refused_before_anything_is_written(run, spoil, args, fragments) -> None:
    from agents.train import plan

    (run / "final").mkdir()
    (run / "final" / "policy.json").write_text("{}")
    spoil(run)
    before = _tree(run)
    kwargs = dict(args)
    env = kwargs.pop("env_id", FETCH)
    with pytest.raises(ValueError) as info:
        plan(env, resume=run, **kwargs)
    _names(str(info.value), *(f.replace("{run}", str(run)) for f in fragments))
    assert _tree(run) == before, "a refused resume changed the run folder"


def test_resume_of_a_missing_folder_or_a_file_names_it(tmp_path) -> None:
    from agents.train import plan

    with pytest.raises(ValueError, match="is not a run folder") as info:
        plan(FETCH, resume=tmp_path / "nowhere")
    _names(str(info.value), f"--resume='{tmp_path / 'nowhere'}'")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is not a run folder"):
        plan(FETCH, resume=tmp_path / "file")


def test_resume_cli_reports_errors_and_refuses_runs(run, capsys) -> None:
    from agents.train import main

    assert main([GUIDE, "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vrenvs train: error: ") and "vrenvs/Assistant-Guide-v0" in err
    assert main([FETCH, "--resume", str(run), "--runs", "elsewhere"]) == 2
    _names(capsys.readouterr().err, "--runs='elsewhere' cannot be used with --resume")
    shutil.rmtree(run / "checkpoints")
    assert main([FETCH, "--resume", str(run)]) == 2
    _names(capsys.readouterr().err, str(run), "has no checkpoint")


# --- new run folders ---------------------------------------------------------------------------

FOLDERS: list[tuple[str, Any, list[str], tuple[str, ...]]] = [
    ("runs is a file", lambda t: (t / "runs").write_text("x"), [], ("--runs='{t}/runs' is a file",)),
    (
        "env folder is a file",
        lambda t: (t / "runs").mkdir() or (t / "runs/Assistant-Fetch-v0").write_text("x"),
        ["--run-id", "a"],
        ("'{t}/runs/Assistant-Fetch-v0' is a file",),
    ),
    (
        "run folder is a file",
        lambda t: (
            (t / "runs/Assistant-Fetch-v0").mkdir(parents=True)
            or (t / "runs/Assistant-Fetch-v0/a").write_text("x")
        ),
        ["--run-id", "a"],
        ("{t}/runs/Assistant-Fetch-v0/a' is a file",),
    ),
    (
        "run folder in use",
        lambda t: (
            (t / "runs/Assistant-Fetch-v0/a").mkdir(parents=True)
            or (t / "runs/Assistant-Fetch-v0/a/config.yaml").write_text("x")
        ),
        ["--run-id", "a"],
        ("run folder '{t}/runs/Assistant-Fetch-v0/a' exists and is not empty", "--resume"),
    ),
    ("run id with a slash", lambda t: None, ["--run-id", "a/b"], ("--run-id='a/b' must be a folder name",)),
    ("run id ..", lambda t: None, ["--run-id", ".."], ("--run-id='..' must be a folder name",)),
    ("empty run id", lambda t: None, ["--run-id", ""], ("--run-id='' must be a folder name",)),
]


@pytest.mark.parametrize(
    ("setup", "args", "fragments"), [f[1:] for f in FOLDERS], ids=[f[0] for f in FOLDERS]
)
def test_bad_output_folder_fails_before_training(setup, args, fragments, tmp_path, capsys) -> None:
    from agents.train import main

    setup(tmp_path)
    before = _tree(tmp_path)
    assert main([FETCH, "--runs", str(tmp_path / "runs"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vrenvs train: error: ") and "Traceback" not in err
    _names(err, *(f.replace("{t}", str(tmp_path)) for f in fragments))
    assert _tree(tmp_path) == before


# --- the train and eval command lines ----------------------------------------------------------

TRAIN_ARGS: list[tuple[list[str], tuple[str, ...]]] = [
    ([FETCH, "--set", "n_envs=abc"], ("vrenvs train: error: n_envs='abc'",)),
    ([FETCH, "--set", "eval_every=0"], ("vrenvs train: error: eval_every=0",)),
    ([FETCH, "--seed", "-1"], ("vrenvs train: error: argument --seed: -1 is out of range",)),
    ([FETCH, "--seed", "abc"], ("vrenvs train: error: argument --seed: 'abc' is not an integer",)),
    (["vrenvs/Nope-v0"], ("vrenvs train: error: unknown task 'vrenvs/Nope-v0'", "'Assistant-Fetch'")),
]


@pytest.mark.parametrize(
    ("argv", "fragments"), TRAIN_ARGS, ids=[" ".join(a[0][1:]) or a[0][0] for a in TRAIN_ARGS]
)
def test_train_cli_exits_2_with_the_error(argv, fragments, tmp_path, capsys) -> None:
    from vrenvs.app.cli import main

    code: int | str | None
    try:
        code = main(["train", *argv, "--runs", str(tmp_path / "runs")])
    except SystemExit as stop:  # argparse's own refusals
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    _names(err, *fragments)
    assert not (tmp_path / "runs").exists()


EVAL_ARGS: list[tuple[list[str], tuple[str, ...]]] = [
    (["none", "--env", FETCH, "--episodes", "0"], ("argument --episodes: 0 is out of range", "[1, 10000]")),
    (["none", "--env", FETCH, "--episodes", "-3"], ("argument --episodes: -3 is out of range",)),
    (["none", "--env", FETCH, "--episodes", "10001"], ("argument --episodes: 10001 is out of range",)),
    (["none", "--env", FETCH, "--episodes", "ten"], ("argument --episodes: 'ten' is not an integer",)),
    (["none", "--env", FETCH, "--episodes", "2.5"], ("argument --episodes: '2.5' is not an integer",)),
    (
        ["none", "--env", FETCH, "--split", "val"],
        ("argument --split: invalid choice: 'val'", "'train', 'test'"),
    ),
    (["none", "--env", FETCH, "--seed", "-1"], ("argument --seed: -1 is out of range",)),
    (
        ["none", "--env", "vrenvs/Nope-v0"],
        ("--env='vrenvs/Nope-v0' is not a vrenvs env", FETCH, "vrenvs/NPC-Flee-v0"),
    ),
    (["none"], ("--env is needed",)),
    (["ppo-Nowhere"], ("no policy 'ppo-Nowhere'", "ppo-Assistant-Fetch")),
    (
        ["ppo-Assistant-Fetch", "--env", GUIDE],
        ("ppo-Assistant-Fetch was trained on vrenvs/Assistant-Fetch-v0", GUIDE),
    ),
]


@pytest.mark.parametrize(("argv", "fragments"), EVAL_ARGS, ids=[" ".join(a[0]) for a in EVAL_ARGS])
def test_eval_cli_exits_2_with_the_error(argv, fragments, capsys) -> None:
    from vrenvs.app.cli import main

    code: int | str | None
    try:
        code = main(["eval", *argv])
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: vrenvs eval") or err.startswith("vrenvs eval: error: ")
    assert "vrenvs eval: error: " in err and "Traceback" not in err
    _names(err, *fragments)


POLICY_FOLDERS: list[tuple[str, dict[str, bytes], tuple[str, ...]]] = [
    ("empty folder", {}, ("policy.json is missing",)),
    ("no weights", {"policy.json": b"{}"}, ("policy.safetensors is missing",)),
    (
        "bad json",
        {"policy.json": b"{nope", "policy.safetensors": b"x"},
        ("policy.json is corrupt", "not valid JSON"),
    ),
    ("not a policy", {"policy.json": b"[1]", "policy.safetensors": b"x"}, ("policy.json holds a JSON list",)),
]


@pytest.mark.parametrize(
    ("files", "fragments"), [p[1:] for p in POLICY_FOLDERS], ids=[p[0] for p in POLICY_FOLDERS]
)
def test_eval_of_a_malformed_policy_folder_names_it(files, fragments, tmp_path, capsys) -> None:
    from agents.evaluate import main

    folder = tmp_path / "final"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    assert main([str(folder), "--episodes", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vrenvs eval: error: ")
    _names(err, str(folder), *fragments)


def test_run_episodes_bounds_its_count() -> None:
    from agents.evaluate import controller_actor, run_episodes

    with pytest.raises(ValueError, match=r"episodes=0 is out of range; allowed: an integer in \[1, 10000\]"):
        run_episodes(controller_actor("random"), FETCH, {}, 0, seed=0)
    with pytest.raises(TypeError, match=r"episodes=2\.0 must be an integer"):
        run_episodes(controller_actor("random"), FETCH, {}, 2.0, seed=0)  # type: ignore[arg-type]


# --- splits ------------------------------------------------------------------------------------

INDEX = st.one_of(
    st.integers(-5, 5),
    st.integers(0, NUM_SCENE_INDICES + 5),
    st.integers(NUM_SCENE_INDICES - 5, NUM_SCENE_INDICES + 5),
    st.integers(-(2**40), 2**40),
)


@settings(max_examples=400, deadline=None)
@given(train=INDEX, start=INDEX, count=INDEX)
@example(train=1, start=1, count=NUM_SCENE_INDICES - 1)  # ends on the last index
@example(train=1, start=1, count=NUM_SCENE_INDICES)  # one past it
@example(train=5, start=4, count=1)  # overlaps training's last scene
@example(train=5, start=5, count=1)  # starts right after it
@example(train=NUM_SCENE_INDICES, start=NUM_SCENE_INDICES, count=1)
def test_accepted_splits_are_disjoint_and_inside_the_scene_indices(
    train: int, start: int, count: int
) -> None:
    config: Any = SimpleNamespace(train_scenes=train, test_start=start, test_scenes=count)
    try:
        check_splits(config)
        accepted = True
    except ValueError:
        accepted = False
    training = (0, train)  # [low, high)
    held_out = (start, start + count)
    sound = (
        training[0] < training[1]
        and held_out[0] < held_out[1]
        and training[1] <= held_out[0]  # disjoint: the held-out range starts after training's
        and held_out[0] >= 0
        and training[1] <= NUM_SCENE_INDICES
        and held_out[1] <= NUM_SCENE_INDICES
    )
    assert accepted == sound
    if accepted:
        kwargs = [split_kwargs(load_config_shim(train, start, count), s) for s in ("train", "test")]
        spans = [range(k["start_scene"], k["start_scene"] + k["num_scenes"]) for k in kwargs]
        assert spans[0].stop <= spans[1].start and spans[1].stop <= NUM_SCENE_INDICES


def load_config_shim(train: int, start: int, count: int) -> TrainConfig:
    return TrainConfig(env_id=FETCH, train_scenes=train, test_start=start, test_scenes=count)


def test_the_boundary_split_is_accepted_and_split_kwargs_checks_too() -> None:
    config = load_config(FETCH, ["train_scenes=50", "test_start=50", "test_scenes=2147483597"])
    assert split_kwargs(config, "test") == {
        "scenes": "vqvae",
        "route": True,
        "shaping": 1.0,
        "num_scenes": 2147483597,
        "start_scene": 50,
    }
    config.test_start = 10  # changed after it was checked
    with pytest.raises(ValueError, match=r"test_start=10 is inside the training scenes \[0, 50\)"):
        split_kwargs(config, "test")
    with pytest.raises(ValueError, match=r"split='val' is not supported; choose from \['train', 'test'\]"):
        split_kwargs(config, "val")


# --- what must keep working --------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted((ROOT / "agents/configs").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_configs_pass_unchanged(path: Path) -> None:
    config = load_config(path.stem)
    shipped = yaml.safe_load(path.read_text())
    assert {k: getattr(config, k) for k in shipped} == shipped
    check_env_kwargs(config)


SHIPPED = sorted((ROOT / "agents/pretrained").glob("*/config.yaml"))
SB3_RUNS = [p for p in SHIPPED if (p.parent / "policy.json").is_file()]
RLLIB_RUNS = [p for p in SHIPPED if not (p.parent / "policy.json").is_file()]  # role folders inside


@pytest.mark.parametrize("path", SB3_RUNS, ids=lambda p: p.parent.name)
def test_the_runs_of_the_shipped_policies_validate(path: Path) -> None:
    config = read_config(path)
    assert config.to_yaml() == path.read_text()
    check_env_kwargs(config)


@pytest.mark.parametrize("path", RLLIB_RUNS, ids=lambda p: p.parent.name)
def test_the_runs_of_the_shipped_role_policies_validate(path: Path) -> None:
    from agents.rllib_train import learning_roles, read_rllib_config

    config = read_rllib_config(path)
    assert path.parent.name == f"rllib-{config.scenario}" and config.model == "world"
    roles = sorted(p.name for p in path.parent.iterdir() if (p / "policy.json").is_file())
    assert roles == sorted(learning_roles(config.scenario))


def test_every_shipped_run_is_checked() -> None:
    assert len(SB3_RUNS) == 5 and len(RLLIB_RUNS) == 1 and len(SHIPPED) == 6


def test_override_values_are_yaml_scalars_with_yaml_1_2_floats() -> None:
    config = load_config(
        FETCH, ["ppo.learning_rate=1e-4", "max_minutes=1.5E1", "n_timesteps=1_000", "seed=0x10"]
    )
    assert (config.ppo["learning_rate"], config.max_minutes, config.n_timesteps, config.seed) == (
        1e-4,
        15.0,
        1000,
        16,
    )
    config = load_config(FETCH, ["env_kwargs.size=32", "ppo.target_kl=0.02", "policy.net_arch=[]"])
    assert config.env_kwargs == {"scenes": "vqvae", "route": True, "shaping": 1.0, "size": 32}
    assert config.ppo["target_kl"] == 0.02 and config.policy["net_arch"] == []


# --- audit round 2 --------------------------------------------------------------------------------


class _FiniteSource:
    """A stand-in for a scene source with finitely many distinct scenes."""

    def __init__(self, distinct: int) -> None:
        self.name, self.num_distinct = "fake-bank", distinct


AUDIT_FINITE_SPLITS = [
    # (distinct scenes, train_scenes, test_start, test_scenes, the held-out / training scene pair)
    (280, 100_000, 10_000_000, 100_000, "held-out scene 10000000 is training scene 80"),
    (280, 280, 10_000_000, 10, "held-out scene 10000000 is training scene 80"),
    (280, 200, 300, 10, "held-out scene 300 is training scene 20"),
    (280, 200, 480, 100, "held-out scene 560 is training scene 0"),
    (280, 200, 200, 81, "held-out scene 280 is training scene 0"),
    (1000, 10, 1990, 20, "held-out scene 2000 is training scene 0"),
]


@pytest.mark.parametrize(("distinct", "train", "start", "count", "pair"), AUDIT_FINITE_SPLITS)
def test_audit_held_out_scenes_repeating_training_scenes_are_refused(distinct, train, start, count, pair):
    from agents.config import check_distinct

    config = TrainConfig(FETCH, train_scenes=train, test_start=start, test_scenes=count)
    with pytest.raises(ValueError) as info:
        check_distinct(config, _FiniteSource(distinct))
    _names(
        str(info.value),
        f"train_scenes={train}, test_start={start}, test_scenes={count}",
        f"'fake-bank' has {distinct} distinct scenes",
        pair,
    )


@pytest.mark.parametrize(
    ("distinct", "train", "start", "count"),
    [(280, 200, 200, 80), (280, 200, 480, 80), (280, 1, 281, 279), (280, 100, 10_000_020, 100)],
)
def test_audit_held_out_scenes_of_distinct_scenes_are_accepted(distinct, train, start, count):
    from agents.config import check_distinct

    config = TrainConfig(FETCH, train_scenes=train, test_start=start, test_scenes=count)
    check_distinct(config, _FiniteSource(distinct))


@pytest.mark.parametrize("source", [None, object(), _FiniteSource(None), _FiniteSource(True)])  # type: ignore[arg-type]
def test_audit_sources_without_a_count_of_distinct_scenes_are_unbounded(source):
    from agents.config import check_distinct

    check_distinct(load_config(FETCH), source)


def test_audit_the_env_source_of_a_config_is_checked_for_repeats() -> None:
    from vrenvs.core.sources import make_source

    source = make_source("designer", 16)
    source.num_distinct = 280  # type: ignore[attr-defined]  # set by the sources once they count
    config = TrainConfig(FETCH, env_kwargs={"scenes": source, "size": 16})
    with pytest.raises(ValueError, match="'designer' has 280 distinct scenes"):
        check_env_kwargs(config)
    check_env_kwargs(
        TrainConfig(
            FETCH, env_kwargs={"scenes": source, "size": 16}, train_scenes=200, test_start=200, test_scenes=80
        )
    )


AUDIT_OVERRIDES: list[tuple[str, type[Exception], tuple[str, ...]]] = [
    ("max_minutes=1:30", TypeError, ("max_minutes='1:30'", "a number")),
    ("seed=017", ValueError, ("override 'seed=017'", "'017' is an integer with a leading zero")),
    ("n_envs=-08", ValueError, ("override 'n_envs=-08'", "'-08' is an integer with a leading zero")),
    ("threads=0_1", ValueError, ("'0_1' is an integer with a leading zero",)),
    ("env_kwargs={size: 16, size: 32}", ValueError, ("the key 'size' is given twice",)),
    ("env_kwargs.num_envs=4", ValueError, ("env_kwargs.num_envs=4 cannot be set here: n_envs",)),
    ("env_kwargs.autoreset_mode=same_step", ValueError, ("env_kwargs.autoreset_mode='same_step'", "adapter")),
    ("env_kwargs.infos=every", ValueError, ("env_kwargs.infos='every'", "adapter")),
    ("env_kwargs.vectorization_mode=sync", ValueError, ("env_kwargs.vectorization_mode='sync'", "adapter")),
    ("env_kwargs.render_mode=human", ValueError, ("env_kwargs.render_mode='human'", "do not render")),
]


@pytest.mark.parametrize(
    ("override", "error", "fragments"), AUDIT_OVERRIDES, ids=[a[0] for a in AUDIT_OVERRIDES]
)
def test_audit_yaml_1_1_and_adapter_overrides_are_refused(override, error, fragments) -> None:
    with pytest.raises(error) as info:
        load_config(FETCH, [override])
    assert type(info.value) is error
    _names(str(info.value), *fragments)


def test_audit_a_key_twice_in_config_yaml_names_the_key_and_file(tmp_path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(GOOD + "seed: 3\n")
    with pytest.raises(ValueError) as info:
        read_config(path)
    _names(str(info.value), str(path), "the key 'seed' is given twice")


@pytest.mark.parametrize("key", ["autoreset_mode", "vectorization_mode"])
def test_audit_make_vec_env_refuses_the_kwargs_it_sets(key) -> None:
    from agents.vec_env import make_vec_env

    with pytest.raises(ValueError) as info:
        make_vec_env(FETCH, 2, **{key: "next_step"})
    _names(str(info.value), f"env_kwargs.{key}='next_step' cannot be given")


@pytest.mark.parametrize(
    ("actions", "shown"),
    [
        ([float("inf"), 1.0], "[inf, 1.0]"),
        ([float("nan"), 1.0], "[nan, 1.0]"),
        ([1e30, 2.0], "[1e+30, 2.0]"),
        ([0.5, 2.0], "[0.5, 2.0]"),
    ],
)
def test_audit_adapter_reports_actions_as_given(actions, shown) -> None:
    import numpy as np

    from agents.vec_env import make_vec_env

    venv = make_vec_env(FETCH, 2)
    venv.reset()
    with pytest.raises(ValueError) as info:
        venv.step(np.array(actions))
    venv.close()
    _names(str(info.value), f"got {shown}")


def test_audit_seed_given_twice_on_the_command_line_is_refused(tmp_path, capsys) -> None:
    from agents.train import main

    assert main([FETCH, "--seed", "1", "--set", "seed=2", "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vrenvs train: error: ") and "Traceback" not in err
    _names(err, "--seed 1", "--set seed=2", "both set the seed")


def test_audit_a_huge_policy_is_refused_before_the_run_folder_is_written(tmp_path) -> None:
    from agents.train import plan

    arch = "policy.net_arch=[" + ",".join(["4096"] * 8) + "]"
    with pytest.raises(ValueError) as info:
        plan(FETCH, ["policy.features_dim=4096", "policy.channels=512", arch], runs=tmp_path, run_id="huge")
    _names(str(info.value), "parameters for vrenvs/Assistant-Fetch-v0", "at most 50,000,000 are allowed")
    assert list(tmp_path.iterdir()) == []


def _junk_optimizer(run: Path) -> None:
    (run / "checkpoints/latest/optimizer.pt").write_bytes(b"\x80\x04K\x05." + b"junk" * 10)


def _list_optimizer(run: Path) -> None:
    import torch

    torch.save([1, 2], run / "checkpoints/latest/optimizer.pt")


AUDIT_RESUMES: list[tuple[str, Any, tuple[str, ...]]] = [
    (
        "split edited",
        lambda r: _edit_config(r, train_scenes=10, test_start=10),
        ("{run}/config.yaml: test_start=10 differs from 10000000", "changed: test_start, train_scenes"),
    ),
    ("seed edited", lambda r: _edit_config(r, seed=5), ("{run}/config.yaml: seed=5 differs from 0",)),
    (
        "ppo edited",
        lambda r: _edit_config(r, ppo={"n_steps": 32, "batch_size": 64, "n_epochs": 2}),
        ("ppo=", "'n_epochs': 2", "differs from"),
    ),
    (
        "old state.json",
        lambda r: _edit_state(r, '{"num_timesteps": 128}'),
        ("{run}/checkpoints/latest/state.json does not record the config",),
    ),
    (
        "junk optimizer.pt",
        _junk_optimizer,
        ("{run}/checkpoints/latest/optimizer.pt is not a torch optimizer state written by vrenvs train",),
    ),
    (
        "a list in optimizer.pt",
        _list_optimizer,
        ("{run}/checkpoints/latest/optimizer.pt is not a torch optimizer state", "holds a list"),
    ),
]


@pytest.mark.parametrize(
    ("spoil", "fragments"), [r[1:] for r in AUDIT_RESUMES], ids=[r[0] for r in AUDIT_RESUMES]
)
def test_audit_resume_refuses_a_changed_config_or_a_junk_checkpoint(run, spoil, fragments) -> None:
    from agents.train import plan

    spoil(run)
    before = _tree(run)
    with pytest.raises(ValueError) as info:
        plan(FETCH, resume=run)
    _names(str(info.value), *(f.replace("{run}", str(run)) for f in fragments))
    assert _tree(run) == before


def test_audit_resume_may_change_the_length_and_schedule(run) -> None:
    from agents.train import plan

    _edit_config(run, n_timesteps=512, max_minutes=5.0, threads=1, eval_every=64, checkpoint_every=64)
    assert plan(FETCH, resume=run).done == 128


@pytest.fixture
def evaluated(monkeypatch) -> list[dict[str, Any]]:
    """The env kwargs ``vrenvs eval`` would evaluate with (nothing is played)."""
    calls: list[dict[str, Any]] = []

    def record(model: Any, env_id: str, env_kwargs: dict[str, Any], episodes: int, seed: int = 0) -> Any:
        calls.append(env_kwargs)
        return {"x": {"success": 0.0, "success_low": 0.0, "success_high": 1.0, "return": 0.0, "length": 1.0}}

    monkeypatch.setattr("agents.evaluate.evaluate", record)
    return calls


@pytest.mark.parametrize("where", ["final", "best", "checkpoints/latest/policy"])
def test_audit_eval_of_a_run_uses_the_runs_split(where, evaluated, tmp_path, capsys) -> None:
    from agents.evaluate import main

    run = tmp_path / "run"
    config = load_config(FETCH, ["train_scenes=20000000", "test_start=30000000", "test_scenes=5"])
    folder = run / where
    folder.mkdir(parents=True)
    (run / "config.yaml").write_text(config.to_yaml())
    for name in ("policy.json", "policy.safetensors"):
        shutil.copy(ROOT / "agents/pretrained/ppo-Assistant-Fetch" / name, folder / name)
    assert main([str(folder), "--episodes", "1"]) == 0
    assert (evaluated[0]["start_scene"], evaluated[0]["num_scenes"]) == (30_000_000, 5)
    _names(
        capsys.readouterr().err,
        f"test scenes [30000000, 30000005) from the run's config {run / 'config.yaml'}",
    )
    assert main([str(folder), "--episodes", "1", "--split", "train"]) == 0
    assert (evaluated[1]["start_scene"], evaluated[1]["num_scenes"]) == (0, 20_000_000)


def test_audit_eval_without_a_run_config_says_it_uses_the_per_task_one(evaluated, tmp_path, capsys) -> None:
    from agents.evaluate import main

    folder = tmp_path / "policy"
    folder.mkdir()
    meta = json.loads((ROOT / "agents/pretrained/ppo-Assistant-Fetch/policy.json").read_text())
    meta["env_kwargs"]["render_mode"] = "human"
    from vrenvs.core.jsonfiles import digest

    meta["config_sha256"] = digest(meta, "config_sha256")
    (folder / "policy.json").write_text(json.dumps(meta))
    shutil.copy(ROOT / "agents/pretrained/ppo-Assistant-Fetch/policy.safetensors", folder)
    assert main([str(folder), "--episodes", "1"]) == 0
    assert "render_mode" not in evaluated[0] and evaluated[0]["start_scene"] == 10_000_000
    _names(
        capsys.readouterr().err,
        f"render_mode='human' of {folder / 'policy.json'} is not used",
        "test scenes [10000000, 10100000) from the per-task config agents/configs/Assistant-Fetch.yaml",
    )


def test_audit_eval_of_a_run_config_for_another_env_is_refused(tmp_path, capsys) -> None:
    from agents.evaluate import main

    folder = tmp_path / "run" / "final"
    folder.mkdir(parents=True)
    (folder.parent / "config.yaml").write_text(load_config(GUIDE).to_yaml())
    for name in ("policy.json", "policy.safetensors"):
        shutil.copy(ROOT / "agents/pretrained/ppo-Assistant-Fetch" / name, folder / name)
    assert main([str(folder)]) == 2
    _names(capsys.readouterr().err, f"{folder.parent / 'config.yaml'} trains {GUIDE}", f"trained on {FETCH}")


def test_audit_config_doctests() -> None:
    import doctest

    from agents import config

    result = doctest.testmod(config)
    assert (result.attempted, result.failed) == (2, 0)
