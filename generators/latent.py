"""Latent tools: interpolate between two scenes, and search the latent space with CMA-ES
for scenes with a target property.

Both work on *repaired* scenes (what an env would serve). Objectives are functions of one
glyph grid ``(16, 16)`` returning a float; :data:`OBJECTIVES` names the built-in ones.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from generators.data import one_hot
from generators.models import SceneModel, latents
from generators.sampling import decode_codes, repair_codes
from vrenvs.core.catalog import CATALOG
from vrenvs.core.grid import UNREACHED, distance_field
from vrenvs.core.reach import base_passable
from vrenvs.core.regions import find_places
from vrenvs.core.scene import Scene, split_layers

__all__ = ["OBJECTIVES", "Endpoint", "Interpolation", "SearchResult", "interpolate", "search"]

Endpoint = Scene | np.ndarray | int | torch.Tensor
"""A scene (or its codes) to encode, a latent seed, or a latent vector."""


def path_length(codes: np.ndarray) -> float:
    """Steps from the user to the nearest requestable item (doors count as passable; 0 if
    the scene has no user or no reachable item)."""
    tiles, items, roles = split_layers(codes)
    user = np.argwhere(roles == CATALOG.role_id("user"))
    targets = CATALOG.REQUESTABLE[items]
    if not len(user) or not targets.any():
        return 0.0
    dist = distance_field(targets, base_passable(tiles))[tuple(user[0])]
    return 0.0 if dist == UNREACHED else float(dist)


def num_regions(codes: np.ndarray) -> float:
    """Named places (rooms, gardens, ...) a request can refer to."""
    tiles, _, _ = split_layers(codes)
    return float(len(find_places(tiles).region_names))


def num_items(codes: np.ndarray) -> float:
    return float((CATALOG.CODE_ITEM[codes] > 0).sum())


OBJECTIVES: dict[str, Callable[[np.ndarray], float]] = {
    "path_length": path_length,
    "regions": num_regions,
    "items": num_items,
}


def _latent(model: SceneModel, end: Endpoint) -> torch.Tensor:
    """``(Z,)`` latent of an endpoint: the seed's latent, the vector itself, or the encoder
    mean of a scene (VAE and VAE-GAN only)."""
    if isinstance(end, (int, np.integer)):
        return model.from_noise(latents([int(end)], model.latent_dim, model.config.latent_scale))[0]
    if isinstance(end, torch.Tensor):
        if end.shape != (model.latent_dim,):
            raise ValueError(
                f"a latent endpoint must have shape ({model.latent_dim},), got {tuple(end.shape)}"
            )
        return end.float()
    codes = end.codes if isinstance(end, Scene) else Scene(end).codes
    if not model.can_encode:
        raise ValueError(f"a {model.kind} model cannot encode scenes; give latent seeds (ints) as endpoints")
    with torch.inference_mode():
        mu, _ = model.encode(one_hot(torch.from_numpy(codes[None].astype(np.int64))))
    return mu[0]


@dataclass(frozen=True)
class Interpolation:
    latents: torch.Tensor  # (S, Z)
    raw: np.ndarray  # (S, 16, 16) decoded grids
    codes: np.ndarray  # (S, 16, 16) repaired grids
    edits: np.ndarray  # (S,)


def interpolate(model: SceneModel, a: Endpoint, b: Endpoint, steps: int = 8) -> Interpolation:
    """Scenes along the straight line between the latents of ``a`` and ``b`` (both ends
    included)."""
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    za, zb = _latent(model, a), _latent(model, b)
    w = torch.linspace(0.0, 1.0, steps)[:, None]  # (S, 1)
    z = (1 - w) * za + w * zb  # (S, Z)
    raw = decode_codes(model, z)
    codes, edits, _ = repair_codes(raw)
    return Interpolation(z, raw, codes, edits)


@dataclass(frozen=True)
class SearchResult:
    latent: np.ndarray  # (Z,)
    codes: np.ndarray  # (16, 16) repaired grid
    value: float  # objective of the repaired grid
    error: float  # |value - target|
    evaluations: int
    history: list[float]  # best error after each generation


def _fitness(model: SceneModel, objective: Callable, target: float, noise: np.ndarray, prior: float):
    """Errors (plus a penalty for noise far outside the typical set of N(0, I)) and grids."""
    with torch.inference_mode():
        z = model.from_noise(torch.from_numpy(noise).float())
    codes, _, _ = repair_codes(decode_codes(model, z))
    values = np.array([objective(c) for c in codes])
    norm = (noise**2).mean(axis=1) / model.config.latent_scale**2
    return np.abs(values - target) + prior * np.maximum(norm - 1.5, 0.0), values, codes


def search(
    model: SceneModel,
    objective: str | Callable[[np.ndarray], float],
    target: float,
    budget: int = 400,
    seed: int = 0,
    prior: float = 1.0,
) -> SearchResult:
    """CMA-ES over the latent noise for a repaired scene whose ``objective`` is ``target``.

    ``budget`` is the number of scenes evaluated; the search starts at the noise of latent
    seed ``seed`` and stops early on an exact hit. ``latent`` in the result is the decoder
    input (``model.from_noise`` of the noise found)."""
    with warnings.catch_warnings():  # cma warns at import when matplotlib is missing
        warnings.simplefilter("ignore")
        import cma
    if isinstance(objective, str):
        if objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {objective!r}; choose from {sorted(OBJECTIVES)}")
        objective = OBJECTIVES[objective]
    z0 = latents([seed], model.latent_dim, model.config.latent_scale)[0].numpy().astype(np.float64)
    options = {"seed": seed + 1, "verbose": -9, "maxfevals": budget}
    es = cma.CMAEvolutionStrategy(z0, 0.5 * model.config.latent_scale, options)
    best: tuple[float, np.ndarray, np.ndarray, float] | None = None
    history: list[float] = []
    evaluations = 0
    while not es.stop() and evaluations < budget:
        zs = np.asarray(es.ask())
        fit, values, codes = _fitness(model, objective, target, zs, prior)
        es.tell(list(zs), fit.tolist())
        evaluations += len(zs)
        k = int(np.argmin(fit))
        if best is None or fit[k] < best[0]:
            best = (float(fit[k]), zs[k], codes[k], float(values[k]))
        history.append(best[0])
        if abs(best[3] - target) == 0 and best[0] == 0:
            break
    assert best is not None
    with torch.inference_mode():
        latent = model.from_noise(torch.from_numpy(best[1][None]).float())[0].numpy()
    return SearchResult(latent, best[2], best[3], abs(best[3] - target), evaluations, history)
