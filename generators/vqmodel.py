"""The v2 scene model: a :class:`~generators.vq.VQVAE` and a :class:`~generators.prior.CodePrior`
in one checkpoint, conditioned on style and size.

Sampling scene ``i`` under a condition ``(style, size, temperature, top_k, top_p)``:

1. ``side**2`` uniforms from ``torch.Generator().manual_seed(i)`` (float64; never the global
   RNG), so a scene is a pure function of its seed, the condition and the weights;
2. the prior draws the code grid ``(side, side)`` from them (inverse-CDF, raster order,
   ``side = size / f``), started from the style and size embeddings;
3. the VQ-VAE decoder turns the codes into per-cell logits, decoded by argmax (or another of
   :data:`generators.models.DECODINGS`); the count decodings and ``repair_batch`` apply as
   for the first generators.

A condition may also ask for scene properties (:mod:`generators.properties`), e.g.
``targets={"rooms": "many"}``. They are met by generate and test: scene ``i`` is the first of
its draws (successive blocks of seed ``i``'s uniforms) whose measured buckets are the targets. A model
trained with ``--properties`` also feeds the requested buckets to its prior (an embedding added
at every position, row 0 = any), which raises the share of draws that hit.

Kinds: ``vqvae`` (decoder trained by reconstruction) and ``vqgan`` (the same, with the
decoder also facing a patch critic in stage 1, :class:`generators.vq.PatchCritic`). The kind
names the training recipe; the network that samples is the same (the critic is not kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Self

import numpy as np
import torch
from torch import nn

from generators.data import NUM_CODES, SIZES, STYLES
from generators.models import DECODINGS, MAX_PARAMETERS, DictConfig
from generators.prior import CodePrior, PriorConfig
from generators.properties import PROPERTIES, PROPERTY_NAMES, check_targets, measure, target_ids
from generators.refine import Refiner, RefinerConfig
from generators.sampling import WINDOW_BASE, base_decoding, decode_logits, pattern_keys, pattern_table
from generators.threads import SAMPLE_THREADS, torch_threads
from generators.vq import VQVAE, VQConfig
from vrenvs.core.checks import check_choice, check_float, check_int

__all__ = ["VQ_KINDS", "Condition", "VQModelConfig", "VQSceneModel", "uniforms"]

VQ_KINDS = ("vqvae", "vqgan")
CHUNK = 1024
DECODE_CELLS = 32_768
"""Map cells the decoder and the refiner take at once (128 16x16 maps, 32 32x32 maps): their
activations then stay in the CPU's caches, which decodes a bank of 1024 16x16 scenes in
~0.4 s instead of ~0.65 s (2 threads), the same scenes bit for bit (a map's logits do not
depend on its batch)."""
MAX_ATTEMPTS = 64
"""Draws a scene asked for property targets may take (see :meth:`VQSceneModel.generate_attempts`).
Draw ``k`` of seed ``s`` continues ``s``'s own uniform stream (a seed offset would not do: torch's
CPU generator keeps only a seed's low 32 bits)."""
ATTEMPT_ROWS = 256
"""Most rows a round of :meth:`VQSceneModel.generate_attempts` samples at once (the missing
seeds' next draws together)."""
GOLDEN = (5**0.5 - 1) / 2
"""Step of the Weyl sequence picking the mixture's style of scene ``i``."""


@dataclass(frozen=True)
class Condition:
    """What a v2 generator is asked for: a style name, a size and the sampling settings.
    Checked on construction (TypeError / ValueError naming the value and the choices)."""

    style: str
    size: int
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    targets: tuple[tuple[str, str], ...] = ()
    """requested property buckets as sorted (property, bucket) pairs; () = all free"""

    def check(self, styles: Sequence[str], sizes: Sequence[int], codebook_size: int) -> Self:
        if check_targets(dict(self.targets), PROPERTY_NAMES) != self.targets:
            raise ValueError(f"targets={self.targets!r} must be sorted (property, bucket) pairs")
        check_choice("style", self.style, tuple(styles))
        check_choice("size", self.size, tuple(sizes))
        check_float("temperature", self.temperature, 0.0, 10.0, above=True)
        if self.top_k is not None:
            check_int("top_k", self.top_k, 1, codebook_size)
        if self.top_p is not None:
            check_float("top_p", self.top_p, 0.0, 1.0, above=True)
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``targets`` as a mapping, only when some are set)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "targets"}
        if self.targets:
            out["targets"] = dict(self.targets)
        return out


@dataclass(frozen=True)
class VQModelConfig(DictConfig):
    """Everything that rebuilds a :class:`VQSceneModel`: both sub-configs, the names of the
    style ids, the sizes (a size's id is its index) and the decoding."""

    kind: str = "vqvae"
    vq: VQConfig = field(default_factory=VQConfig)
    prior: PriorConfig = field(default_factory=PriorConfig)
    styles: tuple[str, ...] = STYLES
    sizes: tuple[int, ...] = SIZES
    decoding: str = "argmax"
    style_weights: tuple[float, ...] = ()
    """share of each style in the unconditioned mixture (the training corpus's); () = equal"""
    properties: tuple[str, ...] = ()
    """scene properties (:mod:`generators.properties`) the prior is conditioned on; () = none"""
    refiner: RefinerConfig | None = None
    """the tile-level refiner applied to the decoder's logits (:mod:`generators.refine`); None = none"""
    top_p: tuple[float, ...] = ()
    """the ``top_p`` a condition that names none samples with, one per size (1.0 = no
    truncation); () = none at every size (see :meth:`VQSceneModel.condition`)"""
    patterns: tuple[int, ...] = ()
    """how many 2x2 patterns the ``tidy`` decoding allows, one count per size (the training
    corpus's, stored as the int32 buffers ``patterns_<size>``); () = none (``tidy`` needs them)"""

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, VQ_KINDS)
        check_choice("decoding", self.decoding, DECODINGS)
        for name, sub, cls in (("vq", self.vq, VQConfig), ("prior", self.prior, PriorConfig)):
            if not isinstance(sub, cls):
                raise TypeError(f"{name}={sub!r} must be a {cls.__name__}")
        if self.refiner is not None and not isinstance(self.refiner, RefinerConfig):
            raise TypeError(f"refiner={self.refiner!r} must be a RefinerConfig or None")
        if not isinstance(self.styles, tuple) or not self.styles or len(set(self.styles)) != len(self.styles):
            raise ValueError(f"styles={self.styles!r} is not allowed; allowed: a tuple of distinct names")
        for style in self.styles:
            check_choice("styles[]", style, STYLES)
        if not isinstance(self.sizes, tuple) or not self.sizes or len(set(self.sizes)) != len(self.sizes):
            raise ValueError(f"sizes={self.sizes!r} is not allowed; allowed: a tuple of distinct sizes")
        for size in self.sizes:
            check_choice("sizes[]", size, SIZES)
            if size % self.vq.factor or size // self.vq.factor > self.prior.max_side:
                raise ValueError(
                    f"sizes[]={size} is not allowed with vq.factor={self.vq.factor} and "
                    f"prior.max_side={self.prior.max_side}; allowed: sizes whose code grid fits"
                )
        if not isinstance(self.style_weights, tuple) or (
            self.style_weights
            and (
                len(self.style_weights) != len(self.styles)
                or not all(isinstance(w, float | int) and not isinstance(w, bool) for w in self.style_weights)
                or not all(0 <= w <= 1 for w in self.style_weights)
                or abs(sum(self.style_weights) - 1) > 1e-6
            )
        ):
            raise ValueError(
                f"style_weights={self.style_weights!r} is not allowed; allowed: () or {len(self.styles)} "
                "numbers in [0, 1] summing to 1 (one per style)"
            )
        if not isinstance(self.top_p, tuple) or (
            self.top_p
            and (
                len(self.top_p) != len(self.sizes)
                or not all(isinstance(p, float | int) and not isinstance(p, bool) for p in self.top_p)
                or not all(0 < p <= 1 for p in self.top_p)
            )
        ):
            raise ValueError(
                f"top_p={self.top_p!r} is not allowed; allowed: () or {len(self.sizes)} numbers in "
                "(0, 1] (one per size, 1.0 = no truncation)"
            )
        if not isinstance(self.patterns, tuple) or (
            self.patterns
            and (
                len(self.patterns) != len(self.sizes)
                or not all(type(n) is int and 1 <= n <= WINDOW_BASE**4 for n in self.patterns)
            )
        ):
            raise ValueError(
                f"patterns={self.patterns!r} is not allowed; allowed: () or {len(self.sizes)} counts in "
                f"[1, {WINDOW_BASE**4}] (one per size)"
            )
        if self.decoding == "tidy" and not self.patterns:
            raise ValueError(
                "decoding='tidy' is not allowed without patterns; allowed: a model that stores its "
                "training corpus's 2x2 patterns (train vqvae --decoding tidy), or another decoding"
            )
        if not isinstance(self.properties, tuple) or len(set(self.properties)) != len(self.properties):
            raise ValueError(f"properties={self.properties!r} is not allowed; allowed: distinct names")
        for name in self.properties:
            check_choice("properties[]", name, PROPERTY_NAMES)
        buckets = tuple(len(PROPERTIES[n].buckets) for n in self.properties)
        if self.prior.properties != buckets:
            raise ValueError(
                f"prior.properties={list(self.prior.properties)} is not allowed; allowed: "
                f"{list(buckets)} (the buckets of {list(self.properties)})"
            )
        if self.vq.num_codes != NUM_CODES:
            raise ValueError(f"vq.num_codes={self.vq.num_codes} is not allowed; allowed: {NUM_CODES}")
        if self.prior.codebook_size != self.vq.codebook_size:
            raise ValueError(
                f"prior.codebook_size={self.prior.codebook_size} is not allowed; allowed: "
                f"{self.vq.codebook_size} (vq.codebook_size)"
            )
        if self.prior.num_styles != len(self.styles) or self.prior.num_sizes != len(self.sizes):
            raise ValueError(
                f"prior.num_styles={self.prior.num_styles}, prior.num_sizes={self.prior.num_sizes} are "
                f"not allowed; allowed: {len(self.styles)}, {len(self.sizes)} (the styles and sizes)"
            )
        if self.num_parameters() > MAX_PARAMETERS:
            raise ValueError(
                f"the config makes a model of {self.num_parameters():,} parameters; at most "
                f"{MAX_PARAMETERS:,} are allowed"
            )

    @classmethod
    def from_dict(cls, data: dict) -> Self:
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"unknown keys {unknown}; allowed: {names}")
        values = dict(data)
        for name, sub in (("vq", VQConfig), ("prior", PriorConfig), ("refiner", RefinerConfig)):
            if name in values:
                if name == "refiner" and values[name] is None:
                    continue
                if not isinstance(values[name], dict):
                    raise TypeError(f"{name}={values[name]!r} must be an object")
                try:
                    values[name] = sub.from_dict(values[name])
                except (TypeError, ValueError) as err:
                    raise type(err)(f"{name}.{err}") from None
        for name in ("styles", "sizes", "style_weights", "properties", "top_p", "patterns"):
            if name in values:
                if not isinstance(values[name], list | tuple):
                    raise TypeError(f"{name}={values[name]!r} must be a list")
                values[name] = tuple(values[name])
        return cls(**values)

    def to_dict(self) -> dict:
        return (
            {
                "kind": self.kind,
                "vq": self.vq.to_dict(),
                "prior": self.prior.to_dict(),
                "styles": list(self.styles),
                "sizes": list(self.sizes),
                "decoding": self.decoding,
                "style_weights": list(self.style_weights),
            }
            | ({"properties": list(self.properties)} if self.properties else {})
            | ({"refiner": self.refiner.to_dict()} if self.refiner is not None else {})
            | ({"top_p": list(self.top_p)} if self.top_p else {})
            | ({"patterns": list(self.patterns)} if self.patterns else {})
        )

    def default_top_p(self, size: int) -> float | None:
        """The ``top_p`` scenes of ``size`` sample with when the condition names none (None:
        no truncation)."""
        if not self.top_p:
            return None
        value = float(self.top_p[self.sizes.index(check_choice("size", size, self.sizes))])
        return None if value >= 1.0 else value

    def mixture(self, indices: np.ndarray, among: Sequence[str] | None = None) -> np.ndarray:
        """Style ids of scene ``indices`` in the unconditioned mixture: the Weyl sequence
        ``frac(i * phi)`` (equidistributed, a pure function of ``i``) cut at the cumulative
        ``style_weights``, so every block of indices holds the styles in about those shares.
        ``among``: a mixture of these styles only (their weights renormalised); the ids are
        then positions in ``among``."""
        weights = np.asarray(self.style_weights or [1 / len(self.styles)] * len(self.styles), np.float64)
        if among is not None:
            picked = [self.styles.index(check_choice("among[]", s, self.styles)) for s in among]
            if not picked:
                raise ValueError("among=() names no style; give at least one of " + repr(self.styles))
            weights = weights[picked]
            weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(picked), 1 / len(picked))
        u = np.modf(np.asarray(indices, dtype=np.float64) * GOLDEN)[0]
        return np.minimum(np.searchsorted(np.cumsum(weights), u, side="right"), len(weights) - 1)

    def num_parameters(self) -> int:
        refiner = self.refiner.num_parameters() if self.refiner is not None else 0
        return self.vq.num_parameters() + self.prior.num_parameters() + refiner

    def num_buffer_elements(self) -> int:
        """Elements of the buffers: the quantizer's (codebook, EMA sums and usage, restarts)
        and the ``tidy`` patterns (int32, 4 bytes each as the float32 ones)."""
        k, d = self.vq.codebook_size, self.vq.code_dim
        return 2 * k * d + k + 1 + sum(self.patterns)


def uniforms(seeds: Sequence[int], steps: int, draw: int | Sequence[int] = 0) -> torch.Tensor:
    """``(N, steps)`` float64 uniforms, row ``k`` from ``torch.Generator().manual_seed(seeds[k])``:
    the ``draw``-th block of ``steps`` of that stream (draw 0: its first ``steps``); ``draw``
    is one block for all rows or one per row."""
    draws = [int(draw)] * len(seeds) if isinstance(draw, int) else [int(d) for d in draw]
    if len(draws) != len(seeds):
        raise ValueError(f"{len(draws)} draws for {len(seeds)} seeds; allowed: one, or one per seed")
    out = torch.empty(len(seeds), steps, dtype=torch.float64)
    gen = torch.Generator()
    for k, (seed, d) in enumerate(zip(seeds, draws)):
        gen.manual_seed(int(seed))
        out[k] = torch.rand((d + 1) * steps, generator=gen, dtype=torch.float64)[d * steps :]
    return out


class VQSceneModel(nn.Module):
    """A VQ-VAE (``.vq``) and its conditional prior (``.prior``); see the module doc."""

    def __init__(self, config: VQModelConfig) -> None:
        super().__init__()
        self.config = config
        self.kind = config.kind
        self.vq = VQVAE(config.vq)
        self.prior = CodePrior(config.prior)
        self.refiner = Refiner(config.refiner) if config.refiner is not None else None
        for size, count in zip(config.sizes, config.patterns, strict=False):
            self.register_buffer(f"patterns_{size}", torch.zeros(count, dtype=torch.int32))
        self._tables: dict[int, torch.Tensor] = {}

    def use_patterns(self, grids: dict[int, np.ndarray]) -> None:
        """Store the 2x2 patterns of each size's ``grids`` (the training corpus) for the
        ``tidy`` decoding (:func:`generators.sampling.pattern_keys`); every size at once."""
        if sorted(grids) != sorted(self.config.sizes):
            raise ValueError(
                f"patterns for sizes {sorted(grids)}; allowed: every size {list(self.config.sizes)}"
            )
        keys = {size: pattern_keys(grids[size]) for size in self.config.sizes}
        for size in self.config.sizes:
            if not len(keys[size]):
                raise ValueError(f"no 2x2 pattern in the {size}x{size} grids")
            self.register_buffer(f"patterns_{size}", torch.from_numpy(keys[size].astype(np.int32)))
        self.config = replace(self.config, patterns=tuple(len(keys[s]) for s in self.config.sizes))
        self._tables.clear()

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """As :class:`torch.nn.Module`'s; the pattern tables are made again from the loaded
        patterns."""
        self._tables.clear()
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def pattern_table(self, size: int) -> torch.Tensor | None:
        """The lookup table of the ``tidy`` decoding at ``size`` (None: the model has no patterns)."""
        if not self.config.patterns:
            return None
        if size not in self._tables:
            self._tables[size] = pattern_table(getattr(self, f"patterns_{size}").long())
        return self._tables[size]

    @property
    def can_encode(self) -> bool:
        return True

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def condition(
        self,
        style: str,
        size: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        targets: dict[str, str] | None = None,
    ) -> Condition:
        """A checked :class:`Condition` for this model (its styles, sizes, codebook and
        properties; ``targets`` maps property names to buckets). ``top_p`` None takes the
        model's default for ``size`` (:meth:`VQModelConfig.default_top_p`, recorded in the
        condition and so in scene identities); 1.0 asks for no truncation."""
        c = self.config
        wanted = check_targets(targets, PROPERTY_NAMES)
        if top_p is None and isinstance(size, int) and size in c.sizes:
            top_p = c.default_top_p(size)
        return Condition(style, size, temperature, top_k, top_p, wanted).check(
            c.styles, c.sizes, c.vq.codebook_size
        )

    @torch.no_grad()
    @torch_threads(SAMPLE_THREADS)
    def sample_indices(
        self,
        seeds: Sequence[int],
        condition: Condition,
        styles: Sequence[str] | None = None,
        draw: int | Sequence[int] = 0,
    ) -> torch.Tensor:
        """Code grids ``(N, side, side)`` for ``seeds`` under ``condition``; with ``styles``
        (one of the model's styles per seed) seed ``k`` is drawn under ``condition`` with
        style ``styles[k]`` instead, all in one batch (the mixture's banks). ``draw``: which
        block of each seed's uniforms (one for all, or one per seed; see
        :meth:`generate_attempts`). On :data:`~generators.threads.SAMPLE_THREADS` torch
        threads whatever the caller's setting (the draws depend on it)."""
        c = self.config
        side = condition.size // c.vq.factor
        if styles is None:
            style: int | list[int] = c.styles.index(condition.style)
        else:
            if len(styles) != len(seeds):
                raise ValueError(f"{len(styles)} styles for {len(seeds)} seeds; allowed: one per seed")
            style = [c.styles.index(check_choice("styles[]", s, c.styles)) for s in styles]
        size = c.sizes.index(condition.size)
        noise = uniforms(seeds, side * side, draw)
        targets = None
        if c.properties:  # the learned ones; the others are met by generate's draws
            learned = tuple((n, b) for n, b in condition.targets if n in c.properties)
            row = torch.tensor(target_ids(learned, c.properties), dtype=torch.long)
            targets = row.expand(len(noise), len(row)).contiguous()
        return self.prior.sample_uniforms(
            noise, side, style, size, condition.temperature, condition.top_k, condition.top_p, targets
        )

    def logits(self, indices: torch.Tensor, passes: int | None = None) -> torch.Tensor:
        """Code grids ``(N, h, w)`` -> per-cell logits ``(N, C, h*f, w*f)``: the decoder's, then
        the refiner's ``passes`` (default: its config's; none without a refiner)."""
        logits = self.vq.decode_indices(indices)
        if self.refiner is None:
            return logits
        return self.refiner.refine(logits, passes, base_decoding(self.config.decoding))

    @torch.no_grad()
    @torch_threads(SAMPLE_THREADS)
    def decode_indices(self, indices: torch.Tensor, decoding: str | None = None) -> np.ndarray:
        """Code grids -> glyph grids ``(N, S, S)`` uint8 (eval mode, no buffer changes), on
        :data:`~generators.threads.SAMPLE_THREADS` torch threads as :meth:`sample_indices`."""
        was_training = self.training
        self.eval()
        size = indices.shape[-1] * self.config.vq.factor
        rows = max(1, DECODE_CELLS // (size * size))
        decoding = decoding or self.config.decoding
        table = self.pattern_table(size) if decoding == "tidy" else None
        try:
            out = [
                decode_logits(self.logits(indices[s : s + rows]), decoding, table).to(torch.uint8).numpy()
                for s in range(0, len(indices), rows)
            ]
        finally:
            self.train(was_training)
        return np.concatenate(out) if out else np.zeros((0, size, size), np.uint8)

    def generate(
        self,
        seeds: Sequence[int],
        condition: Condition,
        decoding: str | None = None,
        styles: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Raw (unrepaired) glyph grids ``(N, S, S)`` uint8 for ``seeds`` under ``condition``
        (``styles``: one style per seed, see :meth:`sample_indices`; ``condition.targets``:
        see :meth:`generate_attempts`)."""
        return self.generate_attempts(seeds, condition, decoding, styles)[0]

    def generate_attempts(
        self,
        seeds: Sequence[int],
        condition: Condition,
        decoding: str | None = None,
        styles: Sequence[str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`generate`, and per seed the draw it was served from. Without targets every
        scene is draw 0. With targets, seed ``s`` is served the first of its draws 0, 1, 2, ...
        (draw ``k`` samples from the ``k``-th block of uniforms of seed ``s``'s stream; at most
        :data:`MAX_ATTEMPTS`) whose measured buckets (:func:`generators.properties.measure`)
        are the targets, or draw 0 if none is (draw index -1 then): generate and test, a pure
        function of the seed and the condition. Properties the prior learned raise the hit
        rate of each draw."""
        grids = self.decode_indices(self.sample_indices(seeds, condition, styles), decoding)
        drawn = np.zeros(len(grids), np.int64)
        if not condition.targets or not len(grids):
            return grids, drawn
        names = tuple(n for n, _ in condition.targets)
        want = np.array([PROPERTIES[n].buckets.index(b) for n, b in condition.targets])
        todo = np.flatnonzero((measure(grids, names) != want).any(axis=1))
        drawn[todo] = -1
        seeds = list(seeds)
        attempt, span = 1, 1
        while len(todo) and attempt < MAX_ATTEMPTS:
            # the next `span` draws of every missing seed in one batch, span doubling per round
            # (1, 2, 4, ...; at most ATTEMPT_ROWS rows); each seed keeps the first draw that
            # hits, as if drawn one at a time
            span = max(1, min(span, MAX_ATTEMPTS - attempt, ATTEMPT_ROWS // len(todo)))
            rows = np.repeat(todo, span)
            draws = np.tile(np.arange(attempt, attempt + span), len(todo))
            retry = [int(seeds[k]) for k in rows]
            picked = None if styles is None else [styles[int(k)] for k in rows]
            got = self.decode_indices(self.sample_indices(retry, condition, picked, draws.tolist()), decoding)
            hit = (measure(got, names) == want).all(axis=1).reshape(len(todo), span)
            first = hit.argmax(axis=1)
            for j in np.flatnonzero(hit.any(axis=1)):
                grids[todo[j]] = got[j * span + first[j]]
                drawn[todo[j]] = attempt + first[j]
            todo = todo[~hit.any(axis=1)]
            attempt += span
            span *= 2
        return grids, drawn

    @torch.no_grad()
    def encode(self, codes: np.ndarray) -> torch.Tensor:
        """Glyph grids ``(N, S, S)`` -> code grids ``(N, S/f, S/f)`` long."""
        grid = torch.from_numpy(np.asarray(codes, dtype=np.int64))

        def onehot(part: torch.Tensor) -> torch.Tensor:  # per chunk: a corpus's one-hot can take GBs
            return torch.nn.functional.one_hot(part, NUM_CODES).permute(0, 3, 1, 2).float()

        return torch.cat([self.vq.encode(onehot(grid[s : s + CHUNK])) for s in range(0, len(grid), CHUNK)])
