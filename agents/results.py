"""The results of the shipped policies: ``python -m agents.results [--refresh]``.

Reads ``agents/pretrained/*/results.json`` (written by ``python -m agents.ship``; with
``--refresh`` every shipped policy is evaluated again first), writes
``docs/agents/results.md`` and ``docs/agents/learning_curves.png``, and replaces the table
between the ``results`` markers of the README.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path
from typing import Any

from agents.config import played_scenes
from agents.pretrained import PRETRAINED, sb3_names
from vrenvs.core.checks import arg_int, arg_output

__all__ = ["learning_curves", "main", "markdown"]

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- results:start -->", "<!-- results:end -->"


def _load() -> list[dict[str, Any]]:
    return [json.loads((PRETRAINED / n / "results.json").read_text()) for n in sb3_names()]


def _pct(row: dict[str, Any]) -> str:
    return f"{100 * row['success']:.1f}% ({100 * row['success_low']:.0f}-{100 * row['success_high']:.0f})"


def _scripted(rows: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    name = next(k for k in rows if k.startswith("scripted"))
    return name, rows[name]


def markdown(shipped: list[dict[str, Any]]) -> str:
    """The results tables (assistant envs, then NPC envs) as markdown."""
    lines = [
        "| policy | env | steps | wall | held-out success, deterministic | stochastic | "
        "training scenes, deterministic | gap | random | scripted |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    npc = [
        "| policy | env | success, det. / stoch. | return, det. / stoch. | episode length, det. / stoch. | "
        "scripted: success | return | episode length |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in shipped:
        test, train = s["results"]["test"], s["results"]["train"]
        det, sto = test["policy (deterministic)"], test["policy (stochastic)"]
        gap = 100 * (train["policy (deterministic)"]["success"] - det["success"])
        name, scripted = _scripted(test)
        who = name.removeprefix("scripted (").removesuffix(")")
        wall = f"{s['wall_seconds'] / 60:.1f} min" if s.get("wall_seconds") else "—"
        lines.append(
            f"| `{s['name']}` | `{s['env_id']}` | {s['steps']:,} | {wall} | {_pct(det)} | {_pct(sto)} | "
            f"{_pct(train['policy (deterministic)'])} | {gap:+.1f} | "
            f"{100 * test['random']['success']:.1f}% | {100 * scripted['success']:.1f}% ({who}) |"
        )
        if not s["env_id"].startswith("vrenvs/Assistant"):
            npc.append(
                f"| `{s['name']}` | `{s['env_id']}` | "
                f"{100 * det['success']:.1f}% / {100 * sto['success']:.1f}% | "
                f"{det['return']:.2f} / {sto['return']:.2f} | {det['length']:.1f} / {sto['length']:.1f} | "
                f"{100 * scripted['success']:.1f}% | {scripted['return']:.2f} | {scripted['length']:.1f} |"
            )
    episodes = shipped[0]["episodes"] if shipped else 0
    by_source: dict[str, list[str]] = {}
    for s in shipped:
        by_source.setdefault(played_scenes(s), []).append(s["name"])
    if len(by_source) > 1:
        sources = " / ".join(f"`{p}` ({', '.join(by_source[p])})" for p in sorted(by_source))
    else:
        sources = "".join(f"`{p}`" for p in by_source) or "no"
    notes = [
        "",
        f"{episodes} episodes per cell on {sources} scenes; success in % with its 95% Wilson "
        "interval; *held-out* scenes are indices 10,000,000 and up, never seen in training "
        "(training plays scenes 0-99,999); *gap* is training minus held-out success (points); "
        "*scripted* is the BFS oracle for the assistant and the role's own behaviour for the NPCs.",
        "",
        "NPC roles next to their scripted behaviour on the same held-out scenes (guard: success = "
        "thief caught, return = catches minus escapes; critter: success = alive at the time limit, "
        "return = food eaten minus being caught, length = steps survived):",
        "",
    ]
    return "\n".join(lines + notes + npc)


def learning_curves(shipped: list[dict[str, Any]], out: Path) -> Path:
    """Held-out success against env steps of every shipped policy, one panel each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(shipped), figsize=(3.2 * len(shipped), 2.8), squeeze=False)
    for ax, s in zip(axes[0], shipped):
        with (PRETRAINED / s["name"] / "eval.csv").open() as handle:
            rows = list(csv.DictReader(handle))
        steps = [int(r["timesteps"]) / 1e6 for r in rows]
        ax.plot(steps, [float(r["success"]) for r in rows], color="tab:blue")
        ax.fill_between(
            steps,
            [float(r["success_low"]) for r in rows],
            [float(r["success_high"]) for r in rows],
            alpha=0.25,
            color="tab:blue",
        )
        ax.set_title(s["env_id"].removeprefix("vrenvs/"), fontsize=9)
        ax.set_xlabel("env steps (M)", fontsize=8)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("held-out success (stochastic)", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _readme(text: str) -> Path:
    """An ``argparse`` type: an existing markdown file (its results block is replaced)."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not an existing file")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents.results", description=__doc__.splitlines()[0])
    parser.add_argument("--refresh", action="store_true", help="evaluate every shipped policy again first")
    parser.add_argument(
        "--episodes",
        type=arg_int(1, 10_000),
        default=200,
        help="evaluation episodes per row with --refresh, 1 to 10,000 (default: 200)",
    )
    parser.add_argument("--readme", type=_readme, default=str(ROOT / "README.md"))
    parser.add_argument("--out", type=arg_output(folder=True), default=str(ROOT / "docs" / "agents"))
    args = parser.parse_args(argv)
    try:
        return _write(args)
    except (ValueError, TypeError, OSError) as err:
        print(f"agents.results: error: {err}", file=sys.stderr)
        return 2


def _write(args: argparse.Namespace) -> int:
    if args.refresh:
        from agents.ship import card, reevaluate

        for name in sb3_names():
            summary = reevaluate(PRETRAINED / name, args.episodes)
            (PRETRAINED / name / "card.md").write_text(card(summary))
    shipped = _load()
    if not shipped:
        print("no shipped policies in agents/pretrained")
        return 2
    table = markdown(shipped)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(
        "# Shipped policies\n\n" + table + "\n\n![learning curves](learning_curves.png)\n"
    )
    png = learning_curves(shipped, args.out / "learning_curves.png")
    readme = args.readme.read_text()
    if START in readme and END in readme:
        block = f"{START}\n{table}\n{END}"
        readme = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, readme, flags=re.S)
        args.readme.write_text(readme)
    print(table)
    print(f"\nwrote {args.out / 'results.md'} and {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
