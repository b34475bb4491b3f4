"""The VQ-VAE core (generators.vq): shapes, learning, codebook health, determinism, configs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from generators.data import one_hot
from generators.vq import VQVAE, Quantizer, VQConfig
from vrenvs.core.sources import make_source

SMALL = {"codebook_size": 64, "code_dim": 16, "width": 32, "decay": 0.9, "dead_threshold": 0.05}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _batch(n: int = 8, size: int = 16) -> torch.Tensor:
    source = make_source("procedural", size)
    return torch.stack([torch.from_numpy(np.array(source.scene(i).codes, dtype=np.int64)) for i in range(n)])


def _model(**overrides) -> VQVAE:
    torch.manual_seed(0)
    return VQVAE(VQConfig(**{**SMALL, **overrides}))


@pytest.mark.parametrize(("size", "grid"), [(16, 4), (32, 8)])
def test_shapes_at_16_and_32_with_the_same_weights(size, grid):
    model = _model()
    codes = _batch(2, size)
    x = one_hot(codes)
    logits, indices, commit, perplexity = model(x)
    c = model.config.num_codes
    assert logits.shape == (2, c, size, size)
    assert indices.shape == (2, grid, grid)
    assert commit.shape == () and perplexity.shape == ()
    assert model.encode(x).shape == (2, grid, grid)
    assert model.decode_indices(indices).shape == (2, c, size, size)
    assert model.loss(x, codes).shape == ()


def test_factor_2_halves_the_grid_and_parameters_are_counted():
    config = VQConfig(**{**SMALL, "factor": 2})
    model = VQVAE(config)
    assert model.encode(one_hot(_batch(1))).shape == (1, 8, 8)
    assert config.num_parameters() == model.num_parameters()
    assert VQConfig(**SMALL).num_parameters() == _model().num_parameters() == 99502


def test_input_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"\(1, 3, 16, 16\)"):
        _model().encode(torch.zeros(1, 3, 16, 16))


def test_loss_falls_and_codebook_usage_does_not_collapse():
    model = _model()
    codes = _batch(8)
    x = one_hot(codes)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(60):
        loss = model.loss(x, codes, generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]  # measured: 3.62 -> 0.62
    model.eval()
    with torch.no_grad():
        _, _, _, perplexity = model(x)
    assert perplexity.item() > 16  # measured: about 50 of 64 codes
    assert model.quantizer.restarts.item() > 0


def test_dead_codes_far_from_every_input_are_restarted_onto_inputs():
    quantizer = Quantizer(8, 4, decay=0.5, dead_threshold=0.9, seed=0)
    with torch.no_grad():
        quantizer.codebook.add_(100.0)
        quantizer.codebook[0] = 0.0  # the only live code: every input snaps to it
    z = torch.randn(2, 4, 3, 3, generator=torch.Generator().manual_seed(1))
    _, indices, _, _ = quantizer(z, torch.Generator().manual_seed(2))
    assert (indices == 0).all()
    assert quantizer.restarts.item() == 7
    inputs = z.permute(0, 2, 3, 1).reshape(-1, 4)
    for row in quantizer.codebook[1:]:
        assert torch.isclose(inputs, row).all(dim=1).any()
    # reproducible: the same generator seed restarts onto the same inputs
    again = Quantizer(8, 4, decay=0.5, dead_threshold=0.9, seed=0)
    with torch.no_grad():
        again.codebook.add_(100.0)
        again.codebook[0] = 0.0
    again(z, torch.Generator().manual_seed(2))
    assert torch.equal(again.codebook, quantizer.codebook)


def test_eval_is_deterministic_and_independent_of_the_batch():
    model = _model().eval()
    x = one_hot(_batch(4))
    with torch.no_grad():
        alone = model.encode(x[:1])
        together = model.encode(x)
        assert torch.equal(alone[0], together[0])
        assert torch.equal(model.encode(x), together)
        logits_alone = model.decode_indices(alone)
        logits_together = model.decode_indices(together)
        assert torch.allclose(logits_alone[0], logits_together[0], atol=1e-5)
        full_alone, idx_alone, _, _ = model(x[:1])
        full_together, idx_together, _, _ = model(x)
    assert torch.equal(idx_alone[0], idx_together[0])
    assert torch.allclose(full_alone[0], full_together[0], atol=1e-5)


def test_ema_updates_only_in_train_mode():
    model = _model()
    x = one_hot(_batch(2))
    before = {k: v.clone() for k, v in model.quantizer.state_dict().items()}
    model.eval()
    with torch.no_grad():
        model(x)
        model.encode(x)
    for key, value in model.quantizer.state_dict().items():
        assert torch.equal(value, before[key]), key
    model.train()
    with torch.no_grad():
        model(x)
    assert not torch.equal(model.quantizer.cluster_size, before["cluster_size"])
    assert not torch.equal(model.quantizer.codebook, before["codebook"])
    model.train()
    with torch.no_grad():
        model.encode(x)  # encode never updates, even in train mode
    after_forward = model.quantizer.codebook.clone()
    model.encode(x)
    assert torch.equal(model.quantizer.codebook, after_forward)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("codebook_size", 1, ValueError),
        ("codebook_size", 4097, ValueError),
        ("codebook_size", 8.0, TypeError),
        ("code_dim", 0, ValueError),
        ("width", 12, ValueError),
        ("width", 2048, ValueError),
        ("factor", 3, ValueError),
        ("factor", 8, ValueError),
        ("decay", 1.0, ValueError),
        ("decay", 0.4, ValueError),
        ("decay", float("nan"), ValueError),
        ("commitment", -0.1, ValueError),
        ("commitment", float("inf"), ValueError),
        ("dead_threshold", -1.0, ValueError),
        ("num_codes", "9", TypeError),
    ],
)
def test_bad_configs_name_the_field_and_value(field, value, error):
    with pytest.raises(error, match=rf"{field}={value!r}".replace("(", r"\(").replace(")", r"\)")):
        VQConfig(**{field: value})


def test_config_round_trips_through_a_dict():
    config = VQConfig(**SMALL)
    assert VQConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown keys"):
        VQConfig.from_dict({"bogus": 1})
