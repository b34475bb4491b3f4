"""Evaluation: success rate with a 95% interval, return and length, next to baselines.

``python -m agents.evaluate MODEL --env ENV_ID --episodes 200 --split test`` prints a table
for the policy (deterministic and stochastic actions), a random policy and the scripted
baseline of the learner's role (the BFS oracle for the assistant). ``--json`` prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from agents.config import MAX_EPISODES, MAX_SEED, SPLITS, TRAINING_ONLY
from agents.stats import wilson
from agents.vec_env import VrenvsVecEnv
from vrenvs.app.args import arg_scenes
from vrenvs.core.checks import arg_int, check_int
from vrenvs.core.controllers import controller
from vrenvs.core.tasks import task

__all__ = ["TRAINING_ONLY", "evaluate", "main", "run_episodes", "wilson"]


Actor = Callable[[Any, VrenvsVecEnv], np.ndarray]


def run_episodes(
    actor: Actor,
    env_id: str,
    env_kwargs: dict[str, Any],
    episodes: int,
    seed: int,
    n_envs: int = 16,
    record: list[tuple[int, bool]] | None = None,
) -> dict[str, Any]:
    """Play ``episodes`` episodes with ``actor``; ``record`` (a list) gets the scene index
    and success of each.

    Each of the parallel envs contributes a fixed quota of its first episodes (not the
    first ``episodes`` to end anywhere, which would favour short episodes)."""
    check_int("episodes", episodes, 1, MAX_EPISODES)
    n = min(check_int("n_envs", n_envs, 1, 1024), episodes)
    # the task's own rewards and requests: the training-only knobs are dropped
    venv = VrenvsVecEnv(env_id, n, **{k: v for k, v in env_kwargs.items() if k not in TRAINING_ONLY})
    venv.seed(seed)
    obs = venv.reset()
    quota = np.full(n, episodes // n) + (np.arange(n) < episodes % n)
    done: list[dict[str, Any]] = []
    while quota.any():
        obs, _, dones, infos = venv.step(actor(obs, venv))
        for i in np.flatnonzero(dones & (quota > 0)):
            done.append(infos[i])
            quota[i] -= 1
    venv.close()
    if record is not None:
        record.extend((int(d["scene_index"]), bool(d["is_success"])) for d in done)
    wins = sum(bool(d["is_success"]) for d in done)
    low, high = wilson(wins, len(done))
    return {
        "episodes": len(done),
        "success": wins / len(done),
        "success_low": low,
        "success_high": high,
        "return": float(np.mean([d["episode"]["r"] for d in done])),
        "length": float(np.mean([d["episode"]["l"] for d in done])),
    }


def policy_actor(model: Any, deterministic: bool) -> Actor:
    return lambda obs, venv: model.predict(obs, deterministic=deterministic)[0]


def controller_actor(name: str) -> Actor:
    drive = controller(name)

    def act(obs: Any, venv: VrenvsVecEnv) -> np.ndarray:
        world = venv.venv.world  # type: ignore[attr-defined]
        return world.act(drive)

    return act


def scripted_name(env_id: str) -> str:
    """The scripted behaviour of the env's learner role (the oracle for the assistant)."""
    return task(env_id).scripted


def evaluate(
    model: Any, env_id: str, env_kwargs: dict[str, Any], episodes: int, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Rows for the policy (deterministic, stochastic), random actions and the scripted role."""
    rows: dict[str, dict[str, Any]] = {}
    if model is not None:
        rows["policy (deterministic)"] = run_episodes(
            policy_actor(model, True), env_id, env_kwargs, episodes, seed
        )
        rows["policy (stochastic)"] = run_episodes(
            policy_actor(model, False), env_id, env_kwargs, episodes, seed
        )
    rows["random"] = run_episodes(controller_actor("random"), env_id, env_kwargs, episodes, seed)
    name = scripted_name(env_id)
    rows[f"scripted ({name})"] = run_episodes(controller_actor(name), env_id, env_kwargs, episodes, seed)
    return rows


def table(rows: dict[str, dict[str, Any]]) -> str:
    lines = ["| agent | success | 95% interval | return | length |", "|---|---:|---:|---:|---:|"]
    for name, r in rows.items():
        interval = f"{r['success_low']:.2f}-{r['success_high']:.2f}"
        lines.append(f"| {name} | {r['success']:.2f} | {interval} | {r['return']:.2f} | {r['length']:.1f} |")
    return "\n".join(lines)


def run_config(folder: Path) -> Path | None:
    """The ``config.yaml`` of the run a policy folder comes from: the folder's own (a shipped
    policy), its parent's (a run's ``best`` / ``final``) or the run's of a checkpoint
    (``<run>/checkpoints/<name>/policy``); None if there is none."""
    candidates = [folder / "config.yaml", folder.parent / "config.yaml"]
    if folder.parent.parent.name == "checkpoints":
        candidates.append(folder.parent.parent.parent / "config.yaml")
    return next((path for path in candidates if path.is_file()), None)


def main(argv: list[str] | None = None) -> int:
    from agents.config import check_env_kwargs, env_id_of, load_config, read_config, split_kwargs
    from agents.policy_io import acting_kwargs, load_policy, read_meta
    from agents.pretrained import policy_folder

    parser = argparse.ArgumentParser(prog="vrenvs eval", description=__doc__.splitlines()[0])
    parser.add_argument(
        "model",
        help="a shipped policy (ppo-Assistant-Fetch, ...), a policy folder (policy.json + "
        "policy.safetensors), or 'none' for the baselines only",
    )
    parser.add_argument("--env", help="env id (default: the policy's own), e.g. vrenvs/Assistant-Fetch-v0")
    parser.add_argument(
        "--episodes", type=arg_int(1, MAX_EPISODES), default=200, help="episodes per row (default: 200)"
    )
    parser.add_argument("--split", default="test", choices=SPLITS, help="training scenes or held-out scenes")
    parser.add_argument("--seed", type=arg_int(0, MAX_SEED), default=0)
    parser.add_argument(
        "--scenes",
        type=arg_scenes,
        default=None,
        help="evaluate on another scene source (a name, a folder, an .npz bank or a JSON object such "
        'as \'{"source": "vqvae", "style": "cave"}\'); default: the scenes the policy trained on',
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    notes: list[str] = []
    try:
        model, env_kwargs, source = None, {}, None
        env = None if args.env is None else env_id_of(args.env, "--env")
        if args.model != "none":
            folder = policy_folder(args.model)
            meta = read_meta(folder)
            trained = env_id_of(meta.get("env_id"), f"{folder / 'policy.json'}: env_id")
            env = env or trained
            if trained != env:
                raise ValueError(f"{args.model} was trained on {trained}, not {env}")
            model = load_policy(folder)
            env_kwargs = dict(meta.get("env_kwargs", {}))
            if "render_mode" in env_kwargs:
                notes.append(
                    f"render_mode={env_kwargs['render_mode']!r} of {folder / 'policy.json'} is not used: "
                    "evaluation does not render"
                )
                env_kwargs = acting_kwargs(env_kwargs)
            source = run_config(folder)
        if env is None:
            raise ValueError("--env is needed to evaluate the baselines alone (model 'none')")
        if source is not None:
            config = read_config(source)
            if config.env_id != env:
                raise ValueError(f"{source} trains {config.env_id}, but the policy was trained on {env}")
        else:
            config = load_config(env)
        if model is not None:
            config.env_kwargs = env_kwargs  # observe as the policy was trained to
        if args.scenes is not None:
            config.env_kwargs = {**config.env_kwargs, "scenes": args.scenes}
            notes.append(f"scenes={args.scenes!r} (given by --scenes)")
        check_env_kwargs(config)
        kwargs = split_kwargs(config, args.split)
        where = "the run's" if source is not None else "the per-task"
        scenes = (
            (0, config.train_scenes) if args.split == "train" else (config.test_start, config.test_scenes)
        )
        notes.append(
            f"{args.split} scenes [{scenes[0]}, {scenes[0] + scenes[1]}) from {where} config "
            f"{source or f'agents/configs/{task(env).name}.yaml'}"
        )
    except (TypeError, ValueError) as err:
        print(f"vrenvs eval: error: {err}", file=sys.stderr)
        return 2
    try:
        rows = evaluate(model, env, kwargs, args.episodes, args.seed)
    except ValueError as err:
        print(f"vrenvs eval: error: {err}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"vrenvs eval: {note}", file=sys.stderr)
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
