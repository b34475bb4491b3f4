"""The task specs: what every task declares, and everything made from them."""

from __future__ import annotations

import doctest
from importlib import resources
from pathlib import Path

import gymnasium as gym
import pytest
import yaml

import vrenvs  # noqa: F401  (registers the ids)
from vrenvs.core.tasks import OBJECTIVES, TASKS, TaskSpec, objective, task
from vrenvs.envs.docs import doc_page
from vrenvs.envs.tasks import ENV_CLASSES, VECTOR_CLASSES

ROOT = Path(__file__).resolve().parent.parent


def test_the_registered_ids_are_the_specs():
    assert sorted(i for i in gym.registry if i.startswith("vrenvs/")) == sorted(s.id for s in TASKS)
    for spec in TASKS:
        registered = gym.spec(spec.id)
        assert registered.max_episode_steps == spec.max_steps
        assert registered.entry_point == f"vrenvs.envs.tasks:{spec.cls}Env"
        assert ENV_CLASSES[spec.cls].TASK is spec and VECTOR_CLASSES[spec.cls].TASK is spec


def test_the_reward_tables_are_the_documented_ones():
    tables = {name: dict(o.REWARDS) for name, o in OBJECTIVES.items()}
    assert tables == {
        "serve": {"served": 1.0, "gave_up": 0.0, "refused": 0.0},
        "guard": {"caught": 1.0, "escaped": -1.0},
        "flee": {"food": 1.0, "caught": -1.0},
        "steal": {"escaped": 1.0, "caught": -1.0},
        "chase": {"caught": 1.0},
    }
    limits = {s.name: (s.max_steps, s.learner, s.goal, s.stream) for s in TASKS}
    assert limits == {
        "Assistant-Fetch": (256, "assistant", "serve", False),
        "Assistant-Guide": (256, "assistant", "serve", False),
        "Assistant": (512, "assistant", "serve", True),
        "NPC-Guard": (200, "guard", "guard", False),
        "NPC-Flee": (300, "critter", "flee", False),
    }


@pytest.mark.parametrize("spec", TASKS, ids=[s.name for s in TASKS])
def test_every_task_has_a_training_config_for_its_id(spec: TaskSpec):
    path = Path(str(resources.files("agents").joinpath("configs", f"{spec.name}.yaml")))
    assert path.is_file(), f"a new task needs its training config {path}"
    assert yaml.safe_load(path.read_text())["env_id"] == spec.id


@pytest.mark.parametrize("spec", TASKS, ids=[s.name for s in TASKS])
def test_the_env_page_examples_run(spec: TaskSpec):
    page = ENV_CLASSES[spec.cls].__doc__
    assert page == doc_page(spec)
    parser = doctest.DocTestParser()
    test = parser.get_doctest(page, {}, f"{spec.cls}Env", None, 0)
    assert len(test.examples) >= 5
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


@pytest.mark.parametrize("spec", TASKS, ids=[s.name for s in TASKS])
def test_the_env_pages_in_docs_are_current(spec: TaskSpec):
    """``python -m vrenvs.envs.docs docs/envs`` writes them."""
    page = (ROOT / "docs" / "envs" / f"{spec.name}.md").read_text()
    assert page == f"# `{spec.id}`\n\n" + doc_page(spec)


@pytest.mark.parametrize("spec", TASKS, ids=[s.name for s in TASKS])
def test_the_page_shows_the_real_spaces_and_the_reward_table(spec: TaskSpec):
    page = doc_page(spec)
    env = gym.make(spec.id, scenes="procedural", route=True)
    for key, space in env.observation_space.spaces.items():
        assert f"``{key}``" in page
        assert str(space.shape) in page or f"Discrete({space.n})" in page
    for event, weight in spec.reward_table().items():
        assert f"| ``{event}`` |" in page and f"| {weight:+g} |" in page
    assert f"Truncated at {spec.max_steps} steps" in page
    assert "Box(int16" not in page


def test_lookups_name_the_choices():
    assert task("vrenvs/NPC-Flee-v0") is task("NPC-Flee")
    with pytest.raises(ValueError, match=r"'Nope'.*Assistant-Fetch"):
        task("Nope")
    with pytest.raises(ValueError, match=r"'win'.*flee"):
        objective("win")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"learner": "wizard"}, ["'wizard'", "roles"]),
        ({"npcs": ("dragon",)}, ["'dragon'", "merchant"]),
        ({"rewards": {"bonus": 1.0}}, ["bonus", "table"]),
    ],
)
def test_a_bad_spec_is_refused_with_the_value(change, words):
    import dataclasses

    with pytest.raises(ValueError) as err:
        dataclasses.replace(task("NPC-Guard"), **change)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_a_misspelt_role_is_an_error_not_an_empty_slot():
    config = task("NPC-Guard").config((), 16, 7, 200)
    assert (config.slot_of("thief"), config.slot_of("user")) == (1, -1)
    with pytest.raises(ValueError, match=r"unknown role 'theif'; choose from \['assistant'"):
        config.slot_of("theif")
