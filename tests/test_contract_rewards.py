"""Contract: rewards, episode ends and success per task, as literal values.

Each row of the table is a hand-drawn 16x16 world, a seed and the learner's actions; the
expected rewards, the step and kind of the episode's end and ``is_success`` are written out
as numbers. Every row runs on both public faces: ``gymnasium.make`` (with its TimeLimit) and
the native vector env (``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from tests.worlds import env_ascii, make_env, make_vec, map16

# The action space (see the env docs): literal ids on purpose.
NOOP, UP, RIGHT, DOWN, LEFT, PICKUP, DROP, GIVE, TOGGLE = range(9)

# --- Worlds -------------------------------------------------------------------------------

# One requestable item (the cup), so the request is always "bring me the blue cup". The
# user stands above the assistant, the cup is left of it and a red key (not requestable)
# right of it.
FETCH_ROOM = """
; name: fetch-room
################
#.@.....########
#cAr....########
#.......########
#.......########
################
"""
# Pick up the key (right: own and faced cells are empty), offer it (refused), drop it,
# step onto the cup, pick it up, step back below the user and give it.
SERVE_CUP = [PICKUP, GIVE, DROP, LEFT, PICKUP, RIGHT, GIVE]

# Two rooms joined by an open door; the user (west) is three steps from the assistant
# (east), so it follows the assistant, who only waits, into the east room it asked for.
GUIDE_ROOMS = """
; name: guide-rooms
################
#.....#.....####
#.....#.....####
#....@'.A...####
#.....#.....####
################
"""

# The guard (learner) is two cells from a thief cornered in a dead end.
GUARD_CATCH = """
; name: guard-catch
################
#I.P.....$.....#
###.############
"""
# The thief walks to the coin, picks it up and walks back out; the guard is out of sight.
GUARD_ESCAPE = """
; name: guard-escape
################
#I..$........P.#
###.############
"""

# The rabbit (learner) has an apple to its right; four food items already lie on the map
# (so no food is added at random); the wolves are far away (and frozen where asked).
FLEE_FOOD = """
; name: flee-food
################
#Fa...%...a%..C#
###.#########C.#
"""
# A wolf two cells from the rabbit, which sits in a dead end.
FLEE_WOLF = """
; name: flee-wolf
################
#F.C..%...a%..C#
###.#########a.#
"""


@dataclass(frozen=True)
class Case:
    name: str
    env_id: str
    world: str
    actions: list[int]
    rewards: dict[int, float]  # step (1-based) -> reward; every other step pays 0
    end: tuple[int, bool, bool] | None  # (step, terminated, truncated); None: runs through
    success: bool | None = None  # is_success at the end
    seed: int = 0
    kwargs: dict[str, Any] = field(default_factory=dict)
    last_info: dict[str, Any] = field(default_factory=dict)  # shared info fields at the last step


ALONE = {"npcs": []}

CASES = [
    # --- Assistant-Fetch: +1 for the requested item, terminated when served or given up.
    Case(
        "fetch-gives-the-cup",
        "vrenvs/Assistant-Fetch-v0",
        FETCH_ROOM,
        SERVE_CUP + [NOOP] * 3,
        {7: 1.0},
        (7, True, False),
        True,
        kwargs=ALONE,
        last_info={"served": 1, "failed": 0},
    ),
    Case(
        "fetch-wrong-item-is-refused",
        "vrenvs/Assistant-Fetch-v0",
        FETCH_ROOM,
        [PICKUP, GIVE, GIVE, NOOP, NOOP],
        {},
        None,
        kwargs=ALONE,
        last_info={"served": 0, "failed": 0},
    ),
    Case(  # seed 0: patience 201, so the user gives up at step 202
        "fetch-user-gives-up",
        "vrenvs/Assistant-Fetch-v0",
        FETCH_ROOM,
        [NOOP] * 300,
        {},
        (202, True, False),
        False,
        kwargs=ALONE,
        last_info={"served": 0, "failed": 1},
    ),
    Case(  # seed 2: patience 327, longer than the 256-step limit
        "fetch-time-limit",
        "vrenvs/Assistant-Fetch-v0",
        FETCH_ROOM,
        [NOOP] * 300,
        {},
        (256, False, True),
        False,
        seed=2,
        kwargs=ALONE,
        last_info={"served": 0, "failed": 0},
    ),
    # --- Assistant-Guide: +1 when the user stands in the region.
    Case(  # seed 0: the user steps through the door, then into the east room
        "guide-user-arrives",
        "vrenvs/Assistant-Guide-v0",
        GUIDE_ROOMS,
        [NOOP] * 40,
        {2: 1.0},
        (2, True, False),
        True,
        kwargs=ALONE,
        last_info={"served": 1, "failed": 0},
    ),
    # --- Assistant (stream): +1 per request, never terminated, truncated at 512.
    Case(
        "stream-serves-one-and-runs-to-512",
        "vrenvs/Assistant-v0",
        FETCH_ROOM,
        SERVE_CUP + [NOOP] * 600,
        {7: 1.0},
        (512, False, True),
        True,
        kwargs=ALONE,
        last_info={"served": 1, "failed": 0},
    ),
    Case(  # patience 201: gives up at step 202, asks again at 205, served at 212
        "stream-one-failed-one-served-is-no-success",
        "vrenvs/Assistant-v0",
        FETCH_ROOM,
        [NOOP] * 205 + SERVE_CUP + [NOOP] * 400,
        {212: 1.0},
        (512, False, True),
        False,
        kwargs=ALONE,
        last_info={"served": 1, "failed": 1},
    ),
    Case(  # the user gives up twice (steps 202 and 406) and asks a third time: no reward
        "stream-nothing-served-is-no-success",
        "vrenvs/Assistant-v0",
        FETCH_ROOM,
        [NOOP] * 600,
        {},
        (512, False, True),
        False,
        kwargs=ALONE,
        last_info={"served": 0, "failed": 2, "request_type": "fetch"},
    ),
    # --- NPC-Guard: +1 caught, -1 escaped with loot; terminated when no thief is left.
    Case(
        "guard-catches-the-thief",
        "vrenvs/NPC-Guard-v0",
        GUARD_CATCH,
        [LEFT, NOOP],
        {1: 1.0},
        (1, True, False),
        True,
    ),
    Case(  # right, right, pick up the coin, left, left: home with the loot
        "guard-thief-escapes",
        "vrenvs/NPC-Guard-v0",
        GUARD_ESCAPE,
        [NOOP] * 20,
        {5: -1.0},
        (5, True, False),
        False,
    ),
    Case(
        "guard-time-limit-thief-still-in",
        "vrenvs/NPC-Guard-v0",
        GUARD_ESCAPE,
        [NOOP] * 250,
        {},
        (200, False, True),
        False,
        kwargs={"controllers": {"thief": "noop"}},
    ),
    # --- NPC-Flee: +1 per food, -1 when caught; terminated when caught.
    Case(
        "flee-eats-food",
        "vrenvs/NPC-Flee-v0",
        FLEE_FOOD,
        [RIGHT, NOOP, NOOP],
        {1: 1.0},
        None,
        kwargs={"controllers": {"chaser": "noop"}},
    ),
    Case(
        "flee-caught-by-a-wolf",
        "vrenvs/NPC-Flee-v0",
        FLEE_WOLF,
        [NOOP] * 5,
        {1: -1.0},
        (1, True, False),
        False,
    ),
    Case(
        "flee-alive-at-the-time-limit",
        "vrenvs/NPC-Flee-v0",
        FLEE_FOOD,
        [NOOP] * 350,
        {},
        (300, False, True),
        True,
        kwargs={"controllers": {"chaser": "noop"}},
    ),
]


def _check(case: Case, trace: list[tuple[float, bool, bool, dict]], env, success: bool = True) -> None:
    """``trace`` matches ``case``; ``success=False`` skips ``is_success`` at a truncation."""
    first = len(trace) - len(trace[-8:]) + 1
    rows = "\n".join(
        f"  step {first + i}: r={r} term={te} trunc={tr}" for i, (r, te, tr, _) in enumerate(trace[-8:])
    )
    where = f"\n--- world ---\n{map16(case.world)}\n--- now ---\n{env_ascii(env)}\n--- last steps ---\n{rows}"
    want_steps = case.end[0] if case.end else len(case.actions)
    assert len(trace) == want_steps, f"episode lasted {len(trace)} steps, expected {want_steps}{where}"
    got_rewards = {i + 1: r for i, (r, *_) in enumerate(trace) if r != 0.0}
    assert got_rewards == case.rewards, where
    for step, (_, terminated, truncated, _) in enumerate(trace[:-1], start=1):
        assert not terminated and not truncated, f"ended early at step {step}{where}"
    _, terminated, truncated, info = trace[-1]
    if case.end is None:
        assert (terminated, truncated) == (False, False), where
        assert "is_success" not in info, where
    else:
        assert (terminated, truncated) == case.end[1:], where
        if success or not case.end[2]:
            assert info["is_success"] is case.success, where
    for key, value in case.last_info.items():
        assert info[key] == value, f"info[{key!r}] = {info[key]!r}, expected {value!r}{where}"


def _play_single(case: Case):
    env = make_env(case.env_id, case.world, **case.kwargs)
    env.reset(seed=case.seed)
    trace = []
    for action in case.actions:
        _, reward, terminated, truncated, info = env.step(action)
        assert isinstance(reward, float)
        trace.append((reward, terminated, truncated, info))
        if terminated or truncated:
            break
    return env, trace


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_single_env_rewards_and_episode_ends(case: Case):
    env, trace = _play_single(case)
    _check(case, trace, env, success=False)  # see the test below for is_success at truncation


TRUNCATED = [c for c in CASES if c.end is not None and c.end[2]]


# The single env reports ``is_success`` at the time limit too (gymnasium's TimeLimit wrapper
# truncates; the env reads the limit from its spec), as the docs promise.
@pytest.mark.parametrize("case", TRUNCATED, ids=[c.name for c in TRUNCATED])
def test_single_env_reports_success_on_truncation(case: Case):
    env, trace = _play_single(case)
    _check(case, trace, env)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_vector_env_rewards_and_episode_ends(case: Case):
    env = make_vec(case.env_id, case.world, num_envs=1, **case.kwargs)
    env.reset(seed=case.seed)
    trace = []
    for action in case.actions:
        _, reward, terminated, truncated, infos = env.step(np.array([action]))
        assert reward.shape == (1,) and terminated.shape == (1,) and truncated.shape == (1,)
        info = {k: v[0] for k, v in infos.items() if not k.startswith("_") and k != "events"}
        if "is_success" in info:
            info["is_success"] = bool(info["is_success"])
        trace.append((float(reward[0]), bool(terminated[0]), bool(truncated[0]), info))
        if terminated[0] or truncated[0]:
            break
    _check(case, trace, env)
