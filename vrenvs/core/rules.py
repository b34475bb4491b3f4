"""The transition: ``step(state, actions, config) -> Events`` as a pipeline of named phases.

Each phase is written once for the whole batch. Actors act in slot order within a phase
(slot 0 first), which settles conflicts such as two actors moving into one cell.

Phases: move -> interact (pick up, drop, give, toggle) -> eat -> catch -> escape ->
requests -> tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vrenvs.core import requests
from vrenvs.core.catalog import CATALOG
from vrenvs.core.grid import DELTAS
from vrenvs.core.jit import kernel
from vrenvs.core.rng import Stream, draw_integer
from vrenvs.core.state import MODES, Action, TaskConfig, WorldState

__all__ = ["PHASES", "Events", "step"]

_USER = CATALOG.role_id("user")
_MERCHANT = CATALOG.role_id("merchant")
_ASSISTANT = CATALOG.role_id("assistant")
_CRITTER = CATALOG.role_id("critter")
_CAUGHT = MODES.index("caught")
_DY, _DX = tuple(int(d) for d in DELTAS[:, 0]), tuple(int(d) for d in DELTAS[:, 1])
_PICKUP, _DROP, _GIVE, _TOGGLE = Action.PICKUP, Action.DROP, Action.GIVE, Action.TOGGLE
_FOOD_STREAM = Stream.FOOD
_PER_ACTOR = ("moved", "picked", "dropped", "gave", "refused", "opened", "ate", "caught", "escaped")
_FLAGS = frozenset({"moved", "gave", "refused", "opened", "caught", "escaped"})
_IS_FLAG = tuple(name in _FLAGS for name in _PER_ACTOR)
_INDEX = {name: i for i, name in enumerate(_PER_ACTOR)}


@dataclass
class Events:
    """What happened in one step; ``(B, N)`` per actor slot or ``(B,)`` per world."""

    moved: np.ndarray
    picked: np.ndarray  # item id picked up, 0 none
    dropped: np.ndarray
    gave: np.ndarray  # bool, the item was accepted
    refused: np.ndarray  # bool, the receiver would not take it
    opened: np.ndarray  # bool, this actor opened a door
    ate: np.ndarray  # item id eaten
    caught: np.ndarray  # bool, this actor was caught
    escaped: np.ndarray  # bool, this actor left with loot
    done: np.ndarray  # (B,) request type completed this step, 0 none
    gave_up: np.ndarray  # (B,) request type the user gave up on, 0 none
    _block: np.ndarray = field(init=False, repr=False, compare=False)

    @classmethod
    def empty(cls, batch: int, actors: int) -> Events:
        """No events: all zero. The per-actor fields are views of one ``(9, B, N)`` uint8
        block (:meth:`per_actor`), bool where the field is a flag, each made on its first
        read (:meth:`__getattr__`: a step reads two or three of the nine)."""
        events = object.__new__(cls)  # the fields set directly: this runs every step
        own = events.__dict__
        own["done"] = np.zeros(batch, np.int8)
        own["gave_up"] = np.zeros(batch, np.int8)
        own["_block"] = np.zeros((len(_PER_ACTOR), batch, actors), np.uint8)
        return events

    def __getattr__(self, name: str) -> np.ndarray:
        """A per-actor field not read before: its view of the block, kept for later reads."""
        own = self.__dict__
        index = _INDEX.get(name)
        if index is None or "_block" not in own:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        part = own["_block"][index]
        own[name] = part = part.view(bool) if _IS_FLAG[index] else part
        return part

    def per_actor(self) -> np.ndarray:
        """The ``(9, B, N)`` uint8 block behind the per-actor fields (in :data:`_PER_ACTOR`
        order), which the step kernel writes."""
        return self._block


_FOOD_LANES = 16  # candidate cells drawn for food that grows back


def _facing_cells(pos: np.ndarray, facing: int, around: np.ndarray) -> None:
    """``around`` (5, 2): the faced cell, then the cells up, right, down and left of ``pos``."""
    for k in range(5):
        d = facing if k == 0 else k
        around[k, 0] = pos[0] + _DY[d]
        around[k, 1] = pos[1] + _DX[d]


_facing_cells = kernel(_facing_cells)


def _remove(
    items: np.ndarray,
    occupant: np.ndarray,
    pos: np.ndarray,
    active: np.ndarray,
    mode: np.ndarray,
    carry: np.ndarray,
    b: int,
    slot: int,
    caught_mode: int,
) -> None:
    y, x = pos[b, slot, 0], pos[b, slot, 1]
    occupant[b, y, x] = 0
    active[b, slot] = False
    mode[b, slot] = caught_mode
    loot = carry[b, slot]
    if loot > 0 and items[b, y, x] == 0:
        items[b, y, x] = loot
    carry[b, slot] = 0


_remove = kernel(_remove)


def _physics(
    tiles, items, occupant, pos, facing, carry, active, mode, home, t, key, eaten,
    region_map, req_type, req_target, actions, roles, tables, ev,
):  # fmt: skip
    """The phases move, interact, eat, catch and escape of every world (see the module
    docstring), in place. ``tables`` (:func:`_tables`) are the catalog's per-id lookups;
    ``ev`` (9, B, N) the per-actor events in the order of :class:`Events`."""
    walkable, is_door, closed, locked, is_open, lock_colour = (
        tables[0],
        tables[1],
        tables[2],
        tables[3],
        tables[4],
        tables[5],
    )
    key_colour, food, yields, prey_of = tables[6], tables[7], tables[8], tables[9]
    consts = tables[10]
    door, door_open, user, merchant, assistant, critter, thief, fetch, caught_mode = (
        consts[0],
        consts[1],
        consts[2],
        consts[3],
        consts[4],
        consts[5],
        consts[6],
        consts[7],
        consts[8],
    )
    moved, picked, dropped, gave, refused, opened, ate, caught, escaped = (
        ev[0],
        ev[1],
        ev[2],
        ev[3],
        ev[4],
        ev[5],
        ev[6],
        ev[7],
        ev[8],
    )
    n = roles.shape[0]
    side = tiles.shape[2]
    around = np.empty((5, 2), np.int64)
    for b in range(tiles.shape[0]):
        # move: into walkable cells; an actor whose role yields swaps places
        for s in range(n):
            a = actions[b, s]
            if a < 1 or a > 4 or not active[b, s]:
                continue
            facing[b, s] = a
            hy, hx = pos[b, s, 0], pos[b, s, 1]
            ty, tx = hy + _DY[a], hx + _DX[a]
            other = np.int64(occupant[b, ty, tx]) - 1
            swap = other >= 0 and yields[roles[other]] != 0
            if walkable[tiles[b, ty, tx]] == 0 or not (other < 0 or swap):
                continue
            occupant[b, hy, hx] = 0
            if swap:
                occupant[b, hy, hx] = other + 1
                pos[b, other, 0], pos[b, other, 1] = hy, hx
            occupant[b, ty, tx] = s + 1
            pos[b, s, 0], pos[b, s, 1] = ty, tx
            moved[b, s] = True
        # interact: pick up, drop, toggle, give
        for s in range(n):
            a = actions[b, s]
            if not active[b, s] or a < _PICKUP:
                continue
            holding = carry[b, s] > 0
            py, px = np.int64(pos[b, s, 0]), np.int64(pos[b, s, 1])
            _facing_cells(pos[b, s], facing[b, s], around)
            if a == _PICKUP and not holding:  # own cell, faced cell, up, right, down, left
                for k in range(-1, 5):
                    y = py if k < 0 else around[k, 0]
                    x = px if k < 0 else around[k, 1]
                    if items[b, y, x] > 0:
                        carry[b, s] = items[b, y, x]
                        picked[b, s] = items[b, y, x]
                        items[b, y, x] = 0
                        break
            elif a == _DROP and holding:
                for k in range(-1, 5):
                    y = py if k < 0 else around[k, 0]
                    x = px if k < 0 else around[k, 1]
                    tile = tiles[b, y, x]
                    if items[b, y, x] == 0 and walkable[tile] != 0 and is_door[tile] == 0:
                        items[b, y, x] = carry[b, s]
                        dropped[b, s] = carry[b, s]
                        carry[b, s] = 0
                        break
            elif a == _TOGGLE:
                for k in range(5):
                    y, x = around[k, 0], around[k, 1]
                    tile = tiles[b, y, x]
                    if is_door[tile] == 0:
                        continue
                    fits = key_colour[carry[b, s]] == lock_colour[tile]
                    if closed[tile] != 0 or (locked[tile] != 0 and fits):
                        tiles[b, y, x] = door_open
                        opened[b, s] = True
                    elif is_open[tile] != 0 and occupant[b, y, x] == 0 and items[b, y, x] == 0:
                        tiles[b, y, x] = door
                    break
            elif a == _GIVE and holding:
                # who takes it: the user only the item it asked for, a merchant anything (it
                # swaps), the assistant anything while its hands are empty, others nothing
                present = False
                for k in range(5):
                    occ = np.int64(occupant[b, around[k, 0], around[k, 1]])
                    if occ == 0 or occ == s + 1:
                        continue
                    present = True
                    r = occ - 1
                    role = roles[r]
                    if role == user:
                        takes = req_type[b] == fetch and req_target[b] == carry[b, s]
                    else:
                        takes = role == merchant or (role == assistant and carry[b, r] == 0)
                    if takes:
                        back = carry[b, r] if role == merchant else 0
                        carry[b, r] = carry[b, s]
                        carry[b, s] = back
                        gave[b, s] = True
                        present = False
                        break
                if present:
                    refused[b, s] = True
        # eat: critters eat food they stand on; new food grows on a random free ground cell
        for s in range(n):
            if roles[s] != critter:
                continue
            y, x = pos[b, s, 0], pos[b, s, 1]
            item = items[b, y, x]
            if not active[b, s] or food[item] == 0:
                continue
            items[b, y, x] = 0
            ate[b, s] = item
            eaten[b] += 1
            for lane in range(_FOOD_LANES):
                cell = draw_integer(key[b], t[b] + s, _FOOD_STREAM, side * side, _FOOD_LANES, lane)
                gy, gx = cell // side, cell % side
                if region_map[b, gy, gx] >= 0 and items[b, gy, gx] == 0 and occupant[b, gy, gx] == 0:
                    items[b, gy, gx] = item
                    break
        # catch: a hunter next to (or on) its prey takes it out; the prey drops its loot
        for hunter in range(n):
            prey_role = prey_of[roles[hunter]]
            if prey_role == 0:
                continue
            for prey in range(n):
                if roles[prey] != prey_role or not (active[b, hunter] and active[b, prey]):
                    continue
                gap = abs(pos[b, hunter, 0] - pos[b, prey, 0]) + abs(pos[b, hunter, 1] - pos[b, prey, 1])
                if gap <= 1:
                    caught[b, prey] = True
                    _remove(items, occupant, pos, active, mode, carry, b, prey, caught_mode)
        # escape: a thief back at its entry with loot leaves the world
        for s in range(n):
            if roles[s] != thief or not active[b, s] or carry[b, s] == 0:
                continue
            if pos[b, s, 0] == home[b, s, 0] and pos[b, s, 1] == home[b, s, 1]:
                escaped[b, s] = True
                occupant[b, pos[b, s, 0], pos[b, s, 1]] = 0
                active[b, s] = False


_physics = kernel(_physics)


def _tables() -> np.ndarray:
    """The catalog's lookups the kernel reads, as one ``(11, K)`` int64 array (rows:
    walkable, door, closed, locked, open, lock colour by tile; key colour, food by item;
    yields, prey role by role; then the constant ids)."""
    prey = [0] + [0 if r.catches is None else CATALOG.role_id(r.catches) for r in CATALOG.roles]
    consts = [CATALOG.DOOR, CATALOG.DOOR_OPEN, _USER, _MERCHANT, _ASSISTANT, _CRITTER,
              CATALOG.role_id("thief"), requests.FETCH, _CAUGHT]  # fmt: skip
    rows: list[Sequence[int] | np.ndarray] = [
        CATALOG.WALKABLE, CATALOG.IS_DOOR, CATALOG.IS_CLOSED, CATALOG.IS_LOCKED, CATALOG.IS_OPEN,
        CATALOG.LOCK_COLOUR, CATALOG.KEY_COLOUR, CATALOG.FOOD, CATALOG.YIELDS, prey, consts,
    ]  # fmt: skip
    out = np.zeros((len(rows), max(len(r) for r in rows)), np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = np.asarray(row, np.int64)
    out.setflags(write=False)
    return out


_TABLES = _tables()


PHASES = ("move", "interact", "eat", "catch", "escape", "requests", "tick")


def step(state: WorldState, actions: np.ndarray, config: TaskConfig) -> Events:
    """Advance every world one step with ``actions`` ``(B, N)`` (one per actor slot)."""
    roles = config.role_ids()
    events = Events.empty(state.batch, config.num_actors)
    _physics(
        state.tiles, state.items, state.occupant, state.pos, state.facing, state.carry, state.active,
        state.mode, state.home, state.t, state.key, state.eaten, state.region_map, state.req_type,
        state.req_target, np.ascontiguousarray(actions, np.int64), roles, _TABLES, events.per_actor(),
    )  # fmt: skip
    if config.requests:
        requests.update(state, config, events)
    state.t += 1
    return events
