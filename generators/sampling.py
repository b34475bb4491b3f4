"""From latents to glyph grids: seeded decoding and repair.

All randomness is in the latent, a pure function of an integer seed
(:func:`generators.models.latents`); decoding the logits is deterministic:

- ``argmax``: every cell takes its most likely code.
- ``expected``, ``winners``, ``doors``: the layout is the per-cell argmax over the tile
  codes, then groups of rare codes are placed by *count*, in this order: doorways (closed
  and open doors), the user, the assistant, requestable items, keys, NPCs. A group gets
  as many cells as the model's count for it, clamped to what the rules demand (exactly one
  user and one assistant, at least one requestable item), at the free cells where the
  group's best logit most exceeds the best logit outside it, each taking the group's most
  likely code there. The count is the expected one (probability summed over the cells,
  rounded) for ``expected``; the number of cells the group wins in the plain argmax for
  ``winners``; expected for doorways and winners for the rest for ``doors``.
- ``paired``: ``expected``, then every locked door whose colour has no key in the grid
  gets one: the key of that colour goes to the walkable cell (a tile, no item or actor)
  where the model's logit for it is highest. The corpus holds a key exactly when it holds
  a lock; a model that places locks and keys independently (they are far apart on the map)
  draws keyless locks, which no rule can open.
- ``walled``: ``paired``, with the doorways (closed and open doors) placed only at cells that
  have wall on both sides along one axis of the layout. Every door of the corpus stands
  between walls; a model's doorway mass spills onto the floor beside the wall, where the
  count decoding would otherwise put the door (a door in open floor, and the room behind
  the wall still shut).

Why: a rare code whose probability a model spreads over several cells (a doorway somewhere
in a wall, an apple somewhere in a room) loses every cell to the argmax, so a blurry model
(a VAE sampled from its prior) decodes to sealed rooms and empty scenes. ``expected`` suits
a calibrated model; ``winners`` a confident one whose softmax is not a calibrated
distribution (the GAN: it only differs from the argmax where a count breaks the rules);
``doors`` sits between (the VAE-GAN). ``train --decoding auto`` picks one at every
evaluation, on evaluation seeds; the checkpoint config stores the decoding.

Raw playability is measured on decoded grids, before repair; the report also gives the
plain-argmax figure.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch

from generators.models import DECODINGS, SceneModel, latents
from vrenvs.core.catalog import CATALOG
from vrenvs.core.repair import repair_batch

__all__ = [
    "CHUNK",
    "DECODINGS",
    "between_walls",
    "decode_codes",
    "decode_logits",
    "repair_codes",
    "sample_codes",
]

CHUNK = 64
"""Latents the first generators decode at once: 64 16x16 maps keep the decoder's activations
in the CPU caches (a bank of 1024 GAN scenes incl. repair, 2 threads: ~4,300 scenes/s,
against ~3,800 with 256 at once); a map's logits do not depend on its batch, so the scenes
are the same."""

# per colour: the locked door's glyph code and its key's (the pairs of ``paired``)
_PAIRS = tuple(
    (CATALOG.tile_code(t.name), CATALOG.item_code(i.name))
    for t in CATALOG.tiles
    if CATALOG.LOCK_COLOUR[t.id] >= 0
    for i in CATALOG.items
    if CATALOG.KEY_COLOUR[i.id] == CATALOG.LOCK_COLOUR[t.id]
)
_WALKABLE_CODE = torch.tensor(
    [
        bool(CATALOG.CODE_TILE[c] >= 0 and CATALOG.WALKABLE[CATALOG.CODE_TILE[c]])
        for c in range(len(CATALOG.glyphs))
    ]
)


def _codes(names: list[str], kind: str) -> torch.Tensor:
    code = {"item": CATALOG.item_code, "role": CATALOG.role_code, "tile": CATALOG.tile_code}[kind]
    return torch.tensor([code(n) for n in names])


# The vocabulary split into the layout (tiles) and groups placed by count, in this order:
# (codes, least, most) per group. Doors are counted too: like spawns, a doorway is a rare
# code whose probability a blurry model spreads over several cells of a wall.
_GROUPS = (
    (_codes(["door", "door_open"], "tile"), 0, None),
    (_codes(["user"], "role"), 1, 1),
    (_codes(["assistant"], "role"), 1, 1),
    (_codes([i.name for i in CATALOG.items if i.requestable], "item"), 1, None),
    (_codes([i.name for i in CATALOG.items if not i.requestable], "item"), 0, None),
    (_codes([r.name for r in CATALOG.roles if r.npc], "role"), 0, None),
)
_TILES = torch.tensor(
    [t.id for t in CATALOG.tiles if not any(t.id in codes.tolist() for codes, *_ in _GROUPS)]
)
# The channels reordered part by part (layout tiles, then each group), so each part's best
# logit is a max over a contiguous slice of one gathered copy instead of one copy per part.
_PARTS = (_TILES, *(codes for codes, *_ in _GROUPS))
_ORDER = torch.cat(_PARTS)
_BOUNDS = [0, *torch.tensor([len(p) for p in _PARTS]).cumsum(0).tolist()]


def decode_logits(logits: torch.Tensor, decoding: str = "expected") -> torch.Tensor:
    """Logits ``(B, C, H, W)`` -> codes ``(B, H, W)`` (see the module docstring)."""
    if decoding == "argmax":
        return logits.argmax(dim=1)
    if decoding not in DECODINGS:
        raise ValueError(f"unknown decoding {decoding!r}; choose from {DECODINGS}")
    b, _, h, w = logits.shape
    flat = logits.flatten(2)  # (B, C, HW)
    ordered = flat.index_select(1, _ORDER)  # (B, C, HW) part by part
    best, pick = zip(*(ordered[:, lo:hi].max(dim=1) for lo, hi in itertools.pairwise(_BOUNDS)))
    part_best = torch.stack(best, dim=1)  # (B, 1 + groups, HW): best logit of each part
    out = _TILES[pick[0]]  # (B, HW) the layout: argmax over the tiles in no group
    free = torch.ones(b, h * w, dtype=torch.bool)
    expected = decoding in ("expected", "paired", "walled")
    between = between_walls(out.view(b, h, w)).view(b, h * w) if decoding == "walled" else None
    lse = torch.logsumexp(flat, dim=1) if expected or decoding == "doors" else None  # (B, HW)
    for g, (codes, least, most) in enumerate(_GROUPS, start=1):
        others = part_best.index_fill(1, torch.tensor([g]), -torch.inf).max(dim=1).values
        margin = part_best[:, g] - others  # (B, HW) > 0 where the group wins the argmax
        if expected or (decoding == "doors" and g == 1):
            assert lse is not None
            part = ordered[:, _BOUNDS[g] : _BOUNDS[g + 1]]
            count = (part - lse[:, None]).exp().sum(dim=(1, 2)).round()  # (B,)
        else:
            count = (margin > 0).sum(dim=1).to(flat.dtype)
        count = count.clamp(min=least, max=most).long()
        k = int(count.max())
        if k == 0:
            continue
        allowed = free & between if between is not None and g == 1 else free  # doorways: walled
        top = margin.masked_fill(~allowed, -torch.inf).topk(k, dim=1)  # (B, k)
        take = (torch.arange(k) < count[:, None]) & (top.values > -torch.inf)
        rows = torch.arange(b)[:, None].expand(-1, k)[take]
        cols = top.indices[take]
        out[rows, cols] = codes[pick[g][rows, cols]]
        free[rows, cols] = False
    if decoding in ("paired", "walled"):
        _pair_keys(out, flat)
    return out.view(b, h, w)


def between_walls(layout: torch.Tensor) -> torch.Tensor:
    """``(B, H, W)`` bool: cells of glyph grids ``layout`` with wall on both sides along one axis
    (where the corpus puts its doors)."""
    wall = torch.nn.functional.pad(layout == CATALOG.WALL, (1, 1, 1, 1))
    return (wall[:, :-2, 1:-1] & wall[:, 2:, 1:-1]) | (wall[:, 1:-1, :-2] & wall[:, 1:-1, 2:])


def _pair_keys(out: torch.Tensor, flat: torch.Tensor) -> None:
    """``paired``: codes ``(B, HW)`` in place; each lock colour without its key in a grid gets
    the key at the walkable cell of highest key logit (``flat``: logits ``(B, C, HW)``)."""
    for lock, key in _PAIRS:
        need = (out == lock).any(dim=1) & ~(out == key).any(dim=1)
        if not bool(need.any()):
            continue
        rows = need.nonzero()[:, 0]
        score = flat[rows, key].masked_fill(~_WALKABLE_CODE[out[rows]], -torch.inf)
        best = score.max(dim=1)
        found = best.values > -torch.inf
        out[rows[found], best.indices[found]] = key


def decode_codes(model: SceneModel, z: torch.Tensor, decoding: str | None = None) -> np.ndarray:
    """Latents ``(N, Z)`` -> glyph codes ``(N, 16, 16)`` uint8, decoded as the model's
    config says unless ``decoding`` is given."""
    decoding = decoding or model.config.decoding
    out = []
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(z), CHUNK):
            logits = model.decode(z[start : start + CHUNK])  # (B, C, 16, 16)
            out.append(decode_logits(logits, decoding).to(torch.uint8).numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 16, 16), np.uint8)


def sample_codes(model: SceneModel, seeds: Sequence[int], decoding: str | None = None) -> np.ndarray:
    """Raw (unrepaired) grids for latent seeds: ``(N, 16, 16)`` uint8."""
    z = model.from_noise(latents(seeds, model.latent_dim, model.config.latent_scale))
    return decode_codes(model, z, decoding)


def repair_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(repaired, edits, raw_solvable)`` for grids ``(N, H, W)``. A grid that was not
    solvable always needs at least one edit, so ``edits == 0`` is raw solvability."""
    fixed, edits = repair_batch(codes)
    return fixed, edits, edits == 0
