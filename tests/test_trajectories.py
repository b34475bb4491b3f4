"""Behaviour is pinned: seeded runs of every env replay to the recorded digests."""

from __future__ import annotations

import json

import pytest

from tests import trajectories as t

RECORDED = json.loads(t.DATA.read_text())


@pytest.mark.parametrize(("name", "env_id", "kwargs"), t.RUNS, ids=[r[0] for r in t.RUNS])
def test_random_action_runs_replay_the_recorded_digests(name, env_id, kwargs):
    got = {f"{name}/single/{seed}": t.digest_single(env_id, kwargs, seed) for seed in (0, 1)}
    got[f"{name}/vector/0"] = t.digest_vector(env_id, kwargs, 0)
    assert got == {k: RECORDED[k] for k in got}


@pytest.mark.parametrize(("name", "env_id", "kwargs", "drive"), t.DRIVEN, ids=[r[0] for r in t.DRIVEN])
def test_scripted_runs_replay_the_recorded_digests(name, env_id, kwargs, drive):
    got = {f"{name}/driven/{seed}": t.digest_driven(env_id, kwargs, seed, drive) for seed in (0, 1, 2)}
    assert got == {k: RECORDED[k] for k in got}


EPISODES = json.loads(t.EPISODES.read_text())


@pytest.mark.parametrize(
    ("name", "env_id", "kwargs", "drive"), t.EPISODE_RUNS, ids=[r[0] for r in t.EPISODE_RUNS]
)
def test_two_hundred_episodes_replay_the_recorded_digests(name, env_id, kwargs, drive):
    digest, ended = t.digest_episodes(env_id, kwargs, 0, drive)
    assert ended >= t.WORLDS
    assert digest == EPISODES[name]
