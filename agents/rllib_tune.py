"""A small hyperparameter search on Ray Tune: ``vrenvs tune NAME``.

ASHA (asynchronous successive halving) over the learning rate, the entropy coefficient and
the clip range of the RLlib PPO config of scenario or task ``NAME``
(``agents/configs/rllib/``): ``--samples`` trials, each stopped at ``--max-iterations``
training iterations unless ASHA stops it earlier; the score is the mean episode return of
one learning role (``--role``, default the first). Writes ``results.csv`` and
``results.md`` (one row per trial, best first) in ``--out``; Tune's own trial folders go
under ``--out/tune``. Joins a cluster with ``--address`` / ``RAY_ADDRESS``, where the trials
run in parallel on its nodes. Needs ``vrenvs[rllib]``.
"""

from __future__ import annotations

import argparse
import csv
import functools
import os
import sys
from pathlib import Path
from typing import Any

from agents.rllib_train import CONFIG_NAMES, algo_config, learning_roles, load_rllib_config, start_ray
from vrenvs.core.checks import arg_int

__all__ = ["main", "search"]

SPACE = {
    "lr": (1e-5, 1e-3),
    "entropy_coeff": (0.0, 0.05),
    "clip_param": (0.1, 0.3),
}
"""The searched hyperparameters: learning rate (log-uniform), entropy and clip (uniform)."""


SCORE = "vrenvs_score"
NO_EPISODE = -1e9
"""The score of an iteration before the role has finished an episode."""


def _score(*, result: dict, role: str, **kwargs: Any) -> None:
    """Add the role's mean episode return to ``result`` as :data:`SCORE` (RLlib reports it
    only once one of the role's episodes has ended, and Tune wants the metric every time)."""
    returns = result.get("env_runners", {}).get("module_episode_returns_mean", {})
    result[SCORE] = float(returns.get(role, NO_EPISODE))


def _name(given: str) -> str:
    """A scenario or task name; an env id (``vrenvs/Assistant-Fetch-v0``) is its task's name."""
    name = given.removeprefix("vrenvs/").removesuffix("-v0")
    if name not in CONFIG_NAMES:
        raise ValueError(f"{given!r} has no RLlib config; choose from {CONFIG_NAMES}")
    return name


def search(
    name: str,
    samples: int,
    max_iterations: int,
    out: Path,
    role: str | None = None,
    overrides: list[str] | None = None,
    address: str | None = None,
) -> list[dict[str, Any]]:
    """Run the search; returns one row per trial, best first."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    cfg = load_rllib_config(name, overrides or [])
    roles = learning_roles(name)
    role = role or roles[0]
    if role not in roles:
        raise ValueError(f"--role {role!r} does not learn in {name}; choose from {list(roles)}")
    env_name = start_ray(address)
    low, high = SPACE["lr"]
    config = algo_config(cfg, env_name).training(
        lr=tune.loguniform(low, high),
        entropy_coeff=tune.uniform(*SPACE["entropy_coeff"]),
        clip_param=tune.uniform(*SPACE["clip_param"]),
    )
    config = config.callbacks(on_train_result=functools.partial(_score, role=role))
    metric = SCORE
    scheduler = ASHAScheduler(
        max_t=max_iterations, grace_period=max(1, max_iterations // 4), reduction_factor=2
    )
    tuner = tune.Tuner(
        "PPO",
        param_space=config,
        tune_config=tune.TuneConfig(metric=metric, mode="max", scheduler=scheduler, num_samples=samples),
        run_config=tune.RunConfig(
            storage_path=str((out / "tune").resolve()),
            stop={"training_iteration": max_iterations},
            verbose=0,
        ),
    )
    grid = tuner.fit()
    rows: list[dict[str, Any]] = []
    for result in grid:
        params = result.config or {}
        metrics = result.metrics or {}
        score = metrics.get(SCORE)
        score = None if score is None or score <= NO_EPISODE else score
        rows.append(
            {
                "lr": params.get("lr"),
                "entropy_coeff": params.get("entropy_coeff"),
                "clip_param": params.get("clip_param"),
                "iterations": metrics.get("training_iteration"),
                "env_steps": int(metrics.get("env_runners", {}).get("num_env_steps_sampled_lifetime", 0)),
                f"return_{role}": None if score is None else float(score),
                "error": None if result.error is None else str(result.error)[:200],
            }
        )
    key = f"return_{role}"
    rows.sort(key=lambda r: float("-inf") if r[key] is None else r[key], reverse=True)
    _write(out, rows, name, role)
    return rows


def _write(out: Path, rows: list[dict[str, Any]], name: str, role: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        f"ASHA search on {name}: score = mean episode return of the {role} (best first)",
        "",
        "| lr | entropy | clip | iterations | env steps | return |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        score = "-" if r[f"return_{role}"] is None else f"{r[f'return_{role}']:.3f}"
        lines.append(
            f"| {r['lr']:.2e} | {r['entropy_coeff']:.4f} | {r['clip_param']:.3f} | "
            f"{r['iterations']} | {r['env_steps']} | {score} |"
        )
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vrenvs tune", description=__doc__.split("\n\n")[0])
    names = ", ".join(CONFIG_NAMES)
    parser.add_argument("name", help=f"a scenario, task or env id with an RLlib config: {names}")
    parser.add_argument("--samples", type=arg_int(1, 1000), default=8, help="trials (default 8)")
    parser.add_argument(
        "--max-iterations", type=arg_int(1, 100_000), default=20, help="training iterations per trial at most"
    )
    parser.add_argument(
        "--role", help="the role whose return is the score (default: the first learning role)"
    )
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides")
    parser.add_argument(
        "--out", type=Path, default=Path("out/tune"), help="results folder (default out/tune)"
    )
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS"), help="a Ray cluster to join")
    args = parser.parse_args(argv)
    try:
        name = _name(args.name)
        load_rllib_config(name, args.set)
    except (TypeError, ValueError) as err:
        print(f"vrenvs tune: error: {err}", file=sys.stderr)
        return 2
    try:
        import ray  # noqa: F401
    except ModuleNotFoundError:
        print("vrenvs tune: error: needs Ray RLlib: pip install 'vrenvs[rllib]'", file=sys.stderr)
        return 2
    try:
        search(name, args.samples, args.max_iterations, args.out, args.role, args.set, args.address)
    except ValueError as err:
        print(f"vrenvs tune: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
