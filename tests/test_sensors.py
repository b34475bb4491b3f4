"""The route sensor on ASCII pictures: which moves start a shortest path, and how far."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import vrenvs  # noqa: F401  (registers the ids)
from tests.worlds import A, act, picture, world_from
from vrenvs.core import requests
from vrenvs.core.catalog import CATALOG
from vrenvs.core.grid import distance_field, distances_at
from vrenvs.core.sensors import GOAL_NAMES, NUM_GOALS, PER_GOAL, potential, route

UA = ("user", "assistant")
MOVES = ("up", "right", "down", "left")


def readings(world) -> dict[str, tuple[set[str], float, bool]]:
    """Per goal name: the moves that shorten the path, the path length, reachable."""
    got = route(world.state, world.config, world.config.learner).reshape(NUM_GOALS, PER_GOAL)
    limit = 2 * world.config.size
    out = {}
    for name, row in zip(GOAL_NAMES[world.config.goal], got):
        moves = {m for m, on in zip(MOVES, row[:4]) if on}
        out[name] = (moves, round(float(row[4]) * limit), bool(row[5]))
    return out


def test_fetch_routes_around_a_wall_to_the_item_and_to_the_user():
    w = world_from(
        """
        #######
        #@....#
        #####.#
        #A....#
        #.#####
        #..c..#
        #######
        """,
        UA,
        requests=("fetch",),
    )
    w.state.req_type[0] = requests.FETCH
    w.state.req_target[0] = CATALOG.item["cup"].id
    r = readings(w)
    assert r["item"] == ({"down"}, 4, True)  # down, down, right, right
    assert r["user"] == ({"right"}, 10, True)  # the long way round the wall
    assert r["place"] == (set(), 2 * 7, False), "no guide or open request"
    assert r["key"] == (set(), 2 * 7, False), "no key on the map"
    act(w, A.NOOP, A.DOWN)
    act(w, A.NOOP, A.DOWN)
    assert readings(w)["item"] == ({"right"}, 2, True)
    act(w, A.NOOP, A.RIGHT)
    assert readings(w)["item"] == ({"right"}, 1, True), "one step away: the step onto it"


def test_ties_report_every_shortest_move_and_the_goal_reads_zero():
    w = world_from(
        """
        #####
        #@..#
        #.A.#
        #..c#
        #####
        """,
        UA,
    )
    w.state.req_type[0] = requests.FETCH
    w.state.req_target[0] = CATALOG.item["cup"].id
    assert readings(w)["item"] == ({"right", "down"}, 2, True)
    act(w, A.NOOP, A.RIGHT)
    act(w, A.NOOP, A.DOWN)
    assert readings(w)["item"] == (set(), 0, True)


def test_a_locked_door_blocks_the_route_until_its_key_is_carried():
    w = world_from(
        """
        #######
        #@.r..#
        #A....#
        ###R###
        #..c..#
        #.....#
        #######
        """,
        UA,
    )
    w.state.req_type[0] = requests.FETCH
    w.state.req_target[0] = CATALOG.item["cup"].id
    r = readings(w)
    assert r["item"][2] is False, "behind the red door"
    assert r["key"] == ({"up", "right"}, 3, True)
    act(w, A.NOOP, A.RIGHT)
    act(w, A.NOOP, A.UP)
    act(w, A.NOOP, A.RIGHT)  # onto the key
    act(w, A.NOOP, A.PICKUP)
    assert w.state.carry[0, 1] == CATALOG.item["red_key"].id
    assert readings(w)["item"] == ({"down"}, 3, True)  # down through the door, down


def test_flee_reads_food_and_the_wolf():
    w = world_from(
        """
        #######
        #F...%#
        #.....#
        #.....#
        #@...A#
        #C....#
        #######
        """,
        ("user", "assistant", "critter", "chaser"),
        learner=2,
        goal="flee",
    )
    r = readings(w)
    assert r["food"] == ({"right"}, 4, True)
    assert r["chaser"] == ({"down"}, 4, True)


@pytest.mark.parametrize("env_id", sorted(i for i in gym.registry if i.startswith("vrenvs/")))
def test_route_observation_is_in_its_space_and_absent_by_default(env_id):
    env = gym.make(env_id, route=True)
    obs, _ = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    for _ in range(20):
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
        if terminated or truncated:
            obs, _ = env.reset()
    assert "route" not in gym.make(env_id).reset(seed=3)[0]


def test_route_must_be_a_bool():
    with pytest.raises(TypeError, match="route='yes' must be True or False"):
        gym.make("vrenvs/Assistant-Fetch-v0", route="yes")


def test_distances_at_agree_with_the_distance_field():
    rng = np.random.default_rng(0)
    for _ in range(30):
        targets = rng.random((5, 12, 12)) < 0.02
        passable = rng.random((5, 12, 12)) < 0.7
        queries = rng.integers(0, 12, (5, 6, 2))
        field = distance_field(targets, passable)
        want = field[np.arange(5)[:, None], queries[..., 0], queries[..., 1]]
        assert np.array_equal(distances_at(targets, passable, queries), want)


def test_shaping_pays_each_step_of_progress_and_the_pickup():
    picture_ = """
        #######
        #@....#
        #.....#
        #.....#
        #..A..#
        #..c..#
        #######
        """
    w = world_from(picture_, UA, requests=("fetch",))
    w.state.req_type[0] = requests.FETCH
    w.state.req_target[0] = CATALOG.item["cup"].id
    limit = 2 * w.config.size
    before = potential(w.state, w.config, 1)[0]
    assert before == pytest.approx(-(1 + limit) / limit)  # one step to the cup, one stage
    act(w, A.NOOP, A.DOWN)
    act(w, A.NOOP, A.PICKUP)
    after = potential(w.state, w.config, 1)[0]
    assert after == pytest.approx(-6 / limit), "carrying: the path to the user is left"
    assert readings(w)["item"][2] is False, "the held item is no goal any more"
    act(w, A.NOOP, A.UP)
    assert potential(w.state, w.config, 1)[0] == pytest.approx(-5 / limit)


@pytest.mark.parametrize(
    "env_id", ["vrenvs/Assistant-Fetch-v0", "vrenvs/Assistant-v0", "vrenvs/NPC-Guard-v0"]
)
def test_shaping_telescopes_and_leaves_the_task_reward_alone(env_id):
    weight = 0.5
    plain = gym.make(env_id, max_episode_steps=60)
    shaped = gym.make(env_id, max_episode_steps=60, shaping=weight)
    plain.reset(seed=4)
    shaped.reset(seed=4)
    world = shaped.unwrapped.world
    start = potential(world.state, world.config, world.config.learner)[0]
    rng = np.random.default_rng(0)
    total = 0.0
    for _ in range(60):
        action = int(rng.integers(9))
        _, r_plain, term, trunc, _ = plain.step(action)
        _, r_shaped, term2, trunc2, _ = shaped.step(action)
        assert (term, trunc) == (term2, trunc2)
        total += r_shaped - r_plain
        if term or trunc:
            break
    end = potential(world.state, world.config, world.config.learner)[0]
    assert total == pytest.approx(weight * (end - start), abs=1e-5)


def test_shaping_must_be_a_small_non_negative_number():
    for bad, kind in ((-1, ValueError), ("1", TypeError), (True, TypeError), (11, ValueError)):
        with pytest.raises(kind, match=f"shaping={bad!r} "):
            gym.make("vrenvs/Assistant-Fetch-v0", shaping=bad)


LOCKS = """
    #######
    #@b..r#
    #A....#
    ###R###
    #..c..#
    #.....#
    #######
    """


def _locks(key_goal: str, request: int, target: int):
    w = world_from(LOCKS, UA, key_goal=key_goal)
    w.state.req_type[0] = request
    w.state.req_target[0] = target
    return w


def _red_door(w) -> int:
    m = w.config.margin  # the state's grids carry a border of this width
    assert CATALOG.IS_LOCKED[w.state.tiles[0, 3 + m, 3 + m]]
    return int(w.state.door_map[0, 3 + m, 3 + m])


def _hold_red_key(w) -> None:
    m = w.config.margin
    assert w.state.items[0, 1 + m, 5 + m] == CATALOG.item["red_key"].id
    w.state.items[0, 1 + m, 5 + m] = 0
    w.state.carry[0, 1] = CATALOG.item["red_key"].id


def test_key_goal_lock_aims_at_the_key_of_a_locked_door_not_the_nearest_key():
    cup = CATALOG.item["cup"].id
    assert readings(_locks("any", requests.FETCH, cup))["key"] == ({"up", "right"}, 2, True), "the blue key"
    lock = _locks("lock", requests.FETCH, cup)
    assert readings(lock)["key"] == ({"up", "right"}, 5, True), "the red key: the blue one opens nothing"
    _hold_red_key(lock)
    assert readings(lock)["key"] == (set(), 14, False), "held: no key is wanted any more"
    assert readings(lock)["item"] == ({"right"}, 4, True)


def test_key_goal_lock_shapes_the_way_to_the_key_that_opens_the_door_to_open():
    limit = 14
    w = _locks("any", requests.OPEN, 0)
    w.state.req_target[0] = _red_door(w)
    assert potential(w.state, w.config, 1)[0] == pytest.approx(-3 / limit), "any: the path to the door"
    w = _locks("lock", requests.OPEN, 0)
    w.state.req_target[0] = _red_door(w)
    assert potential(w.state, w.config, 1)[0] == pytest.approx(-(5 + limit) / limit), "the red key first"
    _hold_red_key(w)
    assert potential(w.state, w.config, 1)[0] == pytest.approx(-3 / limit), "with the key: the door"
    w.state.carry[0, 1] = CATALOG.item["blue_key"].id
    wrong = potential(w.state, w.config, 1)[0]
    assert wrong == pytest.approx(-(limit + limit) / limit), "the wrong key and no red one left"


def test_key_goal_lock_shapes_the_way_to_the_key_of_an_item_behind_a_locked_door():
    limit = 14
    cup = CATALOG.item["cup"].id
    w = _locks("any", requests.FETCH, cup)
    assert potential(w.state, w.config, 1)[0] == pytest.approx(-2 * limit / limit), "any: flat"
    w = _locks("lock", requests.FETCH, cup)
    assert potential(w.state, w.config, 1)[0] == pytest.approx(-(5 + 2 * limit) / limit)
    _hold_red_key(w)
    assert potential(w.state, w.config, 1)[0] == pytest.approx(-(4 + limit) / limit), "the cup, then the user"
    m = w.config.margin
    assert w.state.items[0, 4 + m, 3 + m] == cup
    w.state.items[0, 4 + m, 3 + m] = 0  # the cup is gone (held by nobody on the map): nothing to aim at
    w.state.carry[0, 1] = 0
    assert potential(w.state, w.config, 1)[0] == pytest.approx(-2 * limit / limit)


def test_key_goal_reaches_the_env_and_changes_only_the_key_reading():
    kwargs = {"scenes": "procedural", "route": True, "max_episode_steps": 40}
    runs = {}
    for key_goal in ("any", "lock"):
        env = gym.make("vrenvs/Assistant-v0", key_goal=key_goal, **kwargs)
        assert env.unwrapped.config.key_goal == key_goal
        obs, _ = env.reset(seed=5)
        runs[key_goal] = [obs["route"]] + [env.step(a)[0]["route"] for a in (1, 2, 3, 4, 8)]
    assert gym.make("vrenvs/Assistant-v0").unwrapped.config.key_goal == "any"
    for a, b in zip(runs["any"], runs["lock"]):
        assert np.array_equal(a[:18], b[:18]), "item, user and place read the same"


TOP = """
    #######
    #A.c..#
    #.....#
    #.@...#
    ###+###
    #.....#
    #######
    """
SHUT_IN = """
    #######
    #@...r#
    #A....#
    ###R###
    #.....#
    ###+###
    #######
    """


def _left(text: str, request: int, target: int | None = None) -> float:
    """Steps of work left (minus the potential times its unit, 2 * 7) with
    ``key_goal="lock"``; no ``target``: the door drawn ``+``."""
    w = world_from(text, UA, key_goal="lock")
    if target is None:
        m = w.config.margin
        (y, x), *_ = np.argwhere(np.array([list(row) for row in picture(text).splitlines()]) == "+")
        target = int(w.state.door_map[0, y + m, x + m])
    w.state.req_type[0], w.state.req_target[0] = request, target
    return round(-float(potential(w.state, w.config, 1)[0]) * 14, 3)


def test_work_left_reads_the_learners_own_cell_and_the_users():
    """The assistant stands under the wall (its neighbour up is unreachable) and the user
    off the diagonal: the distances are read at the right cells."""
    cup = CATALOG.item["cup"].id
    assert _left(TOP, requests.FETCH, cup) == 2 + 14, "the cup is in reach: its path plus one unit"
    assert _left(TOP, requests.OPEN) == 5, "the door is in reach: its path"
    assert _left(TOP, requests.GUIDE, 1) == 3, "the user's path into the room below"


def test_work_left_when_the_door_to_open_is_out_of_reach_is_the_way_to_a_key():
    assert _left(SHUT_IN, requests.OPEN) == 5 + 14, "the red key first (5 steps), plus one unit"
