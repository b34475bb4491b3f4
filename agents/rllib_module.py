"""The SB3 policy's networks as an RLlib module: :class:`WorldModule`.

RLlib's default PPO module is an MLP over a flat one-hot observation; on the assistant task
it needs many times the environment steps of the shipped SB3 policy, whose
:class:`agents.features.WorldFeatures` reads the view as a map (a small CNN) next to the
request words, inventory, scalars and route sensor. :class:`WorldModule` is that policy on
RLlib's new API stack: :class:`agents.features.WorldNet` (SB3's ``ActorCriticPolicy``
networks, names and initialisation) over the env's dict observation (``flat=False``).

``vrenvs train --engine rllib`` uses it with ``model: world`` in the config (``policy`` holds
``features_dim``, ``channels``, ``net_arch`` as in the SB3 configs); the exported role policy
is the same network (:class:`agents.rllib_policy.WorldRolePolicy`).
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis import ValueFunctionAPI
from ray.rllib.core.rl_module.torch import TorchRLModule

from agents.features import WorldNet

__all__ = ["WorldModule"]


class WorldModule(TorchRLModule, ValueFunctionAPI):
    """PPO actor-critic :class:`WorldNet` as ``self.net``. ``model_config``: ``features_dim``,
    ``channels``, ``net_arch`` (widths of the actor's and the critic's tanh layers)."""

    def setup(self) -> None:
        cfg: dict[str, Any] = dict(self.model_config or {})
        self.net = WorldNet(
            self.observation_space,
            features_dim=int(cfg.get("features_dim", 256)),
            channels=int(cfg.get("channels", 64)),
            net_arch=list(cfg.get("net_arch", [256])),
        )

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {Columns.ACTION_DIST_INPUTS: self.net.logits(batch[Columns.OBS])}

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        features = self.net.features(batch[Columns.OBS])
        return {
            Columns.ACTION_DIST_INPUTS: self.net.logits(batch[Columns.OBS], features),
            Columns.EMBEDDINGS: features,
        }

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        return self.net.value(batch[Columns.OBS], embeddings)
