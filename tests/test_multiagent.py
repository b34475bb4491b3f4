"""Several learners in one world: the batched form, the PettingZoo faces, per-role rewards."""

from __future__ import annotations

import dataclasses
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded

import vrenvs  # noqa: F401
from tests.worlds import A, act, ascii_of, world_from
from vrenvs.core.catalog import CATALOG
from vrenvs.core.controllers import controller
from vrenvs.core.language import VOCABULARY, tokenize
from vrenvs.core.tasks import objective
from vrenvs.multiagent import SCENARIOS, aec_env, parallel_env, scenario_names, vector_env
from vrenvs.multiagent.parallel import ParallelWorldEnv

pettingzoo_test = pytest.importorskip("pettingzoo.test")

NAMES = scenario_names()


def _rewards(world, events, slot):
    """The reward of the learner in ``slot`` by its role's objective."""
    goal = CATALOG.role[world.config.roles[slot]].objective
    config = dataclasses.replace(world.config, learner=slot, goal=goal, rewards={})
    return float(objective(goal).reward(events, world.state, config)[0])


# --- the scenarios and what every role is rewarded for -----------------------------------------


def test_the_scenarios_and_their_agents():
    agents = {s.name: parallel_env(s.name, scenes="procedural").possible_agents for s in SCENARIOS}
    assert agents == {
        "Guard-Thief": ["guard_0", "thief_0"],
        "Wolves": ["critter_0", "critter_1", "chaser_0", "chaser_1"],
        "Everyone": ["assistant_0", "guard_0", "thief_0", "chaser_0", "critter_0"],
    }


def test_the_reward_table_of_every_role():
    env = vector_env("Everyone", scenes="procedural")
    assert env.reward_tables() == {
        "assistant_0": {"served": 1.0, "gave_up": 0.0, "refused": 0.0},
        "guard_0": {"caught": 1.0, "escaped": -1.0},
        "thief_0": {"escaped": 1.0, "caught": -1.0},
        "chaser_0": {"caught": 1.0},
        "critter_0": {"food": 1.0, "caught": -1.0},
    }
    roles = {r.name: r.objective for r in CATALOG.roles}
    assert roles == {
        "user": "serve",
        "assistant": "serve",
        "guard": "guard",
        "thief": "steal",
        "chaser": "chase",
        "critter": "flee",
        "merchant": None,
    }


def test_the_npc_phrases_use_the_existing_vocabulary():
    # a new word would renumber the vocabulary and change every env's request space
    assert len(VOCABULARY) == 50
    env = vector_env("Everyone", scenes="procedural")
    obs, _ = env.reset(seed=0)
    said = {a: obs["request"][0, i].tolist() for i, a in enumerate(env.agents)}
    assert said["thief_0"] == tokenize("take it and keep away").tolist()
    assert said["chaser_0"] == tokenize("find and catch it").tolist()
    assert said["guard_0"] == tokenize("catch the thief before it escapes").tolist()
    assert said["critter_0"] == tokenize("find food and keep away from the wolves").tolist()
    assert said["assistant_0"] == env.world.state.req_tokens[0].tolist()  # the user's request


THIEF_AT_HOME = """
    ########
    #.$....#
    #......#
    #......#
    #......#
    #.....P#
    #.....I#
    ########
    """


def test_a_thief_that_escapes_wins_and_the_guard_loses():
    w = world_from(THIEF_AT_HOME, ("guard", "thief"), learner=0)
    w.state.carry[0, 1] = CATALOG.item["coin"].id  # it holds loot, standing on its entry
    ev = act(w, A.LEFT, A.NOOP)
    assert ev.escaped[0, 1]
    assert (_rewards(w, ev, 0), _rewards(w, ev, 1)) == (-1.0, 1.0)


def test_a_caught_thief_loses_and_the_guard_wins():
    w = world_from(THIEF_AT_HOME.replace("#.....P#", "#....P.#"), ("guard", "thief"), learner=0)
    ev = act(w, A.NOOP, A.UP)  # the thief steps next to the guard
    assert ev.caught[0, 1] and "I" not in ascii_of(w)
    assert (_rewards(w, ev, 0), _rewards(w, ev, 1)) == (1.0, -1.0)


def test_wolves_share_a_catch_and_the_critter_pays_for_it():
    w = world_from(
        """
        ########
        #......#
        #.C....#
        #.F..C.#
        #......#
        #......#
        #......#
        ########
        """,
        ("critter", "chaser", "chaser"),
        learner=0,
    )
    ev = act(w, A.NOOP, A.NOOP, A.NOOP)
    assert ev.caught[0, 0]
    assert [_rewards(w, ev, s) for s in range(3)] == [-1.0, 1.0, 1.0]


# --- PettingZoo's checks and our own ----------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_pettingzoo_parallel_and_aec_api_tests_pass(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the API test's own advice about Dict observations
        pettingzoo_test.parallel_api_test(parallel_env(name, scenes="procedural"), num_cycles=300)
        pettingzoo_test.api_test(aec_env(name, scenes="procedural"), num_cycles=200)


def test_the_default_scenes_play_too():
    env = parallel_env("Guard-Thief")
    obs, infos = env.reset(seed=3)
    assert infos["guard_0"]["scene"]["source"] == "vqvae"
    assert env.observation_space("guard_0").contains(obs["guard_0"])


def _rollout(env, seed, steps, action_seed):
    """Observations, rewards and flags of ``steps`` steps over several episodes."""
    rng = np.random.default_rng(action_seed)
    out = []
    obs, infos = env.reset(seed=seed)
    out.append((obs, infos))
    for _ in range(steps):
        if not env.agents:
            obs, infos = env.reset()
            out.append(("reset", obs, infos))
            continue
        actions = {a: int(rng.integers(9)) for a in env.agents}
        out.append(env.step(actions))
    return out


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


@pytest.mark.parametrize("name", ["Guard-Thief", "Wolves"])
def test_episodes_are_determined_by_the_seed_over_many_steps(name):
    # PettingZoo's own seed test compares one step; this compares 400 over several episodes
    kwargs = {"scenes": "procedural", "route": True, "shaping": 0.5, "max_episode_steps": 120}
    first = _rollout(parallel_env(name, **kwargs), 11, 400, 0)
    again = _rollout(parallel_env(name, **kwargs), 11, 400, 0)
    assert sum(1 for r in first if r[0] == "reset") >= 2  # several episodes were played
    assert _same(first, again)
    other = _rollout(parallel_env(name, **kwargs), 12, 400, 0)
    assert not _same(first, other)


def test_agents_leave_when_done_and_cannot_act_after():
    env = parallel_env("Wolves", scenes="procedural", max_episode_steps=300)
    env.reset(seed=0)
    wolves = controller("chase")
    left: list[str] = []
    while env.agents and not left:
        # the wolves hunt by their script; the critters stand still
        actions = {a: 0 for a in env.agents}
        for i, a in enumerate(env.possible_agents):
            if a.startswith("chaser") and a in env.agents:
                actions[a] = int(env.batched.world.act(wolves, env.batched.slots[i])[0])
        _, rewards, terminations, _, infos = env.step(actions)
        left = [a for a, done in terminations.items() if done]
    assert left and all(a.startswith("critter") for a in left), left
    gone = left[0]
    assert rewards[gone] == -1.0 and infos[gone]["is_success"] is False
    assert rewards["chaser_0"] == rewards["chaser_1"] == 1.0 * len(left)
    assert gone not in env.agents
    with pytest.raises(ValueError, match=f"agent '{gone}' has left the episode"):
        env.step({a: 0 for a in [*env.agents, gone]})


def test_a_guard_and_a_thief_trade_rewards_zero_sum():
    env = vector_env("Guard-Thief", 64, scenes="procedural")
    env.reset(seed=1)
    world = env.world
    drives = [controller("patrol"), controller("steal")]
    guard = thief = 0.0
    caught = escaped = 0
    for _ in range(200):
        actions = np.stack([world.act(d, s) for d, s in zip(drives, env.slots)], axis=1)
        _, reward, terminated, _, infos = env.step(actions)
        assert np.array_equal(reward[:, 0], -reward[:, 1])
        guard += reward[:, 0].sum()
        thief += reward[:, 1].sum()
        if "is_success" in infos:
            won = infos["is_success"][:, 1] & infos["_is_success"][:, 1]
            escaped += int(won.sum())
            caught += int((terminated[:, 1] & ~won).sum())
    assert caught > 0 and escaped > 0  # both sides win some
    assert guard == -thief == caught - escaped


def test_one_learner_sees_and_earns_what_the_single_agent_vector_env_gives():
    kwargs = {"scenes": "procedural", "route": True, "shaping": 0.5}
    native = gym.make_vec("vrenvs/NPC-Guard-v0", 4, vectorization_mode="vector_entry_point", **kwargs)
    multi = vector_env("NPC-Guard", 4, learners=["guard"], **kwargs)
    obs_n, _ = native.reset(seed=7)
    obs_m, _ = multi.reset(seed=7)
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(300):
        for k in obs_n:
            assert np.array_equal(obs_n[k], obs_m[k][:, 0]), k
        actions = rng.integers(0, 9, 4)
        obs_n, rew_n, term_n, trunc_n, _ = native.step(actions)
        obs_m, rew_m, term_m, trunc_m, _ = multi.step(actions[:, None])
        assert np.array_equal(rew_n.astype(np.float32), rew_m[:, 0])
        assert np.array_equal(term_n, term_m[:, 0]) and np.array_equal(trunc_n, trunc_m[:, 0])
        ends += int(term_n.sum() + trunc_n.sum())
    assert ends >= 4


def test_the_batched_form_equals_one_parallel_env_per_world():
    batched = vector_env("Guard-Thief", 3, scenes="procedural", route=True)
    singles = [parallel_env("Guard-Thief", scenes="procedural", route=True) for _ in range(3)]
    obs, _ = batched.reset(seed=20)
    single_obs = [env.reset(seed=20 + i)[0] for i, env in enumerate(singles)]
    rng = np.random.default_rng(1)
    compared = 0
    for _ in range(250):
        for i, env in enumerate(singles):
            if not env.agents:
                continue
            for a in env.agents:
                k = env.possible_agents.index(a)
                assert all(np.array_equal(obs[key][i, k], single_obs[i][a][key]) for key in obs)
                compared += 1
        actions = rng.integers(0, 9, (3, 2))
        obs, reward, terminated, truncated, _ = batched.step(actions)
        for i, env in enumerate(singles):
            if not env.agents:  # the batched world restarts on this step, the single resets
                single_obs[i] = env.reset()[0]
                assert not reward[i].any()
                continue
            took = {a: int(actions[i, env.possible_agents.index(a)]) for a in env.agents}
            single_obs[i], rewards, ended, cut, _ = env.step(took)
            for a in took:
                k = env.possible_agents.index(a)
                assert (rewards[a], ended[a], cut[a]) == (reward[i, k], terminated[i, k], truncated[i, k])
    assert compared > 500


# --- bad inputs name the value and the choices ----------------------------------------------


def test_bad_names_learners_and_actions_are_refused_clearly():
    with pytest.raises(ValueError, match=r"unknown scenario or task 'Nope'; choose from \['Guard-Thief'"):
        parallel_env("Nope")
    with pytest.raises(ValueError, match=r"learners entry 'guard' is not an actor of this world; choose"):
        parallel_env("NPC-Flee", learners=["guard"], scenes="procedural")
    with pytest.raises(ValueError, match=r"learners entry 'merchant' has no objective to learn"):
        parallel_env("Assistant", learners=["merchant"], npcs=["merchant"], scenes="procedural")
    with pytest.raises(TypeError, match=r"learners='guard' must be a non-empty list"):
        parallel_env("NPC-Guard", learners="guard", scenes="procedural")
    with pytest.raises(ValueError, match=r"names a role twice"):
        parallel_env("NPC-Guard", learners=["guard", "guard"], scenes="procedural")
    with pytest.raises(ValueError, match=r"controllers key 'thief' is not a scripted role here"):
        parallel_env("Guard-Thief", controllers={"thief": "random"}, scenes="procedural")
    with pytest.raises(TypeError, match="plays one world"):
        parallel_env("Guard-Thief", num_envs=2)
    env = parallel_env("Guard-Thief", scenes="procedural")
    with pytest.raises(
        ResetNeeded, match=r"^ParallelWorldEnv: no agent is in an episode; call reset\(\) first$"
    ):
        env.step({"guard_0": 0, "thief_0": 0})
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"unknown agent 'thief_1'; choose from \['guard_0', 'thief_0'\]"):
        env.step({"guard_0": 0, "thief_1": 0})
    with pytest.raises(ValueError, match=r"action 9 of thief_0 is not in the action space Discrete\(9\)"):
        env.step({"guard_0": 0, "thief_0": 9})
    with pytest.raises(ValueError, match=r"action True of guard_0"):
        env.step({"guard_0": True, "thief_0": 0})
    with pytest.raises(ValueError, match=r"actions has no entry for \['thief_0'\]"):
        env.step({"guard_0": 0})
    with pytest.raises(ValueError, match=r"unknown agent 'x'"):
        env.observation_space("x")
    with pytest.raises(TypeError, match=r"actions must be a dict \{agent: action\}, got \[0, 0\]"):
        env.step([0, 0])
    with pytest.raises(TypeError, match=r"use vrenvs\.multiagent\.vector_env for num_envs"):
        parallel_env("Guard-Thief", num_envs=2)
    batched = vector_env("Guard-Thief", 2, scenes="procedural")
    with pytest.raises(ResetNeeded, match=r"call reset\(\) before step\(\)"):
        batched.step(np.zeros((2, 2), np.int64))
    with pytest.raises(ValueError, match=r"reset options \['x'\] are not used"):
        batched.reset(seed=0, options={"x": 1})
    batched.reset(seed=0)
    with pytest.raises(ValueError, match=r"integer array of shape \(2, 2\)"):
        batched.step(np.zeros(2, np.int64))
    for wrong in (np.zeros((2, 2), bool), np.full((2, 2), 0.5)):
        with pytest.raises(ValueError, match=r"integer array of shape \(2, 2\)"):
            batched.step(wrong)
    for bad in (-1, 9):
        with pytest.raises(ValueError, match=r"outside the action space"):
            batched.step(np.full((2, 2), bad))
    assert batched.step(np.full((2, 2), 8))[1].dtype == np.float32
    with pytest.raises(ValueError, match="a ParallelWorldEnv plays one world; got num_envs=2"):
        ParallelWorldEnv(batched, "Guard-Thief")


def test_the_parallel_form_names_and_infos():
    """What a ``ParallelWorldEnv`` reports per agent, pinned: its name and render mode, each
    agent's info after a reset and a step, ``is_success`` at the time limit (a critter alive
    when time runs out has succeeded, a wolf that caught nothing has not), and the AEC form
    with chosen learners."""
    env = parallel_env("Wolves", scenes="procedural", max_episode_steps=3, render_mode="rgb_array")
    assert env.metadata["name"] == "vrenvs_Wolves" and env.render_mode == "rgb_array"
    _, infos = env.reset(seed=4)
    assert env.render().shape[2] == 3
    world = env.batched.world
    scene = {"scene": world.identities[0], "scene_index": int(world.scene_index[0]), "served": 0, "failed": 0}
    roles = {a: a.rsplit("_", 1)[0] for a in env.possible_agents}
    slots = dict(zip(roles, env.batched.slots))
    assert infos == {a: {"role": roles[a], "slot": slots[a], **scene} for a in roles}
    for _ in range(3):
        _, rewards, ended, cut, infos = env.step({a: 0 for a in env.agents})
    assert not any(ended.values()) and all(cut.values()) and not any(rewards.values())
    won = {a: a.startswith("critter") for a in roles}
    assert infos == {a: {"role": roles[a], "slot": slots[a], **scene, "is_success": won[a]} for a in roles}
    assert aec_env("Guard-Thief", learners=["thief"], scenes="procedural").possible_agents == ["thief_0"]


def test_an_agent_that_left_earns_nothing_while_the_others_play_on():
    env = vector_env("Wolves", 1, scenes="procedural", max_episode_steps=300)
    env.reset(seed=0)
    wolves = controller("chase")
    chasers = [i for i, a in enumerate(env.agents) if a.startswith("chaser")]
    gone: list[int] = []
    after = 0
    for _ in range(300):
        actions = np.zeros((1, len(env.agents)), np.int64)
        for i in chasers:
            actions[0, i] = env.world.act(wolves, env.slots[i])[0]
        _, reward, terminated, truncated, infos = env.step(actions)
        assert np.array_equal(infos["alive"], env.alive)
        if gone:
            if not env.alive[0].any() or not env.alive[0, chasers].any():
                break
            assert reward[0, gone].tolist() == [0.0] * len(gone)
            assert not terminated[0, gone].any() and not truncated[0, gone].any()
            after += 1
        gone += [int(k) for k in np.flatnonzero(terminated[0])]
    assert gone and after >= 3, (gone, after)


# --- the pages --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_the_scenario_pages_are_current_and_their_examples_run(name):
    """``python -m vrenvs.multiagent.docs docs/multiagent`` writes them."""
    import doctest
    from pathlib import Path

    from vrenvs.multiagent import scenario
    from vrenvs.multiagent.docs import scenario_page

    page = scenario_page(scenario(name))
    assert (Path(__file__).resolve().parent.parent / "docs" / "multiagent" / f"{name}.md").read_text() == page
    test = doctest.DocTestParser().get_doctest(page, {}, name, None, 0)
    assert len(test.examples) >= 6
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
    for role in scenario(name).learners:
        assert f"| {role} | " in page


def test_the_aec_form_refuses_a_bad_action_in_the_step_that_gives_it():
    """PettingZoo's plain ``parallel_to_aec`` keeps an action until the round's last agent
    acts: a bad one was reported by the next agent's step, naming the earlier value, and by
    every step after it until a reset. Here the step that gives it refuses it, and the env
    goes on."""
    env = aec_env("Guard-Thief", scenes="procedural")
    env.reset(seed=0)
    first = env.agent_selection
    for bad in (99, -1, "x", True, 1.5):
        with pytest.raises(ValueError, match=rf"action {bad!r} of {first} is not in the action space"):
            env.step(bad)
        assert env.agent_selection == first
    env.step(0)
    assert env.agent_selection != first
    env.step(0)  # the round is complete: the world stepped
    assert env.agent_selection == first and env.last()[0]["view"].shape == (147,)  # 3 layers of 7x7
    with pytest.raises(TypeError, match="reset options must be a dict or None, got 5"):
        parallel_env("Guard-Thief", scenes="procedural").reset(seed=0, options=5)


def test_one_hot_is_gymnasiums_flattening_and_a_batch_is_row_by_row():
    """RLlib's flat observation (:class:`~vrenvs.multiagent.flat.OneHot`): the env's
    ``Dict`` space as Gymnasium's ``flatten`` gives it (codes one-hot, boxes as they are),
    the same for a batch as row by row; a small ``Dict`` pinned by hand."""
    from gymnasium import spaces

    from vrenvs.multiagent.flat import OneHot

    env = gym.make("vrenvs/Assistant-Fetch-v0", scenes="procedural")
    space = env.observation_space
    one = OneHot(space)
    flat_space = spaces.flatten_space(space)
    assert one.space.shape == flat_space.shape == (2086,) and one.space.dtype == np.float32
    assert np.array_equal(one.space.low, flat_space.low) and np.array_equal(one.space.high, flat_space.high)
    obs = [env.unwrapped.reset(seed=s)[0] for s in range(2)]
    obs += [env.unwrapped.step(a)[0] for a in (1, 2, 5)]
    rows = [one(o) for o in obs]
    for o, row in zip(obs, rows):
        assert np.array_equal(row, spaces.flatten(space, o).astype(np.float32))
    batched = one.batch({k: np.stack([o[k] for o in obs]) for k in obs[0]})
    assert batched.dtype == np.float32 and np.array_equal(batched, np.stack(rows))
    small = spaces.Dict(
        {
            "codes": spaces.MultiDiscrete([2, 3]),
            "item": spaces.Discrete(3),
            "xy": spaces.Box(-1.0, 2.0, (2,), np.float32),
        }
    )
    tiny = OneHot(small)
    assert tiny.space.low.tolist() == [0, 0, 0, 0, 0, 0, 0, 0, -1, -1]
    assert tiny.space.high.tolist() == [1, 1, 1, 1, 1, 1, 1, 1, 2, 2]
    value = {"codes": np.array([1, 2]), "item": 0, "xy": np.array([0.5, -1.0], np.float32)}
    assert tiny(value).tolist() == [0, 1, 0, 0, 1, 1, 0, 0, 0.5, -1.0]
    two = {"codes": np.array([[1, 2], [0, 0]]), "item": np.array([0, 2]), "xy": np.array([[0.5, -1], [2, 0]])}
    assert tiny.batch(two).tolist() == [[0, 1, 0, 0, 1, 1, 0, 0, 0.5, -1.0], [1, 0, 1, 0, 0, 0, 0, 1, 2, 0]]
    with pytest.raises(ValueError, match="cannot one-hot a Text entry 'name'"):
        OneHot(spaces.Dict({"name": spaces.Text(4)}))


def test_the_batched_env_checks_its_size_and_names_its_choices():
    """Constructor arguments with the exact messages; a scenario's own learners and NPCs
    unless given; one world by default; ``state()`` is the full map."""
    for kwargs, error, message in (
        ({"num_envs": 0}, ValueError, "num_envs=0 is out of range; allowed: an integer in [1, 65536]"),
        (
            {"num_envs": 65_537},
            ValueError,
            "num_envs=65537 is out of range; allowed: an integer in [1, 65536]",
        ),
        (
            {"max_episode_steps": 0},
            ValueError,
            "max_episode_steps=0 is out of range; allowed: an integer >= 1",
        ),
        (
            {"learners": []},
            TypeError,
            "learners=[] must be a non-empty list of roles such as ['guard', 'thief']",
        ),
        ({"learners": ("guard", "thief")}, None, "guard_0 thief_0"),
        ({"npcs": ["guard"]}, None, "guard_0 thief_0 guard_1"),  # npcs replace the scenario's
    ):
        args = {"num_envs": 1, **kwargs}
        if error is None:
            env = vector_env(
                "Guard-Thief", scenes="procedural", **{k: v for k, v in args.items() if k != "num_envs"}
            )
            assert env.num_envs == 1 and " ".join(env.agents) == message
            continue
        with pytest.raises(error) as err:
            vector_env("Guard-Thief", scenes="procedural", **args)
        assert message in str(err.value), str(err.value)
    with pytest.raises(
        ValueError, match=r"learners entry 'rabbit' has no objective|not an actor of this world"
    ):
        vector_env("Guard-Thief", learners=["rabbit"], scenes="procedural")
    with pytest.raises(ValueError, match=r"\(add NPCs with npcs=\[\.\.\.\]\)"):
        vector_env("NPC-Flee", learners=["guard"], scenes="procedural")
    with pytest.raises(TypeError, match=r"name=3 must be a scenario or task name such as 'Guard-Thief'"):
        vector_env(3)
    env = parallel_env("Guard-Thief", scenes="procedural")
    env.reset(seed=2)
    full = env.state()
    world = env.batched.world
    assert full.shape == (3 * 16 * 16,)
    whole = vector_env("Guard-Thief", 2, scenes="procedural", obs_mode="full").reset(seed=2)[0]["view"]
    assert whole.shape == (2, 2, 3 * 16 * 16) and np.array_equal(whole[0, 0], full)
    margin = world.config.margin
    tiles = world.state.tiles[0, margin : margin + 16, margin : margin + 16]
    assert np.array_equal(full[: 16 * 16], tiles.ravel())
