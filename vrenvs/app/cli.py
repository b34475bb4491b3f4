"""The ``vrenvs`` command; ``vrenvs SUBCOMMAND --help`` documents each subcommand.

- ``list``: the env ids with a one-line description each.
- ``play ENV_ID``: a person plays the user (or ``--role``) with the keyboard, in a window.
- ``watch ENV_ID`` or ``watch POLICY [--env ENV_ID] [--record out.gif]``: an env's learner driven
  by its scripted controller or by a trained policy, in a window or to a file.
- ``record ENV_ID --out rollout.gif``: the same rollout written to a GIF or MP4.
- ``gallery --scenes SOURCE --out gallery.png``: a grid of scenes.
- ``demo``, ``bench``, ``bench-render``: the main job, and speed next to MiniGrid.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from gymnasium.error import DependencyNotInstalled

from vrenvs.core.plugins import load, plugin_names, provider_of

__all__ = ["main"]


def env_id(name: str) -> str:
    """``Assistant-Fetch``, ``Assistant-Fetch-v0`` or ``vrenvs/Assistant-Fetch-v0`` -> the id."""
    from vrenvs.envs.registration import ENVS

    for env in ENVS:
        if name in (env.id, env.name, f"{env.name}-v0"):
            return env.id
    raise ValueError(f"unknown env {name!r}; choose from {', '.join(e.id for e in ENVS)} (see `vrenvs list`)")


def _env_kwargs(args: argparse.Namespace) -> dict[str, object]:
    return {"scenes": args.scenes, "size": args.size}


def _cmd_list(args: argparse.Namespace) -> int:
    from vrenvs.envs.drivers import policy_names
    from vrenvs.envs.registration import ENVS

    width = max(len(e.id) for e in ENVS)
    for env in ENVS:
        print(f"{env.id:<{width}}  {env.summary} (max {env.max_steps} steps)")
    policies = policy_names()
    if policies:
        print(f"\ntrained policies (vrenvs watch NAME): {', '.join(policies)}")
    return 0


def _cmd_play(args: argparse.Namespace) -> int:
    from vrenvs.app.play import HELP, USER_HELP, Session, run
    from vrenvs.render.viewer import Viewer

    session = Session(
        env_id(args.env_id),
        role=args.role,
        assistant=args.assistant,
        seed=args.seed,
        speed=args.speed,
        tile_size=args.tile_size,
        **_env_kwargs(args),
    )
    print("\n".join(line.lstrip("# ") for line in HELP + (USER_HELP if session.asks else [])))
    viewer = Viewer(title=f"vrenvs play {session.env_id} as the {session.role}", fps=args.fps)
    shown = run(session, viewer, max_frames=args.max_frames)
    viewer.close()
    print(f"played {shown} frames, {int(session.world.state.t[0])} steps into episode {session.episode}")
    return 0


def _watch_target(target: str, env: str | None) -> tuple[str, str | None]:
    """``(env id, policy)`` of ``vrenvs watch TARGET``: an env (its scripted learner) or a
    trained policy (shipped name or folder), played in ``--env`` or its own training env."""
    from vrenvs.envs.drivers import policy_env_id, policy_names

    try:
        return env_id(env or target), None if env is None else target
    except ValueError:
        pass
    if target in policy_names() or Path(target).is_dir():
        if env is not None:
            return env_id(env), target
        return env_id(policy_env_id(target)), target
    raise ValueError(
        f"{target!r} is neither an env (see `vrenvs list`) nor a trained policy "
        f"({', '.join(policy_names()) or 'none shipped'}, or a policy folder)"
    )


def _cmd_watch(args: argparse.Namespace) -> int:
    from vrenvs.app.play import watch
    from vrenvs.app.record import write_frames
    from vrenvs.render.viewer import Viewer

    name, policy = _watch_target(args.target, args.env)
    tile_size = args.tile_size or max(512 // args.size, 8)
    viewer = None if args.record else Viewer(title=f"vrenvs watch {name}", fps=args.fps)
    frames: list[np.ndarray] | None = [] if args.record else None
    steps = watch(
        name,
        viewer,
        args.episodes,
        args.seed,
        policy or args.agent,
        args.max_steps,
        frames_out=frames,
        tile_size=tile_size,
        **_env_kwargs(args),
    )
    if viewer is not None:
        viewer.close()
    if args.record and frames:
        print(f"wrote {write_frames(args.record, frames, fps=args.fps)} ({len(frames)} frames)")
    print(f"watched {steps} steps of {name} driven by {policy or args.agent or 'its scripted controller'}")
    return 0


def _cmd_record(args: argparse.Namespace) -> int:
    from vrenvs.app.record import record

    summary = record(
        env_id(args.env_id),
        args.out,
        episodes=args.episodes,
        seed=args.seed,
        fps=args.fps,
        max_steps=args.max_steps,
        agent=args.agent,
        tile_size=args.tile_size,
        **_env_kwargs(args),
    )
    print(json.dumps(summary, indent=2))
    return 0


def _cmd_gallery(args: argparse.Namespace) -> int:
    from vrenvs.app.record import gallery

    summary = gallery(args.out, args.scenes, args.num, args.size, args.start, args.tile_size)
    print(json.dumps(summary, indent=2))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from vrenvs.bench.suite import run_bench

    run_bench(Path(args.out), quick=args.quick, sections=tuple(args.sections) if args.sections else None)
    return 0


def _cmd_bench_render(args: argparse.Namespace) -> int:
    from vrenvs.bench.render import run_render_bench

    run_render_bench(Path(args.out), quick=args.quick)
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def _world_options(p: argparse.ArgumentParser, tile_size: int | None = 16) -> None:
    p.add_argument(
        "--scenes",
        default=None,
        help="scene source: gan (default at size 16), vae, vaegan, procedural (default at size 32), "
        "designer, a folder or .npz",
    )
    p.add_argument("--size", type=int, default=16, choices=(16, 32), help="map size (default: 16)")
    shown = "fits a 512 px window" if tile_size is None else str(tile_size)
    p.add_argument("--tile-size", type=int, default=tile_size, help=f"pixels per cell (default: {shown})")
    p.add_argument("--seed", type=int, default=0, help="seed of the first episode (default: 0)")


def _add_play(sub: argparse._SubParsersAction) -> None:
    play = sub.add_parser("play", help="play an env with the keyboard (as the user, by default)")
    play.add_argument("env_id", help="env id or name, e.g. Assistant-v0 (see `vrenvs list`)")
    play.add_argument(
        "--role", help="actor to play: user (default in assistant envs), assistant or an NPC role"
    )
    play.add_argument(
        "--assistant",
        default="oracle",
        help="controller driving the assistant when you do not: a scripted one (default: oracle) "
        "or a trained policy (shipped name such as ppo-Assistant, or a policy folder)",
    )
    play.add_argument(
        "--speed", type=float, help="world steps per second; 0 = turn by turn (default: 4 as the user)"
    )
    play.add_argument("--fps", type=float, default=20, help="window frames per second (default: 20)")
    play.add_argument(
        "--max-frames", type=_positive, help="stop after this many frames (for scripts and tests)"
    )
    _world_options(play, tile_size=None)
    play.set_defaults(run=_cmd_play)
    watch = sub.add_parser("watch", help="watch an env's learner, scripted or a trained policy")
    watch.add_argument(
        "target",
        help="an env id or name (its learner scripted), or a trained policy: a shipped name "
        "(ppo-Assistant-Fetch, ...) or a policy folder, played in its training env unless --env",
    )
    watch.add_argument("--env", help="env to watch a policy in (default: the one it was trained on)")
    watch.add_argument(
        "--agent", help="controller or policy of the learner (default: its role's own, e.g. oracle)"
    )
    watch.add_argument("--record", help="write the rollout to this .gif / .mp4 instead of a window")
    watch.add_argument("--episodes", type=_positive, default=1, help="episodes to show (default: 1)")
    watch.add_argument("--max-steps", type=_positive, help="cut episodes at this many steps")
    watch.add_argument("--fps", type=float, default=8, help="frames per second (default: 8)")
    _world_options(watch, tile_size=None)
    watch.set_defaults(run=_cmd_watch)


def _add_record(sub: argparse._SubParsersAction) -> None:
    rec = sub.add_parser("record", help="write a rollout of the learner's scripted controller to GIF / MP4")
    rec.add_argument("env_id", help="env id or name (see `vrenvs list`)")
    rec.add_argument("--out", required=True, help="rollout.gif, or rollout.mp4 (needs vrenvs[video])")
    rec.add_argument("--episodes", type=_positive, default=1, help="episodes to record (default: 1)")
    rec.add_argument("--max-steps", type=_positive, help="cut episodes at this many steps")
    rec.add_argument("--agent", help="controller of the learner (default: its role's own, e.g. oracle)")
    rec.add_argument("--fps", type=float, help="frames per second of the file (default: 8)")
    _world_options(rec)
    rec.set_defaults(run=_cmd_record)
    gal = sub.add_parser("gallery", help="draw a grid of scenes from a source to a PNG")
    gal.add_argument(
        "--scenes",
        default=None,
        help="scene source: gan (default at size 16), vae, vaegan, procedural (default at size 32), "
        "designer, a folder or .npz",
    )
    gal.add_argument("--num", type=_positive, default=16, help="number of scenes (default: 16)")
    gal.add_argument("--start", type=int, default=0, help="index of the first scene (default: 0)")
    gal.add_argument("--size", type=int, default=16, choices=(16, 32), help="map size (default: 16)")
    gal.add_argument("--tile-size", type=int, default=16, help="pixels per cell (default: 16)")
    gal.add_argument("--out", default="gallery.png", help="output PNG (default: gallery.png)")
    gal.set_defaults(run=_cmd_gallery)


def _add_jobs(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="the benchmark: vrenvs next to MiniGrid, in one run")
    bench.add_argument("--out", default="out/bench", help="output folder for JSON and markdown")
    bench.add_argument("--quick", action="store_true", help="a smoke run of about a minute")
    bench.add_argument(
        "--sections",
        nargs="+",
        choices=("step", "reset", "generator", "render", "ppo", "memory"),
        help="run only these sections (default: all)",
    )
    bench.set_defaults(run=_cmd_bench)
    rb = sub.add_parser("bench-render", help="rgb_array frames/s at 256x256 next to MiniGrid's render()")
    rb.add_argument("--out", default="out/bench", help="output folder for JSON and markdown")
    rb.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    rb.set_defaults(run=_cmd_bench_render)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vrenvs", description="Generated 2D tile worlds for RL.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="list the env ids with a one-line description").set_defaults(run=_cmd_list)
    _add_play(sub)
    _add_record(sub)
    _add_jobs(sub)
    for name in _plugged():
        where = provider_of("vrenvs.commands", name)
        sub.add_parser(name, help=f"from the {where} package: vrenvs {name} --help", add_help=False)
    return parser


def _plugged() -> list[str]:
    """Subcommands other packages add (``vrenvs.commands`` entry points: train, eval, demo,
    generators, ...), each parsing its own arguments."""
    return plugin_names("vrenvs.commands")


def _forward(name: str, rest: list[str]) -> int:
    try:
        run = load("vrenvs.commands", name)
    except ValueError as err:
        print(f"vrenvs {name}: error: {err}", file=sys.stderr)
        return 2
    return int(run(rest))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _plugged():
        return _forward(argv[0], argv[1:])
    args = _parser().parse_args(argv)
    np.set_printoptions(linewidth=120)
    try:
        return int(args.run(args))
    except (ValueError, FileNotFoundError, DependencyNotInstalled) as err:
        print(f"vrenvs {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
