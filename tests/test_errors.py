"""Bad input gives a clear error naming the value and the choices."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import vrenvs  # noqa: F401
from vrenvs.core.scene import SceneError, parse_ascii, read_ascii
from vrenvs.core.sources import AsciiFolderSource, BankSource, make_source, save_bank

FETCH = "vrenvs/Assistant-Fetch-v0"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"obs_mode": "pixels"}, ["obs_mode='pixels'", "symbolic", "full"]),
        ({"scenes": "dreams"}, ["'dreams'", "procedural", "designer"]),
        ({"size": 20}, ["size=20", "16", "32"]),
        ({"npcs": ["dragon"]}, ["'dragon'", "guard", "merchant"]),
        ({"npcs": ["guard"] * 7}, ["7", "at most 6"]),
        ({"view": 6}, ["view=6", "odd"]),
        ({"view": 99}, ["view=99", "[3, 15]"]),
        ({"num_scenes": -1}, ["num_scenes=-1"]),
        ({"render_mode": "human3d"}, ["'human3d'", "rgb_array"]),
    ],
)
def test_bad_kwargs_name_the_value_and_the_choices(kwargs, words):
    with pytest.raises(ValueError) as err:
        gym.make(FETCH, **kwargs)
    for word in words:
        assert word in str(err.value), str(err.value)


def test_vector_env_rejects_bad_kwargs_too():
    with pytest.raises(ValueError, match="obs_mode='x'"):
        gym.make_vec(FETCH, num_envs=2, vectorization_mode="vector_entry_point", obs_mode="x")


@pytest.mark.parametrize("action", [9, -1, 2.5, "up"])
def test_single_env_rejects_actions_outside_the_space(action):
    env = gym.make(FETCH).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="not in the action space"):
        env.step(action)


@pytest.mark.parametrize("actions", [np.array([0, 9]), np.array([0]), np.array([0.5, 1.0])])
def test_vector_env_rejects_actions_outside_the_space(actions):
    env = gym.make_vec(FETCH, num_envs=2, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(actions)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("#####\n#.@x#\n#####\n#####\n#####", ["line 2, column 4", "'x'", "known glyphs"]),
        ("#####\n#.@.#\n###\n#####\n#####", ["line 3", "3 columns", "expected 5"]),
        ("", ["empty"]),
        ("; name: x\n", ["empty"]),
        ("###\n#@#\n###", ["3 x 3", "[5, 64]"]),
        ("#####\n#.é.#\n#####\n#####\n#####", ["line 2, column 3", "'é'"]),
    ],
)
def test_malformed_ascii_names_line_column_and_glyph(text, words):
    with pytest.raises(SceneError) as err:
        parse_ascii(text, source="bad.txt")
    for word in words:
        assert word in str(err.value), str(err.value)


def test_empty_scene_file_and_empty_folder(tmp_path):
    empty = tmp_path / "16_empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(SceneError, match="empty"):
        read_ascii(empty)
    with pytest.raises(ValueError, match=r"holds no \.txt scenes"):
        AsciiFolderSource(16, _empty_dir(tmp_path))
    with pytest.raises(ValueError, match="does not exist"):
        make_source(str(tmp_path / "missing.npz"), 16)


def _empty_dir(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    return d


def test_unrepairable_scene_file_is_refused(tmp_path):
    # 4 x 4 cannot hold the outer wall plus a user, an assistant and an item.
    (tmp_path / "tiny.txt").write_text("####\n#@A#\n#c.#\n####\n")
    with pytest.raises(SceneError, match=r"4 x 4.*\[5, 64\]"):
        gym.make(FETCH, scenes=str(tmp_path))


def test_folder_without_scenes_of_the_env_size(tmp_path):
    (tmp_path / "small.txt").write_text("#######\n#@...A#\n#..c..#\n#.....#\n#.....#\n#.....#\n#######\n")
    with pytest.raises(ValueError, match=r"no 16x16 scenes \(sizes found: 7x7\)"):
        gym.make(FETCH, scenes=str(tmp_path))


def test_bank_with_another_vocabulary_is_refused(tmp_path):
    from vrenvs.core.scene import Scene

    path = tmp_path / "bank.npz"
    save_bank(path, [Scene(np.ones((16, 16), np.uint8))])
    with np.load(path) as data:
        codes = data["codes"]
    np.savez(path, codes=codes, vocabulary=np.array("0123456789abcdef"))
    with pytest.raises(ValueError, match="vocabulary 0123456789abcdef"):
        BankSource(16, path)


def test_controllers_kwarg_names_roles_and_controllers():
    with pytest.raises(ValueError, match=r"controllers key 'dragon'.*\['guard', 'user'\]"):
        gym.make(FETCH, controllers={"dragon": "random"})
    with pytest.raises(ValueError, match=r"unknown controller 'dance'; choose from \[.*'random'"):
        gym.make(FETCH, controllers={"user": "dance"})
