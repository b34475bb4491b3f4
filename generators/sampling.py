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
- ``spaced``: ``walled``, with each group's cells placed apart: one at a time by the same
  score, each ruling out its eight neighbours for the rest of its group. A model's mass for
  a rare code spreads over a few neighbouring cells; the count then lands on neighbours (two
  doors side by side in one wall, two apples touching) where the corpus has one, and the
  count meant for a second doorway or item elsewhere is spent.
- ``tidy``: ``spaced``, then one sweep of local search over the layout toward the 2x2
  patterns of the model's training corpus (stored with a v2 checkpoint; the overlapping
  model of WaveFunctionCollapse keeps to a sample's patterns in the same way). Each layout
  cell (a tile other than a locked door) in a window the corpus never shows may take one of
  its few most likely tiles if that leaves fewer such windows around it. It mends the seams
  where neighbouring codes disagree (grass against floor inside a wall, a stray wall cell);
  doors, items, actors and locked doors stay where the counts put them.

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

from generators.models import DECODINGS, PLAIN_DECODINGS, SceneModel, latents
from vrenvs.core.catalog import CATALOG
from vrenvs.core.repair import repair_batch

__all__ = [
    "CHUNK",
    "DECODINGS",
    "PLAIN_DECODINGS",
    "WINDOW_BASE",
    "base_decoding",
    "between_walls",
    "decode_codes",
    "decode_logits",
    "pattern_keys",
    "pattern_table",
    "repair_codes",
    "sample_codes",
    "window_keys",
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


def decode_logits(
    logits: torch.Tensor, decoding: str = "expected", patterns: torch.Tensor | None = None
) -> torch.Tensor:
    """Logits ``(B, C, H, W)`` -> codes ``(B, H, W)`` (see the module docstring); ``tidy``
    needs ``patterns``, a :func:`pattern_table`."""
    if decoding == "argmax":
        return logits.argmax(dim=1)
    if decoding not in DECODINGS:
        raise ValueError(f"unknown decoding {decoding!r}; choose from {DECODINGS}")
    if decoding == "tidy":
        if patterns is None:
            raise ValueError("decoding 'tidy' needs a pattern table (a model trained with one)")
        table = _checked_table(patterns)
        return _tidy(decode_logits(logits, "spaced"), logits, table)
    b, _, h, w = logits.shape
    flat = logits.flatten(2)  # (B, C, HW)
    ordered = flat.index_select(1, _ORDER)  # (B, C, HW) part by part
    best, pick = zip(*(ordered[:, lo:hi].max(dim=1) for lo, hi in itertools.pairwise(_BOUNDS)))
    part_best = torch.stack(best, dim=1)  # (B, 1 + groups, HW): best logit of each part
    out = _TILES[pick[0]]  # (B, HW) the layout: argmax over the tiles in no group
    free = torch.ones(b, h * w, dtype=torch.bool)
    expected = decoding in ("expected", "paired", "walled", "spaced")
    walled = decoding in ("walled", "spaced")
    apart = decoding == "spaced"
    between = between_walls(out.view(b, h, w)).view(b, h * w) if walled else None
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
        score = margin.masked_fill(~allowed, -torch.inf)
        if apart:
            rows, cols = _apart(score, count, k, h, w)
        else:
            top = score.topk(k, dim=1)  # (B, k)
            take = (torch.arange(k) < count[:, None]) & (top.values > -torch.inf)
            rows = torch.arange(b)[:, None].expand(-1, k)[take]
            cols = top.indices[take]
        out[rows, cols] = codes[pick[g][rows, cols]]
        free[rows, cols] = False
    if decoding in ("paired", "walled", "spaced"):
        _pair_keys(out, flat)
    return out.view(b, h, w)


def _apart(
    score: torch.Tensor, count: torch.Tensor, k: int, h: int, w: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``spaced``: the cells ``(rows, cols)`` a group takes, picked one at a time per grid by
    best ``score`` ``(B, H*W)`` (-inf: not allowed), ``count[b]`` of them, each pick ruling
    out its 3x3 neighbourhood for the next ones (fewer where no allowed cell is left)."""
    padded = torch.nn.functional.pad(score.view(-1, h, w), (1, 1, 1, 1), value=-torch.inf)
    rows_out, cols_out = [], []
    for j in range(k):
        best = padded.flatten(1).max(dim=1)
        rows = ((count > j) & (best.values > -torch.inf)).nonzero()[:, 0]
        if not len(rows):
            break
        at = best.indices[rows]
        y, x = at // (w + 2), at % (w + 2)  # padded coordinates: the cell is (y - 1, x - 1)
        rows_out.append(rows)
        cols_out.append((y - 1) * w + (x - 1))
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                padded[rows, y + dy, x + dx] = -torch.inf
    if not rows_out:
        empty = torch.zeros(0, dtype=torch.long)
        return empty, empty
    return torch.cat(rows_out), torch.cat(cols_out)


WINDOW_BASE = len(CATALOG.glyphs) + 1
"""Codes plus one for the edge: a 2x2 window's key is its four codes (row by row) in this base,
the edge outside a grid being the last code."""
TIDY_CANDIDATES = 3
"""Tiles ``tidy`` tries at a cell: the layout's best by logit."""
_EDGE = len(CATALOG.glyphs)
_LOCKS = {t.id for t in CATALOG.tiles if CATALOG.LOCK_COLOUR[t.id] >= 0}
_SEARCH_TILES = torch.tensor([t for t in _TILES.tolist() if t not in _LOCKS])
_SEARCHABLE = torch.zeros(WINDOW_BASE, dtype=torch.bool)
_SEARCHABLE[_SEARCH_TILES] = True


def base_decoding(decoding: str) -> str:
    """The decoding a ``tidy`` search starts from (``spaced``); any other decoding itself.
    A reach refiner senses its inputs decoded so (the search only tidies the layout)."""
    return "spaced" if decoding == "tidy" else decoding


def window_keys(grids: torch.Tensor) -> torch.Tensor:
    """Codes ``(B, H, W)`` (values < :data:`WINDOW_BASE`) -> keys ``(B, H - 1, W - 1)`` of
    their 2x2 windows."""
    g = grids.long()
    return ((g[:, :-1, :-1] * WINDOW_BASE + g[:, :-1, 1:]) * WINDOW_BASE + g[:, 1:, :-1]) * WINDOW_BASE + g[
        :, 1:, 1:
    ]


def pattern_keys(grids: np.ndarray) -> np.ndarray:
    """The distinct 2x2 patterns of glyph grids ``(N, H, W)`` as sorted int64 keys (see
    :data:`WINDOW_BASE`): what a ``tidy`` model stores."""
    if not isinstance(grids, np.ndarray) or grids.ndim != 3 or min(grids.shape[1:], default=0) < 2:
        shape = getattr(grids, "shape", type(grids).__name__)
        raise ValueError(f"grids of shape {shape} are not allowed; allowed: (N, H, W) with H, W >= 2")
    if grids.size and (int(grids.min()) < 0 or int(grids.max()) >= _EDGE):
        raise ValueError(f"grids hold codes outside [0, {_EDGE - 1}]")
    return np.unique(window_keys(torch.from_numpy(grids.astype(np.int64))).numpy())


def pattern_table(keys: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Sorted pattern keys (:func:`pattern_keys`) -> the bool table ``tidy`` looks windows up
    in: every listed pattern and every window over the edge allowed."""
    keys = torch.as_tensor(np.asarray(keys), dtype=torch.long)
    if keys.dim() != 1 or (len(keys) and (int(keys.min()) < 0 or int(keys.max()) >= WINDOW_BASE**4)):
        raise ValueError(f"pattern keys must be a flat array of keys in [0, {WINDOW_BASE**4 - 1}]")
    table = torch.zeros((WINDOW_BASE,) * 4, dtype=torch.bool)
    table[_EDGE] = True
    table[:, _EDGE] = True
    table[:, :, _EDGE] = True
    table[:, :, :, _EDGE] = True
    table = table.flatten()
    table[keys] = True
    return table


def _checked_table(table: torch.Tensor) -> torch.Tensor:
    if not isinstance(table, torch.Tensor) or table.dtype != torch.bool or table.shape != (WINDOW_BASE**4,):
        raise ValueError(f"patterns must be a pattern_table: bool of shape ({WINDOW_BASE**4},)")
    return table


def _tidy(out: torch.Tensor, logits: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """``tidy``: one sweep of local search over decoded grids ``out`` ``(B, H, W)``. The cells
    are visited in four interleaved lattices (cells of one lattice share no 2x2 window); a
    layout cell (a tile other than a locked door) in a window whose pattern ``table`` does
    not allow takes, of its :data:`TIDY_CANDIDATES` most likely layout tiles, the first that
    leaves fewer such windows around it, and keeps its tile when none does."""
    out = out.clone()
    padded = torch.nn.functional.pad(out, (1, 1, 1, 1), value=_EDGE)  # (B, H + 2, W + 2)
    k = min(TIDY_CANDIDATES, len(_SEARCH_TILES))
    offsets = torch.arange(3)
    for py, px in ((0, 0), (0, 1), (1, 0), (1, 1)):
        bad = ~table[window_keys(padded)]  # (B, H + 1, W + 1): window (i, j) has cells (i-1..i, j-1..j)
        count = (bad[:, :-1, :-1].int() + bad[:, :-1, 1:] + bad[:, 1:, :-1] + bad[:, 1:, 1:])[:, py::2, px::2]
        grid = out[:, py::2, px::2]
        at = ((count > 0) & _SEARCHABLE[grid]).nonzero()  # (M, 3): grid, row, column in the lattice
        if not len(at):
            continue
        n, y, x = at[:, 0], at[:, 1] * 2 + py, at[:, 2] * 2 + px
        # the 3x3 neighbourhoods in padded coordinates (the cell is at [1, 1])
        hood = padded[n[:, None, None], y[:, None, None] + offsets[:, None], x[:, None, None] + offsets]
        best, least = out[n, y, x], count[at[:, 0], at[:, 1], at[:, 2]]
        # the candidates of the searched cells only (~2% of the cells), best first
        candidates = _SEARCH_TILES[
            logits[n[:, None], _SEARCH_TILES, y[:, None], x[:, None]].topk(k, dim=1).indices
        ]
        for j in range(k):
            tried = hood.clone()
            tried[:, 1, 1] = candidates[:, j]
            now = (~table[window_keys(tried)]).flatten(1).sum(dim=1)
            better = now < least
            best = torch.where(better, tried[:, 1, 1], best)
            least = torch.where(better, now, least)
        out[n, y, x] = best
        padded[n, y + 1, x + 1] = best
    return out


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
