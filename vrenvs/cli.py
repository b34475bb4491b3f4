"""The ``vrenvs`` command: ``list``, ``demo``, ``bench``; ``vrenvs SUBCOMMAND --help`` for each."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

__all__ = ["main"]


def _cmd_list(args: argparse.Namespace) -> int:
    from vrenvs.registration import ENVS

    width = max(len(e.id) for e in ENVS)
    for env in ENVS:
        print(f"{env.id:<{width}}  {env.summary} (max {env.max_episode_steps} steps)")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from vrenvs.demo import run_demo

    summary = run_demo(Path(args.out), episodes=args.episodes, seed=args.seed, scenes=args.scenes)
    print(json.dumps(summary, indent=2))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from vrenvs.bench import run_bench

    run_bench(Path(args.out), quick=args.quick)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vrenvs", description="Generated 2D tile worlds for RL.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the env ids with a one-line description").set_defaults(run=_cmd_list)
    demo = sub.add_parser("demo", help="roll out the scripted assistant and write a GIF and a scene sheet")
    demo.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")
    demo.add_argument("--episodes", type=int, default=4, help="episodes to record (default: 4)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the first episode (default: 0)")
    demo.add_argument("--scenes", default="procedural", help="scene source (default: procedural)")
    demo.set_defaults(run=_cmd_demo)
    bench = sub.add_parser("bench", help="steps/s of vrenvs next to MiniGrid, in one run")
    bench.add_argument("--out", default="out/bench", help="output folder for JSON and markdown")
    bench.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    bench.set_defaults(run=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    np.set_printoptions(linewidth=120)
    try:
        return int(args.run(args))
    except (ValueError, FileNotFoundError) as err:
        print(f"vrenvs {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
