"""Bad inputs through the Python API: every one is refused up front with a clear error.

Each case gives the input, the exception type and the words the message must hold (the
argument's name and the value given). The fuzz tests at the end draw arbitrary env kwargs,
actions and scene grids and accept only valid behaviour or a ``ValueError`` / ``TypeError``.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.utils.env_checker import data_equivalence
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vrenvs  # noqa: F401
from vrenvs.core.catalog import CATALOG
from vrenvs.core.reach import problems
from vrenvs.core.scene import MAX_FILE_BYTES, Scene, SceneError, read_ascii
from vrenvs.core.sources import BankSource, make_source, save_bank
from vrenvs.core.sources import ProceduralSource as _ProceduralSource

FETCH = "vrenvs/Assistant-Fetch-v0"
GUARD = "vrenvs/NPC-Guard-v0"
DESIGNER = {"scenes": "designer"}  # no torch in these tests: the errors come before any scene


class Fixed:
    """A custom source serving ``grid`` (whatever it is) as its one scene."""

    name = "fixed"

    def __init__(self, grid: Any) -> None:
        self.grid = grid

    def sample(self, num: int, rng: np.random.Generator) -> Any:
        return [self.grid] * num


class Returns:
    """A custom source whose ``sample`` returns ``value`` as it is."""

    name = "returns"

    def __init__(self, value: Any) -> None:
        self.value = value

    def sample(self, num: int, rng: np.random.Generator) -> Any:
        return self.value


class NoName:
    def sample(self, num: int, rng: np.random.Generator) -> list[Scene]:
        return []


class NotCallable:
    name = "not-callable"
    sample = 3


def _check(err: pytest.ExceptionInfo[BaseException], words: list[str]) -> None:
    for word in words:
        assert word in str(err.value), f"{word!r} not in: {err.value}"
    assert "Traceback" not in str(err.value)


# --- env kwargs at make -------------------------------------------------------------------

MAKE_CASES: list[tuple[dict[str, Any], type[Exception], list[str]]] = [
    ({"size": "16"}, TypeError, ["size='16'", "integer"]),
    ({"size": 16.0}, TypeError, ["size=16.0", "integer"]),
    ({"size": True}, TypeError, ["size=True"]),
    ({"size": 24}, ValueError, ["size=24", "16", "32"]),
    ({"size": -16}, ValueError, ["size=-16", "16", "32"]),
    ({"size": None}, TypeError, ["size=None"]),
    ({"view": 5.0}, TypeError, ["view=5.0", "[3, 15]"]),
    ({"view": "5"}, TypeError, ["view='5'"]),
    ({"view": 1}, ValueError, ["view=1", "[3, 15]"]),
    ({"view": 17}, ValueError, ["view=17", "[3, 15]"]),
    ({"view": 4}, ValueError, ["view=4", "odd"]),
    ({"obs_mode": None}, ValueError, ["obs_mode=None", "symbolic", "full"]),
    ({"obs_mode": ["full"]}, ValueError, ["obs_mode=['full']", "symbolic"]),
    ({"obs_mode": "FULL"}, ValueError, ["obs_mode='FULL'", "full"]),
    ({"obs_mode": "rgb"}, ValueError, ["obs_mode='rgb'", "symbolic"]),
    ({"npcs": "guard"}, TypeError, ["npcs='guard'", "list"]),
    ({"npcs": 3}, TypeError, ["npcs=3", "list"]),
    ({"npcs": {"guard": 1}}, TypeError, ["npcs={'guard': 1}", "list"]),
    ({"npcs": [1]}, ValueError, ["npcs entry=1", "guard"]),
    ({"npcs": ["Guard"]}, ValueError, ["'Guard'", "guard"]),
    ({"npcs": ["user"]}, ValueError, ["'user'", "merchant"]),
    ({"npcs": ["assistant"]}, ValueError, ["'assistant'", "thief"]),
    ({"npcs": [None]}, ValueError, ["None", "guard"]),
    ({"npcs": ["guard"] * 7}, ValueError, ["7", "at most 6"]),
    ({"npcs": ["thief"] * 100}, ValueError, ["100", "at most 6"]),
    ({"controllers": "oracle"}, TypeError, ["controllers='oracle'", "dict"]),
    ({"controllers": [1]}, TypeError, ["controllers=[1]", "dict"]),
    ({"controllers": {1: "oracle"}}, TypeError, ["controllers={1: 'oracle'}", "dict"]),
    ({"controllers": {"user": "nope"}}, ValueError, ["controllers['user']='nope'", "oracle"]),
    ({"controllers": {"user": 3}}, ValueError, ["controllers['user']=3", "oracle"]),
    ({"controllers": {"user": ["oracle"]}}, ValueError, ["controllers['user']=['oracle']", "random"]),
    ({"controllers": {"dragon": "random"}}, ValueError, ["'dragon'", "choose from"]),
    ({"controllers": {"assistant": "random"}}, ValueError, ["'assistant'", "choose from"]),
    ({"npc_controllers": "ppo"}, TypeError, ["npc_controllers='ppo'", "dict"]),
    ({"npc_controllers": {"guard": 3}}, ValueError, ["npc_controllers['guard']", "3"]),
    ({"npc_controllers": {"user": "ppo-NPC-Guard"}}, ValueError, ["'user'", "not an NPC"]),
    ({"scenes": 3}, TypeError, ["scenes=3", "designer", "procedural"]),
    ({"scenes": 3.5}, TypeError, ["scenes=3.5"]),
    ({"scenes": ["designer"]}, TypeError, ["scenes=['designer']"]),
    ({"scenes": ""}, ValueError, ["scenes=''", "designer"]),
    ({"scenes": "dreams"}, ValueError, ["'dreams'", "procedural"]),
    ({"scenes": "no/such/bank.npz"}, ValueError, ["no/such/bank.npz", "does not exist"]),
    ({"scenes": NoName()}, TypeError, ["NoName", "name"]),
    ({"scenes": NotCallable()}, TypeError, ["NotCallable", "not callable"]),
    ({"num_scenes": -1}, ValueError, ["num_scenes=-1", ">= 0"]),
    ({"num_scenes": 1.5}, TypeError, ["num_scenes=1.5"]),
    ({"num_scenes": None}, TypeError, ["num_scenes=None"]),
    ({"num_scenes": "10"}, TypeError, ["num_scenes='10'"]),
    ({"num_scenes": 2**31}, ValueError, ["num_scenes=2147483648"]),
    ({"start_scene": -1}, ValueError, ["start_scene=-1", "2147483646"]),
    ({"start_scene": 2**32}, ValueError, ["start_scene=4294967296", "2147483646"]),
    ({"start_scene": 2**70}, ValueError, ["start_scene=1180591620717411303424"]),
    ({"start_scene": 1e3}, TypeError, ["start_scene=1000.0"]),
    ({"start_scene": 2**31 - 10, "num_scenes": 100}, ValueError, ["num_scenes=100", "2147483638"]),
    ({"tile_size": 0}, ValueError, ["tile_size=0", "[4, 64]"]),
    ({"tile_size": -3}, ValueError, ["tile_size=-3", "[4, 64]"]),
    ({"tile_size": 100000}, ValueError, ["tile_size=100000", "[4, 64]"]),
    ({"tile_size": 16.5}, TypeError, ["tile_size=16.5"]),
    ({"route": 1}, TypeError, ["route", "1"]),
    ({"route": "yes"}, TypeError, ["route", "'yes'"]),
    ({"route": None}, TypeError, ["route", "None"]),
    ({"shaping": float("nan")}, ValueError, ["shaping", "nan"]),
    ({"shaping": float("inf")}, ValueError, ["shaping", "inf"]),
    ({"shaping": -0.5}, ValueError, ["shaping", "-0.5"]),
    ({"shaping": 11}, ValueError, ["shaping", "11"]),
    ({"shaping": "1"}, TypeError, ["shaping", "'1'"]),
    ({"shaping": True}, TypeError, ["shaping", "True"]),
    ({"key_goal": "nearest"}, ValueError, ["key_goal='nearest'", "['any', 'lock']"]),
    ({"key_goal": None}, TypeError, ["key_goal=None", "string", "['any', 'lock']"]),
    ({"key_goal": ["lock"]}, TypeError, ["key_goal=['lock']", "string"]),
    ({"locked_requests": 1.5}, ValueError, ["locked_requests=1.5", "[0.0, 1.0]"]),
    ({"locked_requests": -0.25}, ValueError, ["locked_requests=-0.25", "[0.0, 1.0]"]),
    ({"locked_requests": float("nan")}, ValueError, ["locked_requests=nan", "[0.0, 1.0]"]),
    ({"locked_requests": "0.5"}, TypeError, ["locked_requests='0.5'", "number"]),
    ({"locked_requests": True}, TypeError, ["locked_requests=True", "number"]),
    ({"locked_requests": 0.5}, ValueError, ["locked_requests=0.5", "open requests", "['fetch']"]),
    ({"render_mode": "human3d"}, ValueError, ["'human3d'", "rgb_array"]),
    ({"render_mode": "ansi"}, ValueError, ["'ansi'", "rgb_array"]),
    ({"colour": "red"}, TypeError, ["colour"]),
]


@pytest.mark.parametrize(("kwargs", "kind", "words"), MAKE_CASES, ids=lambda v: repr(v)[:40])
def test_bad_env_kwargs_are_refused_at_make(kwargs, kind, words):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium warns about unknown render modes first
        with pytest.raises(kind) as err:
            gym.make(FETCH, **{**DESIGNER, **kwargs})
    _check(err, words)


@pytest.mark.parametrize(
    ("kwargs", "kind", "words"),
    [
        ({"num_envs": 0}, ValueError, ["num_envs=0", "[1, 65536]"]),
        ({"num_envs": -4}, ValueError, ["num_envs=-4"]),
        ({"num_envs": 2.0}, TypeError, ["num_envs=2.0"]),
        ({"num_envs": "2"}, TypeError, ["num_envs='2'"]),
        ({"num_envs": 2, "obs_mode": "x"}, ValueError, ["obs_mode='x'"]),
        ({"num_envs": 2, "view": 2}, ValueError, ["view=2"]),
        ({"num_envs": 2, "npcs": "thief"}, TypeError, ["npcs='thief'"]),
        ({"num_envs": 2, "autoreset_mode": "sometimes"}, ValueError, ["'sometimes'", "choose from"]),
        ({"num_envs": 2, "infos": "some"}, ValueError, ["infos='some'", "'every'", "'ended'"]),
        (
            {"num_envs": 2, "infos": "ended"},
            ValueError,
            ["infos='ended'", "autoreset_mode='next_step'", "same_step"],
        ),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_bad_vector_env_kwargs_are_refused_at_make(kwargs, kind, words):
    with pytest.raises(kind) as err:
        gym.make_vec(FETCH, vectorization_mode="vector_entry_point", **{**DESIGNER, **kwargs})
    _check(err, words)


# --- reset and step -----------------------------------------------------------------------

SEED_CASES = [
    (-1, ValueError, ["seed=-1", ">= 0"]),
    (1.5, TypeError, ["seed=1.5"]),
    ("a", TypeError, ["seed='a'"]),
    (True, TypeError, ["seed=True"]),
    ([1, 2], TypeError, ["seed=[1, 2]"]),
    (float("nan"), TypeError, ["seed=nan"]),
    (np.float64(3.0), TypeError, ["seed=np.float64(3.0)"]),
]


@pytest.mark.parametrize(("seed", "kind", "words"), SEED_CASES, ids=repr)
def test_bad_seeds_are_refused_by_the_single_env(seed, kind, words):
    env = gym.make(FETCH, **DESIGNER).unwrapped
    with pytest.raises(kind) as err:
        env.reset(seed=seed)
    _check(err, words)


@pytest.mark.parametrize(
    ("seed", "kind", "words"),
    [
        (-1, ValueError, ["seed=-1"]),
        (1.5, TypeError, ["seed=1.5"]),
        ("ab", TypeError, ["seed='ab'"]),
        ([1], ValueError, ["seed=[1]", "1 seeds for 2 envs"]),
        ([1, 2, 3], ValueError, ["seed=[1, 2, 3]", "3 seeds for 2 envs"]),
        ([1, -2], ValueError, ["seed[1]=-2"]),
        ([1, "x"], TypeError, ["seed[1]='x'"]),
        ([0.5, 1], TypeError, ["seed[0]=0.5"]),
    ],
    ids=repr,
)
def test_bad_seeds_are_refused_by_the_vector_env(seed, kind, words):
    env = gym.make_vec(FETCH, num_envs=2, vectorization_mode="vector_entry_point", **DESIGNER)
    with pytest.raises(kind) as err:
        env.reset(seed=seed)
    _check(err, words)


def test_numpy_integer_seeds_are_python_seeds():
    env = gym.make(FETCH, **DESIGNER).unwrapped
    a, _ = env.reset(seed=np.int64(7))
    b, _ = env.reset(seed=7)
    assert all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    ("options", "kind", "words"),
    [
        ("garbage", TypeError, ["'garbage'", "dict or None"]),
        ([("a", 1)], TypeError, ["[('a', 1)]", "dict or None"]),
        ({"scene": 3}, ValueError, ["['scene']", "pass none"]),
    ],
    ids=repr,
)
@pytest.mark.parametrize("vector", [False, True], ids=["single", "vector"])
def test_bad_reset_options_are_refused(options, kind, words, vector):
    env = (
        gym.make_vec(FETCH, num_envs=2, vectorization_mode="vector_entry_point", **DESIGNER)
        if vector
        else gym.make(FETCH, **DESIGNER).unwrapped
    )
    with pytest.raises(kind) as err:
        env.reset(options=options)
    _check(err, words)


@pytest.mark.parametrize(
    "action", [9, -1, 2.5, "up", None, np.array([2]), np.float32(1), [1], 10**20], ids=repr
)
def test_bad_actions_are_refused_by_the_single_env(action):
    env = gym.make(FETCH, **DESIGNER).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError) as err:
        env.step(action)
    _check(err, ["action", repr(action), "Discrete(9)"])


@pytest.mark.parametrize(
    "actions",
    [
        np.array([0, 9]),
        np.array([-1, 0]),
        np.array([0]),
        np.array([0, 1, 2]),
        np.array([0.5, 1.0]),
        np.array([True, False]),
        np.array([[1], [2]]),
        np.array(["a", "b"]),
    ],
    ids=repr,
)
def test_bad_actions_are_refused_by_the_vector_env(actions):
    env = gym.make_vec(FETCH, num_envs=2, vectorization_mode="vector_entry_point", **DESIGNER)
    env.reset(seed=0)
    with pytest.raises(ValueError) as err:
        env.step(actions)
    _check(err, ["action"])


@pytest.mark.parametrize("vector", [False, True], ids=["single", "vector"])
def test_step_before_reset_is_refused(vector):
    env = (
        gym.make_vec(FETCH, num_envs=2, vectorization_mode="vector_entry_point", **DESIGNER)
        if vector
        else gym.make(FETCH, **DESIGNER).unwrapped
    )
    with pytest.raises(ResetNeeded, match="reset"):
        env.step(np.zeros(2, np.int64) if vector else 0)


# --- custom scene sources: what sample() returns ------------------------------------------

_WALLS = np.full((16, 16), CATALOG.WALL, np.uint8)


@pytest.mark.parametrize(
    ("source", "kind", "words"),
    [
        (Returns([]), TypeError, ["'returns'", "list []", "1 scene"]),
        (Returns(None), TypeError, ["'returns'", "NoneType", "1 scene"]),
        (Returns("scene"), TypeError, ["'returns'", "str", "1 scene"]),
        (Fixed("#####"), TypeError, ["'fixed'", "str", "Scene"]),
        (Fixed(3), TypeError, ["'fixed'", "int", "Scene"]),
        (Fixed(None), TypeError, ["'fixed'", "NoneType"]),
        (Fixed(np.ones((8, 8), np.uint8)), SceneError, ["'fixed'", "8x8", "size 16"]),
        (Fixed(np.ones((16, 17), np.uint8)), SceneError, ["'fixed'", "16x17"]),
        (Fixed(np.ones(16, np.uint8)), SceneError, ["'fixed'", "2-D"]),
        (Fixed(np.full((16, 16), 1.5)), SceneError, ["'fixed'", "float64", "integers"]),
        (Fixed(np.ones((16, 16), complex)), SceneError, ["'fixed'", "complex128"]),
        (Fixed(np.full((16, 16), 255, np.int64)), SceneError, ["'fixed'", "glyph code 255"]),
        (Fixed(np.full((16, 16), -1, np.int64)), SceneError, ["'fixed'", "glyph code -1"]),
        (Fixed(np.full((16, 16), "#")), SceneError, ["'fixed'", "<U1"]),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_bad_scenes_from_a_custom_source_are_refused_at_reset(source, kind, words):
    env = gym.make(FETCH, scenes=source).unwrapped
    with pytest.raises(kind) as err:
        env.reset(seed=0)
    _check(err, words)


@pytest.mark.parametrize(
    "grid",
    [
        _WALLS,  # all walls: no user, no assistant, no item, nowhere to stand
        np.where(np.indices((16, 16)).sum(0) % 3 == 0, CATALOG.role_code("user"), CATALOG.FLOOR),
        np.full((16, 16), CATALOG.tile_code("water"), np.uint8),
        np.full((16, 16), CATALOG.LOCKED_DOOR_OF["red"], np.uint8),
        np.zeros((16, 16), np.int32),
    ],
    ids=["walls", "many-users", "water", "locked-doors", "int32-floor"],
)
def test_unsolvable_scenes_from_a_custom_source_are_repaired(grid):
    assert problems(Scene(grid))  # the source gives an unsolvable grid
    env = gym.make(FETCH, scenes=Fixed(grid)).unwrapped
    obs, info = env.reset(seed=0)
    layout = env.world.layouts[0]
    assert layout is not None and problems(layout.scene) == []
    assert info["scene"]["source"] == "fixed"
    assert env.observation_space.contains(obs)
    assert env.world.state.active[0].sum() == len(env.world.config.roles)  # every actor placed
    for _ in range(20):
        obs, _, terminated, *_ = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)
        if terminated:
            env.reset()


def test_a_path_object_is_a_scene_source(tmp_path):
    folder = Path(__file__).resolve().parents[1] / "vrenvs" / "data" / "scenes"
    env = gym.make(FETCH, scenes=folder).unwrapped
    _, info = env.reset(seed=0)
    assert info["scene"]["source"] == str(folder)


# --- scene banks (.npz) -------------------------------------------------------------------


def _bank(tmp_path: Path, **arrays: Any) -> str:
    path = tmp_path / "bank.npz"
    np.savez(path, **arrays)
    return str(path)


def _good_codes(n: int = 2) -> np.ndarray:
    scene = make_source("designer", 16).scene(0)
    return np.stack([scene.codes] * n)


VOCAB = np.array(CATALOG.vocabulary_hash)


@pytest.mark.parametrize(
    ("arrays", "words"),
    [
        ({"codes": _good_codes().astype(np.float32), "vocabulary": VOCAB}, ["dtype float32", "integers"]),
        ({"codes": _good_codes().astype(np.float64) + 0.5, "vocabulary": VOCAB}, ["dtype float64"]),
        ({"codes": _good_codes().astype(np.complex64), "vocabulary": VOCAB}, ["dtype complex64"]),
        ({"codes": _good_codes().astype(bool), "vocabulary": VOCAB}, ["dtype bool"]),
        ({"codes": _good_codes().astype(np.int64) + 256, "vocabulary": VOCAB}, ["glyph code", "outside"]),
        ({"codes": _good_codes().astype(np.int16) - 300, "vocabulary": VOCAB}, ["glyph code", "outside"]),
        ({"codes": _good_codes()[:, :8], "vocabulary": VOCAB}, ["shape (2, 8, 16)", "(N>0, 16, 16)"]),
        ({"codes": _good_codes()[:0], "vocabulary": VOCAB}, ["shape (0, 16, 16)"]),
        ({"codes": _good_codes()[0], "vocabulary": VOCAB}, ["shape (16, 16)"]),
        ({"codes": _good_codes(), "vocabulary": np.array("0123456789abcdef")}, ["0123456789abcdef"]),
        ({"codes": _good_codes(), "vocabulary": np.array([1, 2])}, ["[1, 2]", "vocabulary"]),
        ({"codes": _good_codes()}, ["'codes' and 'vocabulary'"]),
        ({"vocabulary": VOCAB}, ["'codes' and 'vocabulary'"]),
    ],
    ids=lambda v: repr(v)[:30] if not isinstance(v, dict) else "-".join(f"{k}" for k in v),
)
def test_bad_scene_banks_are_refused_naming_the_file(tmp_path, arrays, words):
    path = _bank(tmp_path, **arrays)
    with pytest.raises(SceneError) as err:
        BankSource(16, path)
    _check(err, [path, *words])


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"not a zip file at all", ["cannot be read"]),
        (b"PK\x03\x04 truncated", ["cannot be read"]),
        (b"", ["cannot be read"]),
    ],
    ids=["text", "truncated-zip", "empty"],
)
def test_unreadable_banks_are_refused_naming_the_file(tmp_path, content, words):
    path = tmp_path / "broken.npz"
    path.write_bytes(content)
    with pytest.raises(SceneError) as err:
        BankSource(16, path)
    _check(err, [str(path), *words])


def test_a_bank_of_object_arrays_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, codes=np.array([{"a": 1}], dtype=object), vocabulary=VOCAB)
    with pytest.raises(SceneError) as err:
        BankSource(16, path)
    _check(err, [str(path), "cannot be read"])


def test_an_int64_bank_inside_the_vocabulary_loads_unchanged(tmp_path):
    codes = _good_codes()
    path = _bank(tmp_path, codes=codes.astype(np.int64), vocabulary=VOCAB)
    assert np.array_equal(BankSource(16, path).raw(1).codes, codes[1])


def test_a_saved_bank_round_trips(tmp_path):
    scenes = [make_source("designer", 16).scene(i) for i in range(3)]
    save_bank(tmp_path / "b.npz", scenes)
    bank = BankSource(16, tmp_path / "b.npz")
    assert [bank.raw(i) for i in range(3)] == scenes


# --- scene files and the Scene constructor ------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("#####\n#@.A#\n#.c.#\n#...#\n#####".encode("latin-1") + b"\xe9", ["not UTF-8", "byte"]),
        (b"\xff\xfe#####", ["not UTF-8", "byte 0"]),
        (b"#" * (MAX_FILE_BYTES + 1), ["longer than", str(MAX_FILE_BYTES)]),
        (b"###\n#@#\n###", ["3 x 3", "[5, 64]"]),
        ((("#" * 65 + "\n") * 65).encode(), ["65 x 65", "[5, 64]"]),
        (b"#####\n#@.k#\n#####\n#####\n#####", ["line 2, column 4", "'k'"]),
        (b"", ["empty"]),
    ],
    ids=["latin-1", "utf-16-bom", "huge", "tiny", "too-big", "glyph", "empty"],
)
def test_bad_scene_files_are_refused_naming_the_file(tmp_path, content, words):
    path = tmp_path / "16_bad.txt"
    path.write_bytes(content)
    with pytest.raises(SceneError) as err:
        read_ascii(path)
    _check(err, [str(path), *words])


def test_a_scene_folder_with_a_bad_file_names_it(tmp_path):
    (tmp_path / "16_bad.txt").write_bytes(b"\xff\xfe")
    with pytest.raises(SceneError) as err:
        gym.make(FETCH, scenes=str(tmp_path))
    _check(err, ["16_bad.txt", "not UTF-8"])


@pytest.mark.parametrize(
    ("codes", "kind", "words"),
    [
        (np.ones((16, 16), np.float32), SceneError, ["float32", "integers"]),
        (np.ones((16, 16), complex), SceneError, ["complex128"]),
        (np.ones((16, 16), bool), SceneError, ["bool"]),
        (np.full((16, 16), "#", object), SceneError, ["object"]),
        (np.ones((4, 4, 4), np.uint8), SceneError, ["2-D", "(4, 4, 4)"]),
        (np.ones((4, 16), np.uint8), SceneError, ["4 x 16", "[5, 64]"]),
        (np.ones((65, 65), np.uint8), SceneError, ["65 x 65"]),
        (np.full((8, 8), CATALOG.num_codes, np.uint8), SceneError, [f"glyph code {CATALOG.num_codes}"]),
        (np.full((8, 8), -2, np.int64), SceneError, ["glyph code -2"]),
    ],
    ids=lambda v: (
        getattr(v, "dtype", repr(v))
        if isinstance(v, np.ndarray)
        else (v.__name__ if isinstance(v, type) else "w")
    ),
)
def test_bad_scene_codes_are_refused(codes, kind, words):
    with pytest.raises(kind) as err:
        Scene(codes, name="drawn")
    _check(err, ["'drawn'", *words])


# --- fuzz: anything else is valid behaviour or a clear ValueError / TypeError -------------

_ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.sampled_from(["guard", "thief", "chaser", "critter", "merchant", "x", 3]), max_size=8),
    st.dictionaries(st.sampled_from(["user", "guard", "assistant", 1]), st.sampled_from(["oracle", "x", 2])),
)
_KWARGS = {
    "size": st.one_of(st.sampled_from([16, 32]), _ANY),
    "view": st.one_of(st.sampled_from([3, 5, 7]), _ANY),
    "obs_mode": st.one_of(st.sampled_from(["symbolic", "full"]), _ANY),
    "npcs": _ANY,
    "controllers": _ANY,
    "num_scenes": st.one_of(st.integers(0, 10), _ANY),
    "start_scene": st.one_of(st.integers(0, 10), _ANY),
    "tile_size": st.one_of(st.sampled_from([4, 16]), _ANY),
    "route": _ANY,
    "shaping": st.one_of(st.floats(0, 10), _ANY),
    "key_goal": st.one_of(st.sampled_from(["any", "lock"]), _ANY),
    "locked_requests": st.one_of(st.floats(0, 1), _ANY),
}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional=_KWARGS), st.lists(_ANY, max_size=3))
def test_fuzz_env_kwargs_and_actions(kwargs, actions):
    """Any kwargs and actions: a working env whose observations stay in the space, or a
    ValueError / TypeError at make, reset or step, never another exception."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            env = gym.make(FETCH, **{**DESIGNER, **kwargs}).unwrapped
        except (ValueError, TypeError) as err:
            assert str(err)
            return
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    for action in [*actions, 0]:
        try:
            obs, reward, *_ = env.step(action)
        except ValueError as err:
            assert "action" in str(err)
            continue
        assert env.action_space.contains(action)
        assert env.observation_space.contains(obs) and math.isfinite(reward)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.sampled_from([np.uint8, np.int8, np.int32, np.int64, np.float32, np.bool_]),
    ),
    st.tuples(st.integers(0, 20), st.integers(0, 20)),
    st.integers(-3, CATALOG.num_codes + 3),
    st.integers(0, 2**32 - 1),
)
def test_fuzz_scene_grids_from_a_custom_source(dtype, shape, high, seed):
    """Random grids of any dtype and shape: served repaired (solvable, observations in the
    space), or refused with a ValueError / TypeError at reset."""
    rng = np.random.default_rng(seed)
    grid = rng.integers(min(high, 0), max(high, 1), size=shape).astype(dtype)
    env = gym.make(FETCH, scenes=Fixed(grid)).unwrapped
    try:
        obs, _ = env.reset(seed=0)
    except (ValueError, TypeError) as err:
        assert "fixed" in str(err)
        return
    assert shape == (16, 16) and np.dtype(dtype).kind in "iu"
    assert env.observation_space.contains(obs)
    obs, *_ = env.step(0)
    assert env.observation_space.contains(obs)


# --- the SB3 adapter and trained drivers --------------------------------------------------


@pytest.mark.parametrize(
    ("call", "kind", "words"),
    [
        (lambda m: m("nope", 2), ValueError, ["env_id='nope'", "vrenvs/Assistant-Fetch-v0"]),
        (lambda m: m("Assistant-Fetch", 2), ValueError, ["env_id='Assistant-Fetch'", "vrenvs/NPC-Flee-v0"]),
        (lambda m: m(FETCH, 0, scenes="designer"), ValueError, ["num_envs=0"]),
        (lambda m: m(FETCH, 1.5, scenes="designer"), TypeError, ["num_envs=1.5"]),
        (lambda m: m(FETCH, 2, seed=-1, scenes="designer"), ValueError, ["seed=-1"]),
        (lambda m: m(FETCH, 2, seed="a", scenes="designer"), TypeError, ["seed='a'"]),
        (lambda m: m(FETCH, 2, seed=1.0, scenes="designer"), TypeError, ["seed=1.0"]),
        (lambda m: m(FETCH, 2, flat="yes", scenes="designer"), TypeError, ["flat='yes'"]),
        (lambda m: m(FETCH, 2, scenes="designer", view=8), ValueError, ["view=8"]),
    ],
    ids=[
        "unknown-id",
        "short-id",
        "zero-envs",
        "float-envs",
        "negative-seed",
        "text-seed",
        "float-seed",
        "flat-text",
        "even-view",
    ],
)
def test_bad_sb3_adapter_arguments_are_refused(call, kind, words):
    from agents.vec_env import make_vec_env

    with pytest.raises(kind) as err:
        call(make_vec_env)
    _check(err, words)


@pytest.mark.parametrize(
    ("policy", "words"),
    [
        ("ppo-Assistant", ["npc_controllers['guard']='ppo-Assistant'", "assistant", "guard"]),
        ("ppo-NPC-Flee", ["npc_controllers['guard']='ppo-NPC-Flee'", "critter", "guard"]),
        ("nope", ["unknown controller 'nope'", "ppo-NPC-Guard"]),
    ],
    ids=["assistant-policy", "critter-policy", "unknown"],
)
def test_an_npc_is_driven_only_by_a_policy_trained_for_its_role(policy, words):
    with pytest.raises(ValueError) as err:
        gym.make("vrenvs/Assistant-v0", scenes="designer", npc_controllers={"guard": policy})
    _check(err, words)


# --- audit round 2: env kwargs, lifecycle, scene sources, files and banks -----------------

FLEE = "vrenvs/NPC-Flee-v0"
_DESIGNER_16 = Path(__file__).parents[1] / "vrenvs" / "data" / "scenes" / "16_apartment.txt"


class SampleWithoutArgs:
    name = "no-args"

    def sample(self) -> list[Scene]:
        return []


class SampleKeywordOnly:
    name = "keyword-only"

    def sample(self, *, num: int, rng: np.random.Generator) -> list[Scene]:
        return []


AUDIT_ENV_CASES: list[tuple[str, dict[str, Any], type[Exception], list[str]]] = [
    (
        FETCH,
        {"scenes": Fixed(_WALLS), "num_scenes": 5},
        ValueError,
        ["num_scenes=5", "'fixed'", "scene indices"],
    ),
    (
        FETCH,
        {"scenes": Fixed(_WALLS), "start_scene": 3},
        ValueError,
        ["start_scene=3", "'fixed'", "scene indices"],
    ),
    (FLEE, {"npcs": [], **DESIGNER}, ValueError, ["npcs=[]", "chaser", "NPC-Flee"]),
    (FLEE, {"npcs": ["guard"], **DESIGNER}, ValueError, ["npcs=['guard']", "chaser"]),
    (FLEE, {"npcs": ("critter", "thief"), **DESIGNER}, ValueError, ["npcs=['critter', 'thief']", "chaser"]),
    (
        FETCH,
        {"controllers": {"guard": "noop"}, "npc_controllers": {"guard": "ppo-NPC-Guard"}, **DESIGNER},
        ValueError,
        ["controllers={'guard': 'noop'}", "npc_controllers={'guard': 'ppo-NPC-Guard'}", "['guard']"],
    ),
    (FETCH, {"obs_mode": "full", "view": 5, **DESIGNER}, ValueError, ["view=5", "obs_mode='full'"]),
    (FETCH, {"obs_mode": "full", "view": 7, **DESIGNER}, ValueError, ["view=7", "obs_mode='full'"]),
    (FETCH, {"scenes": _ProceduralSource}, TypeError, ["scenes=ProceduralSource", "class"]),
    (FETCH, {"scenes": SampleWithoutArgs()}, TypeError, ["scenes=", "sample()", "sample(num, rng)"]),
    (FETCH, {"scenes": SampleKeywordOnly()}, TypeError, ["scenes=", "sample(*, num", "sample(num, rng)"]),
    (FETCH, {"shaping": np.True_, **DESIGNER}, TypeError, ["shaping=np.True_", "number"]),
    (FETCH, {"route": np.int64(1), **DESIGNER}, TypeError, ["route=np.int64(1)", "True or False"]),
    (FETCH, {"route": np.float32(1.0), **DESIGNER}, TypeError, ["route=np.float32(1.0)"]),
    (FETCH, {"shaping": np.float32(11.0), **DESIGNER}, ValueError, ["shaping=np.float32(11.0)", "[0, 10]"]),
]


@pytest.mark.parametrize(
    ("env_id", "kwargs", "kind", "words"),
    AUDIT_ENV_CASES,
    ids=[
        "split-unindexed",
        "start-unindexed",
        "flee-no-npcs",
        "flee-guard-only",
        "flee-no-chaser",
        "controller-conflict",
        "full-view-5",
        "full-view-7",
        "source-class",
        "sample-no-args",
        "sample-keyword-only",
        "shaping-numpy-bool",
        "route-numpy-int",
        "route-numpy-float",
        "shaping-numpy-too-big",
    ],
)
def test_audit_env_kwargs_are_refused_at_make(env_id, kwargs, kind, words):
    with pytest.raises(kind) as err:
        gym.make(env_id, **kwargs)
    _check(err, words)


@pytest.mark.parametrize("num_envs", [65_537, 10**7, 10**9])
def test_audit_num_envs_is_capped_before_allocating(num_envs):
    with pytest.raises(ValueError) as err:
        gym.make_vec(FETCH, num_envs=num_envs, vectorization_mode="vector_entry_point", **DESIGNER)
    _check(err, [f"num_envs={num_envs}", "[1, 65536]"])


@pytest.mark.parametrize(
    ("kwargs", "same_as"),
    [
        ({"shaping": np.float32(0.5)}, {"shaping": 0.5}),
        ({"shaping": np.int64(1)}, {"shaping": 1}),
        ({"route": np.True_}, {"route": True}),
        ({"view": None}, {"view": 7}),
        ({"obs_mode": "full", "view": None}, {"obs_mode": "full"}),
    ],
    ids=["shaping-float32", "shaping-int64", "route-numpy-bool", "view-none", "full-view-none"],
)
def test_audit_numpy_scalars_and_default_view_are_valid(kwargs, same_as):
    runs = []
    for options in (kwargs, same_as):
        env = gym.make(FETCH, **DESIGNER, **options).unwrapped
        obs, _ = env.reset(seed=4)
        step = env.step(2)
        runs.append((obs, step[:4]))
    assert data_equivalence(runs[0], runs[1])


def test_audit_tasks_keep_the_roles_they_are_about():
    assert gym.make(FLEE, npcs=["guard", "chaser"], **DESIGNER).unwrapped.config.roles == (
        "critter",
        "guard",
        "chaser",
    )
    assert gym.make(GUARD, npcs=[], **DESIGNER).unwrapped.config.roles == ("guard", "thief")


@pytest.mark.parametrize("wrapped", [False, True], ids=["unwrapped", "gym.make"])
def test_audit_step_after_termination_needs_reset(wrapped):
    env = gym.make(FLEE, **DESIGNER)
    env = env if wrapped else env.unwrapped
    env.reset(seed=0)
    for _ in range(300):  # a standing critter is caught within a few steps
        if env.step(0)[2]:
            break
    else:
        pytest.fail("the critter was never caught")
    with pytest.raises(ResetNeeded) as err:
        env.step(0)
    _check(err, ["terminated", "reset()"])
    env.reset(seed=0)
    env.step(0)


@pytest.mark.parametrize("action", [True, False, np.True_, np.bool_(False)], ids=repr)
def test_audit_bool_actions_are_refused(action):
    env = gym.make(FETCH, **DESIGNER).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError) as err:
        env.step(action)
    _check(err, [f"action {action!r}", "bool"])


@pytest.mark.parametrize("vector", [False, True], ids=["single", "vector"])
def test_audit_render_without_render_mode_warns(vector):
    env = (
        gym.make_vec(FETCH, num_envs=2, vectorization_mode="vector_entry_point", **DESIGNER)
        if vector
        else gym.make(FETCH, **DESIGNER).unwrapped
    )
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None


def test_audit_vector_render_before_reset_is_refused():
    env = gym.make_vec(
        FETCH, num_envs=2, vectorization_mode="vector_entry_point", render_mode="rgb_array", **DESIGNER
    )
    with pytest.raises(ResetNeeded) as err:
        env.render()
    _check(err, ["reset()", "render()"])


def test_audit_a_0d_seed_array_is_one_seed():
    env = gym.make_vec(FETCH, num_envs=2, vectorization_mode="vector_entry_point", **DESIGNER)
    first = env.reset(seed=np.array(5))[0]
    assert data_equivalence(first, env.reset(seed=5)[0])
    with pytest.raises(TypeError) as err:
        env.reset(seed=np.array(5.0))
    _check(err, ["seed=5.0"])


def _ascii(rows: int, cols: int) -> str:
    return ("#" * cols + "\n") * rows


@pytest.mark.parametrize(("rows", "cols"), [(10, 10), (15, 16), (16, 17), (24, 24)])
def test_audit_a_scene_folder_refuses_files_of_no_env_size(tmp_path, rows, cols):
    (tmp_path / "a.txt").write_text(_DESIGNER_16.read_text())
    (tmp_path / "b.txt").write_text(_ascii(rows, cols))
    with pytest.raises(SceneError) as err:
        make_source(str(tmp_path), 16)
    _check(err, [str(tmp_path / "b.txt"), f"{rows}x{cols}", "16 or 32"])


def test_audit_a_scene_folder_mixes_the_env_sizes_and_counts_its_scenes(tmp_path):
    (tmp_path / "a.txt").write_text(_DESIGNER_16.read_text())
    (tmp_path / "b.txt").write_text(_ascii(32, 32))
    source = make_source(str(tmp_path), 16)
    assert len(source.scenes) == 1 and source.num_distinct == 8
    assert make_source("procedural", 16).num_distinct is None


def test_audit_a_scene_file_may_start_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + _DESIGNER_16.read_bytes())
    assert read_ascii(path) == read_ascii(_DESIGNER_16)


def test_audit_a_folder_named_like_a_bank_is_called_a_folder(tmp_path):
    folder = tmp_path / "dir.npz"
    folder.mkdir()
    with pytest.raises(ValueError) as err:
        gym.make(FETCH, scenes=str(folder))
    _check(err, [str(folder), "is a folder"])


def _claimed_bank(path: Path, shape: tuple[int, ...]) -> Path:
    """A bank whose codes header claims ``shape`` but holds no data."""
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": shape})
    vocabulary = io.BytesIO()
    np.save(vocabulary, VOCAB)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("codes.npy", header.getvalue())
        archive.writestr("vocabulary.npy", vocabulary.getvalue())
    return path


@pytest.mark.parametrize(
    "shape", [(10**9, 16, 16), (1_000_001, 16, 16), (2, 16384, 16384)], ids=["1e9", "1e6+1", "huge-scenes"]
)
def test_audit_a_bank_too_big_is_refused_from_its_header(tmp_path, shape):
    path = _claimed_bank(tmp_path / "big.npz", shape)
    with pytest.raises(SceneError) as err:
        BankSource(16, path)
    _check(err, [str(path), str(shape), "1,000,000 scenes"])


def test_audit_save_bank_writes_what_it_is_given(tmp_path):
    scenes = [make_source("designer", 16).scene(i) for i in range(2)]
    with pytest.raises(ValueError) as err:
        save_bank(tmp_path / "noext", scenes)
    _check(err, ["path=", "noext", ".npz"])
    with pytest.raises(ValueError) as err:
        save_bank(tmp_path, scenes)
    _check(err, [str(tmp_path), "is a folder"])
    assert not (tmp_path / "noext.npz").exists()


@pytest.mark.parametrize(
    ("scenes", "kind", "words"),
    [
        (
            lambda s: [s[0], Scene(np.zeros((32, 32), np.uint8))],
            ValueError,
            ["(16, 16)", "(32, 32)", "one shape"],
        ),
        (lambda s: [s[0].codes, s[1].codes], TypeError, ["scenes[0]", "ndarray", "Scene"]),
        (lambda s: np.stack([s[0].codes]), TypeError, ["scenes=array", "list"]),
        (lambda s: "scenes", TypeError, ["scenes='scenes'", "list"]),
        (lambda s: [], ValueError, ["scenes=[]", "empty"]),
    ],
    ids=["mixed-shapes", "arrays", "one-array", "text", "empty"],
)
def test_audit_save_bank_refuses_bad_scenes(tmp_path, scenes, kind, words):
    designer = [make_source("designer", 16).scene(i) for i in range(2)]
    with pytest.raises(kind) as err:
        save_bank(tmp_path / "b.npz", scenes(designer))
    _check(err, words)
    assert not (tmp_path / "b.npz").exists()


def test_audit_bank_sources_count_their_scenes(tmp_path):
    scenes = [make_source("designer", 16).scene(i) for i in range(3)]
    save_bank(tmp_path / "b.npz", scenes)
    assert BankSource(16, tmp_path / "b.npz").num_distinct == 3


@pytest.mark.parametrize("path", ["/sys/x.gif", "/proc/x.gif", "/proc/self/nope/x.gif"])
def test_audit_outputs_on_virtual_file_systems_are_refused(path):
    from vrenvs.core.checks import check_output

    with pytest.raises(ValueError) as err:
        check_output("record", path, (".gif",))
    _check(err, [f"record={path!r}", "not writable"])


# --- re-audit: finite sources and checkpoint paths ----------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"start_scene": 10**7}, ["start_scene=10000000", "280 distinct scenes", "i % 280"]),
        ({"start_scene": 270, "num_scenes": 20}, ["start_scene=270", "num_scenes=20", "280"]),
        ({"start_scene": 280}, ["start_scene=280", "280 distinct"]),
    ],
    ids=["far", "overlapping-end", "just-past"],
)
def test_a_start_scene_past_a_finite_source_s_scenes_is_refused(kwargs, words):
    with pytest.raises(ValueError) as err:
        gym.make(FETCH, scenes="designer", **kwargs)
    _check(err, words)


@pytest.mark.parametrize(
    "kwargs", [{"start_scene": 279}, {"start_scene": 10, "num_scenes": 270}, {"num_scenes": 10**6}]
)
def test_splits_inside_a_finite_source_s_scenes_stay_valid(kwargs):
    _, info = gym.make(FETCH, scenes="designer", **kwargs).reset(seed=0)
    assert info["scene_index"] >= kwargs.get("start_scene", 0)


@pytest.mark.parametrize(
    ("path", "words"),
    [(Path("/tmp"), ["/tmp is a folder"]), ("/dev/null", ["/dev/null is not a regular file"])],
    ids=["folder", "device"],
)
def test_a_generator_checkpoint_that_is_no_file_is_named(path, words):
    from generators.checkpoint import CheckpointError
    from generators.source import GeneratorSource

    with pytest.raises(CheckpointError) as err:
        GeneratorSource("vae", checkpoint=path)
    _check(err, words)
