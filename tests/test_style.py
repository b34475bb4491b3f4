"""The style classifier of the report card (generators.style), with short training runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from generators.data import NUM_CODES, STYLES, CorpusSpec, load_corpus
from generators.style import (
    StyleClassifier,
    _logits,
    cached_classifier,
    classify,
    style_accuracy,
    style_table,
    train_style_classifier,
)

STEPS = 60  # a few seconds on one thread; enough to beat chance clearly


@pytest.fixture(scope="module")
def trained():
    return train_style_classifier(steps=STEPS, threads=1)


@pytest.fixture(scope="module")
def corpora():
    return {s: load_corpus(CorpusSpec.for_size(s)) for s in (16, 32)}


@pytest.mark.parametrize("size", [16, 32])
def test_shapes(size):
    model = StyleClassifier()
    assert sum(p.numel() for p in model.parameters()) < 100_000
    grids = np.random.default_rng(0).integers(0, NUM_CODES, (5, size, size), dtype=np.uint8)
    ids = classify(model, grids)
    assert ids.shape == (5,) and ids.dtype == np.uint8 and ids.max() < len(STYLES)
    assert model(torch.zeros(3, NUM_CODES, size, size)).shape == (3, len(STYLES))


def test_prediction_independent_of_batch(trained):
    model, _ = trained
    grids = np.random.default_rng(1).integers(0, NUM_CODES, (9, 16, 16), dtype=np.uint8)
    model.train()  # classify switches to eval itself and puts the mode back
    together = classify(model, grids)
    alone = np.concatenate([classify(model, grids[i : i + 1]) for i in range(len(grids))])
    in_pieces = classify(model, grids, batch_size=4)
    assert model.training
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(together, in_pieces)
    logits = _logits(model, grids)
    for i in range(len(grids)):
        torch.testing.assert_close(_logits(model, grids[i : i + 1])[0], logits[i], rtol=1e-4, atol=1e-5)


def test_seeded_training_is_reproducible():
    a, report_a = train_style_classifier(sizes=(16,), seed=3, steps=4, threads=1)
    b, _ = train_style_classifier(sizes=(16,), seed=3, steps=4, threads=1)
    c, _ = train_style_classifier(sizes=(16,), seed=4, steps=4, threads=1)
    for name, tensor in a.state_dict().items():
        assert torch.equal(tensor, b.state_dict()[name]), name
    assert any(not torch.equal(t, c.state_dict()[n]) for n, t in a.state_dict().items())
    assert report_a["settings"]["seed"] == 3


def test_training_leaves_global_rng_and_threads_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    train_style_classifier(sizes=(16,), steps=2, threads=1)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_short_training_beats_chance_on_heldout(trained):
    _, report = trained
    for size in ("16", "32"):
        heldout = report["heldout"][size]
        assert heldout["accuracy"] > 0.6, heldout  # chance is 0.25 (balanced) / 0.33 (majority)
        confusion = np.array(heldout["confusion"])
        assert confusion.shape == (len(STYLES), len(STYLES))
        assert confusion.sum() == sum(heldout["num"].values())
        assert all(0.0 <= v <= 1.0 for v in heldout["per_style"].values())


def test_corpus_grids_mostly_get_their_style(trained, corpora):
    model, _ = trained
    for size, corpus in corpora.items():
        for i, name in enumerate(STYLES[:3]):  # procedural styles: distinct at a glance
            grids = corpus.heldout[corpus.heldout_style == i][:200]
            assert style_accuracy(model, grids, name) > 0.6, (size, name)
    table = style_table(
        model, {n: corpora[16].heldout[corpora[16].heldout_style == i][:100] for i, n in enumerate(STYLES)}
    )
    assert set(table["accuracy"]) == set(STYLES)
    assert table["mean"] == pytest.approx(np.mean(list(table["accuracy"].values())))
    assert table["num"]["house"] == 100


def test_cache_round_trip_and_corrupt_file_rebuilt(tmp_path):
    model, report = cached_classifier(tmp_path, sizes=(16,), steps=3, threads=1)
    folder = tmp_path / "generators"
    weights = folder / f"style-{report['key']}.safetensors"
    info = folder / f"style-{report['key']}.json"
    assert weights.is_file() and info.is_file()
    assert json.loads(info.read_text())["heldout"]["16"]["accuracy"] == report["heldout"]["16"]["accuracy"]

    again, report_again = cached_classifier(tmp_path, sizes=(16,), steps=3, threads=1)
    assert report_again == report  # read back, not retrained
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, again.state_dict()[name])
    stamp = weights.stat().st_mtime_ns

    weights.write_bytes(b"not safetensors at all")
    rebuilt, _ = cached_classifier(tmp_path, sizes=(16,), steps=3, threads=1)
    assert weights.read_bytes() != b"not safetensors at all"
    for name, tensor in model.state_dict().items():  # same seed: same weights again
        assert torch.equal(tensor, rebuilt.state_dict()[name])

    info.write_text("{broken")
    cached_classifier(tmp_path, sizes=(16,), steps=3, threads=1)
    assert json.loads(info.read_text())["key"] == report["key"]
    assert weights.stat().st_mtime_ns != stamp


def test_cache_key_depends_on_settings(tmp_path):
    _, a = cached_classifier(tmp_path, sizes=(16,), steps=2, threads=1)
    _, b = cached_classifier(tmp_path, sizes=(16,), steps=3, threads=1)
    assert a["key"] != b["key"]
    assert len(list((tmp_path / "generators").glob("style-*.safetensors"))) == 2


def test_bad_inputs():
    model = StyleClassifier()
    good = np.zeros((2, 16, 16), np.uint8)
    with pytest.raises(TypeError, match="float32"):
        classify(model, good.astype(np.float32))
    with pytest.raises(TypeError, match="list"):
        classify(model, good.tolist())
    with pytest.raises(ValueError, match=r"\(2, 16, 17\).*\[16, 32\]"):
        classify(model, np.zeros((2, 16, 17), np.uint8))
    with pytest.raises(ValueError, match=r"\(16, 16\)"):
        classify(model, good[0])
    with pytest.raises(ValueError, match=r"\[0, 29\]"):
        classify(model, np.full((1, 16, 16), NUM_CODES, np.uint8))
    with pytest.raises(ValueError, match=r"style='forest'.*'house'.*'designer'"):
        style_accuracy(model, good, "forest")
    with pytest.raises(ValueError, match="style=7"):
        style_accuracy(model, good, 7)
    with pytest.raises(ValueError, match="style='forest'"):
        style_table(model, {"forest": good})
    with pytest.raises(ValueError, match="empty"):
        style_table(model, {})
    with pytest.raises(ValueError, match=r"size=24.*\[16, 32\]"):
        train_style_classifier(sizes=(24,), steps=1)
    with pytest.raises(ValueError, match="steps=0"):
        train_style_classifier(steps=0)
    with pytest.raises(TypeError, match=r"threads=1\.5"):
        train_style_classifier(sizes=(16,), steps=1, threads=1.5)
