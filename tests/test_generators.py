"""Learned scene generators: models, objectives, checkpoints, sampling, sources, CLI.

Model tests use tiny untrained models; source and env tests use the shipped weights.
"""

from __future__ import annotations

import copy
import json
import random
import warnings

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("safetensors")

import torch
from gymnasium.utils.env_checker import check_env, data_equivalence

import vrenvs  # noqa: F401  (registers the ids)
from generators import checkpoint as ckpt
from generators.data import NUM_CODES, one_hot
from generators.metrics import mean_pairwise_hamming, nearest_hamming, pattern_kl
from generators.models import KINDS, Critic, ModelConfig, SceneModel, build_model, latents
from generators.objectives import (
    PatternTerm,
    QuadTerm,
    VAEObjective,
    make_objective,
    pair_counts,
    weigh_scores,
)
from generators.sampling import WINDOW_BASE, decode_logits, pattern_keys, pattern_table, sample_codes
from generators.source import GeneratorSource
from vrenvs.core.catalog import CATALOG
from vrenvs.core.jsonfiles import digest
from vrenvs.core.reach import problems, solvable_batch
from vrenvs.core.scene import Scene

HP: dict = {
    "lr": 1e-4,
    "lr_critic": 1e-4,
    "kl_weight": 1.0,
    "kl_warmup": 0,
    "adv_weight": 0.5,
    "critic_input": "straight",
    "critic_temperature": 1.0,
}


def tiny(kind: str) -> SceneModel:
    torch.manual_seed(0)
    return build_model(ModelConfig(kind=kind, latent_dim=8, width=8))


def batch(n: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    codes = torch.from_numpy(np.random.default_rng(0).integers(0, NUM_CODES, (n, 16, 16)))
    return one_hot(codes), codes


@pytest.mark.parametrize("kind", KINDS)
def test_forward_shapes(kind):
    model = tiny(kind)
    logits = model.decode(torch.zeros(3, 8))
    assert logits.shape == (3, NUM_CODES, 16, 16)
    if model.can_encode:
        mu, logvar = model.encode(batch(3)[0])
        assert mu.shape == logvar.shape == (3, 8)
    assert Critic(8)(torch.softmax(logits, 1)).shape == (3, 65)


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_models_are_small(kind):
    _skip_without_shipped(kind)
    model = ckpt.load_checkpoint(ckpt.shipped(kind)).model
    assert model.num_parameters() + sum(p.numel() for p in Critic(32).parameters()) <= 2_000_000


def test_vae_step_lowers_its_loss_on_a_tiny_batch():
    model = tiny("vae")
    objective = make_objective("vae", model, None, HP)
    assert isinstance(objective, VAEObjective)
    real, codes = batch()

    def loss() -> float:
        rec, kl, _ = objective.losses(real, codes, torch.Generator().manual_seed(1))
        return float((rec + kl).detach())

    before = loss()
    objective.step(real, codes, torch.Generator().manual_seed(1), 0)
    assert loss() < before


def fakes_seen_by_critic(kind: str, model, real: torch.Tensor, seed: int) -> list[torch.Tensor]:
    """The fakes one objective step shows its critic, redrawn from the same generator seed."""
    gen = torch.Generator().manual_seed(seed)
    if kind == "gan":
        return [torch.softmax(model.decode(torch.randn(len(real), 8, generator=gen)), 1)]
    mu, logvar = model.encode(real)
    eps = torch.randn(mu.shape, generator=gen)
    z = torch.randn(len(real), 8, generator=gen)
    recon = model.decode(mu + eps * torch.exp(0.5 * logvar))
    return [torch.softmax(model.decode(z), 1), torch.softmax(recon, 1)]


@pytest.mark.parametrize("kind", ["gan", "vaegan"])
def test_adversarial_step_lowers_both_losses(kind):
    """The critic's hinge loss falls on the batch it saw; the decoder's loss (adversarial,
    plus reconstruction and KL for the VAE-GAN) falls against the updated critic."""
    model, critic = tiny(kind), Critic(8)
    old_model, old_critic = copy.deepcopy(model), copy.deepcopy(critic)
    objective = make_objective(kind, model, critic, {**HP, "critic_input": "softmax"})
    real, codes = batch()
    objective.step(real, codes, torch.Generator().manual_seed(7), 0)
    with torch.no_grad():
        before = fakes_seen_by_critic(kind, old_model, real, 7)

        def critic_loss(c: Critic) -> float:
            return float(
                weigh_scores(torch.relu(1 - c(real))).mean()
                + sum(weigh_scores(torch.relu(1 + c(f))).mean() for f in before) / len(before)
            )

        def decoder_loss(m) -> float:
            fakes = fakes_seen_by_critic(kind, m, real, 7)
            adv = -sum(weigh_scores(critic(f)).mean() for f in fakes) / len(fakes)
            if kind == "gan":
                return float(adv)
            assert isinstance(objective, VAEObjective)
            objective.model = m
            rec, kl, _ = objective.losses(real, codes, torch.Generator().manual_seed(7))
            return float(rec + kl + HP["adv_weight"] * adv)

        assert critic_loss(critic) < critic_loss(old_critic)
        assert decoder_loss(model) < decoder_loss(old_model)


def test_latents_are_pure_functions_of_their_seeds():
    torch.manual_seed(123)
    np.random.seed(123)  # noqa: NPY002 (the global state is what must not matter)
    random.seed(123)
    a = latents([5, 6, 7], 16)
    torch.manual_seed(999)
    np.random.seed(999)  # noqa: NPY002
    torch.randn(100)
    b = latents([7, 6, 5], 16)
    assert torch.equal(a, b.flip(0))
    assert torch.equal(latents([6], 16)[0], a[1])


def test_seeded_sampling_is_repeatable_and_ignores_global_seeds():
    model = tiny("gan")
    torch.manual_seed(1)
    first = sample_codes(model, range(20))
    torch.manual_seed(2)
    np.random.seed(2)  # noqa: NPY002
    assert np.array_equal(sample_codes(model, range(20)), first)


@pytest.mark.parametrize("decoding", ["expected", "winners", "paired", "walled", "spaced"])
def test_count_decodings_place_one_user_one_assistant_and_an_item(decoding):
    logits = torch.randn(50, NUM_CODES, 16, 16, generator=torch.Generator().manual_seed(0))
    codes = decode_logits(logits, decoding).numpy()
    assert ((codes == CATALOG.role_code("user")).sum((1, 2)) == 1).all()
    assert ((codes == CATALOG.role_code("assistant")).sum((1, 2)) == 1).all()
    assert CATALOG.REQUESTABLE[CATALOG.CODE_ITEM[codes]].any(axis=(1, 2)).all()
    confident = (
        torch.nn.functional.one_hot(torch.from_numpy(codes).long(), NUM_CODES).permute(0, 3, 1, 2) * 20.0
    )
    assert np.array_equal(decode_logits(confident, "argmax").numpy(), codes)
    if decoding in ("walled", "spaced"):  # random logits put doors in the open: these move them (below)
        return
    assert np.array_equal(decode_logits(confident, decoding).numpy(), codes)


def _ascii_logits(text: str, extra: dict[tuple[int, int, str], float]) -> torch.Tensor:
    """Logits ``(1, C, H, W)``: 20 for each cell's glyph in ``text``, plus ``extra[(y, x,
    glyph)]`` for a glyph at a cell (a model's weaker belief)."""
    rows = text.strip().splitlines()
    codes = torch.tensor([[CATALOG.glyphs.index(c) for c in row] for row in rows])
    logits = torch.nn.functional.one_hot(codes, NUM_CODES).permute(2, 0, 1).float()[None] * 20.0
    for (y, x, glyph), value in extra.items():
        logits[0, CATALOG.glyphs.index(glyph), y, x] = value
    return logits


LOCKED = """
########
#@.A#..#
#...G..#
#a..####
#......#
########
"""


def test_paired_decoding_gives_a_keyless_lock_its_key_where_the_model_most_believes_it():
    # the model's green key: weak everywhere, strongest on a wall, then at (4, 5), then (1, 6)
    weak = {(0, 0, "g"): 9.0, (4, 5, "g"): 8.0, (1, 6, "g"): 7.0, (1, 1, "g"): 19.0}
    logits = _ascii_logits(LOCKED, weak)

    def text(codes: torch.Tensor) -> str:
        return "\n".join("".join(CATALOG.glyphs[c] for c in row) for row in codes[0].tolist())

    assert text(decode_logits(logits, "expected")) == LOCKED.strip()  # no key: the lock can't be opened
    paired = decode_logits(logits, "paired")
    # the wall cell and the user's cell are not walkable tiles: the key goes to (4, 5)
    assert text(paired) == "\n".join(["########", "#@.A#..#", "#...G..#", "#a..####", "#....g.#", "########"])
    assert solvable_batch(paired.numpy().astype(np.uint8)).all()
    assert not solvable_batch(decode_logits(logits, "expected").numpy().astype(np.uint8)).any()
    # a lock that has its key, and a grid without locks, are decoded as by expected
    keyed = _ascii_logits(LOCKED.replace("#..#\n#...G", "#.r#\n#...G").replace("..####", ".g####"), weak)
    assert torch.equal(decode_logits(keyed, "paired"), decode_logits(keyed, "expected"))
    open_door = _ascii_logits(LOCKED.replace("G", "+"), weak)
    assert torch.equal(decode_logits(open_door, "paired"), decode_logits(open_door, "expected"))


SHUT = """
########
#@.A#..#
#...#.a#
#...#..#
########
"""


def test_walled_decoding_puts_a_doorway_in_the_wall_not_on_the_floor_beside_it():
    # the model's one doorway: strongest on the floor beside the wall, weaker in the wall
    logits = _ascii_logits(SHUT, {(2, 3, "+"): 19.5, (2, 4, "+"): 19.0})

    def text(codes: torch.Tensor) -> str:
        return "\n".join("".join(CATALOG.glyphs[c] for c in row) for row in codes[0].tolist())

    paired = decode_logits(logits, "paired")
    assert text(paired) == "\n".join(["########", "#@.A#..#", "#..+#.a#", "#...#..#", "########"])
    assert not solvable_batch(paired.numpy().astype(np.uint8)).any()  # a door in the open, the room shut
    walled = decode_logits(logits, "walled")
    assert text(walled) == "\n".join(["########", "#@.A#..#", "#...+.a#", "#...#..#", "########"])
    assert solvable_batch(walled.numpy().astype(np.uint8)).all()
    # no cell between walls: the doorway is left out rather than put in the open
    open_field = _ascii_logits("########\n#@.A...#\n#.....a#\n#......#\n########", {(2, 3, "+"): 19.5})
    assert not (decode_logits(open_field, "walled") == CATALOG.glyphs.index("+")).any()
    # doors already between walls decode as paired does
    framed = _ascii_logits(SHUT.replace("#...#.a", "#...+.a"), {(1, 1, "g"): 5.0})
    assert torch.equal(decode_logits(framed, "walled"), decode_logits(framed, "paired"))


def save_tiny(tmp_path, kind: str = "vae"):
    model = tiny(kind)
    path = ckpt.save_checkpoint(model, tmp_path / kind, {"training": {"seed": 0}, "metrics": {}})
    return model, path


@pytest.mark.parametrize("kind", KINDS)
def test_checkpoint_round_trip_gives_identical_samples(tmp_path, kind):
    model, path = save_tiny(tmp_path, kind)
    loaded = ckpt.load_checkpoint(path)
    assert loaded.model.config == model.config
    assert np.array_equal(sample_codes(loaded.model, range(16)), sample_codes(model, range(16)))
    again = ckpt.load_checkpoint(path.with_suffix(".safetensors"))
    assert again.id == loaded.id


def rewrite(path, **changes) -> None:
    """Edit fields of a checkpoint config and re-seal its config_sha256 (as a deliberate edit)."""
    meta = json.loads(path.read_text())
    meta.update(changes)
    meta["config_sha256"] = digest(meta, "config_sha256")
    path.write_text(json.dumps(meta))


def test_truncated_weights_are_refused(tmp_path):
    _, path = save_tiny(tmp_path)
    weights = path.with_suffix(".safetensors")
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(ValueError, match=r"vae\.safetensors are corrupt or truncated"):
        ckpt.load_checkpoint(path)


def test_garbage_weights_with_matching_hash_are_refused(tmp_path):
    _, path = save_tiny(tmp_path)
    weights = path.with_suffix(".safetensors")
    weights.write_bytes(b"\x00" * 64)
    rewrite(path, weights_sha256=ckpt._sha256(weights))
    with pytest.raises(ValueError, match="corrupt \\(not safetensors"):
        ckpt.load_checkpoint(path)


def test_vocabulary_mismatch_is_refused_naming_both_hashes(tmp_path):
    _, path = save_tiny(tmp_path)
    rewrite(path, vocabulary_hash="0123456789abcdef")
    with pytest.raises(ValueError, match=f"0123456789abcdef.*{CATALOG.vocabulary_hash}"):
        ckpt.load_checkpoint(path)


def test_corrupt_config_is_refused(tmp_path):
    _, path = save_tiny(tmp_path)
    path.write_text(path.read_text()[:40])
    with pytest.raises(ValueError, match=r"vae\.json is corrupt"):
        ckpt.load_checkpoint(path)


def test_weights_of_another_shape_are_refused(tmp_path):
    _, path = save_tiny(tmp_path)
    meta = json.loads(path.read_text())
    narrow = ModelConfig(**{**meta["model"], "width": 16})
    rewrite(path, model=narrow.to_dict(), num_parameters=narrow.num_parameters())
    with pytest.raises(ValueError, match=r"do not fit the vae model: .* tensors of the wrong shape"):
        ckpt.load_checkpoint(path)
    gan = ModelConfig(**{**meta["model"], "kind": "gan"})
    rewrite(path, model=gan.to_dict(), num_parameters=gan.num_parameters())
    with pytest.raises(ValueError, match=r"do not fit the gan model: \d+ missing keys .* unexpected keys"):
        ckpt.load_checkpoint(path)


def test_missing_checkpoint_is_refused(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        ckpt.load_checkpoint(tmp_path / "nothing.json")


def _skip_without_shipped(kind: str) -> None:
    if not ckpt.shipped(kind).exists():
        pytest.skip(f"no shipped {kind} weights in generators/weights yet (the generators issue ships them)")


@pytest.fixture(scope="module", params=KINDS)
def source(request):
    _skip_without_shipped(request.param)
    return GeneratorSource(request.param)


def test_every_sampled_scene_is_valid_and_solvable(source):
    codes = np.stack([source.scene(i).codes for i in range(128)])
    assert solvable_batch(codes).all()
    for i in range(0, 128, 16):
        assert problems(source.scene(i)) == []


def test_scene_is_a_pure_function_of_its_index(source):
    fresh = GeneratorSource(source.kind, bank_size=source.bank_size)
    late = fresh.scene(3 * source.bank_size + 5)  # another bank first
    assert fresh.scene(7) == source.scene(7)
    assert late == source.scene(3 * source.bank_size + 5)
    ident = source.identity(7)
    assert ident["source"] == source.kind and ident["latent_seed"] == 7
    assert ident["checkpoint"] == source.checkpoint and ident["edits"] >= 0


def test_sample_is_seeded(source):
    a = source.sample(5, np.random.default_rng(3))
    b = source.sample(5, np.random.default_rng(3))
    assert a == b and len(a) == 5


def test_size_32_is_refused_with_the_sources_that_do_it():
    with pytest.raises(ValueError, match=r"16x16 scenes only.*procedural.*designer"):
        GeneratorSource("gan", 32)


def test_env_with_each_source_passes_check_env(source):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make("vrenvs/Assistant-Fetch-v0", scenes=source)
        check_env(env.unwrapped, skip_render_check=False)
        env.close()


def test_env_with_each_source_is_deterministic(source):
    runs = []
    for _ in range(2):
        env = gym.make("vrenvs/Assistant-Fetch-v0", scenes=GeneratorSource(source.kind))
        obs, info = env.reset(seed=11)
        trace: list = [(obs, info["scene"])]
        for action in (1, 2, 3, 4, 0, 5, 8, 7):
            trace.append(env.step(action)[:4])
        runs.append(trace)
    assert data_equivalence(runs[0], runs[1])
    assert runs[0][0][1]["source"] == source.kind


def test_hamming_and_kl_metrics_on_known_sets():
    rng = np.random.default_rng(0)
    a = rng.integers(0, NUM_CODES, (20, 16, 16)).astype(np.uint8)
    brute = np.mean([(a[i] != a[j]).mean() for i in range(20) for j in range(20) if i != j])
    assert mean_pairwise_hamming(a) == pytest.approx(brute)
    b = a.copy()
    b[:, 0, 0] = (b[:, 0, 0] + 1) % NUM_CODES
    assert np.allclose(nearest_hamming(b, a), 1 / 256)
    assert pattern_kl(a, a) == pytest.approx(0.0)
    assert pattern_kl(a, b) > 0


def test_interpolation_ends_at_its_endpoints():
    from generators.latent import interpolate

    _skip_without_shipped("vae")
    _skip_without_shipped("gan")
    model = ckpt.load_checkpoint(ckpt.shipped("vae")).model
    result = interpolate(model, 3, 9, steps=5)
    assert result.raw.shape == (5, 16, 16)
    assert np.array_equal(result.raw[0], sample_codes(model, [3])[0])
    assert np.array_equal(result.raw[-1], sample_codes(model, [9])[0])
    assert solvable_batch(result.codes).all()
    scene = Scene(result.codes[2])
    assert interpolate(model, scene, scene, steps=2).raw.shape == (2, 16, 16)
    with pytest.raises(ValueError, match="cannot encode"):
        interpolate(ckpt.load_checkpoint(ckpt.shipped("gan")).model, scene, 1)


def test_latent_search_moves_towards_its_target():
    from generators.latent import OBJECTIVES, search

    _skip_without_shipped("gan")
    model = ckpt.load_checkpoint(ckpt.shipped("gan")).model
    start = OBJECTIVES["items"](sample_codes(model, [0])[0])
    result = search(model, "items", target=start + 3, budget=60, seed=0)
    assert result.evaluations <= 60 + 20
    assert solvable_batch(result.codes[None]).all()
    assert result.error <= 3


def test_pair_counts_count_horizontal_and_vertical_neighbours():
    grass, tree = CATALOG.tile_code("grass"), CATALOG.tile_code("tree")
    codes = torch.full((1, 16, 16), grass)
    codes[0, 5, 7] = tree
    counts = pair_counts(one_hot(codes))
    assert counts.shape == (2, NUM_CODES, NUM_CODES)
    assert counts[0].sum() == 16 * 15 and counts[1].sum() == 15 * 16
    for direction in (0, 1):  # the tree has one neighbour of grass before it and one after
        assert counts[direction, grass, tree] == 1 and counts[direction, tree, grass] == 1
        assert counts[direction, tree, tree] == 0


@pytest.mark.parametrize("kind", KINDS)
def test_pattern_terms_move_samples_towards_the_corpus(kind):
    """With only the pair term in play (no critic, no reconstruction), steps lower it on
    the prior samples: the term has the gradient its docstring claims."""
    model = tiny(kind)
    real, codes = batch(16)
    loss = PatternTerm(pair_counts(real), weight=1.0)
    z = torch.randn(32, 8, generator=torch.Generator().manual_seed(3))
    before = loss(model.decode(z)).item()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(15):
        opt.zero_grad()
        loss(model.decode(z)).backward()
        opt.step()
    assert loss(model.decode(z)).item() < before
    critic = Critic(8) if kind != "vae" else None
    hp = {**HP, "pattern_weight": 0.5, "quad_weight": 0.5}
    objective = make_objective(kind, model, critic, hp, codes)
    assert "loss/pattern" in objective.step(real, codes, torch.Generator().manual_seed(1), 0)
    with pytest.raises(ValueError, match="corpus's grids"):
        make_objective(kind, model, critic, hp)


def test_quad_term_turns_unknown_patterns_into_corpus_patterns():
    """A corpus of all grass; logits where grass wins half the cells. Gradient steps on
    the quad term alone make the all-grass 2x2 pattern more common in the argmax."""
    grass = CATALOG.tile_code("grass")
    term = QuadTerm(torch.full((4, 16, 16), grass), 1.0)
    logits = torch.randn(8, NUM_CODES, 16, 16, generator=torch.Generator().manual_seed(0))
    logits[:, grass] += torch.where(
        torch.rand(8, 16, 16, generator=torch.Generator().manual_seed(1)) < 0.5, 5.0, 0.0
    )
    logits.requires_grad_(True)

    def all_grass() -> int:
        g = logits.argmax(1) == grass
        return int((g[:, :-1, :-1] & g[:, :-1, 1:] & g[:, 1:, :-1] & g[:, 1:, 1:]).sum())

    before = all_grass()
    opt = torch.optim.Adam([logits], lr=0.5)
    for _ in range(60):
        opt.zero_grad()
        term(logits).backward()
        opt.step()
    assert all_grass() > 1.5 * before  # 137 -> 251 with these seeds


def test_quad_bins_match_the_report_metric():
    """The quad term bins the same 2x2 keys as the report card's KL, and sends patterns
    the corpus never shows to one extra bin."""
    from generators.metrics import _patterns

    codes = torch.from_numpy(np.random.default_rng(4).integers(0, 3, (5, 16, 16)))
    term = QuadTerm(codes, 1.0)
    keys, _ = _patterns(codes.numpy())
    assert np.array_equal(term.keys.numpy(), keys)
    assert len(term.p) == len(keys) + 1
    unseen = torch.full((1, 2, 2), NUM_CODES - 1)
    assert term.bins(quad_keys_of(unseen)).tolist() == [len(keys)]


def quad_keys_of(codes: torch.Tensor) -> torch.Tensor:
    from generators.objectives import quad_keys

    return quad_keys(codes, NUM_CODES)


def test_a_world_keeps_a_decoded_bank_per_world_and_draws_the_first_banks_in_few_batches(monkeypatch):
    """B worlds each play their own bank; with the source's default LRU of 256 banks, 300
    worlds would evict banks before they were played through and decode them again. The
    first reset asks for 300 banks at once: the source draws them together (1024 scenes per
    batch), not bank by bank."""
    import generators.source as source_module

    calls: list[int] = []
    real = source_module.GeneratorSource._generate

    def counted(self, blocks):
        calls.append(len(blocks))
        return real(self, blocks)

    monkeypatch.setattr(source_module.GeneratorSource, "_generate", counted)
    env = gym.make_vec("vrenvs/Assistant-Fetch-v0", num_envs=300, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    world = env.unwrapped.world
    assert isinstance(world.source, GeneratorSource) and world.source.max_banks >= 600
    assert calls == [64, 64, 64, 64, 44]  # 300 banks of 16, 1024 scenes per batch
    calls.clear()
    for _ in range(3):  # three more episodes per world, inside the 16-scene banks already decoded
        world.reset(range(300))
    assert not calls, f"{len(calls)} banks decoded again"
    env.close()


def test_training_command_runs_end_to_end(tmp_path, monkeypatch):
    from generators.cli import main

    monkeypatch.setenv("VRENVS_CACHE", str(tmp_path / "cache"))
    argv = ["train", "vaegan", "--steps", "3", "--batch-size", "8", "--width", "8", "--critic-width", "8"]
    argv += ["--latent-dim", "8", "--num-procedural", "30", "--num-heldout", "30", "--eval-samples", "32"]
    argv += ["--image-every", "2", "--eval-every", "2", "--decoding", "auto"]
    argv += ["--out", str(tmp_path / "runs"), "--export", str(tmp_path / "export")]
    assert main(argv) == 0
    run = tmp_path / "runs" / "vaegan" / "seed0"
    loaded = ckpt.load_checkpoint(run / "vaegan.json")
    meta = loaded.meta
    assert meta["training"]["command"] == "python -m generators " + " ".join(argv)
    assert meta["training"]["steps"] == 3 and meta["vocabulary_hash"] == CATALOG.vocabulary_hash
    assert 0 <= meta["metrics"]["raw_playable"] <= 1
    assert (run / "samples" / "step_000002.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(run.glob("events.out.tfevents.*"))
    assert (tmp_path / "export" / "vaegan.md").read_text().startswith("# Model card")
    assert main(["train", "gan", "--steps", "0", "--minutes", "0"]) == 2


def test_registered_name_builds_the_source():
    from vrenvs.core.sources import make_source

    _skip_without_shipped("vaegan")
    source = make_source("vaegan", 16)
    assert isinstance(source, GeneratorSource) and source.kind == "vaegan"
    env = gym.make("vrenvs/Assistant-Fetch-v0", scenes="vaegan")
    _, info = env.reset(seed=0)
    assert info["scene"]["source"] == "vaegan"
    with pytest.raises(ValueError, match="16x16 scenes only"):
        make_source("vaegan", 32)


def test_pickled_env_with_a_generator_source_continues_identically():
    import pickle

    env = gym.make("vrenvs/Assistant-Fetch-v0", scenes=GeneratorSource("gan"))
    env.reset(seed=3)
    for action in (1, 2, 3):
        env.step(action)
    clone = pickle.loads(pickle.dumps(env))
    for action in (4, 5, 8, 1, 2):
        assert data_equivalence(env.step(action)[:4], clone.step(action)[:4])
    assert data_equivalence(env.reset(seed=9), clone.reset(seed=9))


def test_default_scenes_come_from_the_shipped_vqvae_weights():
    env = gym.make("vrenvs/Assistant-Fetch-v0")
    _, info = env.reset(seed=0)
    assert info["scene"]["source"] == "vqvae"
    assert info["scene"]["checkpoint"] == GeneratorSource("vqvae", 16).checkpoint


def test_vrenvs_cli_forwards_generators(capsys):
    from vrenvs.app.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["generators", "sample", "--model", "gan", "--num", "-3"])
    assert stop.value.code == 2
    assert "vrenvs generators sample: error: argument --num: -3" in capsys.readouterr().err


def _text(codes: torch.Tensor) -> str:
    return "\n".join("".join(CATALOG.glyphs[c] for c in row) for row in codes[0].tolist())


OPEN_ROOM = """
########
#@.A...#
#......#
#......#
########
"""


def test_spaced_decoding_keeps_a_group_s_cells_apart():
    # the model's apples: two neighbouring cells, then one further away; two apples expected
    logits = _ascii_logits(OPEN_ROOM, {(2, 2, "a"): 21.0, (2, 3, "a"): 20.9, (3, 5, "a"): 20.5})
    walled = decode_logits(logits, "walled")
    assert _text(walled) == "\n".join(["########", "#@.A...#", "#.aa...#", "#......#", "########"])
    spaced = decode_logits(logits, "spaced")
    assert _text(spaced) == "\n".join(["########", "#@.A...#", "#.a....#", "#....a.#", "########"])
    # two doorways in one wall: side by side with walled, the second further along with spaced
    shut = _ascii_logits(
        "#########\n#@.A#...#\n#...#.a.#\n#...#...#\n#########",
        {(1, 4, "+"): 20.8, (2, 4, "+"): 20.7, (3, 4, "+"): 19.5},
    )
    door = CATALOG.glyphs.index("+")
    assert np.argwhere(decode_logits(shut, "walled")[0].numpy() == door).tolist() == [[1, 4], [2, 4]]
    assert np.argwhere(decode_logits(shut, "spaced")[0].numpy() == door).tolist() == [[1, 4], [3, 4]]
    # the count is kept: three apples expected in a row of three cells, none touching another
    lane = _ascii_logits("#####\n#@.A#\n#...#\n#####", {(2, x, "a"): 22.0 for x in (1, 2, 3)})
    apples = np.argwhere(decode_logits(lane, "spaced")[0].numpy() == CATALOG.glyphs.index("a"))
    assert len(apples) == 3
    assert all(max(abs(p - q)) > 1 for i, p in enumerate(apples) for q in apples[:i])


CORPUS_ROOM = """
########
#@.A...#
#....a.#
#......#
########
"""


def test_tidy_decoding_mends_a_seam_toward_the_corpus_s_2x2_patterns():
    corpus = np.array([[[CATALOG.glyphs.index(c) for c in row] for row in CORPUS_ROOM.strip().splitlines()]])
    table = pattern_table(pattern_keys(corpus.astype(np.uint8)))
    # grass in a floor room (the model's floor a close second there): patterns the corpus lacks
    seam = _ascii_logits(CORPUS_ROOM.replace("#....a.#", "#.,..a.#"), {(2, 2, "."): 19.0})
    assert _text(decode_logits(seam, "spaced")) == CORPUS_ROOM.strip().replace("#....a.#", "#.,..a.#")
    assert _text(decode_logits(seam, "tidy", table)) == CORPUS_ROOM.strip()
    # where none of its three likeliest tiles fits better the cell stays (grass, water, tree)
    stuck = _ascii_logits(CORPUS_ROOM.replace("#....a.#", "#.,..a.#"), {(2, 2, "~"): 19.0, (2, 2, "T"): 18.0})
    assert _text(decode_logits(stuck, "tidy", table)) == _text(decode_logits(stuck, "spaced"))
    # items and locked doors are never changed, whatever their windows (floor a close second)
    fixed = _ascii_logits(CORPUS_ROOM.replace("#....a.#", "#.G.ca.#"), {(2, 2, "."): 19.0, (2, 4, "."): 19.0})
    assert _text(decode_logits(fixed, "tidy", table)) == _text(decode_logits(fixed, "spaced"))
    # a grid the corpus shows throughout is left as spaced decodes it
    clean = _ascii_logits(CORPUS_ROOM, {})
    assert torch.equal(decode_logits(clean, "tidy", table), decode_logits(clean, "spaced"))


def test_pattern_tables_refuse_bad_input_by_name():
    corpus = np.zeros((1, 4, 4), np.uint8)
    keys = pattern_keys(corpus)
    assert keys.tolist() == [0]  # one pattern: floor... every cell the first code
    table = pattern_table(keys)
    assert table.shape == (WINDOW_BASE**4,) and table.dtype == torch.bool
    assert table[0] and not table[1]
    assert table[(WINDOW_BASE - 1) * WINDOW_BASE**3]  # a window over the edge is always allowed
    with pytest.raises(ValueError, match=r"grids of shape \(4, 4\) are not allowed; allowed: \(N, H, W\)"):
        pattern_keys(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match=r"grids hold codes outside \[0, "):
        pattern_keys(np.full((1, 4, 4), 200, np.uint8))
    with pytest.raises(ValueError, match=r"pattern keys must be a flat array of keys in \[0, "):
        pattern_table(np.array([-1]))
    logits = torch.zeros(1, NUM_CODES, 4, 4)
    with pytest.raises(ValueError, match=r"decoding 'tidy' needs a pattern table"):
        decode_logits(logits, "tidy")
    with pytest.raises(ValueError, match=r"patterns must be a pattern_table: bool of shape"):
        decode_logits(logits, "tidy", table.float())
    with pytest.raises(ValueError, match=r"decoding='tidy' is not supported; choose from \['expected'"):
        ModelConfig(decoding="tidy")  # the first generators store no patterns
