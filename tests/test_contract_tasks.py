"""Contract: what each objective reads from a world, as literal tables on ASCII pictures.

The shaping potential per job stage, the route sensor's targets per task family, reward
weights other than the defaults (a spec may override them), success over several worlds,
and the status line the window shows.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.worlds import A, act, world_from
from vrenvs.core import requests, sensors
from vrenvs.core.catalog import CATALOG
from vrenvs.core.grid import UNREACHED
from vrenvs.core.tasks import objective_of
from vrenvs.envs.spaces import code_classes
from vrenvs.render.hud import status_lines

# Two rooms joined by a closed door at (2, 4); the assistant A at (3, 1), the user @ at
# (1, 1), the cup at (3, 6) and a red key at (4, 6) beyond the door; size 9, so the
# potential's unit is 2 * 9 = 18 steps.
ROOMS = """
#########
#@..#..P#
#...+...#
#A..#.c.#
#...#.rI#
#########
#########
#########
#########
"""
ROLES = ("user", "assistant", "guard", "thief")
CUP = CATALOG.item["cup"].id
U = UNREACHED


def _serve_world(text: str = ROOMS):
    return world_from(text, ROLES, learner=1, requests=("fetch", "guide", "open"))


def _ask(w, kind: int, target: int, carry: int = 0) -> tuple[float, list[int]]:
    w.state.req_type[0], w.state.req_target[0], w.state.carry[0, 1] = kind, target, carry
    dist = sensors.distances(w.state, w.config, 1)
    return round(float(sensors.potential(w.state, w.config, 1, dist)[0]) * 18, 3), dist[0, :, 0].tolist()


@pytest.mark.parametrize(
    ("stage", "kind", "target", "carry", "left", "at"),
    [
        # left = steps of work left (potential * -18); at = path to item, user, place, key
        ("fetch: to the cup, then one unit", requests.FETCH, CUP, 0, -25.0, [7, 2, U, 8]),
        ("fetch: the cup held, to the user", requests.FETCH, CUP, CUP, -2.0, [U, 2, U, 8]),
        ("guide: the user's path to the east room", requests.GUIDE, 1, 0, -6.0, [U, 2, 6, 8]),
        ("guide: the user is in the west room", requests.GUIDE, 0, 0, -2.0, [U, 2, 2, 8]),
        ("open: the path to the door", requests.OPEN, 0, 0, -4.0, [U, 2, 4, 8]),
        ("nothing asked: no work", 0, 0, 0, 0.0, [U, 2, U, 8]),
    ],
)
def test_serve_potential_and_targets_per_stage(stage, kind, target, carry, left, at):
    w = _serve_world()
    assert _ask(w, kind, target, carry) == (left, at), stage


def test_a_locked_door_is_a_target_like_a_closed_one():
    """The door cell is the goal, so a locked door reads as reachable; the key (two steps
    away at (4, 2)) is its own goal kind, and a held key changes nothing."""
    w = _serve_world(ROOMS.replace("+", "R").replace("#...#.rI#", "#.r.#..I#"))
    assert _ask(w, requests.OPEN, 0) == (-4.0, [U, 2, 4, 2])
    assert _ask(w, requests.OPEN, 0, carry=CATALOG.item["red_key"].id) == (-4.0, [U, 2, 4, 2])


GUARD_ROOM = """
#######
#P....#
#.....#
#..I..#
#...c.#
#.....#
#######
"""


def test_guard_targets_the_thief_its_entry_and_the_loot():
    w = world_from(GUARD_ROOM, ("guard", "thief"), learner=0, goal="guard")
    w.state.home[0, 1] = (5 + w.config.margin, 5 + w.config.margin)  # came in at (5, 5)
    dist = sensors.distances(w.state, w.config, 0)
    assert dist[0, :, 0].tolist() == [4, 8, 6, U], "thief, entry, loot, nothing"
    assert round(float(sensors.potential(w.state, w.config, 0, dist)[0]) * 14, 3) == -4.0
    w.state.active[0, 1] = False
    dist = sensors.distances(w.state, w.config, 0)
    assert dist[0, :, 0].tolist() == [U, U, 6, U], "a caught thief is no target, nor its entry"


def test_flee_targets_food_and_wolves_and_has_no_potential():
    w = world_from(
        """
        #######
        #F....#
        #.....#
        #...a.#
        #....C#
        #.....#
        #######
        """,
        ("critter", "chaser"),
        learner=0,
        goal="flee",
    )
    dist = sensors.distances(w.state, w.config, 0)
    assert dist[0, :, 0].tolist() == [5, 7, U, U], "food, wolf, nothing, nothing"
    assert float(sensors.potential(w.state, w.config, 0, dist)[0]) == 0.0


@pytest.mark.parametrize(
    ("goal", "weights", "actions", "expected"),
    [
        # serve: the user refuses the red key (weight -0.5) and later gives up (weight -2)
        ("serve", {"refused": -0.5, "gave_up": -2.0}, "refuse", {1: -0.5}),
        ("guard", {"caught": 3.0}, "catch", {1: 3.0}),
        ("flee", {"food": 0.25}, "eat", {1: 0.25}),
    ],
)
def test_reward_weights_other_than_the_defaults_are_used(goal, weights, actions, expected):
    if goal == "serve":
        # the assistant holds the red key, faces the user and gives it: refused
        w = world_from(
            "#####\n#@..#\n#A..#\n#.c.#\n#####",
            ("user", "assistant"),
            learner=1,
            requests=("fetch",),
            rewards=weights,
        )
        w.state.req_type[0], w.state.req_target[0] = requests.FETCH, CUP
        w.state.carry[0, 1] = CATALOG.item["red_key"].id
        w.state.facing[0, 1] = A.UP
        steps = [(A.NOOP, A.GIVE)]
    elif goal == "guard":
        w = world_from(
            "#####\n#P..#\n#I..#\n#..c#\n#####",
            ("guard", "thief"),
            learner=0,
            goal="guard",
            rewards=weights,
        )
        steps = [(A.NOOP, A.NOOP)]
    else:
        w = world_from(
            "#####\n#Fa.#\n#...#\n#...#\n#####", ("critter",), learner=0, goal="flee", rewards=weights
        )
        steps = [(A.RIGHT,)]
    got = {}
    objective = objective_of(w.config)
    for t, step in enumerate(steps, 1):
        events = act(w, *step)
        r = float(objective.reward(events, w.state, w.config)[0])
        if r:
            got[t] = r
    assert got == expected


def test_gave_up_is_paid_at_its_weight_and_ends_the_request():
    w = world_from(
        "#####\n#@..#\n#A..#\n#.c.#\n#####",
        ("user", "assistant"),
        learner=1,
        requests=("fetch",),
        rewards={"gave_up": -2.0},
        patience=(3, 3),
    )
    objective = objective_of(w.config)
    rewards = []
    for _ in range(4):
        events = act(w, A.NOOP, A.NOOP)
        rewards.append(float(objective.reward(events, w.state, w.config)[0]))
    assert rewards == [0.0, 0.0, 0.0, -2.0], "given up once its age passes the patience of 3"


def test_guard_success_is_read_per_world():
    w = world_from(GUARD_ROOM, ("guard", "thief"), learner=0, goal="guard")
    two = w.state.take(np.array([0, 0]))
    two.active[0, 1] = False  # world 0: the thief was caught with nothing
    two.active[1, 1], two.carry[1, 1] = False, CUP  # world 1: it escaped with the cup
    assert objective_of(w.config).success(two, w.config).tolist() == [True, False]


@pytest.mark.parametrize(
    ("roles", "learner", "goal", "counts"),
    [
        (ROLES, 1, "serve", "step 0  served 0  failed 0"),
        (("guard", "thief"), 0, "guard", "step 0  thieves left 1"),
        (("critter", "chaser"), 0, "flee", "step 0  eaten 0"),
    ],
)
def test_status_lines_per_task(roles, learner, goal, counts):
    text = {"serve": ROOMS, "guard": GUARD_ROOM, "flee": GUARD_ROOM.replace("P", "F").replace("I", "C")}[goal]
    w = world_from(text, roles, learner=learner, goal=goal)
    lines = status_lines(w.state, w.config, {"source": "test"})
    said = "(no request)" if goal == "serve" else f"({goal})"
    assert lines == ["# Request", said, counts, "~ test"]


@pytest.mark.parametrize(
    ("env_id", "tokens", "sentence"),
    [
        ("vrenvs/NPC-Guard-v0", [11, 43, 44, 5, 25, 16, 0, 0, 0, 0], "Catch the thief before it escapes."),
        (
            "vrenvs/NPC-Flee-v0",
            None,
            "Find food and keep away from the wolves.",
        ),
    ],
)
def test_npc_learners_read_their_task_phrase(env_id, tokens, sentence):
    import gymnasium as gym

    from vrenvs.core.language import spoken

    env = gym.make(env_id, scenes="procedural")
    obs, _ = env.reset(seed=0)
    if tokens is not None:
        assert obs["request"].tolist() == tokens
    assert spoken(obs["request"]) == sentence
    obs, *_ = env.step(0)
    assert spoken(obs["request"]) == sentence, "the phrase stays"


def test_the_view_space_bounds_each_layer_by_its_ids():
    import gymnasium as gym

    space = gym.make("vrenvs/NPC-Guard-v0", scenes="procedural").observation_space
    nvec = space["view"].nvec.reshape(3, 7, 7)
    # 13 tile ids (0-12), items 0-10 (0 = none), roles 0-7 (0 = none)
    assert [set(layer.ravel().tolist()) for layer in nvec] == [{13}, {11}, {8}]
    assert set(space["request"].nvec.tolist()) == {50} and space["inventory"].n == 11
    assert code_classes(space["view"]).reshape(3, 7, 7)[:, 0, 0].tolist() == [13, 11, 8]
