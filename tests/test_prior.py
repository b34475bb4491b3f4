"""The code prior (generators.prior): shapes, causality, learning, conditioning, sampling, configs."""

from __future__ import annotations

import pytest
import torch

from generators.prior import CodePrior, PriorConfig

SMALL = {
    "codebook_size": 16,
    "max_side": 8,
    "width": 32,
    "layers": 2,
    "heads": 4,
    "num_styles": 2,
    "num_sizes": 2,
}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _model(**overrides) -> CodePrior:
    torch.manual_seed(0)
    return CodePrior(PriorConfig(**{**SMALL, **overrides}))


def _stripes(n: int, style: int, seed: int) -> torch.Tensor:
    """Style 0: horizontal stripes of codes 0-3 (each row constant); style 1: vertical stripes
    of codes 4-7 (each column constant). The stripe codes are random per grid."""
    g = torch.Generator().manual_seed(seed)
    values = torch.randint(0, 4, (n, 4), generator=g) + 4 * style
    if style == 0:
        return values[:, :, None].expand(n, 4, 4).clone()
    return values[:, None, :].expand(n, 4, 4).clone()


def _stats(grids: torch.Tensor) -> tuple[float, float, float]:
    """(fraction of codes < 4, fraction of equal horizontal neighbours, of equal vertical ones)."""
    low = (grids < 4).float().mean().item()
    across = (grids[:, :, 1:] == grids[:, :, :-1]).float().mean().item()
    down = (grids[:, 1:, :] == grids[:, :-1, :]).float().mean().item()
    return low, across, down


@pytest.fixture(scope="module")
def trained():
    """A tiny prior trained 80 Adam steps on 8 + 8 striped 4x4 grids of two styles."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model = _model()
    codes = torch.cat([_stripes(8, 0, 1), _stripes(8, 1, 2)])
    style = torch.tensor([0] * 8 + [1] * 8)
    size = torch.zeros(16, dtype=torch.long)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(80):
        loss = model.loss(codes, style, size)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    with torch.no_grad():
        losses.append(model.loss(codes, style, size).item())
    torch.set_num_threads(threads)
    return model, codes, losses


@pytest.mark.parametrize(("side", "size"), [(4, 0), (8, 1)])
def test_shapes_for_4x4_and_8x8_grids(side, size):
    model = _model()
    codes = torch.randint(0, 16, (3, side, side))
    logits = model(codes, torch.tensor([0, 1, 0]), torch.full((3,), size))
    assert logits.shape == (3, side * side, 16)
    assert model.loss(codes, torch.zeros(3, dtype=torch.long), torch.full((3,), size)).dim() == 0
    grids = model.sample(5, side, 1, size, torch.Generator().manual_seed(0))
    assert grids.shape == (5, side, side) and grids.dtype == torch.long
    assert int(grids.min()) >= 0 and int(grids.max()) < 16


def test_num_parameters_counted_without_building():
    config = PriorConfig(**SMALL)
    assert config.num_parameters() == CodePrior(config).num_parameters()
    assert PriorConfig().num_parameters() == CodePrior(PriorConfig()).num_parameters()


@pytest.mark.parametrize("t", [0, 5, 15])
def test_causality_a_code_only_affects_later_positions(t):
    model = _model().eval()
    codes = torch.randint(0, 16, (2, 4, 4), generator=torch.Generator().manual_seed(3))
    changed = codes.clone()
    changed.view(2, 16)[:, t] = (changed.view(2, 16)[:, t] + 1) % 16
    style, size = torch.tensor([0, 1]), torch.tensor([0, 0])
    with torch.no_grad():
        a, b = model(codes, style, size), model(changed, style, size)
    assert torch.allclose(a[:, : t + 1], b[:, : t + 1], atol=1e-6)
    if t < 15:
        assert not torch.allclose(a[:, t + 1 :], b[:, t + 1 :], atol=1e-4)


def test_loss_falls_on_a_tiny_batch(trained):
    _, _, losses = trained
    assert losses[0] > 2.0  # about ln 16 = 2.77 at the start
    assert losses[-1] < 0.5 * losses[0]


def test_conditioning_samples_follow_their_styles_data(trained):
    model, codes, _ = trained
    g = torch.Generator().manual_seed(0)
    zero, one = model.sample(64, 4, 0, 0, g), model.sample(64, 4, 1, 0, g)
    data0, data1 = _stats(codes[:8]), _stats(codes[8:])  # (1, 1, ~.25) and (0, ~.25, 1)
    s0, s1 = _stats(zero), _stats(one)

    def distance(a: tuple[float, ...], b: tuple[float, ...]) -> float:
        return sum(abs(x - y) for x, y in zip(a, b, strict=True))

    assert distance(s0, data0) < distance(s0, data1)
    assert distance(s1, data1) < distance(s1, data0)
    assert s0[0] > 0.9 and s1[0] < 0.1  # code ranges follow the style
    assert s0[1] > s0[2] and s1[2] > s1[1]  # stripe direction follows the style
    # per-sample style ids give the same statistics
    mixed = model.sample(64, 4, [0, 1] * 32, [0] * 64, torch.Generator().manual_seed(1))
    assert _stats(mixed[0::2])[0] > 0.9 and _stats(mixed[1::2])[0] < 0.1


def test_seeded_sampling_is_reproducible_and_ignores_the_global_rng():
    model = _model()
    torch.manual_seed(1)
    a = model.sample(8, 4, 0, 0, torch.Generator().manual_seed(7), temperature=1.5, top_p=0.9)
    torch.manual_seed(2)
    torch.rand(100)
    b = model.sample(8, 4, 0, 0, torch.Generator().manual_seed(7), temperature=1.5, top_p=0.9)
    assert torch.equal(a, b)
    state = torch.get_rng_state()
    c = model.sample(8, 4, 0, 0, torch.Generator().manual_seed(8), temperature=1.5)
    assert torch.equal(state, torch.get_rng_state())  # the global RNG is never drawn from
    assert not torch.equal(a, c)
    assert model.training  # sample restores the mode


def test_top_k_1_equals_greedy_argmax_decoding():
    model = _model().eval()
    style, size = torch.tensor([0, 1, 1]), torch.zeros(3, dtype=torch.long)
    greedy = torch.zeros(3, 16, dtype=torch.long)
    with torch.no_grad():
        for t in range(16):
            greedy[:, t] = model(greedy.view(3, 4, 4), style, size)[:, t].argmax(-1)
    for seed in (0, 1):
        sampled = model.sample(
            3, 4, style, size, torch.Generator().manual_seed(seed), temperature=3.0, top_k=1
        )
        assert torch.equal(sampled, greedy.view(3, 4, 4))
    # a tiny top_p keeps only the most likely code as well
    tiny = model.sample(3, 4, style, size, torch.Generator().manual_seed(2), top_p=1e-6)
    assert torch.equal(tiny, greedy.view(3, 4, 4))


def _escaped(text: str) -> str:
    return text.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("codebook_size", 1, ValueError),
        ("codebook_size", 4097, ValueError),
        ("codebook_size", 16.0, TypeError),
        ("max_side", 0, ValueError),
        ("max_side", 17, ValueError),
        ("width", 4, ValueError),
        ("width", 1024, ValueError),
        ("width", 34, ValueError),  # not a multiple of heads=4
        ("layers", 0, ValueError),
        ("layers", 9, ValueError),
        ("heads", 0, ValueError),
        ("heads", 16, ValueError),
        ("heads", True, TypeError),
        ("num_styles", 0, ValueError),
        ("num_styles", 65, ValueError),
        ("num_sizes", 9, ValueError),
        ("num_sizes", "2", TypeError),
    ],
)
def test_bad_configs_name_the_field_and_value(field, value, error):
    with pytest.raises(error, match=_escaped(f"{field}={value!r}")):
        PriorConfig(**{**SMALL, field: value})


@pytest.mark.parametrize(
    ("argument", "value", "error"),
    [
        ("temperature", 0.0, ValueError),
        ("temperature", -1.0, ValueError),
        ("temperature", float("nan"), ValueError),
        ("temperature", float("inf"), ValueError),
        ("temperature", "1", TypeError),
        ("top_k", 0, ValueError),
        ("top_k", 17, ValueError),
        ("top_k", 2.0, TypeError),
        ("top_p", 0.0, ValueError),
        ("top_p", 1.5, ValueError),
        ("top_p", float("nan"), ValueError),
        ("side", 9, ValueError),
        ("side", 0, ValueError),
        ("num", 0, ValueError),
        ("style", 2, ValueError),
        ("style", -1, ValueError),
        ("size", 2, ValueError),
        ("size", 0.0, TypeError),
        ("generator", 0, TypeError),
    ],
)
def test_bad_sample_arguments_name_the_argument_and_value(argument, value, error):
    model = _model()
    kwargs = {"num": 2, "side": 4, "style": 0, "size": 0, "generator": torch.Generator(), argument: value}
    with pytest.raises(error, match=_escaped(f"{argument}={value!r}")):
        model.sample(**kwargs)


def test_bad_forward_inputs_raise():
    model = _model()
    ok = torch.zeros(2, dtype=torch.long)
    with pytest.raises(ValueError, match="codes hold values"):
        model(torch.full((2, 4, 4), 16), ok, ok)
    with pytest.raises(ValueError, match="codes of shape"):
        model(torch.zeros(2, 9, 9, dtype=torch.long), ok, ok)
    with pytest.raises(ValueError, match="style=2"):
        model(torch.zeros(2, 4, 4, dtype=torch.long), torch.tensor([0, 2]), ok)
