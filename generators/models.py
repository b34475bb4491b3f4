"""The three scene models: a GAN, a VAE and a VAE-GAN, all emitting ``(B, C, 16, 16)`` logits.

Every model maps a latent ``z`` ``(B, Z)`` to logits over the glyph vocabulary per cell with
the same :class:`Decoder`; :mod:`generators.sampling` turns logits into a grid
deterministically, so all randomness is in the latent, drawn from a seeded
``torch.Generator`` (:func:`latents`). The VAE and VAE-GAN add an :class:`Encoder`;
the discriminator (:class:`Critic`) only lives in training, so shipped weights hold just
what sampling, reconstruction and interpolation need.

Norms are per sample (GroupNorm), so a sample does not depend on what else is in its batch
and train / eval modes behave alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Self

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from generators.data import NUM_CODES, SIZE
from vrenvs.core.checks import check_choice, check_float, check_int

__all__ = [
    "GAN",
    "KINDS",
    "MAX_PARAMETERS",
    "VAE",
    "VAEGAN",
    "Critic",
    "DictConfig",
    "ModelConfig",
    "SceneModel",
    "build_model",
    "latents",
]

KINDS = ("gan", "vae", "vaegan")
DECODINGS = ("expected", "winners", "doors", "argmax", "paired", "walled", "spaced", "tidy")
PLAIN_DECODINGS = tuple(d for d in DECODINGS if d != "tidy")
"""The decodings that need nothing but logits (``tidy`` also needs the 2x2 patterns a v2
checkpoint stores): the first generators' choices."""
MAX_LATENT = 4096
MAX_WIDTH = 4096
MAX_PARAMETERS = 50_000_000
"""Largest model a config may describe (the shipped ones have under 1M parameters)."""


class DictConfig:
    """``from_dict`` / ``to_dict`` of the frozen config dataclasses stored in checkpoints: an
    unknown key is refused with the allowed ones, every value is then checked by the class."""

    @classmethod
    def from_dict(cls, data: dict) -> Self:
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"unknown keys {unknown}; allowed: {names}")
        return cls(**data)

    def to_dict(self) -> dict:
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class ModelConfig(DictConfig):
    """Shape-fixing hyperparameters; stored in every checkpoint to rebuild the model.

    Checked on construction (TypeError / ValueError naming the field): ``kind`` and
    ``decoding`` from their lists, ``latent_dim`` in [1, 4096], ``width`` a multiple of 8 in
    [8, 4096], ``latent_scale`` in (0, 10], and at most :data:`MAX_PARAMETERS` parameters.
    """

    kind: str = "gan"
    """model kind: gan, vae or vaegan"""
    latent_dim: int = 64
    """size of the latent vector z"""
    width: int = 48
    """channels of the 16x16 layers (8x8 layers have 2x, 4x4 layers 4x)"""
    latent_scale: float = 1.0
    """std of sampled latents (below 1 trades diversity for quality, the truncation trick)"""
    decoding: str = "expected"
    """logits -> codes: expected, winners, doors or argmax (see generators.sampling)"""

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, KINDS)
        check_choice("decoding", self.decoding, PLAIN_DECODINGS)
        check_int("latent_dim", self.latent_dim, 1, MAX_LATENT)
        check_int("width", self.width, 8, MAX_WIDTH)
        if self.width % 8:
            raise ValueError(
                f"width={self.width!r} is not allowed; allowed: a multiple of 8 (GroupNorm of 8 groups)"
            )
        check_float("latent_scale", self.latent_scale, 0.0, 10.0, above=True)
        count = self.num_parameters()
        if count > MAX_PARAMETERS:
            raise ValueError(
                f"width={self.width} with latent_dim={self.latent_dim} makes a {self.kind} model of "
                f"{count:,} parameters; at most {MAX_PARAMETERS:,} are allowed"
            )

    def num_parameters(self) -> int:
        """Parameters of the model this config builds, counted without building it."""
        z, c, n = self.latent_dim, self.width, NUM_CODES

        def layer(inputs: int, outputs: int, kernel: int = 1) -> int:  # conv or linear, with bias
            return (inputs * kernel * kernel + 1) * outputs

        def norm(channels: int) -> int:  # GroupNorm weight and bias
            return 2 * channels

        decoder = sum(
            (
                layer(z, 64 * c),
                norm(4 * c) + layer(4 * c, 2 * c, 4),  # 4x4 -> 8x8
                norm(2 * c) + layer(2 * c, 2 * c, 3),
                norm(2 * c) + layer(2 * c, c, 4),  # 8x8 -> 16x16
                norm(c) + layer(c, c, 3),
                norm(c) + layer(c, n),
            )
        )
        if self.kind == "gan":
            return decoder
        encoder = sum(
            (
                layer(n, c, 3),
                layer(c, 2 * c, 4) + norm(2 * c),  # 16x16 -> 8x8
                layer(2 * c, 4 * c, 4) + norm(4 * c),  # 8x8 -> 4x4
                layer(64 * c, 2 * z),
            )
        )
        return decoder + encoder


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(8, channels)


class Decoder(nn.Module):
    """z -> logits: a linear map to a 4x4 feature map, two 2x upsamplings each followed by a
    3x3 convolution (layout needs local consistency: walls that close, doors in walls), and
    a 1x1 projection to the vocabulary."""

    def __init__(self, latent_dim: int, width: int) -> None:
        super().__init__()
        c = width
        self.c = c
        self.fc = nn.Linear(latent_dim, 4 * c * 16)
        self.body = nn.Sequential(
            _norm(4 * c),
            nn.SiLU(),
            nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1),  # (B, 2c, 8, 8)
            _norm(2 * c),
            nn.SiLU(),
            nn.Conv2d(2 * c, 2 * c, 3, padding=1),  # (B, 2c, 8, 8)
            _norm(2 * c),
            nn.SiLU(),
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1),  # (B, c, 16, 16)
            _norm(c),
            nn.SiLU(),
            nn.Conv2d(c, c, 3, padding=1),  # (B, c, 16, 16)
            _norm(c),
            nn.SiLU(),
            nn.Conv2d(c, NUM_CODES, 1),  # (B, C, 16, 16)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(-1, 4 * self.c, 4, 4)  # (B, 4c, 4, 4)
        return self.body(h)  # (B, C, 16, 16)


class Encoder(nn.Module):
    """One-hot grid -> (mu, logvar) of the approximate posterior."""

    def __init__(self, latent_dim: int, width: int) -> None:
        super().__init__()
        c = width
        self.body = nn.Sequential(
            nn.Conv2d(NUM_CODES, c, 3, padding=1),  # (B, c, 16, 16)
            nn.SiLU(),
            nn.Conv2d(c, 2 * c, 4, 2, 1),  # (B, 2c, 8, 8)
            _norm(2 * c),
            nn.SiLU(),
            nn.Conv2d(2 * c, 4 * c, 4, 2, 1),  # (B, 4c, 4, 4)
            _norm(4 * c),
            nn.SiLU(),
            nn.Flatten(),  # (B, 64c)
        )
        self.head = nn.Linear(4 * c * 16, 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.body(x)).chunk(2, dim=1)  # (B, Z) each
        return mu, logvar.clamp(-12.0, 6.0)


def minibatch_std(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """Append the mean feature std over groups of samples as one more channel (ProGAN):
    a collapsed generator shows a low std, which the critic can then punish."""
    b, c, h, w = x.shape
    g = group if b % group == 0 else 1
    std = x.view(g, -1, c, h, w).var(dim=0, unbiased=False).add(1e-8).sqrt().mean(dim=(1, 2, 3))  # (B/g,)
    return torch.cat([x, std.view(-1, 1, 1, 1).repeat(g, 1, h, w)], dim=1)  # (B, c + 1, H, W)


class Critic(nn.Module):
    """Hinge-loss discriminator with spectral norm on every layer (training only).

    Takes ``(B, C, 16, 16)`` probabilities (one-hot for real scenes) and scores realism
    twice: per 8x8-grid patch (local structure: walls that close, doors in walls; dense
    feedback, as in PatchGAN) and once for the whole scene from the 4x4 map with a
    minibatch-std channel (global structure, counts, collapse). Returns ``(B, 65)`` scores."""

    def __init__(self, width: int = 48) -> None:
        super().__init__()
        c = width
        self.local = nn.Sequential(
            spectral_norm(nn.Conv2d(NUM_CODES, c, 3, padding=1)),  # (B, c, 16, 16)
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(c, 2 * c, 4, 2, 1)),  # (B, 2c, 8, 8)
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(2 * c, 2 * c, 3, padding=1)),  # (B, 2c, 8, 8)
            nn.LeakyReLU(0.2),
        )
        self.patch = spectral_norm(nn.Conv2d(2 * c, 1, 1))  # (B, 1, 8, 8)
        self.down = nn.Sequential(
            spectral_norm(nn.Conv2d(2 * c, 4 * c, 4, 2, 1)),  # (B, 4c, 4, 4)
            nn.LeakyReLU(0.2),
        )
        self.tail = nn.Sequential(
            spectral_norm(nn.Conv2d(4 * c + 1, 4 * c, 3, padding=1)),  # (B, 4c, 4, 4)
            nn.LeakyReLU(0.2),
            nn.Flatten(),  # (B, 64c)
            spectral_norm(nn.Linear(4 * c * 16, 1)),  # (B, 1)
        )

    def forward(self, probs: torch.Tensor) -> torch.Tensor:
        h = self.local(probs)  # (B, 2c, 8, 8)
        whole = self.tail(minibatch_std(self.down(h)))  # (B, 1)
        return torch.cat([self.patch(h).flatten(1), whole], dim=1)  # (B, 65)


class SceneModel(nn.Module):
    """Common face of the three models: ``decode(z)`` logits and seeded latents."""

    kind = "base"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def from_noise(self, eps: torch.Tensor) -> torch.Tensor:
        """Map standard-normal noise ``(B, Z)`` to the latents the model is sampled at."""
        return eps

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decode(z)  # (B, C, 16, 16)

    @property
    def can_encode(self) -> bool:
        return False

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise ValueError(f"a {self.kind} model has no encoder; use a vae or vaegan model")

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


class GAN(SceneModel):
    """The generator of a hinge-loss GAN (the critic is kept by the trainer)."""

    kind = "gan"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.generator = Decoder(config.latent_dim, config.width)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)


class VAE(SceneModel):
    """Conv encoder -> (mu, logvar) -> conv decoder with a categorical likelihood per cell.

    Samples come from a full-covariance Gaussian fitted to the encoder means of the
    training scenes (``prior_mean``, ``prior_tril``; *ex-post density estimation*, Ghosh et
    al. 2020) rather than from N(0, I): the aggregate posterior never fills the unit
    Gaussian, and decoding from its holes gives the blurry, broken scenes VAEs are known
    for. Before :func:`fit_prior` runs, the buffers hold N(0, I)."""

    kind = "vae"
    prior_mean: torch.Tensor
    prior_tril: torch.Tensor

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.encoder = Encoder(config.latent_dim, config.width)
        self.decoder = Decoder(config.latent_dim, config.width)
        self.register_buffer("prior_mean", torch.zeros(config.latent_dim))
        self.register_buffer("prior_tril", torch.eye(config.latent_dim))

    def from_noise(self, eps: torch.Tensor) -> torch.Tensor:
        return self.prior_mean + eps @ self.prior_tril.T  # (B, Z)

    @torch.no_grad()
    def fit_prior(self, x: torch.Tensor) -> None:
        """Fit the sampling Gaussian to the encoder means of one-hot scenes ``x``."""
        was_training = self.training
        self.eval()
        mu = torch.cat([self.encode(x[s : s + 512])[0] for s in range(0, len(x), 512)])  # (N, Z)
        cov = torch.cov(mu.T) + 1e-4 * torch.eye(mu.shape[1])
        self.prior_mean.copy_(mu.mean(dim=0))
        self.prior_tril.copy_(torch.linalg.cholesky(cov))
        self.train(was_training)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    @property
    def can_encode(self) -> bool:
        return True

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(x)


class VAEGAN(VAE):
    """A VAE whose decoder also faces a critic in training; same networks at sampling time."""

    kind = "vaegan"


_CLASSES: dict[str, type[SceneModel]] = {"gan": GAN, "vae": VAE, "vaegan": VAEGAN}


def build_model(config: ModelConfig) -> SceneModel:
    return _CLASSES[config.kind](config)


def latents(seeds: Sequence[int], dim: int, scale: float = 1.0) -> torch.Tensor:
    """``(N, dim)`` latents, row ``k`` drawn from ``torch.Generator().manual_seed(seeds[k])``:
    a pure function of the seed, independent of global torch state and of the batch."""
    out = torch.empty(len(seeds), dim)
    gen = torch.Generator()
    for k, seed in enumerate(seeds):
        gen.manual_seed(int(seed))
        out[k] = torch.randn(dim, generator=gen)
    return out * scale


def assert_shapes(model: SceneModel, batch: int = 2) -> None:
    """Cheap self-check used by tests and after loading: decode gives (B, C, 16, 16)."""
    with torch.no_grad():
        out = model.decode(torch.zeros(batch, model.latent_dim))
    if tuple(out.shape) != (batch, NUM_CODES, SIZE, SIZE):
        raise ValueError(f"{model.kind} decoder gives shape {tuple(out.shape)}")
