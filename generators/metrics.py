"""Sample-set metrics for the report card: Hamming distances and 2x2 tile-pattern KL.

Hamming distances between many grids are one matrix product of one-hot vectors
(``cells - <onehot(a), onehot(b)>``), which BLAS does in a second where a Python or
broadcast loop would take minutes.
"""

from __future__ import annotations

import numpy as np

from generators.data import NUM_CODES

__all__ = ["copies", "mean_pairwise_hamming", "nearest_hamming", "pattern_kl"]


def _one_hot(codes: np.ndarray) -> np.ndarray:
    flat = codes.reshape(len(codes), -1).astype(np.int64)
    out = np.zeros((len(codes), flat.shape[1] * NUM_CODES), dtype=np.float32)
    rows = np.arange(len(codes))[:, None]
    out[rows, np.arange(flat.shape[1]) * NUM_CODES + flat] = 1.0
    return out


def _distances(a: np.ndarray, b: np.ndarray, chunk: int = 512) -> np.ndarray:
    """``(len(a), len(b))`` Hamming distances (cells that differ)."""
    cells = a[0].size
    hb = _one_hot(b)
    out = np.empty((len(a), len(b)), dtype=np.int32)
    for s in range(0, len(a), chunk):
        same = _one_hot(a[s : s + chunk]) @ hb.T
        out[s : s + chunk] = cells - np.rint(same).astype(np.int32)
    return out


def mean_pairwise_hamming(codes: np.ndarray) -> float:
    """Mean share of differing cells over all distinct pairs (0: all equal)."""
    n = len(codes)
    if n < 2:
        return 0.0
    dist = _distances(codes, codes)
    return float(dist.sum() / (n * (n - 1)) / codes[0].size)


def nearest_hamming(codes: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(N,)`` share of cells in which each grid differs from its nearest reference grid."""
    best = np.full(len(codes), codes[0].size, dtype=np.int32)
    for s in range(0, len(reference), 2048):
        best = np.minimum(best, _distances(codes, reference[s : s + 2048]).min(axis=1))
    return best / codes[0].size


def copies(codes: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: the grid equals a reference grid exactly."""
    known = {g.tobytes() for g in reference}
    return np.array([g.tobytes() in known for g in codes])


def _patterns(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct 2x2 patterns (as integers) of grids ``(N, H, W)`` and their counts."""
    c = codes.astype(np.int64)
    k = NUM_CODES
    keys = ((c[:, :-1, :-1] * k + c[:, :-1, 1:]) * k + c[:, 1:, :-1]) * k + c[:, 1:, 1:]
    return np.unique(keys, return_counts=True)


def pattern_kl(p_codes: np.ndarray, q_codes: np.ndarray, alpha: float = 0.5) -> float:
    """Symmetric KL divergence (mean of both directions, nats) between the 2x2 tile-pattern
    distributions of two grid sets (Lucas & Volz 2019, with w = 0.5). Counts get ``alpha``
    added over the union of observed patterns, so a pattern one set never shows costs a
    finite amount."""
    pk, pc = _patterns(p_codes)
    qk, qc = _patterns(q_codes)
    union = np.union1d(pk, qk)
    p = np.full(len(union), alpha)
    q = np.full(len(union), alpha)
    p[np.searchsorted(union, pk)] += pc
    q[np.searchsorted(union, qk)] += qc
    p /= p.sum()
    q /= q.sum()
    return float(0.5 * (np.sum(p * np.log(p / q)) + np.sum(q * np.log(q / p))))
