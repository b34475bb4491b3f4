"""Learning curves as PNG (matplotlib, headless).

``python -m agents.plots engines --a SB3=RUN ... --b RLlib=RUN ... --out PNG`` draws the held-out
success of several runs of two set-ups (e.g. the same task trained by SB3 and by RLlib, a few
seeds each) against environment steps and prints, per run, the steps at which held-out success
first reached ``--level``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

__all__ = ["curve", "engines_figure", "learning_curve", "main", "run_arg", "steps_to"]


def learning_curve(eval_csv: Path, out: Path, title: str) -> Path:
    """Held-out success rate (with its 95% interval) against environment steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with eval_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    steps = [int(r["timesteps"]) for r in rows]
    success = [float(r["success"]) for r in rows]
    low = [float(r["success_low"]) for r in rows]
    high = [float(r["success_high"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot(steps, success, marker="o", label="held-out success")
    ax.fill_between(steps, low, high, alpha=0.25, label="95% interval")
    ax.set(xlabel="environment steps", ylabel="success rate", ylim=(0, 1), title=title)
    return _save(fig, ax, out)


def _save(fig: Any, ax: Any, out: Path) -> Path:
    import matplotlib.pyplot as plt

    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def curve(eval_csv: Path, role: str | None = None) -> list[tuple[int, float]]:
    """``(steps, held-out success)`` points of a run's ``eval.csv`` (an SB3 run's, or an RLlib
    run's rows of ``role``)."""
    with eval_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    if rows and "role" in rows[0]:
        roles = sorted({r["role"] for r in rows})
        if role not in roles:
            raise ValueError(f"{eval_csv} has the roles {roles}; role={role!r} is not among them")
        rows = [r for r in rows if r["role"] == role]
    return [(int(r["timesteps"]), float(r["success"])) for r in rows]


def steps_to(points: list[tuple[int, float]], level: float) -> int | None:
    """The first step count at which success reached ``level`` (None if it never did)."""
    return next((steps for steps, success in points if success >= level), None)


def engines_figure(groups: dict[str, list[list[tuple[int, float]]]], out: Path, title: str) -> Path:
    """One colour per group, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.8), dpi=100)
    for colour, (label, runs) in zip(("tab:blue", "tab:orange", "tab:green", "tab:red"), groups.items()):
        for i, points in enumerate(runs):
            steps, success = zip(*points) if points else ((), ())
            ax.plot(steps, success, color=colour, alpha=0.8, marker=".", label=label if i == 0 else None)
    ax.set(xlabel="environment steps", ylabel="held-out success", ylim=(0, 1.02), title=title)
    return _save(fig, ax, out)


def run_arg(text: str) -> tuple[str, Path]:
    """``LABEL=RUN_FOLDER`` on a command line -> ``(label, folder)``."""
    label, sep, path = text.partition("=")
    if not sep or not label:
        raise argparse.ArgumentTypeError(f"{text!r} must be LABEL=RUN_FOLDER")
    return label, Path(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents.plots", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    engines = sub.add_parser("engines", help="held-out success of several runs of two set-ups")
    engines.add_argument("--run", type=run_arg, action="append", required=True, help="LABEL=RUN (repeat)")
    engines.add_argument("--role", default="assistant", help="the role of RLlib runs to draw")
    engines.add_argument("--level", type=float, default=0.99)
    engines.add_argument("--title", default="held-out success")
    engines.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    groups: dict[str, list[list[tuple[int, float]]]] = {}
    print(f"| set-up | run | steps to {args.level:.2f} | last |\n|---|---|---:|---:|")
    for label, run in args.run:
        points = curve(run / "eval.csv", args.role)
        groups.setdefault(label, []).append(points)
        reached = steps_to(points, args.level)
        shown = f"{reached:,}" if reached is not None else f"not by {points[-1][0]:,}"
        print(f"| {label} | {run.name} | {shown} | {points[-1][1]:.2f} at {points[-1][0]:,} |")
    engines_figure(groups, args.out, args.title)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
