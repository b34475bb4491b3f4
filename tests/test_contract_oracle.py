"""Contract: the oracle assistant serves OPEN requests, fetching the key of a locked door.

The worlds leave the user nothing to ask but to open the door: no requestable item, one
region (the hall) and a 2-cell closet behind the door (too small to be a region). The env
face shows the request; the oracle drives the assistant at the core level (the env face
cannot hand the learner's slot to a scripted controller).
"""

from __future__ import annotations

import pytest

from tests.worlds import A, ascii_of, make_env, map16, world_from
from vrenvs.core import requests
from vrenvs.core.catalog import CATALOG
from vrenvs.core.controllers import controller

CLOSET = """
; name: open-closet
################
#@.......#######
#.....A..+..####
#........#######
#........#######
################
"""
LOCKED_CLOSET = """
; name: locked-closet
################
#@.......#######
#.....A..R..####
#........#######
#...r....#######
################
"""


@pytest.mark.parametrize(
    ("world", "sentence"),
    [
        (CLOSET, "Please open the door to the hall."),
        (LOCKED_CLOSET, "Please open the red door."),
    ],
    ids=["closed", "locked"],
)
def test_the_only_request_is_to_open_the_door(world, sentence):
    env = make_env("vrenvs/Assistant-v0", world, npcs=[])
    _, info = env.reset(seed=0)
    assert (info["request_type"], info["request"]) == ("open", sentence)


def _serve(world: str, steps: int) -> tuple[list[int], list[int], str]:
    """Run the oracle as the assistant of a stream task on ``world``: the steps at which a
    request was served and at which the assistant picked something up."""
    w = world_from(
        map16(world),
        ("user", "assistant"),
        learner=1,
        requests=("fetch", "guide", "open"),
        stream=True,
        max_steps=512,
    )
    oracle = controller("oracle")
    served, picked = [], []
    for t in range(1, steps + 1):
        events, reward, terminated = w.step(oracle(w.state, w.config, 1))
        assert not terminated[0], "a stream task never terminates"
        if events.done[0]:
            served.append(t)
            assert reward[0] == 1.0
        if events.picked[0, 1]:
            picked.append(t)
    assert int(w.state.served[0]) == len(served) and int(w.state.failed[0]) == 0
    return served, picked, ascii_of(w)


def test_oracle_opens_the_closed_door():
    # right, right (now facing the door), toggle; then nothing is left to ask for
    served, picked, now = _serve(CLOSET, 60)
    assert served == [3], now
    assert picked == [], now
    assert now.splitlines()[2] == "#.......A'..####", now


def test_oracle_fetches_the_key_of_a_locked_door_first():
    # to the key (4 steps), pick it up, to the door (6 steps, the last one right: facing
    # it), toggle
    served, picked, now = _serve(LOCKED_CLOSET, 40)
    assert picked == [5], now
    assert served == [12], now
    assert now.splitlines()[2] == "#.......A'..####", now
    assert "R" not in now and "r" not in now, "the door is open and the key in hand"


LOCKED_PANTRY = """
; name: locked-pantry
################
#@.......#######
#.....A..R.c####
#........#######
#...r....#######
################
"""


def test_oracle_fetches_an_item_behind_a_locked_door_with_its_key():
    # the cup is out of reach: to the red key (4 steps), pick it up (5); to the door, open
    # it (12), on to the cup, drop the key there (16: it is not what was asked for), pick
    # up the cup (17), back to the user and give it (28)
    w = world_from(map16(LOCKED_PANTRY), ("user", "assistant"), learner=1, requests=("fetch",), max_steps=512)
    oracle = controller("oracle")
    picked, dropped, served = [], [], []
    for t in range(1, 41):
        events, _, _ = w.step(oracle(w.state, w.config, 1))
        picked += [(t, int(events.picked[0, 1]))] if events.picked[0, 1] else []
        dropped += [(t, int(events.dropped[0, 1]))] if events.dropped[0, 1] else []
        served += [t] if events.done[0] else []
    now = ascii_of(w)
    key, cup = CATALOG.item["red_key"].id, CATALOG.item["cup"].id
    assert picked == [(5, key), (17, cup)], now
    assert dropped == [(16, key)], now
    assert served == [28], now


def test_oracle_blocked_by_an_actor_that_does_not_make_way_steps_aside():
    """Another assistant (every other role makes way) stands in the corridor to the cup:
    the only free move is back."""
    w = world_from(
        """
        #########
        #@......#
        #########
        #.AA..c.#
        #########
        #########
        #########
        #########
        #########
        """,
        ("user", "assistant", "assistant"),
        learner=1,
        requests=("fetch",),
    )
    w.state.req_type[0], w.state.req_target[0] = requests.FETCH, CATALOG.item["cup"].id
    assert controller("oracle")(w.state, w.config, 1)[0] == A.LEFT, ascii_of(w)


@pytest.mark.parametrize("held", ["coin", "blue_key"])
def test_oracle_keeps_what_it_holds_and_waits_when_no_key_opens_the_way(held):
    w = world_from(
        map16(LOCKED_PANTRY.replace("#...r....#", "#........#")),
        ("user", "assistant"),
        learner=1,
        requests=("fetch",),
    )
    w.state.req_type[0], w.state.req_target[0] = requests.FETCH, CATALOG.item["cup"].id
    w.state.carry[0, 1] = CATALOG.item[held].id
    assert controller("oracle")(w.state, w.config, 1)[0] == A.NOOP, ascii_of(w)
