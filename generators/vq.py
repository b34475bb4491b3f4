"""VQ-VAE scene model core: one-hot glyph grids <-> a grid of discrete codes.

The first building block of issue 13 ("Generators v2"). An :class:`VQVAE` encodes a one-hot
glyph grid ``(B, C, H, W)`` (``C`` = :data:`generators.data.NUM_CODES`) to continuous vectors
``(B, D, H/f, W/f)``, snaps each to its nearest entry of a codebook of ``K`` vectors
(:class:`Quantizer`, giving code indices ``(B, H/f, W/f)``) and decodes the quantized grid to
per-cell logits ``(B, C, H, W)``. With ``f = 4`` a 16x16 map becomes 4x4 codes and a 32x32
map 8x8 codes, with the same weights: every layer is convolutional. Norms are per sample
(GroupNorm), so a sample does not depend on what else is in its batch.

Codebook rule (training mode only; eval mode leaves every buffer unchanged):

* gradients pass the quantizer straight through (``z + (q - z).detach()``); the encoder is
  pulled to its codes by the commitment loss ``beta * mean((z - q.detach())**2)``;
* the codebook is not learned by gradient but by exponential moving averages with decay
  ``gamma``: ``N_k <- gamma N_k + (1 - gamma) n_k`` (usage), ``S_k <- gamma S_k + (1 - gamma)
  sum of inputs assigned to k``, and ``e_k = S_k / N~_k`` with Laplace-smoothed counts
  ``N~_k = (N_k + eps) / (N + K eps) * N``;
* dead-code restarts: after the update, every code with ``N_k < dead_threshold`` is re-set
  to an encoder output of the current batch drawn at random (from a passed
  ``torch.Generator`` or the quantizer's own one seeded with ``VQConfig.seed``, so runs are
  reproducible), with ``N_k = max(1, dead_threshold)`` and ``S_k = e_k * N_k``.

The learned prior over the code grid is :mod:`generators.prior`; both together make the
``vqvae`` scene model (:mod:`generators.vqmodel`), trained by :mod:`generators.train_vq`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from generators.data import NUM_CODES
from generators.models import DictConfig
from vrenvs.core.checks import check_float, check_int

__all__ = ["VQVAE", "PatchCritic", "Quantizer", "VQConfig"]

FACTORS = (2, 4)
EPS = 1e-5


@dataclass(frozen=True)
class VQConfig(DictConfig):
    """Shape-fixing hyperparameters of a :class:`VQVAE`.

    Checked on construction (TypeError / ValueError naming the field and value):
    ``codebook_size`` in [2, 4096], ``code_dim`` in [1, 1024], ``width`` a multiple of 8 in
    [8, 1024], ``factor`` in {2, 4}, ``decay`` in [0.5, 1), ``commitment`` finite >= 0,
    ``dead_threshold`` finite >= 0, ``num_codes`` in [2, 1024], ``seed`` >= 0.
    """

    codebook_size: int = 512
    """K, the number of codebook vectors"""
    code_dim: int = 64
    """D, the size of each codebook vector"""
    width: int = 64
    """channels of the convolutional layers"""
    factor: int = 4
    """downsampling factor f: an H x W map becomes H/f x W/f codes"""
    decay: float = 0.99
    """EMA decay of codebook usage and sums"""
    commitment: float = 0.25
    """weight beta of the commitment loss"""
    dead_threshold: float = 0.01
    """codes whose EMA usage falls under this are restarted onto batch encoder outputs"""
    num_codes: int = NUM_CODES
    """glyph vocabulary size C"""
    seed: int = 0
    """seed of the quantizer's own generator for dead-code restarts"""

    def __post_init__(self) -> None:
        check_int("codebook_size", self.codebook_size, 2, 4096)
        check_int("code_dim", self.code_dim, 1, 1024)
        check_int("width", self.width, 8, 1024)
        if self.width % 8:
            raise ValueError(
                f"width={self.width!r} is not allowed; allowed: a multiple of 8 (GroupNorm of 8 groups)"
            )
        check_int("factor", self.factor, 2, 4)
        if self.factor not in FACTORS:
            raise ValueError(f"factor={self.factor!r} is not allowed; allowed: {FACTORS}")
        check_float("decay", self.decay, 0.5, 1.0)
        if self.decay >= 1.0:
            raise ValueError(f"decay={self.decay!r} is out of range; allowed: [0.5, 1)")
        check_float("commitment", self.commitment, 0.0)
        check_float("dead_threshold", self.dead_threshold, 0.0)
        check_int("num_codes", self.num_codes, 2, 1024)
        check_int("seed", self.seed, 0, 2**63 - 1)

    @property
    def steps(self) -> int:
        """Number of 2x down- (and up-) samplings."""
        return {2: 1, 4: 2}[self.factor]

    def num_parameters(self) -> int:
        """Trainable parameters of the :class:`VQVAE` this config builds, counted without
        building it. The codebook is a buffer (EMA-updated), so it is not counted."""
        w, d, c, s = self.width, self.code_dim, self.num_codes, self.steps

        def layer(inputs: int, outputs: int, kernel: int = 1) -> int:  # conv with bias
            return (inputs * kernel * kernel + 1) * outputs

        def norm(channels: int) -> int:
            return 2 * channels

        encoder = layer(c, w, 3) + s * (norm(w) + layer(w, w, 4)) + norm(w) + layer(w, d)
        decoder = (
            layer(d, w, 3) + s * (norm(w) + layer(w, w, 4) + norm(w) + layer(w, w, 3)) + norm(w) + layer(w, c)
        )
        return encoder + decoder


class Quantizer(nn.Module):
    """Nearest-codebook quantization with EMA codebook updates and dead-code restarts.

    Buffers: ``codebook`` ``(K, D)``, ``cluster_size`` ``(K,)`` (EMA usage), ``embed_sum``
    ``(K, D)`` (EMA sums) and ``restarts`` (total codes restarted so far).
    """

    codebook: torch.Tensor
    cluster_size: torch.Tensor
    embed_sum: torch.Tensor
    restarts: torch.Tensor

    def __init__(
        self,
        codebook_size: int,
        code_dim: int,
        decay: float = 0.99,
        commitment: float = 0.25,
        dead_threshold: float = 0.01,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.codebook_size = codebook_size
        self.code_dim = code_dim
        self.decay = decay
        self.commitment = commitment
        self.dead_threshold = dead_threshold
        init = torch.randn(codebook_size, code_dim, generator=torch.Generator().manual_seed(seed))
        self.register_buffer("codebook", init)
        self.register_buffer("cluster_size", torch.ones(codebook_size))
        self.register_buffer("embed_sum", init.clone())
        self.register_buffer("restarts", torch.zeros((), dtype=torch.long))
        self.generator = torch.Generator().manual_seed(seed)

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, D, h, w)`` -> code indices ``(B, h, w)`` (no update, no gradient)."""
        b, d, h, w = z.shape
        flat = z.detach().permute(0, 2, 3, 1).reshape(-1, d)
        return self._nearest_flat(flat).view(b, h, w)

    def _nearest_flat(self, flat: torch.Tensor) -> torch.Tensor:
        # ||x||^2 - 2 x.e + ||e||^2, minus the constant ||x||^2: one matrix product instead of
        # an (N, K, D) difference tensor (268 MB for 1024 rows of a 1024 x 64 codebook)
        scores = (self.codebook * self.codebook).sum(1)[None, :] - 2.0 * flat @ self.codebook.t()
        return scores.argmin(dim=1)

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Code indices ``(B, h, w)`` -> quantized vectors ``(B, D, h, w)``."""
        return self.codebook[indices].permute(0, 3, 1, 2).contiguous()

    def forward(
        self, z: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``z`` ``(B, D, h, w)`` -> (quantized ``(B, D, h, w)`` with straight-through
        gradients, indices ``(B, h, w)``, commitment loss, batch perplexity)."""
        b, d, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)
        indices = self._nearest_flat(flat.detach())
        quantized = self.codebook[indices]
        onehot = F.one_hot(indices, self.codebook_size).to(flat.dtype)
        probs = onehot.mean(0)
        perplexity = torch.exp(-(probs * torch.log(probs + 1e-10)).sum())
        commit = self.commitment * F.mse_loss(flat, quantized.detach())
        if self.training:
            self._update(flat.detach(), onehot, generator)
        out = flat + (quantized - flat).detach()
        out = out.view(b, h, w, d).permute(0, 3, 1, 2).contiguous()
        return out, indices.view(b, h, w), commit, perplexity

    @torch.no_grad()
    def _update(self, flat: torch.Tensor, onehot: torch.Tensor, generator: torch.Generator | None) -> None:
        g = self.decay
        self.cluster_size.mul_(g).add_(onehot.sum(0), alpha=1 - g)
        self.embed_sum.mul_(g).add_(onehot.t() @ flat, alpha=1 - g)
        n = self.cluster_size.sum()
        smoothed = (self.cluster_size + EPS) / (n + self.codebook_size * EPS) * n
        self.codebook.copy_(self.embed_sum / smoothed[:, None])
        dead = self.cluster_size < self.dead_threshold
        count = int(dead.sum())
        if count:
            pick = torch.randint(flat.shape[0], (count,), generator=generator or self.generator)
            usage = max(1.0, self.dead_threshold)
            self.codebook[dead] = flat[pick]
            self.cluster_size[dead] = usage
            self.embed_sum[dead] = flat[pick] * usage
            self.restarts += count


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(8, channels)


class VQVAE(nn.Module):
    """Encoder -> :class:`Quantizer` -> categorical decoder, fully convolutional.

    Encoder: 3x3 conv ``C -> width``, ``log2 f`` times (GroupNorm, SiLU, 4x4 stride-2 conv),
    GroupNorm, SiLU, 1x1 conv to ``D``. Decoder: 3x3 conv ``D -> width``, ``log2 f`` times
    (GroupNorm, SiLU, 4x4 stride-2 transposed conv, GroupNorm, SiLU, 3x3 conv), GroupNorm,
    SiLU, 1x1 conv to ``C`` logits.
    """

    def __init__(self, config: VQConfig) -> None:
        super().__init__()
        self.config = config
        c, w, d = config.num_codes, config.width, config.code_dim
        enc: list[nn.Module] = [nn.Conv2d(c, w, 3, padding=1)]
        for _ in range(config.steps):
            enc += [_norm(w), nn.SiLU(), nn.Conv2d(w, w, 4, 2, 1)]
        enc += [_norm(w), nn.SiLU(), nn.Conv2d(w, d, 1)]
        self.encoder = nn.Sequential(*enc)
        self.quantizer = Quantizer(
            config.codebook_size,
            d,
            decay=config.decay,
            commitment=config.commitment,
            dead_threshold=config.dead_threshold,
            seed=config.seed,
        )
        dec: list[nn.Module] = [nn.Conv2d(d, w, 3, padding=1)]
        for _ in range(config.steps):
            dec += [_norm(w), nn.SiLU(), nn.ConvTranspose2d(w, w, 4, 2, 1)]
            dec += [_norm(w), nn.SiLU(), nn.Conv2d(w, w, 3, padding=1)]
        dec += [_norm(w), nn.SiLU(), nn.Conv2d(w, c, 1)]
        self.decoder = nn.Sequential(*dec)

    def _check(self, onehot: torch.Tensor) -> None:
        c, f = self.config.num_codes, self.config.factor
        if onehot.dim() != 4 or onehot.shape[1] != c or onehot.shape[2] % f or onehot.shape[3] % f:
            raise ValueError(
                f"input of shape {tuple(onehot.shape)} is not allowed; allowed: (B, {c}, H, W) "
                f"with H and W multiples of {f}"
            )

    def encode(self, onehot: torch.Tensor) -> torch.Tensor:
        """One-hot ``(B, C, H, W)`` -> code indices ``(B, H/f, W/f)``; never updates buffers."""
        self._check(onehot)
        return self.quantizer.nearest(self.encoder(onehot))

    def decode_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """Code indices ``(B, h, w)`` -> logits ``(B, C, h*f, w*f)``."""
        return self.decoder(self.quantizer.lookup(indices))

    def forward(
        self, onehot: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One-hot ``(B, C, H, W)`` -> (logits ``(B, C, H, W)``, indices ``(B, H/f, W/f)``,
        commitment loss, batch perplexity). Updates the codebook in training mode."""
        self._check(onehot)
        quantized, indices, commit, perplexity = self.quantizer(self.encoder(onehot), generator)
        return self.decoder(quantized), indices, commit, perplexity

    def loss(
        self, onehot: torch.Tensor, codes_target: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Mean per-cell cross-entropy against ``codes_target`` ``(B, H, W)`` plus commitment."""
        logits, _, commit, _ = self(onehot, generator)
        return F.cross_entropy(logits, codes_target.long()) + commit

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


class PatchCritic(nn.Module):
    """The patch critic of ``vqgan`` (training only; not part of a checkpoint).

    Spectral-norm convolutions over ``(B, C, H, W)`` glyph probabilities (one-hot for corpus
    maps, the decoder's softmax for reconstructions) to one hinge-loss score per patch of
    ``(B, H/2 * W/2)``; fully convolutional, so one critic serves 16x16 and 32x32 maps. Its
    receptive field (10x10 cells) sees a wall and the doorway in it, the local structure a
    per-cell cross-entropy does not reward as a whole."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        check_int("width", width, 8, 1024)
        sn = nn.utils.parametrizations.spectral_norm
        c = int(width)
        self.net = nn.Sequential(
            sn(nn.Conv2d(NUM_CODES, c, 3, padding=1)),  # (B, c, H, W)
            nn.LeakyReLU(0.2),
            sn(nn.Conv2d(c, 2 * c, 4, 2, 1)),  # (B, 2c, H/2, W/2)
            nn.LeakyReLU(0.2),
            sn(nn.Conv2d(2 * c, 2 * c, 3, padding=1)),
            nn.LeakyReLU(0.2),
            sn(nn.Conv2d(2 * c, 1, 1)),  # (B, 1, H/2, W/2)
        )

    def forward(self, probs: torch.Tensor) -> torch.Tensor:
        return self.net(probs).flatten(1)
