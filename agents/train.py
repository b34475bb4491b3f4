"""Training: ``vrenvs train ENV_ID`` / ``python -m agents.train ENV_ID``.

A run folder ``runs/<env>/<run-id>/`` holds ``config.yaml``, ``checkpoints/latest`` (policy,
optimizer and step count, replaced atomically), ``best`` and ``final`` policies, ``eval.csv``
(held-out evaluations) and ``learning_curve.png``; TensorBoard logs go to ``tb/``. The run
evaluates on held-out scenes (``start_scene`` beyond the training range) every
``eval_every`` steps, resumes with ``--resume RUN_DIR``, and on SIGINT / SIGTERM writes a
checkpoint before it exits.

:func:`plan` checks everything first and writes nothing (the config, the output folder, one
env made from the config, the checkpoint a resume continues from); :func:`execute` then
trains. User mistakes raise TypeError / ValueError, and ``main`` prints them as
``vrenvs train: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from agents.config import (
    MAX_SEED,
    MAX_TIMESTEPS,
    TrainConfig,
    check_env_kwargs,
    env_id_of,
    load_config,
    read_config,
    split_kwargs,
)
from agents.curriculum import CurriculumCallback, curriculum_source, load_state, save_state, truncate_log
from agents.evaluate import policy_actor, run_episodes
from agents.hardset import hard_kwargs
from agents.plots import learning_curve
from agents.policy_io import (
    build_model,
    load_policy,
    read_meta,
    save_optimizer,
    save_policy,
    write_atomically,
)
from agents.vec_env import make_vec_env
from vrenvs.core.checks import arg_int, check_int, check_output, check_text
from vrenvs.core.curriculum import METHODS, CurriculumSource

__all__ = ["Plan", "execute", "main", "plan", "train"]


class HeldOutEval(BaseCallback):
    """Evaluate on held-out scenes every ``eval_every`` steps; keep the best policy."""

    def __init__(self, config: TrainConfig, run: Path, meta: dict[str, Any]) -> None:
        super().__init__()
        self.config, self.run, self.meta = config, run, meta
        self.next_eval = config.eval_every
        self.best = -1.0
        self.last_eval = -1

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.next_eval:
            self.next_eval += self.config.eval_every
            self.evaluate()
        return True

    def evaluate(self) -> dict[str, Any]:
        self.last_eval = self.num_timesteps
        row = run_episodes(
            policy_actor(self.model, False),
            self.config.env_id,
            split_kwargs(self.config, "test"),
            self.config.eval_episodes,
            seed=self.config.seed + 1,
        )
        row = {
            "timesteps": self.num_timesteps,
            "seconds": round(time.time() - self.meta["started"], 1),
            **row,
        }
        if self.config.hard_episodes:
            hard = run_episodes(
                policy_actor(self.model, False),
                self.config.env_id,
                hard_kwargs(split_kwargs(self.config, "test")),
                self.config.hard_episodes,
                seed=self.config.seed + 1,
            )
            row.update({f"hard_{k}": v for k, v in hard.items()})
            self.logger.record("eval/hard_success_rate", hard["success"])
        path = self.run / "eval.csv"
        fresh = not path.exists()
        with path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            if fresh:
                writer.writeheader()
            writer.writerow(row)
        self.logger.record("eval/success_rate", row["success"])
        self.logger.record("eval/mean_return", row["return"])
        if row["success"] > self.best:
            self.best = row["success"]
            save_policy(self.model, self.run / "best", self.meta)  # type: ignore[arg-type]
        return row


class WallClock(BaseCallback):
    """Stop training once ``minutes`` of wall time have passed since ``started``."""

    def __init__(self, minutes: float, started: float) -> None:
        super().__init__()
        self.deadline = started + 60 * minutes if minutes > 0 else float("inf")
        self.expired = False

    def _on_step(self) -> bool:
        self.expired = time.time() >= self.deadline
        return not self.expired


class Checkpoints(BaseCallback):
    """Every ``every`` steps, and on a stop signal, write ``checkpoints/latest`` atomically."""

    def __init__(
        self,
        every: int,
        run: Path,
        meta: dict[str, Any],
        config: TrainConfig,
        curriculum: CurriculumSource | None = None,
    ) -> None:
        super().__init__()
        self.every, self.run, self.meta, self.config = every, run, meta, config
        self.curriculum = curriculum
        self.next_save = every
        self.stop = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._request_stop)

    def _request_stop(self, signum: int, frame: Any) -> None:
        self.stop = True

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.next_save:
            self.next_save += self.every
            self.save()
        return not self.stop

    def save(self) -> Path:
        def write(tmp: Path) -> None:
            save_policy(self.model, tmp / "policy", self.meta)  # type: ignore[arg-type]
            save_optimizer(self.model, tmp)  # type: ignore[arg-type]
            state = checkpoint_state(self.config, int(self.num_timesteps))
            (tmp / "state.json").write_text(json.dumps(state))
            if self.curriculum is not None:
                world = self.training_env.venv.world  # type: ignore[attr-defined]
                save_state(self.curriculum, tmp, world.scene_index)

        return write_atomically(self.run / "checkpoints" / "latest", write)


RESUMABLE = ("n_timesteps", "max_minutes", "threads", "eval_every", "checkpoint_every", "hard_episodes")
"""Config keys a resumed run may change; every other key fixes what is trained or evaluated."""


def trained_with(config: TrainConfig) -> dict[str, Any]:
    """The config keys a checkpoint records and a resume must keep (all but :data:`RESUMABLE`),
    as plain JSON values."""
    fixed = {k: v for k, v in dataclasses.asdict(config).items() if k not in RESUMABLE}
    return json.loads(json.dumps(fixed))


def checkpoint_state(config: TrainConfig, num_timesteps: int) -> dict[str, Any]:
    """The ``state.json`` of a checkpoint: its step count and the config it was trained with."""
    return {"num_timesteps": num_timesteps, "config": trained_with(config)}


ADDED_KEYS: dict[str, Any] = {"curriculum": {}}
"""Config keys added after checkpoints recorded their config, with the value such a
checkpoint was trained with (so older runs still resume)."""

RESUME_HINT = "the run continues with the config.yaml in its folder (edit n_timesteps there to train longer)"


@dataclass
class Plan:
    """A checked run: its config, folder and the steps a resumed run has already trained."""

    config: TrainConfig
    run: Path
    resume: bool
    done: int = 0


def _run_folder(config: TrainConfig, runs: Path, run_id: str | None) -> Path:
    """The new run's folder, checked (not created): no file in the way, no run there already."""
    check_output("--runs", runs, folder=True)
    if run_id is not None:
        check_text("--run-id", run_id, max_len=200)
        if run_id in ("", ".", "..") or Path(run_id).name != run_id or "\\" in run_id:
            raise ValueError(f"--run-id={run_id!r} must be a folder name (no path separators)")
    name = config.env_id.split("/")[-1]
    run = Path(runs) / name / (run_id or time.strftime("%Y%m%d-%H%M%S") + f"-s{config.seed}")
    check_output("--runs", run, folder=True)
    if run.is_dir() and any(run.iterdir()):
        raise ValueError(
            f"run folder {str(run)!r} exists and is not empty; continue it with --resume {run} "
            "or choose another --run-id"
        )
    return run


def _checkpoint(run: Path, config: TrainConfig) -> int:
    """The step count of ``run``'s last checkpoint, after checking it can continue ``config``."""
    latest = run / "checkpoints" / "latest"
    if not latest.is_dir():
        raise ValueError(
            f"--resume {run}: the run has no checkpoint ({latest} is missing), so there is nothing to "
            "continue; start a new run instead"
        )
    for file in ("state.json", "optimizer.pt"):
        if not (latest / file).is_file():
            raise ValueError(f"--resume {run}: {latest / file} is missing (an incomplete checkpoint)")
    state_path = latest / "state.json"
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{state_path} is not valid JSON: {err}") from None
    if not isinstance(state, dict) or "num_timesteps" not in state:
        raise ValueError(f"{state_path} must hold {{'num_timesteps': N}}, not {state!r}")
    done = check_int(f"{state_path}: num_timesteps", state["num_timesteps"], 0, MAX_TIMESTEPS)
    meta = read_meta(latest / "policy")
    if meta.get("env_id") != config.env_id:
        raise ValueError(
            f"{latest / 'policy'} holds a policy for {meta.get('env_id')!r}, "
            f"but {run / 'config.yaml'} trains {config.env_id!r}"
        )
    for key in ("policy", "env_kwargs"):
        if meta.get(key) != getattr(config, key):
            raise ValueError(
                f"{run / 'config.yaml'}: {key}={getattr(config, key)!r} differs from the checkpoint's "
                f"{meta.get(key)!r}; the checkpoint's network cannot continue under it"
            )
    recorded = state.get("config")
    if not isinstance(recorded, dict):
        raise ValueError(
            f"{state_path} does not record the config its run was trained with (a checkpoint written "
            "before vrenvs recorded it, or edited); it cannot be resumed safely: start a new run"
        )
    recorded = {**ADDED_KEYS, **recorded}  # a checkpoint written before these keys existed
    now = trained_with(config)
    changed = sorted(k for k in {*now, *recorded} if now.get(k, "<absent>") != recorded.get(k, "<absent>"))
    if changed:
        key = changed[0]
        raise ValueError(
            f"{run / 'config.yaml'}: {key}={now.get(key)!r} differs from {recorded.get(key)!r}, which the "
            f"checkpoint was trained with ({state_path}; changed: {', '.join(changed)}); a resume may change "
            f"only {', '.join(RESUMABLE)}: restore the value or start a new run"
        )
    _read_optimizer(latest / "optimizer.pt")
    if done >= config.n_timesteps:
        raise ValueError(
            f"--resume {run}: the run is complete ({done} steps of n_timesteps={config.n_timesteps}); "
            f"raise n_timesteps in {run / 'config.yaml'} to train further"
        )
    return done


OPTIMIZER_NOTE = "is not a torch optimizer state written by vrenvs train"


def _first_line(err: Exception) -> str:
    """The first line of ``err`` (torch's load errors go on with advice on unpickling)."""
    return (str(err).strip().splitlines() or [""])[0][:200]


def _read_optimizer(path: Path) -> dict[str, Any]:
    """The optimizer state in ``path``, read as plain tensors and containers only."""
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as err:  # torch.load raises many types for a file that is no torch file
        raise ValueError(f"{path} {OPTIMIZER_NOTE} ({type(err).__name__}: {_first_line(err)})") from None
    if not isinstance(state, dict) or not {"state", "param_groups"} <= set(state):
        raise ValueError(f"{path} {OPTIMIZER_NOTE} (it holds a {type(state).__name__}, not one)")
    return state


def plan(
    env_id: str,
    overrides: list[str] | None = None,
    runs: Path = Path("runs"),
    run_id: str | None = None,
    resume: Path | None = None,
) -> Plan:
    """Check everything a run needs, writing nothing: TypeError / ValueError name the fault."""
    if resume is None:
        config = load_config(env_id, overrides)
        run = _run_folder(config, runs, run_id)
        done = 0
    else:
        if overrides:
            raise ValueError(f"--set {' '.join(overrides)} cannot be used with --resume: {RESUME_HINT}")
        if run_id is not None:
            raise ValueError(f"--run-id={run_id!r} cannot be used with --resume: the run keeps its folder")
        run = Path(resume)
        if not run.is_dir():
            raise ValueError(f"--resume={str(resume)!r} is not a run folder (no such folder)")
        config = read_config(run / "config.yaml")
        wanted = env_id_of(env_id, "ENV_ID")
        if wanted != config.env_id:
            raise ValueError(f"--resume {run}: the run trains {config.env_id}, not {wanted} (ENV_ID)")
        done = _checkpoint(run, config)
    check_env_kwargs(config)
    return Plan(config, run, resume is not None, done)


def _load_checkpoint(model: PPO, latest: Path) -> None:
    model.policy.load_state_dict(load_policy(latest / "policy").policy.state_dict())
    path = latest / "optimizer.pt"
    state = _read_optimizer(path)
    try:
        model.policy.optimizer.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as err:
        raise ValueError(
            f"{path} {OPTIMIZER_NOTE} for this policy ({type(err).__name__}: {_first_line(err)})"
        ) from None


def train(
    env_id: str,
    overrides: list[str] | None = None,
    runs: Path = Path("runs"),
    run_id: str | None = None,
    resume: Path | None = None,
    progress_bar: bool = True,
) -> Path:
    """Train PPO on ``env_id``; returns the run folder."""
    return execute(plan(env_id, overrides, runs, run_id, resume), progress_bar)


def execute(checked: Plan, progress_bar: bool = True) -> Path:
    """Run a checked :class:`Plan`; returns the run folder."""
    config, run, done = checked.config, checked.run, checked.done
    if not checked.resume:
        run.mkdir(parents=True, exist_ok=True)
        (run / "config.yaml").write_text(config.to_yaml())
    started = time.time()
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    meta: dict[str, Any] = {
        "env_id": config.env_id,
        "env_kwargs": config.env_kwargs,
        "policy": config.policy,
        "ppo": config.ppo,
        "seed": config.seed,
        "command": " ".join(sys.argv),
        "started": started,
    }
    venv = make_vec_env(config.env_id, config.n_envs, config.seed, **split_kwargs(config, "train"))
    model = build_model(
        config.env_id,
        config.env_kwargs,
        config.policy,
        config.ppo,
        env=venv,
        seed=config.seed,
        tensorboard_log=str(run / "tb"),
    )
    curriculum = curriculum_source(venv)
    if checked.resume:
        _load_checkpoint(model, run / "checkpoints" / "latest")
        model.num_timesteps = done
        if curriculum is not None:
            load_state(curriculum, run / "checkpoints" / "latest")
            truncate_log(run / "curriculum.csv", done)
    evaluator = HeldOutEval(config, run, meta)
    evaluator.next_eval = done + config.eval_every
    saver = Checkpoints(config.checkpoint_every, run, meta, config, curriculum)
    saver.next_save = done + config.checkpoint_every
    clock = WallClock(config.max_minutes, started)
    callbacks: list[BaseCallback] = [evaluator, saver, clock]
    if curriculum is not None:
        score = config.curriculum.get("score", "pvl")
        callbacks.insert(0, CurriculumCallback(curriculum, score, run / "curriculum.csv"))
    model.learn(
        total_timesteps=max(config.n_timesteps - done, 0),
        callback=CallbackList(callbacks),
        progress_bar=progress_bar,
        reset_num_timesteps=not checked.resume,
        tb_log_name="ppo",
    )
    saver.save()
    if not saver.stop:
        meta["wall_seconds"] = round(time.time() - started, 1)
        meta["num_timesteps"] = int(model.num_timesteps)
        if clock.expired or evaluator.last_eval != model.num_timesteps:
            evaluator.evaluate()  # the final policy's held-out row closes eval.csv
        save_policy(model, run / "final", meta)
        if (run / "eval.csv").exists():
            learning_curve(run / "eval.csv", run / "learning_curve.png", config.env_id)
    return run


ENGINES = ("sb3", "rllib")


def main(argv: list[str] | None = None) -> int:
    engine = argparse.ArgumentParser(add_help=False)
    engine.add_argument("--engine", choices=ENGINES, default="sb3")
    chosen, rest = engine.parse_known_args(sys.argv[1:] if argv is None else argv)
    if chosen.engine == "rllib":
        from agents.rllib_train import main as rllib_main

        return rllib_main(rest)
    parser = argparse.ArgumentParser(prog="vrenvs train", description="Train PPO on a vrenvs env.")
    parser.add_argument("env", help="env id, e.g. vrenvs/Assistant-Fetch-v0")
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="sb3",
        help="sb3 (default): one learner, stable-baselines3; rllib: every learning role of a "
        "multi-agent scenario on Ray RLlib (vrenvs train --engine rllib Guard-Thief --help)",
    )
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides (ppo.learning_rate=1e-4)"
    )
    parser.add_argument("--seed", type=arg_int(0, MAX_SEED), help="shortcut for --set seed=N")
    parser.add_argument("--runs", type=Path, help="where run folders go (default: runs)")
    parser.add_argument("--run-id", help="run folder name (default: time stamp and seed)")
    parser.add_argument(
        "--resume", type=Path, help="continue the run in this folder from its last checkpoint"
    )
    parser.add_argument(
        "--curriculum",
        choices=METHODS,
        help="which training scenes play next: uniform (the control), plr (prioritized level replay) "
        "accel (plr with edits) or condition (plr over the generator's conditions); shortcut for --set "
        "curriculum.method=NAME",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(rest)
    overrides = list(args.set) + ([f"seed={args.seed}"] if args.seed is not None else [])
    if args.curriculum is not None:
        overrides.append(f"curriculum.method={args.curriculum}")
    try:
        given = [o for o in args.set if isinstance(o, str) and o.partition("=")[0].strip() == "seed"]
        if args.seed is not None and given:
            raise ValueError(f"--seed {args.seed} and --set {given[0]} both set the seed; give one of them")
        named = [
            o for o in args.set if isinstance(o, str) and o.partition("=")[0].strip() == "curriculum.method"
        ]
        if args.curriculum is not None and named:
            raise ValueError(
                f"--curriculum {args.curriculum} and --set {named[0]} both set the curriculum; "
                "give one of them"
            )
        if args.resume is not None and args.runs is not None:
            raise ValueError(
                f"--runs={str(args.runs)!r} cannot be used with --resume: the run keeps its folder"
            )
        checked = plan(args.env, overrides, args.runs or Path("runs"), args.run_id, args.resume)
    except (TypeError, ValueError) as err:
        print(f"vrenvs train: error: {err}", file=sys.stderr)
        return 2
    try:
        run = execute(checked, progress_bar=not args.no_progress)
    except ValueError as err:
        print(f"vrenvs train: error: {err}", file=sys.stderr)
        return 2
    print(f"run folder: {run}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
