"""The report card on a tiny sample: every section, row and column is there and the figures
are the metrics of the samples (the held-out corpus row against its own half is the floor)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from generators import checkpoint as ckpt
from generators.metrics import pattern_kl
from generators.prior import PriorConfig
from generators.report import make_report
from generators.style import train_style_classifier
from generators.vq import VQConfig
from generators.vqmodel import VQModelConfig, VQSceneModel


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    torch.manual_seed(0)
    config = VQModelConfig(
        vq=VQConfig(codebook_size=8, code_dim=4, width=8, factor=4),
        prior=PriorConfig(codebook_size=8, max_side=8, width=8, layers=1, heads=1, num_styles=4, num_sizes=2),
        sizes=(16, 32),
    )
    folder = tmp_path_factory.mktemp("report")
    path = ckpt.save_checkpoint(VQSceneModel(config).eval(), folder / "tiny", {})
    classifier = train_style_classifier(steps=4, threads=1)
    out = folder / "out"
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        summary = make_report(out, 24, {"vqvae": str(path)}, threads=1, classifier=classifier)
        CALLER_THREADS["after"] = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    return out, summary


CALLER_THREADS: dict[str, int] = {}
"""The caller's torch thread count (3) as the report fixture read it after make_report."""


def test_report_restores_the_callers_torch_threads(report):
    assert CALLER_THREADS == {"after": 3}


def test_every_size_has_its_rows_and_pictures(report):
    out, summary = report
    assert sorted(summary["sizes"]) == ["16", "32"]
    names16 = [r["source"] for r in summary["sizes"]["16"]["rows"]]
    names32 = [r["source"] for r in summary["sizes"]["32"]["rows"]]
    assert names16 == ["gan", "vae", "vaegan", "vqvae", "procedural", "uniform random", "held-out corpus"]
    assert names32 == ["vqvae", "procedural", "uniform random", "held-out corpus"]
    for name in (
        "report.md",
        "report.json",
        "gallery-16.png",
        "gallery-32.png",
        "styles-16.png",
        "styles-32.png",
    ):
        assert (out / name).is_file(), name
    text = (out / "report.md").read_text()
    assert "## 16x16" in text and "## 32x32" in text and "| vqvae: style |" in text
    assert json.loads((out / "report.json").read_text())["samples"] == 24


def test_the_rows_hold_the_metrics(report):
    _, summary = report
    for size in ("16", "32"):
        rows = {r["source"]: r for r in summary["sizes"][size]["rows"]}
        assert all(r["size"] == int(size) and r["playable_after_repair"] == 1.0 for r in rows.values())
        vq = rows["vqvae"]
        assert vq["samples"] == 24 and vq["playable_after_repair"] == 1.0
        assert 1.0 <= vq["code_perplexity"] <= 8.0  # of a codebook of 8
        assert 0.0 <= vq["style_accuracy"] <= 1.0 and 0.0 <= vq["reconstruction_accuracy"] <= 1.0
        assert rows["held-out corpus"]["pattern_kl"] == pytest.approx(summary["sizes"][size]["reference_kl"])
        assert rows["held-out corpus"]["exact_copies"] == 0.0  # held-out is disjoint from training
        assert rows["uniform random"]["pattern_kl"] > 10 * rows["procedural"]["pattern_kl"]
        styles = summary["sizes"][size]["styles"]["vqvae"]
        assert list(styles) == ["house", "village", "cave", "designer"]
        assert all(s["samples"] == 6 for s in styles.values())


def test_the_reference_is_half_against_half_of_the_heldout_corpus(report):
    from generators.data import CorpusSpec, load_corpus

    _, summary = report
    corpus = load_corpus(CorpusSpec.for_size(16))
    perm = np.random.default_rng(0).permutation(len(corpus.heldout))
    a, b = corpus.heldout[perm[: len(perm) // 2]], corpus.heldout[perm[len(perm) // 2 :]]
    assert summary["sizes"]["16"]["reference_kl"] == pytest.approx(pattern_kl(a, b))


PASSING = {
    "source": "vqvae",
    "size": 16,
    "pattern_kl": 0.030,
    "raw_playable": 0.95,
    "playable_after_repair": 1.0,
    "exact_copies": 0.0,
    "near_copies": 0.02,
    "diversity": 0.40,
    "style_accuracy": 0.93,
    "scenes_per_s": 12_000.0,
}
REFERENCE = {"kl": 0.019, "diversity": 0.42}


@pytest.mark.parametrize(
    ("field", "value", "missed"),
    [
        ("pattern_kl", 0.039, "KL"),  # 2 x 0.019 = 0.038
        ("raw_playable", 0.899, "raw playable"),
        ("playable_after_repair", 0.999, "after repair"),
        ("exact_copies", 0.011, "exact copies"),
        ("near_copies", 0.051, "near copies"),
        ("diversity", 0.377, "diversity"),  # 0.42 - 10% = 0.378
        ("diversity", 0.463, "diversity"),  # 0.42 + 10% = 0.462
        ("style_accuracy", 0.89, "style"),
        ("style_accuracy", None, "style"),  # not conditioned
        ("scenes_per_s", 9_999.0, "speed"),
        ("scenes_per_s", None, "speed"),
    ],
)
def test_each_bar_is_missed_alone_just_past_its_threshold(field, value, missed):
    from generators.report import bar_misses

    assert bar_misses(PASSING, REFERENCE) == []
    assert bar_misses(PASSING | {field: value}, REFERENCE) == [missed]


def test_the_speed_bar_depends_on_the_size():
    from generators.report import bar_misses

    row = PASSING | {"size": 32, "scenes_per_s": 2_500.0}
    assert bar_misses(row, REFERENCE) == []
    assert bar_misses(row | {"scenes_per_s": 2_499.0}, REFERENCE) == ["speed"]


def test_the_report_lists_the_bars_each_learned_source_misses(report):
    out, summary = report
    text = (out / "report.md").read_text()
    for size in ("16", "32"):
        rows = {r["source"]: r for r in summary["sizes"][size]["rows"]}
        assert "bars_missed" in rows["vqvae"] and "bars_missed" not in rows["procedural"]
        # an untrained tiny model is far from every bar that can be missed on 24 samples
        assert {"KL", "style", "speed"} <= set(rows["vqvae"]["bars_missed"])
    assert text.count("| learned source | bars missed | status |") == 2
    assert "| vqvae | " in text and "| baseline" in text


def test_copies_are_counted_against_the_grids_the_checkpoint_trained_on(monkeypatch):
    """A checkpoint trained on a larger procedural part (``--procedural-16 N``) is checked
    for copies against that corpus's training grids, not the standard corpus's."""
    import dataclasses

    import generators.report
    from generators.data import CorpusSpec, load_corpus
    from generators.report import Samples, measure, training_grids

    corpus = load_corpus(CorpusSpec.for_size(16))
    assert training_grids({}, corpus) is corpus.train
    assert training_grids({"training": {"config": {"procedural_16": 6000}}}, corpus) is corpus.train
    other = np.full((3, 16, 16), 7, np.uint8)
    asked = []

    def load(spec):
        asked.append(spec)
        return dataclasses.replace(corpus, train=other)

    monkeypatch.setattr(generators.report, "load_corpus", load)
    assert training_grids({"training": {"config": {"procedural_16": 9000}}}, corpus) is other
    assert asked == [dataclasses.replace(CorpusSpec.for_size(16), num_procedural=9000)]
    served = np.concatenate([other[:1], corpus.heldout[:3]])
    plain = measure(Samples("x", served, served, np.zeros(4), None), corpus, served, served)
    counted = measure(Samples("x", served, served, np.zeros(4), None, train=other), corpus, served, served)
    assert (plain["exact_copies"], counted["exact_copies"]) == (0.0, 0.25)
    assert (plain["near_copies"], counted["near_copies"]) == (0.0, 0.25)


def test_locked_doors_is_the_share_of_served_scenes_with_a_locked_door():
    """The column that shows a model dropping locks to raise its raw playability (the 2x2 KL
    barely sees a rare tile): here 1 of 4 served scenes has one."""
    from generators.data import CorpusSpec, load_corpus
    from generators.report import Samples, measure
    from vrenvs.core.catalog import CATALOG

    glyph = {g: k for k, g in enumerate(CATALOG.glyphs)}
    corpus = load_corpus(CorpusSpec.for_size(16))
    rows = ["#" * 16] + ["#@" + "." * 13 + "#"] + ["#" + "." * 14 + "#"] * 13 + ["#" * 16]
    plain = np.array([[glyph[c] for c in row] for row in rows], np.uint8)
    locked = plain.copy()
    locked[5, 5] = glyph["G"]  # a locked green door
    served = np.stack([plain, plain, locked, plain])
    samples = Samples("x", served, served, np.zeros(4), None)
    row = measure(samples, corpus, corpus.heldout[:4], corpus.heldout[4:8])
    assert row["locked_doors"] == 0.25


def test_faults_are_the_shares_of_raw_samples_with_each_kind_and_are_tabled():
    """The raw samples' faults (vrenvs.core.reach.faults_batch), per kind, as shares; the
    table lists them per source with the unplayable share beside them."""
    from generators.data import CorpusSpec, load_corpus
    from generators.report import FAULT_TEXT, Samples, faults_table, measure
    from vrenvs.core.catalog import CATALOG
    from vrenvs.core.reach import FAULTS

    glyph = {g: k for k, g in enumerate(CATALOG.glyphs)}
    corpus = load_corpus(CorpusSpec.for_size(16))
    rows = ["#" * 16] + ["#@A*" + "." * 11 + "#"] + ["#" + "." * 14 + "#"] * 13 + ["#" * 16]
    good = np.array([[glyph[c] for c in row] for row in rows], np.uint8)
    keyless = good.copy()
    keyless[5, 5] = glyph["G"]
    sealed = good.copy()
    sealed[8, 1:15] = glyph["#"]  # the lower half is cut off: a region out of reach
    raw = np.stack([good, keyless, sealed, keyless])
    row = measure(Samples("x", raw, np.stack([good] * 4), np.zeros(4), None), corpus, good[None], good[None])
    assert list(row["faults"]) == list(FAULTS)
    assert row["faults"]["keyless lock"] == 0.5 and row["faults"]["unreached region"] == 0.25
    assert sum(row["faults"].values()) == 0.75 and row["raw_playable"] == 0.25
    text = faults_table([row, {**row, "source": "uniform random"}, {"source": "held-out corpus"}])
    head, _, line = text.splitlines()[:3]
    assert head == "| source (raw samples) | unplayable | " + " | ".join(FAULT_TEXT[f] for f in FAULTS) + " |"
    assert line == "| x | 75.0% | 0.0% | 0.0% | 0.0% | 50.0% | 0.0% | 25.0% | 0.0% |"
    assert "uniform random" not in text and "held-out corpus" not in text


def test_the_report_card_has_the_faults_table(report):
    out, summary = report
    text = (out / "report.md").read_text()
    assert text.count("| source (raw samples) | unplayable |") == 2  # one per size
    vq = next(r for r in summary["sizes"]["32"]["rows"] if r["source"] == "vqvae")
    assert all(0.0 <= share <= 1.0 for share in vq["faults"].values())
    assert any(vq["faults"].values()) == (vq["raw_playable"] < 1.0)
