"""One optimisation step per model kind: the losses, written once and read top to bottom.

- GAN: hinge loss, spectral-norm critic (Miyato et al. 2018), Adam(0, 0.9), one critic step
  per generator step. The critic sees one-hot real scenes and softmax fake ones, which
  pushes the generator to confident (near one-hot) cells, so the argmax loses little.
- VAE: categorical cross-entropy summed over cells + ``beta * KL`` with a linear warm-up of
  ``beta`` from 0 (the usual cure for posterior collapse).
- VAE-GAN: the VAE loss plus ``adv_weight`` times the hinge generator loss of the decoder on
  prior samples and on reconstructions; the critic learns real vs both.
- Pattern term (all three, ``pattern_weight`` > 0): ``KL(data || samples)`` of the tile-pair
  statistics (horizontal and vertical neighbour pairs, which carry the single-tile
  frequencies too) of a batch of prior samples, counted on their straight-through one-hot
  so the counts are those of the decoded argmax. It pulls a collapsing GAN back to the
  corpus's tile mix and a blurry VAE towards the corpus's local textures — the 2x2 pattern
  KL of the report card is the metric it serves.
- Quad term (``quad_weight`` > 0): the same for the 2x2 patterns themselves, over the
  corpus's patterns plus one bin for every pattern the corpus never shows. A pattern's
  count in the batch is the product of its four cells' straight-through values (1 going
  forward, the chosen codes' probabilities going back), so an over-represented or unknown
  pattern loses probability at the cells that make it; counts are added to a decaying
  histogram of recent batches, as one batch sees only some of the rare patterns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
import torch.nn.functional as F

from generators.data import NUM_CODES, one_hot
from generators.models import Critic, SceneModel

__all__ = [
    "Objective",
    "PatternTerm",
    "QuadTerm",
    "make_objective",
    "pair_counts",
    "quad_keys",
    "weigh_scores",
]


class Objective(Protocol):
    def step(self, real: torch.Tensor, codes: torch.Tensor, gen: torch.Generator, t: int) -> dict[str, float]:
        """One update on a batch: ``real`` one-hot ``(B, C, H, W)``, ``codes`` ``(B, H, W)``."""
        ...


def to_critic(
    logits: torch.Tensor, mode: str, gen: torch.Generator, temperature: float = 1.0
) -> torch.Tensor:
    """What the critic sees of generated logits ``(B, C, H, W)``.

    ``straight``: the argmax one-hot (what sampling emits) with the softmax gradient
    (straight-through estimator), so the critic cannot tell fakes by their softness;
    ``gumbel``: the same with Gumbel noise (a categorical sample); ``softmax``: probabilities.
    """
    if mode == "gumbel":
        uniform = torch.rand(logits.shape, generator=gen).clamp_(1e-9, 1.0 - 1e-9)
        logits = logits - torch.log(-torch.log(uniform))
    soft = F.softmax(logits / temperature, dim=1)
    if mode == "softmax":
        return soft
    if mode not in ("straight", "gumbel"):
        raise ValueError(f"unknown critic input {mode!r}; choose from straight, gumbel, softmax")
    hard = F.one_hot(logits.argmax(1), logits.shape[1]).permute(0, 3, 1, 2).to(soft.dtype)
    return hard + soft - soft.detach()


def pair_counts(onehot: torch.Tensor) -> torch.Tensor:
    """Tile-pair counts of one-hot or probability grids ``(B, C, H, W)``: ``(2, C, C)``,
    horizontal (left, right) then vertical (top, bottom) neighbours, summed over the batch."""
    horizontal = torch.einsum("bihw,bjhw->ij", onehot[..., :-1], onehot[..., 1:])
    vertical = torch.einsum("bihw,bjhw->ij", onehot[:, :, :-1], onehot[:, :, 1:])
    return torch.stack([horizontal, vertical])


class PatternTerm:
    """``weight * KL(data || batch)`` of tile-pair frequencies (see the module docstring).

    ``target``: pair counts of the training corpus; both sides get ``alpha`` added per pair
    so that a pair the batch lacks costs a finite, large amount."""

    def __init__(self, target: torch.Tensor, weight: float, alpha: float = 0.5) -> None:
        self.weight, self.alpha = weight, alpha
        p = target.double() + alpha
        self.p = (p / p.sum(dim=(1, 2), keepdim=True)).float()  # (2, C, C)
        self.log_p = self.p.log()

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        soft = F.softmax(logits, dim=1)
        hard = F.one_hot(logits.argmax(1), logits.shape[1]).permute(0, 3, 1, 2).to(soft.dtype)
        q = pair_counts(hard + soft - soft.detach()) + self.alpha  # (2, C, C)
        log_q = (q / q.sum(dim=(1, 2), keepdim=True)).log()
        return self.weight * (self.p * (self.log_p - log_q)).sum(dim=(1, 2)).mean()


def quad_keys(codes: torch.Tensor, num_codes: int) -> torch.Tensor:
    """``(B, H, W)`` codes -> ``(B, H - 1, W - 1)`` int64 keys of their 2x2 patterns (the
    same keys as :func:`generators.metrics.pattern_kl`)."""
    c = codes.long()
    k = num_codes
    return ((c[:, :-1, :-1] * k + c[:, :-1, 1:]) * k + c[:, 1:, :-1]) * k + c[:, 1:, 1:]


class QuadTerm:
    """``weight * KL(data || recent batches)`` of 2x2 patterns (see the module docstring)."""

    def __init__(self, codes: torch.Tensor, weight: float, alpha: float = 0.5, decay: float = 0.9) -> None:
        self.weight, self.alpha, self.decay = weight, alpha, decay
        keys, counts = torch.unique(quad_keys(codes, NUM_CODES), return_counts=True)
        self.keys = keys  # sorted
        p = torch.cat([counts.double(), torch.zeros(1, dtype=torch.float64)]) + alpha
        self.p = (p / p.sum()).float()  # (K + 1,): the corpus's patterns, then "any other"
        self.log_p = self.p.log()
        self.running = torch.zeros(len(keys) + 1)

    def bins(self, keys: torch.Tensor) -> torch.Tensor:
        """Bin of each key: its index among the corpus's patterns, or the last bin."""
        flat = keys.flatten()
        pos = torch.searchsorted(self.keys, flat).clamp(max=len(self.keys) - 1)
        return torch.where(self.keys[pos] == flat, pos, len(self.keys))

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        soft = F.softmax(logits, dim=1)
        chosen = logits.argmax(1)  # (B, H, W)
        p = soft.gather(1, chosen[:, None]).squeeze(1)
        st = 1.0 + p - p.detach()  # 1 forward; the chosen code's probability backward
        value = st[:, :-1, :-1] * st[:, :-1, 1:] * st[:, 1:, :-1] * st[:, 1:, 1:]  # (B, H-1, W-1)
        batch = torch.zeros(len(self.p)).index_add(
            0, self.bins(quad_keys(chosen, NUM_CODES)), value.flatten()
        )
        q = self.running + batch + self.alpha
        loss = self.weight * (self.p * (self.log_p - (q / q.sum()).log())).sum()
        self.running = self.decay * (self.running + batch.detach())
        return loss


def _patterns(hp: dict, codes: torch.Tensor | None) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The pattern terms the config asks for, summed; ``codes`` are the corpus's grids."""
    pair_weight, quad_weight = hp.get("pattern_weight", 0.0), hp.get("quad_weight", 0.0)
    if pair_weight <= 0 and quad_weight <= 0:
        return None
    if codes is None:
        raise ValueError("pattern_weight or quad_weight > 0 needs the corpus's grids")
    terms: list[Callable[[torch.Tensor], torch.Tensor]] = []
    if pair_weight > 0:
        chunks = [pair_counts(one_hot(codes[s : s + 1024])) for s in range(0, len(codes), 1024)]
        terms.append(PatternTerm(torch.stack(chunks).sum(0), pair_weight))
    if quad_weight > 0:
        terms.append(QuadTerm(codes, quad_weight))
    return lambda logits: sum((term(logits) for term in terms), torch.zeros(()))


def weigh_scores(scores: torch.Tensor) -> torch.Tensor:
    """``(B, patches + 1)`` per-score terms -> ``(B,)``: the patches together weigh as much
    as the whole-scene score."""
    return scores[:, :-1].mean(dim=1) + scores[:, -1]


def _hinge_critic(critic: Critic, real: torch.Tensor, fakes: list[torch.Tensor]) -> torch.Tensor:
    loss = weigh_scores(F.relu(1.0 - critic(real))).mean()
    for fake in fakes:
        loss = loss + weigh_scores(F.relu(1.0 + critic(fake.detach()))).mean() / len(fakes)
    return loss


def _hinge_generator(critic: Critic, fakes: list[torch.Tensor]) -> torch.Tensor:
    return -torch.stack([weigh_scores(critic(f)).mean() for f in fakes]).mean()


class GANObjective:
    def __init__(
        self,
        model: SceneModel,
        critic: Critic,
        lr: float,
        lr_critic: float,
        fake: str,
        temperature: float,
        pattern: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.model, self.critic, self.fake, self.temperature = model, critic, fake, temperature
        self.pattern = pattern
        self.opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.0, 0.9))
        self.opt_critic = torch.optim.Adam(critic.parameters(), lr=lr_critic, betas=(0.0, 0.9))

    def step(self, real: torch.Tensor, codes: torch.Tensor, gen: torch.Generator, t: int) -> dict[str, float]:
        z = torch.randn(len(real), self.model.latent_dim, generator=gen)  # (B, Z)
        logits = self.model.decode(z)  # (B, C, H, W)
        fake = to_critic(logits, self.fake, gen, self.temperature)
        d_loss = _hinge_critic(self.critic, real, [fake])
        self.opt_critic.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_critic.step()
        g_loss = _hinge_generator(self.critic, [fake])
        out = {"loss/critic": d_loss.item(), "loss/generator": g_loss.item()}
        if self.pattern is not None:
            pattern = self.pattern(logits)
            g_loss = g_loss + pattern
            out["loss/pattern"] = pattern.item()
        self.opt.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt.step()
        return out


class VAEObjective:
    def __init__(
        self,
        model: SceneModel,
        lr: float,
        kl_weight: float,
        kl_warmup: int,
        pattern: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.model, self.pattern = model, pattern
        self.kl_weight, self.kl_warmup = kl_weight, kl_warmup
        self.opt = torch.optim.Adam(model.parameters(), lr=lr)

    def beta(self, t: int) -> float:
        return self.kl_weight * min(1.0, t / self.kl_warmup) if self.kl_warmup > 0 else self.kl_weight

    def losses(
        self, real: torch.Tensor, codes: torch.Tensor, gen: torch.Generator
    ) -> tuple[torch.Tensor, ...]:
        """(reconstruction nats per scene, KL nats per scene, logits)."""
        mu, logvar = self.model.encode(real)  # (B, Z) each
        eps = torch.randn(mu.shape, generator=gen)
        logits = self.model.decode(mu + eps * torch.exp(0.5 * logvar))  # (B, C, H, W)
        rec = F.cross_entropy(logits, codes.long(), reduction="sum") / len(real)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum() / len(real)
        return rec, kl, logits

    def step(self, real: torch.Tensor, codes: torch.Tensor, gen: torch.Generator, t: int) -> dict[str, float]:
        rec, kl, logits = self.losses(real, codes, gen)
        loss = rec + self.beta(t) * kl
        extra = {}
        if self.pattern is not None:
            z = torch.randn(len(real), self.model.latent_dim, generator=gen)  # (B, Z)
            pattern = self.pattern(self.model.decode(z))
            loss = loss + pattern
            extra["loss/pattern"] = pattern.item()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        acc = (logits.argmax(1) == codes).float().mean().item()
        return {
            "loss/total": loss.item(),
            "loss/reconstruction": rec.item(),
            "loss/kl": kl.item(),
            "train/accuracy": acc,
        } | extra


class VAEGANObjective(VAEObjective):
    def __init__(
        self,
        model: SceneModel,
        critic: Critic,
        lr: float,
        lr_critic: float,
        kl_weight: float,
        kl_warmup: int,
        adv_weight: float,
        fake: str,
        temperature: float,
        pattern: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        super().__init__(model, lr, kl_weight, kl_warmup, pattern)
        self.critic, self.adv_weight, self.fake, self.temperature = critic, adv_weight, fake, temperature
        self.opt_critic = torch.optim.Adam(critic.parameters(), lr=lr_critic, betas=(0.0, 0.9))

    def step(self, real: torch.Tensor, codes: torch.Tensor, gen: torch.Generator, t: int) -> dict[str, float]:
        rec, kl, logits = self.losses(real, codes, gen)
        z = torch.randn(len(real), self.model.latent_dim, generator=gen)  # (B, Z)
        prior_logits = self.model.decode(z)
        fakes = [to_critic(f, self.fake, gen, self.temperature) for f in (prior_logits, logits)]
        d_loss = _hinge_critic(self.critic, real, fakes)
        self.opt_critic.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_critic.step()
        adv = _hinge_generator(self.critic, fakes)
        loss = rec + self.beta(t) * kl + self.adv_weight * adv
        extra = {}
        if self.pattern is not None:
            pattern = self.pattern(prior_logits)
            loss = loss + pattern
            extra["loss/pattern"] = pattern.item()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {
            "loss/total": loss.item(),
            "loss/reconstruction": rec.item(),
            "loss/kl": kl.item(),
            "loss/critic": d_loss.item(),
            "loss/adversarial": adv.item(),
        } | extra


def make_objective(
    kind: str, model: SceneModel, critic: Critic | None, hp: dict, codes: torch.Tensor | None = None
) -> Objective:
    """The objective for ``kind`` with hyperparameters from the training config; ``codes``
    (the training corpus's grids ``(N, H, W)``) are needed when a pattern weight is > 0."""
    pattern = _patterns(hp, codes)
    if kind == "gan":
        assert critic is not None
        return GANObjective(
            model, critic, hp["lr"], hp["lr_critic"], hp["critic_input"], hp["critic_temperature"], pattern
        )
    if kind == "vae":
        return VAEObjective(model, hp["lr"], hp["kl_weight"], int(hp["kl_warmup"]), pattern)
    assert critic is not None
    return VAEGANObjective(
        model,
        critic,
        hp["lr"],
        hp["lr_critic"],
        hp["kl_weight"],
        int(hp["kl_warmup"]),
        hp["adv_weight"],
        hp["critic_input"],
        hp["critic_temperature"],
        pattern,
    )
