"""Multi-agent PPO on Ray RLlib: ``vrenvs train --engine rllib SCENARIO``.

One policy (RLModule) per learning role, trained together on a scenario of
:mod:`vrenvs.multiagent` (:class:`~vrenvs.multiagent.rllib.RLlibWorldEnv`, new API stack).
The config is ``agents/configs/rllib/<Scenario>.yaml`` with ``--set key=value`` overrides,
as for SB3 runs. A run folder holds ``config.yaml``, ``progress.csv`` (per iteration: env
steps, each role's mean episode return), ``eval.csv`` (each role's held-out success and
return, ``eval_episodes`` episodes on the ``test`` scene range), TensorBoard events under
``tb/``, RLlib checkpoints under ``checkpoints/`` (RLlib's pickles, for RLlib only), each
role's policy as weights only under ``policies/<role>/`` (:mod:`agents.rllib_policy`; with
``model: world`` a role that is a single-agent env's learner also under ``sb3/<role>/`` in
the SB3 policy format) and ``learning_curves.png``.

``model: world`` (the shipped configs) trains :class:`agents.rllib_module.WorldModule`, the
SB3 policies' networks, on the dict observation; ``model: mlp`` RLlib's default MLP on a
flat one-hot vector (``hiddens``).

Ray: a local Ray starts unless ``--address`` (or ``RAY_ADDRESS``) names a cluster to join;
``--num-env-runners`` sets how many env runner actors sample in parallel. Needs
``pip install vrenvs[rllib]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from agents.config import read_yaml
from agents.policy_io import policy_kwargs
from vrenvs.core.checks import arg_int, check_choice, check_float, check_int
from vrenvs.core.tasks import task
from vrenvs.multiagent import scenario, scenario_names

__all__ = [
    "CONFIG_NAMES",
    "RLlibConfig",
    "algo_config",
    "evaluate",
    "learning_roles",
    "load_rllib_config",
    "main",
    "start_ray",
    "train",
]

CONFIG_NAMES = [*scenario_names(), "Assistant-Fetch"]
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Signals that end a run early, as ``max_minutes`` does: the last evaluation and the
exports still happen."""
MODELS = ("mlp", "world")
"""``model``: RLlib's default MLP on the flat one-hot observation, or
:class:`agents.rllib_module.WorldModule` (the SB3 policy's networks) on the dict one."""
"""What ``agents/configs/rllib/`` has a config for: the scenarios, and the fetch task (one
learner, for comparing the engines with the shipped SB3 policy)."""

PPO_KEYS = {
    "lr": float,
    "gamma": float,
    "lambda_": float,
    "clip_param": float,
    "entropy_coeff": float,
    "vf_loss_coeff": float,
    "grad_clip": float,
    "vf_clip_param": float,
    "use_kl_loss": bool,
    "kl_coeff": float,
    "train_batch_size_per_learner": int,
    "minibatch_size": int,
    "num_epochs": int,
}


@dataclass
class RLlibConfig:
    """One multi-agent training run (see ``agents/configs/rllib/*.yaml``)."""

    scenario: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    n_timesteps: int = 1_000_000
    num_env_runners: int = 1
    num_envs_per_env_runner: int = 8
    train_scenes: int = 100_000
    test_start: int = 10_000_000
    test_scenes: int = 100_000
    eval_every: int = 10
    eval_episodes: int = 50
    eval_greedy: bool = False
    checkpoint_every: int = 20
    model: str = "mlp"
    hiddens: list[int] = field(default_factory=lambda: [256, 256])
    policy: dict[str, Any] = field(default_factory=dict)
    ppo: dict[str, Any] = field(default_factory=dict)
    max_minutes: float = 30.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.scenario not in CONFIG_NAMES:
            raise ValueError(f"scenario={self.scenario!r} is unknown; choose from {CONFIG_NAMES}")
        check_int("n_timesteps", self.n_timesteps, 1)
        check_int("num_env_runners", self.num_env_runners, 0, 256)
        check_int("num_envs_per_env_runner", self.num_envs_per_env_runner, 1, 1024)
        check_int("train_scenes", self.train_scenes, 1)
        check_int("test_start", self.test_start, 0)
        check_int("test_scenes", self.test_scenes, 1)
        if self.test_start < self.train_scenes:
            raise ValueError(
                f"test_start={self.test_start} lies inside the training scenes [0, {self.train_scenes}); "
                "held-out scenes must come after them"
            )
        check_int("eval_every", self.eval_every, 1)
        check_int("eval_episodes", self.eval_episodes, 1, 100_000)
        if not isinstance(self.eval_greedy, bool):
            raise TypeError(f"eval_greedy={self.eval_greedy!r} must be true or false")
        check_int("checkpoint_every", self.checkpoint_every, 1)
        check_float("max_minutes", self.max_minutes, 0.01, 10_000)
        check_int("seed", self.seed, 0, 2**31 - 1)
        check_choice("model", self.model, MODELS)
        if not isinstance(self.hiddens, list) or not all(isinstance(h, int) and h > 0 for h in self.hiddens):
            raise TypeError(f"hiddens={self.hiddens!r} must be a list of positive layer sizes")
        self.policy = policy_kwargs(self.policy)
        for key, value in self.ppo.items():
            if key not in PPO_KEYS:
                raise ValueError(f"ppo key {key!r} is unknown; choose from {sorted(PPO_KEYS)}")
            kind = PPO_KEYS[key]
            if kind is bool:
                if not isinstance(value, bool):
                    raise TypeError(f"ppo.{key}={value!r} must be true or false")
            elif (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or (kind is int and not isinstance(value, int))
            ):
                raise TypeError(f"ppo.{key}={value!r} must be a {kind.__name__}")
        for key in ("num_scenes", "start_scene", "render_mode"):
            if key in self.env_kwargs:
                raise ValueError(
                    f"env_kwargs.{key} is set by the run (train/test scene ranges); leave it out"
                )


def learning_roles(name: str) -> tuple[str, ...]:
    """The roles that learn in scenario or task ``name`` (a task: its learner)."""
    found = scenario(name)
    return found.learners if found is not None else (task(name).learner,)


def _config_text(name: str) -> str:
    return resources.files("agents").joinpath("configs", "rllib", f"{name}.yaml").read_text(encoding="utf-8")


def load_rllib_config(name: str, overrides: list[str]) -> RLlibConfig:
    """The shipped config of scenario ``name`` with ``key=value`` overrides."""
    if name not in CONFIG_NAMES:
        raise ValueError(f"scenario {name!r} is unknown; choose from {CONFIG_NAMES}")
    data = yaml.safe_load(_config_text(name))
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r} must be KEY=VALUE")
        value = yaml.safe_load(text)
        parts = key.strip().split(".")
        target = data
        for part in parts[:-1]:
            if not isinstance(target.get(part), dict):
                raise ValueError(f"--set {item!r}: {part!r} is not a section; sections: ppo, env_kwargs")
            target = target[part]
        if len(parts) == 1 and parts[0] not in RLlibConfig.__dataclass_fields__:
            raise ValueError(
                f"--set {item!r}: unknown key; choose from {sorted(RLlibConfig.__dataclass_fields__)}"
            )
        target[parts[-1]] = value
    return RLlibConfig(**data)


def algo_config(cfg: RLlibConfig, env_name: str) -> Any:
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    from vrenvs.multiagent.rllib import policy_of

    env_config = {
        "name": cfg.scenario,
        **cfg.env_kwargs,
        "num_scenes": cfg.train_scenes,
        "start_scene": 0,
    }
    roles = learning_roles(cfg.scenario)
    if cfg.model == "world":
        from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
        from ray.rllib.core.rl_module.rl_module import RLModuleSpec

        from agents.rllib_module import WorldModule

        env_config["flat"] = False  # the module reads the dict observation as SB3's policy does
        spec = RLModuleSpec(module_class=WorldModule, model_config=dict(cfg.policy))
        modules: dict[str, Any] = {
            "rl_module_spec": MultiRLModuleSpec(rl_module_specs=dict.fromkeys(roles, spec))
        }
    else:
        modules = {"model_config": DefaultModelConfig(fcnet_hiddens=list(cfg.hiddens))}
    return (
        PPOConfig()
        .environment(env_name, env_config=env_config)
        .env_runners(num_env_runners=cfg.num_env_runners, num_envs_per_env_runner=cfg.num_envs_per_env_runner)
        .multi_agent(policies=set(roles), policy_mapping_fn=policy_of)
        .rl_module(**modules)
        .training(**cfg.ppo)
        .debugging(seed=cfg.seed)
    )


def evaluate(algo: Any, cfg: RLlibConfig, episodes: int, seed: int = 0) -> dict[str, dict[str, float]]:
    """Each role's held-out success rate (with its Wilson interval) and mean return over
    ``episodes`` episodes on the test scenes, actions of the trained modules sampled (as SB3's
    evaluation during training does) or greedy with ``eval_greedy: true``
    (:func:`agents.rllib_policy.evaluate_roles` on copies of their actors)."""
    from agents.rllib_policy import evaluate_roles, role_policy_of

    policies = {role: role_policy_of(algo.get_module(role)) for role in learning_roles(cfg.scenario)}
    kwargs = {**cfg.env_kwargs, "num_scenes": cfg.test_scenes, "start_scene": cfg.test_start}
    return evaluate_roles(policies, cfg.scenario, kwargs, episodes, seed, greedy=cfg.eval_greedy)


def _curves(run: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with (run / "eval.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    for role in sorted({r["role"] for r in rows}):
        mine = [r for r in rows if r["role"] == role]
        steps = [int(r["timesteps"]) for r in mine]
        ax.plot(steps, [float(r["success"]) for r in mine], marker="o", label=role)
        ax.fill_between(
            steps,
            [float(r["success_low"]) for r in mine],
            [float(r["success_high"]) for r in mine],
            alpha=0.2,
        )
    ax.set(xlabel="environment steps", ylabel="held-out success", ylim=(0, 1), title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    out = run / "learning_curves.png"
    fig.savefig(out)
    plt.close(fig)
    return out


def start_ray(address: str | None = None) -> str:
    """Join the Ray cluster at ``address`` (or start a local Ray) unless Ray is running,
    and register the env; returns the name it is registered under."""
    import ray
    from ray.tune.registry import register_env

    from vrenvs.multiagent.rllib import ENV_NAME, RLlibWorldEnv

    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(include_dashboard=False, log_to_driver=False)
    register_env(ENV_NAME, lambda config: RLlibWorldEnv(config))
    return ENV_NAME


def train(cfg: RLlibConfig, run: Path, address: str | None = None, progress: bool = True) -> Path:
    """Train ``cfg`` into the folder ``run``; returns it."""
    import torch
    from torch.utils.tensorboard import SummaryWriter

    run.mkdir(parents=True, exist_ok=False)
    (run / "config.yaml").write_text(yaml.safe_dump(cfg.__dict__, sort_keys=False))
    torch.set_num_threads(1)
    env_name = start_ray(address)
    algo = algo_config(cfg, env_name).build_algo()
    stop: list[int] = []  # a stop signal ends training at the next iteration; evaluation and export follow
    previous = {sig: signal.signal(sig, lambda signum, frame: stop.append(signum)) for sig in STOP_SIGNALS}
    writer = SummaryWriter(str(run / "tb"))
    started = time.monotonic()
    steps, iteration = 0, 0
    progress_rows: list[dict[str, Any]] = []
    eval_rows: list[dict[str, Any]] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.n_timesteps, unit="step", desc=f"rllib {cfg.scenario}")
    try:
        while not stop and steps < cfg.n_timesteps and time.monotonic() - started < 60 * cfg.max_minutes:
            result = algo.train()
            iteration += 1
            runners = result.get("env_runners", {})
            now = int(runners.get("num_env_steps_sampled_lifetime", steps))
            if bar is not None:
                bar.update(now - steps)
            steps = now
            row = {
                "iteration": iteration,
                "timesteps": steps,
                "seconds": round(time.monotonic() - started, 1),
            }
            for role, value in runners.get("module_episode_returns_mean", {}).items():
                row[f"return_{role}"] = float(value)
                writer.add_scalar(f"return/{role}", float(value), steps)
            progress_rows.append(row)
            _write_csv(run / "progress.csv", progress_rows)  # every iteration: a killed run keeps it
            if iteration % cfg.eval_every == 0:
                eval_rows += _eval_rows(algo, cfg, steps, writer)
                _write_csv(run / "eval.csv", eval_rows)
            if iteration % cfg.checkpoint_every == 0:
                algo.save_to_path(str((run / "checkpoints" / f"iter_{iteration:05d}").resolve()))
        if not eval_rows or eval_rows[-1]["timesteps"] != steps:
            eval_rows += _eval_rows(algo, cfg, steps, writer)
        algo.save_to_path(str((run / "checkpoints" / "final").resolve()))
        _export(algo, cfg, run, steps)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if bar is not None:
            bar.close()
        writer.close()
        _write_csv(run / "progress.csv", progress_rows)
        _write_csv(run / "eval.csv", eval_rows)
        algo.stop()
    if eval_rows:
        _curves(run, f"{cfg.scenario} (RLlib PPO, co-trained)")
    return run


def _export(algo: Any, cfg: RLlibConfig, run: Path, steps: int) -> None:
    """Each role's module, weights only, to ``run/policies/<role>/`` (:mod:`agents.rllib_policy`);
    with ``model: world``, a role that is the learner of a single-agent env also to
    ``run/sb3/<role>/`` in the SB3 policy format (:func:`agents.rllib_policy.export_sb3`)."""
    from agents.rllib_policy import WorldRolePolicy, export_module, export_sb3, load_role_policy, sb3_env_id

    for role in learning_roles(cfg.scenario):
        meta = {
            "scenario": cfg.scenario,
            "role": role,
            "env_kwargs": cfg.env_kwargs,
            "num_timesteps": steps,
            "train_scenes": cfg.train_scenes,
            "test_start": cfg.test_start,
            "test_scenes": cfg.test_scenes,
            "seed": cfg.seed,
        }
        folder = export_module(algo.get_module(role), run / "policies" / role, meta)
        env_id = sb3_env_id(cfg.scenario, role)
        if cfg.model == "world" and env_id is not None:
            policy, _ = load_role_policy(folder)
            assert isinstance(policy, WorldRolePolicy)
            sb3 = {"env_id": env_id, "env_kwargs": cfg.env_kwargs, "engine": "rllib", **meta}
            export_sb3(policy, run / "sb3" / role, sb3)


def _eval_rows(algo: Any, cfg: RLlibConfig, steps: int, writer: Any) -> list[dict[str, Any]]:
    rows = []
    for role, got in evaluate(algo, cfg, cfg.eval_episodes).items():
        rows.append({"timesteps": steps, "role": role, **{k: round(v, 4) for k, v in got.items()}})
        writer.add_scalar(f"heldout_success/{role}", got["success"], steps)
    return rows


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as handle:
        out = csv.DictWriter(handle, fieldnames=keys)
        out.writeheader()
        out.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="vrenvs train --engine rllib",
        description="Train every learning role of a scenario on Ray RLlib.",
    )
    parser.add_argument("scenario", help=f"a multi-agent scenario or task: {', '.join(CONFIG_NAMES)}")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides (ppo.lr=1e-4)"
    )
    parser.add_argument("--seed", type=arg_int(0, 2**31 - 1), help="shortcut for --set seed=N")
    parser.add_argument(
        "--runs", type=Path, default=Path("runs"), help="where run folders go (default: runs)"
    )
    parser.add_argument("--run-id", help="run folder name (default: rllib, scenario, time stamp, seed)")
    parser.add_argument(
        "--address",
        default=os.environ.get("RAY_ADDRESS"),
        help="a Ray cluster to join (default: RAY_ADDRESS, else a local Ray is started)",
    )
    parser.add_argument(
        "--num-env-runners", type=arg_int(0, 256), help="parallel env runners (sampling actors)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    overrides = list(args.set)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if args.num_env_runners is not None:
        overrides.append(f"num_env_runners={args.num_env_runners}")
    try:
        cfg = load_rllib_config(args.scenario, overrides)
    except (TypeError, ValueError) as err:
        print(f"vrenvs train: error: {err}", file=sys.stderr)
        return 2
    try:
        import ray  # noqa: F401
    except ModuleNotFoundError:
        print(
            "vrenvs train: error: --engine rllib needs Ray RLlib: pip install 'vrenvs[rllib]'",
            file=sys.stderr,
        )
        return 2
    run_id = args.run_id or f"rllib-{cfg.scenario}-{time.strftime('%Y%m%d-%H%M%S')}-s{cfg.seed}"
    run = args.runs / run_id
    if run.exists():
        print(f"vrenvs train: error: run folder {run} exists; give another --run-id", file=sys.stderr)
        return 2
    train(cfg, run, args.address, progress=not args.no_progress)
    print(f"run folder: {run}")
    return 0


def read_rllib_config(path: Path) -> RLlibConfig:
    """A run folder's ``config.yaml`` (or any such file) as a config."""
    return RLlibConfig(**read_yaml(path))
