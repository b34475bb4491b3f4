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

from vrenvs.app.args import (
    MAX_EPISODES,
    MAX_FPS,
    MAX_FRAMES,
    MAX_GALLERY,
    MAX_STEPS,
    MIN_FPS,
    TILE_SIZES,
    USER_ERRORS,
    arg_episodes,
    arg_fps,
    arg_scene_index,
    arg_scenes,
    arg_seed,
    arg_steps,
    arg_tile_size,
    check_driver,
    check_pixels,
)
from vrenvs.core.checks import arg_float, arg_int, arg_output
from vrenvs.core.plugins import load, plugin_names, provider_of
from vrenvs.core.sources import NUM_SCENE_INDICES
from vrenvs.core.tasks import task

__all__ = ["main"]


def env_id(name: str) -> str:
    """``Assistant-Fetch``, ``Assistant-Fetch-v0`` or ``vrenvs/Assistant-Fetch-v0`` -> the id."""
    from vrenvs.envs.registration import ENVS

    for env in ENVS:
        if name in (env.id, env.name, f"{env.name}-v0"):
            return env.id
    raise ValueError(f"unknown env {name!r}; choose from {', '.join(e.id for e in ENVS)} (see `vrenvs list`)")


def _env_arg(text: str) -> str:
    """``env_id`` as an ``argparse`` type: an unknown env is refused when the line is parsed."""
    try:
        return env_id(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _roles(name: str) -> list[str]:
    """The actors of the env ``name`` as the command line builds it (its default NPCs)."""
    from vrenvs.envs.registration import ENVS

    spec = next(e for e in ENVS if e.id == name)
    return sorted({*spec.roles, *spec.npcs})


def _check_recording(args: argparse.Namespace, name: str, tile_size: int) -> None:
    """Refuse a recording whose frames (all held in memory) could pass the pixel budget."""
    import gymnasium as gym

    from vrenvs.app.record import check_writer

    limit = args.max_steps or gym.spec(name).max_episode_steps or MAX_STEPS
    steps = f"--max-steps {args.max_steps}" if args.max_steps else f"the env's {limit} steps"
    because = f"--episodes {args.episodes}, {steps}, --tile-size {tile_size}, --size {args.size}"
    check_pixels("the recording", args.episodes * (limit + 1), args.size * tile_size, because)
    check_writer(args.out if args.command == "record" else args.record)


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
    from vrenvs.app.play import HELP, RATE_HELP, USER_HELP, Session, check_assistant, run
    from vrenvs.render.viewer import Viewer

    roles = _roles(args.env_id)
    if args.role is not None and args.role not in roles:
        raise ValueError(
            f"argument --role: {args.role!r} is not an actor of {args.env_id}; choose from {roles}"
        )
    check_driver("--assistant", args.assistant)
    check_assistant(args.env_id, args.role, args.assistant, "--assistant")
    session = Session(
        args.env_id,
        role=args.role,
        assistant=args.assistant,
        seed=args.seed,
        speed=args.speed,
        tile_size=args.tile_size,
        feedback=args.feedback,
        adapt=args.adapt,
        **_env_kwargs(args),
    )
    rate = RATE_HELP if session.feedback is not None else []
    print("\n".join(line.lstrip("# ") for line in HELP + (USER_HELP if session.asks else []) + rate))
    try:
        viewer = Viewer(title=f"vrenvs play {session.env_id} as the {session.role}", fps=args.fps)
        shown = run(session, viewer, max_frames=args.max_frames)
        viewer.close()
    finally:
        session.close()
    print(f"played {shown} frames, {int(session.world.state.t[0])} steps into episode {session.episode}")
    return 0


def _watch_target(target: str, env: str | None) -> tuple[str, str | None]:
    """``(env id, policy)`` of ``vrenvs watch TARGET``: an env (its scripted learner) or a
    trained policy (shipped name or folder), played in ``--env`` or its own training env."""
    from vrenvs.envs.drivers import policy_env_id, policy_names

    if env is not None:
        return env, target
    try:
        return env_id(target), None
    except ValueError:
        pass
    if target in policy_names() or Path(target).is_dir():
        return env_id(policy_env_id(target)), target
    raise ValueError(
        f"argument target: {target!r} is neither an env (see `vrenvs list`) nor a trained policy "
        f"({', '.join(policy_names()) or 'none shipped'}, or a policy folder)"
    )


def _cmd_watch(args: argparse.Namespace) -> int:
    from vrenvs.app.play import watch
    from vrenvs.app.record import write_frames
    from vrenvs.render.viewer import Viewer

    name, policy = _watch_target(args.target, args.env)
    if policy is not None and args.agent is not None:
        raise ValueError(
            f"argument --agent: {args.agent!r} cannot drive the learner that the policy {policy!r} "
            "(target) drives; give the env as target to use --agent, or leave --agent out"
        )
    learner = task(name).learner
    check_driver("--agent", args.agent, learner)
    if policy is not None:
        check_driver("target", policy, learner)
    tile_size = args.tile_size or max(512 // args.size, 8)
    if args.record:
        _check_recording(args, name, tile_size)
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

    check_driver("--agent", args.agent, task(args.env_id).learner)
    _check_recording(args, args.env_id, args.tile_size)
    summary = record(
        args.env_id,
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

    if args.start + args.num > NUM_SCENE_INDICES:
        raise ValueError(
            f"argument --num: {args.num} scenes from --start {args.start} run past the last scene index "
            f"{NUM_SCENE_INDICES - 1}"
        )
    because = f"--num {args.num}, --tile-size {args.tile_size}, --size {args.size}"
    check_pixels("the gallery", args.num, args.size * args.tile_size, because)
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


RECORDINGS = (".gif", ".mp4")
_EPISODES = f", 1 to {MAX_EPISODES:,}"
_STEPS = f", 1 to {MAX_STEPS:,}"
_FPS = f", {MIN_FPS:g} to {MAX_FPS:g}"


def _world_options(p: argparse.ArgumentParser, tile_size: int | None = 16) -> None:
    _scenes_option(p)
    p.add_argument("--size", type=int, default=16, choices=(16, 32), help="map size (default: 16)")
    shown = "fits a 512 px window" if tile_size is None else str(tile_size)
    p.add_argument(
        "--tile-size",
        type=arg_tile_size,
        default=tile_size,
        help=f"pixels per cell, {TILE_SIZES[0]} to {TILE_SIZES[1]} (default: {shown})",
    )
    p.add_argument("--seed", type=arg_seed, default=0, help="seed of the first episode, >= 0 (default: 0)")


def _scenes_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scenes",
        type=arg_scenes,
        default=None,
        help="scene source: vqvae (the default), gan, vae, vaegan, procedural, designer, a folder or .npz, "
        'or JSON with options, e.g. \'{"source": "vqvae", "style": "village"}\'',
    )


def _add_play(sub: argparse._SubParsersAction) -> None:
    play = sub.add_parser("play", help="play an env with the keyboard (as the user, by default)")
    play.add_argument("env_id", type=_env_arg, help="env id or name, e.g. Assistant-v0 (see `vrenvs list`)")
    play.add_argument(
        "--role", help="actor to play: user (default in assistant envs), assistant or an NPC role"
    )
    play.add_argument(
        "--assistant",
        help="controller driving the assistant when you do not play it: a scripted one (default: "
        "oracle) or a trained policy of the assistant (shipped name such as ppo-Assistant, or a "
        "policy folder); only in envs with an assistant",
    )
    play.add_argument(
        "--speed",
        type=arg_float(0, MAX_FPS),
        help=f"world steps per second, up to {MAX_FPS:g}; 0 = turn by turn (default: 4 as the user)",
    )
    play.add_argument("--fps", type=arg_fps, default=20, help=f"window frames per second{_FPS} (default: 20)")
    play.add_argument(
        "--feedback",
        type=Path,
        help="feedback store (SQLite, created if missing): F1..F5 rate the scene you are in, and every "
        "episode's signals (requests served, given up, steps, seconds) are recorded",
    )
    play.add_argument(
        "--adapt",
        action="store_true",
        help="online mode: after 5 ratings in --feedback, the next scenes come from the source "
        "adapted to them (refitted after every rating)",
    )
    play.add_argument(
        "--max-frames",
        type=arg_int(1, MAX_FRAMES),
        help=f"stop after this many frames, up to {MAX_FRAMES:,} (for scripts and tests)",
    )
    _world_options(play, tile_size=None)
    play.set_defaults(run=_cmd_play)
    watch = sub.add_parser("watch", help="watch an env's learner, scripted or a trained policy")
    watch.add_argument(
        "target",
        help="an env id or name (its learner scripted), or a trained policy: a shipped name "
        "(ppo-Assistant-Fetch, ...) or a policy folder, played in its training env unless --env",
    )
    watch.add_argument(
        "--env", type=_env_arg, help="env to watch a policy in (default: the one it was trained on)"
    )
    watch.add_argument(
        "--agent", help="controller or policy of the learner (default: its role's own, e.g. oracle)"
    )
    watch.add_argument(
        "--record",
        type=arg_output(RECORDINGS),
        help="write the rollout to this .gif / .mp4 instead of a window",
    )
    watch.add_argument(
        "--episodes", type=arg_episodes, default=1, help=f"episodes to show{_EPISODES} (default: 1)"
    )
    watch.add_argument("--max-steps", type=arg_steps, help=f"cut episodes at this many steps{_STEPS}")
    watch.add_argument("--fps", type=arg_fps, default=8, help=f"frames per second{_FPS} (default: 8)")
    _world_options(watch, tile_size=None)
    watch.set_defaults(run=_cmd_watch)


def _add_record(sub: argparse._SubParsersAction) -> None:
    rec = sub.add_parser("record", help="write a rollout of the learner's scripted controller to GIF / MP4")
    rec.add_argument("env_id", type=_env_arg, help="env id or name (see `vrenvs list`)")
    rec.add_argument(
        "--out",
        type=arg_output(RECORDINGS),
        required=True,
        help="rollout.gif, or rollout.mp4 (needs vrenvs[video])",
    )
    rec.add_argument(
        "--episodes", type=arg_episodes, default=1, help=f"episodes to record{_EPISODES} (default: 1)"
    )
    rec.add_argument("--max-steps", type=arg_steps, help=f"cut episodes at this many steps{_STEPS}")
    rec.add_argument("--agent", help="controller of the learner (default: its role's own, e.g. oracle)")
    rec.add_argument("--fps", type=arg_fps, help=f"frames per second of the file{_FPS} (default: 8)")
    _world_options(rec)
    rec.set_defaults(run=_cmd_record)
    gal = sub.add_parser("gallery", help="draw a grid of scenes from a source to a PNG")
    _scenes_option(gal)
    gal.add_argument(
        "--num",
        type=arg_int(1, MAX_GALLERY),
        default=16,
        help=f"number of scenes, 1 to {MAX_GALLERY} (default: 16)",
    )
    gal.add_argument(
        "--start",
        type=arg_scene_index,
        default=0,
        help=f"index of the first scene, 0 to {NUM_SCENE_INDICES - 1:,} (default: 0)",
    )
    gal.add_argument("--size", type=int, default=16, choices=(16, 32), help="map size (default: 16)")
    gal.add_argument(
        "--tile-size",
        type=arg_tile_size,
        default=16,
        help=f"pixels per cell, {TILE_SIZES[0]} to {TILE_SIZES[1]} (default: 16)",
    )
    gal.add_argument(
        "--out", type=arg_output([".png"]), default="gallery.png", help="output PNG (default: gallery.png)"
    )
    gal.set_defaults(run=_cmd_gallery)


def _add_jobs(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="the benchmark: vrenvs next to MiniGrid, in one run")
    bench.add_argument(
        "--out", type=arg_output(folder=True), default="out/bench", help="output folder for JSON and markdown"
    )
    bench.add_argument("--quick", action="store_true", help="a smoke run of about a minute")
    bench.add_argument(
        "--sections",
        nargs="+",
        choices=("step", "reset", "generator", "render", "ppo", "memory", "multiagent"),
        help="run only these sections (default: all)",
    )
    bench.set_defaults(run=_cmd_bench)
    rb = sub.add_parser("bench-render", help="rgb_array frames/s at 256x256 next to MiniGrid's render()")
    rb.add_argument(
        "--out", type=arg_output(folder=True), default="out/bench", help="output folder for JSON and markdown"
    )
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
        return int(load("vrenvs.commands", name)(rest))
    except USER_ERRORS as err:
        print(f"vrenvs {name}: error: {err}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    """``vrenvs COMMAND ...``: 0 when done, 2 for a user's mistake (the line says which)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _plugged():
        return _forward(argv[0], argv[1:])
    args = _parser().parse_args(argv)
    np.set_printoptions(linewidth=120)
    try:
        return int(args.run(args))
    except USER_ERRORS as err:
        print(f"vrenvs {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
