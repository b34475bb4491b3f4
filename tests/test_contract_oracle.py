"""Contract: the oracle assistant serves OPEN requests, fetching the key of a locked door.

The worlds leave the user nothing to ask but to open the door: no requestable item, one
region (the hall) and a 2-cell closet behind the door (too small to be a region). The env
face shows the request; the oracle drives the assistant at the core level (the env face
cannot hand the learner's slot to a scripted controller).
"""

from __future__ import annotations

import pytest

from tests.worlds import ascii_of, make_env, map16, world_from
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
