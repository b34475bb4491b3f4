"""The main job on the embedded default (``make demo`` / ``vrenvs demo``).

1. A rollout GIF of the shipped assistant policy (``ppo-Assistant``) serving the simulated
   user's stream of requests on generated scenes (the envs' default source, ``vqvae``), and
   a sheet of those scenes.
2. A short PPO run of the assistant on Assistant-Fetch (``--train-minutes``, default 2.5),
   evaluated on held-out scenes next to the random and scripted baselines.

Everything is written under ``--out``; the summary printed at the end says where.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from vrenvs.app.args import USER_ERRORS, arg_scenes, check_driver
from vrenvs.app.record import write_frames
from vrenvs.app.rollout import rollout as run_episodes
from vrenvs.core.checks import arg_float, arg_int, arg_output
from vrenvs.core.sources import DEFAULT_SOURCE, default_source
from vrenvs.envs.drivers import check_role, driver, is_trained
from vrenvs.render.draw import mosaic

__all__ = ["budget_bar", "main", "run_demo"]

SHIPPED_ASSISTANT = "ppo-Assistant"
MAX_TRAIN_MINUTES = 60.0
MAX_EPISODES = 100
"""Episodes of the GIF: their frames (121 each) are held in memory until it is written."""
MAX_SEED = 2**32 - 1
"""Training seeds numpy's global generator, which takes seeds below 2**32."""


@contextmanager
def budget_bar(minutes: float, desc: str) -> Iterator[Any]:
    """A progress bar of a time budget: it counts the seconds spent (a background thread
    moves it twice a second, up to the budget) and closes full when the work ends without
    an error. Training under a time budget stops on the clock, not at its step total, and
    then evaluates and saves (the bar says "finishing")."""
    from tqdm import tqdm

    total = 60 * minutes
    bar = tqdm(total=total, desc=desc, unit="s", bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s{postfix}")
    start, stop = time.monotonic(), threading.Event()

    def tick() -> None:
        while not stop.wait(0.5) and bar.n < total:
            bar.n = min(time.monotonic() - start, total)
            if bar.n >= total:
                bar.set_postfix_str("budget spent, finishing", refresh=False)
            bar.refresh()

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    done = False
    try:
        yield bar
        done = True
    finally:
        stop.set()
        thread.join()
        if done:
            bar.n = total
        bar.close()


def rollout(
    out: Path, assistant: str, episodes: int, seed: int, scenes: str | None, steps: int = 120
) -> dict[str, Any]:
    """``episodes`` of Assistant-v0 with ``assistant`` driving the learner: ``rollout.gif``
    and ``scenes.png`` in ``out``."""
    if is_trained(assistant):
        check_role(assistant, "assistant", f"assistant={assistant!r}")
    env = gym.make("vrenvs/Assistant-v0", render_mode="rgb_array", scenes=scenes, max_episode_steps=steps)
    frames: list[np.ndarray] = []
    firsts: list[np.ndarray] = []

    def shoot(frame: np.ndarray, episode: int, step: int) -> bool:
        (firsts if step == 0 else frames).append(frame)
        return True

    log = run_episodes(env, driver(assistant), episodes, seed, shoot)
    out.mkdir(parents=True, exist_ok=True)  # only once the assistant and the scenes worked
    return {
        "env": "vrenvs/Assistant-v0",
        "assistant": assistant,
        "scenes": scenes or default_source(16),
        "episodes": log,
        "requests_served": int(sum(e["served"] for e in log)),
        "requests_failed": int(sum(e["failed"] for e in log)),
        "rollout_gif": str(write_frames(out / "rollout.gif", frames[::2], fps=1000 / 120)),
        "scene_sheet_png": str(write_frames(out / "scenes.png", [mosaic(firsts, columns=4)])),
    }


def short_training(out: Path, minutes: float, seed: int, episodes: int = 50) -> dict[str, Any]:
    """A ``minutes``-long PPO run on Assistant-Fetch, evaluated on held-out scenes."""
    from agents.config import load_config, split_kwargs
    from agents.evaluate import evaluate, table
    from agents.policy_io import load_policy
    from agents.train import train

    env_id = "vrenvs/Assistant-Fetch-v0"
    overrides = [
        f"max_minutes={minutes}",
        f"seed={seed}",
        "eval_every=100000000",
        "checkpoint_every=100000000",
    ]
    # a new run refuses a run folder in use: the demo's own short run is replaced
    shutil.rmtree(out / "runs" / env_id.split("/")[-1] / "demo", ignore_errors=True)
    # SB3's bar would count towards the config's n_timesteps, which the time budget cuts short.
    with budget_bar(minutes, f"PPO on {env_id.removeprefix('vrenvs/')}, {minutes:g} min"):
        run = train(env_id, overrides, runs=out / "runs", run_id="demo", progress_bar=False)
    config = load_config(env_id, overrides)
    model = load_policy(run / "final")
    rows = evaluate(model, env_id, split_kwargs(config, "test"), episodes, seed=seed)
    print(f"\nheld-out evaluation of the {minutes}-minute run ({model.num_timesteps:,} steps):")
    print(table(rows))
    return {"run": str(run), "steps": int(model.num_timesteps), "held_out": rows}


def run_demo(
    out: Path,
    episodes: int = 4,
    seed: int = 0,
    scenes: str | None = None,
    assistant: str = SHIPPED_ASSISTANT,
    train_minutes: float = 2.5,
    eval_episodes: int = 50,
) -> dict[str, Any]:
    """The main job (see the module docstring); returns the summary that is printed. The
    ``out`` folder is made once the rollout has run (a refused assistant or scene source
    leaves nothing behind)."""
    start = time.perf_counter()
    summary = rollout(out, assistant, episodes, seed, scenes)
    if train_minutes > 0:
        summary["training"] = short_training(out, train_minutes, seed, eval_episodes)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    return summary


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vrenvs demo",
        description="the main job: the shipped assistant on generated scenes (GIF) and a short training run",
    )
    parser.add_argument(
        "--assistant", default="ppo-Assistant", help="who serves the user in the GIF (default: ppo-Assistant)"
    )
    parser.add_argument(
        "--train-minutes",
        type=arg_float(0, MAX_TRAIN_MINUTES),
        default=2.5,
        help=f"length of the short PPO run, up to {MAX_TRAIN_MINUTES:g}; 0 to skip (default: 2.5)",
    )
    parser.add_argument(
        "--out", type=arg_output(folder=True), default="out/demo", help="output folder (default: out/demo)"
    )
    parser.add_argument(
        "--episodes",
        type=arg_int(1, MAX_EPISODES),
        default=4,
        help=f"episodes to record, 1 to {MAX_EPISODES} (default: 4)",
    )
    parser.add_argument(
        "--seed",
        type=arg_int(0, MAX_SEED),
        default=0,
        help=f"seed of the first episode and of training, 0 to {MAX_SEED:,} (default: 0)",
    )
    parser.add_argument(
        "--scenes", type=arg_scenes, default=None, help=f"scene source (default: {DEFAULT_SOURCE})"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """``vrenvs demo [options]``: 0 when done, 2 for a user's mistake (the line says which)."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    out = Path(args.out)
    try:
        check_driver("--assistant", args.assistant, "assistant")
        summary = run_demo(
            out,
            episodes=args.episodes,
            seed=args.seed,
            scenes=args.scenes,
            assistant=args.assistant,
            train_minutes=args.train_minutes,
        )
    except USER_ERRORS as err:
        print(f"vrenvs demo: error: {err}", file=sys.stderr)
        return 2
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(
        f"\n{summary['assistant']} served {summary['requests_served']} requests "
        f"({summary['requests_failed']} given up) in {len(summary['episodes'])} episodes "
        f"on {summary['scenes']} scenes"
    )
    print(f"  rollout:      {summary['rollout_gif']}")
    print(f"  scenes:       {summary['scene_sheet_png']}")
    if "training" in summary:
        run = Path(summary["training"]["run"])
        print(f"  short run:    {run} ({summary['training']['steps']:,} steps; final/ is the policy)")
        print(f"  its curve:    tensorboard --logdir {run / 'tb'}")
    print(f"  summary:      {out / 'summary.json'} ({summary['seconds']} s in all)")
    return 0
