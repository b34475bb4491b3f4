"""Train a v2 scene model: ``python -m generators train vqvae [--flags]``.

Two stages (three with ``--bootstrap-rounds``) in one run, bounded by steps and/or minutes,
with tqdm bars and TensorBoard scalars under ``<out>/<model>/<run>``. Stage 1 may use 40% of
``--minutes``, stage 2 what is left of it.

1. **VQ-VAE** on the 16x16 and 32x32 corpora (one fully convolutional model for both
   sizes: batches alternate between them), per-cell cross-entropy plus commitment, EMA
   codebook with dead-code restarts. Designer grids are drawn ``designer_weight`` times as
   often as a procedural grid (there are few of them). The weights with the best held-out
   reconstruction (cell accuracy, mean over the sizes) are kept.
2. **Prior**: every training grid is encoded once to its code grid; the conditional
   transformer learns them with the grid's style and size ids (same sampling weights). The
   weights with the lowest held-out negative log-likelihood (nats per code, mean over the
   sizes) are kept (early stopping against memorising the training codes).
3. **Bootstrap** (optional, ``--bootstrap-rounds R``): R rounds of self-training. Each round
   samples the prior at both sizes, keeps the samples that are playable as generated and copy
   no training grid, and fine-tunes the prior on batches mixing those keepers with the corpus
   (the approach of bootstrapped level generators: the model learns from its own playable
   output, so more of its raw output is playable). Stages 1 and 2 may then use 75% of
   ``--minutes``.
4. **Refiner** (optional, ``--refine-steps N``): see :mod:`generators.refine`. It keeps
   :data:`REFINE_SHARE` of ``--minutes``; the shares of stages 1-3 are scaled to the rest
   (:func:`stage_shares`), so all four stages fit in one budget and one command.

The end: a checkpoint (weights + JSON config with this exact command), metrics on evaluation
seeds disjoint from the report's (raw playability and 2x2-pattern KL to the held-out corpus
per size, held-out reconstruction and NLL, code perplexity) and a model card.
"""

from __future__ import annotations

import argparse
import copy
import shlex
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from generators.data import NUM_CODES, SIZES, STYLES, Corpus, CorpusSpec, load_corpus, one_hot
from generators.metrics import pattern_kl
from generators.models import DECODINGS
from generators.prior import PriorConfig
from generators.properties import PROPERTIES, PROPERTY_NAMES, locked_share, measure
from generators.refine import (
    LOCK_TARGETS,
    LOCKED_CODES,
    Refiner,
    RefinerConfig,
    corrupt,
    fix_weights,
    near_codes,
    own_targets,
    placed_keys,
    sense,
    swap_codes,
)
from generators.sampling import base_decoding
from generators.vq import PatchCritic, VQConfig
from generators.vqmodel import MAX_ATTEMPTS, VQ_KINDS, VQModelConfig, VQSceneModel
from vrenvs.core.catalog import CATALOG
from vrenvs.core.checks import check_choice, check_float, check_int, check_output
from vrenvs.core.reach import solvable_batch
from vrenvs.core.repair import repair_batch

__all__ = ["VQTrainConfig", "add_arguments", "evaluate_vq", "parse_config", "train_vq"]

EVAL_SEED0 = 1_000_000_000
"""Seeds of the samples measured during training, disjoint from the report's seeds."""


@dataclass
class VQTrainConfig:
    model: str = "vqvae"
    """which v2 model to train: vqvae, or vqgan (stage 1 adds a patch critic)"""
    seed: int = 0
    """seed of initialisation, batches and restarts"""
    vq_steps: int = 6000
    """VQ-VAE updates (stage 1)"""
    prior_steps: int = 6000
    """prior updates (stage 2)"""
    minutes: float = 20.0
    """wall-time budget of both stages together (stage 1 may use 40%, stage 2 the rest; 0: none)"""
    batch_size: int = 64
    """16x16 grids per update (32x32 batches hold a quarter as many: the same cells)"""
    prior_batch_size: int = 128
    """code grids per prior update"""
    lr: float = 1e-3
    """Adam learning rate of the VQ-VAE"""
    prior_lr: float = 1e-3
    """AdamW learning rate of the prior (cosine decay to 5% over prior_steps or the stage's
    share of minutes, whichever ends first)"""
    prior_weight_decay: float = 0.01
    """AdamW weight decay of the prior"""
    codebook_size: int = 256
    """K, codes in the codebook"""
    code_dim: int = 32
    """D, size of a codebook vector"""
    width: int = 64
    """channels of the VQ-VAE's layers"""
    factor: int = 4
    """downsampling f: a 16x16 map is a (16/f)^2 code grid"""
    prior_width: int = 96
    """width of the prior transformer"""
    prior_layers: int = 3
    """transformer blocks of the prior"""
    prior_heads: int = 4
    """attention heads of the prior"""
    rare_power: float = 0.5
    """cross-entropy weight of glyph code c is (f_max / f_c) ** rare_power (f: training
    frequency, capped at rare_cap), so rare codes (items, doors, actors) are encoded at all;
    folded out of the decoder's bias after stage 1, so its probabilities stay calibrated"""
    rare_cap: float = 20.0
    """largest cross-entropy weight of a code"""
    adv_weight: float = 0.1
    """vqgan: weight of the patch critic's hinge loss on the decoder's output in stage 1
    (vqvae has no critic and refuses another value)"""
    critic_width: int = 32
    """vqgan: channels of the patch critic's first layer"""
    critic_lr: float = 2e-4
    """vqgan: Adam learning rate of the patch critic (betas 0.5, 0.9)"""
    decoding: str = "expected"
    """logits -> codes when sampling (see generators.sampling); with --init the checkpoint's
    is kept unless another is given, which is set after training, before the final metrics"""
    designer_weight: float = 4.0
    """how much more often a designer grid is drawn than a procedural one (with the standard
    6,000 procedural grids per size; a larger procedural part scales it, so designer grids keep
    their share of the batches)"""
    procedural_16: int = 6000
    """procedural 16x16 training grids (indices 0 .. n-1 of ProceduralSource(16)); the
    held-out part (indices from 1,000,000) is the same whatever n, so runs compare"""
    procedural_32: int = 6000
    """procedural 32x32 training grids (as procedural_16)"""
    eval_every: int = 1000
    """steps between evaluations (and snapshots kept if best)"""
    bootstrap_rounds: int = 0
    """stage 3: rounds of self-training (sample, keep the raw-playable non-copies, fine-tune
    the prior on the corpus and the kept samples); 0: none"""
    bootstrap_samples: int = 2048
    """samples drawn per size and bootstrap round"""
    bootstrap_steps: int = 1000
    """prior updates per bootstrap round"""
    bootstrap_share: float = 0.5
    """share of each stage-3 batch drawn from the kept samples (the rest from the corpus)"""
    bootstrap_lr: float = 2e-4
    """constant AdamW learning rate of stage 3"""
    refine_steps: int = 0
    """stage 4: updates of the tile-level refiner (generators.refine), within what --minutes
    leaves after stages 1-3; 0: none (a refiner the --init checkpoint has is kept as it is)"""
    refine_width: int = 32
    """channels of a new refiner's full-resolution layers"""
    refine_passes: int = 2
    """refiner passes when sampling (also sets them on an --init checkpoint's refiner)"""
    refine_init: str = "checkpoint"
    """with --init and --refine-steps: 'checkpoint' fine-tunes the checkpoint's refiner (if it has
    one), 'fresh' trains a new one (seeded by --seed)"""
    refine_reach: bool = False
    """the refiner reads where the user reaches in its input, decoded (generators.refine.reach_maps);
    an --init checkpoint's refiner without it is widened (new input weights at zero)"""
    refine_batch_size: int = 64
    """16x16 grids per refiner update (32x32 batches hold half as many)"""
    refine_lr: float = 2e-3
    """AdamW learning rate of the refiner (cosine decay as in stage 2)"""
    refine_door_drop: float = 1.0
    """corruption: each training grid walls up its doorways with a chance drawn in [0, this)"""
    refine_key_drop: float = 0.5
    """corruption: keys are removed with that chance times this"""
    refine_door_float: float = 0.0
    """corruption: each training grid puts a plain door on open ground (in the open, where
    the corpus has none) with a chance drawn in [0, this); 0: none"""
    refine_ground_swap: float = 0.0
    """corruption: each training grid swaps floor and grass with a chance drawn in
    [0, this); 0: none"""
    refine_code_swap: float = 0.1
    """corruption: codes are swapped for a near codebook neighbour with a chance drawn in
    [0, 2 x this)"""
    refine_near: int = 8
    """corruption: how many nearest codebook neighbours a swapped code may become"""
    refine_self: float = 0.0
    """share of each stage-4 batch drawn from the model's own samples (the model as stage 4
    starts, its refiner included), their repaired grids the targets
    (generators.refine.own_targets); 0: corpus corruptions only"""
    refine_pool: int = 8192
    """own samples drawn once for --refine-self at 16x16 (a quarter as many at 32x32)"""
    refine_edit_weight: float = 1.0
    """loss weight of the cells in which an own sample's target differs from the sample"""
    refine_fix_weight: float = 1.0
    """weight of the cells a corpus corruption changed (doorways walled up, keys removed) in the
    refiner's loss; 1: the plain mean"""
    refine_fix_sealed: bool = False
    """--refine-fix-weight only for the corrupted cells next to ground the user cannot reach (the
    fixes that reopen a sealed region; generators.refine.fix_weights)"""
    refine_wall_weight: float = 1.0
    """loss weight of an own sample's wall, tree and water cells that its target keeps (they
    balance --refine-edit-weight: without them the refiner also opens walls that needed no
    opening)"""
    refine_lock_weight: float = 1.0
    """loss weight of an own sample's locked-door cells that its target keeps (without it
    the refiner also learns to drop locks: fewer locks, fewer scenes that need a key)"""
    refine_self_locks: str = "door"
    """an own sample whose lock needed a key placed by repair: 'door' (the lock's target is
    a plain door), 'keep' (lock and placed key stay in the target) or 'skip' (no weight);
    see generators.refine.LOCK_TARGETS"""
    properties: str = ""
    """comma-separated scene properties the prior is also conditioned on (rooms,
    locked_doors, distance; see generators.properties); empty: none"""
    property_dropout: float = 0.5
    """chance that a property label of a training grid is hidden (set to any) in a batch, so
    the prior also learns each property left free"""
    init: str = ""
    """a v2 checkpoint to start from: its VQ-VAE is kept (stage 1 is skipped) and its prior
    fine-tuned (new property embeddings start at zero); the shape flags come from it"""
    prior_init: str = "checkpoint"
    """with --init: 'checkpoint' fine-tunes the checkpoint's prior, 'fresh' trains a new
    prior (seeded by --seed) over the checkpoint's VQ-VAE"""
    top_p: str = ""
    """the top_p the trained model samples with when a condition names none, per size, as
    '16=0.9' or '16=0.9,32=1.0' (1.0 or a size left out: no truncation); set after training
    (stages sample without it) and before the final metrics; empty: none"""
    eval_samples: int = 512
    """samples per size for the final metrics"""
    threads: int = 2
    """torch threads"""
    out: str = "runs"
    """folder of runs"""
    run: str = ""
    """run name (default: <model>-seed<seed>)"""

    def __post_init__(self) -> None:
        check_choice("model", self.model, VQ_KINDS)
        # with --init, prior_steps 0 skips stage 2 (stage 3 alone fine-tunes the prior)
        prior_low = 0 if self.init else 1
        for name, low in (
            ("vq_steps", 1),
            ("prior_steps", prior_low),
            ("batch_size", 4),
            ("prior_batch_size", 2),
        ):
            check_int(name, getattr(self, name), low, 10_000_000 if "steps" in name else 4096)
        check_int("seed", self.seed, 0, 2**63 - 1)
        check_float("minutes", self.minutes, 0.0, 24 * 60.0)
        for name in ("lr", "prior_lr"):
            check_float(name, getattr(self, name), 0.0, 1.0, above=True)
        check_float("prior_weight_decay", self.prior_weight_decay, 0.0, 1.0)
        check_float("designer_weight", self.designer_weight, 0.0, 1000.0, above=True)
        check_float("rare_power", self.rare_power, 0.0, 4.0)
        check_float("rare_cap", self.rare_cap, 1.0, 1000.0)
        check_choice("decoding", self.decoding, DECODINGS)
        check_int("eval_every", self.eval_every, 1)
        check_int("bootstrap_rounds", self.bootstrap_rounds, 0, 100)
        check_int("bootstrap_samples", self.bootstrap_samples, 16, 65_536)
        check_int("bootstrap_steps", self.bootstrap_steps, 1, 10_000_000)
        check_float("bootstrap_share", self.bootstrap_share, 0.0, 1.0)
        check_float("bootstrap_lr", self.bootstrap_lr, 0.0, 1.0, above=True)
        check_int("eval_samples", self.eval_samples, 16, 65_536)
        check_int("refine_steps", self.refine_steps, 0, 10_000_000)
        RefinerConfig(self.refine_width, self.refine_passes, self.refine_reach)  # checks all three
        check_int("refine_batch_size", self.refine_batch_size, 2, 4096)
        check_float("refine_lr", self.refine_lr, 0.0, 1.0, above=True)
        check_float("refine_door_drop", self.refine_door_drop, 0.0, 1.0)
        check_float("refine_key_drop", self.refine_key_drop, 0.0, 1.0)
        check_float("refine_door_float", self.refine_door_float, 0.0, 1.0)
        check_float("refine_ground_swap", self.refine_ground_swap, 0.0, 1.0)
        check_float("refine_code_swap", self.refine_code_swap, 0.0, 0.5)
        check_int("refine_near", self.refine_near, 1, 64)
        check_float("refine_self", self.refine_self, 0.0, 1.0)
        check_int("refine_pool", self.refine_pool, 4, 1_000_000)
        check_float("refine_edit_weight", self.refine_edit_weight, 1.0, 100.0)
        check_float("refine_wall_weight", self.refine_wall_weight, 1.0, 100.0)
        check_float("refine_fix_weight", self.refine_fix_weight, 1.0, 100.0)
        if self.refine_fix_sealed and self.refine_fix_weight == 1.0:
            raise ValueError(
                "refine_fix_sealed=True is given with refine_fix_weight=1.0, where it changes nothing; "
                "allowed: with --refine-fix-weight above 1"
            )
        check_float("refine_lock_weight", self.refine_lock_weight, 1.0, 100.0)
        check_choice("refine_self_locks", self.refine_self_locks, LOCK_TARGETS)
        check_int("threads", self.threads, 1, 64)
        for size in SIZES:
            # below the held-out part, which starts at index 1,000,000
            check_int(f"procedural_{size}", getattr(self, f"procedural_{size}"), 1, 999_999)
        self.top_p_values()  # checks the flag
        check_choice("prior_init", self.prior_init, PRIOR_INITS)
        if self.prior_init != "checkpoint" and not self.init:
            raise ValueError(
                f"prior_init={self.prior_init!r} is given without --init; allowed: with --init "
                "(a run without it always trains a fresh prior)"
            )
        check_choice("refine_init", self.refine_init, PRIOR_INITS)
        if self.refine_init != "checkpoint" and not (self.init and self.refine_steps):
            raise ValueError(
                f"refine_init={self.refine_init!r} is given without --init and --refine-steps; allowed: "
                "with both (a run without --init always trains a fresh refiner)"
            )
        check_float("property_dropout", self.property_dropout, 0.0, 1.0)
        names = self.property_names
        for name in names:
            check_choice("properties[]", name, PROPERTY_NAMES)
        if len(set(names)) != len(names):
            raise ValueError(f"properties={self.properties!r} is not allowed; allowed: distinct names")
        check_float("adv_weight", self.adv_weight, 0.0, 100.0, above=True)
        check_int("critic_width", self.critic_width, 8, 1024)
        check_float("critic_lr", self.critic_lr, 0.0, 1.0, above=True)
        if self.model == "vqvae":
            defaults = {f.name: f.default for f in fields(VQTrainConfig)}
            given = [f for f in CRITIC_FLAGS if getattr(self, f) != defaults[f]]
            if given:
                flags = ", ".join("--" + f.replace("_", "-") for f in given)
                raise ValueError(
                    f"{flags} given for model='vqvae', which has no critic; allowed: model='vqgan'"
                )
        if self.init:
            default = VQTrainConfig()
            fixed = [f for f in INIT_FIXED if getattr(self, f) != getattr(default, f)]
            if fixed:
                flags = ", ".join("--" + f.replace("_", "-") for f in fixed)
                raise ValueError(
                    f"init={self.init!r} is given with {flags}: a run from a checkpoint takes the "
                    "model's shape from it and skips stage 1; drop those flags"
                )

    def top_p_values(self) -> tuple[float, ...]:
        """``--top-p`` as :attr:`VQModelConfig.top_p` (one value per size; () when empty)."""
        if not self.top_p.strip():
            return ()
        values = dict.fromkeys(SIZES, 1.0)
        for part in self.top_p.split(","):
            size, _, value = part.partition("=")
            try:
                key, number = int(size), float(value)
            except ValueError:
                raise ValueError(
                    f"top_p={self.top_p!r} is not allowed; allowed: SIZE=P pairs separated by commas, "
                    f"e.g. '16=0.9' (sizes {list(SIZES)}, P in (0, 1])"
                ) from None
            check_choice("top_p size", key, SIZES)
            values[key] = check_float(f"top_p at {key}", number, 0.0, 1.0, above=True)
        return tuple(values[s] for s in SIZES)

    @property
    def property_names(self) -> tuple[str, ...]:
        return tuple(n.strip() for n in self.properties.split(",") if n.strip())

    def model_config(self) -> VQModelConfig:
        vq = VQConfig(
            codebook_size=self.codebook_size,
            code_dim=self.code_dim,
            width=self.width,
            factor=self.factor,
            seed=self.seed,
        )
        prior = PriorConfig(
            codebook_size=self.codebook_size,
            max_side=max(SIZES) // self.factor,
            width=self.prior_width,
            layers=self.prior_layers,
            heads=self.prior_heads,
            num_styles=len(STYLES),
            num_sizes=len(SIZES),
        )
        prior = replace(prior, properties=tuple(len(PROPERTIES[n].buckets) for n in self.property_names))
        decoding = base_decoding(self.decoding)  # tidy's patterns are stored at the end (train_vq)
        return VQModelConfig(
            kind=self.model, vq=vq, prior=prior, decoding=decoding, properties=self.property_names
        )


def style_shares(corpora: dict[int, Corpus]) -> tuple[float, ...]:
    """Each style's share of the training grids of every size together: the unconditioned
    mixture's weights."""
    counts = sum(np.bincount(c.train_style, minlength=len(STYLES)) for c in corpora.values())
    shares = [round(float(x), 6) for x in np.asarray(counts, dtype=np.float64) / float(np.sum(counts))]
    return (*shares[:-1], round(1.0 - sum(shares[:-1]), 6))  # the last one makes the sum 1


def code_weights(corpora: dict[int, Corpus], power: float, cap: float) -> torch.Tensor:
    """``(C,)`` cross-entropy weights: ``min(cap, (f_max / f_c) ** power)`` from the training
    grids' code frequencies (codes never seen get the cap)."""
    counts = sum(np.bincount(c.train.ravel(), minlength=NUM_CODES) for c in corpora.values())
    freq = np.asarray(counts, dtype=np.float64)
    with np.errstate(divide="ignore"):
        weights = np.where(freq > 0, (freq.max() / np.maximum(freq, 1)) ** power, cap)
    return torch.from_numpy(np.minimum(weights, cap)).float()


def _weights(corpus: Corpus, designer_weight: float) -> torch.Tensor:
    """Draw weights of the training grids: ``designer_weight`` for a designer grid, scaled by
    the procedural part's size over the standard one, so designer grids keep the share of
    the batches they have in the standard corpus; 1 for a procedural grid."""
    scale = corpus.manifest["spec"]["num_procedural"] / STANDARD_PROCEDURAL
    return torch.where(torch.from_numpy(corpus.train_designer), designer_weight * scale, 1.0).double()


STANDARD_PROCEDURAL = CorpusSpec().num_procedural
"""Procedural training grids per size of the standard corpora."""


def _is_standard(corpus: Corpus) -> bool:
    return bool(corpus.manifest["spec"]["num_procedural"] == STANDARD_PROCEDURAL)


def training_spec(config: VQTrainConfig, size: int) -> CorpusSpec:
    """The corpus a run trains on at ``size``: the standard one with ``procedural_<size>``
    procedural grids (its held-out part is the standard one)."""
    return replace(CorpusSpec.for_size(size), num_procedural=getattr(config, f"procedural_{size}"))


def _draw(weights: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
    return torch.multinomial(weights, n, replacement=True, generator=gen)


INIT_FIXED = (
    "vq_steps", "lr", "batch_size", "codebook_size", "code_dim", "width", "factor",
    "prior_width", "prior_layers", "prior_heads", "rare_power", "rare_cap",
    "adv_weight", "critic_width", "critic_lr",
)  # fmt: skip
"""Settings a run from ``--init`` takes from the checkpoint (or does not use: stage 1)."""

PRIOR_INITS = ("checkpoint", "fresh")
"""Where a run from ``--init`` starts its prior (and its refiner): the checkpoint's, or a fresh one."""

CRITIC_FLAGS = ("adv_weight", "critic_width", "critic_lr")
"""Settings of ``vqgan``'s stage-1 critic (refused for ``vqvae``)."""


def labels(model: VQSceneModel, grids: np.ndarray) -> torch.Tensor:
    """``(N, P)`` target rows of the model's properties for ``grids``: measured bucket + 1."""
    return torch.from_numpy(measure(grids, model.config.properties) + 1)


def hide(targets: torch.Tensor, chance: float, gen: torch.Generator) -> torch.Tensor:
    """``targets`` with each entry set to 0 (any) with probability ``chance``."""
    if not targets.numel() or chance <= 0:
        return targets
    keep = torch.rand(targets.shape, generator=gen) >= chance
    return torch.where(keep, targets, torch.zeros_like(targets))


VQ_SHARE = 0.4
"""Share of ``minutes`` stage 1 may use; stage 2 gets what is left of the whole budget, or
of :data:`PRIOR_SHARE` of it when stage 3 runs."""
PRIOR_SHARE = 0.75
"""Share of ``minutes`` stages 1 and 2 may use together when stage 3 (bootstrap) runs."""


REFINE_SHARE = 0.2
"""Share of ``minutes`` kept for stage 4 (the refiner) when it runs: stages 1-3 then fit in
the first ``1 - REFINE_SHARE`` of the budget, their own shares scaled by it."""


def _budget(config: VQTrainConfig, start: float, share: float) -> float:
    """Deadline (monotonic seconds) of a stage that may use ``share`` of the minutes."""
    return start + 60 * config.minutes * share if config.minutes > 0 else float("inf")


def stage_shares(config: VQTrainConfig) -> dict[int, float]:
    """The share of ``minutes`` by which each stage (1-4) must end: stage 1 by
    :data:`VQ_SHARE`, stage 2 by :data:`PRIOR_SHARE` when stage 3 runs (else by the whole
    budget), stage 3 by the whole budget; all of them scaled by ``1 - REFINE_SHARE`` when
    stage 4 runs, which ends by the whole budget. A stage ends earlier when its steps are
    done, and the next one starts at once."""
    head = 1.0 - REFINE_SHARE if config.refine_steps else 1.0
    prior = PRIOR_SHARE if config.bootstrap_rounds else 1.0
    return {1: VQ_SHARE * head, 2: prior * head, 3: head, 4: 1.0}


@torch.no_grad()
def reconstruction(
    model: VQSceneModel, grids: np.ndarray, indices: torch.Tensor | None = None
) -> dict[str, float]:
    """Held-out cell accuracy and share of grids reconstructed exactly (``indices``: the grids'
    codes, when the caller has them already)."""
    model.eval()
    indices = model.encode(grids) if indices is None else indices
    out = model.decode_indices(indices, "argmax")
    same = out == grids
    return {"cell_accuracy": float(same.mean()), "exact": float(same.all(axis=(1, 2)).mean())}


@torch.no_grad()
def prior_nll(model: VQSceneModel, codes: torch.Tensor, styles: torch.Tensor, size_id: int) -> float:
    """Mean negative log-likelihood (nats per code) of code grids under the prior."""
    model.eval()
    total = 0.0
    for s in range(0, len(codes), 512):
        c = codes[s : s + 512]
        size = torch.full((len(c),), size_id, dtype=torch.long)
        total += float(model.prior.loss(c, styles[s : s + 512].long(), size)) * len(c)
    return total / len(codes)


def heldout_codes(model: VQSceneModel, corpora: dict[int, Corpus]) -> dict[int, torch.Tensor]:
    """The held-out grids' codes per size (the encoder is fixed after stage 1: encode once)."""
    return {size: model.encode(corpus.heldout) for size, corpus in corpora.items()}


def heldout_nll(model: VQSceneModel, corpora: dict[int, Corpus], held: dict[int, torch.Tensor]) -> float:
    """Mean over the sizes of the prior's held-out NLL (nats per code)."""
    return float(
        np.mean(
            [
                prior_nll(model, held[s], torch.from_numpy(c.heldout_style.astype(np.int64)), SIZES.index(s))
                for s, c in corpora.items()
            ]
        )
    )


def perplexity(indices: torch.Tensor, codebook_size: int) -> float:
    """exp(entropy) of the code usage in ``indices``: how many codes are effectively used."""
    counts = torch.bincount(indices.flatten(), minlength=codebook_size).double()
    p = counts / counts.sum()
    return float(torch.exp(-(p[p > 0] * p[p > 0].log()).sum()))


def style_counts(styles: np.ndarray, num: int) -> np.ndarray:
    """``num`` samples split over :data:`STYLES` in the shares of the style ids ``styles``."""
    counts = np.bincount(styles, minlength=len(STYLES))
    share = np.floor(counts / counts.sum() * num).astype(int)
    share[int(np.argmax(share))] += num - int(share.sum())
    return share


def sample_styles(
    model: VQSceneModel, size: int, counts: np.ndarray, seed0: int
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """``counts[s]`` samples of style ``s`` at ``size`` from seeds ``seed0, seed0 + 1, ...``:
    their code grids, glyph grids and style ids."""
    styles = np.repeat(np.arange(len(STYLES)), counts)
    seeds = range(seed0, seed0 + len(styles))
    names = [STYLES[k] for k in styles]
    indices = model.sample_indices(seeds, model.condition(names[0], size), styles=names)
    return indices, model.decode_indices(indices), styles


def evaluate_vq(
    model: VQSceneModel, corpora: dict[int, Corpus], num: int, held: dict[int, torch.Tensor] | None = None
) -> dict[str, float]:
    """Per size: raw playability, pattern KL and the share with a locked door of ``num``
    samples (styles in the held-out corpus's proportions, seeds from :data:`EVAL_SEED0`;
    ``heldout_locked_doors`` is the same share of the held-out scenes compared with), held-out
    reconstruction and code perplexity (``held``: the held-out codes of :func:`heldout_codes`,
    if already made)."""
    held = held if held is not None else heldout_codes(model, corpora)
    out: dict[str, float] = {}
    for size, corpus in corpora.items():
        heldout = corpus.heldout
        _, samples, _ = sample_styles(model, size, style_counts(corpus.heldout_style, num), EVAL_SEED0)
        pick = heldout[np.linspace(0, len(heldout) - 1, min(num, len(heldout))).astype(int)]
        out[f"raw_playable_{size}"] = float(solvable_batch(samples).mean())
        out[f"pattern_kl_{size}"] = pattern_kl(samples, pick)
        out[f"locked_doors_{size}"] = locked_share(samples)
        out[f"heldout_locked_doors_{size}"] = locked_share(pick)
        for key, value in reconstruction(model, heldout, held[size]).items():
            out[f"reconstruction_{key}_{size}"] = value
        out[f"code_perplexity_{size}"] = perplexity(held[size], model.config.vq.codebook_size)
    return out


def _writer(run_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional: scalars go nowhere
        return None
    return SummaryWriter(str(run_dir))


def _log(writer: Any, scalars: dict[str, float], step: int) -> None:
    if writer is not None:
        for key, value in scalars.items():
            writer.add_scalar(key, value, step)


def _train_vq_stage(
    model: VQSceneModel,
    corpora: dict[int, Corpus],
    config: VQTrainConfig,
    gen: torch.Generator,
    writer: Any,
    start: float,
) -> int:
    from tqdm import tqdm

    opt = torch.optim.Adam(model.vq.parameters(), lr=config.lr)
    critic = PatchCritic(config.critic_width) if config.model == "vqgan" else None
    critic_opt = (
        torch.optim.Adam(critic.parameters(), lr=config.critic_lr, betas=(0.5, 0.9)) if critic else None
    )
    weight = code_weights(corpora, config.rare_power, config.rare_cap)
    data = {s: torch.from_numpy(c.train.astype(np.int64)) for s, c in corpora.items()}
    weights = {s: _weights(c, config.designer_weight) for s, c in corpora.items()}
    deadline = _budget(config, start, stage_shares(config)[1])
    best: tuple[float, dict] = (-1.0, {})
    bar = tqdm(
        total=config.vq_steps, desc=f"{config.model} stage 1 (VQ-VAE)", unit="step", dynamic_ncols=True
    )
    step = 0
    while step < config.vq_steps and time.monotonic() < deadline:
        size = SIZES[step % len(SIZES)]
        n = max(2, config.batch_size * (SIZES[0] // size) ** 2)
        codes = data[size][_draw(weights[size], n, gen)]
        model.vq.train()
        real = one_hot(codes)
        logits, _, commit, usage = model.vq(real, gen)
        ce = F.cross_entropy(logits, codes, weight=weight)
        loss = ce + commit
        if critic is not None and critic_opt is not None:
            # the critic sees calibrated probabilities (the class weights folded out, as after training)
            fake = (logits - weight.log().view(1, -1, 1, 1)).softmax(dim=1)
            d_loss = F.relu(1.0 - critic(real)).mean() + F.relu(1.0 + critic(fake.detach())).mean()
            critic_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            critic_opt.step()
            loss = loss - config.adv_weight * critic(fake).mean()  # the hinge generator loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        bar.update(1)
        if step % 50 == 0:
            scalars = {f"vq/ce_{size}": float(ce), f"vq/perplexity_{size}": float(usage)}
            _log(writer, scalars, step)
            bar.set_postfix(ce=f"{float(ce):.3f}", ppl=f"{float(usage):.0f}")
        if step % config.eval_every == 0 or step == config.vq_steps:
            best = _keep_vq(model, corpora, writer, step, best)
    bar.close()
    best = _keep_vq(model, corpora, writer, step, best)
    model.vq.load_state_dict(best[1])
    fold_weights(model, weight)
    return step


@torch.no_grad()
def fold_weights(model: VQSceneModel, weight: torch.Tensor) -> None:
    """A decoder trained with class weights ``w`` predicts ``p'_c ~ w_c p_c``; subtracting
    ``log w`` from the last layer's bias gives back calibrated logits (the count decodings
    need them)."""
    last = model.vq.decoder[-1]
    assert isinstance(last, torch.nn.Conv2d) and last.bias is not None
    last.bias -= weight.log()


def _keep_vq(
    model: VQSceneModel, corpora: dict[int, Corpus], writer: Any, step: int, best: tuple[float, dict]
) -> tuple[float, dict]:
    scores = []
    for size, corpus in corpora.items():
        held = corpus.heldout[:: max(1, len(corpus.heldout) // 512)]
        rec = reconstruction(model, held)
        _log(writer, {f"eval/reconstruction_{size}": rec["cell_accuracy"]}, step)
        scores.append(rec["cell_accuracy"])
    score = float(np.mean(scores))
    return (score, copy.deepcopy(model.vq.state_dict())) if score > best[0] else best


def lr_factor(step: int, steps: int, elapsed: float, budget: float) -> float:
    """Stage 2's learning-rate factor: cosine from 1 to 0.05 over the stage's progress, the
    larger of ``step / steps`` and ``elapsed / budget`` seconds (``budget`` inf: steps only),
    so a run cut by ``--minutes`` still ends at the low rate."""
    progress = min(1.0, max(step / steps, elapsed / budget if budget < float("inf") else 0.0))
    return 0.05 + 0.95 * 0.5 * (1 + float(np.cos(np.pi * progress)))


@dataclass
class PriorData:
    """The training grids of every size as stages 2 and 3 use them (the encoder is fixed
    after stage 1, so they are made once): code grids, style ids, property target rows and
    sampling weights."""

    codes: dict[int, torch.Tensor]
    styles: dict[int, torch.Tensor]
    targets: dict[int, torch.Tensor]
    weights: dict[int, torch.Tensor]


def prior_data(model: VQSceneModel, corpora: dict[int, Corpus], designer_weight: float) -> PriorData:
    return PriorData(
        {s: model.encode(c.train) for s, c in corpora.items()},
        {s: torch.from_numpy(c.train_style.astype(np.int64)) for s, c in corpora.items()},
        {s: labels(model, c.train) for s, c in corpora.items()},
        {s: _weights(c, designer_weight) for s, c in corpora.items()},
    )


def _train_prior_stage(
    model: VQSceneModel,
    corpora: dict[int, Corpus],
    config: VQTrainConfig,
    gen: torch.Generator,
    writer: Any,
    start: float,
    held: dict[int, torch.Tensor],
    data: PriorData,
) -> int:
    from tqdm import tqdm

    train, styles, targets, weights = data.codes, data.styles, data.targets, data.weights
    opt = torch.optim.AdamW(
        model.prior.parameters(), lr=config.prior_lr, weight_decay=config.prior_weight_decay
    )
    deadline = _budget(config, start, stage_shares(config)[2])
    began = time.monotonic()
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: lr_factor(k, config.prior_steps, time.monotonic() - began, deadline - began)
    )
    best: tuple[float, dict] = (float("inf"), {})
    bar = tqdm(
        total=config.prior_steps, desc=f"{config.model} stage 2 (prior)", unit="step", dynamic_ncols=True
    )
    step = 0
    while step < config.prior_steps and time.monotonic() < deadline:
        size_id = step % len(SIZES)
        size = SIZES[size_id]
        pick = _draw(weights[size], config.prior_batch_size, gen)
        model.prior.train()
        ids = torch.full((len(pick),), size_id, dtype=torch.long)
        wanted = hide(targets[size][pick], config.property_dropout, gen) if model.config.properties else None
        loss = model.prior.loss(train[size][pick], styles[size][pick], ids, wanted)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.prior.parameters(), 1.0)
        opt.step()
        sched.step()
        step += 1
        bar.update(1)
        if step % 50 == 0:
            _log(writer, {f"prior/nll_{size}": float(loss)}, step)
            bar.set_postfix(nll=f"{float(loss):.3f}")
        if step % config.eval_every == 0 or step == config.prior_steps:
            nll = heldout_nll(model, corpora, held)
            _log(writer, {"eval/prior_nll": nll}, step)
            if nll < best[0]:
                best = (nll, copy.deepcopy(model.prior.state_dict()))
    bar.close()
    if best[1]:
        model.prior.load_state_dict(best[1])
    return step


BOOTSTRAP_SEED0 = 2_000_000_000
"""Seeds of stage 3's samples (round ``r`` starts at ``BOOTSTRAP_SEED0 + r * 65_536``),
disjoint from the report's (``0 ..``) and :data:`EVAL_SEED0`'s."""


@dataclass
class Pool:
    """Stage 3's kept samples of one size: code grids, style ids and the set of every grid
    seen (training grids and kept samples, as bytes), so no copy is kept twice."""

    codes: torch.Tensor
    styles: torch.Tensor
    seen: set[bytes]
    targets: torch.Tensor | None = None
    """``(n, P)`` property target rows of the kept samples (models with properties)"""


def bootstrap_round(
    model: VQSceneModel, corpus: Corpus, pool: Pool, num: int, seed0: int
) -> dict[str, float]:
    """Draw ``num`` samples at the corpus's size (styles in the training shares) and add the
    raw-playable ones that copy no training grid and no kept sample to ``pool``. Returns the
    round's raw playability and how many were kept (``model`` in eval mode)."""
    codes, grids, styles = sample_styles(model, corpus.size, style_counts(corpus.train_style, num), seed0)
    playable = solvable_batch(grids)
    keep = []
    for k in np.flatnonzero(playable):
        key = grids[k].tobytes()
        if key not in pool.seen:
            pool.seen.add(key)
            keep.append(int(k))
    pick = torch.tensor(keep, dtype=torch.long)
    pool.codes = torch.cat([pool.codes, codes[pick]])
    pool.styles = torch.cat([pool.styles, torch.from_numpy(styles)[pick]])
    if pool.targets is not None:
        pool.targets = torch.cat([pool.targets, labels(model, grids[keep].reshape(-1, *grids.shape[1:]))])
    return {"raw_playable": float(playable.mean()), "kept": float(len(keep))}


def _train_bootstrap_stage(
    model: VQSceneModel,
    corpora: dict[int, Corpus],
    config: VQTrainConfig,
    gen: torch.Generator,
    writer: Any,
    start: float,
    data: PriorData,
) -> int:
    """Stage 3 (``bootstrap_rounds`` > 0): self-training of the prior on its own playable
    samples, which moves probability towards scenes that are playable as generated. Each
    round adds the new keepers to a pool per size and fine-tunes on batches that take
    ``bootstrap_share`` from the pool and the rest from the corpus (so the corpus keeps
    anchoring the distribution; the report's KL and copy columns measure the drift)."""
    from tqdm import tqdm

    train, styles, targets, weights = data.codes, data.styles, data.targets, data.weights
    pools = {
        s: Pool(
            train[s][:0],
            styles[s][:0],
            {g.tobytes() for g in c.train},
            targets[s][:0] if model.config.properties else None,
        )
        for s, c in corpora.items()
    }
    opt = torch.optim.AdamW(
        model.prior.parameters(), lr=config.bootstrap_lr, weight_decay=config.prior_weight_decay
    )
    deadline = _budget(config, start, stage_shares(config)[3])
    step = 0
    bar = tqdm(
        total=config.bootstrap_rounds * config.bootstrap_steps,
        desc=f"{config.model} stage 3 (bootstrap)",
        unit="step",
        dynamic_ncols=True,
    )
    for r in range(config.bootstrap_rounds):
        if time.monotonic() >= deadline:
            break
        for size_id, (size, corpus) in enumerate(corpora.items()):
            seed0 = BOOTSTRAP_SEED0 + (r * len(SIZES) + size_id) * 65_536
            model.eval()
            found = bootstrap_round(model, corpus, pools[size], config.bootstrap_samples, seed0)
            _log(writer, {f"bootstrap/{k}_{size}": v for k, v in found.items()}, r)
            bar.set_postfix({f"playable_{size}": f"{found['raw_playable']:.2f}"})
        for _ in range(config.bootstrap_steps):
            if time.monotonic() >= deadline:
                break
            size_id = step % len(SIZES)
            size = SIZES[size_id]
            pool = pools[size]
            n_pool = min(len(pool.codes), round(config.bootstrap_share * config.prior_batch_size))
            corpus_pick = _draw(weights[size], config.prior_batch_size - n_pool, gen)
            pool_pick = torch.randint(0, max(1, len(pool.codes)), (n_pool,), generator=gen)
            codes = torch.cat([train[size][corpus_pick], pool.codes[pool_pick]])
            ids = torch.cat([styles[size][corpus_pick], pool.styles[pool_pick]])
            wanted = None
            if pool.targets is not None:
                rows = torch.cat([targets[size][corpus_pick], pool.targets[pool_pick]])
                wanted = hide(rows, config.property_dropout, gen)
            model.prior.train()
            sizes = torch.full((len(codes),), size_id, dtype=torch.long)
            loss = model.prior.loss(codes, ids, sizes, wanted)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.prior.parameters(), 1.0)
            opt.step()
            step += 1
            bar.update(1)
            if step % 50 == 0:
                _log(writer, {f"bootstrap/nll_{size}": float(loss)}, step)
    bar.close()
    model.eval()
    return step


def attach_refiner(model: VQSceneModel, config: VQTrainConfig) -> None:
    """Give ``model`` a new refiner (``refine_width``, ``refine_passes``; initialised from
    ``seed``) if it has none, else set its passes to ``refine_passes``; its config follows."""
    if model.refiner is None or config.refine_init == "fresh":
        refiner = RefinerConfig(config.refine_width, config.refine_passes, config.refine_reach)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            model.refiner = Refiner(refiner)
    else:
        if config.refine_width not in (VQTrainConfig.refine_width, model.refiner.config.width):
            raise ValueError(
                f"refine_width={config.refine_width} is not allowed: the --init checkpoint's refiner "
                f"has width {model.refiner.config.width}; allowed: that width (or leave the flag out)"
            )
        if config.refine_reach and not model.refiner.config.reach:
            model.refiner = model.refiner.widen()
        refiner = replace(model.refiner.config, passes=config.refine_passes)
        model.refiner.config = refiner
    model.config = replace(model.config, refiner=refiner)


REFINE_SEED0 = 2_500_000_000
"""Seeds of stage 4's own samples (size 16 from here, 32 from ``REFINE_SEED0 + 1_000_000``),
disjoint from the report's, :data:`EVAL_SEED0`'s and :data:`BOOTSTRAP_SEED0`'s."""


@dataclass
class OwnPool:
    """Stage 4's own samples of one size: code grids, targets (:func:`own_targets`) and the
    per-cell loss weights (``refine_edit_weight`` where the target differs from the sample)."""

    codes: torch.Tensor
    targets: torch.Tensor
    weights: torch.Tensor


_BLOCKING = np.zeros(NUM_CODES, dtype=bool)
_BLOCKING[[CATALOG.WALL, CATALOG.tile_code("tree"), CATALOG.tile_code("water")]] = True


def own_pool(
    model: VQSceneModel,
    corpus: Corpus,
    num: int,
    seed0: int,
    edit_weight: float,
    wall_weight: float = 1.0,
    locks: str = "door",
    lock_weight: float = 1.0,
) -> OwnPool:
    """``num`` samples of ``model`` at the corpus's size (styles in the training shares, in
    banks of 1,024 from seed ``seed0``), repaired, as an :class:`OwnPool`: cells the target
    changes weigh ``edit_weight``, wall, tree and water cells it keeps ``wall_weight``,
    locked doors it keeps ``lock_weight``;
    ``locks`` is :func:`own_targets`'s (with ``"skip"`` the samples in which repair placed a
    key weigh 0)."""
    codes, targets, weights = [], [], []
    for first in range(0, num, 1024):
        counts = style_counts(corpus.train_style, min(1024, num - first))
        indices, raw, _ = sample_styles(model, corpus.size, counts, seed0 + first)
        repaired = repair_batch(raw)[0]
        target = own_targets(raw, repaired, locks)
        codes.append(indices)
        targets.append(torch.from_numpy(target))
        kept_wall = np.where(_BLOCKING[raw], wall_weight, np.where(LOCKED_CODES[raw], lock_weight, 1.0))
        weight = np.where(target != raw, edit_weight, kept_wall).astype(np.float32)
        if locks == "skip":
            weight[placed_keys(raw, repaired)] = 0.0
        weights.append(torch.from_numpy(weight))
    return OwnPool(torch.cat(codes), torch.cat(targets), torch.cat(weights))


def _cell_loss(
    logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor, weighted: int
) -> torch.Tensor:
    """Mean per-cell cross-entropy, weighted when ``weighted`` (the batch holds own samples or
    ``--refine-fix-weight`` is set; else the plain mean, so other runs train as they did)."""
    if not weighted:
        return F.cross_entropy(logits, target)
    return (F.cross_entropy(logits, target, reduction="none") * weights).mean()


def served_decoding(model: VQSceneModel, config: VQTrainConfig) -> str:
    """The decoding the trained model will have: with --init the checkpoint's unless the run
    names another (set after training; a reach refiner senses its inputs decoded so in stage 4)."""
    if config.init and config.decoding != VQTrainConfig.decoding:
        return config.decoding
    return model.config.decoding


def _train_refine_stage(
    model: VQSceneModel,
    corpora: dict[int, Corpus],
    config: VQTrainConfig,
    gen: torch.Generator,
    writer: Any,
    start: float,
) -> int:
    """Stage 4 (``refine_steps`` > 0): the refiner learns to undo corruptions of training
    grids (see :mod:`generators.refine`) over the fixed VQ-VAE, by per-cell cross-entropy
    after one pass and after two; with ``refine_self`` that share of each batch is the
    model's own samples and their repaired targets. Sizes alternate; the prior is not
    touched."""
    from tqdm import tqdm

    refiner = model.refiner
    assert refiner is not None
    model.eval()
    pools: dict[int, OwnPool] = {}
    if config.refine_self:
        for k, (size, corpus) in enumerate(corpora.items()):
            num = config.refine_pool if size == min(SIZES) else max(1, config.refine_pool // 4)
            seed0 = REFINE_SEED0 + k * 1_000_000
            pools[size] = own_pool(
                model,
                corpus,
                num,
                seed0,
                config.refine_edit_weight,
                config.refine_wall_weight,
                config.refine_self_locks,
                config.refine_lock_weight,
            )
    near = near_codes(model.vq.quantizer.codebook, config.refine_near)
    grids = {s: torch.from_numpy(c.train.astype(np.int64)) for s, c in corpora.items()}
    weights = {s: _weights(c, config.designer_weight) for s, c in corpora.items()}
    opt = torch.optim.AdamW(refiner.parameters(), lr=config.refine_lr, weight_decay=1e-4)
    deadline = _budget(config, start, stage_shares(config)[4])
    began = time.monotonic()
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: lr_factor(k, config.refine_steps, time.monotonic() - began, deadline - began)
    )
    refiner.train()
    step = 0
    bar = tqdm(
        total=config.refine_steps, desc=f"{config.model} stage 4 (refiner)", unit="step", dynamic_ncols=True
    )
    while step < config.refine_steps and time.monotonic() < deadline:
        size = SIZES[step % len(SIZES)]
        batch = config.refine_batch_size if size == min(SIZES) else max(1, config.refine_batch_size // 2)
        own = round(batch * config.refine_self)
        parts = []
        if own < batch:
            target = grids[size][_draw(weights[size], batch - own, gen)]
            broken = corrupt(
                target,
                gen,
                config.refine_door_drop,
                config.refine_key_drop,
                config.refine_door_float,
                config.refine_ground_swap,
            )
            codes = swap_codes(model.encode(broken.numpy()), near, config.refine_code_swap, gen)
            fix = fix_weights(broken, target, config.refine_fix_weight, config.refine_fix_sealed)
            parts.append((codes, target, fix))
        if own:
            pool = pools[size]
            pick = torch.randint(len(pool.codes), (own,), generator=gen)
            parts.append((pool.codes[pick], pool.targets[pick], pool.weights[pick]))
        codes, target, cell_weights = (torch.cat(list(column)) for column in zip(*parts, strict=True))
        with torch.no_grad():
            logits = model.vq.decode_indices(codes)
        decoding = served_decoding(model, config)
        once = refiner(logits, sense(logits, decoding) if refiner.config.reach else None)
        twice = refiner(once, sense(once, decoding) if refiner.config.reach else None)
        weighted = own or int(config.refine_fix_weight != 1.0)
        loss = 0.5 * (
            _cell_loss(once, target, cell_weights, weighted)
            + _cell_loss(twice, target, cell_weights, weighted)
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(refiner.parameters(), 1.0)
        opt.step()
        sched.step()
        step += 1
        bar.update(1)
        if step % 50 == 0:
            value = float(loss.detach())
            _log(writer, {f"refine/loss_{size}": value}, step)
            bar.set_postfix({"loss": f"{value:.3f}"})
    bar.close()
    model.eval()
    return step


def _initial_model(config: VQTrainConfig, corpora: dict[int, Corpus]) -> VQSceneModel:
    """A fresh model, or (``--init``) the checkpoint's with the run's properties: its
    weights loaded, new property embeddings at zero (so it starts as the checkpoint's prior);
    with ``prior_init='fresh'`` only its VQ-VAE is loaded and the prior is a new one."""
    if not config.init:
        # the mixture's shares are the standard corpora's, whatever size of procedural part
        # the run trains on (they are what the report's held-out part holds)
        standard = {
            s: c if _is_standard(c) else load_corpus(CorpusSpec.for_size(s)) for s, c in corpora.items()
        }
        return VQSceneModel(replace(config.model_config(), style_weights=style_shares(standard)))
    from generators.checkpoint import load_checkpoint

    base = load_checkpoint(config.init).model
    if not isinstance(base, VQSceneModel):
        raise ValueError(
            f"init={config.init!r} holds a {base.kind} model; allowed: a v2 checkpoint {VQ_KINDS}"
        )
    if base.kind != config.model:
        raise ValueError(
            f"init={config.init!r} holds a {base.kind} model, not the {config.model} being trained; "
            f"allowed: a {config.model} checkpoint (train {base.kind} to continue it)"
        )
    names = config.property_names
    prior = replace(base.config.prior, properties=tuple(len(PROPERTIES[n].buckets) for n in names))
    # the run samples without the checkpoint's top_p; --top-p sets the new one at the end
    model = VQSceneModel(replace(base.config, prior=prior, properties=names, top_p=()))
    state = base.state_dict()
    own = model.state_dict()
    fresh = config.prior_init == "fresh"
    for key, value in own.items():  # embeddings of properties the base already had are kept
        if (
            not (fresh and key.startswith("prior."))
            and key in state
            and state[key].shape == value.shape
            and (not key.startswith("prior.property_embeddings") or base.config.properties == names)
        ):
            own[key] = state[key]
    model.load_state_dict(own)
    return model


def _init_record(path: str) -> dict[str, Any]:
    """What the card needs of the ``--init`` checkpoint's own training (and its init)."""
    from generators.checkpoint import load_checkpoint

    loaded = load_checkpoint(path)
    training = loaded.meta.get("training", {})
    keep = ("command", "seed", "steps", "wall_time_s", "threads", "init")
    return {"checkpoint": loaded.id, **{k: training[k] for k in keep if k in training}}


TARGET_SEED0 = 1_500_000_000
"""Seeds of :func:`target_accuracy`'s samples."""


FEASIBLE = 0.05
"""A (style, bucket) pair is asked for in the target measures only if at least this share of
the style's training grids (at that size) is in the bucket: caves with locked doors, which
the corpus never has, are not a fair request."""


def feasible_styles(corpus: Corpus, name: str, bucket: str) -> list[str]:
    """The styles of ``corpus`` with at least :data:`FEASIBLE` of their training grids in
    ``bucket`` of property ``name``."""
    got = measure(corpus.train, (name,))[:, 0] == PROPERTIES[name].buckets.index(bucket)
    out = []
    for k, style in enumerate(STYLES):
        mine = corpus.train_style == k
        if mine.any() and got[mine].mean() >= FEASIBLE:
            out.append(style)
    return out


def feasible_table(corpora: dict[int, Corpus]) -> dict[str, dict[str, dict[str, list[str]]]]:
    """Per size, property and bucket, the :func:`feasible_styles` of the corpus: a v2
    checkpoint's ``feasible_styles`` (:data:`generators.checkpoint.FEASIBLE_STYLES`)."""
    return {
        str(size): {
            name: {bucket: feasible_styles(corpus, name, bucket) for bucket in prop.buckets}
            for name, prop in PROPERTIES.items()
        }
        for size, corpus in sorted(corpora.items())
    }


def refresh_feasible_styles(path: str | Path) -> dict[str, Any]:
    """Write :func:`feasible_table` of the corpora a v2 checkpoint was trained on (its
    ``training.corpus_key`` per size, rebuilt from ``training.config``) into the checkpoint's
    JSON, re-sealed; the weights and the checkpoint id do not change. Returns the table."""
    from generators.checkpoint import CheckpointError, load_checkpoint, update_feasible_styles

    loaded = load_checkpoint(path)
    training = loaded.meta.get("training", {})
    keys, config = training.get("corpus_key"), training.get("config")
    if not isinstance(keys, dict) or not isinstance(config, dict):
        raise CheckpointError(
            f"generator checkpoint {loaded.path} records no training.corpus_key and training.config; "
            "its corpora are unknown"
        )
    corpora = {}
    for size in getattr(loaded.model.config, "sizes", ()):
        spec = replace(CorpusSpec.for_size(size), num_procedural=int(config.get(f"procedural_{size}", 0)))
        if spec.key() != keys.get(str(size)):
            raise CheckpointError(
                f"generator checkpoint {loaded.path}: its {size}x{size} corpus {keys.get(str(size))!r} is "
                f"not the one its training config rebuilds ({spec.key()!r})"
            )
        corpora[size] = load_corpus(spec)
    table = feasible_table(corpora)
    update_feasible_styles(loaded.path, table)
    return table


@torch.no_grad()
def target_hits(
    model: VQSceneModel, corpus: Corpus, name: str, bucket: str, num: int, seed0: int = 0
) -> dict[str, Any]:
    """``num`` samples asked for ``bucket`` of property ``name`` and ``num`` left free, styles
    spread evenly over :func:`feasible_styles` (``styles``; none: an empty dict). ``hit``: the
    share served with the bucket; ``first_draw``: the share whose first draw had it (what the
    prior alone achieves); ``free``: the share of the free samples with it; ``draws``: mean
    draws per served scene (a miss counts :data:`~generators.vqmodel.MAX_ATTEMPTS`)."""
    styles = feasible_styles(corpus, name, bucket)
    if not styles:
        return {}
    per = [styles[k % len(styles)] for k in range(num)]
    b = PROPERTIES[name].buckets.index(bucket)
    seeds = range(seed0, seed0 + num)
    condition = model.condition(per[0], corpus.size, targets={name: bucket})
    asked, drawn = model.generate_attempts(seeds, condition, styles=per)
    free = model.generate(seeds, model.condition(per[0], corpus.size), styles=per)
    return {
        "hit": float((measure(asked, (name,))[:, 0] == b).mean()),
        "first_draw": float((drawn == 0).mean()),
        "free": float((measure(free, (name,))[:, 0] == b).mean()),
        "draws": float(np.where(drawn >= 0, drawn + 1, MAX_ATTEMPTS).mean()),
        "styles": styles,
    }


@torch.no_grad()
def target_accuracy(model: VQSceneModel, corpora: dict[int, Corpus], num: int) -> dict[str, float]:
    """Per size and property, averaged over the buckets (``num`` samples each, see
    :func:`target_hits`): ``target_first_draw_*``, the share of first draws with the requested
    bucket (the prior's own conditioning), and ``target_free_*``, the share left free."""
    out: dict[str, float] = {}
    for size, corpus in corpora.items():
        for name in model.config.properties:
            found = [target_hits(model, corpus, name, b, num, TARGET_SEED0) for b in PROPERTIES[name].buckets]
            found = [f for f in found if f]
            if found:
                out[f"target_first_draw_{name}_{size}"] = float(np.mean([f["first_draw"] for f in found]))
                out[f"target_free_{name}_{size}"] = float(np.mean([f["free"] for f in found]))
    return out


def train_vq(config: VQTrainConfig, command: str = "") -> Path:
    """Run both stages; returns the checkpoint's JSON path."""
    from generators.cards import write_card
    from generators.checkpoint import FEASIBLE_STYLES, save_checkpoint

    run_dir = Path(config.out) / config.model / (config.run or f"{config.model}-seed{config.seed}")
    check_output("run folder", run_dir, folder=True)
    if run_dir.is_dir() and any(run_dir.iterdir()):
        raise ValueError(
            f"run folder {str(run_dir)!r} exists and is not empty (a run was trained there); give "
            "another --run name (or --out folder), or remove that folder"
        )
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    corpora = {size: load_corpus(training_spec(config, size)) for size in SIZES}
    model = _initial_model(config, corpora)  # a bad --init fails before the run folder exists
    codebook = model.config.vq.codebook_size
    if config.refine_steps and config.refine_near >= codebook:
        raise ValueError(
            f"refine_near={config.refine_near} is not allowed; allowed: below the codebook size {codebook}"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    writer = _writer(run_dir)
    start = time.monotonic()
    vq_steps = 0 if config.init else _train_vq_stage(model, corpora, config, gen, writer, start)
    held = heldout_codes(model, corpora)
    data = prior_data(model, corpora, config.designer_weight)
    prior_steps = (
        _train_prior_stage(model, corpora, config, gen, writer, start, held, data)
        if config.prior_steps
        else 0
    )
    bootstrap_steps = 0
    if config.bootstrap_rounds:
        bootstrap_steps = _train_bootstrap_stage(model, corpora, config, gen, writer, start, data)
    refine_steps = 0
    if config.refine_steps:
        attach_refiner(model, config)
        refine_steps = _train_refine_stage(model, corpora, config, gen, writer, start)
    elif model.refiner is not None and config.refine_passes != VQTrainConfig.refine_passes:
        attach_refiner(model, config)  # only the passes change
    wall = time.monotonic() - start
    model.config = replace(model.config, top_p=config.top_p_values())
    decoding = served_decoding(model, config)
    if decoding == "tidy":  # the 2x2 patterns of this run's training corpus
        model.use_patterns({size: corpus.train for size, corpus in corpora.items()})
    model.config = replace(model.config, decoding=decoding)
    model.eval()
    metrics = evaluate_vq(model, corpora, config.eval_samples, held)
    metrics["prior_nll"] = heldout_nll(model, corpora, held)
    if model.refiner is not None:  # the same samples without the refiner, for comparison
        refiner, model.refiner = model.refiner, None
        try:
            plain = evaluate_vq(model, corpora, config.eval_samples, held)
        finally:
            model.refiner = refiner
        metrics.update(
            {f"unrefined_{k}": v for k, v in plain.items() if k.startswith(("raw_", "pattern_", "locked_"))}
        )
    if model.config.properties:
        metrics.update(target_accuracy(model, corpora, max(16, config.eval_samples // 8)))
    if writer is not None:
        writer.close()
    info = {
        "training": {
            "command": command or "python -m generators train " + shlex.join(_argv(config)),
            "seed": config.seed,
            "steps": {"vq": vq_steps, "prior": prior_steps, "bootstrap": bootstrap_steps}
            | ({"refine": refine_steps} if config.refine_steps else {}),
            "wall_time_s": round(wall, 1),
            "threads": config.threads,
            "torch": torch.__version__,
            "config": asdict(config),
            "corpus": {str(s): c.manifest for s, c in corpora.items()},
            "corpus_key": {str(s): training_spec(config, s).key() for s in SIZES},
            **({"init": _init_record(config.init)} if config.init else {}),
        },
        "metrics": {k: round(v, 4) for k, v in metrics.items()},
        FEASIBLE_STYLES: feasible_table(corpora),
    }
    path = save_checkpoint(model, run_dir / config.model, info)
    card = write_card(path)
    steps = f"{vq_steps} + {prior_steps}" + (f" + {bootstrap_steps}" if config.bootstrap_rounds else "")
    steps += f" + {refine_steps}" if config.refine_steps else ""
    print(f"wrote {path} and {card.name} ({steps} steps, {wall / 60:.1f} min)")
    return path


def _argv(config: VQTrainConfig) -> list[str]:
    default = VQTrainConfig()
    args = [config.model]
    for f in fields(VQTrainConfig):
        value = getattr(config, f.name)
        if f.name == "model" or value == getattr(default, f.name):
            continue
        flag = f.name.replace("_", "-")
        if isinstance(value, bool):
            args.append(f"--{flag}" if value else f"--no-{flag}")
        else:
            args += [f"--{flag}", str(value)]
    return args


def parse_config(args: argparse.Namespace) -> VQTrainConfig:
    """The :class:`VQTrainConfig` of parsed ``train vqvae`` flags (checked on construction)."""
    return VQTrainConfig(**{f.name: getattr(args, f.name) for f in fields(VQTrainConfig)})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``train vqvae`` flags, one per :class:`VQTrainConfig` field (checked when the
    config is built), with the field's docstring as help."""
    from generators.train import field_docs

    docs = field_docs(VQTrainConfig)
    for f in fields(VQTrainConfig):
        if f.name == "model":
            continue
        default = f.default
        flag = f"--{f.name.replace('_', '-')}"
        text = f"{docs.get(f.name, '')} (default: {default!r})".replace("%", "%%")
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=text)
            continue
        parser.add_argument(flag, type=type(default), default=default, help=text)
