"""Repair guarantees: any map becomes solvable, edits are counted honestly and few."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from vrenvs.core.catalog import CATALOG
from vrenvs.core.reach import is_solvable, problems
from vrenvs.core.repair import repair
from vrenvs.core.scene import Scene, parse_ascii
from vrenvs.core.sources import IndexedSource

# Random maps that look like the corpus: mostly ground and walls, some of everything else.
_COMMON = [CATALOG.tile_code(n) for n in ("floor", "floor", "floor", "wall", "wall", "grass")]
_ALL = list(range(CATALOG.num_codes))


@st.composite
def glyph_maps(draw, min_side: int = 5, max_side: int = 16):
    h = draw(st.integers(min_side, max_side))
    w = draw(st.integers(min_side, max_side))
    cells = st.one_of(st.sampled_from(_COMMON), st.sampled_from(_ALL))
    return draw(arrays(np.uint8, (h, w), elements=cells))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(glyph_maps())
def test_repaired_scene_is_always_solvable(codes):
    fixed = repair(codes)
    assert is_solvable(fixed.scene), f"{problems(fixed.scene)}\n{fixed.scene}"
    assert fixed.edits == int((fixed.scene.codes != codes).sum())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(glyph_maps(max_side=10))
def test_repair_is_idempotent(codes):
    once = repair(codes).scene
    twice = repair(once)
    assert twice.edits == 0 and twice.scene == once


def test_solvable_scene_needs_no_edit():
    scene = Scene(
        np.array(
            [
                [CATALOG.code_of[c] for c in row]
                for row in ["#######", "#@...A#", "#..c..#", "#.....#", "#######"]
            ]
        )
    )
    assert repair(scene).edits == 0


# Brute force on small maps: the fewest cell changes, over a small alphabet, that make the
# map solvable; repair (free to use any glyph) must never need fewer and rarely more.
_SMALL = [CATALOG.code_of[g] for g in ".#@Ac"]


def _brute_force_minimum(codes: np.ndarray, limit: int = 3) -> int | None:
    interior = [(y, x) for y in range(1, codes.shape[0] - 1) for x in range(1, codes.shape[1] - 1)]
    if is_solvable(Scene(codes)):
        return 0
    for radius in range(1, limit + 1):
        for cells in itertools.combinations(interior, radius):
            options = [[g for g in _SMALL if g != codes[c]] for c in cells]
            for glyphs in itertools.product(*options):
                trial = codes.copy()
                for c, g in zip(cells, glyphs):
                    trial[c] = g
                if is_solvable(Scene(trial)):
                    return radius
    return None


def _small_maps(count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    maps = []
    while len(maps) < count:
        codes = np.full((5, 5), CATALOG.WALL, np.uint8)
        codes[1:-1, 1:-1] = rng.choice(_SMALL, size=(3, 3), p=[0.45, 0.3, 0.1, 0.1, 0.05])
        maps.append(codes)
    return maps


@pytest.mark.parametrize("seed", range(3))
def test_edit_count_close_to_brute_force_minimum_on_small_maps(seed):
    excess = []
    for codes in _small_maps(8, seed):
        best = _brute_force_minimum(codes)
        edits = repair(codes).edits
        if best is None:
            assert edits > 3
            continue
        assert edits >= best, "repair cannot beat the minimum: the edit count is wrong"
        excess.append(edits - best)
    assert excess, "the sample must include maps the brute force can settle"
    assert max(excess) <= 2, excess
    assert np.mean(excess) <= 0.75, excess


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(glyph_maps(min_side=8, max_side=8), min_size=1, max_size=6))
def test_batched_check_agrees_with_problems(maps):
    from vrenvs.core.reach import solvable_batch
    from vrenvs.core.repair import repair_batch

    fixed = [repair(m).scene.codes for m in maps]
    batch = np.stack(list(maps) + fixed)
    expected = [is_solvable(Scene(c)) for c in batch]
    assert solvable_batch(batch).tolist() == expected
    out, edits = repair_batch(np.stack(maps))
    assert solvable_batch(out).all()
    assert edits.tolist() == [int((o != m).sum()) for o, m in zip(out, maps)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(glyph_maps(min_side=9, max_side=9), min_size=1, max_size=8))
def test_batch_repairs_each_grid_as_repair_does(maps):
    """Grids are repaired together but independently: the batch gives each grid exactly
    what repair gives it alone, in any order, and a second pass changes nothing."""
    from vrenvs.core.repair import repair_batch

    batch = np.stack(maps)
    out, edits = repair_batch(batch)
    alone = [repair(m) for m in maps]
    assert [a.scene.codes.tolist() for a in alone] == out.tolist()
    assert edits.tolist() == [a.edits for a in alone]
    flipped, _ = repair_batch(batch[::-1])
    assert np.array_equal(flipped[::-1], out)
    again, none = repair_batch(out)
    assert np.array_equal(again, out) and not none.any()


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.bool_, st.tuples(st.integers(1, 4), st.integers(1, 12), st.integers(1, 12))),
    st.integers(0, 8),
)
def test_small_components_match_component_sizes(mask, limit):
    from vrenvs.core.grid import component_sizes, label_components, small_components

    sizes = component_sizes(label_components(mask))
    assert np.array_equal(small_components(mask, limit), mask & (sizes < limit))


def _ascii(rows: str) -> Scene:
    return parse_ascii(rows.strip())


@pytest.mark.parametrize(
    ("before", "after", "edits"),
    [
        # A red door with no red key anywhere gets a key, far from the user on its side.
        (
            "#######\n#@.#..#\n#A.R.c#\n#..#..#\n#######",
            "#######\n#@.#..#\n#A.R.c#\n#.r#..#\n#######",
            1,
        ),
        # Two colours at once: each door gets its own key.
        (
            "#######\n#@.#..#\n#A.R.c#\n#..#B.#\n#######",
            "#######\n#@.#..#\n#ArR.c#\n#.b#B.#\n#######",
            2,
        ),
        # The only key is sealed in a pocket two walls deep: it is removed, and the door
        # it was for becomes a plain door (the opening to the far room costs one edit).
        (
            "##########\n#@A.#....#\n#c..R....#\n#...#....#\n#...######\n#...######\n#...###r##\n##########",
            "##########\n#@A......#\n#c..+....#\n#...#....#\n#...######\n#...######\n#...###.##\n##########",
            3,
        ),
    ],
)
def test_locked_door_without_its_key_is_repaired(before, after, edits):
    scene = _ascii(before)
    assert problems(scene)
    fixed = repair(scene)
    assert fixed.scene.to_ascii().strip() == after
    assert fixed.edits == edits
    assert problems(fixed.scene) == []


def test_a_locked_door_with_its_key_is_left_as_it_is():
    scene = _ascii("#######\n#@.#..#\n#A.R.c#\n#.r#..#\n#######")
    assert problems(scene) == [] and repair(scene).edits == 0


def test_served_gan_scenes_have_a_key_for_every_locked_door():
    """The GAN draws locked doors without keys in about 8% of its raw scenes (measured over
    indices 0-1999); none is served that way."""
    from vrenvs.core.reach import keyless_locks
    from vrenvs.core.scene import split_layers
    from vrenvs.core.sources import make_source

    source = make_source("gan", 16)
    assert isinstance(source, IndexedSource)
    raw = np.stack([source.raw(i).codes for i in range(256)])
    served = np.stack([source.scene(i).codes for i in range(256)])
    assert keyless_locks(*split_layers(raw)[:2]).any(axis=(1, 2)).sum() >= 10
    assert not keyless_locks(*split_layers(served)[:2]).any()


@pytest.mark.parametrize(
    ("before", "after", "edits"),
    [
        # The red key is on the user's side only: the user could open the door, the
        # assistant (who serves every request) could never reach the user. The door that
        # strands it becomes a plain door; the key stays.
        (
            "#########\n#@r#...A#\n#c.R....#\n#..#....#\n#########",
            "#########\n#@r#...A#\n#c.+....#\n#..#....#\n#########",
            1,
        ),
        # Two locks in a row, both keys with the user: opened a ring at a time from the
        # assistant's side, so both go (the first opening reaches no key).
        (
            "##########\n#@rb#.#.A#\n#c..R.B..#\n#...#.#..#\n##########",
            "##########\n#@rb#.#.A#\n#c..+.+..#\n#...#.#..#\n##########",
            2,
        ),
        # A red key on each side: each opens the door from its own side, nothing to repair.
        (
            "#########\n#@r#..rA#\n#c.R....#\n#..#....#\n#########",
            "#########\n#@r#..rA#\n#c.R....#\n#..#....#\n#########",
            0,
        ),
    ],
)
def test_the_assistant_can_always_reach_the_user(before, after, edits):
    scene = _ascii(before)
    expected = (
        []
        if edits == 0
        else [
            "line 2, column 2: the user '@' is not reachable from the assistant: a locked door "
            "between them has its key only on the user's side"
        ]
    )
    assert problems(scene) == expected
    fixed = repair(scene)
    assert fixed.scene.to_ascii().strip() == after
    assert fixed.edits == edits
    assert problems(fixed.scene) == []


# --- fault kinds (vrenvs.core.reach.faults_batch) --------------------------------------------

_FAULT_WORDS = {
    "border": "outer border",
    "actors": "missing element: the scene needs exactly one",
    "no item": "no requestable item",
    "keyless lock": "it can never open",
    "unreached thing": "is not reachable from the user",
    "unreached region": "the region there",
    "assistant cut off": "is not reachable from the assistant",
}


def _kinds_of(scene: Scene) -> list[str]:
    found = problems(scene, limit=10**6)
    region = [m for m in found if _FAULT_WORDS["unreached region"] in m]
    thing = [m for m in found if m not in region and _FAULT_WORDS["unreached thing"] in m]
    kinds = []
    for kind, words in _FAULT_WORDS.items():
        hit = {"unreached region": region, "unreached thing": thing}.get(kind)
        hit = hit if hit is not None else [m for m in found if words in m]
        kinds.append(bool(hit))
    return kinds


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("#######\n#@A.c.#\n#.....#\n#.....#\n#######", []),
        ("#######\n#@A.c..\n#.....#\n#.....#\n#######", ["border"]),
        ("#######\n#@..c.#\n#.....#\n#.....#\n#######", ["actors"]),
        ("#######\n#@A...#\n#.....#\n#.....#\n#######", ["no item"]),
        ("#######\n#@A.c.#\n#...#R#\n#.....#\n#######", ["keyless lock"]),
        ("#######\n#@A#c.#\n#..#..#\n#..#..#\n#######", ["unreached thing", "unreached region"]),
        ("########\n#@A.c#.#\n#....#.#\n#....#.#\n########", []),  # a 3-cell pocket is no region
        ("#########\n#@A.c#..#\n#....#..#\n#....####\n#########", ["unreached region"]),
        ("#########\n#@r#...A#\n#c.R....#\n#..#....#\n#########", ["assistant cut off"]),
        ("########\n#@A.c#r#\n#....###\n#......#\n########", ["unreached thing"]),  # a sealed key
        ("########\n#@A.c#@#\n#....###\n#......#\n########", ["actors", "unreached thing"]),
    ],
)
def test_fault_kinds_of_literal_scenes(text, kinds):
    from vrenvs.core.reach import FAULTS, faults_batch

    scene = _ascii(text)
    row = faults_batch(scene.codes[None])[0]
    assert row.dtype == bool
    assert [f for f, hit in zip(FAULTS, row, strict=True) if hit] == kinds
    assert row.tolist() == _kinds_of(scene)


def test_fault_kinds_are_per_grid_in_a_batch():
    from vrenvs.core.reach import FAULTS, faults_batch

    cut_off = _ascii("#########\n#@r#...A#\n#c.R....#\n#..#....#\n#########").codes
    plain = _ascii("#########\n#@r#...A#\n#c.+....#\n#..#....#\n#########").codes
    sealed = _ascii("#########\n#@A.#...#\n#c..#...#\n#...#...#\n#########").codes
    found = faults_batch(np.stack([cut_off, plain, sealed, plain]))
    assert found.shape == (4, len(FAULTS))
    named = [[f for f, hit in zip(FAULTS, row, strict=True) if hit] for row in found]
    assert named == [["assistant cut off"], [], ["unreached region"], []]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(glyph_maps(min_side=8, max_side=8), min_size=1, max_size=6))
def test_fault_kinds_agree_with_problems_and_the_batched_check(maps):
    from vrenvs.core.reach import faults_batch, solvable_batch

    batch = np.stack(list(maps) + [repair(m).scene.codes for m in maps])
    found = faults_batch(batch)
    assert found.tolist() == [_kinds_of(Scene(c)) for c in batch]
    assert (~found.any(axis=1)).tolist() == solvable_batch(batch).tolist()
    assert not found[len(maps) :].any()


def test_fault_kinds_check_their_input():
    from vrenvs.core.reach import FAULTS, faults_batch

    assert faults_batch(np.zeros((0, 8, 8), np.uint8)).shape == (0, len(FAULTS))
    with pytest.raises(ValueError, match=r"codes of shape \(8, 8\) is not allowed; allowed: \(N, H, W\)"):
        faults_batch(np.zeros((8, 8), np.uint8))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # five border cells that are not wall: three named, the rest counted
        (
            "##...##\n#@A.c.#\n#.....#\n#.....#\n###..##",
            [
                "line 1, column 3: the outer border must be wall '#', found '.'",
                "line 1, column 4: the outer border must be wall '#', found '.'",
                "line 1, column 5: the outer border must be wall '#', found '.'",
                "... and 2 more border cells that are not wall",
            ],
        ),
        # four: one counted
        (
            "##..###\n#@A.c.#\n#.....#\n#.....#\n###..##",
            [
                "line 1, column 3: the outer border must be wall '#', found '.'",
                "line 1, column 4: the outer border must be wall '#', found '.'",
                "line 5, column 4: the outer border must be wall '#', found '.'",
                "... and 1 more border cells that are not wall",
            ],
        ),
        # a locked door without its key: the door's and the key's glyphs
        (
            "#######\n#@A.c.#\n#...#R#\n#.....#\n#######",
            ["line 3, column 6: locked door 'R' has no red key 'r' anywhere, it can never open"],
        ),
        # exactly three: all named, no count; and no requestable item, with the choices
        (
            "###.###\n#@A...#\n#.....#\n.......\n#######",
            [
                "line 1, column 4: the outer border must be wall '#', found '.'",
                "line 4, column 1: the outer border must be wall '#', found '.'",
                "line 4, column 7: the outer border must be wall '#', found '.'",
                "missing element: no requestable item (one of 'ac?*$%')",
            ],
        ),
        # a key and a region behind a wall: each named where it starts (reading order)
        (
            "#########\n#@A.#c...\n#...#..r#\n#...###.#\n#########",
            [
                "line 2, column 9: the outer border must be wall '#', found '.'",
                "line 2, column 6: cup 'c' is not reachable from the user",
                "line 3, column 8: red_key 'r' is not reachable from the user",
                "line 2, column 6: the region there (8 cells) is not reachable from the user",
            ],
        ),
        # two users, no assistant
        (
            "#######\n#@.c.@#\n#.....#\n#.....#\n#######",
            [
                "missing element: the scene needs exactly one user '@', found 2",
                "missing element: the scene needs exactly one assistant 'A', found 0",
            ],
        ),
    ],
)
def test_problems_are_named_word_for_word(text, expected):
    """What ``problems`` says is what a designer reads when a scene file is refused: the
    messages, their order and the cells they name are pinned."""
    scene = _ascii(text)
    assert problems(scene) == expected
    assert problems(scene, limit=2) == expected[:2]
    assert not is_solvable(scene)


def test_repair_batch_returns_uint8_grids_and_int64_edits_whatever_it_is_given():
    from vrenvs.core.repair import repair_batch

    broken = _ascii("#######\n#@A.c.#\n#...#R#\n#.....#\n#######").codes
    given = np.stack([broken, repair(broken).scene.codes]).astype(np.int64)
    out, edits = repair_batch(given)
    assert out.dtype == np.uint8 and edits.dtype == np.int64
    assert edits.tolist() == [1, 0]
    assert out[1].tolist() == given[1].tolist()


@pytest.mark.parametrize(
    ("before", "after", "edits"),
    [
        # A red lock (colour 0) whose key the user reaches is crossed without an edit: only
        # the second user goes.
        (
            "#########\n#@r#....#\n#A.R..c.#\n#..#..@.#\n#########",
            "#########\n#@r#....#\n#A.R..c.#\n#..#....#\n#########",
            1,
        ),
        # A key sealed one wall deep: the wall opens and the key stays (only things two or
        # more edits away are removed instead).
        (
            "########\n#@A.c..#\n#....#.#\n#...#r##\n#....#.#\n########",
            "########\n#@A.c..#\n#......#\n#...#r##\n#....#.#\n########",
            1,
        ),
        # The fewest edits, not the shortest path: one wall at the far end instead of the two
        # between the key and the user.
        (
            "###########\n#@A.c.....#\n###########\n#########.#\n#r........#\n###########",
            "###########\n#@A.c.....#\n#########.#\n#########.#\n#r........#\n###########",
            1,
        ),
        # A red lock whose key the user holds is free to cross on the way to an unreached
        # region: one wall opens above it (crossing the lock as a wall would cost two edits).
        (
            "##########\n#@Arc....#\n##########\n#...R#####\n####.....#\n####.....#\n##########",
            "##########\n#@Arc....#\n####.#####\n#...R#####\n####.....#\n####.....#\n##########",
            1,
        ),
        # No requestable item: one goes on the free cell farthest from the user.
        (
            "#########\n#@A.....#\n#.......#\n#.......#\n#########",
            "#########\n#@A.....#\n#.......#\n#......%#\n#########",
            1,
        ),
        # No assistant: it goes on the free cell nearest the user (the first in reading order
        # of the nearest).
        (
            "#########\n#....c..#\n#.......#\n#..@....#\n#.......#\n#########",
            "#########\n#....c..#\n#..A....#\n#..@....#\n#.......#\n#########",
            1,
        ),
        # The cheapest way in is a red locked door whose key lies behind it: the door
        # becomes a plain door (a wall on the way would become ground).
        (
            "##########\n#@A.##...#\n#c...R.r.#\n#...##...#\n##########",
            "##########\n#@A.##...#\n#c...+.r.#\n#...##...#\n##########",
            1,
        ),
        # A region two walls away: both walls on the path open.
        (
            "##########\n#@A.c....#\n##########\n##########\n#........#\n##########",
            "##########\n#@A.c....#\n#.########\n#.########\n#........#\n##########",
            2,
        ),
        # No user and no free ground anywhere: the user goes to the centre, and paths are cut
        # from it to the assistant and the cup.
        (
            "#######\n#A#####\n#######\n#####c#\n#######",
            "#######\n#A..###\n###@..#\n#####c#\n#######",
            5,
        ),
        # No user: one is placed at the first free cell of the largest area (not the pocket
        # that comes first in reading order), and the pocket is opened to it.
        (
            "##########\n#..#.....#\n#..#..A..#\n####.c...#\n#........#\n##########",
            "##########\n#...@....#\n#..#..A..#\n####.c...#\n#........#\n##########",
            2,
        ),
    ],
)
def test_repair_of_literal_scenes(before, after, edits):
    fixed = repair(_ascii(before))
    assert fixed.scene.to_ascii().strip() == after
    assert fixed.edits == edits
    assert problems(fixed.scene) == []


def test_repair_keeps_the_scene_name():
    broken = _ascii("#######\n#@A.c.#\n#...#R#\n#.....#\n#######")
    assert repair(Scene(broken.codes, name="yard")).scene.name == "yard"
    assert repair(Scene(broken.codes, name="yard"), name="fixed yard").scene.name == "fixed yard"
    assert repair(broken.codes).scene.name == ""


_GROUND = [CATALOG.tile_code(n) for n in ("floor", "grass", "path")]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.sampled_from(_GROUND), min_size=5 * 7, max_size=5 * 7),
    st.integers(2, 5),
    st.integers(1, 7),
)
def test_a_removed_spawn_becomes_the_most_common_ground_around_it(ground, y, x):
    """The second user is removed, and its cell shows the ground most common in its 3x3
    window (floor on ties): the only edit of an open scene."""
    codes = np.full((7, 9), CATALOG.WALL, np.uint8)
    codes[1:-1, 1:-1] = np.array(ground, np.uint8).reshape(5, 7)
    codes[1, 1:4] = [CATALOG.role_code("user"), CATALOG.role_code("assistant"), CATALOG.item_code("cup")]
    codes[y, x] = CATALOG.role_code("user")
    window = codes[y - 1 : y + 2, x - 1 : x + 2].ravel().tolist()
    counts = [window.count(g) for g in _GROUND]
    fixed = repair(codes)
    assert fixed.edits == 1
    assert fixed.scene.codes[y, x] == _GROUND[counts.index(max(counts))]
