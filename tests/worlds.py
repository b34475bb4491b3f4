"""Test helpers: worlds built from ASCII pictures, stepped with explicit actions."""

from __future__ import annotations

import textwrap

import numpy as np

from vrenvs.core import rules
from vrenvs.core.scene import Scene, parse_ascii
from vrenvs.core.state import Action, TaskConfig
from vrenvs.core.text import world_ascii
from vrenvs.core.world import World

A = Action


class OneScene:
    """A scene source that always serves the same scene (repaired like any source's scenes,
    except in :func:`world_from`, which plays it as drawn)."""

    name = "test"

    def __init__(self, scene: Scene) -> None:
        self.scene = scene

    def sample(self, num: int, rng: np.random.Generator) -> list[Scene]:
        return [self.scene] * num


def picture(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def world_from(text: str, roles: tuple[str, ...], learner: int = 1, seed: int = 0, **config) -> World:
    scene = parse_ascii(picture(text))
    h, w = scene.shape
    assert h == w, "test scenes are square"
    cfg = TaskConfig(name="test", roles=roles, learner=learner, size=h, **config)
    world = World(cfg, 1, OneScene(scene), as_drawn=True)
    world.seed([seed])
    world.reset([0])
    return world


def ascii_of(world: World) -> str:
    return world_ascii(world.state, world.config, 0)


def act(world: World, *actions: int) -> rules.Events:
    """One step where slot i takes ``actions[i]`` (no controllers)."""
    return rules.step(world.state, np.array([actions], dtype=np.int64), world.config)


def assert_picture(world: World, expected: str) -> None:
    got = ascii_of(world)
    want = picture(expected)
    assert got == want, f"\n--- got ---\n{got}\n--- want ---\n{want}"


# --- Env-level helpers for the contract tests (tests/test_contract_*.py) --------------------
# They go through the public face only: ``gymnasium.make`` / ``make_vec`` with a scene source.

ENV_SIZE = 16


def map16(text: str) -> str:
    """A 16x16 map from its picture: ``; key: value`` headers kept, rows must be 16 wide,
    missing rows at the bottom are filled with wall."""
    lines = picture(text).splitlines()
    header = [line for line in lines if line.startswith(";")]
    rows = [line for line in lines if not line.startswith(";")]
    assert all(len(r) == ENV_SIZE for r in rows), f"rows must be {ENV_SIZE} wide:\n" + "\n".join(rows)
    assert len(rows) <= ENV_SIZE, f"at most {ENV_SIZE} rows"
    rows += ["#" * ENV_SIZE] * (ENV_SIZE - len(rows))
    return "\n".join(header + rows)


def scenes_of(text: str) -> OneScene:
    """A scene source serving the 16x16 map drawn in ``text`` (see :func:`map16`)."""
    return OneScene(parse_ascii(map16(text)))


def make_env(env_id: str, text: str, **kwargs):
    """``gymnasium.make(env_id)`` playing the map drawn in ``text``."""
    import gymnasium as gym

    import vrenvs  # noqa: F401  (registers the ids)

    return gym.make(env_id, scenes=scenes_of(text), **kwargs)


def make_vec(env_id: str, text: str, num_envs: int = 1, **kwargs):
    """The native vector env of ``env_id`` playing the map drawn in ``text``."""
    import gymnasium as gym

    import vrenvs  # noqa: F401  (registers the ids)

    return gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", scenes=scenes_of(text), **kwargs
    )


def env_ascii(env) -> str:
    """The current world of a single or vector env as ASCII (world 0), for failure messages;
    empty if the env's internals moved."""
    try:
        return ascii_of(env.unwrapped.world)
    except Exception:  # only a message
        return ""
