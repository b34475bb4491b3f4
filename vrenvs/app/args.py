"""What the command lines accept: limits and argument types of ``vrenvs`` and ``vrenvs demo``.

Every number has a range and every name a list of choices, checked when the line is parsed
(``argparse`` types from :mod:`vrenvs.core.checks`) or, when the check needs more than one
argument, before any work starts. The limits keep work and memory bounded: recordings and
galleries hold their frames in memory, so :func:`check_pixels` bounds them together.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gymnasium.error import Error as GymnasiumError

from vrenvs.core.checks import arg_float, arg_int
from vrenvs.core.sources import NUM_SCENE_INDICES, source_names
from vrenvs.envs.spaces import TILE_SIZES

__all__ = [
    "MAX_EPISODES",
    "MAX_FPS",
    "MAX_FRAMES",
    "MAX_GALLERY",
    "MAX_PIXELS",
    "MAX_SEED",
    "MAX_STEPS",
    "MIN_FPS",
    "TILE_SIZES",
    "USER_ERRORS",
    "arg_episodes",
    "arg_fps",
    "arg_scene_index",
    "arg_scenes",
    "arg_seed",
    "arg_steps",
    "arg_tile_size",
    "check_driver",
    "check_pixels",
]

USER_ERRORS = (ValueError, TypeError, OSError, GymnasiumError)
"""What a user's mistake raises (a bad value or file, a missing dependency): the commands
print one line and return status 2 instead of a traceback. ``SceneError`` and
``PolicyFileError`` are ValueErrors."""

MAX_EPISODES = 10_000
MAX_STEPS = 100_000
"""``--max-steps``: an episode limit (the registered limits are 200 to 512 steps)."""
MAX_FRAMES = 1_000_000
MIN_FPS, MAX_FPS = 0.1, 240.0
"""Frames (and world steps) per second; a GIF cannot hold frame delays of much more than 10 s."""
MAX_SEED = 2**63 - 1
"""``reset(seed=)`` takes any integer >= 0; the command line keeps seeds inside int64."""
MAX_GALLERY = 1024
MAX_PIXELS = 2**30
"""Pixels of the frames a recording or a gallery holds in memory (3 GiB as RGB)."""

arg_episodes = arg_int(1, MAX_EPISODES)
arg_steps = arg_int(1, MAX_STEPS)
arg_fps = arg_float(MIN_FPS, MAX_FPS)
arg_seed = arg_int(0, MAX_SEED)
arg_scene_index = arg_int(0, NUM_SCENE_INDICES - 1)
arg_tile_size = arg_int(*TILE_SIZES)


def arg_scenes(text: str) -> str | dict[str, object]:
    """An ``argparse`` type for ``--scenes``: a source name, a folder or an ``.npz`` bank that
    exists, or a JSON object naming a source with options (``'{"source": "procedural",
    "style": "cave"}'``, the env kwarg's dict form). The files are read (and their mistakes
    reported, naming the file) and the options checked when used."""
    if text.lstrip().startswith("{"):
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as err:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not valid JSON ({err.msg}, column {err.colno})"
            ) from None
        if not isinstance(spec, dict) or not isinstance(spec.get("source"), str):
            raise argparse.ArgumentTypeError(
                f"{text!r} is no scene source: a JSON object with a 'source' name from {source_names()} "
                "and that source's options"
            )
        if spec["source"] not in source_names():
            raise argparse.ArgumentTypeError(
                f"source {spec['source']!r} in {text!r} is not a source name; choose from {source_names()}"
            )
        return dict(spec)
    if text in source_names() or Path(text).is_dir():
        return text
    if text.endswith(".npz"):
        if Path(text).is_file():
            return text
        raise argparse.ArgumentTypeError(f"scene bank {text!r} does not exist")
    raise argparse.ArgumentTypeError(
        f"{text!r} is not a scene source; choose from {source_names()}, a folder of .txt scenes "
        "or an .npz bank"
    )


def check_driver(option: str, name: str | None, role: str | None = None) -> None:
    """Refuse a ``--agent`` / ``--assistant`` that is no scripted controller, shipped policy
    or folder, or (given ``role``) a policy trained as another role, before any env is built
    (only the policy's metadata is read)."""
    from vrenvs.core.controllers import controller_names
    from vrenvs.envs.drivers import check_role, policy_names

    if name is None or name in controller_names():
        return
    policies = policy_names()
    if name not in policies and not Path(name).is_dir():
        raise ValueError(
            f"argument {option}: {name!r} is neither a scripted controller {controller_names()} nor "
            f"a trained policy ({', '.join(policies) or 'none installed'}, or a policy folder)"
        )
    if role is not None:
        check_role(name, role, f"argument {option}: {name!r}")


def check_pixels(what: str, frames: int, side: int, because: str) -> None:
    """Refuse to hold ``frames`` square frames of ``side`` pixels when they pass
    :data:`MAX_PIXELS`; ``because`` names the arguments (and values) that set them."""
    if frames * side * side > MAX_PIXELS:
        fit = max(MAX_PIXELS // (side * side), 1)
        raise ValueError(
            f"{what} would hold up to {frames:,} frames of {side}x{side} px ({because}); at most "
            f"{MAX_PIXELS:,} pixels ({fit:,} such frames) fit: lower them"
        )
