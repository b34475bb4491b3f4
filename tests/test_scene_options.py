"""``scenes={"source": name, **options}``: a source with options, as an env kwarg and on the CLI."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

import vrenvs  # noqa: F401
from vrenvs.app.args import arg_scenes
from vrenvs.core.sources import make_source, source_names, source_options

ENV = "vrenvs/Assistant-Fetch-v0"


def test_source_options_are_the_factories_keywords():
    assert source_options("procedural") == ["style"]
    assert source_options("designer") == ["style"]
    assert source_options("gan") == ["checkpoint", "bank_size"]
    with pytest.raises(ValueError, match=r"source='nope' is not supported; choose from \["):
        source_options("nope")


@pytest.mark.parametrize("style", ["house", "village", "cave"])
def test_a_procedural_style_gives_only_that_style(style):
    source = make_source({"source": "procedural", "style": style}, 16)
    assert source.name == "procedural"
    assert {source.identity(i)["style"] for i in range(6)} == {style}
    # the same scene as ProceduralSource with that one style, by index
    again = make_source({"source": "procedural", "style": style}, 16)
    assert all(np.array_equal(source.scene(i).codes, again.scene(i).codes) for i in range(3))


def test_the_plain_name_and_the_dict_without_options_are_the_same_source():
    plain = make_source("procedural", 16)
    spec = make_source({"source": "procedural"}, 16)
    assert all(np.array_equal(plain.scene(i).codes, spec.scene(i).codes) for i in range(4))
    assert [plain.identity(i)["style"] for i in range(3)] == ["house", "village", "cave"]


def test_a_designer_style_keeps_only_the_files_of_that_style():
    farms = make_source({"source": "designer", "style": "farm"}, 16)
    assert {s.meta["style"] for s in farms.scenes} == {"farm"}
    assert [s.name for s in farms.scenes] == ["farm", "farmhouse", "orchard", "stable", "vineyard"]
    assert farms.num_distinct == 5 * 8
    big = make_source({"source": "designer", "style": "castle"}, 32)
    assert [s.name for s in big.scenes] == ["castle"]


def test_the_env_serves_the_style_and_its_spec_replays():
    env = gym.make(ENV, scenes={"source": "procedural", "style": "cave"})
    _, info = env.reset(seed=3)
    assert info["scene"]["style"] == "cave"
    json.dumps(env.spec.kwargs)  # env kwargs stay JSON values
    again = gym.make(env.spec)
    _, info2 = again.reset(seed=3)
    assert info2["scene"] == info["scene"]
    env.close()
    again.close()


def test_the_vector_env_takes_the_dict_too():
    envs = gym.make_vec(ENV, num_envs=2, scenes={"source": "designer", "style": "cave"})
    _, info = envs.reset(seed=0)
    assert {s["source"] for s in info["scene"]} == {"designer"}
    envs.close()


@pytest.mark.parametrize(
    ("scenes", "kind", "words"),
    [
        ({"style": "cave"}, ValueError, ["has no 'source' key", "'procedural'"]),
        ({"source": 3}, TypeError, ["scenes['source']=3", "a str", "'designer'"]),
        ({"source": "nope"}, ValueError, ["scenes['source']='nope'", "not a source name", "'procedural'"]),
        ({"source": "procedural", "style": "castle"}, ValueError, ["style='castle'", "'house'", "'cave'"]),
        ({"source": "designer", "style": "space"}, ValueError, ["style='space'", "'farm'", "'shop'"]),
        ({"source": "procedural", "style": ["cave"]}, ValueError, ["style=['cave'] is not", "'house'"]),
        ({"source": "procedural", "style": [["cave"]]}, TypeError, ["scenes['style']=[['cave']]", "JSON"]),
        (
            {"source": "vqvae", "targets": {"rooms": ["one"]}},
            TypeError,
            ["scenes['targets']=", "an object of those"],
        ),
        ({"source": "vqvae", "targets": {1: "one"}}, TypeError, ["scenes['targets']=", "JSON"]),
        ({"source": "procedural", "colour": "red"}, ValueError, ["scenes['colour']", "allowed: ['style']"]),
        ({"source": "gan", "style": "cave"}, ValueError, ["scenes['style']", "source 'gan'", "'bank_size'"]),
        ({"source": "procedural", 1: "x"}, TypeError, ["key 1", "str"]),
    ],
)
def test_bad_scene_dicts_name_the_value_and_the_choices(scenes, kind, words):
    with pytest.raises(kind) as err:
        make_source(scenes, 16)
    for word in words:
        assert word in str(err.value)


def test_a_designer_style_missing_at_a_size_names_the_styles_there():
    with pytest.raises(ValueError, match=r"style='shop' is not supported; choose from \['castle', 'cave'"):
        make_source({"source": "designer", "style": "shop"}, 32)


def test_the_cli_takes_a_json_source():
    assert arg_scenes('{"source": "procedural", "style": "cave"}') == {
        "source": "procedural",
        "style": "cave",
    }
    assert arg_scenes("procedural") == "procedural"
    for text, words in [
        ('{"source": "procedural",', ["not valid JSON"]),
        ('{"style": "cave"}', ["a JSON object with a 'source' name", "'procedural'"]),
        ('{"source": "nope"}', ["source 'nope'", "not a source name"]),
    ]:
        with pytest.raises(Exception) as err:
            arg_scenes(text)
        assert all(w in str(err.value) for w in words), err.value
    assert "procedural" in source_names()


@pytest.mark.parametrize("size", [16, 32])
def test_the_default_scenes_are_the_v2_generators_at_both_sizes(size):
    """Without ``scenes`` an env plays ``vqvae`` scenes of its size, a mixture of the styles."""
    env = gym.make(ENV, size=size, num_scenes=16)
    styles = set()
    for seed in range(6):
        _, info = env.reset(seed=seed)
        assert info["scene"]["source"] == "vqvae" and info["scene"]["size"] == size
        styles.add(info["scene"]["style"])
    assert len(styles) >= 2
    assert env.unwrapped.world.source.kind == "vqvae"
