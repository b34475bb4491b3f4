"""Frames as a function of state: ``(B, H*ts, W*ts, 3)`` uint8, by atlas lookup, numpy only.

A frame is built for the whole batch at once:

1. the ground: one gather of tile-sprite pixel rows, laid out so the result *is* the frame
   (no transpose copy);
2. the few cells holding something (an item, an actor, a path marker) are composed from
   item, actor (role x facing), carried-item and mode-badge sprites and written back; a
   composed cell is cached under a code of what it shows, so most frames only look it up;
3. the outer wall rows carry text: the request (or the task's goal) on top, a caption (the
   scene identity) and the step counter at the bottom, in a numpy bitmap font.

Sprites come from :mod:`vrenvs.render.atlas`. This module never imports pygame: the window in
:mod:`vrenvs.render.viewer` only shows these frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.language import VOCABULARY
from vrenvs.core.state import TaskConfig, WorldState
from vrenvs.core.tasks import objective
from vrenvs.render import font as bitmap
from vrenvs.render.atlas import BADGES, DIM, INK, PANEL, Atlas, atlas, cell_code

__all__ = ["BADGES", "DIM", "INK", "PANEL", "Atlas", "atlas", "frames", "mosaic", "write_row"]

_SMALL = 8
"""Batches up to this size reuse cached ground and request images (memory stays small)."""


def _compose(
    img: np.ndarray,
    state: WorldState,
    config: TaskConfig,
    a: Atlas,
    marks: np.ndarray | None,
    focus: int | None,
) -> None:
    """Draw items, actors and markers into ``img`` (B, H, ts, W, ts*3), only where present.

    Each busy cell gets a code of everything it shows (see :class:`vrenvs.atlas.CellCache`),
    found through flat indices into the padded grids (the margin holds nothing), so no grid
    is sliced or copied.
    """
    busy = state.occupant | state.items
    if marks is not None:
        busy = busy | marks
    flat = np.flatnonzero(busy)
    if not len(flat):
        return
    side = state.tiles.shape[-1]
    b, rest = np.divmod(flat, side * side)
    y, x = np.divmod(rest, side)
    occupant = state.occupant.reshape(-1)[flat].astype(np.intp)
    code = _actor_codes(state, config)[b, occupant] + cell_code(
        tile=state.tiles.reshape(-1)[flat], item=state.items.reshape(-1)[flat]
    )
    if marks is not None:
        code += cell_code(mark=marks.reshape(-1)[flat])
    if focus is not None:
        code += cell_code(focus=occupant == focus + 1)
    m = config.margin
    img[b, y - m, :, x - m] = a.cells.lookup(code)


def _actor_codes(state: WorldState, config: TaskConfig) -> np.ndarray:
    """``(B, N + 1)`` code part of each actor slot (column 0: no actor) by occupant value."""
    role = _ROLE_OF[config.roles][1:]
    actor = cell_code(role=role, facing=state.facing, carry=state.carry, mode=state.mode)
    return np.concatenate([np.zeros((state.batch, 1), np.int64), actor], axis=1)


class _RoleIds(dict):
    """``roles tuple -> (N+1,)`` role ids with 0 first (occupant value -> role id)."""

    def __missing__(self, roles: tuple[str, ...]) -> np.ndarray:
        ids = np.concatenate([[0], [CATALOG.role_id(r) for r in roles]]).astype(np.intp)
        self[roles] = ids
        return ids


_ROLE_OF = _RoleIds()


@lru_cache(maxsize=1)
def _words() -> tuple[np.ndarray, np.ndarray]:
    """Characters ``(V, longest)`` and lengths ``(V,)`` of every vocabulary word."""
    words = ["", *VOCABULARY[1:]]
    longest = max(len(w) for w in words)
    chars = bitmap.encode(words, longest)
    return chars, np.array([len(w) for w in words], np.intp)


def _sentences(tokens: np.ndarray, columns: int) -> np.ndarray:
    """``(B, L)`` token ids -> ``(B, columns)`` codes of "Word word word." for every world."""
    chars, lengths = _words()
    lens = lengths[tokens]  # (B, L)
    advance = lens + (lens > 0)
    start = np.cumsum(advance, axis=1) - advance
    offset = np.arange(chars.shape[1])
    pos = start[..., None] + offset  # (B, L, longest)
    keep = (offset < lens[..., None]) & (pos < columns)
    rows = np.broadcast_to(np.arange(len(tokens))[:, None, None], pos.shape)
    out = np.full((len(tokens), columns), ord(" "), np.uint8)
    out[rows[keep], pos[keep]] = chars[tokens][keep]
    first = out[:, 0]
    out[:, 0] = np.where((first >= ord("a")) & (first <= ord("z")), first - 32, first)
    end = advance.sum(axis=1) - 1
    said = (end > 0) & (end < columns)
    out[np.flatnonzero(said), end[said]] = ord(".")
    return out


@lru_cache(maxsize=32)
def _said(key: bytes, batch: int, columns: int, goal: str) -> np.ndarray:
    """Top-row codes for a batch, cached on its request tokens (requests change rarely);
    the task's phrase when its learner reads one instead of the user's requests."""
    text = objective(goal).phrase
    if text is not None:
        return bitmap.encode([text[:1].upper() + text[1:] + "."], columns).repeat(batch, axis=0)
    tokens = np.frombuffer(key, np.int16).reshape(batch, -1).astype(np.intp)
    out = _sentences(tokens, columns)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=32)
def _caption_codes(captions: tuple[str, ...], columns: int) -> np.ndarray:
    out = bitmap.encode(list(captions), columns) | 128
    out.setflags(write=False)
    return out


def _write(band: np.ndarray, codes: np.ndarray, a: Atlas) -> None:
    """Text ``codes`` (B, C) as the whole ``band`` (B, ts, width, 3), by one gather of glyph rows."""
    ts, w = a.size, a.glyph_rows.shape[1] // 3
    used = 1 + codes.shape[1] * w
    rows = codes[:, None, :].astype(np.intp) * ts + a.row_offsets[0]  # (B, ts, C)
    band[:, :, 1:used] = np.take(a.glyph_rows, rows, axis=0).reshape(len(codes), ts, used - 1, 3)
    band[:, :, :1] = PANEL
    band[:, :, used:] = PANEL


@lru_cache(maxsize=16)
def _cached_top(key: bytes, batch: int, columns: int, goal: str, width: int, ts: int) -> np.ndarray:
    """The top row of small batches, drawn once per request."""
    band = np.empty((batch, ts, width, 3), np.uint8)
    _write(band, _said(key, batch, columns, goal), atlas(ts))
    band.setflags(write=False)
    return band


def _banners(img: np.ndarray, state: WorldState, config: TaskConfig, captions: Sequence[str] | None) -> None:
    """Request on the top wall row; caption and step on the bottom one. ``img`` (B, Hpx, Wpx, 3)."""
    a = atlas(img.shape[1] // config.size)
    if a.font is None:
        return
    ts, columns = a.size, (img.shape[2] - 2) // (a.glyph_rows.shape[1] // 3)
    key = np.ascontiguousarray(state.req_tokens, np.int16).tobytes()
    if state.batch <= _SMALL:
        img[:, :ts] = _cached_top(key, state.batch, columns, config.goal, img.shape[2], ts)
    else:
        _write(img[:, :ts], _said(key, state.batch, columns, config.goal), a)
    bottom = np.full((state.batch, columns), ord(" "), np.uint8)
    if captions is not None and columns > 7:
        bottom[:, : columns - 7] = _caption_codes(tuple(captions), columns - 7)
    if columns >= 6:
        bottom[:, -6:] = a.counter[np.minimum(state.t, 9999)]
    _write(img[:, -ts:], bottom, a)


def _ground(tiles: np.ndarray, m: int, n: int, a: Atlas) -> np.ndarray:
    """Tile sprites of the unpadded map, ``(B, H, ts, W, ts*3)``: one gather of pixel rows
    whose result is already laid out as the frames (no transpose copy)."""
    inner = tiles[:, m : m + n, m : m + n]
    rows = inner[:, :, None, :] * np.intp(a.size) + a.row_offsets  # (B, H, ts, W)
    return np.take(a.tile_rows, rows, axis=0)


@lru_cache(maxsize=8)
def _cached_ground(key: bytes, shape: tuple[int, ...], m: int, n: int, ts: int) -> np.ndarray:
    ground = _ground(np.frombuffer(key, np.uint8).reshape(shape), m, n, atlas(ts))
    ground.setflags(write=False)
    return ground


def frames(
    state: WorldState,
    config: TaskConfig,
    tile_size: int = 16,
    *,
    captions: Sequence[str] | None = None,
    paths: np.ndarray | None = None,
    focus: int | None = None,
    text: bool = True,
) -> np.ndarray:
    """RGB frames of every world, ``(B, H*ts, W*ts, 3)`` uint8 (a fresh array each call).

    ``captions``: one line per world for the bottom row (e.g. the scene identity).
    ``paths``: ``(B, Hp, Wp)`` bool cells to mark (a planned path), padded like the state.
    ``focus``: actor slot to frame with corner brackets (the one a person plays).
    ``text``: draw the request and caption rows (needs ``tile_size >= 7``).
    """
    a = atlas(tile_size)
    m, n, ts = config.margin, config.size, tile_size
    if state.batch <= _SMALL:  # tiles change rarely (doors): reuse the drawn ground
        img = _cached_ground(state.tiles.tobytes(), state.tiles.shape, m, n, ts).copy()
    else:
        img = _ground(state.tiles, m, n, a)
    _compose(img, state, config, a, paths, focus)
    out = img.reshape(state.batch, n * ts, n * ts, 3)
    if text:
        _banners(out, state, config, captions)
    return out


def write_row(images: np.ndarray, lines: Sequence[str], tile_size: int, bottom: bool = False) -> None:
    """Write ``lines`` (one per image) over the top (or bottom) row of cells of ``images``
    ``(B, H, W, 3)``, in place; nothing when tiles are too small for the font."""
    a = atlas(tile_size)
    if a.font is None:
        return
    columns = (images.shape[2] - 2) // (a.glyph_rows.shape[1] // 3)
    band = images[:, -tile_size:] if bottom else images[:, :tile_size]
    _write(band, bitmap.encode(list(lines), columns), a)


def mosaic(images: Sequence[np.ndarray] | np.ndarray, columns: int | None = None, gap: int = 4) -> np.ndarray:
    """Frames of equal shape in a grid on a dark background (galleries, vector-env windows)."""
    count = len(images)
    if count == 0:
        raise ValueError("mosaic needs at least one frame")
    cols = columns or int(np.ceil(np.sqrt(count)))
    rows = -(-count // cols)
    h, w, _ = images[0].shape
    sheet = np.empty((rows * (h + gap) + gap, cols * (w + gap) + gap, 3), np.uint8)
    sheet[:] = PANEL
    for i, frame in enumerate(images):
        y, x = gap + (i // cols) * (h + gap), gap + (i % cols) * (w + gap)
        sheet[y : y + h, x : x + w] = frame
    return sheet
