"""Curriculum results: uniform vs PLR vs ACCEL on the hard and the ordinary held-out scenes.

The runs (one folder per method and seed, ``<runs>/<Name>/<method>-s<seed>``) come from::

    python -m agents.curriculum_report --train --env vrenvs/Assistant-v0 --seeds 0 1 2 \\
        --set n_timesteps=750000 max_minutes=20 eval_every=100000 hard_episodes=100

which runs ``vrenvs train ENV --curriculum METHOD --seed S ...`` for every method and seed,
``--parallel`` (default 2) at a time, each on one torch thread. Then::

    python -m agents.curriculum_report --env vrenvs/Assistant-v0 --out docs/agents/curriculum

evaluates every run's final policy on ``--episodes`` episodes of the ordinary held-out scenes
(the config's ``test_start`` range) and of the hard set (:mod:`agents.hardset`), sampled and
deterministic actions, and writes ``results.json``, ``results.md`` (per method: mean over the
seeds with a 95% t-interval, the hard set's locked-door scenes and the rest apart (sampled
actions), steps, wall time and env-steps/s), ``curves.png`` (held-out and
hard-set success over training, mean of the seeds with their range) and ``chosen.png`` (for
one PLR and one ACCEL run: the scenes the curriculum scored most often in each third of
training, top to bottom).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from agents.config import read_config, split_kwargs
from agents.evaluate import policy_actor, run_episodes
from agents.hardset import hard_kwargs, locked_scenes
from vrenvs.core.checks import arg_int
from vrenvs.core.curriculum import ARM_BASE, METHODS, CurriculumSettings, CurriculumSource
from vrenvs.core.sources import NUM_SCENE_INDICES, IndexedSource, default_source, make_source

__all__ = ["arm_shares", "evaluate_run", "interval", "main", "overhead", "runs_of"]

T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
"""Two-sided 95% Student t quantiles by degrees of freedom (1.96 beyond)."""


EVAL_ENVS = 50
"""Worlds stepped at once per evaluation (each plays ``episodes / 50`` episodes)."""


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% t-interval (0 for a single value)."""
    x = np.asarray(values, np.float64)
    if len(x) < 2:
        return float(x.mean()), 0.0
    half = T95.get(len(x) - 1, 1.96) * float(x.std(ddof=1)) / np.sqrt(len(x))
    return float(x.mean()), half


def runs_of(root: Path, env_id: str) -> dict[str, list[Path]]:
    """Finished runs (a ``final`` policy) per method, by seed order."""
    base = Path(root) / env_id.split("/")[-1]
    found: dict[str, list[Path]] = {m: [] for m in METHODS}
    for method in METHODS:
        for run in sorted(base.glob(f"{method}-s*")):
            if (run / "final" / "policy.json").is_file():
                found[method].append(run)
    return found


def evaluate_run(run: Path, episodes: int) -> dict[str, Any]:
    """Success of ``run``'s final policy on the held-out and hard scenes (sampled and
    deterministic actions), and its training steps, wall time and env-steps/s."""
    from agents.policy_io import load_policy, read_meta

    config = read_config(run / "config.yaml")
    model = load_policy(run / "final")
    meta = read_meta(run / "final")
    test = split_kwargs(config, "test")
    out: dict[str, Any] = {"run": str(run), "seed": config.seed}
    played: list[tuple[int, bool]] = []
    for name, kwargs in (("heldout", test), ("hard", hard_kwargs(test))):
        for mode, deterministic in (("stoch", False), ("det", True)):
            actor = policy_actor(model, deterministic)
            record = played if (name, mode) == ("hard", "stoch") else None
            row = run_episodes(
                actor, config.env_id, kwargs, episodes, seed=12345, n_envs=EVAL_ENVS, record=record
            )
            out[f"{name}_{mode}"] = row["success"]
    locked = locked_scenes()
    for key, part in (("hard_locked_stoch", True), ("hard_rest_stoch", False)):
        wins = [won for index, won in played if bool(locked[index]) == part]
        out[key] = float(np.mean(wins)) if wins else float("nan")
    out["steps"] = int(meta.get("num_timesteps", 0))
    out["wall_seconds"] = float(meta.get("wall_seconds", 0.0))
    out["steps_per_second"] = out["steps"] / out["wall_seconds"] if out["wall_seconds"] else 0.0
    return out


def _evaluated(run: Path, episodes: int) -> dict[str, Any]:
    """:func:`evaluate_run`, kept in the run folder (``report_eval.json``) for the same
    episodes and final policy, so a report over more runs evaluates only the new ones."""
    cache = run / "report_eval.json"
    stamp = {
        "format": 2,  # 2: with the hard set's locked-door scenes apart
        "episodes": episodes,
        "policy_mtime_ns": (run / "final" / "policy.safetensors").stat().st_mtime_ns,
    }
    if cache.is_file():
        saved = json.loads(cache.read_text())
        if saved.get("stamp") == stamp:
            return dict(saved["result"])
    result = evaluate_run(run, episodes)
    cache.write_text(json.dumps({"stamp": stamp, "result": result}, indent=1) + "\n")
    return result


def _curves(found: dict[str, list[Path]], out: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100, sharey=True)
    for method, runs in found.items():
        tables = []
        for run in runs:
            with (run / "eval.csv").open() as handle:
                tables.append(list(csv.DictReader(handle)))
        if not tables:
            continue
        n = min(len(t) for t in tables)
        steps = np.array([int(r["timesteps"]) for r in tables[0][:n]])
        for ax, key in zip(axes, ("hard_success", "success")):
            if key not in tables[0][0]:
                continue
            y = np.array([[float(r[key]) for r in t[:n]] for t in tables])
            ax.plot(steps, y.mean(axis=0), marker="o", label=f"{method} ({len(runs)} seeds)")
            ax.fill_between(steps, y.min(axis=0), y.max(axis=0), alpha=0.2)
    for ax, name in zip(axes, ("hard held-out set", "ordinary held-out scenes")):
        ax.set(xlabel="environment steps", title=name, ylim=(0, 1))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("success (sampled actions)")
    axes[1].legend(loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def chosen_scenes(run: Path, per_phase: int = 8, phases: int = 3) -> np.ndarray:
    """``(phases * per_phase, S, S)``: the scenes ``run``'s curriculum scored most often in
    each phase of training (edits rebuilt from the final buffer's seeds)."""
    from agents.curriculum import load_state

    config = read_config(run / "config.yaml")
    with (run / "curriculum.csv").open() as handle:
        rows = [(int(r["timesteps"]), int(r["scene_index"])) for r in csv.DictReader(handle)]
    scenes = config.env_kwargs.get("scenes")
    size = int(config.env_kwargs.get("size", 16))
    base = make_source(default_source(size) if scenes is None else scenes, size)
    assert isinstance(base, IndexedSource)
    settings = dict(config.curriculum)
    source = CurriculumSource(base, CurriculumSettings(**settings))
    load_state(source, run / "checkpoints" / "latest")
    last = max(t for t, _ in rows)
    picked: list[np.ndarray] = []
    for p in range(phases):
        lo, hi = last * p / phases, last * (p + 1) / phases
        counts = Counter(i for t, i in rows if lo < t <= hi or (p == 0 and t == lo))
        top = [i for i, _ in counts.most_common(per_phase)]
        picked += [source.scene(i).codes for i in top]
        picked += [np.zeros((size, size), np.uint8)] * (per_phase - len(top))
    return np.stack(picked)


def arm_shares(run: Path, bins: int = 10) -> tuple[list[str], np.ndarray, np.ndarray]:
    """For a ``condition`` run: the arm names (then ``base``: the episodes the curriculum left
    to the base source), the last step of each of ``bins`` equal phases of training, and the
    share of each phase's scored episodes per arm ``(bins, arms + 1)``."""
    config = read_config(run / "config.yaml")
    settings = dict(config.curriculum)
    scenes = config.env_kwargs.get("scenes")
    size = int(config.env_kwargs.get("size", 16))
    source = CurriculumSource(
        make_source(default_source(size) if scenes is None else scenes, size),  # type: ignore[arg-type]
        CurriculumSettings(**settings),
    )
    with (run / "curriculum.csv").open() as handle:
        rows = np.array([(int(r["timesteps"]), int(r["scene_index"])) for r in csv.DictReader(handle)])
    arm = np.where(rows[:, 1] >= ARM_BASE, (rows[:, 1] - ARM_BASE) // NUM_SCENE_INDICES, len(source.arms))
    edges = np.linspace(0, rows[:, 0].max(), bins + 1)
    phase = np.clip(np.searchsorted(edges, rows[:, 0], side="left") - 1, 0, bins - 1)
    counts = np.zeros((bins, len(source.arms) + 1))
    np.add.at(counts, (phase, arm), 1)
    names = [f"{n}={b}" for n, b in source.arms] + ["base"]
    return names, edges[1:], counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


def _arms_plot(runs: list[Path], out: Path) -> Path:
    """Stacked shares of the episodes per arm over training, mean over ``runs``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = [arm_shares(r) for r in runs]
    names, steps = found[0][0], found[0][1]
    shares = np.mean([f[2] for f in found], axis=0)
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    ax.stackplot(steps, shares.T, labels=names, alpha=0.85)
    ax.set(xlabel="environment steps", ylabel="share of episodes", ylim=(0, 1))
    ax.set_title(f"what the condition curriculum asked the generator for ({len(runs)} seeds)")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def overhead(env_id: str, steps: int, repeats: int = 2, runs: Path | None = None) -> dict[str, list[float]]:
    """Wall seconds of ``repeats`` PPO runs of ``steps`` env steps per method (the config's
    settings, seed 0, one evaluation of 16 episodes at the end, no checkpoints), the methods
    interleaved (uniform, plr, accel, uniform, ...) so drift on a shared machine hits each alike."""
    import tempfile

    from agents.train import train

    root = Path(runs) if runs is not None else Path(tempfile.mkdtemp(prefix="vrenvs-overhead-"))
    times: dict[str, list[float]] = {m: [] for m in METHODS}
    settings = [f"n_timesteps={steps}", "eval_every=1000000000", "checkpoint_every=1000000000"]
    settings += ["eval_episodes=16", "hard_episodes=0", "max_minutes=0", "seed=0"]
    for k in range(repeats):
        for method in METHODS:
            started = time.perf_counter()
            train(
                env_id, [*settings, f"curriculum.method={method}"], root, f"{method}-r{k}", progress_bar=False
            )
            times[method].append(time.perf_counter() - started)
    return times


def _table(results: dict[str, list[dict[str, Any]]]) -> str:
    lines = [
        "| curriculum | seeds | hard set, sampled | hard set, deterministic | held-out, sampled "
        "| held-out, deterministic | hard set's locked-door scenes, sampled | the rest of the hard "
        "set, sampled | steps | wall min | env-steps/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    keys = ("hard_stoch", "hard_det", "heldout_stoch", "heldout_det", "hard_locked_stoch", "hard_rest_stoch")
    for method, rows in results.items():
        if not rows:
            continue
        cells = []
        for key in keys:
            values = [r.get(key, float("nan")) for r in rows]
            if any(np.isnan(v) for v in values):
                cells.append("—")  # no episode of that part (or a result from before the split)
                continue
            mean, half = interval(values)
            cells.append(f"{100 * mean:.1f}% ± {100 * half:.1f}")
        steps = np.mean([r["steps"] for r in rows])
        wall = np.mean([r["wall_seconds"] for r in rows]) / 60
        rate = np.mean([r["steps_per_second"] for r in rows])
        lines.append(
            f"| {method} | {len(rows)} | {' | '.join(cells)} | {steps:,.0f} | {wall:.1f} | {rate:,.0f} |"
        )
    return "\n".join(lines)


def _train(args: argparse.Namespace) -> None:
    pending = [(m, s) for s in args.seeds for m in args.methods]
    running: list[subprocess.Popen[bytes]] = []
    while pending or running:
        running = [p for p in running if p.poll() is None]
        while pending and len(running) < args.parallel:
            method, seed = pending.pop(0)
            cmd = [
                sys.executable,
                "-m",
                "agents.train",
                args.env,
                "--curriculum",
                method,
                "--seed",
                str(seed),
            ]
            cmd += ["--runs", str(args.runs), "--run-id", f"{method}-s{seed}", "--no-progress"]
            cmd += ["--set", "threads=1", *args.set]
            print(" ".join(cmd), flush=True)
            running.append(subprocess.Popen(cmd))
        time.sleep(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agents.curriculum_report", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--env", default="vrenvs/Assistant-v0", help="env id (default: vrenvs/Assistant-v0)")
    parser.add_argument("--runs", type=Path, default=Path("runs/curriculum"), help="run folders' root")
    parser.add_argument(
        "--train", action="store_true", help="train the runs first (see the module docstring)"
    )
    parser.add_argument("--seeds", type=arg_int(0, 2**32 - 2), nargs="+", default=[0, 1, 2])
    parser.add_argument("--parallel", type=arg_int(1, 64), default=2, help="training runs at once")
    parser.add_argument(
        "--methods", nargs="+", choices=METHODS, default=list(METHODS), help="curricula --train runs"
    )
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides for --train"
    )
    parser.add_argument(
        "--episodes", type=arg_int(1, 10_000), default=200, help="evaluation episodes per set"
    )
    parser.add_argument("--out", type=Path, default=Path("out/curriculum"), help="where results go")
    parser.add_argument(
        "--overhead",
        type=arg_int(1000, 100_000_000),
        metavar="STEPS",
        help="instead: time PPO runs of STEPS env steps per method, twice, interleaved",
    )
    args = parser.parse_args(argv)
    if args.overhead:
        times = overhead(args.env, args.overhead)
        base = float(np.mean(times["uniform"]))
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "overhead.json").write_text(
            json.dumps({"steps": args.overhead, "seconds": times}, indent=1)
        )
        for method, values in times.items():
            mean = float(np.mean(values))
            shown = ", ".join(f"{v:.1f}" for v in values)
            print(f"{method}: {shown} s; {100 * (mean / base - 1):+.1f}% vs uniform")
        return 0
    if args.train:
        _train(args)
    found = runs_of(args.runs, args.env)
    if not any(found.values()):
        print(f"no finished runs under {args.runs}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    results = {m: [_evaluated(r, args.episodes) for r in runs] for m, runs in found.items()}
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    table = _table(results)
    (args.out / "results.md").write_text(table + "\n")
    shown = " vs ".join(m for m, runs in found.items() if runs)
    _curves(found, args.out / "curves.png", f"{args.env}: {shown}")
    if found.get("condition"):
        _arms_plot(found["condition"], args.out / "arms.png")
    from generators.images import grid_image, write_png

    sheets = [chosen_scenes(runs[0]) for m, runs in found.items() if m in ("plr", "accel") and runs]
    if sheets:
        write_png(args.out / "chosen.png", grid_image(np.concatenate(sheets), cols=8, cell=5))
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
