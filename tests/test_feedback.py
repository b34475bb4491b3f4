"""The feedback store (vrenvs.core.feedback), the preference model and the adapted source
(generators.adapt), and ratings from the play window."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3

import gymnasium as gym
import numpy as np
import pytest

import vrenvs  # noqa: F401  (registers the envs)
from generators.adapt import (
    FEATURES,
    TASTES,
    AdaptedSource,
    PreferenceModel,
    fit,
    fit_store,
    rate,
    scene_features,
)
from tests.worlds import picture
from vrenvs.core.feedback import SCHEMA_VERSION, FeedbackError, FeedbackStore
from vrenvs.core.reach import solvable_batch
from vrenvs.core.scene import parse_ascii
from vrenvs.core.sources import ProceduralSource, make_source

SMALL = """
########
#@....A#
#......#
###+####
#......#
#..a~~.#
#...~~.#
########
"""


def small_codes() -> np.ndarray:
    return parse_ascii(picture(SMALL)).codes


IDENTITY = {
    "source": "vqvae",
    "index": 7,
    "checkpoint": "abc",
    "style": "cave",
    "size": 16,
    "temperature": 1.0,
}


# --- the store ---------------------------------------------------------------------------------


def test_round_trip_keeps_identity_condition_codes_rating_and_signals(tmp_path):
    path = tmp_path / "ratings.db"
    with FeedbackStore(path) as store:
        first = store.add(IDENTITY, small_codes(), 4, {"served": 2, "steps": 40}, when=100.0)
        second = store.add({"source": "procedural", "index": 3}, small_codes(), None, {"gave_up": 1})
        assert (first, second) == (1, 2)
    with FeedbackStore(path) as store:
        rows = store.rows()
        assert len(store) == 2 and [r.id for r in store.rows(rated_only=True)] == [1]
    row = rows[0]
    assert row.time == 100.0 and row.scene == IDENTITY and row.rating == 4
    assert row.condition == {"style": "cave", "size": 16, "temperature": 1.0}
    assert np.array_equal(row.codes, small_codes()) and row.signals == {"served": 2, "steps": 40}
    assert rows[1].condition is None and rows[1].rating is None
    with FeedbackStore(path) as store:  # an adapted scene: the condition is its base scene's
        store.add({"source": "adapted", "temperature": 0.25, "base": IDENTITY}, small_codes(), 2)
        assert store.rows()[-1].condition == {"style": "cave", "size": 16, "temperature": 1.0}
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert dict(db.execute("SELECT key, value FROM meta")) == {
            "app": "vrenvs-feedback",
            "schema_version": str(SCHEMA_VERSION),
        }


@pytest.mark.parametrize("rating", [0, 6, 2.5, "5", True, -1])
def test_an_out_of_range_rating_is_refused_and_stores_nothing(tmp_path, rating):
    with FeedbackStore(tmp_path / "r.db") as store:
        with pytest.raises(
            FeedbackError, match=rf"rating={rating!r} is not allowed; allowed: one of \[1, 2, 3, 4, 5\]"
        ):
            store.add(IDENTITY, small_codes(), rating)
        assert len(store) == 0


def test_bad_rows_are_refused(tmp_path):
    with FeedbackStore(tmp_path / "r.db") as store:
        with pytest.raises(FeedbackError, match="expected a square grid"):
            store.add(IDENTITY, np.zeros((4, 5), np.uint8), 3)
        with pytest.raises(FeedbackError, match="must be a scene identity"):
            store.add({"index": 1}, small_codes(), 3)
        assert len(store) == 0


def test_a_corrupt_or_foreign_file_is_refused_and_left_as_it_was(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all" * 40)
    with pytest.raises(FeedbackError, match=r"junk.db is not an SQLite database"):
        FeedbackStore(junk)
    assert junk.read_bytes() == b"this is not a database at all" * 40
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE songs (title TEXT)")
    before = foreign.read_bytes()
    with pytest.raises(FeedbackError, match=r"an SQLite database of something else \(tables: \['songs'\]\)"):
        FeedbackStore(foreign)
    assert foreign.read_bytes() == before
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("CREATE TABLE feedback (id INTEGER)")
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)", [("app", "vrenvs-feedback"), ("schema_version", "9")]
        )
    with pytest.raises(FeedbackError, match="has schema version 9; this vrenvs reads 1"):
        FeedbackStore(other)
    with pytest.raises(FeedbackError, match="is a folder"):
        FeedbackStore(tmp_path)


def _writer(path: str, worker: int, count: int) -> None:
    codes = parse_ascii(picture(SMALL)).codes
    with FeedbackStore(path) as store:
        for k in range(count):
            store.add({"source": "test", "index": worker * 1000 + k}, codes, 1 + k % 5, {"worker": worker})


def test_a_file_another_opener_is_creating_is_adopted_not_refused(tmp_path):
    # the state a second opener can see: the first has switched the new file to WAL (so it
    # is no longer empty) but not yet written the tables; it used to be refused as "an SQLite
    # database of something else (tables: [])"
    path = tmp_path / "shared.db"
    first = sqlite3.connect(path)
    assert first.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    assert path.stat().st_size > 0
    with FeedbackStore(path) as store:
        store.add({"source": "test", "index": 7}, small_codes(), 4)
    first.close()
    with FeedbackStore(path) as store:
        assert [(r.scene["index"], r.rating) for r in store.rows()] == [(7, 4)]


def test_concurrent_writers_on_a_new_file_lose_no_rating(tmp_path):
    # three processes create and open the same new file at once: opening it used to fail
    # with "database is locked" (switching the journal mode is answered at once, without the
    # busy timeout) and, rarer, with the half-created file refused (test above)
    path = str(tmp_path / "shared.db")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(path, w, 40)) for w in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
        assert p.exitcode == 0
    with FeedbackStore(path) as store:
        rows = store.rows()
    assert len(rows) == 120
    expected = [*range(40), *range(1000, 1040), *range(2000, 2040)]
    assert sorted(r.scene["index"] for r in rows) == expected


# --- features, preference model, adapted source ------------------------------------------------


def test_scene_features_of_a_small_scene():
    f = dict(zip(FEATURES, scene_features(small_codes()[None])[0]))
    cells = 36  # the 6x6 interior
    assert f["water_share"] == pytest.approx(4 / cells)
    assert f["wall_share"] == pytest.approx(5 / cells)  # the inner wall row, door excluded
    assert f["door_share"] == pytest.approx(1 / cells)
    assert f["locked_doors"] == 0 and f["npcs"] == 0
    assert f["items"] == pytest.approx(0.1)
    assert f["farthest_item"] == pytest.approx(6 / 8)
    assert f["rooms"] == pytest.approx(2 / 1)  # two regions; 8 * 8 / 64 = 1
    # 27 walkable cells (water is not); corridors: the doorway, the two cells between the
    # wall row and the pond, and the cell between the pond and the east wall
    assert f["corridor_share"] == pytest.approx(4 / 27)


def test_fit_recovers_a_linear_preference():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, len(FEATURES)))
    y = 3 + 2 * x[:, 4] - x[:, 10]
    model = fit(x, y, ridge=1e-6)
    assert model.bias == pytest.approx(y.mean())
    assert np.allclose(model.predict(x), y, atol=1e-4)
    with pytest.raises(ValueError, match="1 ratings for 1 scenes; need at least 2"):
        fit(x[:1], y[:1])


def test_preference_model_file_round_trip_and_checks(tmp_path):
    rng = np.random.default_rng(1)
    model = fit(rng.normal(size=(20, len(FEATURES))), rng.integers(1, 6, 20))
    path = model.save(tmp_path / "m.json")
    again = PreferenceModel.load(path)
    assert again.sha == model.sha and np.array_equal(again.weights, model.weights)
    data = json.loads(path.read_text())
    for key, value, message in (
        ("format", "pickle", "format 'pickle'"),
        ("weights", [1.0], "weights must be a list of 14 numbers"),
        ("features", ["x"], "features \\['x'\\]"),
        ("bias", float("nan"), "not valid JSON"),
    ):
        bad = tmp_path / f"bad-{key}.json"
        bad.write_text(json.dumps({**data, key: value}))
        with pytest.raises(ValueError, match=message):
            PreferenceModel.load(bad)
    with pytest.raises(ValueError, match="does not exist"):
        PreferenceModel.load(tmp_path / "none.json")


def water_model() -> PreferenceModel:
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("water_share")] = 1.0
    return PreferenceModel(weights, 3.0, np.zeros(len(FEATURES)), np.full(len(FEATURES), 0.01), 10)


def test_adapted_source_picks_liked_base_scenes_as_a_pure_function_of_the_index():
    base = ProceduralSource(16)
    source = AdaptedSource(base, water_model(), candidates=8, temperature=0.01)
    picks = [source.pick(i) for i in range(40)]
    assert all(8 * i <= p < 8 * i + 8 for i, p in enumerate(picks))
    assert picks == [AdaptedSource(base, water_model(), 8, 0.01).pick(i) for i in range(40)]
    water = TASTES["likes water"]
    chosen = np.stack([source.scene(i).codes for i in range(40)])
    plain = np.stack([base.scene(i).codes for i in range(320)])
    assert water(chosen).mean() > 1.5 * water(plain).mean()
    assert np.array_equal(chosen[0], base.scene(picks[0]).codes)
    assert solvable_batch(chosen).all()
    identity = source.identity(3)
    assert identity["base"] == base.identity(picks[3]) and identity["model"] == water_model().sha


def test_adapted_source_from_a_feedback_store_in_an_env(tmp_path):
    path = tmp_path / "ratings.db"
    base = ProceduralSource(16)
    with FeedbackStore(path) as store:
        for i in range(30):
            codes = base.scene(i).codes
            liked = 5 if TASTES["likes water"](codes[None])[0] > 0.02 else 1
            store.add(base.identity(i), codes, liked)
    model = fit_store(path)
    assert model.ratings == 30 and model.feedback == str(path)
    env = gym.make(
        "vrenvs/Assistant-Fetch-v0", scenes={"source": "adapted", "feedback": str(path), "base": "procedural"}
    )
    _, info = env.reset(seed=0)
    assert info["scene"]["source"] == "adapted" and info["scene"]["base"]["source"] == "procedural"
    with pytest.raises(ValueError, match="give one of model"):
        make_source({"source": "adapted"}, 16)


def test_simulated_raters_rate_by_rank_with_noise():
    reference = np.arange(100, dtype=float)
    quiet = rate(np.array([0.0, 25.0, 50.0, 99.0]), reference, np.random.default_rng(0), noise=0.0)
    assert quiet.tolist() == [1, 2, 3, 5]
    noisy = rate(np.full(1000, 50.0), reference, np.random.default_rng(0), noise=0.1)
    assert set(noisy.tolist()) <= {1, 2, 3, 4, 5} and 0.4 < (noisy == 3).mean() < 0.9


def test_adapt_command_fits_a_store_and_runs_the_simulated_raters(tmp_path, capsys):
    from generators.cli import main

    path = tmp_path / "ratings.db"
    base = ProceduralSource(16)
    with FeedbackStore(path) as store:
        for i in range(12):
            store.add(base.identity(i), base.scene(i).codes, 1 + i % 5)
    assert main(["adapt", "--feedback", str(path), "--out", str(tmp_path / "a")]) == 0
    model = PreferenceModel.load(tmp_path / "a" / "adapted.json")
    assert model.ratings == 12 and "fitted to 12 ratings" in capsys.readouterr().out
    env = gym.make(
        "vrenvs/Assistant-Fetch-v0",
        scenes={"source": "adapted", "model": str(tmp_path / "a" / "adapted.json"), "base": "procedural"},
    )
    env.reset(seed=1)
    args = ["adapt", "--simulate", "--base", "procedural", "--ratings", "12", "--scenes", "20"]
    assert main([*args, "--out", str(tmp_path / "s")]) == 0
    result = json.loads((tmp_path / "s" / "simulation.json").read_text())
    assert set(result["tastes"]) == set(TASTES) and result["ratings"] == 12
    assert all(t["solvable"] == 1.0 for t in result["tastes"].values())
    assert (tmp_path / "s" / "preference_shift.png").stat().st_size > 0
    with pytest.raises(SystemExit):
        main(["adapt", "--feedback", str(path), "--ridge", "0"])
    assert "--ridge" in capsys.readouterr().err
    assert main(["adapt", "--out", str(tmp_path / "x")]) == 2
    assert "give --feedback DB" in capsys.readouterr().err
    assert main(["adapt", "--feedback", str(tmp_path / "none.db"), "--out", str(tmp_path / "x")]) == 2
    assert "none.db does not exist" in capsys.readouterr().err and not (tmp_path / "none.db").exists()
    assert main(["adapt", "--feedback", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert f"feedback store {tmp_path} is a folder, not a file" in capsys.readouterr().err
    # what only simulated raters read is refused with --feedback, and --ridge with --simulate
    assert main(["adapt", "--feedback", str(path), "--temperature", "99", "--seed", "3"]) == 2
    assert "--temperature, --seed: for --simulate only" in capsys.readouterr().err
    assert main(["adapt", "--simulate", "--ridge", "2", "--out", str(tmp_path / "x")]) == 2
    assert "--ridge 2 is for --feedback" in capsys.readouterr().err


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    rng = np.random.default_rng(2)
    path = tmp_path_factory.mktemp("adapted") / "adapted.json"
    return str(fit(rng.normal(size=(30, len(FEATURES))), rng.integers(1, 6, 30)).save(path))


@pytest.mark.parametrize("kind", ["adapted", "curriculum"])
def test_closed_loop_sources_pass_the_env_battery(kind, saved_model):
    import pickle
    import warnings

    from gymnasium.envs.registration import EnvSpec
    from gymnasium.utils.env_checker import check_env, data_equivalence

    scenes = (
        {"source": "adapted", "model": saved_model, "base": "procedural"}
        if kind == "adapted"
        else {"source": "curriculum", "method": "accel", "base": "procedural"}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make("vrenvs/Assistant-v0", scenes=scenes)
        check_env(env.unwrapped, skip_render_check=True)
    spec = EnvSpec.from_json(env.spec.to_json())
    assert spec == env.spec and gym.make(spec).reset(seed=0)[1]["scene"]["source"] == kind.replace(
        "curriculum", "procedural"
    )
    env.reset(seed=5)
    clone = pickle.loads(pickle.dumps(env))
    for a in (1, 4, 2, 8, 3):
        out = env.step(a)
        assert data_equivalence(out[:4], clone.step(a)[:4])
        if out[2]:
            break
    vec = gym.make_vec(
        "vrenvs/Assistant-v0", num_envs=3, vectorization_mode="vector_entry_point", scenes=scenes
    )
    _, infos = vec.reset(seed=[0, 1, 2])
    singles = [
        gym.make("vrenvs/Assistant-v0", scenes=scenes).reset(seed=s)[1]["scene_index"] for s in range(3)
    ]
    assert infos["scene_index"].tolist() == singles
