"""Contract: the ``info`` dicts of the single and the native vector env, against the docs.

Both faces report the same keys (the documented schema, ``vrenvs.envs.base.INFO``): the
single env as Python values, the vector env as arrays with ``_key`` masks.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import vrenvs  # noqa: F401  (registers the ids)
from tests.worlds import make_env, make_vec

NOOP, UP, RIGHT, DOWN, LEFT, PICKUP, DROP, GIVE, TOGGLE = range(9)

# Expected info keys per face and moment: at reset, at a step inside an episode and at the
# step that ends one. (Vector-env keys come with their "_key" masks, as Gymnasium's do.)
_RESET = {"scene", "scene_index", "request", "request_type", "served", "failed"}
_KEYS = {"reset": _RESET, "step": _RESET | {"events"}, "end": _RESET | {"events", "is_success"}}
INFO_KEYS = {"single": _KEYS, "vector": _KEYS}
SHARED = ("scene_index", "request", "request_type", "served", "failed")


def test_the_documented_schema_is_the_one_served():
    from vrenvs.envs.base import INFO

    assert set(INFO) == INFO_KEYS["single"]["end"] == INFO_KEYS["vector"]["end"]
    page = gym.make("vrenvs/Assistant-v0").unwrapped.__doc__
    assert all(f"``{key}``" in page for key in INFO), "every key is on the env's page"


def _vector_keys(infos: dict) -> set[str]:
    keys = {k for k in infos if not k.startswith("_")}
    assert {k for k in infos if k.startswith("_")} == {f"_{k}" for k in keys}, "every key has its mask"
    return keys


# The fetch room of the reward table: the cup is the only requestable item; SERVE_CUP
# offers the red key (refused), then fetches the cup and gives it (served at step 7).
FETCH_ROOM = """
; name: fetch-room
################
#.@.....########
#cAr....########
#.......########
#.......########
################
"""
SERVE_CUP = [PICKUP, GIVE, DROP, LEFT, PICKUP, RIGHT, GIVE]
REQUEST_TYPE_IDS = {"none": 0, "fetch": 1, "guide": 2, "open": 3}  # literal, as documented


def test_single_env_info_through_an_episode():
    env = make_env("vrenvs/Assistant-Fetch-v0", FETCH_ROOM, npcs=[])
    _, info = env.reset(seed=0)
    assert set(info) == INFO_KEYS["single"]["reset"]
    assert info.pop("scene_index") == -1, "not an indexed source"
    assert info == {
        "scene": {"source": "test", "scene": "fetch-room"},
        "request": "Please bring me the blue cup.",
        "request_type": "fetch",
        "served": 0,
        "failed": 0,
    }
    for step, action in enumerate(SERVE_CUP[:-1], start=1):
        _, _, terminated, _, info = env.step(action)
        assert not terminated
        assert set(info) == INFO_KEYS["single"]["step"], f"step {step}"
        assert info["events"] == {"done": "none", "gave_up": "none"}
        assert info["request"] == "Please bring me the blue cup." and info["request_type"] == "fetch"
        assert type(info["served"]) is int and type(info["failed"]) is int
    _, reward, terminated, _, info = env.step(SERVE_CUP[-1])
    assert (reward, terminated) == (1.0, True)
    assert set(info) == INFO_KEYS["single"]["end"]
    assert info.pop("scene_index") == -1, "not an indexed source"
    assert info == {
        "scene": {"source": "test", "scene": "fetch-room"},
        "request": "",
        "request_type": "none",
        "served": 1,
        "failed": 0,
        "is_success": True,
        "events": {"done": "fetch", "gave_up": "none"},
    }


def test_single_env_info_scene_is_a_new_object_every_step():
    """Changing the ``scene`` of one info changes no later one, nested dicts included."""
    env = make_env("vrenvs/Assistant-Fetch-v0", FETCH_ROOM, npcs=[])
    _, info = env.reset(seed=0)
    info["scene"]["scene"] = "changed"
    _, _, _, _, info = env.step(NOOP)
    assert info["scene"] == {"source": "test", "scene": "fetch-room"}
    world = env.unwrapped.world
    world.identities[0] = {"source": "test", "targets": {"rooms": "2-3"}, "edits": [1, 2]}
    _, _, _, _, first = env.step(NOOP)
    first["scene"]["targets"]["rooms"] = "9"
    first["scene"]["edits"].append(3)
    _, _, _, _, info = env.step(NOOP)
    assert info["scene"] == {"source": "test", "targets": {"rooms": "2-3"}, "edits": [1, 2]}
    assert info["scene"] is not first["scene"]


def test_single_env_info_when_the_user_gives_up():
    env = make_env("vrenvs/Assistant-Fetch-v0", FETCH_ROOM, npcs=[])
    env.reset(seed=0)  # patience 201 in this world
    for _ in range(201):
        _, _, terminated, _, info = env.step(NOOP)
        assert not terminated
    _, reward, terminated, _, info = env.step(NOOP)
    assert (reward, terminated) == (0.0, True)
    assert info["events"] == {"done": "none", "gave_up": "fetch"}
    assert (info["served"], info["failed"], info["is_success"]) == (0, 1, False)
    assert (info["request"], info["request_type"]) == ("", "none")


def test_vector_env_info_and_next_step_autoreset():
    env = make_vec("vrenvs/Assistant-Fetch-v0", FETCH_ROOM, num_envs=2, npcs=[])
    _, infos = env.reset(seed=0)
    assert _vector_keys(infos) == INFO_KEYS["vector"]["reset"]
    assert infos["scene_index"].tolist() == [-1, -1], "not an indexed source"
    assert infos["request_type"].tolist() == ["fetch"] * 2
    assert infos["request"].tolist() == ["Please bring me the blue cup."] * 2
    assert infos["served"].tolist() == [0, 0] and infos["failed"].tolist() == [0, 0]
    for action in SERVE_CUP[:-1]:  # world 0 serves, world 1 waits
        _, rewards, terminated, truncated, infos = env.step(np.array([action, NOOP]))
        assert _vector_keys(infos) == INFO_KEYS["vector"]["step"]
        assert rewards.tolist() == [0.0, 0.0] and not terminated.any() and not truncated.any()
    _, rewards, terminated, truncated, infos = env.step(np.array([GIVE, NOOP]))
    assert rewards.tolist() == [1.0, 0.0]
    assert terminated.tolist() == [True, False] and truncated.tolist() == [False, False]
    assert _vector_keys(infos) == INFO_KEYS["vector"]["end"]
    assert infos["is_success"].tolist() == [True, False] and infos["_is_success"].tolist() == [True, False]
    assert infos["served"].tolist() == [1, 0]
    assert infos["request_type"].tolist() == ["none", "fetch"]
    assert infos["request"].tolist() == ["", "Please bring me the blue cup."], "each world's own sentence"
    assert all(infos[f"_{k}"].dtype == bool for k in ("served", "request", "scene")), "masks are bool"
    assert infos["events"]["done"].tolist() == ["fetch", "none"]
    assert infos["events"]["_done"].tolist() == [True, True] and infos["_events"].tolist() == [True, True]
    # NEXT_STEP autoreset: world 0 starts again, with reward 0 and both flags False
    _, rewards, terminated, truncated, infos = env.step(np.array([NOOP, NOOP]))
    assert rewards.tolist() == [0.0, 0.0] and not terminated.any() and not truncated.any()
    assert _vector_keys(infos) == INFO_KEYS["vector"]["step"]
    assert infos["served"].tolist() == [0, 0]
    assert infos["request_type"].tolist() == ["fetch"] * 2
    assert infos["events"]["done"].tolist() == ["none", "none"], "the restarted world has no events"
    assert infos["request"].tolist() == ["Please bring me the blue cup."] * 2, "asked again after the reset"


def test_shared_fields_agree_between_the_faces():
    single = make_env("vrenvs/Assistant-Fetch-v0", FETCH_ROOM, npcs=[])
    vector = make_vec("vrenvs/Assistant-Fetch-v0", FETCH_ROOM, num_envs=1, npcs=[])
    pairs = [(single.reset(seed=0)[1], vector.reset(seed=0)[1])]
    for action in SERVE_CUP:
        pairs.append((single.step(action)[4], vector.step(np.array([action]))[4]))
    for one, many in pairs:
        assert {k: one[k] for k in SHARED} == {k: many[k][0] for k in SHARED}
        assert one["scene"] == many["scene"][0]
        if "events" in one:
            assert one["events"] == {k: many["events"][k][0] for k in ("done", "gave_up")}
    assert [one["served"] for one, _ in pairs] == [0, 0, 0, 0, 0, 0, 0, 1]
    assert pairs[-1][0]["is_success"] is True and bool(pairs[-1][1]["is_success"][0]) is True


def test_scene_identity_replays_an_indexed_scene():
    """The docs: info["scene"] names the source and index; ``num_scenes=1,
    start_scene=index`` replays it."""
    designer = {"scenes": "designer", "num_scenes": 1, "start_scene": 3}
    env = gym.make("vrenvs/Assistant-Fetch-v0", **designer)
    _, info = env.reset(seed=0)
    assert info["scene"] == {
        "source": "designer",
        "index": 3,
        "repair_version": 4,
        "scene": "blacksmith",
        "symmetry": 0,
    }
    assert info["request"] == "Please bring me the purple gem."
    vector = gym.make_vec("vrenvs/Assistant-Fetch-v0", 2, vectorization_mode="vector_entry_point", **designer)
    _, infos = vector.reset(seed=0)
    assert infos["scene_index"].tolist() == [3, 3]


def test_vector_env_every_world_masks_are_one_read_only_array():
    """The ``_key`` mask of an info every world has is one all-True read-only array per env
    (shared by the keys and the steps, so a step need not make one); the masks of
    ``is_success`` and ``final_*`` are the step's own (its ended worlds)."""
    env = make_vec("vrenvs/Assistant-Fetch-v0", FETCH_ROOM, num_envs=2, npcs=[])
    _, first = env.reset(seed=0)
    mask = first["_scene"]
    assert mask.tolist() == [True, True] and not mask.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        mask[0] = False
    for action in SERVE_CUP:
        _, _, _, _, infos = env.step(np.array([action, NOOP]))
        assert all(infos[f"_{k}"] is mask for k in ("scene", "served", "request", "events"))
        assert infos["events"]["_done"] is mask
    assert infos["_is_success"].tolist() == [True, False] and infos["_is_success"] is not mask
