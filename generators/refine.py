"""A learned tile-level refiner for the v2 scene models: decoder logits -> better logits.

The VQ-VAE decodes a code grid one neighbourhood at a time (its decoder sees a few codes), so
what a sample gets wrong is mostly what needs the whole map: a room drawn without its
doorway, a locked door with no key, an item left in a walled-off corner. Reconstructions show
it too: the held-out corpus is 98% / 99% playable, its VQ-VAE reconstructions 84% / 89% (16x16
/ 32x32). A :class:`Refiner` is a small U-Net over the whole map (its bottleneck at 1/8 of
the side sees every cell) that takes the decoder's per-cell logits and returns corrected
logits, added as a residual (its last layer starts at zero, so an untrained refiner is the
identity). It is applied ``passes`` times, each pass reading the previous one's output; the
count decodings (:func:`generators.sampling.decode_logits`) then read the result as before.

Training (:func:`train_refiner`, ``python -m generators train vqvae --refine-steps N``):
corpus grids are *corrupted* the way samples go wrong, encoded by the (fixed) VQ-VAE, some of
their codes swapped for near neighbours in the codebook (a code close to the right one: the
prior's typical miss), decoded, and the refiner is trained by per-cell cross-entropy to
give back the uncorrupted grid, after one pass and after a second pass over its own output
(so that passes compose). The corruptions (:func:`corrupt`): doorways walled up (door tiles
of every kind, and one-cell gaps in a wall), keys removed. All draws come from a passed
``torch.Generator``.

Optionally (``--refine-self``) part of each batch comes from the model's *own* samples, with
the repaired grid (:func:`vrenvs.core.repair.repair_batch`) as the target
(:func:`own_targets`): the refiner then sees exactly the faults the prior makes and learns the
few edits that make such a sample playable (mostly a wall cell opened into a sealed room).
The rules are used only to make those training targets; sampling never calls them.

A refiner made with ``reach=True`` (``--refine-reach``) also *sees* where the user can go: each
pass decodes its input logits (the model's decoding) and reads two more input channels,
:func:`reach_maps` (the cells the user reaches by the rules' door and key logic, and the
ground cells it does not). A sealed room is a global fact that a few convolutions hardly
compute; with the map of it, opening a wall into it is a local edit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from generators.data import NUM_CODES
from generators.models import DictConfig
from generators.sampling import base_decoding, between_walls, decode_logits
from vrenvs.core.catalog import CATALOG
from vrenvs.core.checks import check_choice, check_float, check_int
from vrenvs.core.reach import first_cells, reachable
from vrenvs.core.regions import ground_mask
from vrenvs.core.scene import split_layers

__all__ = [
    "LOCKED_CODES",
    "LOCK_TARGETS",
    "REACH_CHANNELS",
    "Refiner",
    "RefinerConfig",
    "corrupt",
    "fix_weights",
    "near_codes",
    "open_ground",
    "own_targets",
    "placed_keys",
    "reach_maps",
    "sense",
    "swap_codes",
]

MAX_PASSES = 8


@dataclass(frozen=True)
class RefinerConfig(DictConfig):
    """Shape and use of a :class:`Refiner` (stored in the model's checkpoint config)."""

    width: int = 32
    """channels at full resolution (2x at the three coarser levels); a multiple of 8"""
    passes: int = 2
    """times the refiner is applied to the decoder's logits when sampling"""
    reach: bool = False
    """each pass also reads :func:`reach_maps` of its input, decoded (see the module docstring)"""

    def __post_init__(self) -> None:
        if not isinstance(self.reach, bool):
            raise TypeError(f"reach={self.reach!r} is not allowed; allowed: True or False")
        check_int("width", self.width, 8, 1024)
        if self.width % 8:
            raise ValueError(
                f"width={self.width} is not allowed; allowed: a multiple of 8 (group norms of 8)"
            )
        check_int("passes", self.passes, 1, MAX_PASSES)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in Refiner(self).parameters())

    def to_dict(self) -> dict:
        """Without ``reach`` when it is False: checkpoints made before it existed keep their
        config (and so their identity) when saved again."""
        out = super().to_dict()
        if not self.reach:
            del out["reach"]
        return out


REACH_CHANNELS = 2
"""Input channels a ``reach=True`` refiner reads besides the logits (:func:`reach_maps`)."""


def reach_maps(codes: np.ndarray) -> np.ndarray:
    """``(N, 2, H, W)`` float32 for glyph grids ``(N, H, W)``: 1 where the user (its first
    cell in reading order) reaches by the rules' door and key logic
    (:func:`vrenvs.core.reach.reachable`), and 1 on the ground cells it does not reach (the
    regions :func:`vrenvs.core.reach.faults_batch` finds cut off). A grid without a user
    reaches nothing."""
    codes = np.asarray(codes)
    if codes.ndim != 3:
        raise ValueError(f"codes of shape {codes.shape} are not allowed; allowed: (N, H, W)")
    tiles, items, roles = split_layers(codes)
    reach = reachable(tiles, items, first_cells(roles == CATALOG.role_id("user")))
    return np.stack([reach, ground_mask(tiles) & ~reach], axis=1).astype(np.float32)


def sense(logits: torch.Tensor, decoding: str) -> torch.Tensor:
    """:func:`reach_maps` of logits ``(B, C, H, W)`` decoded by ``decoding`` (``tidy``: by the
    decoding it starts from, :func:`~generators.sampling.base_decoding`): ``(B, 2, H, W)``."""
    codes = decode_logits(logits.detach(), base_decoding(decoding))
    return torch.from_numpy(reach_maps(codes.numpy()))


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(8, channels)


class _Conv(nn.Module):
    """GroupNorm, SiLU, 3x3 conv (stride 1 or 2)."""

    def __init__(self, inputs: int, outputs: int, stride: int = 1) -> None:
        super().__init__()
        self.norm = _norm(inputs)
        self.conv = nn.Conv2d(inputs, outputs, 3, stride, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.silu(self.norm(x)))


class Refiner(nn.Module):
    """U-Net over per-cell logits ``(B, C, H, W)`` (``H, W`` multiples of 8): three stride-2
    levels down, one conv at 1/8, three levels up with skip connections (nearest
    upsampling), and a 1x1 head whose output is added to the input logits. Per-sample norms,
    so a scene does not depend on its batch."""

    def __init__(self, config: RefinerConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        self.inp = nn.Conv2d(NUM_CODES + (REACH_CHANNELS if config.reach else 0), w, 3, padding=1)
        self.down = nn.ModuleList([_Conv(w, 2 * w, 2), _Conv(2 * w, 2 * w, 2), _Conv(2 * w, 2 * w, 2)])
        self.mid = _Conv(2 * w, 2 * w)
        self.up = nn.ModuleList([_Conv(4 * w, 2 * w), _Conv(4 * w, 2 * w), _Conv(4 * w, w)])
        self.head = nn.Sequential(_norm(w), nn.SiLU(), nn.Conv2d(w, NUM_CODES, 1))
        last = self.head[-1]
        assert isinstance(last, nn.Conv2d)
        nn.init.zeros_(last.weight)  # an untrained refiner is the identity
        assert last.bias is not None
        nn.init.zeros_(last.bias)

    def forward(self, logits: torch.Tensor, maps: torch.Tensor | None = None) -> torch.Tensor:
        """One pass: logits ``(B, C, H, W)`` -> logits of the same shape. A ``reach=True``
        refiner also takes ``maps`` ``(B, 2, H, W)`` (:func:`sense` of ``logits``)."""
        if logits.dim() != 4 or logits.shape[1] != NUM_CODES or logits.shape[2] % 8 or logits.shape[3] % 8:
            raise ValueError(
                f"logits of shape {tuple(logits.shape)} are not allowed; allowed: (B, {NUM_CODES}, H, W) "
                "with H and W multiples of 8"
            )
        x = F.log_softmax(logits, dim=1)
        if self.config.reach:
            want = (len(logits), REACH_CHANNELS, *logits.shape[2:])
            if maps is None or tuple(maps.shape) != want:
                got = None if maps is None else tuple(maps.shape)
                raise ValueError(f"maps of shape {got} are not allowed; allowed: {want} (a reach refiner)")
            x = torch.cat([x, maps.to(x.dtype)], dim=1)
        elif maps is not None:
            raise ValueError("maps are not allowed: this refiner was made with reach=False")
        x0 = self.inp(x)
        skips = []
        h = x0
        for layer in self.down:
            h = layer(h)
            skips.append(h)
        h = self.mid(h)
        for layer, skip in zip(self.up, reversed(skips), strict=True):
            h = F.interpolate(layer(torch.cat([h, skip], dim=1)), scale_factor=2.0, mode="nearest")
        return logits + self.head(h + x0)

    def refine(
        self, logits: torch.Tensor, passes: int | None = None, decoding: str = "expected"
    ) -> torch.Tensor:
        """``passes`` (default: the config's) passes, each over the previous one's output
        (a ``reach=True`` refiner senses each input decoded by ``decoding``)."""
        for _ in range(self.config.passes if passes is None else check_int("passes", passes, 0, MAX_PASSES)):
            logits = self(logits, sense(logits, decoding) if self.config.reach else None)
        return logits

    def widen(self) -> Refiner:
        """A ``reach=True`` copy of this ``reach=False`` refiner that computes exactly what it
        did: the new input channels start with zero weights (fine-tuning starts from it)."""
        if self.config.reach:
            raise ValueError("this refiner already reads reach maps (reach=True)")
        out = Refiner(replace(self.config, reach=True))
        state = self.state_dict()
        weight = state["inp.weight"]
        state["inp.weight"] = torch.cat([weight, weight.new_zeros(weight.shape[0], REACH_CHANNELS, 3, 3)], 1)
        out.load_state_dict(state)
        return out


_DOORS = torch.from_numpy(np.flatnonzero(CATALOG.IS_DOOR))  # tile ids are their glyph codes
_KEYS = torch.tensor([CATALOG.item_code(i.name) for i in CATALOG.items if i.name.endswith("_key")])
_OPEN = torch.tensor([CATALOG.tile_code(n) for n in ("floor", "grass", "path")])


def doorways(grids: torch.Tensor) -> torch.Tensor:
    """``(B, H, W)`` bool: door tiles of every kind, and open ground cells with wall on both
    sides along one axis and open ground on both sides along the other (a one-cell gap in a
    wall)."""
    wall = F.pad(grids == CATALOG.WALL, (1, 1, 1, 1))
    ground = torch.isin(grids, _OPEN)
    open_ = F.pad(ground, (1, 1, 1, 1))
    across = wall[:, 1:-1, :-2] & wall[:, 1:-1, 2:] & open_[:, :-2, 1:-1] & open_[:, 2:, 1:-1]
    along = wall[:, :-2, 1:-1] & wall[:, 2:, 1:-1] & open_[:, 1:-1, :-2] & open_[:, 1:-1, 2:]
    return torch.isin(grids, _DOORS) | (ground & (across | along))


def open_ground(grids: torch.Tensor) -> torch.Tensor:
    """``(B, H, W)`` bool: open ground cells (floor, grass, path, nothing on them) whose four
    neighbours are open ground too: where no door of the corpus stands."""
    ground = torch.isin(grids, _OPEN)
    padded = F.pad(ground, (1, 1, 1, 1))
    return ground & padded[:, :-2, 1:-1] & padded[:, 2:, 1:-1] & padded[:, 1:-1, :-2] & padded[:, 1:-1, 2:]


_FLOOR, _GRASS = CATALOG.tile_code("floor"), CATALOG.tile_code("grass")


def corrupt(
    grids: torch.Tensor,
    generator: torch.Generator,
    door_drop: float = 1.0,
    key_drop: float = 0.5,
    door_float: float = 0.0,
    ground_swap: float = 0.0,
) -> torch.Tensor:
    """A corrupted copy of glyph grids ``(B, H, W)`` (long): each grid draws a rate ``q`` in
    ``[0, door_drop)`` and walls up each of its :func:`doorways` with chance ``q``, and
    removes each key (to floor) with chance ``q * key_drop``. With ``door_float`` > 0 each
    grid also draws a rate in ``[0, door_float)`` and puts a plain door on each
    :func:`open_ground` cell with that chance (a door standing in the open, which the corpus
    never has); with ``ground_swap`` > 0 each grid draws a rate in ``[0, ground_swap)`` and
    swaps floor and grass at each such cell with that chance (indoor and outdoor ground
    meeting). Both draw from ``generator`` only when above 0, so the defaults corrupt as
    before."""
    check_float("door_drop", door_drop, 0.0, 1.0)
    check_float("key_drop", key_drop, 0.0, 1.0)
    check_float("door_float", door_float, 0.0, 1.0)
    check_float("ground_swap", ground_swap, 0.0, 1.0)
    out = grids.clone()
    rate = torch.rand(len(grids), 1, 1, generator=generator) * door_drop
    draw = torch.rand(grids.shape, generator=generator)
    out[doorways(grids) & (draw < rate)] = CATALOG.WALL
    out[torch.isin(grids, _KEYS) & (draw < rate * key_drop)] = CATALOG.tile_code("floor")
    if door_float > 0:
        chance = torch.rand(len(grids), 1, 1, generator=generator) * door_float
        out[open_ground(grids) & (torch.rand(grids.shape, generator=generator) < chance)] = CATALOG.DOOR
    if ground_swap > 0:
        chance = torch.rand(len(grids), 1, 1, generator=generator) * ground_swap
        swap = torch.rand(grids.shape, generator=generator) < chance
        out = torch.where(swap & (out == _FLOOR), _GRASS, torch.where(swap & (out == _GRASS), _FLOOR, out))
    return out


def fix_weights(
    broken: torch.Tensor, target: torch.Tensor, weight: float, sealed: bool = False
) -> torch.Tensor:
    """Per-cell loss weights ``(B, H, W)`` float for corrupted grids and their targets: ``weight``
    where the corruption changed the cell (the edit the refiner has to make), 1 elsewhere. With
    ``sealed`` only the changed cells next to (or on) ground the user cannot reach in the
    corrupted grid (:func:`reach_maps`) weigh ``weight``: the edits that reopen a region."""
    check_float("weight", weight, 1.0, 100.0)
    if broken.shape != target.shape:
        shapes = f"broken {tuple(broken.shape)} and target {tuple(target.shape)}"
        raise ValueError(f"{shapes} are not allowed; allowed: equal shapes")
    changed = broken != target
    if sealed:
        lost = torch.from_numpy(reach_maps(broken.numpy())[:, 1:])
        changed &= F.max_pool2d(lost, 3, stride=1, padding=1)[:, 0] > 0
    return torch.where(changed, weight, 1.0)


def near_codes(codebook: torch.Tensor, k: int) -> torch.Tensor:
    """``(K, k)`` the ``k`` nearest other codes of each code of ``codebook`` ``(K, D)``."""
    k = check_int("k", k, 1, len(codebook) - 1)
    dist = torch.cdist(codebook, codebook)
    dist.fill_diagonal_(float("inf"))
    return dist.topk(k, largest=False).indices


def swap_codes(
    codes: torch.Tensor, near: torch.Tensor, rate: float, generator: torch.Generator
) -> torch.Tensor:
    """Code grids ``(B, h, w)`` with each code swapped, with a per-grid chance drawn in
    ``[0, 2 * rate)``, for one of its ``near`` codes (:func:`near_codes`) at random."""
    check_float("rate", rate, 0.0, 0.5)
    chance = torch.rand(len(codes), 1, 1, generator=generator) * (2 * rate)
    swap = torch.rand(codes.shape, generator=generator) < chance
    pick = torch.randint(near.shape[1], codes.shape, generator=generator)
    return torch.where(swap, near[codes, pick], codes)


_IS_ITEM = CATALOG.CODE_ITEM > 0
# per glyph code: the colour (index into COLOURS) of a key item / of a locked door tile, else -1
_KEY_COLOUR = CATALOG.KEY_COLOUR[CATALOG.CODE_ITEM]
_LOCK_COLOUR = np.where(CATALOG.CODE_TILE >= 0, CATALOG.LOCK_COLOUR[np.maximum(CATALOG.CODE_TILE, 0)], -1)
LOCKED_CODES = _LOCK_COLOUR >= 0
"""per glyph code: whether its tile is a locked door"""


LOCK_TARGETS = ("door", "keep", "skip")
"""What :func:`own_targets` makes of a sample whose locked door needed a key placed by repair:
``door`` makes the lock a plain door (and drops the key), ``keep`` keeps lock and placed key,
``skip`` keeps the sample as drawn (:func:`placed_keys` marks it, and stage 4 gives it no
weight)."""


def placed_keys(raw: np.ndarray, repaired: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: repair placed a key in the sample (a lock of its colour had none)."""
    raw, out = _pair(raw, repaired)
    placed = (raw != out) & _IS_ITEM[out] & ~_IS_ITEM[raw]
    return (placed & (_KEY_COLOUR[out] >= 0)).any(axis=(1, 2))


def _pair(raw: np.ndarray, repaired: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    raw = np.asarray(raw, dtype=np.int64)
    out = np.array(repaired, dtype=np.int64)
    if raw.shape != out.shape or raw.ndim != 3:
        raise ValueError(
            f"raw {raw.shape} and repaired {out.shape} are not allowed; allowed: equal shapes (N, H, W)"
        )
    return raw, out


def own_targets(raw: np.ndarray, repaired: np.ndarray, locks: str = "door") -> np.ndarray:
    """Training targets ``(N, H, W)`` from raw samples and their repaired grids: the repaired
    grids without the items repair *placed* (it puts a missing key or requestable item as
    far from the user as it can, mostly in a room's corner, which no corpus scene does).
    A placed item's cell keeps its raw glyph. A placed key (:data:`LOCK_TARGETS`): with
    ``locks="door"`` its colour has its locked doors made plain doors instead (the other way
    repair itself makes a keyless lock solvable), or floor where such a door stands outside
    a wall (a door in open ground, which no corpus scene has); with ``"keep"`` it stays,
    and so does the lock; with ``"skip"`` it is dropped like an item and the lock stays
    (the sample is meant to get no weight).
    Every other edit (opened walls, removed strays) stays."""
    check_choice("locks", locks, LOCK_TARGETS)
    raw, out = _pair(raw, repaired)
    placed = (raw != out) & _IS_ITEM[out] & ~_IS_ITEM[raw]
    if locks == "keep":
        placed &= _KEY_COLOUR[out] < 0
    lock_cells = np.zeros_like(placed)
    if locks == "door":
        for n, y, x in zip(*np.nonzero(placed & (_KEY_COLOUR[out] >= 0)), strict=True):
            lock_cells[n] |= _LOCK_COLOUR[out[n]] == _KEY_COLOUR[out[n, y, x]]
    out[placed] = raw[placed]
    walled = between_walls(torch.from_numpy(out)).numpy()
    out[lock_cells & walled] = CATALOG.DOOR
    out[lock_cells & ~walled] = CATALOG.tile_code("floor")
    return out
