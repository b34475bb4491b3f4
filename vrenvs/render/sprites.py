"""Pixel-art sprites for every tile, item and actor role, drawn from text in code (no assets).

The pictures live in ``vrenvs/data/sprites.yaml`` as 16 x 16 characters; this module turns
them into RGBA arrays at any tile size. Shades ``1``-``5`` follow the catalog colour of each
entity, so the YAML colours stay the single source of truth. Items and actors get a dark
outline so they read on any ground; actors are rotated for the four facings.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import yaml

from vrenvs.core.catalog import CATALOG

__all__ = ["BASE", "base_sprites", "resample"]

BASE = 16
"""Side of the authored pictures in pixels."""

_SPEC = yaml.safe_load(resources.files("vrenvs.data").joinpath("sprites.yaml").read_text(encoding="utf-8"))
_INK = np.array(_SPEC["palette"]["k"], np.uint8)
# Shade ``level`` of a colour: darker by a factor (1, 2), itself (3), towards white (4, 5).
_SHADES = {"1": (0.55, 0.0), "2": (0.78, 0.0), "3": (1.0, 0.0), "4": (1.0, 0.25), "5": (1.0, 0.5)}
# Facing 1..4 (up, right, down, left) as quarter turns of the downward-facing picture.
_TURNS = {1: 2, 2: 1, 3: 0, 4: 3}


def _palette(colour: tuple[int, int, int]) -> dict[str, np.ndarray]:
    base = np.array(colour, float)
    shades = {k: base * f + (255 - base * f) * t for k, (f, t) in _SHADES.items()}
    fixed = {k: np.array(v, float) for k, v in _SPEC["palette"].items()}
    return {k: np.clip(np.round(v), 0, 255).astype(np.uint8) for k, v in {**fixed, **shades}.items()}


def _rows(section: str, name: str) -> list[str]:
    entry = _SPEC[section][name]
    if isinstance(entry, dict):
        entry = _SPEC[section][entry["art"]]
    rows = entry.strip("\n").split("\n")
    if len(rows) != BASE or any(len(r) != BASE for r in rows):
        raise ValueError(f"sprite {section}.{name} must be {BASE} rows of {BASE} characters")
    return rows


def _rgba(section: str, name: str, colour: tuple[int, int, int]) -> np.ndarray:
    """``(16, 16, 4)`` uint8 picture; alpha 255 where painted."""
    palette = _palette(colour)
    out = np.zeros((BASE, BASE, 4), np.uint8)
    for y, row in enumerate(_rows(section, name)):
        for x, ch in enumerate(row):
            if ch != ".":
                out[y, x, :3] = palette[ch]
                out[y, x, 3] = 255
    return out


def _outlined(rgba: np.ndarray) -> np.ndarray:
    """Ink on transparent pixels that touch a painted one (4-neighbourhood)."""
    solid = rgba[..., 3] > 0
    near = np.zeros_like(solid)
    near[1:] |= solid[:-1]
    near[:-1] |= solid[1:]
    near[:, 1:] |= solid[:, :-1]
    near[:, :-1] |= solid[:, 1:]
    edge = near & ~solid
    out = rgba.copy()
    out[edge, :3] = _INK
    out[edge, 3] = 255
    return out


@lru_cache(maxsize=1)
def base_sprites() -> dict[str, np.ndarray]:
    """Authored pictures at 16 px: ``tiles (T, 16, 16, 3)``, ``items (I+1, 16, 16, 4)`` and
    ``actors (R+1, 5, 16, 16, 4)`` by role id and facing (index 0 = none, transparent)."""
    tiles = np.stack([_rgba("tiles", t.name, t.colour)[..., :3] for t in CATALOG.tiles])
    items = np.zeros((CATALOG.num_items + 1, BASE, BASE, 4), np.uint8)
    for item in CATALOG.items:
        items[item.id] = _outlined(_rgba("items", item.name, item.colour))
    actors = np.zeros((CATALOG.num_roles + 1, 5, BASE, BASE, 4), np.uint8)
    for role in CATALOG.roles:
        picture = _outlined(_rgba("roles", role.name, role.colour))
        for facing, turns in _TURNS.items():
            actors[role.id, facing] = np.rot90(picture, turns)
        actors[role.id, 0] = picture
    return {"tiles": tiles, "items": items, "actors": actors}


def resample(images: np.ndarray, size: int) -> np.ndarray:
    """``(..., s, s, C)`` pictures at ``size`` px: nearest pixels when enlarging (crisp pixel
    art), the area average when shrinking (so thin lines fade instead of vanishing).

    With an alpha channel (C = 4), colour is averaged over painted pixels only and a pixel is
    painted when at least half its area was.
    """
    src = images.shape[-2]
    if size >= src:
        pick = (np.arange(size) * src) // size
        return images[..., pick, :, :][..., pick, :]
    edges = np.arange(size + 1) * src / size
    lo, hi = edges[:-1, None], edges[1:, None]
    px = np.arange(src)[None, :]
    weight = np.clip(np.minimum(hi, px + 1) - np.maximum(lo, px), 0, None) / (src / size)  # (size, src)
    data = images.astype(np.float64)
    if images.shape[-1] == 4:
        alpha = data[..., 3:] / 255
        rgb = np.einsum("ij,...jkc,lk->...ilc", weight, data[..., :3] * alpha, weight)
        cover = np.einsum("ij,...jkc,lk->...ilc", weight, alpha, weight)
        colour = rgb / np.maximum(cover, 1e-9)
        out = np.concatenate([colour, np.where(cover >= 0.5, 255.0, 0.0)], axis=-1)
    else:
        out = np.einsum("ij,...jkc,lk->...ilc", weight, data, weight)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
