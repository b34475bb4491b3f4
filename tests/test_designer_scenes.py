"""Designer scenes: the hand-authored ASCII corpus in ``vrenvs/data/scenes``.

Every file is found by globbing the folder (no hand list), so a new scene is checked as
soon as it is added: it must parse, be solvable, offer things to ask for and places to go,
carry its size in its file name, and differ from every other scene.
"""

from __future__ import annotations

from collections import Counter
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from vrenvs.core.catalog import CATALOG
from vrenvs.core.reach import problems
from vrenvs.core.regions import find_places
from vrenvs.core.scene import Scene, read_ascii

SCENE_DIR = Path(str(resources.files("vrenvs.data").joinpath("scenes")))
PATHS = sorted(SCENE_DIR.glob("*.txt"))
STYLES = {"house", "market", "garden", "village", "cave", "forest", "farm", "castle", "shop"}
NPC_GLYPHS = "".join(role.glyph for role in CATALOG.roles if role.npc)

_CACHE: dict[Path, Scene] = {}


def scene_of(path: Path) -> Scene:
    if path not in _CACHE:
        _CACHE[path] = read_ascii(path)
    return _CACHE[path]


def describe(path: Path, scene: Scene) -> str:
    return f"{path.name}:\n{scene.to_ascii()}"


def test_the_corpus_has_enough_scenes_of_each_size() -> None:
    sizes = Counter(scene_of(p).shape for p in PATHS)
    assert sizes[(16, 16)] >= 30, f"need at least 30 scenes of 16x16, found {sizes[(16, 16)]}"
    assert sizes[(32, 32)] >= 6, f"need at least 6 scenes of 32x32, found {sizes[(32, 32)]}"


def test_no_two_scenes_are_identical() -> None:
    seen: dict[bytes, str] = {}
    for path in PATHS:
        scene = scene_of(path)
        key = bytes(scene.shape) + scene.codes.tobytes()
        assert key not in seen, f"{path.name} is identical to {seen[key]}"
        seen[key] = path.name


def test_styles_cover_the_main_kinds() -> None:
    styles = {scene_of(p).meta.get("style") for p in PATHS}
    missing = {"house", "market", "garden", "cave"} - styles
    assert not missing, (
        f"no designer scene has style {sorted(missing)}; styles found: {sorted(map(str, styles))}"
    )


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_scene_parses(path: Path) -> None:
    scene = read_ascii(path)
    assert scene.codes.ndim == 2


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_scene_is_solvable(path: Path) -> None:
    scene = scene_of(path)
    found = problems(scene)
    assert found == [], describe(path, scene) + "problems:\n" + "\n".join(found)


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_scene_has_items_and_places(path: Path) -> None:
    scene = scene_of(path)
    tiles, items, _ = scene.layers()
    requestable = int(CATALOG.REQUESTABLE[items].sum())
    assert requestable >= 2, describe(path, scene) + f"only {requestable} requestable item(s)"
    places = find_places(tiles)
    assert len(places.region_names) >= 2, (
        describe(path, scene) + f"only {len(places.region_names)} named region(s): {places.region_names}"
    )


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_scene_file_name_and_header(path: Path) -> None:
    scene = scene_of(path)
    h, w = scene.shape
    assert h == w, f"{path.name} is {h} x {w}; designer scenes are square"
    assert path.name.startswith(f"{h}_"), f"{path.name} is {h} x {w}, its name must start with '{h}_'"
    style = scene.meta.get("style")
    assert style in STYLES, f"{path.name}: style {style!r} is not one of {sorted(STYLES)}"
    npcs = int(np.isin(scene.codes, [CATALOG.code_of[g] for g in NPC_GLYPHS]).sum())
    assert npcs <= 3, describe(path, scene) + f"{npcs} NPC spawns; keep it to at most 3"
