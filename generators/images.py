"""Scene pictures for training logs, galleries and search results: numpy and zlib only.

A cell is filled with its tile colour from the catalog; an item or actor cell shows its
ground tile with a square of the item / role colour in the middle. PNGs are written by a
tiny encoder here so that neither pygame nor an imaging library is needed.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.scene import split_layers

__all__ = ["grid_image", "scene_images", "write_png"]

_TILE_RGB = np.array([t.colour for t in CATALOG.tiles], dtype=np.uint8)
_SPAWN_RGB = np.zeros((CATALOG.num_codes, 3), dtype=np.uint8)
for _item in CATALOG.items:
    _SPAWN_RGB[CATALOG.item_code(_item.name)] = _item.colour
for _role in CATALOG.roles:
    _SPAWN_RGB[CATALOG.role_code(_role.name)] = _role.colour


def scene_images(codes: np.ndarray, cell: int = 6) -> np.ndarray:
    """``(N, H, W)`` glyph codes -> ``(N, H*cell, W*cell, 3)`` uint8 pictures."""
    codes = np.asarray(codes)
    tiles, _, _ = split_layers(codes)
    img = _TILE_RGB[tiles]  # (N, H, W, 3)
    spawn = CATALOG.CODE_TILE[codes] < 0  # (N, H, W)
    img = np.repeat(np.repeat(img, cell, axis=1), cell, axis=2)
    mark = np.zeros((cell, cell), dtype=bool)
    lo, hi = cell // 4, cell - cell // 4
    mark[lo:hi, lo:hi] = True
    centre = np.kron(spawn, mark).astype(bool)  # (N, H*cell, W*cell)
    colour = np.repeat(np.repeat(_SPAWN_RGB[codes], cell, axis=1), cell, axis=2)
    return np.where(centre[..., None], colour, img)


def grid_image(codes: np.ndarray, cols: int = 8, cell: int = 6, pad: int = 2) -> np.ndarray:
    """Scenes ``(N, H, W)`` tiled in rows of ``cols`` with a dark gutter, as one RGB image."""
    pics = scene_images(codes, cell)
    n, h, w, _ = pics.shape
    rows = max(1, -(-n // cols))
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 24, dtype=np.uint8)
    for k in range(n):
        r, c = divmod(k, cols)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = (
            pics[k]
        )
    return out


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an ``(H, W, 3)`` uint8 image as an 8-bit RGB PNG."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )
    return path
