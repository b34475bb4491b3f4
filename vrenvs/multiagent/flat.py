"""One flat vector per observation, for learners that take a ``Box`` (RLlib's default models)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from vrenvs.envs.spaces import code_classes

__all__ = ["OneHot"]


class OneHot:
    """An observation ``Dict`` as one flat float32 ``Box``: entries of codes (integer ``Box``,
    ``MultiDiscrete``) and ``Discrete`` entries one-hot (each code in its own block), other
    ``Box`` entries as they are, in the space's key order. RLlib's ``FlattenObservations``
    connector computes the same per step in Python; here it is a few numpy calls per agent."""

    def __init__(self, space: spaces.Dict) -> None:
        self._parts: list[tuple[str, str, np.ndarray, int]] = []
        lows, highs = [], []
        start = 0
        for key, sub in space.spaces.items():
            nvec = code_classes(sub)
            if nvec is not None:
                offsets = start + np.concatenate([[0], np.cumsum(nvec)[:-1]])
                size = int(nvec.sum())
                self._parts.append((key, "codes", offsets, size))
                lows.append(np.zeros(size, np.float32))
                highs.append(np.ones(size, np.float32))
            elif isinstance(sub, spaces.Discrete):
                size = int(sub.n)
                self._parts.append((key, "code", np.array([start]), size))
                lows.append(np.zeros(size, np.float32))
                highs.append(np.ones(size, np.float32))
            elif isinstance(sub, spaces.Box):
                size = int(np.prod(sub.shape))
                self._parts.append((key, "box", np.array([start]), size))
                lows.append(np.asarray(sub.low, np.float32).ravel())
                highs.append(np.asarray(sub.high, np.float32).ravel())
            else:
                raise ValueError(f"cannot one-hot a {type(sub).__name__} entry {key!r}")
            start += size
        self.space = spaces.Box(np.concatenate(lows), np.concatenate(highs), dtype=np.float32)

    def batch(self, obs: Mapping[str, np.ndarray]) -> np.ndarray:
        """``{key: (n, ...)}`` -> ``(n, D)``: :meth:`__call__` for a batch at once."""
        n = len(next(iter(obs.values())))
        out = np.zeros((n, self.space.shape[0]), np.float32)
        rows = np.arange(n)[:, None]
        for key, kind, offsets, size in self._parts:
            value = np.asarray(obs[key]).reshape(n, -1)
            if kind == "box":
                out[:, offsets[0] : offsets[0] + size] = value
            else:
                out[rows, offsets[None, :] + value.astype(np.int64)] = 1.0
        return out

    def __call__(self, obs: Mapping[str, Any]) -> np.ndarray:
        out = np.zeros(self.space.shape, np.float32)
        for key, kind, offsets, size in self._parts:
            value = np.asarray(obs[key])
            if kind == "box":
                out[offsets[0] : offsets[0] + size] = value.ravel()
            else:
                out[offsets + value.ravel().astype(np.int64)] = 1.0
        return out
