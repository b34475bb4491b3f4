"""Training: ``vrenvs train ENV_ID`` / ``python -m agents.train ENV_ID``.

A run folder ``runs/<env>/<run-id>/`` holds ``config.yaml``, ``checkpoints/latest`` (policy,
optimizer and step count, replaced atomically), ``best`` and ``final`` policies, ``eval.csv``
(held-out evaluations) and ``learning_curve.png``; TensorBoard logs go to ``tb/``. The run
evaluates on held-out scenes (``start_scene`` beyond the training range) every
``eval_every`` steps, resumes with ``--resume RUN_DIR``, and on SIGINT / SIGTERM writes a
checkpoint before it exits.
"""

from __future__ import annotations

import argparse
import csv
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import torch
import yaml
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from agents.config import TrainConfig, load_config, split_kwargs
from agents.evaluate import policy_actor, run_episodes
from agents.plots import learning_curve
from agents.policy_io import (
    build_model,
    load_optimizer,
    load_policy,
    save_optimizer,
    save_policy,
    write_atomically,
)
from agents.vec_env import make_vec_env

__all__ = ["main", "train"]


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

    def __init__(self, every: int, run: Path, meta: dict[str, Any]) -> None:
        super().__init__()
        self.every, self.run, self.meta = every, run, meta
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
            (tmp / "state.json").write_text(json.dumps({"num_timesteps": int(self.num_timesteps)}))

        return write_atomically(self.run / "checkpoints" / "latest", write)


def _run_folder(config: TrainConfig, runs: Path, run_id: str | None) -> Path:
    name = config.env_id.split("/")[-1]
    run = runs / name / (run_id or time.strftime("%Y%m%d-%H%M%S") + f"-s{config.seed}")
    run.mkdir(parents=True, exist_ok=True)
    return run


def train(
    env_id: str,
    overrides: list[str] | None = None,
    runs: Path = Path("runs"),
    run_id: str | None = None,
    resume: Path | None = None,
    progress_bar: bool = True,
) -> Path:
    """Train PPO on ``env_id``; returns the run folder."""
    if resume is not None:
        run = Path(resume)
        config = TrainConfig(**yaml.safe_load((run / "config.yaml").read_text()))
    else:
        config = load_config(env_id, overrides)
        run = _run_folder(config, runs, run_id)
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
    done = 0
    latest = run / "checkpoints" / "latest"
    if resume is not None and latest.exists():
        model.policy.load_state_dict(load_policy(latest / "policy").policy.state_dict())
        load_optimizer(model, latest)
        done = json.loads((latest / "state.json").read_text())["num_timesteps"]
        model.num_timesteps = done
    evaluator = HeldOutEval(config, run, meta)
    evaluator.next_eval = done + config.eval_every
    saver = Checkpoints(config.checkpoint_every, run, meta)
    saver.next_save = done + config.checkpoint_every
    clock = WallClock(config.max_minutes, started)
    model.learn(
        total_timesteps=max(config.n_timesteps - done, 0),
        callback=CallbackList([evaluator, saver, clock]),
        progress_bar=progress_bar,
        reset_num_timesteps=resume is None,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vrenvs train", description="Train PPO on a vrenvs env.")
    parser.add_argument("env", help="env id, e.g. vrenvs/Assistant-Fetch-v0")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides (ppo.learning_rate=1e-4)"
    )
    parser.add_argument("--seed", type=int, help="shortcut for --set seed=N")
    parser.add_argument(
        "--runs", type=Path, default=Path("runs"), help="where run folders go (default: runs)"
    )
    parser.add_argument("--run-id", help="run folder name (default: time stamp and seed)")
    parser.add_argument(
        "--resume", type=Path, help="continue the run in this folder from its last checkpoint"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    overrides = list(args.set) + ([f"seed={args.seed}"] if args.seed is not None else [])
    try:
        run = train(
            args.env, overrides, args.runs, args.run_id, args.resume, progress_bar=not args.no_progress
        )
    except ValueError as err:
        print(f"vrenvs train: error: {err}", file=sys.stderr)
        return 2
    print(f"run folder: {run}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
