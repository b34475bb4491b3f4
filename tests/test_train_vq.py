"""The v2 trainer's pieces: rare-code weights and their fold into the decoder bias, the
mixture's style shares, the config checks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from generators.data import NUM_CODES, STYLES, Corpus, CorpusSpec
from generators.prior import PriorConfig
from generators.train_vq import (
    VQTrainConfig,
    _weights,
    code_weights,
    fold_weights,
    lr_factor,
    perplexity,
    stage_shares,
    style_counts,
    style_shares,
    training_spec,
)
from generators.vq import VQConfig
from generators.vqmodel import VQModelConfig, VQSceneModel


def _corpus(grids: np.ndarray, styles: list[int]) -> Corpus:
    return Corpus(
        grids, grids[:1], np.zeros(len(grids), bool), {}, np.array(styles, np.uint8), np.zeros(1, np.uint8)
    )


def test_code_weights_follow_the_inverse_frequency_to_a_power_capped():
    grids = np.zeros((1, 4, 4), np.uint8)
    grids[0, 0, :] = 1  # 12 floors, 4 walls
    grids[0, 1, 0] = 2  # 11 floors, 4 walls, 1 grass
    weights = code_weights({16: _corpus(grids, [0])}, power=0.5, cap=20.0)
    assert weights.shape == (NUM_CODES,)
    assert weights[0].item() == pytest.approx(1.0)
    assert weights[1].item() == pytest.approx((11 / 4) ** 0.5)
    assert weights[2].item() == pytest.approx(11**0.5)
    assert weights[3].item() == 20.0  # never seen: the cap
    flat = code_weights({16: _corpus(grids, [0])}, power=0.0, cap=20.0)
    assert torch.all(flat[:3] == 1.0)


def test_folding_the_weights_gives_back_calibrated_probabilities():
    config = VQModelConfig(
        vq=VQConfig(codebook_size=8, code_dim=4, width=8),
        prior=PriorConfig(codebook_size=8, max_side=8, width=8, layers=1, heads=1, num_styles=4, num_sizes=2),
    )
    model = VQSceneModel(config).eval()
    indices = torch.randint(0, 8, (2, 4, 4), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = model.vq.decode_indices(indices)
        weight = torch.linspace(1.0, 20.0, NUM_CODES)
        fold_weights(model, weight)
        after = model.vq.decode_indices(indices)
    # p'_c ~ w_c p_c was learned; after the fold the logits are log p'_c - log w_c
    assert torch.allclose(after, before - weight.log()[None, :, None, None], atol=1e-5)


def test_style_shares_are_the_training_grids_shares_and_sum_to_one():
    a = _corpus(np.zeros((6, 16, 16), np.uint8), [0, 0, 1, 2, 2, 3])
    b = _corpus(np.zeros((2, 32, 32), np.uint8), [0, 1])
    shares = style_shares({16: a, 32: b})
    assert shares == (0.375, 0.25, 0.25, 0.125)
    assert sum(shares) == 1.0 and len(shares) == len(STYLES)


def test_perplexity_counts_the_codes_in_use():
    assert perplexity(torch.tensor([[0, 1], [2, 3]]), 8) == pytest.approx(4.0)
    assert perplexity(torch.zeros(5, dtype=torch.long), 8) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("model", "gan", ["model='gan'", "'vqvae'"]),
        ("rare_power", -1.0, ["rare_power=-1.0"]),
        ("rare_cap", 0.5, ["rare_cap=0.5"]),
        ("decoding", "mode", ["decoding='mode'", "'expected'"]),
        ("batch_size", 2, ["batch_size=2"]),
        ("minutes", -1.0, ["minutes=-1.0"]),
        ("designer_weight", 0.0, ["designer_weight=0.0"]),
        ("procedural_16", 0, ["procedural_16=0", "[1, 999999]"]),
        ("procedural_32", 1_000_000, ["procedural_32=1000000", "[1, 999999]"]),
        ("prior_init", "scratch", ["prior_init='scratch'", "'checkpoint'", "'fresh'"]),
        ("prior_init", "fresh", ["prior_init='fresh'", "without --init"]),
    ],
)
def test_bad_training_settings_name_the_value(field, value, words):
    with pytest.raises(ValueError) as err:
        VQTrainConfig(**{field: value})
    assert all(w in str(err.value) for w in words), err.value


def test_the_model_config_follows_the_training_settings():
    config = VQTrainConfig(
        factor=2, codebook_size=64, prior_width=32, prior_layers=2, prior_heads=2
    ).model_config()
    assert config.vq.factor == 2 and config.prior.max_side == 16 and config.prior.codebook_size == 64
    assert config.prior.num_styles == len(STYLES) and config.sizes == (16, 32)


def test_a_bootstrap_round_keeps_the_new_playable_samples_once(monkeypatch):
    import generators.train_vq as tv
    from vrenvs.core.catalog import CATALOG
    from vrenvs.core.sources import ProceduralSource

    playable = [ProceduralSource(16).scene(i).codes.astype(np.uint8) for i in range(3)]
    broken = playable[2].copy()
    broken[0, 0] = CATALOG.code_of["."]  # floor on the border: not playable
    # sampled: a training grid, a new grid, the new grid again, an unplayable grid
    grids = np.stack([playable[0], playable[1], playable[1], broken])
    codes = torch.arange(4).reshape(4, 1, 1).expand(4, 8, 8)
    sampled = {}

    def fake_sample_styles(model, size, counts, seed0):
        sampled.update(size=size, counts=counts.tolist(), seed0=seed0)
        return codes, grids, np.array([0, 1, 2, 3])

    monkeypatch.setattr(tv, "sample_styles", fake_sample_styles)
    corpus = _corpus(playable[0][None], [2])
    pool = tv.Pool(codes[:0], torch.zeros(0, dtype=torch.long), {playable[0].tobytes()})
    found = tv.bootstrap_round(None, corpus, pool, 4, 123)
    assert sampled == {"size": 16, "counts": [0, 0, 4, 0], "seed0": 123}  # the training style shares
    assert found == {"raw_playable": 0.75, "kept": 1.0}
    assert pool.codes[:, 0, 0].tolist() == [1] and pool.styles.tolist() == [1]
    again = tv.bootstrap_round(None, corpus, pool, 4, 123)
    assert again["kept"] == 0.0 and len(pool.codes) == 1  # nothing kept twice


def test_style_counts_split_in_the_shares_and_sum_to_num():
    counts = style_counts(np.array([0, 0, 0, 1, 2, 2]), 10)
    assert counts.tolist() == [6, 1, 3, 0] and counts.sum() == 10


def test_the_prior_learning_rate_decays_by_steps_or_minutes_whichever_ends_first():
    inf = float("inf")
    assert lr_factor(0, 100, 0.0, inf) == pytest.approx(1.0)
    assert lr_factor(50, 100, 0.0, inf) == pytest.approx(0.525)
    assert lr_factor(100, 100, 0.0, inf) == pytest.approx(0.05)
    assert lr_factor(500, 100, 0.0, inf) == pytest.approx(0.05)
    assert lr_factor(10, 100, 30.0, 60.0) == pytest.approx(0.525)  # half the minutes gone
    assert lr_factor(60, 100, 30.0, 60.0) == pytest.approx(0.05 + 0.95 * 0.5 * (1 + np.cos(0.6 * np.pi)))
    assert lr_factor(10, 100, 90.0, 60.0) == pytest.approx(0.05)


def test_each_stage_ends_by_its_share_of_the_minutes_and_the_refiner_keeps_a_fifth():
    plain = VQTrainConfig()
    assert stage_shares(plain) == {1: 0.4, 2: 1.0, 3: 1.0, 4: 1.0}
    assert stage_shares(replace(plain, bootstrap_rounds=2)) == {1: 0.4, 2: 0.75, 3: 1.0, 4: 1.0}
    shares = stage_shares(replace(plain, bootstrap_rounds=2, refine_steps=10))
    assert shares == pytest.approx({1: 0.32, 2: 0.6, 3: 0.8, 4: 1.0})
    assert stage_shares(replace(plain, refine_steps=10)) == pytest.approx({1: 0.32, 2: 0.8, 3: 0.8, 4: 1.0})


def test_a_larger_procedural_part_keeps_the_held_out_part_and_the_designer_share():
    config = VQTrainConfig(procedural_16=48_000)
    big, standard = training_spec(config, 16), CorpusSpec.for_size(16)
    assert big.num_procedural == 48_000 and big.size == 16
    assert (big.heldout_start, big.num_heldout_procedural, big.num_heldout_designer) == (1_000_000, 2000, 5)
    assert big.key() != standard.key()
    assert training_spec(config, 32) == CorpusSpec.for_size(32)  # procedural_32 left at 6,000
    assert training_spec(config, 32).key() == CorpusSpec.for_size(32).key()

    def corpus(num_procedural: int, designer: int) -> Corpus:
        flags = np.arange(num_procedural + designer) < designer
        grids = np.zeros((len(flags), 16, 16), np.uint8)
        manifest = {"spec": {"num_procedural": num_procedural}}
        return Corpus(
            grids, grids[:1], flags, manifest, np.zeros(len(flags), np.uint8), np.zeros(1, np.uint8)
        )

    small, large = _weights(corpus(6000, 10), 4.0), _weights(corpus(48_000, 10), 4.0)
    assert small[:10].tolist() == [4.0] * 10 and small[10:].eq(1.0).all()
    assert large[:10].tolist() == [32.0] * 10 and large[10:].eq(1.0).all()
    share = [float(w[:10].sum() / w.sum()) for w in (small, large)]
    assert share[0] == pytest.approx(40 / 6040) and share[1] == pytest.approx(320 / 48_320)
    assert share[1] == pytest.approx(share[0], rel=0.01)
