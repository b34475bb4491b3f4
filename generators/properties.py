"""Scene properties a v2 prior can be conditioned on, declared as data and measured in batches.

A *property* sorts a glyph grid into one of a few named buckets, computed from the grid
alone, so the same rule labels the training corpus, the generated samples and any scene a
user brings. The prior learns them as extra start-token embeddings (bucket 0 of each
embedding is "any": the property left free), and :class:`generators.vqmodel.Condition`
carries the requested buckets as ``targets``, e.g. ``{"rooms": "many", "locked_doors":
"none"}``.

Rules (``S`` is the map side; room and distance edges grow with the map so a bucket means
the same density at 16 and 32):

* ``rooms``: regions, i.e. 4-connected ground components (walkable, not doorway) of at
  least ``REGION_RULES["min_cells"]`` cells: ``one``, ``few`` (2 .. S*S/64), ``many`` (more).
* ``locked_doors``: ``none`` or ``some`` locked door tiles.
* ``distance``: BFS steps from the user to the farthest requestable item, walking through
  every door (locked or not), divided by ``S``: ``near`` (< 1), ``mid`` (1 .. 1.5), ``far``
  (> 1.5, or an item no path reaches, or no user).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.grid import UNREACHED, component_sizes, distance_field, label_components
from vrenvs.core.regions import REGION_RULES, ground_mask
from vrenvs.core.scene import split_layers

__all__ = [
    "PROPERTIES",
    "PROPERTY_NAMES",
    "Property",
    "check_targets",
    "farthest_item",
    "locked_share",
    "measure",
    "room_count",
    "target_ids",
]


def room_count(codes: np.ndarray) -> np.ndarray:
    """``(N,)`` ground regions of at least ``REGION_RULES["min_cells"]`` cells."""
    tiles, _, _ = split_layers(codes)
    labels = label_components(ground_mask(tiles))
    h, w = codes.shape[-2:]
    roots = (labels == np.arange(h * w).reshape(h, w)) & (
        component_sizes(labels) >= REGION_RULES["min_cells"]
    )
    return roots.sum(axis=(1, 2))


def _rooms(codes: np.ndarray) -> np.ndarray:
    rooms = room_count(codes)
    h, w = codes.shape[-2:]
    return np.where(rooms <= 1, 0, np.where(rooms <= h * w // 64, 1, 2))


def _locked_doors(codes: np.ndarray) -> np.ndarray:
    tiles, _, _ = split_layers(codes)
    return CATALOG.IS_LOCKED[tiles].any(axis=(1, 2)).astype(np.int64)


def locked_share(codes: np.ndarray) -> float:
    """Share of the scenes ``(N, H, W)`` with at least one locked door tile (0.0 for none)."""
    return float(_locked_doors(codes).mean()) if len(codes) else 0.0


def _distance(codes: np.ndarray) -> np.ndarray:
    tiles, items, roles = split_layers(codes)
    user = roles == CATALOG.role_id("user")
    passable = CATALOG.WALKABLE[tiles] | CATALOG.IS_DOOR[tiles]
    dist = distance_field(user, passable).astype(np.int64)
    dist[~user.any(axis=(1, 2))] = UNREACHED
    far = np.where(CATALOG.REQUESTABLE[items], dist, -1).max(axis=(1, 2)) / codes.shape[-1]
    return np.where(far < 1.0, 0, np.where(far <= 1.5, 1, 2))


def farthest_item(codes: np.ndarray) -> np.ndarray:
    """``(N,)`` BFS steps from the user to the farthest requestable item of each grid
    ``(N, S, S)`` (doors passable, locks ignored; -1 when a grid has no user or no reachable
    requestable item)."""
    tiles, items, roles = split_layers(np.asarray(codes))
    user = roles == CATALOG.role_id("user")
    passable = CATALOG.WALKABLE[tiles] | CATALOG.IS_DOOR[tiles]
    dist = distance_field(user, passable).astype(np.int64)
    dist[dist >= UNREACHED] = -1
    far = np.where(CATALOG.REQUESTABLE[items], dist, -1).max(axis=(1, 2))
    far[~user.any(axis=(1, 2))] = -1
    return far


@dataclass(frozen=True)
class Property:
    """A named scene property: its buckets (in id order) and the batched rule that gives the
    bucket id of each grid of an ``(N, S, S)`` array."""

    name: str
    buckets: tuple[str, ...]
    rule: Callable[[np.ndarray], np.ndarray]
    doc: str


PROPERTIES: Mapping[str, Property] = {
    p.name: p
    for p in (
        Property("rooms", ("one", "few", "many"), _rooms, "regions: one, few (2 .. S*S/64), many"),
        Property("locked_doors", ("none", "some"), _locked_doors, "locked door tiles: none or some"),
        Property(
            "distance",
            ("near", "mid", "far"),
            _distance,
            "user to the farthest requestable item in map sides: near < 1, mid 1 .. 1.5, far",
        ),
    )
}
PROPERTY_NAMES = tuple(PROPERTIES)


def measure(codes: np.ndarray, names: tuple[str, ...] = PROPERTY_NAMES) -> np.ndarray:
    """``(N, len(names))`` bucket ids (int64) of the glyph grids ``codes`` ``(N, S, S)``."""
    codes = np.asarray(codes)
    if codes.ndim != 3:
        raise ValueError(f"codes of shape {codes.shape} is not allowed; allowed: (N, S, S)")
    out = np.zeros((len(codes), len(names)), np.int64)
    for j, name in enumerate(names):
        if len(codes):
            out[:, j] = PROPERTIES[name].rule(codes)
    return out


def check_targets(targets: object, names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``targets`` (a mapping of property name to bucket name, or None) checked against the
    model's ``names``, as sorted pairs; a ValueError/TypeError names the bad key or value."""
    if targets is None:
        return ()
    if not isinstance(targets, Mapping):
        raise TypeError(f"targets={targets!r} must be a mapping of property name to bucket, or None")
    out = []
    for name, bucket in targets.items():
        if name not in names:
            raise ValueError(
                f"targets: property {name!r} is not allowed; allowed: {list(names)}"
                + ("" if names else " (this model is not conditioned on properties)")
            )
        allowed = PROPERTIES[name].buckets
        if not isinstance(bucket, str) or bucket not in allowed:
            raise ValueError(f"targets[{name!r}]={bucket!r} is not allowed; allowed: {list(allowed)}")
        out.append((name, bucket))
    return tuple(sorted(out))


def target_ids(targets: tuple[tuple[str, str], ...], names: tuple[str, ...]) -> list[int]:
    """Embedding rows of checked ``targets`` for the properties ``names``: 0 for a property
    left free ("any"), ``1 + bucket id`` otherwise."""
    given = dict(targets)
    return [PROPERTIES[n].buckets.index(given[n]) + 1 if n in given else 0 for n in names]
