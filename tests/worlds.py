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
    """A scene source that always serves the same scene (no repair: tests draw solvable maps)."""

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
    world = World(cfg, 1, OneScene(scene))
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
