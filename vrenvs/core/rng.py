"""Counter-based randomness for the batched step.

A draw is a hash (SplitMix64 finaliser) of the world's episode key, its step counter and a
stream id, so a world's random numbers never depend on how many other worlds share its
batch, on reset timing elsewhere, or on global RNG state. That is what makes a vector env
step-for-step equal to single envs without a Python loop over worlds.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Stream", "integers", "uniform"]

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


class Stream:
    """Stream ids: one per kind of decision, so draws for different purposes never coincide."""

    USER, NPC, FOOD, REQUEST = range(1, 5)


def _mix(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def _bits(key: np.ndarray, t: np.ndarray, stream: int, lanes: int) -> np.ndarray:
    base = key + (t.astype(np.uint64) * np.uint64(lanes + 1) + np.uint64(stream << 20)) * _GAMMA
    lane = np.arange(lanes, dtype=np.uint64) * _GAMMA
    return _mix(base[:, None] ^ _mix(lane + np.uint64(stream))[None, :])


def uniform(key: np.ndarray, t: np.ndarray, stream: int, lanes: int = 1) -> np.ndarray:
    """``(B, lanes)`` floats in [0, 1) for worlds with episode ``key`` at step ``t``."""
    return (_bits(key, t, stream, lanes) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def integers(
    key: np.ndarray, t: np.ndarray, stream: int, high: np.ndarray | int, lanes: int = 1
) -> np.ndarray:
    """``(B, lanes)`` integers in ``[0, high)``; ``high`` may differ per world (``(B,)``)."""
    u = uniform(key, t, stream, lanes)
    high_arr = np.broadcast_to(np.asarray(high), key.shape)[:, None]
    return np.minimum((u * high_arr).astype(np.int64), np.maximum(high_arr - 1, 0))
