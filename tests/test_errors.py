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
    row = "#" * 32 + "\n"
    (tmp_path / "big.txt").write_text(row + ("#@" + "." * 28 + "A#\n") + ("#" + "." * 30 + "#\n") * 29 + row)
    with pytest.raises(ValueError, match=r"no 16x16 scenes \(sizes found: 32x32\)"):
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


# -- lifecycle and per-call inputs (issue 12: step before reset, reset options, actions) --

LIFECYCLE_IDS = ["vrenvs/Assistant-Fetch-v0", "vrenvs/NPC-Guard-v0"]


@pytest.mark.parametrize("env_id", LIFECYCLE_IDS)
def test_step_before_reset_is_refused_in_every_face(env_id):
    from gymnasium.error import ResetNeeded

    single = gym.make(env_id, scenes="procedural").unwrapped
    with pytest.raises(ResetNeeded, match="call reset"):
        single.step(0)
    vector = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", scenes="procedural")
    with pytest.raises(ResetNeeded, match="call reset"):
        vector.step(np.zeros(2, np.int64))
    pytest.importorskip("stable_baselines3")
    from agents.vec_env import VrenvsVecEnv

    with pytest.raises(ResetNeeded, match="call reset"):
        VrenvsVecEnv(env_id, 2, scenes="procedural").step(np.zeros(2, np.int64))


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ("garbage", TypeError, ["'garbage'", "dict or None"]),
        (3, TypeError, ["3", "dict or None"]),
        ({"level": 2}, ValueError, ["'level'", "pass none"]),
    ],
)
def test_reset_options_are_none_or_empty(options, error, words):
    for env in (
        gym.make("vrenvs/NPC-Flee-v0", scenes="procedural"),
        gym.make_vec(
            "vrenvs/NPC-Flee-v0", num_envs=2, vectorization_mode="vector_entry_point", scenes="procedural"
        ),
    ):
        with pytest.raises(error) as err:
            env.reset(seed=0, options=options)
        assert all(w in str(err.value) for w in words), str(err.value)
        env.reset(seed=0, options={})


@pytest.mark.parametrize(("actions", "words"), [([1.5, 2.0], ["1.5"]), ([1, 2, 3], ["3 actions", "2 envs"])])
def test_the_sb3_adapter_refuses_fractional_or_miscounted_actions(actions, words):
    pytest.importorskip("stable_baselines3")
    from agents.vec_env import VrenvsVecEnv

    venv = VrenvsVecEnv("vrenvs/NPC-Flee-v0", 2, scenes="procedural")
    venv.reset()
    with pytest.raises(ValueError) as err:
        venv.step(np.array(actions))
    assert all(w in str(err.value) for w in words), str(err.value)
    venv.step(np.array([1.0, 2.0]))  # whole numbers as floats are fine


@pytest.mark.parametrize(
    ("env_id", "phrase"),
    [
        ("vrenvs/NPC-Guard-v0", "Catch the thief before it escapes."),
        ("vrenvs/NPC-Flee-v0", "Find food and keep away from the wolves."),
    ],
)
def test_an_npc_learner_s_info_request_is_the_phrase_it_reads(env_id, phrase):
    env = gym.make(env_id, scenes="procedural")
    assert env.reset(seed=0)[1]["request"] == phrase
    assert env.step(0)[4]["request"] == phrase
    vector = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", scenes="procedural")
    assert vector.reset(seed=0)[1]["request"].tolist() == [phrase, phrase]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"start_scene": 2**32}, ["start_scene=4294967296", "[0, 2147483646]"]),
        ({"start_scene": 2**31 - 1}, ["start_scene=2147483647", "[0, 2147483646]"]),
        (
            {"start_scene": 2**31 - 2, "num_scenes": 2},
            ["num_scenes=2", "start_scene=2147483646", "2147483646"],
        ),
        ({"num_scenes": 2**31}, ["num_scenes=2147483648", "[0, 2147483647)"]),
    ],
)
def test_scene_indices_stay_in_their_range(kwargs, words):
    """Scene ``i`` is a pure function of ``i`` over ``[0, 2**31 - 1)``; beyond it the
    generators' seeds would repeat training scenes, so a split past it is refused at make."""
    with pytest.raises(ValueError) as err:
        gym.make("vrenvs/NPC-Flee-v0", scenes="procedural", **kwargs)
    assert all(w in str(err.value) for w in words), str(err.value)
    env = gym.make("vrenvs/NPC-Flee-v0", scenes="procedural", start_scene=2**31 - 2, num_scenes=1)
    assert env.reset(seed=0)[1]["scene_index"] == 2**31 - 2


# -- the Python helpers behind the commands (record, rollout, gallery, frames, sources) -----


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"max_steps": -1}, ValueError, "max_steps=-1 is out of range; allowed: an integer in [1, 100000]"),
        ({"max_steps": 0}, ValueError, "max_steps=0 is out of range"),
        ({"episodes": 1.5}, TypeError, "episodes=1.5 must be an integer in [1, 10000]"),
        ({"episodes": True}, TypeError, "episodes=True must be an integer"),
        ({"episodes": "2"}, TypeError, "episodes='2' must be an integer"),
        ({"seed": -3}, ValueError, "seed=-3 is out of range"),
        ({"agent": 1}, TypeError, "agent=1 must be a controller's or a trained policy's name"),
        ({"env_id": "CartPole-v1"}, ValueError, "env_id='CartPole-v1'"),
        ({"env_id": "Assistant-v0"}, ValueError, "vrenvs/Assistant-v0"),
    ],
)
def test_rollout_and_record_check_their_arguments_before_playing(kwargs, error, words):
    """``max_steps=-1`` reached ``gym.make`` as "no time limit": an episode that never ended."""
    from vrenvs.app.record import record, rollout

    call = {"env_id": "vrenvs/Assistant-v0", "scenes": "procedural", **kwargs}
    with pytest.raises(error) as err:
        rollout(**call)
    assert words in str(err.value)
    env_id = call.pop("env_id")
    with pytest.raises(error) as err:
        record(env_id, "out.gif", **call)
    assert words in str(err.value)


@pytest.mark.parametrize(
    ("fps", "error"), [(0, ValueError), (-5, ValueError), (float("nan"), ValueError), ("8", TypeError)]
)
def test_write_frames_checks_the_rate_and_the_frames(tmp_path, fps, error):
    from vrenvs.app.record import write_frames

    frame = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(error, match="fps="):
        write_frames(tmp_path / "a.gif", [frame, frame], fps)
    assert not (tmp_path / "a.gif").exists()
    for bad in (np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 4), np.uint8)):
        with pytest.raises(ValueError, match=r"allowed: \(H, W, 3\) uint8 RGB images"):
            write_frames(tmp_path / "b.gif", [bad, bad])
    assert write_frames(tmp_path / "c.gif", [frame, frame], 0.5).stat().st_size > 0


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"size": 24}, ValueError, "size=24"),
        ({"size": "16"}, TypeError, "size='16' must be an integer"),
        (
            {"num": 2, "start": 2**31 - 2},  # scene indices end at 2**31 - 2
            ValueError,
            "start=2147483646 is out of range; allowed: an integer in [0, 2147483645]",
        ),
        ({"start": 2**64}, ValueError, "start=18446744073709551616 is out of range"),
    ],
)
def test_gallery_checks_size_and_start(tmp_path, kwargs, error, words):
    from vrenvs.app.record import gallery

    with pytest.raises(error) as err:
        gallery(tmp_path / "g.png", "procedural", **{"num": 1, **kwargs})
    assert words in str(err.value)
    assert not (tmp_path / "g.png").exists()


@pytest.mark.parametrize(
    ("size", "error"), [(24, ValueError), (16.0, TypeError), ("16", TypeError), (None, TypeError)]
)
def test_make_source_checks_the_size(size, error):
    with pytest.raises(error, match="size="):
        make_source("procedural", size)


def test_a_scenes_option_may_be_a_list_and_properties_are_for_the_condition_curriculum():
    """JSON lists are env-kwarg values too; a curriculum that does not read ``properties``
    refuses them instead of ignoring them."""
    with pytest.raises(ValueError, match="properties='bogus' is for method='condition'"):
        make_source({"source": "curriculum", "base": "procedural", "properties": "bogus"}, 16)
    with pytest.raises(ValueError, match="properties='rooms,distance' is for method='condition'"):
        make_source({"source": "curriculum", "base": "procedural", "properties": ["rooms", "distance"]}, 16)
    with pytest.raises(TypeError, match=r"scenes\['base'\]=\[\['procedural'\]\] must be a str, number"):
        make_source({"source": "curriculum", "base": [["procedural"]]}, 16)
    source = make_source({"source": "curriculum", "base": "procedural", "method": "uniform"}, 16)
    assert source.settings.properties == ("locked_doors", "distance")


def test_the_sb3_adapter_checks_world_indices():
    pytest.importorskip("stable_baselines3")
    from agents.vec_env import VrenvsVecEnv

    venv = VrenvsVecEnv("vrenvs/Assistant-Fetch-v0", 3, scenes="procedural")
    assert venv.get_attr("num_envs", indices=[0, -1]) == [3, 3]
    for bad in ([99], -5, [0, 3]):
        with pytest.raises(
            ValueError, match=r"indices\[\]=.* is out of range; allowed: an integer in \[-3, 2\]"
        ):
            venv.get_attr("num_envs", indices=bad)
    with pytest.raises(TypeError, match=r"indices\[\]='a' must be an integer"):
        venv.env_is_wrapped(gym.Wrapper, indices=["a"])
    with pytest.raises(ValueError, match="the 3 worlds share one env"):
        venv.set_attr("render_mode", "rgb_array", indices=[1])
    venv.set_attr("render_mode", "rgb_array", indices=[2, 0, 1])
    venv.close()


def test_python_m_vrenvs_runs_the_command():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "vrenvs", "list"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "vrenvs/Assistant-Fetch-v0" in done.stdout, done.stderr
