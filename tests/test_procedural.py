"""Procedural scene styles: determinism, spawn rules, solvability before and after repair."""

from __future__ import annotations

import random
from functools import cache

import numpy as np
import pytest

from vrenvs.core.catalog import CATALOG, COLOURS
from vrenvs.core.procedural import SIZE_RANGE, STYLES, generate
from vrenvs.core.reach import is_solvable, problems
from vrenvs.core.regions import find_places
from vrenvs.core.repair import repair
from vrenvs.core.scene import Scene, split_layers

SEEDS = range(50)
REQUESTABLE = [CATALOG.item_code(i.name) for i in CATALOG.items if i.requestable]
NPCS = [CATALOG.role_code(r.name) for r in CATALOG.roles if r.npc]
KEYS = [CATALOG.item_code(f"{c}_key") for c in COLOURS]
LOCKS = [CATALOG.tile_code(f"door_{c}") for c in COLOURS]
GROUND = [CATALOG.tile_code(n) for n in ("floor", "grass", "path")]


@cache
def batch(style: str, size: int) -> tuple[Scene, ...]:
    """The 50 scenes of one style and size, shared by the tests below."""
    return tuple(generate(style, np.random.default_rng(seed), size) for seed in SEEDS)


def test_api() -> None:
    assert STYLES == ("house", "village", "cave")
    assert SIZE_RANGE == (12, 64)
    scene = generate("house", np.random.default_rng(0))
    assert scene.shape == (16, 16)
    assert scene.name == "house"
    assert scene.meta == {"style": "house"}


@pytest.mark.parametrize("style", STYLES)
def test_same_seed_same_scene(style: str) -> None:
    for seed in (0, 7, 123):
        a = generate(style, np.random.default_rng(seed))
        b = generate(style, np.random.default_rng(seed))
        assert np.array_equal(a.codes, b.codes)


@pytest.mark.parametrize("style", STYLES)
def test_different_seeds_differ(style: str) -> None:
    scenes = {generate(style, np.random.default_rng(seed)).codes.tobytes() for seed in range(20)}
    assert len(scenes) >= 19


def test_styles_differ() -> None:
    rng_scenes = [generate(style, np.random.default_rng(3)) for style in STYLES]
    assert len({s.codes.tobytes() for s in rng_scenes}) == len(STYLES)


def test_rng_is_advanced_not_reset() -> None:
    rng = np.random.default_rng(5)
    first, second = generate("cave", rng), generate("cave", rng)
    assert first != second


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("size", [16, 32])
def test_spawns(style: str, size: int) -> None:
    for scene in batch(style, size):
        codes = scene.codes
        assert scene.shape == (size, size)
        assert scene.count("@") == 1 and scene.count("A") == 1
        assert 2 <= np.isin(codes, REQUESTABLE).sum() <= 5
        assert np.isin(codes, NPCS).sum() <= 2
        assert np.isin(codes, KEYS).sum() == np.isin(codes, LOCKS).sum() <= 1
        tiles, items, roles = split_layers(codes)
        spawned = (items > 0) | (roles > 0)
        assert not spawned[[0, -1], :].any() and not spawned[:, [0, -1]].any()
        assert np.isin(tiles[spawned], GROUND).all()
        assert (codes[[0, -1], :] == CATALOG.WALL).all() and (codes[:, [0, -1]] == CATALOG.WALL).all()


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("size", [16, 32])
def test_solvable_raw_and_after_repair(style: str, size: int) -> None:
    scenes = batch(style, size)
    found = [problems(scene) for scene in scenes]
    raw = [not p for p in found]
    assert sum(raw) >= 0.95 * len(scenes), [p[:2] for p in found if p]
    edits = []
    for scene, ok in zip(scenes, raw, strict=True):
        fixed = repair(scene)
        edits.append(fixed.edits)
        assert is_solvable(fixed.scene)
        if ok:
            assert fixed.edits == 0
    assert np.mean(edits) < 2


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("size", [16, 32])
def test_named_regions(style: str, size: int) -> None:
    counts = [len(find_places(scene.layers()[0]).region_names) for scene in batch(style, size)]
    assert sum(c >= 2 for c in counts) >= 0.9 * len(counts), counts


@pytest.mark.parametrize("style", STYLES)
def test_style_features(style: str) -> None:
    """Each style shows its signature content in most seeds."""
    scenes = batch(style, 16)
    has = {g: sum(s.count(g) > 0 for s in scenes) for g in "=~T+M'"}
    if style == "house":
        assert has["="] == len(scenes) and has["+"] + has["'"] > 0
        assert sum(np.isin(s.codes, LOCKS).any() for s in scenes) >= 5
    elif style == "village":
        assert has["~"] == has["T"] == len(scenes) and has["M"] >= 0.8 * len(scenes)
    else:
        assert has["~"] >= 0.9 * len(scenes)
        assert sum(s.count("C") + s.count("F") > 0 for s in scenes) == len(scenes)


@pytest.mark.parametrize("size", [12, 13, 20, 27, 45, 64])
@pytest.mark.parametrize("style", STYLES)
def test_every_size_in_range(style: str, size: int) -> None:
    for seed in range(3):
        scene = generate(style, np.random.default_rng(seed), size)
        assert scene.shape == (size, size)
        assert is_solvable(scene), problems(scene)


def test_bad_style() -> None:
    with pytest.raises(ValueError, match="castle") as info:
        generate("castle", np.random.default_rng(0))
    for style in STYLES:
        assert style in str(info.value)


@pytest.mark.parametrize("size", [11, 65, 0, -16, 16.0, "16", True])
def test_bad_size(size: object) -> None:
    with pytest.raises(ValueError) as info:
        generate("house", np.random.default_rng(0), size)  # type: ignore[arg-type]
    message = str(info.value)
    assert repr(size) in message and "12" in message and "64" in message


def test_numpy_integer_size_is_accepted() -> None:
    scene = generate("village", np.random.default_rng(0), np.int64(20))  # type: ignore[arg-type]
    assert scene.shape == (20, 20)


def test_global_rng_untouched() -> None:
    """Only the rng argument is random: numpy's and Python's global states are left alone."""
    np.random.seed(1234)  # noqa: NPY002 - the legacy global state is what is checked
    before, py_before = np.random.get_state(legacy=False), random.getstate()  # noqa: NPY002
    for style in STYLES:
        generate(style, np.random.default_rng(0))
    after = np.random.get_state(legacy=False)  # noqa: NPY002
    assert np.array_equal(before["state"]["key"], after["state"]["key"])
    assert before["state"]["pos"] == after["state"]["pos"]
    rest = [{k: v for k, v in state.items() if k != "state"} for state in (before, after)]
    assert rest[0] == rest[1]
    assert random.getstate() == py_before
