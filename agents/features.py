"""A features extractor for the vrenvs observation dict.

SB3 one-hot encodes ``MultiDiscrete`` and ``Discrete`` entries before the extractor sees
them, so ``view`` arrives as ``(B, sum(nvec))``: for each of the ``3 * k * k`` entries (tile
layer, then item layer, then actor layer, each row-major), a one-hot of its layer's size.
This extractor reshapes that back into ``(B, C, k, k)`` channels (C = tiles + items + roles
classes) for a small CNN — the default NatureCNN cannot take a 7 x 7 map — and joins it
with an embedding of the request tokens, the inventory, the scalars and, when the env has
it, the route sensor.
"""

from __future__ import annotations

import gymnasium as gym
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

__all__ = ["WorldFeatures"]


class WorldFeatures(BaseFeaturesExtractor):
    """CNN over the one-hot view + MLP over request, inventory and scalars."""

    def __init__(
        self, observation_space: gym.spaces.Dict, features_dim: int = 256, channels: int = 64
    ) -> None:
        super().__init__(observation_space, features_dim)
        view = observation_space["view"]
        assert isinstance(view, gym.spaces.MultiDiscrete)
        cells = len(view.nvec) // 3
        self.side = round(cells**0.5)
        self.layer_sizes = [int(view.nvec[i * cells]) for i in range(3)]  # classes per layer
        in_channels = sum(self.layer_sizes)
        self.cnn = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        request = observation_space["request"]
        assert isinstance(request, gym.spaces.MultiDiscrete)
        self.vocab = int(request.nvec[0])
        self.words = nn.Linear(self.vocab, 32)  # bag of words over the request tokens
        inventory = observation_space["inventory"]
        assert isinstance(inventory, gym.spaces.Discrete)
        scalars = observation_space["scalars"].shape[0]  # type: ignore[index]
        # the route sensor (env kwarg route=True), when the env has it
        self.route = int(observation_space["route"].shape[0]) if "route" in observation_space.spaces else 0  # type: ignore[index]
        joined = channels * cells + 32 + int(inventory.n) + scalars + self.route
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

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
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
