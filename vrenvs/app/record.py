"""Recordings and pictures: rollouts to GIF / MP4, and galleries of scenes to PNG.

GIFs and PNGs go through imageio and Pillow (the ``render`` extra, no moviepy); MP4 through
imageio's ffmpeg plugin (the ``video`` extra, ``imageio-ffmpeg``). Frames are the env's own
``rgb_array`` frames, so a recording shows exactly what ``env.render()`` returns.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.error import DependencyNotInstalled

from vrenvs.app.args import MAX_EPISODES, MAX_FPS, MAX_GALLERY, MAX_STEPS, MIN_FPS, TILE_SIZES
from vrenvs.app.rollout import keep
from vrenvs.app.rollout import rollout as rollout_episodes
from vrenvs.core.catalog import CATALOG
from vrenvs.core.checks import check_choice, check_float, check_int, check_output
from vrenvs.core.sources import NUM_SCENE_INDICES, SCENE_SIZES, IndexedSource, default_source, make_source
from vrenvs.core.state import TaskConfig, allocate
from vrenvs.core.tasks import task
from vrenvs.envs.base import WorldEnv
from vrenvs.envs.drivers import check_role, driver, is_trained
from vrenvs.envs.registration import env_ids
from vrenvs.render import hud
from vrenvs.render.draw import frames, mosaic, write_row

__all__ = ["FORMATS", "check_distinct", "check_writer", "gallery", "record", "rollout", "write_frames"]

FORMATS = (".gif", ".mp4", ".png")


def _imageio() -> Any:
    try:
        import imageio.v3 as iio
    except ImportError as err:
        raise DependencyNotInstalled('writing GIF / PNG needs imageio: pip install "vrenvs[render]"') from err
    return iio


def check_writer(path: str | Path) -> None:
    """Raise ``DependencyNotInstalled`` now if ``path`` (.gif, .png or .mp4) could not be
    written for want of its writer, rather than after the frames are made."""
    _imageio()
    if Path(path).suffix.lower() == ".mp4":
        _ffmpeg()


def _ffmpeg() -> None:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError as err:
        raise DependencyNotInstalled('writing MP4 needs imageio-ffmpeg: pip install "vrenvs[video]"') from err


def write_frames(path: str | Path, images: Sequence[np.ndarray] | np.ndarray, fps: float = 8) -> Path:
    """Write ``images`` ((H, W, 3) uint8 each) to ``path``: an animated ``.gif`` (looping),
    an ``.mp4`` or, for a single image, a ``.png``; ``fps`` frames a second (animations)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"output {str(path)!r} must end in one of {', '.join(FORMATS)}")
    check_float("fps", fps, MIN_FPS, MAX_FPS)
    if len(images) == 0:
        raise ValueError("there are no frames to write")
    stack = np.stack([np.asarray(image) for image in images])
    if stack.ndim != 4 or stack.shape[-1] != 3 or stack.dtype != np.uint8:
        raise ValueError(
            f"frames of shape {stack.shape[1:]} and dtype {stack.dtype} cannot be written; "
            "allowed: (H, W, 3) uint8 RGB images"
        )
    iio = _imageio()
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".png":
        if len(stack) != 1:
            raise ValueError(f"a .png holds one image, got {len(stack)}; write a .gif or .mp4")
        iio.imwrite(path, stack[0])
    elif suffix == ".gif":
        iio.imwrite(path, stack, duration=1000 / fps, loop=0)
    else:
        _ffmpeg()
        iio.imwrite(path, stack, plugin="FFMPEG", fps=fps)
    return path


def default_agent(env: Any) -> str:
    """The scripted controller of the env's learner role (the oracle for the assistant)."""
    return str(env.unwrapped.TASK.scripted)


def rollout(
    env_id: str,
    episodes: int = 1,
    seed: int = 0,
    max_steps: int | None = None,
    agent: str | None = None,
    **env_kwargs: Any,
) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """Frames of ``episodes`` episodes (seeds ``seed``, ``seed + 1``, ...) with the learner
    driven by ``agent`` (a scripted controller, or a trained policy of the learner's role);
    one frame per state, the first included."""
    check_choice("env_id", env_id, env_ids())
    check_int("episodes", episodes, 1, MAX_EPISODES)
    check_int("seed", seed, 0)
    if isinstance(agent, os.PathLike):
        agent = os.fspath(agent)
    if agent is not None and not isinstance(agent, str):
        raise TypeError(f"agent={agent!r} must be a controller's or a trained policy's name, or a folder")
    if agent is not None and is_trained(agent):
        check_role(agent, task(env_id).learner, f"agent={agent!r}")
    limit: dict[str, Any] = {}
    if max_steps is not None:  # gym.make's -1 would mean no limit: an episode that may never end
        limit["max_episode_steps"] = check_int("max_steps", max_steps, 1, MAX_STEPS)
    env = gym.make(env_id, render_mode="rgb_array", **limit, **env_kwargs)
    shots: list[np.ndarray] = []
    log = rollout_episodes(env, driver(agent or default_agent(env)), episodes, seed, keep(shots))
    env.close()
    return shots, log


def record(
    env_id: str, out: str | Path, episodes: int = 1, seed: int = 0, fps: float | None = None, **kwargs: Any
) -> dict[str, Any]:
    """Roll out ``episodes`` and write them to ``out`` (.gif or .mp4); returns a summary."""
    check_output("out", out, (".gif", ".mp4"))
    if fps is not None:
        check_float("fps", fps, MIN_FPS, MAX_FPS)
    check_writer(out)
    shots, log = rollout(env_id, episodes, seed, **kwargs)
    rate = fps or WorldEnv.metadata["render_fps"]
    path = write_frames(out, shots, rate)
    return {"env": env_id, "out": str(path), "frames": len(shots), "fps": rate, "episodes": log}


def scene_frames(source: Any, num: int, size: int = 16, start: int = 0, tile_size: int = 16) -> np.ndarray:
    """``(num, H, W, 3)`` pictures of scenes ``start ..`` of ``source`` as they start: tiles,
    items and every actor at its spawn; the scene identity on the top row."""
    src = make_source(default_source(size) if source is None else source, size)
    if isinstance(src, IndexedSource):
        check_distinct(src, num, start)
        scenes = [src.scene(start + i) for i in range(num)]
        identities = [src.identity(start + i) for i in range(num)]
    else:
        scenes = list(src.sample(num, np.random.default_rng(start)))
        identities = [{"source": getattr(src, "name", "scenes"), "scene": s.name} for s in scenes]
    # One actor slot per catalog role, so an occupant value is a role id.
    config = TaskConfig(
        name="gallery", roles=tuple(r.name for r in CATALOG.roles), learner=0, size=size, view=1
    )
    state = allocate(config, len(scenes))
    for b, scene in enumerate(scenes):
        state.tiles[b], state.items[b], state.occupant[b] = scene.layers()
    images = frames(state, config, tile_size, text=False)
    write_row(images, [hud.caption(i) for i in identities], tile_size)
    return images


def check_distinct(source: IndexedSource, num: int, start: int) -> None:
    """Refuse scenes ``start .. start + num - 1`` beyond the distinct scenes of a finite
    ``source`` (its ``num_distinct``; None: unbounded), which would repeat earlier ones."""
    distinct = getattr(source, "num_distinct", None)
    if distinct is not None and start + num > distinct:
        name = getattr(source, "name", type(source).__name__)
        raise ValueError(
            f"num={num} (--num) scenes from start={start} (--start) need {start + num} distinct scenes; "
            f"the source {name!r} has {distinct}, so num + start must be at most {distinct}"
        )


def gallery(
    out: str | Path,
    scenes: Any = None,
    num: int = 16,
    size: int = 16,
    start: int = 0,
    tile_size: int = 16,
) -> dict[str, Any]:
    """A grid of ``num`` scenes of ``scenes`` written to ``out`` (.png)."""
    check_output("out", out, (".png",))
    check_int("num", num, 1, MAX_GALLERY)
    check_choice("size", check_int("size", size), SCENE_SIZES)
    check_int("start", start, 0, NUM_SCENE_INDICES - num)  # the scene indices are 0 .. 2**31 - 2
    check_int("tile_size", tile_size, *TILE_SIZES)
    check_writer(out)
    sheet = mosaic(scene_frames(scenes, num, size, start, tile_size))
    path = write_frames(out, [sheet])
    return {
        "scenes": str(scenes or default_source(size)),
        "num": num,
        "start": start,
        "out": str(path),
        "shape": list(sheet.shape),
    }
