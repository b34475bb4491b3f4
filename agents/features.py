"""A features extractor for the vrenvs observation dict.

``view`` comes in one of two forms. Through :class:`agents.vec_env.VrenvsVecEnv` its space
is a ``Box`` of codes (:func:`agents.vec_env.policy_space`) and this extractor one-hot
encodes all ``3 * k * k`` entries in one call, each layer's codes offset into one joint
vocabulary. Over the env's own ``MultiDiscrete`` space (a plain Gymnasium env handed to
SB3), SB3 has already one-hot encoded it to ``(B, sum(nvec))``: for each entry (tile layer,
then item layer, then actor layer, each row-major) a one-hot of its layer's size. Either
way it becomes ``(B, C, k, k)`` channels (C = tiles + items + roles classes) for a small
CNN — the default NatureCNN cannot take a 7 x 7 map — and is joined
with an embedding of the request tokens, the inventory, the scalars and, when the env has
it, the route sensor.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.preprocessing import preprocess_obs
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, MlpExtractor
from torch import nn

from agents.vec_env import policy_space

__all__ = ["Layout", "WorldFeatures", "WorldNet"]


@dataclass(frozen=True)
class Layout:
    """What the extractor's layer sizes depend on, read from the observation space."""

    codes: bool  # view and request as codes (Box), not SB3's one-hot (MultiDiscrete)
    cells: int  # k * k
    layer_sizes: tuple[int, int, int]  # classes per view layer: tiles, items, roles
    vocab: int  # request words
    inventory: int
    scalars: int
    route: int  # route sensor entries, 0 without it

    @classmethod
    def of(cls, observation_space: gym.spaces.Dict) -> Layout:
        view = observation_space["view"]
        codes = isinstance(view, gym.spaces.Box)
        nvec = np.asarray(view.high, np.int64) + 1 if codes else np.asarray(view.nvec)  # type: ignore[attr-defined]
        cells = len(nvec) // 3
        request = observation_space["request"]
        inventory = observation_space["inventory"]
        assert isinstance(inventory, gym.spaces.Discrete)
        return cls(
            codes=codes,
            cells=cells,
            layer_sizes=(int(nvec[0]), int(nvec[cells]), int(nvec[2 * cells])),
            vocab=int(request.high[0]) + 1 if codes else int(request.nvec[0]),  # type: ignore[attr-defined]
            inventory=int(inventory.n),
            scalars=int(observation_space["scalars"].shape[0]),  # type: ignore[index]
            route=int(observation_space["route"].shape[0]) if "route" in observation_space.spaces else 0,  # type: ignore[index]
        )

    def num_parameters(self, features_dim: int, channels: int) -> int:
        """Parameters of a :class:`WorldFeatures` with this layout, counted without building it."""
        cnn = (sum(self.layer_sizes) * 9 + 1) * channels + (channels * 9 + 1) * channels
        joined = channels * self.cells + 32 + self.inventory + self.scalars + self.route
        return cnn + (self.vocab + 1) * 32 + (joined + 1) * features_dim


class WorldFeatures(BaseFeaturesExtractor):
    """CNN over the one-hot view + MLP over request, inventory and scalars."""

    def __init__(
        self, observation_space: gym.spaces.Dict, features_dim: int = 256, channels: int = 64
    ) -> None:
        super().__init__(observation_space, features_dim)
        layout = Layout.of(observation_space)
        self.codes = layout.codes
        cells = layout.cells
        self.side = round(cells**0.5)
        self.layer_sizes = list(layout.layer_sizes)  # classes per layer
        offsets = np.repeat(np.cumsum([0, *self.layer_sizes[:2]]), cells)
        self.offsets: torch.Tensor
        self.register_buffer("offsets", torch.as_tensor(offsets), persistent=False)
        in_channels = sum(self.layer_sizes)
        self.cnn = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        self.vocab = layout.vocab
        self.words = nn.Linear(self.vocab, 32)  # bag of words over the request tokens
        # the route sensor (env kwarg route=True), when the env has it
        self.route = layout.route
        joined = channels * cells + 32 + layout.inventory + layout.scalars + self.route
        self.head = nn.Sequential(nn.Linear(joined, features_dim), nn.ReLU())

    def _grid(self, onehot: torch.Tensor) -> torch.Tensor:
        """``(B, sum(nvec))`` one-hot view -> ``(B, C, k, k)``."""
        b, cells = onehot.shape[0], self.side * self.side
        parts, start = [], 0
        for size in self.layer_sizes:
            chunk = onehot[:, start : start + cells * size].reshape(b, cells, size)  # (B, k*k, n)
            parts.append(chunk.transpose(1, 2))  # (B, n, k*k)
            start += cells * size
        return torch.cat(parts, dim=1).reshape(b, -1, self.side, self.side)

    def _grid_of_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """``(B, 3*k*k)`` codes -> ``(B, C, k, k)`` one-hot: each cell's three codes are
        offset into one joint vocabulary (disjoint channel ranges per layer) and written as
        ones into a zero grid, one ``scatter_`` in all (the sum of three ``one_hot``s,
        without their ``(B, 3*k*k, C)`` int64 intermediate). The grid is cell-major (a
        channels-last view), the layout the shipped policies were trained on: the
        convolution's rounding depends on it."""
        b, cells = codes.shape[0], self.side * self.side
        joint = (codes.long() + self.offsets).reshape(b, 3, cells).transpose(1, 2)  # (B, k*k, 3)
        grid = torch.zeros(b, cells, sum(self.layer_sizes), device=codes.device)
        grid.scatter_(2, joint, 1.0)
        return grid.transpose(1, 2).reshape(b, -1, self.side, self.side)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.codes:
            view = self.cnn(self._grid_of_codes(obs["view"]))
            tokens = obs["request"].long()  # (B, L)
            ones = torch.ones(tokens.shape, device=tokens.device)
            bag = torch.zeros(tokens.shape[0], self.vocab, device=tokens.device).scatter_add_(1, tokens, ones)
        else:
            view = self.cnn(self._grid(obs["view"]))
            tokens = obs["request"].reshape(obs["request"].shape[0], -1, self.vocab)  # (B, L, V)
            bag = tokens.sum(dim=1)  # (B, V) word counts
        bag = torch.cat([torch.zeros_like(bag[:, :1]), bag[:, 1:]], dim=1)  # padding carries no meaning
        b = view.shape[0]
        # Discrete entries come as (B, n) from a policy call and (B, 1, n) from the buffer.
        inventory = obs["inventory"].reshape(b, -1)
        parts = [view, torch.relu(self.words(bag)), inventory, obs["scalars"].reshape(b, -1)]
        if self.route:
            parts.append(obs["route"].reshape(b, -1))
        joined = torch.cat(parts, dim=1)
        return self.head(joined)


class WorldNet(nn.Module):
    """SB3's PPO ``ActorCriticPolicy`` networks for the vrenvs observation, with its
    parameter names (``features_extractor``, ``mlp_extractor``, ``action_net``,
    ``value_net``) and initialisation, as a plain module over the env's dict of tensors.
    RLlib trains it (:class:`agents.rllib_module.WorldModule`); an exported role policy is
    one. ``env_space`` is the env's observation space; the codes are read as the SB3 policy
    reads them (:func:`agents.vec_env.policy_space`)."""

    def __init__(
        self,
        env_space: gym.spaces.Dict,
        features_dim: int = 256,
        channels: int = 64,
        net_arch: list[int] | None = None,
    ) -> None:
        super().__init__()
        arch = [256] if net_arch is None else [int(w) for w in net_arch]
        self.env_space = env_space
        self.space = policy_space(env_space)
        self.sizes: dict[str, Any] = {
            "features_dim": int(features_dim),
            "channels": int(channels),
            "net_arch": arch,
        }
        self.features_extractor = WorldFeatures(self.space, features_dim=features_dim, channels=channels)
        self.mlp_extractor = MlpExtractor(features_dim, net_arch=arch, activation_fn=nn.Tanh)
        self.action_net = nn.Linear(self.mlp_extractor.latent_dim_pi, 9)
        self.value_net = nn.Linear(self.mlp_extractor.latent_dim_vf, 1)
        gains = {
            self.features_extractor: 2**0.5,
            self.mlp_extractor: 2**0.5,
            self.action_net: 0.01,
            self.value_net: 1.0,
        }
        for part, gain in gains.items():
            part.apply(functools.partial(ActorCriticPolicy.init_weights, gain=gain))

    def features(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The extractor's features of a batch ``{key: (n, ...)}`` of raw observations."""
        inputs = preprocess_obs({k: obs[k] for k in self.space.spaces}, self.space)
        return self.features_extractor(inputs)

    def logits(self, obs: dict[str, torch.Tensor], features: torch.Tensor | None = None) -> torch.Tensor:
        f = self.features(obs) if features is None else features
        return self.action_net(self.mlp_extractor.forward_actor(f))

    def value(self, obs: dict[str, torch.Tensor], features: torch.Tensor | None = None) -> torch.Tensor:
        f = self.features(obs) if features is None else features
        return self.value_net(self.mlp_extractor.forward_critic(f)).squeeze(-1)
