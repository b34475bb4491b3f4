"""Contract: the observation arrays of a hand-drawn world, written out as literals.

``view`` is flat ``(3 * k * k,)``; reshaped to ``(3, k, k)`` it holds tile ids, item ids and
actor role ids of the window centred on the learner (cells past the map edge read as
wall). The ids below are literal numbers (the order of ``vrenvs/data/*.yaml``), not looked
up through the code under test: a renumbering breaks saved policies and must fail here.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.worlds import make_env

NOOP, UP, RIGHT, DOWN, LEFT, PICKUP, DROP, GIVE, TOGGLE = range(9)

# Literal ids (tiles.yaml, items.yaml, actors.yaml); 0 = no item / no actor.
TILE_IDS = {".": 0, "#": 1, ",": 2, ":": 3, "~": 4, "T": 5, "=": 6, "+": 7, "'": 8, "R": 9}
ITEM_IDS = {".": 0, "r": 1, "g": 2, "b": 3, "y": 4, "a": 5, "c": 6, "?": 7, "*": 8, "$": 9, "%": 10}
ROLE_IDS = {".": 0, "@": 1, "A": 2, "P": 3, "I": 4, "C": 5, "F": 6, "M": 7}

# The assistant (A) sits near the top-left corner, so its 7x7 window reaches past the map
# edge. The cup is the only requestable item; r and b are keys. Spawn and item cells stand
# on floor (the ground most common around them).
WORLD = """
; name: obs
################
#@..,,:#.......#
#.A.c.'r.......#
#..~..#........#
#..T.b#.....P..#
#=.+..#........#
################
"""

# The map as the env should see it, layer by layer (rows 7-15 are wall, no items, no actors).
FULL_TILES = """
################
#...,,:#.......#
#.....'........#
#..~..#........#
#..T..#........#
#=.+..#........#
################
"""
FULL_ITEMS = """
................
................
....c..r........
................
.....b..........
................
................
"""
FULL_ROLES = """
................
.@..............
..A.............
................
............P...
................
................
"""


def layer(picture: str, legend: dict[str, int], rows: int | None = None) -> np.ndarray:
    """An id grid from a picture; with ``rows``, missing rows at the bottom are filled with
    wall (tile legends) or 0 (item and role legends)."""
    lines = [line.strip() for line in picture.strip().splitlines()]
    grid = np.array([[legend[ch] for ch in line] for line in lines], dtype=np.int64)
    if rows is not None and len(grid) < rows:
        fill = legend.get("#", 0)
        grid = np.vstack([grid, np.full((rows - len(grid), grid.shape[1]), fill, np.int64)])
    return grid


def views(tiles: str, items: str, roles: str) -> np.ndarray:
    return np.stack([layer(tiles, TILE_IDS), layer(items, ITEM_IDS), layer(roles, ROLE_IDS)])


# The 7x7 window around the assistant at (row 2, column 2): rows -1..5, columns -1..5.
VIEW_AT_RESET = views(
    """
    #######
    #######
    ##...,,
    ##.....
    ##..~..
    ##..T..
    ##=.+..
    """,
    """
    .......
    .......
    .......
    .....c.
    .......
    ......b
    .......
    """,
    """
    .......
    .......
    ..@....
    ...A...
    .......
    .......
    .......
    """,
)

# After RIGHT then PICKUP: the assistant stands at (2, 3) with the cup in hand.
VIEW_AFTER_PICKUP = views(
    """
    #######
    #######
    #...,,:
    #.....'
    #..~..#
    #..T..#
    #=.+..#
    """,
    """
    .......
    .......
    .......
    .......
    .......
    .....b.
    .......
    """,
    """
    .......
    .......
    .@.....
    ...A...
    .......
    .......
    .......
    """,
)

# Token ids (the sorted vocabulary): please 35, bring 9, me 30, the 43, blue 6, cup 13.
REQUEST_TOKENS = [35, 9, 30, 43, 6, 13, 0, 0, 0, 0]
PATIENCE_SEED_0 = 359  # the user's patience drawn by reset(seed=0) in this world


@pytest.fixture
def env():
    return make_env("vrenvs/Assistant-Fetch-v0", WORLD, controllers={"guard": "noop"})


def test_observation_at_reset(env):
    obs, info = env.reset(seed=0)
    assert set(obs) == {"view", "request", "inventory", "scalars"}
    assert obs["view"].shape == (3 * 7 * 7,)
    np.testing.assert_array_equal(obs["view"].reshape(3, 7, 7), VIEW_AT_RESET)
    assert obs["request"].tolist() == REQUEST_TOKENS
    assert info["request"] == "Please bring me the blue cup."
    assert int(obs["inventory"]) == 0
    # row 2 / 15, column 2 / 15, no time waited, facing down (up, right, down, left)
    np.testing.assert_allclose(obs["scalars"], [2 / 15, 2 / 15, 0, 0, 0, 1, 0], rtol=0, atol=1e-6)
    assert obs["scalars"].dtype == np.float32
    assert env.observation_space.contains(obs)


def test_observation_after_moving_and_picking_up(env):
    env.reset(seed=0)
    obs, *_ = env.step(RIGHT)
    # one step waited of the user's patience; facing right
    np.testing.assert_allclose(
        obs["scalars"], [2 / 15, 3 / 15, 1 / PATIENCE_SEED_0, 0, 1, 0, 0], rtol=0, atol=1e-6
    )
    obs, *_ = env.step(PICKUP)  # the faced cell holds the cup
    np.testing.assert_array_equal(obs["view"].reshape(3, 7, 7), VIEW_AFTER_PICKUP)
    assert int(obs["inventory"]) == 6  # cup
    assert obs["request"].tolist() == REQUEST_TOKENS, "the request stands until served"
    np.testing.assert_allclose(obs["scalars"][2], 2 / PATIENCE_SEED_0, rtol=0, atol=1e-6)
    for _ in range(8):
        obs, *_ = env.step(NOOP)
    np.testing.assert_allclose(obs["scalars"][2], 10 / PATIENCE_SEED_0, rtol=0, atol=1e-6)


def test_request_age_reaches_one_when_the_user_gives_up():
    # Assistant-Fetch with seed 0 in this world: patience 359 > 256, so play the stream
    # env (512 steps) and read the age the step before the user gives up.
    env = make_env("vrenvs/Assistant-v0", WORLD, controllers={"guard": "noop"})
    env.reset(seed=0)
    for _ in range(PATIENCE_SEED_0):
        obs, _, _, _, info = env.step(NOOP)
    assert obs["scalars"][2] == pytest.approx(1.0)
    assert info["failed"] == 0
    obs, _, _, _, info = env.step(NOOP)
    assert info["failed"] == 1 and info["events"]["gave_up"] == "fetch"
    assert obs["request"].tolist() == [0] * 10 and info["request"] == ""
    # (the age scalar is not pinned while no request is pending: it keeps the old age)
    for _ in range(3):  # the stream asks again 4 steps after a request ends
        obs, _, _, _, info = env.step(NOOP)
    assert obs["request"].tolist() == REQUEST_TOKENS
    assert obs["scalars"][2] == 0.0


def test_view_5_is_the_middle_of_the_7_window():
    env = make_env("vrenvs/Assistant-Fetch-v0", WORLD, view=5, controllers={"guard": "noop"})
    obs, _ = env.reset(seed=0)
    assert obs["view"].shape == (3 * 5 * 5,)
    np.testing.assert_array_equal(obs["view"].reshape(3, 5, 5), VIEW_AT_RESET[:, 1:6, 1:6])
    want = views(  # written out too, for the reader
        """
        #####
        #...,
        #....
        #..~.
        #..T.
        """,
        """
        .....
        .....
        ....c
        .....
        .....
        """,
        """
        .....
        .@...
        ..A..
        .....
        .....
        """,
    )
    np.testing.assert_array_equal(obs["view"].reshape(3, 5, 5), want)


def test_full_mode_is_the_whole_map():
    env = make_env("vrenvs/Assistant-Fetch-v0", WORLD, obs_mode="full", controllers={"guard": "noop"})
    obs, _ = env.reset(seed=0)
    assert obs["view"].shape == (3 * 16 * 16,)
    want = np.stack(
        [
            layer(FULL_TILES, TILE_IDS, rows=16),
            layer(FULL_ITEMS, ITEM_IDS, rows=16),
            layer(FULL_ROLES, ROLE_IDS, rows=16),
        ]
    )
    np.testing.assert_array_equal(obs["view"].reshape(3, 16, 16), want)
    obs, *_ = env.step(RIGHT)
    assert obs["view"].reshape(3, 16, 16)[2, 2].tolist() == [0, 0, 0, 2] + [0] * 12
    np.testing.assert_allclose(obs["scalars"][:2], [2 / 15, 3 / 15], rtol=0, atol=1e-6)


def test_route_on_the_hand_drawn_world():
    env = make_env("vrenvs/Assistant-Fetch-v0", WORLD, route=True, controllers={"guard": "noop"})
    obs, _ = env.reset(seed=0)
    # per goal: moves up, right, down, left that shorten the path; length / 32; reachable
    want = [
        [0, 1, 0, 0, 2 / 32, 1],  # item: the cup, two steps right
        [1, 0, 0, 1, 2 / 32, 1],  # user: up-left, either way first
        [0, 0, 0, 0, 1, 0],  # place: no guide or open request
        [0, 1, 0, 0, 5 / 32, 1],  # key: b (or r through the open door), five steps
    ]
    np.testing.assert_allclose(obs["route"].reshape(4, 6), want, rtol=0, atol=1e-6)
