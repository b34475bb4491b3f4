"""Curriculum scene sources (vrenvs.core.curriculum) and their SB3 callback (agents.curriculum):
the buffer's arithmetic against hand-computed cases, seeded replay, edits, state round trips,
episode scores, bad input, and a tiny training run that resumes with its buffer."""

from __future__ import annotations

import re
from fractions import Fraction

import gymnasium as gym
import numpy as np
import pytest

import vrenvs  # noqa: F401  (registers the envs)
from tests.worlds import picture
from vrenvs.core import requests
from vrenvs.core.catalog import CATALOG
from vrenvs.core.curriculum import (
    ARM_BANK,
    ARM_BASE,
    EDIT_BASE,
    CurriculumSettings,
    CurriculumSource,
    EpisodeScorer,
    LevelBuffer,
    curriculum_source,
    edit_scene,
    edited,
)
from vrenvs.core.reach import solvable_batch
from vrenvs.core.requests import LOCKED_REQUESTS
from vrenvs.core.scene import parse_ascii
from vrenvs.core.sources import NUM_SCENE_INDICES, ProceduralSource, make_source

GLYPHS = np.array(list(CATALOG.glyphs))


def ascii_of(codes: np.ndarray) -> str:
    return "\n".join("".join(GLYPHS[row]) for row in codes)


def filled(capacity: int = 3, temperature: float = 1.0, staleness: float = 0.5) -> LevelBuffer:
    buffer = LevelBuffer(capacity, temperature, staleness)
    for index, score in ((10, 0.5), (11, 0.2), (12, 0.9)):
        buffer.update(index, score)
    return buffer


# --- the buffer's arithmetic -------------------------------------------------------------------


def test_score_weights_rank_the_scores():
    # ranks by score: 12 -> 1, 10 -> 2, 11 -> 3; h = (1 / rank) ** (1 / temperature)
    assert np.allclose(filled(temperature=1.0).score_weights(), [3 / 11, 2 / 11, 6 / 11])
    assert np.allclose(filled(temperature=0.5).score_weights(), [9 / 49, 4 / 49, 36 / 49])


def test_stale_weights_follow_the_scores_reported_since():
    buffer = filled()  # clock 3, last scored at 1, 2, 3
    assert buffer.clock == 3
    assert buffer.seen[:3].tolist() == [1, 2, 3]
    assert np.allclose(buffer.stale_weights(), [2 / 3, 1 / 3, 0])


def test_replay_distribution_mixes_score_and_staleness():
    expected = [Fraction(31, 66), Fraction(17, 66), Fraction(18, 66)]  # 0.5 * P_S + 0.5 * P_C
    assert np.allclose(filled().probabilities(), [float(p) for p in expected])
    assert np.allclose(filled(staleness=0.0).probabilities(), [3 / 11, 2 / 11, 6 / 11])
    assert np.allclose(filled(staleness=1.0).probabilities(), [2 / 3, 1 / 3, 0])


def test_a_full_buffer_keeps_the_higher_scores():
    buffer = filled()
    assert buffer.update(13, 0.1) is False  # below the lowest (0.2): not kept
    assert 13 not in buffer and buffer.clock == 4
    assert buffer.update(13, 0.3) is True  # replaces scene 11 (0.2), in its slot
    assert buffer.indices.tolist() == [10, 13, 12]
    assert 11 not in buffer
    assert buffer.update(10, 0.05) is True  # a buffered scene's score is replaced, not averaged
    assert buffer.scores.tolist() == [0.05, 0.3, 0.9]
    assert buffer.seen.tolist() == [6, 5, 3]


def test_equal_lowest_scores_give_up_the_stalest():
    buffer = LevelBuffer(2, 1.0, 0.0)
    buffer.update(1, 0.2)
    buffer.update(2, 0.2)
    buffer.update(3, 0.5)
    assert buffer.indices.tolist() == [3, 2]


def test_sample_draws_by_the_replay_distribution():
    buffer = filled()
    rng = np.random.default_rng(0)
    draws = np.array([buffer.sample(rng) for _ in range(20_000)])
    shares = [(draws == i).mean() for i in (10, 11, 12)]
    assert np.allclose(shares, buffer.probabilities(), atol=0.015)


def test_sample_takes_one_uniform_from_the_rng():
    buffer = filled()
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    buffer.sample(a)
    b.random()
    assert a.random() == b.random()


def test_empty_buffer_and_bad_scores_are_refused():
    with pytest.raises(ValueError, match="empty"):
        LevelBuffer(2).sample(np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"score=nan for scene 4 must be finite"):
        LevelBuffer(2).update(4, float("nan"))
    with pytest.raises(ValueError, match=r"capacity=0 is out of range"):
        LevelBuffer(0)


# --- settings and sources ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "plx"}, r"method='plx'.*'uniform', 'plr', 'accel'"),
        ({"buffer_size": 0}, r"buffer_size=0 is out of range"),
        ({"replay_prob": 1.5}, r"replay_prob=1.5 is out of range"),
        ({"temperature": 0.0}, r"temperature=0.0 is out of range"),
        ({"staleness": -0.1}, r"staleness=-0.1 is out of range"),
        ({"min_fill": 2}, r"min_fill=2 is out of range"),
        ({"edit_cells": 0}, r"edit_cells=0 is out of range"),
    ],
)
def test_bad_settings_name_the_value_and_the_choices(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CurriculumSettings(**kwargs)


def test_a_curriculum_wraps_only_indexed_sources():
    from tests.worlds import OneScene

    scene = ProceduralSource(16).scene(0)
    with pytest.raises(TypeError, match=r"has no scene indices"):
        CurriculumSource(OneScene(scene))  # type: ignore[arg-type]
    inner = CurriculumSource(ProceduralSource(16))
    with pytest.raises(TypeError, match="already a curriculum"):
        CurriculumSource(inner)


def test_scenes_kwarg_builds_a_curriculum_and_checks_its_options():
    source = make_source({"source": "curriculum", "base": "procedural", "method": "accel"}, 16)
    assert isinstance(source, CurriculumSource) and source.method == "accel"
    assert isinstance(source.base, ProceduralSource)
    with pytest.raises(
        ValueError,
        match=r"method='bogus' is not supported; choose from \['uniform', 'plr', 'accel', 'condition'\]",
    ):
        make_source({"source": "curriculum", "base": "procedural", "method": "bogus"}, 16)
    with pytest.raises((TypeError, ValueError), match="replay"):
        make_source({"source": "curriculum", "base": "procedural", "replay": 0.5}, 16)


def plr(**settings) -> CurriculumSource:
    return CurriculumSource(ProceduralSource(16), CurriculumSettings(**settings))


def test_uniform_never_replays_and_draws_nothing():
    source = plr(method="uniform", min_fill=0.0, replay_prob=1.0)
    source.update([1, 2], [0.5, 0.7])
    assert len(source.buffer) == 0 and source.reported == 2
    rng = np.random.default_rng(3)
    assert source.replay(rng) is None
    assert rng.random() == np.random.default_rng(3).random()


def test_plr_replays_only_once_the_buffer_is_filled_enough():
    source = plr(buffer_size=4, min_fill=0.5, replay_prob=1.0)
    rng = np.random.default_rng(0)
    source.update([7], [0.3])
    assert source.replay(rng) is None  # 1 of 4 < half full
    source.update([8], [0.6])
    assert source.replay(rng) in (7, 8)
    assert source.replayed == 1
    never = plr(buffer_size=2, min_fill=0.0, replay_prob=0.0)
    never.update([7], [0.3])
    assert all(never.replay(rng) is None for _ in range(50))


def test_update_checks_its_arguments():
    source = plr()
    with pytest.raises(ValueError, match="2 scene indices for 1 scores"):
        source.update([1, 2], [0.1])
    with pytest.raises(ValueError, match=f"scene index {EDIT_BASE + 3} was not served"):
        source.update([EDIT_BASE + 3], [0.1])
    with pytest.raises(ValueError, match="scene index -1 was not served"):
        source.update([-1], [0.1])
    with pytest.raises(ValueError, match=r"score=nan for scene 2 must be finite"):
        source.update([1, 2], [0.3, float("nan")])
    assert source.reported == 0 and len(source.buffer) == 0  # nothing of the call was applied


def test_saved_state_puts_edits_in_play_back_in_the_queue_and_checks_itself():
    source = plr(method="accel", buffer_size=4, min_fill=0.0, replay_prob=1.0)
    rng = np.random.default_rng(1)
    source.update([5], [0.5])
    source.update([source.replay(rng)], [0.6])
    child = source.replay(rng)  # the edit, now being played (not yet scored)
    assert child == EDIT_BASE and source.pending == []
    state = source.state(playing=[7, child, child])
    assert state["pending"].tolist() == [EDIT_BASE]
    again = plr(method="accel", buffer_size=4, min_fill=0.0, replay_prob=1.0)
    again.load_state(state)
    assert again.replay(rng) == EDIT_BASE  # the resumed run plays it again
    for key, value, message in (
        ("edit_lengths", np.array([2]), "edits are inconsistent"),
        ("pending", np.array([EDIT_BASE + 5]), "never made"),
        ("buffer_clock", np.array(0), "scored after its own clock"),
        ("buffer_scores", np.array([np.inf]), "non-finite score"),
    ):
        fresh = plr(method="accel", buffer_size=4, min_fill=0.0, replay_prob=1.0)
        with pytest.raises(ValueError, match=message):
            fresh.load_state({**state, key: value})
        assert len(fresh.buffer) == 0 and fresh.parents == []


def test_resume_drops_log_rows_past_the_checkpoint(tmp_path):
    from agents.curriculum import truncate_log

    log = tmp_path / "curriculum.csv"
    log.write_text("timesteps,scene_index,score\n100,1,0.5\n200,2,0.25\n300,3,0.1\n")
    truncate_log(log, 200)
    assert log.read_text().splitlines() == ["timesteps,scene_index,score", "100,1,0.5", "200,2,0.25"]
    truncate_log(tmp_path / "none.csv", 5)  # no log: nothing to do


# --- ACCEL's edits -----------------------------------------------------------------------------

SMALL = """
########
#@....A#
#......#
###+####
#......#
#..a...#
#......#
########
"""


def test_an_edit_flips_floor_and_wall_cells_chosen_by_its_seed():
    scene = parse_ascii(picture(SMALL))
    after = edit_scene(scene, 0, 3)
    assert ascii_of(after.codes) == picture(
        """
        ########
        #@....A#
        #......#
        #.#+####
        #......#
        ##.a..##
        #......#
        ########
        """
    )
    assert np.array_equal(edit_scene(scene, 0, 3).codes, after.codes)  # a pure function of the seed
    assert not np.array_equal(edit_scene(scene, 2, 3).codes, after.codes)


def test_edits_stay_solvable():
    base = ProceduralSource(16)
    grids = np.stack([edit_scene(base.scene(i), s, 12).codes for i in range(20) for s in range(3)])
    assert solvable_batch(grids).all()


def test_accel_queues_an_edit_of_each_replayed_scene_and_can_rebuild_it():
    source = plr(method="accel", buffer_size=8, min_fill=0.0, replay_prob=1.0, edit_cells=5, staleness=0.0)
    rng = np.random.default_rng(0)
    source.update([40], [0.5])  # a new scene's first score: buffered, no edit
    source.update([40], [0.55])  # scored again without being replayed (a repeated draw): no edit
    assert source.pending == []
    assert source.replay(rng) == 40  # the only buffered scene
    source.update([40], [0.6])  # the replay scored: one edit queued
    assert source.pending == [EDIT_BASE]
    child = source.replay(rng)
    assert child == EDIT_BASE and source.pending == []
    identity = source.identity(child)
    assert identity["index"] == 40 and identity["edit_seeds"] == [0] and identity["edit_cells"] == 5
    assert identity["curriculum"] == "accel"
    rebuilt = edited(ProceduralSource(16), 40, identity["edit_seeds"], 5)
    assert np.array_equal(rebuilt.codes, source.scene(child).codes)
    source.update([child], [0.9])  # the edit's own first score: buffered (the highest)
    assert source.replay(rng) == child  # replayed ...
    source.update([child], [0.9])  # ... and scored: an edit of the edit, seeds chained
    assert source.identity(EDIT_BASE + 1)["edit_seeds"] == [0, 1]
    with pytest.raises(ValueError, match="is no edit of this curriculum"):
        source.scene(EDIT_BASE + 7)


# --- condition: PLR over the generator's conditions ---------------------------------------------


class Made(ProceduralSource):
    """An arm's source in the stand-in: records the seeds it is asked to prefetch."""

    def __init__(self, size: int = 16) -> None:
        super().__init__(size)
        self.prefetched: list[list[int]] = []

    def prefetch(self, indices) -> None:
        self.prefetched.append(sorted(int(i) for i in indices))


class Conditioned(ProceduralSource):
    """A stand-in for a conditioned generator: two properties, the arms' sources recorded."""

    def __init__(self, size: int = 16) -> None:
        super().__init__(size)
        self.bank_size = 4
        self.asked: list[dict[str, str]] = []
        self.made: list[Made] = []

    def target_choices(self) -> dict[str, tuple[str, ...]]:
        return {"doors": ("none", "some"), "paths": ("short", "mid", "long")}

    def conditioned(self, targets: dict[str, str]) -> ProceduralSource:
        self.asked.append(dict(targets))
        self.made.append(Made(self.size))
        return self.made[-1]


def steered(**settings) -> CurriculumSource:
    settings = {"method": "condition", "properties": ("paths", "doors"), "replay_prob": 1.0, **settings}
    return CurriculumSource(Conditioned(), CurriculumSettings(**settings))


def test_condition_arms_are_the_buckets_and_each_plays_first_in_order():
    source = steered()
    assert source.arms == (
        ("paths", "short"),
        ("paths", "mid"),
        ("paths", "long"),
        ("doors", "none"),
        ("doors", "some"),
    )
    rng = np.random.default_rng(0)
    played = [source.replay(rng, 100, 8) for _ in range(5)]
    arms, seeds = zip(*(divmod(i - ARM_BASE, NUM_SCENE_INDICES) for i in played))
    assert arms == (0, 1, 2, 3, 4)
    assert all(100 <= s < 108 for s in seeds)  # seeds from the split [100, 108)
    assert source.arm_played.tolist() == [1, 1, 1, 1, 1] and source.replayed == 5
    # a new scene of an arm continues that arm's block of seeds (here clipped to the split's
    # 8): every seed of the split once, in a random order
    more = [source.replay(rng, 100, 8) for _ in range(80)]
    first = [
        divmod(i - ARM_BASE, NUM_SCENE_INDICES)[1]
        for i in [played[0], *more]
        if i < ARM_BASE + NUM_SCENE_INDICES
    ]
    assert len(first) >= 9 and len(set(first[:4])) == 4 and all(100 <= s < 108 for s in first)
    assert source.base.asked == []  # an arm's source is made when its first scene is
    for index in played:
        source.scene(index)
    assert source.base.asked == [
        {"paths": "short"},
        {"paths": "mid"},
        {"paths": "long"},
        {"doors": "none"},
        {"doors": "some"},
    ]


def test_condition_arm_blocks_grow_from_a_bank_to_arm_bank_and_are_made_in_one_batch():
    """An arm draws one base bank of seeds (4 here) first and doubles its block per refill up
    to ARM_BANK; a block is aligned to its size, plays through in a random order, and is
    made as one batch (prefetched) when its first scene is asked for."""
    wide = steered(properties=("doors",))  # two arms, a split of 4096 seeds
    assert ARM_BANK == 128 and [wide.arm_block(0), wide.arm_block(1)] == [4, 4]
    rng = np.random.default_rng(3)
    blocks: list[list[int]] = []
    while len(blocks) < 8:
        before = int(wide.arm_refills[0])
        arm, seed = divmod(wide.replay(rng, 0, 4096) - ARM_BASE, NUM_SCENE_INDICES)
        if arm != 0:
            continue  # arm 1 plays in between
        if wide.arm_refills[0] != before:
            blocks.append([])
            wide.scene(ARM_BASE + seed)  # a new block: made as a whole when first asked for
        blocks[-1].append(seed)
    sizes = [4, 8, 16, 32, 64, 128, 128]
    assert [len(b) for b in blocks[:7]] == sizes and wide.arm_refills[0] == 8 and wide.arm_block(0) == 128
    for block, size in zip(blocks, sizes):
        low = block[0] // size * size
        assert sorted(block) == list(range(low, low + size)) and block != sorted(block)
    assert wide.base.made[0].prefetched[:7] == [sorted(b) for b in blocks[:7]]
    # a block clipped by a narrow split: the part of one aligned block of 128 inside it
    narrow = steered(properties=("doors",))
    narrow.arm_refills[:] = 5
    assert narrow.arm_block(0) == 128
    picks: list[int] = []
    while len(picks) < 3:
        arm, seed = divmod(narrow.replay(rng, 125, 6) - ARM_BASE, NUM_SCENE_INDICES)
        picks += [seed] if arm == 0 else []
    assert sorted(picks) in ([125, 126, 127], [128, 129, 130])


def test_condition_scores_arms_by_running_mean_and_picks_by_rank():
    source = steered(temperature=1.0, staleness=0.0)
    rng = np.random.default_rng(1)
    played = [source.replay(rng) for _ in range(5)]
    source.update(played, [0.1, 0.5, 0.9, 0.2, 0.3])
    source.update([played[2]], [0.4])  # 0.9 + 0.1 * (0.4 - 0.9)
    source.update([7], [5.0])  # a base scene scores no arm
    assert source.buffer.indices[:5].tolist() == [0, 1, 2, 3, 4]
    assert np.allclose(source.buffer.scores[:5], [0.1, 0.5, 0.85, 0.2, 0.3])
    # ranks 5, 2, 1, 4, 3 -> h = 1 / rank
    h = np.array([1 / 5, 1 / 2, 1, 1 / 4, 1 / 3])
    assert np.allclose(source.buffer.probabilities(), h / h.sum())
    counts = np.bincount(
        [(source.replay(rng) - ARM_BASE) // NUM_SCENE_INDICES for _ in range(4000)], minlength=5
    )
    assert np.allclose(counts / 4000, h / h.sum(), atol=0.03)
    never = steered(replay_prob=0.0)
    assert all(never.replay(rng) is None for _ in range(20))
    small = steered(buffer_size=2)  # every arm keeps its slot (and its running mean)
    assert small.buffer.capacity == 5


def test_condition_with_success_scores_prioritises_arms_near_half_success():
    source = steered(temperature=1.0, staleness=0.0, score="success")
    rng = np.random.default_rng(4)
    played = [source.replay(rng) for _ in range(5)]
    source.update(played, [1.0, 0.0, 1.0, 1.0, 0.0])
    source.update(played[:3], [0.0, 1.0, 0.0])  # running means 0.9, 0.1, 0.9, 1.0, 0.0
    assert np.allclose(source.arm_means, [0.9, 0.1, 0.9, 1.0, 0.0])
    assert np.allclose(source.buffer.scores[:5], [0.09, 0.09, 0.09, 0.0, 0.0])  # p * (1 - p)
    with pytest.raises(ValueError, match=r"score='success' is for method='condition'.*method='plr'"):
        CurriculumSettings("plr", score="success")


def test_condition_scene_identity_and_state_round_trip():
    source = steered()
    rng = np.random.default_rng(2)
    played = [source.replay(rng, 0, 64) for _ in range(8)]
    arm, seed = divmod(played[4] - ARM_BASE, NUM_SCENE_INDICES)
    assert arm == 4
    identity = source.identity(played[4])
    assert identity["arm"] == "doors=some" and identity["curriculum"] == "condition"
    assert identity["index"] == seed
    assert np.array_equal(source.scene(played[4]).codes, ProceduralSource(16).scene(seed).codes)
    source.update(played, np.linspace(0.1, 0.8, 8))
    again = steered()
    again.load_state(source.state(playing=played))
    assert again.state().keys() == source.state().keys()
    assert again.arm_refills.tolist() == [1, 1, 1, 1, 1]
    # a restored arm's queued seeds are made as one batch again when first asked for
    queued = sorted(again._arm_queues[0])
    again.scene(ARM_BASE + queued[0])
    assert again.base.made[0].prefetched == [queued]
    # a state saved before arm blocks grew: played arms continue with the largest block
    older = steered()
    older.load_state({k: v for k, v in source.state().items() if k != "arm_refills"})
    assert older.arm_refills.tolist() == [16] * 5 and older.arm_block(0) == ARM_BANK
    with pytest.raises(ValueError, match="the saved arms are inconsistent"):
        older.load_state({**source.state(), "arm_refills": np.array([1, 1, -1, 1, 1])})
    with pytest.raises(ValueError, match=r"^the saved arm_refills has 2 entries for 5 arms$"):
        older.load_state({**source.state(), "arm_refills": np.array([1, 1])})
    for key, value in source.state().items():
        assert np.array_equal(again.state()[key], value), key
    assert [again.replay(np.random.default_rng(9), 0, 64) for _ in range(10)] == [
        source.replay(np.random.default_rng(9), 0, 64) for _ in range(10)
    ]
    fewer = CurriculumSource(Conditioned(), CurriculumSettings("condition", properties=("doors",)))
    with pytest.raises(ValueError, match="the saved curriculum has 5 arms; this one has 2"):
        fewer.load_state(source.state())
    with pytest.raises(ValueError, match=f"scene index {ARM_BASE + 5 * NUM_SCENE_INDICES} is no arm scene"):
        source.update([ARM_BASE + 5 * NUM_SCENE_INDICES], [0.1])


def test_condition_needs_a_conditioned_base_and_known_properties():
    with pytest.raises(TypeError, match=r"base='procedural' \(ProceduralSource\) takes none"):
        plr(method="condition")
    with pytest.raises(
        ValueError, match=r"properties\[\]='rooms' is not supported; choose from \['doors', 'paths'\]"
    ):
        steered(properties=("rooms",))
    assert CurriculumSettings("condition", properties="doors, paths").properties == ("doors", "paths")
    with pytest.raises(TypeError, match="properties=3 must name 1 to 8 distinct scene properties"):
        CurriculumSettings("condition", properties=3)
    with pytest.raises(TypeError, match=r"properties=\('doors', 'doors'\) must name 1 to 8 distinct"):
        CurriculumSettings("condition", properties=("doors", "doors"))


def test_condition_over_vqvae_asks_the_generator_and_replays_by_identity():
    from generators.properties import measure

    env = gym.make(
        "vrenvs/Assistant-Fetch-v0",
        scenes={
            "source": "curriculum",
            "base": "vqvae",
            "method": "condition",
            "replay_prob": 1.0,
            "properties": "locked_doors",
        },
        start_scene=5000,
        num_scenes=64,
    )
    _, info = env.reset(seed=0)
    source = env.unwrapped.world.source
    assert source.arms == (("locked_doors", "none"), ("locked_doors", "some"))
    seen = [info["scene"]]
    source.update([int(env.unwrapped.world.scene_index[0])], [0.0])
    seen += [env.reset()[1]["scene"] for _ in range(7)]
    locked = [s for s in seen if s["arm"] == "locked_doors=some"]
    assert locked and all(s["targets"] == {"locked_doors": "some"} for s in locked)
    assert all(5000 <= s["latent_seed"] < 5064 for s in seen)
    s = locked[0]
    alone = gym.make(
        "vrenvs/Assistant-Fetch-v0",
        scenes={"source": "vqvae", "targets": s["targets"]},
        start_scene=s["index"],
        num_scenes=1,
    )
    alone.reset(seed=1)
    codes = alone.unwrapped.world.source.scene(s["index"]).codes
    assert np.array_equal(codes, source.scene(ARM_BASE + NUM_SCENE_INDICES + s["index"]).codes)
    assert measure(codes[None], ("locked_doors",))[0, 0] == 1


def test_condition_with_locked_requests_marks_arm_scenes_only():
    source = steered(locked_requests=0.75)
    rng = np.random.default_rng(3)
    played = [source.replay(rng, 0, 64) for _ in range(5)]
    for index in played:
        scene = source.scene(index)
        assert scene.meta[LOCKED_REQUESTS] == "0.75"
        assert source.identity(index)["locked_requests"] == 0.75
        assert np.array_equal(scene.codes, steered().scene(index).codes), "the same layout"
    assert LOCKED_REQUESTS not in source.scene(7).meta and "locked_requests" not in source.identity(7)
    plain = steered()
    assert LOCKED_REQUESTS not in plain.scene(played[0]).meta
    assert "locked_requests" not in plain.identity(played[0])
    with pytest.raises(ValueError, match=r"locked_requests=0.5 is for method='condition'.*method='plr'"):
        CurriculumSettings("plr", locked_requests=0.5)
    with pytest.raises(ValueError, match=r"locked_requests=1.5 is out of range; allowed: .*\[0.0, 1.0\]"):
        CurriculumSettings("condition", locked_requests=1.5)


def test_condition_arms_with_locked_requests_ask_for_their_locked_doors():
    """At share 1 every arm episode whose scene has a locked door with its key starts with a
    request to open one; the same scenes at share 0 are asked as usual."""
    asked: dict[float, list[tuple[bool, bool]]] = {}
    for share in (0.0, 1.0):
        source = steered(properties=("doors",), locked_requests=share)
        env = gym.make("vrenvs/Assistant-v0", scenes=source, start_scene=0, num_scenes=400).unwrapped
        firsts = []
        for seed in range(200):
            env.reset(seed=seed)
            st = env.world.state
            assert env.world.scene_index[0] >= ARM_BASE and st.locked_requests[0] == share
            keys = set(CATALOG.KEY_COLOUR[st.items[0]][CATALOG.KEY_COLOUR[st.items[0]] >= 0].tolist())
            locks = CATALOG.LOCK_COLOUR[st.tiles[0]][CATALOG.IS_LOCKED[st.tiles[0]] & (st.door_map[0] >= 0)]
            door = st.tiles[0][st.door_map[0] == st.req_target[0]]
            locked = bool(st.req_type[0] == requests.OPEN and CATALOG.IS_LOCKED[door].any())
            firsts.append((bool(keys & set(locks.tolist())), locked))
        asked[share] = firsts
    available = [a for a, _ in asked[1.0]]
    assert [a for a, _ in asked[0.0]] == available, "the same scenes"
    assert sum(available) >= 5, "enough of them have a locked door and its key"
    assert [locked for _, locked in asked[1.0]] == available
    assert sum(locked for _, locked in asked[0.0]) < sum(available) / 2


# --- state -------------------------------------------------------------------------------------


def test_state_round_trip_restores_buffer_edits_and_queue():
    source = plr(method="accel", buffer_size=4, min_fill=0.0, replay_prob=1.0)
    rng = np.random.default_rng(4)
    source.update([1, 2, 3], [0.1, 0.4, 0.3])
    for _ in range(3):
        played = [source.replay(rng) for _ in range(2)]
        source.update(played, [0.2, 0.5])
    assert len(source.parents) >= 2 and len(source.pending) > 0
    again = plr(method="accel", buffer_size=4, min_fill=0.0, replay_prob=1.0)
    again.load_state(source.state())
    assert np.array_equal(again.buffer.probabilities(), source.buffer.probabilities())
    assert again.parents == source.parents and again.edit_seeds == source.edit_seeds
    assert again.pending == source.pending and again.buffer.clock == source.buffer.clock
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    assert [source.replay(a) for _ in range(6)] == [again.replay(b) for _ in range(6)]


def test_a_foreign_state_is_refused_and_changes_nothing(tmp_path):
    from agents.curriculum import load_state, save_state

    source = plr(buffer_size=4)
    source.update([5], [0.5])
    other = plr(method="accel", buffer_size=4)
    with pytest.raises(ValueError, match=r"the saved curriculum is 'accel', this one 'plr'"):
        source.load_state(other.state())
    with pytest.raises(ValueError, match="lacks"):
        source.load_state({"version": np.array(1)})
    state = source.state()
    state["version"] = np.array(99)
    with pytest.raises(ValueError, match="version 99"):
        source.load_state(state)
    (tmp_path / "curriculum.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not a curriculum state"):
        load_state(source, tmp_path)
    big = plr(buffer_size=8)
    big.update(list(range(6)), [0.1] * 6)
    save_state(big, tmp_path)
    with pytest.raises(ValueError, match="holds 6 scenes; this one holds at most 4"):
        load_state(source, tmp_path)
    assert source.buffer.indices[:1].tolist() == [5] and len(source.buffer) == 1
    with pytest.raises(ValueError, match="is missing"):
        load_state(source, tmp_path / "nowhere")


# --- episode scores ----------------------------------------------------------------------------


def test_episode_scores_average_the_advantages_of_each_episode():
    adv = np.array([[1.0, -1.0], [-2.0, 3.0], [0.5, 1.0]])
    dones = np.array([[False, True], [True, False], [False, False]])
    played = np.array([[5, 7], [5, 8], [9, 8]])
    pvl = EpisodeScorer(2, "pvl")
    indices, scores = pvl(adv, dones, played)
    assert indices.tolist() == [7, 5] and scores.tolist() == [0.0, 0.5]
    indices, scores = pvl(np.array([[1.0, 1.0]]), np.array([[True, True]]), np.array([[9, 8]]))
    assert indices.tolist() == [9, 8] and np.allclose(scores, [0.75, 5 / 3])  # sums carried over
    l1 = EpisodeScorer(2, "l1")
    assert l1(adv, dones, played)[1].tolist() == [1.0, 1.5]
    wins = np.array([[True, True], [False, False], [True, True]])  # read where an episode ends
    assert EpisodeScorer(2, "success")(adv, dones, played, wins)[1].tolist() == [1.0, 0.0]
    assert EpisodeScorer(2, "regret")(adv, dones, played, wins)[1].tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match=r"score='success' needs successes of shape \(3, 2\); got None"):
        EpisodeScorer(2, "success")(adv, dones, played)


def test_episode_scorer_checks_shapes_and_names():
    with pytest.raises(
        ValueError, match=r"score='mse' is not supported; choose from \['pvl', 'l1', 'success', 'regret'\]"
    ):
        EpisodeScorer(2, "mse")
    with pytest.raises(ValueError, match=r"expected \(T, 2\)"):
        EpisodeScorer(2)(np.zeros((3, 3)), np.zeros((3, 3), bool), np.zeros((3, 3), int))
    with pytest.raises(ValueError, match="must match advantages"):
        EpisodeScorer(2)(np.zeros((3, 2)), np.zeros((2, 2), bool), np.zeros((3, 2), int))


# --- in the envs -------------------------------------------------------------------------------


def curriculum_env(**settings):
    scenes = {"source": "curriculum", "base": "procedural", **settings}
    return gym.make("vrenvs/Assistant-Fetch-v0", scenes=scenes, num_scenes=1000)


def test_env_info_names_the_curriculum_and_the_replayed_scene():
    env = curriculum_env(method="plr", buffer_size=2, min_fill=1.0, replay_prob=1.0)
    _, info = env.reset(seed=0)
    assert info["scene"]["curriculum"] == "plr" and info["scene"]["source"] == "procedural"
    source = env.unwrapped.world.source
    source.update([17, 23], [0.2, 0.8])
    played = {env.reset()[1]["scene"]["index"] for _ in range(30)}
    assert played == {17, 23}


def test_seeded_runs_replay_the_same_scene_sequence():
    def sequence() -> list[int]:
        env = curriculum_env(method="accel", buffer_size=4, min_fill=0.5, replay_prob=0.5)
        env.reset(seed=11)
        source = env.unwrapped.world.source
        out = []
        for k in range(40):
            index = int(env.unwrapped.world.scene_index[0])
            out.append(index)
            source.update([index], [float((index * 7919 + k) % 97) / 97])
            env.reset()
        return out

    first = sequence()
    assert first == sequence()
    assert any(i >= EDIT_BASE for i in first)  # edits were played
    assert len(set(first)) < len(first)  # and scenes replayed


def test_uniform_curriculum_plays_the_base_sources_episodes():
    plain = gym.make("vrenvs/Assistant-Fetch-v0", scenes="procedural", num_scenes=1000)
    wrapped = curriculum_env(method="uniform")
    a = [plain.reset(seed=3)[1]["scene"]["index"]] + [plain.reset()[1]["scene"]["index"] for _ in range(9)]
    b = [wrapped.reset(seed=3)[1]["scene"]["index"]] + [
        wrapped.reset()[1]["scene"]["index"] for _ in range(9)
    ]
    assert a == b


def test_curriculum_env_passes_gymnasiums_checker():
    from gymnasium.utils.env_checker import check_env

    check_env(curriculum_env(method="accel").unwrapped, skip_render_check=True)


# --- the SB3 run -------------------------------------------------------------------------------


def fetch_report(runs):
    """``agents.curriculum_report`` over the Fetch runs under ``runs`` (4 episodes per set)."""
    from agents.curriculum_report import main

    out = runs / "report"
    assert (
        main(
            ["--env", "vrenvs/Assistant-Fetch-v0", "--runs", str(runs), "--episodes", "4", "--out", str(out)]
        )
        == 0
    )
    return out


def test_tiny_curriculum_run_scores_episodes_and_resumes_with_its_buffer(tmp_path):
    import json

    import yaml

    from agents.curriculum import load_state
    from agents.train import train
    from tests.test_agents import TINY

    args = [*TINY, "env_kwargs={max_episode_steps: 24, scenes: procedural}", "curriculum.method=accel"]
    args += ["curriculum.buffer_size=8", "curriculum.min_fill=0.25"]
    args += ["hard_episodes=2"]
    run = train("vrenvs/Assistant-Fetch-v0", args, runs=tmp_path, run_id="accel-s0", progress_bar=False)
    assert "hard_success" in (run / "eval.csv").read_text().splitlines()[0]
    rows = (run / "curriculum.csv").read_text().splitlines()
    assert rows[0] == "timesteps,scene_index,score" and len(rows) > 10
    saved = plr(method="accel", buffer_size=8, min_fill=0.25)
    load_state(saved, run / "checkpoints/latest")
    assert saved.reported == len(rows) - 1 and 4 <= len(saved.buffer) <= 8
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["curriculum"] == {"method": "accel", "buffer_size": 8, "min_fill": 0.25}
    state = json.loads((run / "checkpoints/latest/state.json").read_text())
    config["n_timesteps"] = state["num_timesteps"] + 128
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    train("vrenvs/Assistant-Fetch-v0", resume=run, progress_bar=False)
    resumed = plr(method="accel", buffer_size=8, min_fill=0.25)
    load_state(resumed, run / "checkpoints/latest")
    assert resumed.reported > saved.reported  # the resumed run went on from the saved buffer
    assert resumed.buffer.clock == resumed.reported
    out = fetch_report(tmp_path)
    results = json.loads((out / "results.json").read_text())
    assert [len(results[m]) for m in ("uniform", "plr", "accel")] == [0, 0, 1]
    assert set(results["accel"][0]) >= {"hard_stoch", "hard_det", "heldout_stoch", "heldout_det", "steps"}
    assert {"hard_locked_stoch", "hard_rest_stoch"} <= set(results["accel"][0])
    assert (out / "curves.png").stat().st_size > 0 and (out / "chosen.png").stat().st_size > 0
    assert "| accel | 1 |" in (out / "results.md").read_text()


def test_tiny_condition_run_scores_successes_and_reports_its_arms(tmp_path):
    import json

    from agents.curriculum_report import arm_shares
    from agents.train import train
    from tests.test_agents import TINY

    args = [*TINY, "env_kwargs={max_episode_steps: 24, scenes: vqvae}", "curriculum.method=condition"]
    args += ["curriculum.score=success", "curriculum.properties=locked_doors", "curriculum.replay_prob=1.0"]
    run = train("vrenvs/Assistant-Fetch-v0", args, runs=tmp_path, run_id="condition-s0", progress_bar=False)
    rows = (run / "curriculum.csv").read_text().splitlines()[1:]
    assert len(rows) >= 8
    assert {r.split(",")[2] for r in rows} <= {"0", "1"}  # episode successes
    assert all(int(r.split(",")[1]) >= ARM_BASE for r in rows)  # replay_prob 1: every scene an arm's
    names, _, shares = arm_shares(run, bins=2)
    assert names == ["locked_doors=none", "locked_doors=some", "base"]
    assert np.allclose(shares.sum(axis=1), 1.0) and (shares[:, 2] == 0).all()
    out = fetch_report(tmp_path)
    assert len(json.loads((out / "results.json").read_text())["condition"]) == 1
    assert (out / "arms.png").stat().st_size > 0 and "| condition | 1 |" in (out / "results.md").read_text()


def test_curriculum_config_keys_are_checked():
    from agents.config import load_config
    from agents.train import main

    with pytest.raises(ValueError, match=r"curriculum.method='plx' is not supported; choose from"):
        load_config("vrenvs/Assistant-Fetch-v0", ["curriculum.method=plx"])
    with pytest.raises(TypeError, match=r"curriculum.properties=3 must be a comma-separated string"):
        load_config("vrenvs/Assistant-Fetch-v0", ["curriculum.properties=3"])
    assert load_config("vrenvs/Assistant-Fetch-v0", ["curriculum.properties=distance"]).curriculum == {
        "properties": "distance"
    }
    with pytest.raises(ValueError, match=r"'curriculum.size' does not exist"):
        load_config("vrenvs/Assistant-Fetch-v0", ["curriculum.size=3"])
    assert main(["vrenvs/Assistant-Fetch-v0", "--curriculum", "plr", "--set", "curriculum.method=accel"]) == 2
    with pytest.raises(ValueError, match="holds 16x16 scenes; set hard_episodes=0"):
        load_config("vrenvs/Assistant-Fetch-v0", ["hard_episodes=10", "env_kwargs={size: 32}"])


# --- the hard held-out set ---------------------------------------------------------------------


def test_hard_set_is_the_shipped_bank_its_manifest_describes():
    import json

    from agents.hardset import HARD_SET, bank_path, farthest_item, hard_kwargs
    from vrenvs.core.sources import AsciiFolderSource, BankSource

    manifest = json.loads(bank_path().with_suffix(".json").read_text())
    codes = BankSource(16, bank_path()).codes
    assert manifest["name"] == HARD_SET == "hard16-v6"
    assert len(codes) == len(manifest["scenes"]) == manifest["generated"] + manifest["designer"] == 244
    assert solvable_batch(codes).all()
    generated = codes[: manifest["generated"]]
    locked = CATALOG.IS_LOCKED[split_tiles(generated)].any(axis=(1, 2))
    far = farthest_item(generated)
    assert ((far >= manifest["decile_edge"]) | locked).all()  # every generated scene meets the rule
    assert [r["locked_door"] for r in manifest["scenes"][: len(generated)]] == locked.tolist()
    designer = AsciiFolderSource(16)
    assert manifest["designer"] == len(designer.scenes)
    assert all(np.array_equal(codes[len(generated) + k], designer.scene(k).codes) for k in range(35))
    kwargs = hard_kwargs({"scenes": "vqvae", "num_scenes": 100, "start_scene": 10_000_000, "route": True})
    assert kwargs == {"scenes": str(bank_path()), "num_scenes": 244, "start_scene": 0, "route": True}
    env = gym.make("vrenvs/Assistant-v0", **kwargs)
    _, info = env.reset(seed=0)
    assert info["scene"]["source"] == str(bank_path())


def test_hard_sets_are_chosen_by_name():
    from agents.hardset import HARD_SET, HARD_SETS, bank_path, hard_kwargs

    versions = ("hard16-v1", "hard16-v2", "hard16-v3", "hard16-v4", "hard16-v5", "hard16-v6")
    assert versions == HARD_SETS and HARD_SETS[-1] == HARD_SET
    assert bank_path("hard16-v6") == bank_path() and bank_path().is_file()
    assert bank_path("hard16-v1").is_file() and bank_path("hard16-v1") != bank_path()
    assert hard_kwargs({}, "hard16-v1")["num_scenes"] == 231  # older versions stay shipped
    assert hard_kwargs({}, "hard16-v2")["num_scenes"] == 233
    assert hard_kwargs({}, "hard16-v3")["num_scenes"] == 233
    assert hard_kwargs({}, "hard16-v4")["num_scenes"] == 218
    assert hard_kwargs({}, "hard16-v5")["num_scenes"] == 246
    assert hard_kwargs({}, "hard16-v6")["num_scenes"] == 244
    unknown = r"hard set='hard16-v9' is not supported; choose from "
    unknown += r"\['hard16-v1', 'hard16-v2', 'hard16-v3', 'hard16-v4', 'hard16-v5', 'hard16-v6'\]"
    with pytest.raises(ValueError, match=unknown):
        hard_kwargs({}, "hard16-v9")


def split_tiles(codes: np.ndarray) -> np.ndarray:
    from vrenvs.core.scene import split_layers

    return split_layers(codes)[0]


def test_farthest_item_counts_bfs_steps_through_doors():
    from agents.hardset import farthest_item

    scene = parse_ascii(picture(SMALL))  # user (1,1), apple (5,3): via the door at (3,3)
    assert farthest_item(scene.codes[None]).tolist() == [6]


@pytest.mark.slow
def test_hard_set_rebuilds_bit_for_bit():
    import torch

    from agents.hardset import main

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the source draws on its own thread count, whatever the caller's
    try:
        assert main(["--check"]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)


def test_curriculum_report_intervals_and_tables():
    from agents.curriculum_report import _table, interval

    assert interval([0.5]) == (0.5, 0.0)
    mean, half = interval([0.2, 0.4, 0.6])
    assert mean == pytest.approx(0.4) and half == pytest.approx(4.303 * 0.2 / np.sqrt(3))
    row = {"hard_stoch": 0.5, "hard_det": 0.25, "heldout_stoch": 1.0, "heldout_det": 0.75}
    row |= {"hard_locked_stoch": 0.125, "hard_rest_stoch": 0.875}
    rows = [{**row, "steps": 100, "wall_seconds": 60.0, "steps_per_second": 100 / 60}]
    old = [{k: v for k, v in rows[0].items() if k != "hard_rest_stoch"}]
    table = _table({"uniform": rows, "plr": [], "accel": old})
    assert table.splitlines()[2] == (
        "| uniform | 1 | 50.0% ± 0.0 | 25.0% ± 0.0 | 100.0% ± 0.0 | 75.0% ± 0.0 | 12.5% ± 0.0 | 87.5% ± 0.0 "
        "| 100 | 1.0 | 2 |"
    )
    assert table.splitlines()[3].startswith(
        "| accel | 1 | 50.0% ± 0.0 | 25.0% ± 0.0 | 100.0% ± 0.0 | 75.0% ± 0.0 | 12.5% ± 0.0 | — |"
    )
    assert len(table.splitlines()) == 4  # no row for a method without runs


def _mutables(value, found):
    """The ids of every dict and list inside ``value``."""
    if isinstance(value, (dict, list)):
        found.add(id(value))
        for item in value.values() if isinstance(value, dict) else value:
            _mutables(item, found)
    return found


def data_shares_objects(a, b) -> bool:
    """Whether ``a`` and ``b`` hold a dict or list in common (gymnasium 1.4 has such a
    helper; 1.2, which Ray pins, does not)."""
    return bool(_mutables(a, set()) & _mutables(b, set()))


def test_infos_of_an_edited_scene_share_no_object():
    env = curriculum_env(method="accel", buffer_size=2, min_fill=0.5, replay_prob=1.0)
    env.reset(seed=0)
    source = env.unwrapped.world.source
    source.update([3], [0.5])  # buffered: the next reset replays it
    env.reset()
    source.update([3], [0.6])  # the replay scored: an edit is queued
    _, first = env.reset()
    assert first["scene"]["edit_seeds"] == [0]
    second = env.step(0)[4]
    assert second["scene"] == first["scene"] and not data_shares_objects(first, second)


def test_the_hard_sets_locked_door_scenes_are_its_manifests():
    import json

    from agents.hardset import bank_path, locked_scenes

    locked = locked_scenes()
    manifest = json.loads(bank_path().with_suffix(".json").read_text())
    generated = [row["locked_door"] for row in manifest["scenes"] if "locked_door" in row]
    assert len(generated) == manifest["generated"] == 209
    assert locked[:209].tolist() == generated
    assert (int(locked[:209].sum()), int(locked[209:].sum())) == (129, 10)  # + 10 designer scenes


# --- bounds and saved-state checks, pinned value by value (found by mutation testing) -----------


@pytest.mark.parametrize(
    ("field", "ok", "bad", "allowed"),
    [
        ("buffer_size", [1, 1_000_000], [0, 1_000_001], "an integer in [1, 1000000]"),
        ("replay_prob", [0.0, 1.0], [-0.01, 1.01], "a finite number in [0.0, 1.0]"),
        ("temperature", [1e-6, 100.0], [0.0, 100.5], "a finite number in (0.0, 100.0]"),
        ("staleness", [0.0, 1.0], [-0.01, 1.01], "a finite number in [0.0, 1.0]"),
        ("min_fill", [0.0, 1.0], [-0.01, 1.01], "a finite number in [0.0, 1.0]"),
        ("edit_cells", [1, 1024], [0, 1025], "an integer in [1, 1024]"),
        ("locked_requests", [0.0], [-0.1, 1.5], "a finite number in [0.0, 1.0]"),
    ],
)
def test_settings_take_their_bounds_and_refuse_what_lies_past_them(field, ok, bad, allowed):
    for value in ok:
        assert getattr(CurriculumSettings(**{field: value}), field) == value
    for value in bad:
        with pytest.raises(
            ValueError, match=f"^{re.escape(f'{field}={value!r} is out of range; allowed: {allowed}')}$"
        ):
            CurriculumSettings(**{field: value})


def test_settings_name_properties_and_scores_exactly():
    listed = CurriculumSettings(method="condition", properties=["distance", "locked_doors"])
    assert listed.properties == ("distance", "locked_doors") and hash(listed)
    spaced = CurriculumSettings(method="condition", properties=" rooms , distance")
    assert spaced.properties == ("rooms", "distance")
    assert len(CurriculumSettings(method="condition", properties=[f"p{k}" for k in range(8)]).properties) == 8
    for method in ("plr", "accel", "uniform"):  # they read no properties: only the default is taken
        with pytest.raises(ValueError, match=rf"^properties='rooms' is for method='condition'.*'{method}'"):
            CurriculumSettings(method=method, properties="rooms")
        assert CurriculumSettings(method=method, properties="locked_doors,distance").method == method
    for bad in ([f"p{k}" for k in range(9)], [], ["rooms", "rooms"], ["rooms", 3]):
        with pytest.raises(TypeError, match=r"must name 1 to 8 distinct scene properties, as a list or a"):
            CurriculumSettings(properties=bad)
    with pytest.raises(
        ValueError, match=re.escape("score='sharp' is not supported; choose from ['pvl', 'l1', 'su")
    ):
        CurriculumSettings(score="sharp")
    for method in ("plr", "accel"):
        with pytest.raises(
            ValueError, match=rf"^score='success' is for method='condition'.*method='{method}'"
        ):
            CurriculumSettings(method=method, score="success")
    assert CurriculumSettings(method="uniform", score="success").score == "success"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0,), "capacity=0 is out of range; allowed: an integer in [1, 1000000]"),
        ((1_000_001,), "capacity=1000001 is out of range; allowed: an integer in [1, 1000000]"),
        ((4, 0.0), "temperature=0.0 is out of range; allowed: a finite number in (0.0, 100.0]"),
        ((4, 100.5), "temperature=100.5 is out of range; allowed: a finite number in (0.0, 100.0]"),
        ((4, 1.0, -0.1), "staleness=-0.1 is out of range; allowed: a finite number in [0.0, 1.0]"),
        ((4, 1.0, 1.5), "staleness=1.5 is out of range; allowed: a finite number in [0.0, 1.0]"),
    ],
)
def test_buffer_refuses_bad_knobs_naming_them(args, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        LevelBuffer(*args)


def test_buffer_defaults_and_its_edge_cases():
    buffer = LevelBuffer(2)
    assert (buffer.temperature, buffer.staleness) == (0.1, 0.3)
    assert buffer.indices.tolist() == [-1, -1] and buffer.indices.dtype == np.int64
    assert buffer.scores.dtype == np.float64 and buffer.seen.dtype == np.int64
    assert buffer.probabilities().shape == (0,)
    assert LevelBuffer(1_000_000).capacity == 1_000_000 and LevelBuffer(2, 100.0, 1.0).staleness == 1.0
    # every slot scored at the current clock (one slot): P_stale is uniform, not 0 / 0
    buffer.update(7, 0.4)
    assert buffer.stale_weights().tolist() == [1.0] and buffer.probabilities().tolist() == [1.0]
    assert buffer.score_of(7) == 0.4 and buffer.score_of(8) is None
    # a full buffer: a score equal to the lowest does not get in, a higher one replaces
    # the lowest (the stalest of equal lowest scores)
    buffer.update(8, 0.4)
    assert buffer.update(9, 0.4) is False and 9 not in buffer and buffer.clock == 3
    assert buffer.update(9, 0.41) is True and 7 not in buffer and buffer.indices.tolist() == [9, 8]
    # one age of 1 among ages of 0: P_stale puts everything there
    assert buffer.stale_weights().tolist() == [0.0, 1.0]


def test_buffer_state_round_trip_is_exact_and_checks_itself():
    buffer = filled(capacity=4)
    state = buffer.state()
    assert state["buffer_clock"].dtype == np.int64 and int(state["buffer_clock"]) == 3
    again = LevelBuffer(4, 1.0, 0.5)
    again.update(99, 5.0)  # replaced wholly by the saved state
    again.load_state(state)
    assert again.indices.tolist() == [10, 11, 12, -1] and 99 not in again
    assert again.scores.tolist() == [0.5, 0.2, 0.9, 0.0] and again.seen.tolist() == [1, 2, 3, 0]
    assert np.allclose(again.probabilities(), buffer.probabilities())
    for indices in ([10, 10, 12], [10, -1, 12]):
        with pytest.raises(ValueError, match=r"^the saved buffer's scene indices must be distinct and >= 0$"):
            LevelBuffer(4).load_state({**state, "buffer_indices": np.array(indices)})


def condition_state(**changes) -> dict[str, np.ndarray]:
    """A saved ``condition`` curriculum (5 arms; arm 4 never played), with ``changes``."""
    source = steered()
    rng = np.random.default_rng(5)
    played = [source.replay(rng, 0, 64) for _ in range(4)]
    source.update(played, [0.2, 0.4, 0.6, 0.8])
    return {**source.state(), **changes}


def test_condition_state_loads_an_arm_never_played_and_refuses_each_fault_alone():
    state = condition_state()
    assert state["arm_played"].tolist() == [1, 1, 1, 1, 0] and state["arm_refills"].tolist() == [
        1,
        1,
        1,
        1,
        0,
    ]
    assert state["arm_queue_lengths"].tolist() == [3, 3, 3, 3, 0]
    again = steered()
    again.load_state(state)
    assert again.arm_played.tolist() == [1, 1, 1, 1, 0] and again.arm_block(4) == 4
    assert again.arm_means.tolist() == [0.2, 0.4, 0.6, 0.8, 0.0]
    assert [len(q) for q in again._arm_queues] == [3, 3, 3, 3, 0]
    assert again.buffer.indices[:4].tolist() == [0, 1, 2, 3]
    # saved before arm blocks grew (no arm_refills): played arms at the largest block
    older = steered()
    older.load_state({k: v for k, v in state.items() if k != "arm_refills"})
    assert older.arm_refills.tolist() == [16, 16, 16, 16, 0]
    # saved before `condition` existed (no arm fields): a scene-level curriculum loads it
    plain = plr(buffer_size=8)
    plain.update([3, 4], [0.1, 0.2])
    saved = {k: v for k, v in plain.state().items() if not k.startswith("arm_")}
    back = plr(buffer_size=8)
    back.load_state(saved)
    assert back.buffer.indices[:2].tolist() == [3, 4] and back.arm_played.tolist() == []
    for changes, message in (
        ({"arm_played": np.array([1, 1, 1, 1, -1])}, "the saved arms are inconsistent"),
        ({"arm_refills": np.array([1, 1, 1, 1, -1])}, "the saved arms are inconsistent"),
        ({"arm_queue_lengths": np.array([3, 3, 3, 4, -1])}, "the saved arms are inconsistent"),
        ({"arm_queue_lengths": np.array([3, 3, 3, 3, 1])}, "the saved arms are inconsistent"),
        ({"arm_played": np.array([1, 1, 1, 1])}, "^the saved curriculum has 4 arms; this one has 5$"),
        ({"arm_means": np.zeros(4)}, "^the saved arm_means has 4 entries for 5 arms$"),
        (
            {"arm_queue_lengths": np.array([3, 3, 3, 3])},
            "^the saved arm_queue_lengths has 4 entries for 5 arms$",
        ),
        ({"buffer_indices": np.array([0, 1, 2, 5])}, "names a scene index this state never made"),
        ({"counters": np.array([4])}, "^the saved counters must be two counts >= 0$"),
        ({"counters": np.array([4, -1])}, "^the saved counters must be two counts >= 0$"),
        (
            {"buffer_seen": np.array([1, 2, 3])},
            "^the saved buffer's indices, scores and times differ in length$",
        ),
        ({"buffer_scores": np.array([0.2, 0.4, np.nan, 0.8])}, "non-finite score"),
        ({"method": np.array("plr")}, "the saved curriculum is 'plr', this one 'condition'"),
        ({"version": np.array(2)}, "curriculum state version 2; this vrenvs reads 1"),
    ):
        fresh = steered()
        with pytest.raises(ValueError, match=message):
            fresh.load_state({**state, **changes})
        assert fresh.arm_played.tolist() == [0] * 5 and len(fresh.buffer) == 0, "nothing changed"


def test_saved_edits_are_checked_field_by_field():
    source = plr(method="accel", buffer_size=4, min_fill=0.0, replay_prob=1.0)
    source.update([0], [0.5])
    source.update([source.replay(np.random.default_rng(1))], [0.6])  # scene 0 replayed: an edit
    state = source.state()
    assert state["edit_parents"].tolist() == [0] and state["pending"].tolist() == [EDIT_BASE]
    again = plr(method="accel", buffer_size=4, min_fill=0.0, replay_prob=1.0)
    again.load_state({**state, "edit_parents": np.array([EDIT_BASE - 1])})  # the last base index
    assert again.parents == [EDIT_BASE - 1] and again.pending == [EDIT_BASE]
    for changes, message in (
        ({"edit_parents": np.array([-1])}, "^the saved edits' base scenes must be base indices$"),
        ({"edit_parents": np.array([EDIT_BASE])}, "^the saved edits' base scenes must be base indices$"),
        ({"edit_parents": np.array([0, 0]), "edit_lengths": np.array([1])}, "edits are inconsistent"),
        ({"edit_lengths": np.array([0]), "edit_seeds": np.array([], np.int64)}, "edits are inconsistent"),
        ({"pending": np.array([EDIT_BASE + 1])}, "never made"),
    ):
        fresh = plr(method="accel", buffer_size=4, min_fill=0.0, replay_prob=1.0)
        with pytest.raises(ValueError, match=message):
            fresh.load_state({**state, **changes})
        assert fresh.parents == [] and len(fresh.buffer) == 0
    missing = {k: v for k, v in state.items() if k not in ("buffer_clock", "counters")}
    with pytest.raises(ValueError, match=r"lacks \['buffer_clock', 'counters'\]"):
        plr(method="accel").load_state(missing)


def test_accel_edits_once_per_replay_scored_and_counts_its_replays():
    """Each replay served and then scored queues one edit; a score of a scene that was not
    replayed (again) queues none. The counters count every call."""
    source = plr(method="accel", buffer_size=4, min_fill=0.0, replay_prob=1.0)
    with pytest.raises(ValueError, match=rf"^scene index {EDIT_BASE} was not served by this curriculum$"):
        source.update([EDIT_BASE], [0.5])  # the first edit index, before any edit
    rng = np.random.default_rng(0)
    source.update([40], [0.5])
    assert source.replay(rng) == 40 and source.replay(rng) == 40  # twice before any score
    assert source.replayed == 2 and source.pending == []
    source.update([40, 40, 40], [0.6, 0.7, 0.8])  # two replays scored, then a third score
    assert source.pending == [EDIT_BASE, EDIT_BASE + 1] and source.parents == [40, 40]
    assert [s[-1] for s in source.edit_seeds] == [0, 1] and source.reported == 4
    assert source.buffer.score_of(40) == 0.8
    # an edit index is scored like any scene; one past the last edit is refused
    source.update([EDIT_BASE + 1], [0.3])
    with pytest.raises(ValueError, match=rf"^scene index {EDIT_BASE + 2} was not served by this curriculum$"):
        source.update([EDIT_BASE + 2], [0.3])
    with pytest.raises(
        ValueError, match=rf"^scene index {EDIT_BASE + 2} is no edit of this curriculum \(2 made\)$"
    ):
        source.scene(EDIT_BASE + 2)
    assert source.identity(EDIT_BASE + 1)["edit"] == 1


def test_the_first_arm_index_is_an_arm_scene_and_arms_count_every_play():
    source = steered()
    assert source.scene(ARM_BASE).name == ProceduralSource(16).scene(0).name
    assert source.identity(ARM_BASE)["arm"] == "paths=short"
    source.update([ARM_BASE, ARM_BASE], [0.4, 0.8])  # arm 0: 0.4, then 0.4 + 0.1 * 0.4
    assert np.isclose(source.arm_means[0], 0.44) and source.buffer.score_of(0) == source.arm_means[0]
    rng = np.random.default_rng(0)
    for _ in range(12):
        source.replay(rng, 0, 64)
    assert int(source.arm_played.sum()) == 12 and source.replayed == 12
    assert source.arm_played.max() >= 2


def test_the_env_factory_has_the_settings_defaults():
    source = curriculum_source(16, base="procedural")
    assert source.settings == CurriculumSettings()
    assert source.base.name == "procedural" and source.num_distinct == source.base.num_distinct
    made = curriculum_source(16, base="procedural", method="accel", edit_cells=7)
    assert made.settings == CurriculumSettings(method="accel", edit_cells=7)
    with pytest.raises(ValueError, match=r"properties='rooms' is for method='condition'"):
        curriculum_source(16, base="procedural", method="accel", properties=["rooms"])


def test_prefetch_passes_base_indices_to_the_base_and_arm_seeds_to_their_arms():
    """A multi-world reset prefetches the scenes it is about to play: base indices go to the
    base source, an arm's seeds to that arm's source (after its pending block); edits are
    built one by one."""

    class Recorded(Conditioned):
        def __init__(self) -> None:
            super().__init__()
            self.prefetched: list[list[int]] = []

        def prefetch(self, indices) -> None:
            self.prefetched.append([int(i) for i in indices])

    source = CurriculumSource(Recorded(), CurriculumSettings("condition", properties=("doors",)))
    source.prefetch([5, EDIT_BASE + 1, ARM_BASE + 7, ARM_BASE + NUM_SCENE_INDICES + 9, ARM_BASE + 3, 6])
    assert source.base.prefetched == [[5, 6]]
    assert [made.prefetched for made in source.base.made] == [[[3, 7]], [[9]]]
    assert source.base.asked == [{"doors": "none"}, {"doors": "some"}]
