"""Counter-based randomness for the batched step.

A draw is a hash (SplitMix64 finaliser) of the world's episode key, its step counter and a
stream id, so a world's random numbers never depend on how many other worlds share its
batch, on reset timing elsewhere, or on global RNG state. That is what makes a vector env
step-for-step equal to single envs without a Python loop over worlds.
"""

from __future__ import annotations

import numpy as np

from vrenvs.core.jit import kernel

__all__ = ["Stream", "draw", "draw_integer", "integers", "mix", "uniform"]

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


class Stream:
    """Stream ids: one per kind of decision, so draws for different purposes never coincide."""

    USER, NPC, FOOD, REQUEST = range(1, 5)


def mix(x: np.uint64) -> np.uint64:
    """The SplitMix64 finaliser of one 64-bit word."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


mix = kernel(mix)


def draw(key: np.uint64, t: int, stream: int, lanes: int, lane: int) -> float:
    """Lane ``lane`` of ``lanes`` of the float in [0, 1) for episode ``key`` at step ``t``
    (the scalar form of :func:`uniform`, for kernels)."""
    base = key + (np.uint64(t) * np.uint64(lanes + 1) + np.uint64(stream << 20)) * _GAMMA
    bits = mix(base ^ mix(np.uint64(lane) * _GAMMA + np.uint64(stream)))
    return float(bits >> np.uint64(11)) * (1.0 / (1 << 53))


draw = kernel(draw)


def draw_integer(key: np.uint64, t: int, stream: int, high: int, lanes: int, lane: int) -> int:
    """The scalar form of :func:`integers`: an integer in ``[0, high)``."""
    value = int(draw(key, t, stream, lanes, lane) * high)
    return min(value, max(high - 1, 0))


draw_integer = kernel(draw_integer)


def _uniform(key: np.ndarray, t: np.ndarray, stream: int, out: np.ndarray) -> None:
    lanes = out.shape[1]
    for b in range(out.shape[0]):
        for lane in range(lanes):
            out[b, lane] = draw(key[b], t[b], stream, lanes, lane)


_uniform = kernel(_uniform)


def _integers(key: np.ndarray, t: np.ndarray, stream: int, high: np.ndarray, out: np.ndarray) -> None:
    lanes = out.shape[1]
    for b in range(out.shape[0]):
        for lane in range(lanes):
            out[b, lane] = draw_integer(key[b], t[b], stream, high[b], lanes, lane)


_integers = kernel(_integers)


def uniform(key: np.ndarray, t: np.ndarray, stream: int, lanes: int = 1) -> np.ndarray:
    """``(B, lanes)`` floats in [0, 1) for worlds with episode ``key`` at step ``t``."""
    keys = np.asarray(key, np.uint64)
    out = np.empty((len(keys), lanes), np.float64)
    _uniform(keys, np.broadcast_to(np.asarray(t, np.int64), keys.shape), stream, out)
    return out


def integers(
    key: np.ndarray, t: np.ndarray, stream: int, high: np.ndarray | int, lanes: int = 1
) -> np.ndarray:
    """``(B, lanes)`` integers in ``[0, high)``; ``high`` may differ per world (``(B,)``)."""
    keys = np.asarray(key, np.uint64)
    out = np.empty((len(keys), lanes), np.int64)
    steps = np.broadcast_to(np.asarray(t, np.int64), keys.shape)
    _integers(keys, steps, stream, np.broadcast_to(np.asarray(high, np.int64), keys.shape), out)
    return out
