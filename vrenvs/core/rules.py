"""The transition: ``step(state, actions, config) -> Events`` as a pipeline of named phases.

Each phase is written once for the whole batch. Actors act in slot order within a phase
(slot 0 first), which settles conflicts such as two actors moving into one cell.

Phases: move -> interact (pick up, drop, give, toggle) -> eat -> catch -> escape ->
requests -> tick.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vrenvs.core import requests
from vrenvs.core.catalog import CATALOG
from vrenvs.core.grid import DELTAS
from vrenvs.core.rng import Stream, integers
from vrenvs.core.state import MODES, Action, TaskConfig, WorldState

__all__ = ["PHASES", "Events", "neighbour_cells", "step"]

_USER = CATALOG.role_id("user")
_MERCHANT = CATALOG.role_id("merchant")
_ASSISTANT = CATALOG.role_id("assistant")
_CRITTER = CATALOG.role_id("critter")
_CAUGHT = MODES.index("caught")
# Interaction order: the faced cell first, then up, right, down, left.
_NEIGHBOUR_ORDER = np.array([1, 2, 3, 4])


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

    @classmethod
    def empty(cls, batch: int, actors: int) -> Events:
        per_actor = {
            name: np.zeros((batch, actors), dtype)
            for name, dtype in (
                ("moved", bool),
                ("picked", np.uint8),
                ("dropped", np.uint8),
                ("gave", bool),
                ("refused", bool),
                ("opened", bool),
                ("ate", np.uint8),
                ("caught", bool),
                ("escaped", bool),
            )
        }
        return cls(**per_actor, done=np.zeros(batch, np.int8), gave_up=np.zeros(batch, np.int8))


def neighbour_cells(pos: np.ndarray, facing: np.ndarray) -> np.ndarray:
    """``(B, 5, 2)``: the faced cell, then the cells up, right, down and left of ``pos``."""
    dirs = np.concatenate([facing[:, None], np.broadcast_to(_NEIGHBOUR_ORDER, (len(pos), 4))], axis=1)
    return pos[:, None, :] + DELTAS[dirs]


def _first(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the first True per row and whether any was True."""
    return np.asarray(valid.argmax(axis=1)), np.asarray(valid.any(axis=1))


def _move(state: WorldState, actions: np.ndarray, roles: np.ndarray, events: Events) -> None:
    """Step into walkable cells. An actor whose role yields (see actors.yaml: all but the
    assistant) swaps places with the one stepping in, so nobody blocks a doorway for good."""
    rows = np.arange(state.batch)
    for slot in range(actions.shape[1]):
        act = actions[:, slot]
        wants = (act >= Action.UP) & (act <= Action.LEFT) & state.active[:, slot]
        if not wants.any():
            continue
        state.facing[wants, slot] = act[wants]
        here = state.pos[:, slot]
        there = here + DELTAS[np.where(wants, act, 0)]
        ty, tx = there[:, 0], there[:, 1]
        other = state.occupant[rows, ty, tx].astype(np.int64) - 1
        swap = (other >= 0) & CATALOG.YIELDS[roles[np.maximum(other, 0)]]
        ok = wants & CATALOG.WALKABLE[state.tiles[rows, ty, tx]] & ((other < 0) | swap)
        swap &= ok
        b = rows[ok]
        state.occupant[b, here[ok, 0], here[ok, 1]] = 0
        sb, su = rows[swap], other[swap]
        state.occupant[sb, here[swap, 0], here[swap, 1]] = su + 1
        state.pos[sb, su] = here[swap]
        state.occupant[b, ty[ok], tx[ok]] = slot + 1
        state.pos[ok, slot] = there[ok]
        events.moved[ok, slot] = True


def _pickup(state: WorldState, slot: int, who: np.ndarray, events: Events) -> None:
    rows = np.arange(state.batch)[who]
    pos = state.pos[who, slot]
    cells = np.concatenate([pos[:, None], neighbour_cells(pos, state.facing[who, slot])], axis=1)
    found = state.items[rows[:, None], cells[..., 0], cells[..., 1]]
    idx, has = _first(found > 0)
    b, cell = rows[has], cells[has, idx[has]]
    item = state.items[b, cell[:, 0], cell[:, 1]]
    state.items[b, cell[:, 0], cell[:, 1]] = 0
    state.carry[b, slot] = item
    events.picked[b, slot] = item


def _drop(state: WorldState, slot: int, who: np.ndarray, events: Events) -> None:
    """Put the carried item on the actor's cell, else the faced cell, else any free neighbour."""
    rows = np.arange(state.batch)[who]
    pos = state.pos[who, slot]
    cells = np.concatenate([pos[:, None], neighbour_cells(pos, state.facing[who, slot])], axis=1)
    tiles = state.tiles[rows[:, None], cells[..., 0], cells[..., 1]]
    free = (
        (state.items[rows[:, None], cells[..., 0], cells[..., 1]] == 0)
        & CATALOG.WALKABLE[tiles]
        & ~CATALOG.IS_DOOR[tiles]
    )
    idx, has = _first(free)
    b, cell = rows[has], cells[has, idx[has]]
    state.items[b, cell[:, 0], cell[:, 1]] = state.carry[b, slot]
    events.dropped[b, slot] = state.carry[b, slot]
    state.carry[b, slot] = 0


def _accepts(
    state: WorldState, b: np.ndarray, receiver: np.ndarray, item: np.ndarray, roles: np.ndarray
) -> np.ndarray:
    """Who takes a gift: the user only the item it asked for, a merchant anything (it swaps),
    the assistant anything while its hands are empty, other NPCs nothing."""
    role = roles[receiver]
    wants = (state.req_type[b] == requests.FETCH) & (state.req_target[b] == item)
    free_hands = state.carry[b, receiver] == 0
    return np.where(role == _USER, wants, (role == _MERCHANT) | ((role == _ASSISTANT) & free_hands))


def _give(state: WorldState, slot: int, who: np.ndarray, roles: np.ndarray, events: Events) -> None:
    rows = np.arange(state.batch)[who]
    cells = neighbour_cells(state.pos[who, slot], state.facing[who, slot])
    occ = state.occupant[rows[:, None], cells[..., 0], cells[..., 1]].astype(np.int64)
    present = (occ > 0) & (occ != slot + 1)
    item = state.carry[rows, slot]
    receiver = np.maximum(occ - 1, 0)
    accept = present & _accepts(state, rows[:, None], receiver, item[:, None], roles)
    idx, ok = _first(accept)
    events.refused[rows[present.any(axis=1) & ~ok], slot] = True
    ok_b, ok_r = rows[ok], receiver[ok, idx[ok]]
    swap = np.where(roles[ok_r] == _MERCHANT, state.carry[ok_b, ok_r], 0)
    state.carry[ok_b, ok_r] = state.carry[ok_b, slot]
    state.carry[ok_b, slot] = swap
    events.gave[ok_b, slot] = True


def _toggle(state: WorldState, slot: int, who: np.ndarray, events: Events) -> None:
    rows = np.arange(state.batch)[who]
    cells = neighbour_cells(state.pos[who, slot], state.facing[who, slot])
    tiles = state.tiles[rows[:, None], cells[..., 0], cells[..., 1]]
    idx, has = _first(CATALOG.IS_DOOR[tiles])
    b, cell = rows[has], cells[has, idx[has]]
    y, x = cell[:, 0], cell[:, 1]
    tile = state.tiles[b, y, x]
    key_fits = CATALOG.KEY_COLOUR[state.carry[b, slot]] == CATALOG.LOCK_COLOUR[tile]
    opens = CATALOG.IS_CLOSED[tile] | (CATALOG.IS_LOCKED[tile] & key_fits)
    closes = CATALOG.IS_OPEN[tile] & (state.occupant[b, y, x] == 0) & (state.items[b, y, x] == 0)
    state.tiles[b[opens], y[opens], x[opens]] = CATALOG.DOOR_OPEN
    state.tiles[b[closes], y[closes], x[closes]] = CATALOG.DOOR
    events.opened[b[opens], slot] = True


def _interact(state: WorldState, actions: np.ndarray, roles: np.ndarray, events: Events) -> None:
    for slot in range(actions.shape[1]):
        act = actions[:, slot]
        alive = state.active[:, slot]
        holding = state.carry[:, slot] > 0
        for action, phase, need in (
            (Action.PICKUP, _pickup, ~holding),
            (Action.DROP, _drop, holding),
            (Action.TOGGLE, _toggle, None),
        ):
            who = (act == action) & alive if need is None else (act == action) & alive & need
            if who.any():
                phase(state, slot, who, events)
        who = (act == Action.GIVE) & alive & holding
        if who.any():
            _give(state, slot, who, roles, events)


def _eat(state: WorldState, roles: np.ndarray, events: Events) -> None:
    """Critters eat food they stand on; new food grows on a random free ground cell."""
    for slot in np.flatnonzero(roles == _CRITTER):
        y, x = state.pos[:, slot, 0], state.pos[:, slot, 1]
        rows = np.arange(state.batch)
        item = state.items[rows, y, x]
        eats = state.active[:, slot] & CATALOG.FOOD[item]
        if not eats.any():
            continue
        b = rows[eats]
        state.items[b, y[eats], x[eats]] = 0
        events.ate[b, slot] = item[eats]
        state.eaten[b] += 1
        _regrow(state, b, item[eats], int(slot))


def _regrow(state: WorldState, b: np.ndarray, item: np.ndarray, salt: int) -> None:
    side = state.tiles.shape[-1]
    cells = integers(state.key[b], state.t[b] + salt, Stream.FOOD, side * side, lanes=16)
    ys, xs = np.divmod(cells, side)
    free = (
        (state.region_map[b[:, None], ys, xs] >= 0)
        & (state.items[b[:, None], ys, xs] == 0)
        & (state.occupant[b[:, None], ys, xs] == 0)
    )
    idx, has = _first(free)
    pick = idx[has]
    state.items[b[has], ys[has, pick], xs[has, pick]] = item[has]


def _remove(state: WorldState, b: np.ndarray, slot: int) -> None:
    y, x = state.pos[b, slot, 0], state.pos[b, slot, 1]
    state.occupant[b, y, x] = 0
    state.active[b, slot] = False
    state.mode[b, slot] = _CAUGHT
    loot = state.carry[b, slot]
    back = (loot > 0) & (state.items[b, y, x] == 0)
    state.items[b[back], y[back], x[back]] = loot[back]
    state.carry[b, slot] = 0


def _catch(state: WorldState, roles: np.ndarray, events: Events) -> None:
    for hunter in range(len(roles)):
        prey_role = CATALOG.roles[roles[hunter] - 1].catches
        if prey_role is None:
            continue
        for prey in np.flatnonzero(roles == CATALOG.role_id(prey_role)):
            gap = np.abs(state.pos[:, hunter] - state.pos[:, prey]).sum(axis=1)
            hit = state.active[:, hunter] & state.active[:, prey] & (gap <= 1)
            if hit.any():
                events.caught[hit, prey] = True
                _remove(state, np.flatnonzero(hit), int(prey))


def _escape(state: WorldState, roles: np.ndarray, events: Events) -> None:
    for slot in np.flatnonzero(roles == CATALOG.role_id("thief")):
        home = (state.pos[:, slot] == state.home[:, slot]).all(axis=1)
        gone = state.active[:, slot] & (state.carry[:, slot] > 0) & home
        if gone.any():
            b = np.flatnonzero(gone)
            events.escaped[b, slot] = True
            y, x = state.pos[b, slot, 0], state.pos[b, slot, 1]
            state.occupant[b, y, x] = 0
            state.active[b, slot] = False


PHASES = ("move", "interact", "eat", "catch", "escape", "requests", "tick")


def step(state: WorldState, actions: np.ndarray, config: TaskConfig) -> Events:
    """Advance every world one step with ``actions`` ``(B, N)`` (one per actor slot)."""
    roles = config.role_ids()
    events = Events.empty(state.batch, config.num_actors)
    _move(state, actions, roles, events)
    _interact(state, actions, roles, events)
    _eat(state, roles, events)
    _catch(state, roles, events)
    _escape(state, roles, events)
    if config.requests:
        requests.update(state, config, events)
    state.t += 1
    return events
