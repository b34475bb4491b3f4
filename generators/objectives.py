"""One optimisation step per model kind: the losses, written once and read top to bottom.

- GAN: hinge loss, spectral-norm critic (Miyato et al. 2018), Adam(0, 0.9), one critic step
  per generator step. The critic sees one-hot real scenes and softmax fake ones, which
  pushes the generator to confident (near one-hot) cells, so the argmax loses little.
- VAE: categorical cross-entropy summed over cells + ``beta * KL`` with a linear warm-up of
  ``beta`` from 0 (the usual cure for posterior collapse).
- VAE-GAN: the VAE loss plus ``adv_weight`` times the hinge generator loss of the decoder on
  prior samples and on reconstructions; the critic learns real vs both.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F

from generators.models import Critic, SceneModel

__all__ = ["Objective", "make_objective", "weigh_scores"]


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
        self, model: SceneModel, critic: Critic, lr: float, lr_critic: float, fake: str, temperature: float
    ) -> None:
        self.model, self.critic, self.fake, self.temperature = model, critic, fake, temperature
        self.opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.0, 0.9))
        self.opt_critic = torch.optim.Adam(critic.parameters(), lr=lr_critic, betas=(0.0, 0.9))

    def step(self, real: torch.Tensor, codes: torch.Tensor, gen: torch.Generator, t: int) -> dict[str, float]:
        z = torch.randn(len(real), self.model.latent_dim, generator=gen)  # (B, Z)
        fake = to_critic(self.model.decode(z), self.fake, gen, self.temperature)  # (B, C, H, W)
        d_loss = _hinge_critic(self.critic, real, [fake])
        self.opt_critic.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_critic.step()
        g_loss = _hinge_generator(self.critic, [fake])
        self.opt.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt.step()
        return {"loss/critic": d_loss.item(), "loss/generator": g_loss.item()}


class VAEObjective:
    def __init__(self, model: SceneModel, lr: float, kl_weight: float, kl_warmup: int) -> None:
        self.model = model
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
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        acc = (logits.argmax(1) == codes).float().mean().item()
        return {
            "loss/total": loss.item(),
            "loss/reconstruction": rec.item(),
            "loss/kl": kl.item(),
            "train/accuracy": acc,
        }


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
    ) -> None:
        super().__init__(model, lr, kl_weight, kl_warmup)
        self.critic, self.adv_weight, self.fake, self.temperature = critic, adv_weight, fake, temperature
        self.opt_critic = torch.optim.Adam(critic.parameters(), lr=lr_critic, betas=(0.0, 0.9))

    def step(self, real: torch.Tensor, codes: torch.Tensor, gen: torch.Generator, t: int) -> dict[str, float]:
        rec, kl, logits = self.losses(real, codes, gen)
        z = torch.randn(len(real), self.model.latent_dim, generator=gen)  # (B, Z)
        fakes = [to_critic(f, self.fake, gen, self.temperature) for f in (self.model.decode(z), logits)]
        d_loss = _hinge_critic(self.critic, real, fakes)
        self.opt_critic.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_critic.step()
        adv = _hinge_generator(self.critic, fakes)
        loss = rec + self.beta(t) * kl + self.adv_weight * adv
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {
            "loss/total": loss.item(),
            "loss/reconstruction": rec.item(),
            "loss/kl": kl.item(),
            "loss/critic": d_loss.item(),
            "loss/adversarial": adv.item(),
        }


def make_objective(kind: str, model: SceneModel, critic: Critic | None, hp: dict) -> Objective:
    """The objective for ``kind`` with hyperparameters from the training config."""
    if kind == "gan":
        assert critic is not None
        return GANObjective(
            model, critic, hp["lr"], hp["lr_critic"], hp["critic_input"], hp["critic_temperature"]
        )
    if kind == "vae":
        return VAEObjective(model, hp["lr"], hp["kl_weight"], int(hp["kl_warmup"]))
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
    )
