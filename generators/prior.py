"""Learned prior over VQ code grids: a small conditional causal transformer.

The second building block of issue 13 ("Generators v2"). A :class:`generators.vq.VQVAE` turns
a 16x16 map into a 4x4 grid of code indices in ``[0, K)`` (32x32 -> 8x8); a :class:`CodePrior`
models those grids autoregressively so new grids can be sampled and decoded to maps.

Model: the ``h x w`` code grid is flattened in raster (row-major) order to ``T = h*w``
tokens. The input at step ``t`` is a start token for ``t = 0`` and the embedding of code
``c_{t-1}`` otherwise, plus the learned embeddings of the position being predicted (flat
index ``t`` up to ``max_side**2``, its row and its column). Pre-norm transformer blocks with
causal self-attention (step ``t`` attends to steps ``<= t``, so it sees exactly the codes
``c_0 .. c_{t-1}``) and a final LayerNorm + linear head give logits over ``K`` for ``c_t``.

Conditioning: the start token is ``style_embedding[style] + size_embedding[size]``, where
``style`` is a style id in ``[0, num_styles)`` (house, village, cave, the designer families of
the corpus, ...) and ``size`` a map-size id in ``[0, num_sizes)`` (e.g. 0 for 16x16, 1 for
32x32). Every later step sees the style and size through attention to the start token. Scene
properties the config names (:mod:`generators.properties`) enter every step instead: the sum
of ``property_embeddings[j][targets[j]]`` (row 0 = any, so a property can be left free) is
added to the input of every position, which gives them a direct gradient at every code (added
to the start token alone, a fine-tuned prior barely learned them).

Sampling rule (:meth:`CodePrior.sample`, no grad, eval mode, batched over ``num`` grids): at
each step the logits are divided by ``temperature``; with ``top_k`` all but the ``k`` largest
are dropped; with ``top_p`` only the smallest set of most likely codes whose probabilities
sum to at least ``p`` is kept (the most likely code always is); a code is drawn from the
renormalised distribution by inverse-CDF sampling with one uniform per step, drawn from
ONLY the passed ``torch.Generator`` (or given per sample, :meth:`CodePrior.sample_uniforms`),
so samples are a pure function of the seed (and the weights) and never touch the global
torch RNG. ``top_k=1`` is greedy (argmax) decoding. Nor does a sample depend on the other
rows of its batch: the attention of a step is two batched matrix products (:func:`_attend`)
and batches of fewer than :data:`MIN_ROWS` rows are padded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from generators.models import DictConfig
from vrenvs.core.checks import check_float, check_int

__all__ = ["DRAW_TOKENS", "MIN_ROWS", "CodePrior", "PriorConfig"]

MIN_ROWS = 16
"""Fewest rows the sampler runs: smaller batches are padded to it. The matrix products of
fewer rows take other kernels (on an AMD EPYC with torch 2.13: 1-3, 5-7, 9-11 rows), which
round differently, so without the padding a grid drawn alone could differ from the same grid
drawn in a bank."""

DRAW_TOKENS = 16_384
"""Sequence positions the sampler draws at once: rows of ``DRAW_TOKENS // side**2`` (at least
:data:`MIN_ROWS`), 256 8x8 grids (16x16 maps) or 64 16x16 grids (32x32 maps). Their
key/value caches (~37 MB with the shipped prior's 3 layers of width 96) then stay in the
CPU's last-level cache, where every step reads them: on the 2-vCPU AMD EPYC (32 MB L3), 2
threads, ~8% less time than 1,024 8x8 grids at once and ~15% less than 256 16x16 ones.
A grid does not depend on the rows drawn with it, so the grids are the same."""


@dataclass(frozen=True)
class PriorConfig(DictConfig):
    """Shape-fixing hyperparameters of a :class:`CodePrior`.

    Checked on construction (TypeError / ValueError naming the field and value):
    ``codebook_size`` in [2, 4096], ``max_side`` in [1, 16], ``width`` in [8, 512] and a
    multiple of ``heads``, ``layers`` in [1, 8], ``heads`` in [1, 8], ``num_styles`` in
    [1, 64], ``num_sizes`` in [1, 8].
    """

    codebook_size: int = 512
    """K, the number of codes (the VQ-VAE codebook size)"""
    max_side: int = 8
    """largest code-grid side h, w the prior handles (8 for 32x32 maps with f = 4)"""
    width: int = 128
    """model width d (embedding size)"""
    layers: int = 4
    """number of transformer blocks"""
    heads: int = 4
    """attention heads per block; must divide ``width``"""
    num_styles: int = 8
    """number of style ids"""
    num_sizes: int = 2
    """number of map-size ids"""
    properties: tuple[int, ...] = ()
    """buckets of each scene property the start token also takes (one embedding of
    ``buckets + 1`` rows per property, row 0 = any); () = none"""

    def __post_init__(self) -> None:
        if isinstance(self.properties, list):
            object.__setattr__(self, "properties", tuple(self.properties))
        if not isinstance(self.properties, tuple) or len(self.properties) > 8:
            raise TypeError(f"properties={self.properties!r} must be a list of at most 8 bucket counts")
        for count in self.properties:
            check_int("properties[]", count, 1, 16)
        check_int("codebook_size", self.codebook_size, 2, 4096)
        check_int("max_side", self.max_side, 1, 16)
        check_int("width", self.width, 8, 512)
        check_int("layers", self.layers, 1, 8)
        check_int("heads", self.heads, 1, 8)
        check_int("num_styles", self.num_styles, 1, 64)
        check_int("num_sizes", self.num_sizes, 1, 8)
        if self.width % self.heads:
            raise ValueError(
                f"width={self.width!r} is not allowed; allowed: a multiple of heads={self.heads!r}"
            )

    def to_dict(self) -> dict:
        """As stored in checkpoints (``properties`` only when there are some, so configs
        without them keep their stored form)."""
        out = super().to_dict()
        if self.properties:
            out["properties"] = list(self.properties)
        else:
            del out["properties"]
        return out

    def num_parameters(self) -> int:
        """Trainable parameters of the :class:`CodePrior` this config builds, counted
        without building it."""
        d, k, s = self.width, self.codebook_size, self.max_side

        def linear(inputs: int, outputs: int) -> int:
            return (inputs + 1) * outputs

        embeddings = k * d + self.num_styles * d + self.num_sizes * d + s * s * d + 2 * s * d
        embeddings += sum((n + 1) * d for n in self.properties)
        block = 2 * d + linear(d, 3 * d) + linear(d, d) + 2 * d + linear(d, 4 * d) + linear(4 * d, d)
        return embeddings + self.layers * block + 2 * d + linear(d, k)


class _Block(nn.Module):
    """Pre-norm transformer block: causal multi-head self-attention, then a 4x GELU MLP."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(d, dim=-1)
        shape = (b, t, self.heads, d // self.heads)
        q, k, v = (y.reshape(shape).transpose(1, 2) for y in (q, k, v))
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(attended.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.norm2(x))

    def step(self, x: torch.Tensor, cache: _Cache) -> torch.Tensor:
        """One new position ``x`` ``(B, 1, d)`` attending to itself and the cached keys and
        values of the earlier positions; its key and value are written into ``cache`` at
        ``cache.length`` (the caller advances it). Equal to :meth:`forward` on the whole
        prefix, in ``O(t)``."""
        b, _, d = x.shape
        # the modules' own functional calls, without their __call__ overhead (same results)
        n1, n2 = self.norm1, self.norm2
        up, down = cast(nn.Linear, self.mlp[0]), cast(nn.Linear, self.mlp[2])
        normed = F.layer_norm(x, n1.normalized_shape, n1.weight, n1.bias, n1.eps)
        q, k, v = F.linear(normed, self.qkv.weight, self.qkv.bias).split(d, dim=-1)
        shape = (b, 1, self.heads, d // self.heads)
        q = q.reshape(shape).transpose(1, 2)
        t = cache.length
        cache.keys[:, :, t : t + 1] = k.reshape(shape).transpose(1, 2)
        cache.values[:, :, t : t + 1] = v.reshape(shape).transpose(1, 2)
        attended = _attend(q, cache.keys[:, :, : t + 1], cache.values[:, :, : t + 1])
        x = x + F.linear(attended.transpose(1, 2).reshape(b, 1, d), self.proj.weight, self.proj.bias)
        normed = F.layer_norm(x, n2.normalized_shape, n2.weight, n2.bias, n2.eps)
        hidden = F.gelu(F.linear(normed, up.weight, up.bias))
        return x + F.linear(hidden, down.weight, down.bias)


def _attend(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Softmax attention of one query per row and head ``(B, heads, 1, e)`` over ``keys`` and
    ``values`` ``(B, heads, t, e)``, as two batched matrix products. Each row's result is a
    function of that row alone: torch's CPU ``scaled_dot_product_attention`` splits its work
    by batch size and thread count, and the rounding moved with it (in ~1 of 700 16x16 scenes
    a code changed with the batch the scene was drawn in)."""
    scores = torch.matmul(query * query.shape[-1] ** -0.5, keys.transpose(-1, -2))
    return torch.matmul(torch.softmax(scores, dim=-1), values)


class _Cache:
    """Keys and values ``(B, heads, T, d / heads)`` of a block's first ``length`` positions,
    allocated once for the whole sequence (growing them by concatenation copied the prefix
    at every step: half of a bank's sampling time)."""

    def __init__(self, num: int, heads: int, steps: int, width: int, like: torch.Tensor) -> None:
        shape = (num, heads, steps, width // heads)
        self.keys = torch.empty(shape, dtype=like.dtype, device=like.device)
        self.values = torch.empty(shape, dtype=like.dtype, device=like.device)
        self.length = 0


def _ids(name: str, value: int | Sequence[int] | torch.Tensor, count: int, num: int) -> torch.Tensor:
    """A style/size id (or ``num`` of them) as a ``(num,)`` long tensor, range-checked."""
    if isinstance(value, torch.Tensor):
        if value.dtype in (torch.bool,) or value.is_floating_point() or value.is_complex():
            raise TypeError(f"{name}={value!r} must hold integers")
        if value.shape not in ((), (num,)):
            raise ValueError(f"{name} of shape {tuple(value.shape)} is not allowed; allowed: () or ({num},)")
        ids = value.long().expand(num) if value.dim() == 0 else value.long()
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != num:
            raise ValueError(f"{name} has {len(value)} ids; allowed: {num} (one per sample) or a single id")
        ids = torch.tensor([check_int(name, v, 0, count - 1) for v in value], dtype=torch.long)
    else:
        ids = torch.full((num,), check_int(name, value, 0, count - 1), dtype=torch.long)
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= count):
        bad = int(ids.min()) if int(ids.min()) < 0 else int(ids.max())
        raise ValueError(f"{name}={bad!r} is out of range; allowed: an integer in [0, {count - 1}]")
    return ids


def _padded(rows: torch.Tensor) -> torch.Tensor:
    """The sampler's ``rows`` (per-sample inputs) topped up to :data:`MIN_ROWS` with copies of
    the first (the caller drops them)."""
    pad = MIN_ROWS - len(rows)
    if pad <= 0:
        return rows
    return torch.cat([rows, rows[:1].expand(pad, *rows.shape[1:])])


class CodePrior(nn.Module):
    """Conditional causal transformer over raster-ordered code grids (see the module doc)."""

    def __init__(self, config: PriorConfig) -> None:
        super().__init__()
        self.config = config
        d, s = config.width, config.max_side
        self.code_embedding = nn.Embedding(config.codebook_size, d)
        self.style_embedding = nn.Embedding(config.num_styles, d)
        self.size_embedding = nn.Embedding(config.num_sizes, d)
        self.position_embedding = nn.Embedding(s * s, d)
        self.row_embedding = nn.Embedding(s, d)
        self.column_embedding = nn.Embedding(s, d)
        self.blocks = nn.ModuleList(_Block(d, config.heads) for _ in range(config.layers))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, config.codebook_size)
        for module in self.modules():
            if isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=0.02)
        # zero: a prior given property embeddings starts as the prior without them
        self.property_embeddings = nn.ModuleList(nn.Embedding(n + 1, d) for n in config.properties)
        for embedding in self.property_embeddings:
            nn.init.zeros_(cast(nn.Embedding, embedding).weight)

    def _positions(self, h: int, w: int, device: torch.device) -> torch.Tensor:
        t = torch.arange(h * w, device=device)
        return self.position_embedding(t) + self.row_embedding(t // w) + self.column_embedding(t % w)

    def _properties(self, targets: torch.Tensor | None) -> torch.Tensor | None:
        """``(B, d)``: the sum of the property embeddings of ``targets`` (None: no properties)."""
        if targets is None or not len(self.property_embeddings):
            return None
        return sum(
            (e(targets[:, j]) for j, e in enumerate(self.property_embeddings)),
            torch.zeros(len(targets), self.config.width, device=targets.device),
        )

    def _targets(self, targets: torch.Tensor | None, num: int) -> torch.Tensor | None:
        """``targets`` ``(num, P)`` long (row 0 of property j = any), checked; None = all any."""
        bounds = self.config.properties
        if targets is None:
            return None
        if not isinstance(targets, torch.Tensor) or targets.shape != (num, len(bounds)):
            shape = tuple(targets.shape) if isinstance(targets, torch.Tensor) else type(targets).__name__
            raise ValueError(f"targets of shape {shape} is not allowed; allowed: ({num}, {len(bounds)})")
        if targets.dtype != torch.long:
            raise TypeError(f"targets of dtype {targets.dtype} is not allowed; allowed: torch.long")
        for j, count in enumerate(bounds):
            column = targets[:, j]
            if column.numel() and (int(column.min()) < 0 or int(column.max()) > count):
                raise ValueError(f"targets[:, {j}] holds values outside [0, {count}]")
        return targets

    def _logits(
        self,
        tokens: torch.Tensor,
        style: torch.Tensor,
        size: torch.Tensor,
        h: int,
        w: int,
        targets: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits ``(B, n + 1, K)`` for steps ``0 .. n`` given the first ``n`` codes ``(B, n)``."""
        start = (self.style_embedding(style) + self.size_embedding(size)).unsqueeze(1)
        x = torch.cat([start, self.code_embedding(tokens)], dim=1)
        x = x + self._positions(h, w, x.device)[: x.shape[1]]
        wanted = self._properties(targets)
        if wanted is not None:
            x = x + wanted.unsqueeze(1)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))

    def _check_grid(self, codes: torch.Tensor, style: torch.Tensor, size: torch.Tensor) -> None:
        c, s = self.config, self.config.max_side
        if codes.dim() != 3 or not 1 <= codes.shape[1] <= s or not 1 <= codes.shape[2] <= s:
            raise ValueError(
                f"codes of shape {tuple(codes.shape)} is not allowed; allowed: (B, h, w) with h, w <= {s}"
            )
        if codes.dtype != torch.long:
            raise TypeError(f"codes of dtype {codes.dtype} is not allowed; allowed: torch.long")
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= c.codebook_size):
            raise ValueError(f"codes hold values outside [0, {c.codebook_size - 1}]")
        for name, ids, count in (("style", style, c.num_styles), ("size", size, c.num_sizes)):
            _ids(name, ids, count, codes.shape[0])

    def forward(
        self,
        codes: torch.Tensor,
        style: torch.Tensor,
        size: torch.Tensor,
        targets: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Teacher forcing: codes ``(B, h, w)`` long, style and size ``(B,)`` long (and the
        property ``targets`` ``(B, P)``, None = any) -> logits ``(B, h*w, K)``, where
        position ``t`` (raster order) sees only codes before ``t``."""
        self._check_grid(codes, style, size)
        b, h, w = codes.shape
        flat = codes.reshape(b, h * w)
        return self._logits(flat[:, :-1], style.long(), size.long(), h, w, self._targets(targets, b))

    def loss(
        self,
        codes: torch.Tensor,
        style: torch.Tensor,
        size: torch.Tensor,
        targets: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean next-code cross-entropy (nats per code) of ``codes`` under the prior."""
        logits = self(codes, style, size, targets)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), codes.reshape(-1))

    @torch.no_grad()
    def sample(
        self,
        num: int,
        side: int,
        style: int | Sequence[int] | torch.Tensor,
        size: int | Sequence[int] | torch.Tensor,
        generator: torch.Generator,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        targets: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``num`` code grids ``(num, side, side)`` long, drawn step by step in raster order
        (see the module doc for the rule). ``style`` and ``size`` are one id for all samples
        or one per sample. Randomness comes only from ``generator``: ``num * side**2``
        uniforms, passed to :meth:`sample_uniforms`."""
        num = check_int("num", num, 1)
        side = check_int("side", side, 1, self.config.max_side)
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator={generator!r} must be a torch.Generator")
        uniforms = torch.rand(num, side * side, generator=generator, dtype=torch.float64)
        return self.sample_uniforms(uniforms, side, style, size, temperature, top_k, top_p, targets)

    @torch.no_grad()
    def sample_uniforms(
        self,
        uniforms: torch.Tensor,
        side: int,
        style: int | Sequence[int] | torch.Tensor,
        size: int | Sequence[int] | torch.Tensor,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        targets: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Code grids ``(N, side, side)`` from uniforms ``(N, side**2)`` in [0, 1): the code
        at step ``t`` of sample ``n`` is the first whose cumulative (filtered, renormalised)
        probability exceeds ``uniforms[n, t]`` (inverse-CDF sampling). A sample is thus a
        function of its own row of uniforms only, which lets a caller draw each row from its
        own seed. Keys and values of earlier steps are cached: ``O(T)`` work per step."""
        c = self.config
        side = check_int("side", side, 1, c.max_side)
        if not isinstance(uniforms, torch.Tensor) or uniforms.dim() != 2 or uniforms.shape[1] != side * side:
            shape = tuple(uniforms.shape) if isinstance(uniforms, torch.Tensor) else type(uniforms).__name__
            raise ValueError(f"uniforms of shape {shape} is not allowed; allowed: (N, {side * side})")
        if not uniforms.is_floating_point():
            raise TypeError(f"uniforms of dtype {uniforms.dtype} is not allowed; allowed: a float dtype")
        num = check_int("num", uniforms.shape[0], 1)
        temperature = check_float("temperature", temperature, 0.0, above=True)
        if top_k is not None:
            top_k = check_int("top_k", top_k, 1, c.codebook_size)
        if top_p is not None:
            top_p = check_float("top_p", top_p, 0.0, 1.0, above=True)
        device = self.head.weight.device
        styles = _ids("style", style, c.num_styles, num).to(device)
        sizes = _ids("size", size, c.num_sizes, num).to(device)
        wanted = self._targets(targets, num)
        positions = self._positions(side, side, device)
        rows = max(MIN_ROWS, DRAW_TOKENS // (side * side))
        parts = []
        was_training = self.training
        self.eval()
        try:
            # inference mode skips autograd's bookkeeping on each of the ~60 small calls per
            # step (~10-20% of a small bank); the codes leave it as a plain tensor (clone)
            with torch.inference_mode():
                for at in range(0, num, rows):
                    part = slice(at, at + rows)
                    noise, ids, sized = (_padded(a[part]) for a in (uniforms, styles, sizes))
                    extra = None if wanted is None else _padded(wanted[part])
                    got = self._draw(positions, noise, ids, sized, extra, side, temperature, top_k, top_p)
                    parts.append(got[: len(uniforms[part])])
        finally:
            self.train(was_training)
        return torch.cat(parts).reshape(num, side, side).clone()

    def _draw(
        self,
        positions: torch.Tensor,
        uniforms: torch.Tensor,
        styles: torch.Tensor,
        sizes: torch.Tensor,
        wanted: torch.Tensor | None,
        side: int,
        temperature: float,
        top_k: int | None,
        top_p: float | None,
    ) -> torch.Tensor:
        """:meth:`sample_uniforms`' loop over the steps (arguments checked): codes ``(N, side**2)``."""
        c, num, device = self.config, len(uniforms), positions.device
        caches = [_Cache(num, c.heads, side * side, c.width, positions) for _ in self.blocks]
        out = torch.empty(num, side * side, dtype=torch.long, device=device)
        noise = uniforms.to(device, torch.float64)
        x = self.style_embedding(styles) + self.size_embedding(sizes)
        extra = self._properties(None if wanted is None else wanted.to(device))
        norm, embedding = self.norm, self.code_embedding.weight  # called functionally below (same results)
        for t in range(side * side):
            h = (x + positions[t] + (0.0 if extra is None else extra)).unsqueeze(1)
            for block, cache in zip(self.blocks, caches, strict=True):
                h = cast(_Block, block).step(h, cache)
                cache.length += 1
            normed = F.layer_norm(h[:, 0], norm.normalized_shape, norm.weight, norm.bias, norm.eps)
            logits = F.linear(normed, self.head.weight, self.head.bias).double()
            if temperature != 1.0:  # x / 1.0 is x: skipped, same draws
                logits = logits / temperature
            if top_k is not None and top_k < c.codebook_size:
                kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = torch.softmax(logits, dim=-1)
            if top_p is not None and top_p < 1.0:
                sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
                before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs  # mass of better codes
                sorted_probs = sorted_probs.masked_fill(before >= top_p, 0.0)
                probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
            cdf = torch.cumsum(probs, dim=-1)
            target = noise[:, t : t + 1] * cdf[:, -1:]
            code = torch.searchsorted(cdf, target, right=True).clamp_(max=c.codebook_size - 1)
            # a code of probability 0 is never drawn: step back over zero-width bins
            zero = probs.gather(1, code) == 0
            if bool(zero.any()):
                code = torch.where(zero, probs.argmax(dim=1, keepdim=True), code)
            out[:, t] = code[:, 0]
            x = F.embedding(code[:, 0], embedding)
        return out

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
