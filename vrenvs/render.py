"""Frames as a function of state: ``(B, H*ts, W*ts, 3)`` uint8, by atlas lookup, numpy only.

Each tile, item and role has a small sprite drawn in code; a frame is the tile sprites
indexed by tile id, with item and actor sprites laid over through their masks. This is the
minimal renderer: flat tiles, a diamond per item, a disc per actor with a notch for facing.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.state import TaskConfig, WorldState

__all__ = ["atlas", "frames"]


def _grid(ts: int) -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(ts) + 0.5) / ts - 0.5
    return np.meshgrid(c, c, indexing="ij")


@lru_cache(maxsize=8)
def atlas(ts: int) -> dict[str, np.ndarray]:
    """Sprites for tile size ``ts``: tile RGB, item RGB+mask, role RGB+mask, facing notches."""
    y, x = _grid(ts)
    tiles = (
        np.array([t.colour for t in CATALOG.tiles], np.uint8)[:, None, None, :].repeat(ts, 1).repeat(ts, 2)
    )
    edge = (np.abs(y) > 0.44) | (np.abs(x) > 0.44)
    door = np.array([t.door is not None for t in CATALOG.tiles])
    tiles = tiles.copy()
    tiles[:, edge] = (tiles[:, edge] * 0.8).astype(np.uint8)
    tiles[door] = np.where((np.abs(x) < 0.08)[None, ..., None], tiles[door] // 2, tiles[door])
    item_mask = (np.abs(y) + np.abs(x)) < 0.3
    items = np.array([(0, 0, 0)] + [i.colour for i in CATALOG.items], np.uint8)
    role_mask = (y**2 + x**2) < 0.38**2
    roles = np.array([(0, 0, 0)] + [r.colour for r in CATALOG.roles], np.uint8)
    notch = np.stack(
        [np.zeros_like(role_mask)]
        + [((y * dy + x * dx) > 0.22) & role_mask for dy, dx in ((-1, 0), (0, 1), (1, 0), (0, -1))]
    )
    return {
        "tiles": tiles,
        "items": items,
        "item_mask": item_mask,
        "roles": roles,
        "role_mask": role_mask,
        "notch": notch,
    }


def frames(state: WorldState, config: TaskConfig, tile_size: int = 16) -> np.ndarray:
    """RGB frames of every world, ``(B, H*ts, W*ts, 3)`` uint8 (fresh array)."""
    a = atlas(tile_size)
    m, n = config.margin, config.size
    tiles = state.tiles[:, m : m + n, m : m + n]
    items = state.items[:, m : m + n, m : m + n]
    occupant = state.occupant[:, m : m + n, m : m + n].astype(np.int64)
    img = a["tiles"][tiles]  # (B, H, W, ts, ts, 3)
    has_item = (items > 0)[..., None, None] & a["item_mask"]
    img = np.where(has_item[..., None], a["items"][items][..., None, None, :], img)
    role_of = np.concatenate([[0], config.role_ids()])
    roles = role_of[occupant]
    facing_grid = np.zeros_like(occupant)
    b_idx, slot = np.nonzero(state.active)
    pos = state.pos[b_idx, slot] - m
    facing_grid[b_idx, pos[:, 0], pos[:, 1]] = state.facing[b_idx, slot]
    body = (roles > 0)[..., None, None] & a["role_mask"]
    img = np.where(body[..., None], a["roles"][roles][..., None, None, :], img)
    notch = a["notch"][facing_grid] & body
    img = np.where(notch[..., None], (img // 3).astype(np.uint8), img)
    b, h, w, ts, _, _ = img.shape
    return np.ascontiguousarray(img.transpose(0, 1, 3, 2, 4, 5).reshape(b, h * ts, w * ts, 3))
