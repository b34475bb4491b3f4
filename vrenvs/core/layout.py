"""A scene prepared for play: padded layers, named places, request tokens, NPC guide fields.

Preparing costs a few milliseconds, so envs cache one :class:`Layout` per scene and a reset
only copies its arrays into the batched state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.grid import distance_field, label_components
from vrenvs.core.language import MAX_TOKENS, TEMPLATES, tokenize
from vrenvs.core.reach import base_passable, reachable
from vrenvs.core.regions import find_places, ground_mask
from vrenvs.core.scene import Scene, split_layers

__all__ = ["Layout", "prepare", "prepare_many"]


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


def prepare(scene: Scene, margin: int) -> Layout:
    """Everything a reset needs from ``scene``, computed once."""
    return prepare_many([scene], margin)[0]


def prepare_many(scenes: Sequence[Scene], margin: int) -> list[Layout]:
    """:func:`prepare` for many scenes at once: the grid work (layers, padding, reach,
    region labels, guide fields) runs once on the stacked ``(N, H, W)`` arrays; only naming
    places and listing cells go scene by scene. Scenes of different sizes are grouped."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for k, scene in enumerate(scenes):
        groups.setdefault(scene.shape, []).append(k)
    out: dict[int, Layout] = {}
    for members in groups.values():
        out.update(zip(members, _prepare_stack([scenes[k] for k in members], margin)))
    return [out[k] for k in range(len(scenes))]


def _prepare_stack(scenes: list[Scene], margin: int) -> list[Layout]:
    n = len(scenes)
    tiles, items, roles = split_layers(np.stack([s.codes for s in scenes]))  # (N, H, W) each
    labels = label_components(ground_mask(tiles))
    pad = ((0, 0), (margin, margin), (margin, margin))
    tiles_p = np.pad(tiles, pad, constant_values=CATALOG.WALL)
    items_p = np.pad(items, pad, constant_values=0)
    roles_p = np.pad(roles, pad, constant_values=0)
    user = roles_p == CATALOG.role_id("user")
    user &= np.cumsum(user.reshape(n, -1), axis=1).reshape(user.shape) == 1  # the first user
    reach = reachable(tiles_p, items_p, user)
    ground = CATALOG.WALKABLE[tiles_p] & ~CATALOG.IS_DOOR[tiles_p]
    open_ground = reach & ground & (roles_p == 0)
    counter = tiles_p == CATALOG.tile["counter"].id
    near_counter = np.zeros_like(counter)
    near_counter[:, 1:-1, 1:-1] = (
        counter[:, :-2, 1:-1] | counter[:, 2:, 1:-1] | counter[:, 1:-1, :-2] | counter[:, 1:-1, 2:]
    )
    stalls = near_counter & reach & ground
    places = [find_places(tiles[k], labels[k]) for k in range(n)]
    region_maps = np.pad(np.stack([p.region_map for p in places]), pad, constant_values=-1)
    cells = [_region_cells(region_maps[k], len(places[k].region_names)) for k in range(n)]
    guides = _guide_fields(tiles_p, cells)
    layouts = []
    for k, (scene, found) in enumerate(zip(scenes, places)):
        spawns: dict[int, list[tuple[int, int]]] = {}
        for y, x in np.argwhere(roles_p[k] > 0):
            spawns.setdefault(int(roles_p[k, y, x]), []).append((int(y), int(x)))
        layouts.append(
            Layout(
                scene=scene,
                margin=margin,
                tiles=tiles_p[k].copy(),
                items=items_p[k].copy(),
                spawns=spawns,
                free=np.argwhere(open_ground[k] & (items_p[k] == 0)).astype(np.int16),
                standable=np.argwhere(open_ground[k] & (items_p[k] > 0)).astype(np.int16),
                region_map=region_maps[k].copy(),
                region_names=found.region_names,
                region_tokens=_tokens("guide", found.region_names),
                region_cells=cells[k],
                door_map=np.pad(found.door_map, margin, constant_values=-1),
                door_names=found.door_names,
                door_tokens=_tokens("open", found.door_names),
                guide=guides[k].copy(),
                stalls=np.argwhere(stalls[k]).astype(np.int16),
            )
        )
    return layouts


def _guide_fields(tiles: np.ndarray, cells: list[np.ndarray]) -> list[np.ndarray]:
    """Per scene ``(R, Hp, Wp)`` steps to each of its region cells: one BFS for the regions
    of all scenes together."""
    owner = np.repeat(np.arange(len(cells)), [len(c) for c in cells])
    every = np.concatenate(cells) if len(owner) else np.zeros((0, 2), np.int16)
    targets = np.zeros((len(owner), *tiles.shape[1:]), dtype=bool)
    targets[np.arange(len(owner)), every[:, 0], every[:, 1]] = True
    fields = distance_field(targets, base_passable(tiles)[owner])
    return np.split(fields, np.cumsum([len(c) for c in cells])[:-1])


def _region_cells(region_map: np.ndarray, count: int) -> np.ndarray:
    """For each region, its cell closest (L1) to the region's centroid; ties go to the
    first cell in reading order."""
    cells = np.zeros((count, 2), dtype=np.int16)
    if count == 0:
        return cells
    ys, xs = np.nonzero(region_map >= 0)  # reading order
    region = region_map[ys, xs].astype(np.int64)
    size = np.bincount(region, minlength=count)
    cy = np.bincount(region, weights=ys, minlength=count) / size
    cx = np.bincount(region, weights=xs, minlength=count) / size
    gap = np.abs(ys - cy[region]) + np.abs(xs - cx[region])
    order = np.lexsort((np.arange(len(region)), gap, region))  # by region, gap, reading order
    best = order[np.searchsorted(region[order], np.arange(count))]
    cells[:, 0], cells[:, 1] = ys[best], xs[best]
    return cells


def _tokens(kind: str, names: tuple[str, ...]) -> np.ndarray:
    rows = [tokenize(TEMPLATES[kind].format(target=n)) for n in names]
    return np.stack(rows) if rows else np.zeros((0, MAX_TOKENS), dtype=np.int16)
