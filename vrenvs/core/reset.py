"""Starting an episode in one world of a batch: copy a prepared layout, place the actors,
draw the user's hidden parameters and the first request. All draws come from the world's
own ``numpy.random.Generator``, so a world's episode never depends on the rest of the batch.
"""

from __future__ import annotations

import numpy as np

from vrenvs.core import requests
from vrenvs.core.catalog import CATALOG
from vrenvs.core.layout import Layout
from vrenvs.core.state import MODES, TaskConfig, WorldState

__all__ = ["reset_world"]

_FOOD_IDS = np.array([i.id for i in CATALOG.items if i.food])


def _copy_layout(state: WorldState, b: int, layout: Layout) -> None:
    state.tiles[b] = layout.tiles
    state.items[b] = layout.items
    state.occupant[b] = 0
    state.region_map[b] = layout.region_map
    state.door_map[b] = layout.door_map
    regions = min(len(layout.region_names), state.region_tokens.shape[1])
    doors = min(len(layout.door_names), state.door_tokens.shape[1])
    state.num_regions[b] = regions
    state.num_doors[b] = doors
    state.region_tokens[b] = 0
    state.region_tokens[b, :regions] = layout.region_tokens[:regions]
    state.door_tokens[b] = 0
    state.door_tokens[b, :doors] = layout.door_tokens[:doors]
    state.guide[b, :regions] = layout.guide[:regions]


def _place_actors(
    state: WorldState, b: int, layout: Layout, config: TaskConfig, rng: np.random.Generator
) -> None:
    """Each actor takes a spawn of its role, else a random free cell, else a cell with an
    item on it; an actor that finds no cell at all (a cramped scene) sits the episode out."""
    spawns = {role: list(cells) for role, cells in layout.spawns.items()}
    pools = (
        layout.free[rng.permutation(len(layout.free))],
        layout.standable[rng.permutation(len(layout.standable))],
    )
    # Spare cells in draw order, read lazily: a reset needs a few of a few hundred.
    spare = ((int(c[0]), int(c[1])) for pool in pools for c in pool)
    taken: set[tuple[int, int]] = set()
    for slot, role_id in enumerate(config.role_ids()):
        options = [c for c in spawns.get(int(role_id), []) if c not in taken]
        # A spare cell passed over here is taken already, so consuming it loses nothing.
        cell = options[0] if options else next((c for c in spare if c not in taken), None)
        state.active[b, slot] = cell is not None
        if cell is None:
            state.pos[b, slot] = state.home[b, slot] = 0
            continue
        taken.add(cell)
        state.pos[b, slot] = cell
        state.home[b, slot] = cell
        state.occupant[b, cell[0], cell[1]] = slot + 1
    state.carry[b] = 0
    state.facing[b] = 3
    state.mode[b] = MODES.index("idle")


def _npc_goals(
    state: WorldState, b: int, layout: Layout, config: TaskConfig, rng: np.random.Generator
) -> None:
    side = state.tiles.shape[-1]
    for slot, role in enumerate(config.roles):
        state.goal[b, slot] = rng.integers(max(len(layout.region_names), 1))
        if role == "merchant" and len(layout.stalls):
            gap = np.abs(layout.stalls - state.pos[b, slot]).sum(axis=1)
            state.home[b, slot] = layout.stalls[int(np.argmin(gap))]
            state.carry[b, slot] = rng.choice(_FOOD_IDS)
        if role == "thief":
            loot = np.argwhere(CATALOG.REQUESTABLE[state.items[b]])
            y, x = loot[rng.integers(len(loot))]
            state.goal[b, slot] = y * side + x


def _add_food(state: WorldState, b: int, config: TaskConfig, rng: np.random.Generator) -> None:
    missing = config.num_food - int(CATALOG.FOOD[state.items[b]].sum())
    if missing <= 0:
        return
    free = np.argwhere((state.region_map[b] >= 0) & (state.items[b] == 0) & (state.occupant[b] == 0))
    for y, x in free[rng.permutation(len(free))[:missing]]:
        state.items[b, y, x] = rng.choice(_FOOD_IDS)


def reset_world(
    state: WorldState, b: int, layout: Layout, config: TaskConfig, rng: np.random.Generator
) -> None:
    """Start a new episode of world ``b`` on ``layout``."""
    _copy_layout(state, b, layout)
    _place_actors(state, b, layout, config, rng)
    _add_food(state, b, config, rng)
    _npc_goals(state, b, layout, config, rng)
    state.t[b] = 0
    state.key[b] = rng.integers(0, 2**63 - 1, dtype=np.uint64)
    state.patience[b] = rng.integers(config.patience[0], config.patience[1] + 1)
    state.mobility[b] = rng.uniform(*config.mobility)
    state.preference[b] = 0
    state.preference[b, 1:] = rng.dirichlet(np.ones(CATALOG.num_items))
    state.served[b] = state.failed[b] = state.eaten[b] = 0
    state.req_type[b] = 0
    state.req_tokens[b] = 0
    state.req_age[b] = 0
    state.req_wait[b] = np.iinfo(np.int32).max
    state.locked_requests[b] = requests.share_of(layout.scene, config)
    if config.requests:
        requests.issue(state, np.array([b]), config, rng.random((1, 2)))
