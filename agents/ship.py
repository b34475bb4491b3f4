"""Ship a trained policy: ``python -m agents.ship RUN_DIR``.

Copies the run's ``final`` policy (or ``--which best``) to ``agents/pretrained/ppo-<Name>/``
with its held-out learning curve, evaluates it on the training and the held-out scenes
(deterministic and stochastic actions, next to the random and scripted baselines) and writes
``results.json`` and the model card ``card.md``. ``final`` is the default because ``best``
was picked on held-out evaluations, which flatters its held-out figures.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import stable_baselines3
import torch
import yaml

from agents.config import (
    TrainConfig,
    played_scenes,
    read_config,
    scenes_text,
    split_kwargs,
    trained_scenes,
)
from agents.evaluate import evaluate, table
from agents.policy_io import load_policy, read_meta
from agents.pretrained import PRETRAINED
from vrenvs.core.checks import arg_int

MAX_EPISODES = 10_000
"""``--episodes``: evaluation episodes per row of the results."""

__all__ = ["card", "main", "reevaluate", "ship"]


def _wall_at(run: Path, steps: int) -> float | None:
    """Seconds into the run when it reached ``steps`` (from eval.csv), if recorded."""
    path = run / "eval.csv"
    if not path.exists():
        return None
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    done = [float(r["seconds"]) for r in rows if int(r["timesteps"]) >= steps]
    return min(done) if done else None


def _config(folder: Path) -> TrainConfig:
    """The training config of a run or shipped policy; a file that is none names itself."""
    return read_config(folder / "config.yaml")


def ship(run: Path, which: str = "final", episodes: int = 200, dest: Path | None = None) -> Path:
    """Copy, evaluate and document the ``which`` policy of ``run``; returns its new folder."""
    run = Path(run)
    config = _config(run)
    source = run / which
    meta = read_meta(source)
    name = "ppo-" + config.env_id.split("/")[-1].removesuffix("-v0")
    dest = dest or PRETRAINED / name
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for file in ("policy.json", "policy.safetensors"):
        shutil.copy2(source / file, dest / file)
    for file in ("eval.csv", "learning_curve.png", "config.yaml"):
        if (run / file).exists():
            shutil.copy2(run / file, dest / file)
    steps = int(meta["num_timesteps"])
    summary = {
        "name": name,
        "env_id": config.env_id,
        "env_kwargs": config.env_kwargs,
        "trained_scenes": scenes_text(config.env_kwargs),
        "which": which,
        "steps": steps,
        "wall_seconds": meta.get("wall_seconds") or _wall_at(run, steps),
        "threads": config.threads,
        "seed": config.seed,
        "command": meta.get("command", ""),
        "splits": {
            "train": [0, config.train_scenes],
            "test": [config.test_start, config.test_start + config.test_scenes],
        },
        "versions": {"torch": torch.__version__, "stable_baselines3": stable_baselines3.__version__},
    }
    (dest / "card.md").write_text(card(_evaluated(dest, config, summary, episodes)))
    return dest


def _evaluated(folder: Path, config: TrainConfig, summary: dict[str, Any], episodes: int) -> dict[str, Any]:
    """``summary`` with fresh results of the policy in ``folder`` (also written to results.json)."""
    model = load_policy(folder)
    started = time.time()
    results = {
        split: evaluate(model, config.env_id, split_kwargs(config, split), episodes, seed=12345)
        for split in ("test", "train")
    }
    summary = {
        **summary,
        "episodes": episodes,
        "scenes": scenes_text(config.env_kwargs),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads at evaluation, "
        f"{platform.python_implementation()} {platform.python_version()}",
        "evaluation_seconds": round(time.time() - started, 1),
        "results": results,
    }
    (folder / "results.json").write_text(json.dumps(summary, indent=2))
    return summary


def reevaluate(folder: Path, episodes: int = 200) -> dict[str, Any]:
    """Evaluate a shipped policy again; returns its updated ``results.json`` content."""
    config = _config(folder)
    summary = json.loads((folder / "results.json").read_text())
    return _evaluated(folder, config, summary, episodes)


def card(s: dict[str, Any]) -> str:
    """The model card of a shipped policy from its ``results.json``."""
    wall = s["wall_seconds"]
    wall_text = f"{wall / 60:.1f} min" if wall else "not recorded"
    lines = [
        f"# Model card: `{s['name']}`",
        "",
        f"PPO (stable-baselines3 {s['versions']['stable_baselines3']}) policy for `{s['env_id']}`: "
        "the project's `WorldFeatures` extractor (a small CNN over the one-hot 7x7 view, a bag of "
        "words of the request, the inventory, the scalars and the route sensor) and an MLP head.",
        "",
        "## Training",
        "",
        f"- Command: `{s['command']}` (seed {s['seed']}; hyperparameters in `config.yaml`).",
        f"- Env kwargs: `{json.dumps(s['env_kwargs'])}`: the route sensor (shortest-path moves to the "
        "task's goals, `vrenvs.core.sensors`) and progress shaping (a potential-based reward that "
        "telescopes, so it does not change which policies are best).",
        f"- Shipped: the `{s['which']}` policy, {s['steps']:,} env steps, {wall_text} of wall time on "
        f"{s['threads'] or 'the default number of'} torch thread(s) (two runs shared the 2-core machine).",
        f"- Scenes: training [{s['splits']['train'][0]:,}, {s['splits']['train'][1]:,}), "
        f"held out [{s['splits']['test'][0]:,}, {s['splits']['test'][1]:,}) "
        f"of `{trained_scenes(s)}`.",
        f"- torch {s['versions']['torch']}; {s['machine']}.",
        "",
        "## Results",
        "",
        f"{s['episodes']} episodes per row on `{played_scenes(s)}` scenes; success with its 95% Wilson "
        "interval; return is the task's own reward (no shaping).",
        "",
        "Held-out scenes:",
        "",
        table(s["results"]["test"]),
        "",
        "Training scenes:",
        "",
        table(s["results"]["train"]),
        "",
        "![learning curve](learning_curve.png)",
        "",
    ]
    return "\n".join(lines)


def _run_folder(text: str) -> Path:
    """An ``argparse`` type: a run folder holding the ``config.yaml`` of its training."""
    path = Path(text)
    if not (path / "config.yaml").is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is no run folder: it has no config.yaml")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents.ship", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=_run_folder, help="run folder, e.g. runs/Assistant-Fetch-v0/<run-id>")
    parser.add_argument("--which", default="final", choices=("final", "best"))
    parser.add_argument(
        "--episodes",
        type=arg_int(1, MAX_EPISODES),
        default=200,
        help=f"evaluation episodes per row, 1 to {MAX_EPISODES:,} (default: 200)",
    )
    args = parser.parse_args(argv)
    try:
        dest = ship(args.run, args.which, args.episodes)
    except (ValueError, TypeError, OSError, yaml.YAMLError) as err:
        print(f"agents.ship: error: {err}", file=sys.stderr)
        return 2
    print((dest / "card.md").read_text())
    print(f"shipped to {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
