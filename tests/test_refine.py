"""The tile-level refiner of the v2 scene models (:mod:`generators.refine`): its network, the
corruptions it is trained to undo, its place in a model and a checkpoint, and stage 4 of
``python -m generators train vqvae``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from generators import checkpoint as ckpt  # noqa: E402
from generators.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from generators.data import NUM_CODES, CorpusSpec  # noqa: E402
from generators.refine import (  # noqa: E402
    Refiner,
    RefinerConfig,
    corrupt,
    doorways,
    fix_weights,
    near_codes,
    open_ground,
    own_targets,
    placed_keys,
    reach_maps,
    sense,
    swap_codes,
)
from generators.train_vq import VQTrainConfig, attach_refiner  # noqa: E402
from generators.vqmodel import VQModelConfig, VQSceneModel  # noqa: E402
from tests.test_vq_checkpoint import _one_thread, _small_corpus, rewrite, tiny_config  # noqa: E402, F401
from vrenvs.core.catalog import CATALOG  # noqa: E402
from vrenvs.core.repair import repair_batch  # noqa: E402

ROOMS = """
########
#..#...#
#..+...#
#..#...#
##.#####
#......#
#.r..R.#
########
"""


def grid(text: str) -> torch.Tensor:
    glyphs = {g: k for k, g in enumerate(CATALOG.glyphs)}
    return torch.tensor([[glyphs[c] for c in row] for row in text.strip().splitlines()], dtype=torch.long)


def ascii_of(cells: torch.Tensor) -> str:
    return "\n".join("".join(CATALOG.glyphs[int(c)] for c in row) for row in cells)


def test_doorways_are_door_tiles_of_every_kind_and_one_cell_gaps_in_walls():
    found = doorways(grid(ROOMS)[None])[0]
    assert sorted(map(tuple, found.nonzero().tolist())) == [(2, 3), (4, 2), (6, 5)]  # +, gap, R


def test_corrupt_walls_up_doorways_and_removes_keys_at_the_drawn_rates():
    rooms = grid(ROOMS)
    batch = rooms.expand(400, -1, -1).contiguous()
    out = corrupt(batch, torch.Generator().manual_seed(0), door_drop=1.0, key_drop=0.5)
    changed = out != batch
    # only doorways (to wall) and the key (to floor) ever change
    door = doorways(rooms[None])[0]
    key = rooms == CATALOG.item_code("red_key")
    assert not changed[:, ~(door | key)].any()
    assert (out[:, door][changed[:, door]] == CATALOG.WALL).all()
    assert (out[:, key][changed[:, key]] == CATALOG.tile_code("floor")).all()
    # rate q ~ U[0, 1): a doorway is walled up with chance E[q] = 1/2, the key removed with 1/4
    assert 0.44 < float(changed[:, door].float().mean()) < 0.56
    assert 0.19 < float(changed[:, key].float().mean()) < 0.31
    # the rate is per grid: grids differ in how much they lose
    assert len(set(changed[:, door].sum(dim=1).tolist())) == 4  # 0, 1, 2 or 3 doorways
    assert torch.equal(corrupt(batch, torch.Generator().manual_seed(0), door_drop=0.0), batch)
    again = corrupt(batch, torch.Generator().manual_seed(0), door_drop=1.0, key_drop=0.5)
    assert torch.equal(again, out)


def test_corrupt_example_with_every_doorway_and_key_dropped(monkeypatch):
    # every draw 0 (a cell is dropped if its draw is below the grid's rate), every rate 0.999
    full = torch.full
    monkeypatch.setattr(
        torch, "rand", lambda *a, generator=None: full(a[0], 0.0) if len(a) == 1 else full(a, 0.999)
    )
    out = corrupt(grid(ROOMS)[None], torch.Generator(), door_drop=1.0, key_drop=1.0)[0]
    assert ascii_of(out) == ("########\n#..#...#\n#..#...#\n#..#...#\n########\n#......#\n#....#.#\n########")


OPEN_ROOM = """
#######
#.....#
#.,,,.#
#.....#
#######
"""


def test_open_ground_is_ground_with_ground_on_all_four_sides():
    found = open_ground(grid(OPEN_ROOM)[None])[0]
    assert sorted(map(tuple, found.nonzero().tolist())) == [(2, 2), (2, 3), (2, 4)]
    # in ROOMS only the centre of the right room; a cell beside the key has an item beside it
    assert open_ground(grid(ROOMS)[None])[0].nonzero().tolist() == [[2, 5]]


def test_corrupt_puts_doors_in_the_open_and_swaps_floor_and_grass_at_the_drawn_rates():
    room = grid(OPEN_ROOM)
    batch = room.expand(400, -1, -1).contiguous()
    out = corrupt(batch, torch.Generator().manual_seed(0), door_drop=0.0, door_float=0.5)
    changed = out != batch
    inside = open_ground(room[None])[0]
    assert not changed[:, ~inside].any() and (out[changed] == CATALOG.DOOR).all()
    assert 0.19 < float(changed[:, inside].float().mean()) < 0.31  # E[q] = 0.25
    swapped = corrupt(batch, torch.Generator().manual_seed(0), door_drop=0.0, ground_swap=1.0)
    moved = swapped != batch
    floor, grass = room == CATALOG.tile_code("floor"), room == CATALOG.tile_code("grass")
    assert not moved[:, ~(floor | grass)].any()
    assert (swapped[:, floor][moved[:, floor]] == CATALOG.tile_code("grass")).all()
    assert (swapped[:, grass][moved[:, grass]] == CATALOG.tile_code("floor")).all()
    assert 0.44 < float(moved[:, floor | grass].float().mean()) < 0.56
    # off (the defaults), nothing more is drawn: the corruption is the one before these options
    plain = corrupt(batch, torch.Generator().manual_seed(3))
    assert torch.equal(plain, corrupt(batch, torch.Generator().manual_seed(3), 1.0, 0.5, 0.0, 0.0))
    gen = torch.Generator().manual_seed(3)
    corrupt(batch, gen)
    expected_next = torch.rand(1, generator=gen)
    gen = torch.Generator().manual_seed(3)
    torch.rand(len(batch), 1, 1, generator=gen), torch.rand(batch.shape, generator=gen)
    assert torch.equal(torch.rand(1, generator=gen), expected_next)


def test_corrupt_example_with_doors_in_the_open_and_ground_swapped(monkeypatch):
    full = torch.full
    monkeypatch.setattr(
        torch, "rand", lambda *a, generator=None: full(a[0], 0.0) if len(a) == 1 else full(a, 0.999)
    )
    room = grid(OPEN_ROOM)[None]
    doors = corrupt(room, torch.Generator(), door_float=1.0)[0]
    assert ascii_of(doors) == "#######\n#.....#\n#.+++.#\n#.....#\n#######"
    both = corrupt(room, torch.Generator(), door_float=1.0, ground_swap=1.0)[0]
    assert ascii_of(both) == "#######\n#,,,,,#\n#,+++,#\n#,,,,,#\n#######"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"door_drop": 1.5}, r"door_drop=1\.5"),
        ({"key_drop": -0.1}, r"key_drop=-0\.1"),
        ({"door_float": 2.0}, r"door_float=2\.0"),
        ({"ground_swap": -1.0}, r"ground_swap=-1\.0"),
    ],
)
def test_corrupt_refuses_rates_outside_0_1(kwargs, message):
    with pytest.raises(ValueError, match=message):
        corrupt(grid(ROOMS)[None], torch.Generator(), **kwargs)


def test_near_codes_are_the_nearest_other_codes():
    codebook = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    assert near_codes(codebook, 1).tolist() == [[1], [0], [1], [2]]
    assert near_codes(codebook, 2).tolist() == [[1, 2], [0, 2], [1, 0], [2, 1]]
    with pytest.raises(ValueError, match=r"k=4"):
        near_codes(codebook, 4)


def test_swap_codes_swaps_only_for_near_codes_and_not_at_rate_0():
    codebook = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    near = near_codes(codebook, 3)
    codes = torch.randint(16, (300, 4, 4), generator=torch.Generator().manual_seed(2))
    out = swap_codes(codes, near, 0.25, torch.Generator().manual_seed(3))
    moved = out != codes
    assert 0.2 < float(moved.float().mean()) < 0.3  # chance ~ U[0, 0.5): 1/4 on average
    assert all(int(b) in near[int(a)].tolist() for a, b in zip(codes[moved], out[moved], strict=True))
    assert torch.equal(swap_codes(codes, near, 0.0, torch.Generator()), codes)
    with pytest.raises(ValueError, match=r"rate=0\.6"):
        swap_codes(codes, near, 0.6, torch.Generator())


def text(codes: np.ndarray) -> str:
    return "\n".join("".join(CATALOG.glyphs[c] for c in row) for row in codes)


# A locked green door with no green key, and a room (with an apple) that has no doorway.
SEALED = """
########
#@.A#..#
#...G.$#
#...####
#......#
#####..#
#..a#..#
########
"""


def test_own_targets_keep_repairs_openings_but_not_the_items_it_placed():
    raw = grid(SEALED).numpy()[None].astype(np.uint8)
    repaired, edits = repair_batch(raw)
    # repair opens the apple's room and puts the missing green key as far away as it can
    assert text(repaired[0]) == "\n".join(
        ["########", "#@.A#..#", "#...G.$#", "#...####", "#......#", "###.#..#", "#..a#.g#", "########"]
    )
    assert edits.tolist() == [2]
    # the target keeps the opening; the key is not placed, its door becomes a plain door
    assert text(own_targets(raw, repaired)[0]) == "\n".join(
        ["########", "#@.A#..#", "#...+.$#", "#...####", "#......#", "###.#..#", "#..a#..#", "########"]
    )
    assert own_targets(repaired, repaired).tolist() == repaired.tolist()  # nothing placed: as is


def test_own_targets_keep_or_skip_a_lock_whose_key_repair_placed():
    raw = grid(SEALED).numpy()[None].astype(np.uint8)
    repaired, _ = repair_batch(raw)
    assert placed_keys(raw, repaired).tolist() == [True]
    assert placed_keys(repaired, repaired).tolist() == [False]
    # keep: the opening, the lock and the key repair placed all stay
    assert own_targets(raw, repaired, "keep").tolist() == repaired.tolist()
    # skip: the opening stays, the key is dropped and the lock stays (the sample gets no weight)
    assert text(own_targets(raw, repaired, "skip")[0]) == "\n".join(
        ["########", "#@.A#..#", "#...G.$#", "#...####", "#......#", "###.#..#", "#..a#..#", "########"]
    )
    with pytest.raises(
        ValueError, match=r"locks='wall' is not supported; choose from \['door', 'keep', 'skip'\]"
    ):
        own_targets(raw, repaired, "wall")


def test_own_pool_with_skip_gives_no_weight_to_samples_with_a_placed_key(monkeypatch):
    import generators.train_vq
    from generators.train_vq import own_pool

    torch.manual_seed(0)
    model = VQSceneModel(tiny_config()).eval()
    corpus = _small_corpus(CorpusSpec.for_size(16))
    monkeypatch.setattr(generators.train_vq, "placed_keys", lambda raw, rep: np.zeros(len(raw), bool))
    full = own_pool(model, corpus, 6, 123, 4.0, 2.0, "skip")
    assert full.weights.ge(1).all()
    monkeypatch.setattr(generators.train_vq, "placed_keys", lambda raw, rep: np.arange(len(raw)) % 2 == 0)
    skip = own_pool(model, corpus, 6, 123, 4.0, 2.0, "skip")
    assert torch.equal(skip.codes, full.codes) and torch.equal(skip.targets, full.targets)
    assert skip.weights[0::2].eq(0).all() and torch.equal(skip.weights[1::2], full.weights[1::2])


def test_own_targets_make_a_keyless_lock_in_open_ground_floor():
    raw = (
        grid(
            """
########
#@.A...#
#......#
#..G...#
#......#
#####..#
#..a#..#
########
"""
        )
        .numpy()[None]
        .astype(np.uint8)
    )
    repaired, _ = repair_batch(raw)
    assert text(repaired[0]).splitlines()[3:7] == ["#..G...#", "#......#", "###.#..#", "#..a#.g#"]
    assert text(own_targets(raw, repaired)[0]).splitlines()[3:7] == [
        "#......#",
        "#......#",
        "###.#..#",
        "#..a#..#",
    ]


def test_own_targets_revert_a_placed_requestable_item():
    raw = grid(SEALED.replace("$", ".").replace("a", ".").replace("G", ".")).numpy()[None].astype(np.uint8)
    repaired, _ = repair_batch(raw)
    placed = repaired != raw
    assert placed.sum() == 1 and CATALOG.CODE_ITEM[repaired[placed]][0] > 0  # a requestable item
    assert own_targets(raw, repaired).tolist() == raw.tolist()


def test_own_targets_refuse_grids_of_different_shapes():
    with pytest.raises(ValueError, match=r"raw \(1, 8, 8\) and repaired \(1, 8, 9\) are not allowed"):
        own_targets(np.zeros((1, 8, 8), np.uint8), np.zeros((1, 8, 9), np.uint8))


def test_an_untrained_refiner_is_the_identity_and_passes_compose():
    refiner = Refiner(RefinerConfig(width=8, passes=2))
    logits = torch.randn(3, NUM_CODES, 16, 16, generator=torch.Generator().manual_seed(0))
    assert torch.equal(refiner(logits), logits)
    with torch.no_grad():
        refiner.head[-1].bias.copy_(torch.arange(NUM_CODES, dtype=torch.float32))
    step = torch.arange(NUM_CODES, dtype=torch.float32)[None, :, None, None]
    assert torch.allclose(refiner.refine(logits), logits + 2 * step)
    assert torch.allclose(refiner.refine(logits, passes=3), logits + 3 * step)
    assert torch.equal(refiner.refine(logits, passes=0), logits)


def test_a_scene_does_not_depend_on_its_batch():
    torch.manual_seed(0)
    refiner = Refiner(RefinerConfig(width=8)).eval()
    for p in refiner.parameters():
        torch.nn.init.normal_(p, std=0.2)
    logits = torch.randn(4, NUM_CODES, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(refiner(logits)[2:3], refiner(logits[2:3]), atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 12}, r"width=12 is not allowed; allowed: a multiple of 8"),
        ({"width": 4}, r"width=4"),
        ({"passes": 0}, r"passes=0"),
        ({"passes": 9}, r"passes=9"),
    ],
)
def test_refiner_config_refuses_bad_values_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RefinerConfig(**kwargs)


def test_refiner_refuses_logits_of_another_shape():
    refiner = Refiner(RefinerConfig(width=8))
    with pytest.raises(ValueError, match=r"logits of shape \(1, 30, 12, 12\) are not allowed"):
        refiner(torch.zeros(1, NUM_CODES, 12, 12))
    with pytest.raises(ValueError, match=r"allowed: \(B, 30, H, W\)"):
        refiner(torch.zeros(1, 5, 16, 16))


def refined_config() -> VQModelConfig:
    return dataclasses.replace(tiny_config(), refiner=RefinerConfig(width=8, passes=2))


def test_model_config_round_trips_its_refiner_and_leaves_it_out_when_none():
    config = refined_config()
    data = config.to_dict()
    assert data["refiner"] == {"width": 8, "passes": 2}
    assert VQModelConfig.from_dict(data) == config
    assert "refiner" not in tiny_config().to_dict()  # configs without one are unchanged
    assert VQModelConfig.from_dict({**tiny_config().to_dict(), "refiner": None}) == tiny_config()
    assert config.num_parameters() == tiny_config().num_parameters() + RefinerConfig(8).num_parameters()
    with pytest.raises(ValueError, match=r"refiner\.width=12"):
        VQModelConfig.from_dict({**data, "refiner": {"width": 12, "passes": 2}})
    with pytest.raises(TypeError, match=r"refiner=3 must be an object"):
        VQModelConfig.from_dict({**data, "refiner": 3})


def test_a_model_decodes_through_its_refiner():
    torch.manual_seed(0)
    model = VQSceneModel(refined_config()).eval()
    assert model.refiner is not None
    with torch.no_grad():
        model.refiner.head[-1].bias.zero_()
        model.refiner.head[-1].bias[CATALOG.WALL] = 1000.0  # every layout cell becomes a wall
    indices = torch.randint(8, (2, 4, 4), generator=torch.Generator().manual_seed(1))
    plain = model.vq.decode_indices(indices)
    assert torch.equal(model.logits(indices, passes=0), plain)
    assert torch.allclose(model.logits(indices), model.refiner(model.refiner(plain)))
    walls = model.decode_indices(indices, "argmax")
    assert (walls == CATALOG.WALL).all()


def test_a_checkpoint_keeps_the_refiner_and_its_passes(tmp_path):
    torch.manual_seed(0)
    model = VQSceneModel(refined_config()).eval()
    assert model.refiner is not None
    for p in model.refiner.parameters():
        torch.nn.init.normal_(p, std=0.1)
    path = ckpt.save_checkpoint(model, tmp_path / "refined", {"metrics": {}})
    loaded = load_checkpoint(path).model
    assert isinstance(loaded, VQSceneModel)
    assert loaded.config.refiner == RefinerConfig(width=8, passes=2)
    indices = torch.randint(8, (3, 4, 4), generator=torch.Generator().manual_seed(1))
    assert np.array_equal(loaded.decode_indices(indices), model.decode_indices(indices))
    rewrite(path, "model.refiner.depth", 3)
    with pytest.raises(CheckpointError, match=r"model\.refiner has unknown fields \['depth'\]"):
        load_checkpoint(path)


def test_attach_refiner_adds_one_seeded_or_sets_the_passes_of_the_one_there():
    model = VQSceneModel(tiny_config())
    attach_refiner(model, VQTrainConfig(refine_width=16, refine_passes=3, seed=5))
    assert model.refiner is not None and model.config.refiner == RefinerConfig(16, 3)
    other = VQSceneModel(tiny_config())
    attach_refiner(other, VQTrainConfig(refine_width=16, refine_passes=3, seed=5))
    assert other.refiner is not None
    for (name, a), b in zip(
        model.refiner.state_dict().items(), other.refiner.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name  # initialised from the seed, whatever the global RNG did
    attach_refiner(model, VQTrainConfig(refine_passes=1))
    assert model.config.refiner == RefinerConfig(16, 1) and model.refiner.config.passes == 1
    with pytest.raises(ValueError, match=r"refine_width=24 is not allowed: the --init checkpoint's refiner"):
        attach_refiner(model, VQTrainConfig(refine_width=24))


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("refine_steps", -1, r"refine_steps=-1"),
        ("refine_width", 12, r"width=12"),
        ("refine_passes", 0, r"passes=0"),
        ("refine_door_drop", 2.0, r"refine_door_drop=2\.0"),
        ("refine_code_swap", 0.7, r"refine_code_swap=0\.7"),
        ("refine_near", 0, r"refine_near=0"),
        ("refine_self", 1.5, r"refine_self=1\.5"),
        ("refine_pool", 2, r"refine_pool=2"),
        ("refine_edit_weight", 0.5, r"refine_edit_weight=0\.5"),
        ("refine_wall_weight", 101.0, r"refine_wall_weight=101\.0"),
        ("refine_fix_weight", 0.5, r"refine_fix_weight=0\.5"),
        ("refine_init", "new", r"refine_init='new' is not supported"),
        ("refine_lock_weight", 0.5, r"refine_lock_weight=0\.5"),
        ("refine_self_locks", "wall", r"refine_self_locks='wall' is not supported; choose from \['door'"),
    ],
)
def test_train_config_refuses_bad_refiner_flags(flag, value, message):
    with pytest.raises(ValueError, match=message):
        VQTrainConfig(**{flag: value})


def test_stage_4_trains_a_refiner_over_the_fixed_model_and_records_both(tmp_path, monkeypatch, capsys):
    import generators.train_vq
    from generators.cli import main

    torch.manual_seed(0)
    base = VQSceneModel(tiny_config()).eval()
    init = ckpt.save_checkpoint(base, tmp_path / "base", {"metrics": {}})
    monkeypatch.setattr(generators.train_vq, "load_corpus", _small_corpus)
    argv = ["train", "vqvae", "--init", str(init), "--prior-steps", "0", "--minutes", "0"]
    argv += ["--refine-steps", "3", "--refine-width", "8", "--refine-batch-size", "4", "--refine-near", "3"]
    argv += ["--eval-samples", "16", "--threads", "1", "--out", str(tmp_path)]
    assert main([*argv[:-2], "--refine-near", "8", "--out", str(tmp_path / "refused")]) == 2
    assert "refine_near=8 is not allowed; allowed: below the codebook size 8" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()
    assert main(argv) == 0
    done = load_checkpoint(tmp_path / "vqvae" / "vqvae-seed0" / "vqvae.json")
    assert done.meta["training"]["steps"] == {"vq": 0, "prior": 0, "bootstrap": 0, "refine": 3}
    assert done.meta["model"]["refiner"] == {"width": 8, "passes": 2}
    metrics = done.meta["metrics"]
    for size in (16, 32):
        assert {
            f"raw_playable_{size}",
            f"unrefined_raw_playable_{size}",
            f"unrefined_pattern_kl_{size}",
        } <= set(metrics)
    model = done.model
    assert isinstance(model, VQSceneModel) and model.refiner is not None
    for name, tensor in base.state_dict().items():  # the VQ-VAE and the prior are untouched
        assert torch.equal(model.state_dict()[name], tensor), name
    head = model.refiner.head[-1]
    assert head.weight.abs().sum() > 0  # trained away from the identity start


def test_own_pool_targets_are_the_repaired_samples_weighted_where_they_differ():
    from generators.train_vq import own_pool

    torch.manual_seed(0)
    model = VQSceneModel(tiny_config()).eval()
    corpus = _small_corpus(CorpusSpec.for_size(16))
    pool = own_pool(model, corpus, 6, 123, 4.0, 2.0)
    assert pool.codes.shape == (6, 4, 4) and pool.targets.shape == pool.weights.shape == (6, 16, 16)
    raw = model.decode_indices(pool.codes)  # the samples are a function of their seeds
    expected = own_targets(raw, repair_batch(raw)[0])
    assert pool.targets.tolist() == expected.tolist()
    differ = expected != raw
    assert differ.any()  # an untrained model's samples all need repair
    assert pool.weights[torch.from_numpy(differ)].eq(4.0).all()
    walls = np.isin(raw, [CATALOG.WALL, CATALOG.tile_code("tree"), CATALOG.tile_code("water")])
    assert walls.any() and (~walls & ~differ).any()
    assert pool.weights[torch.from_numpy(walls & ~differ)].eq(2.0).all()
    assert pool.weights[torch.from_numpy(~walls & ~differ)].eq(1.0).all()
    again = own_pool(model, corpus, 6, 123, 4.0, 2.0)
    assert torch.equal(again.codes, pool.codes) and torch.equal(again.targets, pool.targets)
    locks = own_pool(model, corpus, 6, 123, 4.0, 2.0, lock_weight=7.0)
    locked = np.isin(raw, [CATALOG.glyphs.index(g) for g in "RGBY"]) & ~differ
    assert locked.any()
    assert locks.weights[torch.from_numpy(locked)].eq(7.0).all()
    assert torch.equal(locks.weights[torch.from_numpy(~locked)], pool.weights[torch.from_numpy(~locked)])


def stage_4_argv(tmp_path, monkeypatch, *flags: str) -> list[str]:
    """``train vqvae`` arguments for 2 refiner steps over a tiny saved model on a small corpus."""
    import generators.train_vq

    torch.manual_seed(0)
    init = ckpt.save_checkpoint(VQSceneModel(tiny_config()).eval(), tmp_path / "base", {"metrics": {}})
    monkeypatch.setattr(generators.train_vq, "load_corpus", _small_corpus)
    argv = ["train", "vqvae", "--init", str(init), "--prior-steps", "0", "--minutes", "0"]
    argv += ["--refine-steps", "2", "--refine-width", "8", "--refine-batch-size", "4", "--refine-near", "3"]
    return [*argv, *flags, "--eval-samples", "16", "--threads", "1", "--out", str(tmp_path)]


def test_stage_4_with_own_samples_trains_and_records_the_flags(tmp_path, monkeypatch):
    from generators.cli import main

    flags = ["--refine-self", "1.0", "--refine-pool", "8", "--refine-edit-weight", "3.0"]
    flags += ["--refine-wall-weight", "2.0", "--refine-lock-weight", "4.0", "--refine-self-locks", "keep"]
    argv = stage_4_argv(tmp_path, monkeypatch, *flags)
    assert main(argv) == 0
    done = load_checkpoint(tmp_path / "vqvae" / "vqvae-seed0" / "vqvae.json")
    assert done.meta["training"]["steps"]["refine"] == 2
    command = done.meta["training"]["command"]
    assert "--refine-self 1.0 --refine-pool 8 --refine-edit-weight 3.0 --refine-wall-weight 2.0" in command
    assert "--refine-lock-weight 4.0 --refine-self-locks keep" in command


WALLED = """
########
#..#...#
#@.#.a.#
#..#...#
####.R.#
#.r..A.#
#......#
########
"""


def test_reach_maps_are_the_users_reach_and_the_ground_it_misses():
    codes = grid(WALLED).numpy()[None]
    maps = reach_maps(codes)
    assert maps.shape == (1, 2, 8, 8) and maps.dtype == np.float32
    as_text = ["\n".join("".join("x" if v else "." for v in row) for row in m) for m in maps[0]]
    # the user's room is walled off: it reaches its 6 cells, nothing beyond the wall
    assert as_text[0] == "\n".join(
        ["........", ".xx.....", ".xx.....", ".xx.....", "........", "........", "........", "........"]
    )
    # the ground it misses: the rooms on the right and below, the cells under the apple 'a',
    # the key 'r' and the assistant 'A' included; the locked door 'R' is a doorway, not ground
    assert as_text[1] == "\n".join(
        ["........", "....xxx.", "....xxx.", "....xxx.", "....x.x.", ".xxxxxx.", ".xxxxxx.", "........"]
    )
    # an open doorway joins them: the user now reaches the key, so the lock opens too
    opened = WALLED.replace("#@.#", "#@..", 1)
    maps = reach_maps(grid(opened).numpy()[None])
    assert maps[0, 1].sum() == 0 and maps[0, 0, 4, 5] == 1.0
    assert reach_maps(np.full((2, 8, 8), CATALOG.WALL)).sum() == 0  # no user, no reach
    with pytest.raises(ValueError, match=r"codes of shape \(8, 8\) are not allowed; allowed: \(N, H, W\)"):
        reach_maps(codes[0])


def test_sense_reads_the_maps_of_the_decoded_logits():
    codes = grid(WALLED)[None]
    logits = torch.nn.functional.one_hot(codes, NUM_CODES).permute(0, 3, 1, 2).float() * 20.0
    assert np.array_equal(sense(logits, "paired").numpy(), reach_maps(codes.numpy()))


def test_a_widened_refiner_computes_what_it_did_until_trained():
    torch.manual_seed(0)
    plain = Refiner(RefinerConfig(width=8)).eval()
    for p in plain.parameters():
        torch.nn.init.normal_(p, std=0.2)
    wide = plain.widen().eval()
    assert wide.config == RefinerConfig(width=8, reach=True)
    assert wide.inp.weight.shape == (8, NUM_CODES + 2, 3, 3)
    logits = torch.randn(2, NUM_CODES, 16, 16, generator=torch.Generator().manual_seed(1))
    maps = torch.ones(2, 2, 16, 16)
    with torch.no_grad():
        assert torch.equal(wide(logits, maps), plain(logits))
        wide.inp.weight[:, NUM_CODES:] = 1.0  # the maps now count
        assert not torch.allclose(wide(logits, maps), plain(logits))
        assert torch.allclose(wide.refine(logits, 1, "paired"), wide(logits, sense(logits, "paired")))
    with pytest.raises(ValueError, match=r"maps of shape None are not allowed; allowed: \(2, 2, 16, 16\)"):
        wide(logits)
    with pytest.raises(ValueError, match=r"maps of shape \(2, 1, 16, 16\) are not allowed"):
        wide(logits, maps[:, :1])
    with pytest.raises(ValueError, match=r"maps are not allowed: this refiner was made with reach=False"):
        plain(logits, maps)
    with pytest.raises(ValueError, match=r"already reads reach maps"):
        wide.widen()
    with pytest.raises(TypeError, match=r"reach=1 is not allowed; allowed: True or False"):
        RefinerConfig(reach=1)  # type: ignore[arg-type]


def test_reach_is_stored_only_when_set_and_round_trips_through_a_checkpoint(tmp_path):
    assert RefinerConfig(width=8).to_dict() == {"width": 8, "passes": 2}  # older files unchanged
    assert RefinerConfig(width=8, reach=True).to_dict() == {"width": 8, "passes": 2, "reach": True}
    torch.manual_seed(0)
    model = VQSceneModel(dataclasses.replace(tiny_config(), refiner=RefinerConfig(8, 2, True))).eval()
    assert model.refiner is not None
    for p in model.refiner.parameters():
        torch.nn.init.normal_(p, std=0.1)
    path = ckpt.save_checkpoint(model, tmp_path / "reach", {"metrics": {}})
    loaded = load_checkpoint(path).model
    assert isinstance(loaded, VQSceneModel) and loaded.config.refiner == RefinerConfig(8, 2, True)
    indices = torch.randint(8, (3, 4, 4), generator=torch.Generator().manual_seed(1))
    assert np.array_equal(loaded.decode_indices(indices), model.decode_indices(indices))
    rewrite(path, "model.refiner.reach", "yes")
    with pytest.raises(CheckpointError, match=r"reach='yes' is not allowed"):
        load_checkpoint(path)


def test_attach_refiner_widens_the_checkpoints_or_starts_afresh():
    model = VQSceneModel(tiny_config())
    attach_refiner(model, VQTrainConfig(refine_width=8, seed=5))
    assert model.refiner is not None
    before = {k: v.clone() for k, v in model.refiner.state_dict().items()}
    attach_refiner(model, VQTrainConfig(refine_reach=True))
    assert model.config.refiner == RefinerConfig(8, 2, True) and model.refiner.config.reach
    after = model.refiner.state_dict()
    assert torch.equal(after["inp.weight"][:, :NUM_CODES], before["inp.weight"])
    assert not after["inp.weight"][:, NUM_CODES:].any()
    assert all(torch.equal(after[k], v) for k, v in before.items() if k != "inp.weight")
    fresh = VQTrainConfig(init="x.json", refine_steps=1, refine_init="fresh", refine_width=16, seed=5)
    attach_refiner(model, fresh)
    assert model.config.refiner == RefinerConfig(16, 2, False)
    with pytest.raises(ValueError, match=r"refine_init='fresh' is given without --init and --refine-steps"):
        VQTrainConfig(refine_init="fresh", refine_steps=1)
    with pytest.raises(ValueError, match=r"refine_init='new' is not supported; choose from \['checkpoint'"):
        VQTrainConfig(init="x.json", refine_steps=1, refine_init="new")
    with pytest.raises(ValueError, match=r"refine_fix_sealed=True is given with refine_fix_weight=1\.0"):
        VQTrainConfig(refine_fix_sealed=True)
    assert VQTrainConfig(refine_fix_sealed=True, refine_fix_weight=3.0).refine_fix_sealed


def test_stage_4_trains_a_reach_refiner_and_records_the_flag(tmp_path, monkeypatch):
    from generators.cli import main

    flags = ["--refine-reach", "--refine-fix-weight", "3.0", "--refine-fix-sealed", "--decoding", "walled"]
    argv = stage_4_argv(tmp_path, monkeypatch, *flags)
    assert main(argv) == 0
    done = load_checkpoint(tmp_path / "vqvae" / "vqvae-seed0" / "vqvae.json")
    assert done.meta["model"]["refiner"] == {"width": 8, "passes": 2, "reach": True}
    command = done.meta["training"]["command"].split()
    assert "--refine-reach" in command and command[command.index("--refine-fix-weight") + 1] == "3.0"
    assert "--refine-fix-sealed" in command and done.meta["model"]["decoding"] == "walled"
    model = done.model
    assert isinstance(model, VQSceneModel) and model.refiner is not None
    assert model.refiner.inp.weight[:, NUM_CODES:].abs().sum() > 0  # the maps' weights trained


def test_a_tidy_run_stores_its_corpus_s_patterns_and_senses_the_spaced_grid(tmp_path, monkeypatch):
    from generators.cli import main
    from generators.sampling import pattern_keys

    argv = stage_4_argv(tmp_path, monkeypatch, "--refine-reach", "--decoding", "tidy")
    assert main(argv) == 0
    done = load_checkpoint(tmp_path / "vqvae" / "vqvae-seed0" / "vqvae.json")
    model = done.model
    assert isinstance(model, VQSceneModel) and model.config.decoding == "tidy"
    for size in (16, 32):
        keys = pattern_keys(_small_corpus(CorpusSpec.for_size(size)).train)
        assert getattr(model, f"patterns_{size}").tolist() == keys.tolist()
    assert done.meta["model"]["patterns"] == list(model.config.patterns)
    assert "raw_playable_16" in done.meta["metrics"]


def test_fix_weights_weigh_the_cells_a_corruption_changed():
    rooms = grid(ROOMS)[None]
    broken = rooms.clone()
    broken[0, 2, 3] = CATALOG.WALL  # the door '+' walled up
    broken[0, 6, 2] = CATALOG.tile_code("floor")  # the key 'r' removed
    weights = fix_weights(broken, rooms, 5.0)
    assert weights.dtype == torch.float32 and weights.shape == (1, 8, 8)
    assert sorted(map(tuple, (weights == 5.0).nonzero()[:, 1:].tolist())) == [(2, 3), (6, 2)]
    assert int((weights == 1.0).sum()) == 62
    assert torch.equal(fix_weights(rooms, rooms, 5.0), torch.ones(1, 8, 8))
    with pytest.raises(ValueError, match=r"weight=0\.5"):
        fix_weights(broken, rooms, 0.5)
    with pytest.raises(ValueError, match=r"broken \(1, 8, 8\) and target \(8, 8\) are not allowed"):
        fix_weights(broken, rooms[0], 5.0)


def test_sealed_fix_weights_weigh_only_the_fixes_that_reopen_a_region():
    broken = grid(WALLED)[None]  # the user's room is walled off
    target = broken.clone()
    target[0, 2, 3] = CATALOG.tile_code("door")  # its doorway, next to the ground it cannot reach
    target[0, 1, 1] = CATALOG.item_code("green_key")  # a removed key, inside the user's room
    assert sorted(map(tuple, (fix_weights(broken, target, 5.0) == 5.0).nonzero()[:, 1:].tolist())) == [
        (1, 1),
        (2, 3),
    ]
    sealed = fix_weights(broken, target, 5.0, sealed=True)
    assert (sealed == 5.0).nonzero()[:, 1:].tolist() == [[2, 3]]
    assert int((sealed == 1.0).sum()) == 63
