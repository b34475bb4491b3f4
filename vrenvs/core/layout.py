"""A scene prepared for play: padded layers, named places, request tokens, NPC guide fields.

Preparing costs a few milliseconds, so envs cache one :class:`Layout` per scene and a reset
only copies its arrays into the batched state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.grid import distance_field
from vrenvs.core.language import MAX_TOKENS, TEMPLATES, tokenize
from vrenvs.core.reach import base_passable, reachable
from vrenvs.core.regions import find_places
from vrenvs.core.scene import Scene

__all__ = ["Layout", "prepare"]


@dataclass(frozen=True)
class Layout:
    """Arrays are padded by ``margin`` wall cells on each side (shape ``(H + 2m, W + 2m)``)."""

    scene: Scene
    margin: int
    tiles: np.ndarray  # (Hp, Wp) uint8 tile ids
    items: np.ndarray  # (Hp, Wp) uint8 item ids
    spawns: dict[int, list[tuple[int, int]]]  # role id -> padded cells, reading order
    free: np.ndarray  # (F, 2) ground cells reachable from the user, no spawn or item on them
    standable: np.ndarray  # (S, 2) reachable ground cells with an item but no spawn
    region_map: np.ndarray  # (Hp, Wp) int16 region name index or -1
    region_names: tuple[str, ...]
    region_tokens: np.ndarray  # (R, L) request tokens naming each region
    region_cells: np.ndarray  # (R, 2) one central cell per region
    door_map: np.ndarray  # (Hp, Wp) int16 door name index or -1
    door_names: tuple[str, ...]
    door_tokens: np.ndarray  # (D, L)
    guide: np.ndarray  # (R, Hp, Wp) int16 steps to each region cell through passable cells
    stalls: np.ndarray  # (S, 2) ground cells next to a counter


def _pad(array: np.ndarray, margin: int, value: int) -> np.ndarray:
    return np.pad(array, margin, constant_values=value)


def prepare(scene: Scene, margin: int) -> Layout:
    """Everything a reset needs from ``scene``, computed once."""
    tiles, items, roles = scene.layers()
    places = find_places(tiles)
    tiles_p = _pad(tiles, margin, CATALOG.WALL)
    items_p = _pad(items, margin, 0)
    roles_p = _pad(roles, margin, 0)
    spawns: dict[int, list[tuple[int, int]]] = {}
    for y, x in np.argwhere(roles_p > 0):
        spawns.setdefault(int(roles_p[y, x]), []).append((int(y), int(x)))
    user = np.zeros(tiles_p.shape, dtype=bool)
    user[spawns[CATALOG.role_id("user")][0]] = True
    reach = reachable(tiles_p, items_p, user)
    ground = CATALOG.WALKABLE[tiles_p] & ~CATALOG.IS_DOOR[tiles_p]
    free = np.argwhere(reach & ground & (items_p == 0) & (roles_p == 0)).astype(np.int16)
    standable = np.argwhere(reach & ground & (items_p > 0) & (roles_p == 0)).astype(np.int16)
    region_map = _pad(places.region_map, margin, -1)
    cells = _region_cells(region_map, len(places.region_names))
    passable = base_passable(tiles_p)
    targets = np.zeros((len(cells), *tiles_p.shape), dtype=bool)
    targets[np.arange(len(cells)), cells[:, 0], cells[:, 1]] = True
    guide = distance_field(targets, np.broadcast_to(passable, targets.shape))  # one BFS for all regions
    counter = tiles_p == CATALOG.tile["counter"].id
    near_counter = np.zeros_like(counter)
    near_counter[1:-1, 1:-1] = counter[:-2, 1:-1] | counter[2:, 1:-1] | counter[1:-1, :-2] | counter[1:-1, 2:]
    stalls = np.argwhere(near_counter & reach & ground).astype(np.int16)
    return Layout(
        scene=scene,
        margin=margin,
        tiles=tiles_p,
        items=items_p,
        spawns=spawns,
        free=free,
        standable=standable,
        region_map=region_map,
        region_names=places.region_names,
        region_tokens=_tokens("guide", places.region_names),
        region_cells=cells,
        door_map=_pad(places.door_map, margin, -1),
        door_names=places.door_names,
        door_tokens=_tokens("open", places.door_names),
        guide=guide,
        stalls=stalls,
    )


def _region_cells(region_map: np.ndarray, count: int) -> np.ndarray:
    """For each region, its cell closest to the region's centroid."""
    cells = np.zeros((count, 2), dtype=np.int16)
    for r in range(count):
        members = np.argwhere(region_map == r)
        centre = members.mean(axis=0)
        cells[r] = members[np.argmin(np.abs(members - centre).sum(axis=1))]
    return cells


def _tokens(kind: str, names: tuple[str, ...]) -> np.ndarray:
    rows = [tokenize(TEMPLATES[kind].format(target=n)) for n in names]
    return np.stack(rows) if rows else np.zeros((0, MAX_TOKENS), dtype=np.int16)
