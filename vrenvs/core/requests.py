"""The simulated user's requests: issuing them, checking them, giving up on them.

Request types (see :data:`vrenvs.core.language.REQUEST_TYPES`):

- FETCH item X: done when the user holds X (an actor *gives* it; the user accepts only X).
- GUIDE to region R: done when the user stands in R. The user follows the assistant while
  it is within ``follow_radius`` (see :mod:`vrenvs.core.controllers`).
- OPEN door D: done when any door named D is open.

A request the user has waited on for more than its ``patience`` is given up. In a stream
task a new request follows ``request_delay`` steps after each one ends.
"""

from __future__ import annotations

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.language import REQUEST_TYPES, TEMPLATES, tokenize
from vrenvs.core.rng import Stream, uniform
from vrenvs.core.state import TaskConfig, WorldState

__all__ = ["FETCH", "GUIDE", "ITEM_TOKENS", "OPEN", "issue", "open_doors", "update"]

FETCH, GUIDE, OPEN = (REQUEST_TYPES.index(k) for k in ("fetch", "guide", "open"))
_NEVER = np.iinfo(np.int32).max
ITEM_TOKENS = np.stack(
    [np.zeros_like(tokenize("please"))]
    + [tokenize(TEMPLATES["fetch"].format(target=i.text)) for i in CATALOG.items]
)
"""``(I+1, L)`` tokens of "please bring me the <item>" per item id."""


def open_doors(state: WorldState, b: np.ndarray, door: np.ndarray) -> np.ndarray:
    """For worlds ``b``: is any door named ``door`` open?"""
    named = state.door_map[b] == door[:, None, None]
    return (named & CATALOG.IS_OPEN[state.tiles[b]]).any(axis=(1, 2))


def _completed(state: WorldState, config: TaskConfig) -> np.ndarray:
    user = config.slot_of("user")
    kind = state.req_type
    done = np.zeros(state.batch, bool)
    fetch = (kind == FETCH) & (state.carry[:, user] == state.req_target)
    done |= fetch
    state.carry[fetch, user] = 0  # the user takes the item away
    y, x = state.pos[:, user, 0], state.pos[:, user, 1]
    here = state.region_map[np.arange(state.batch), y, x]
    done |= (kind == GUIDE) & (here == state.req_target)
    b = np.flatnonzero(kind == OPEN)
    if len(b):
        done[b] |= open_doors(state, b, state.req_target[b])
    return done


def update(state: WorldState, config: TaskConfig, events) -> None:
    """Check, age, end and (in stream tasks) issue requests; record ends in ``events``."""
    pending = state.req_type > 0
    done = pending & _completed(state, config)
    state.req_age[pending] += 1
    gave_up = pending & ~done & (state.req_age > state.patience)
    ended = done | gave_up
    events.done[done] = state.req_type[done]
    events.gave_up[gave_up] = state.req_type[gave_up]
    state.served += done
    state.failed += gave_up
    state.req_type[ended] = 0
    state.req_tokens[ended] = 0
    state.req_wait[ended] = config.request_delay if config.stream else _NEVER
    waiting = (state.req_type == 0) & (state.req_wait > 0) & (state.req_wait < _NEVER)
    state.req_wait[waiting] -= 1
    due = np.flatnonzero((state.req_type == 0) & (state.req_wait == 0))
    if len(due):
        draws = uniform(state.key[due], state.t[due], Stream.REQUEST, lanes=2)
        issue(state, due, config, draws)


def _present_items(state: WorldState, b: np.ndarray, user: int) -> np.ndarray:
    """``(n, I+1)`` requestable items lying in, or carried by a non-user in, worlds ``b``."""
    width = CATALOG.num_items + 1
    grid = state.items[b].reshape(len(b), -1).astype(np.int64)
    carried = np.delete(state.carry[b], user, axis=1).astype(np.int64)
    ids = np.concatenate([grid, carried], axis=1) + (np.arange(len(b)) * width)[:, None]
    counts = np.bincount(ids.ravel(), minlength=len(b) * width).reshape(len(b), width)
    return (counts > 0) & CATALOG.REQUESTABLE


def _openable_doors(state: WorldState, b: np.ndarray) -> np.ndarray:
    """``(n, Dmax)`` door names with a closed door, or a locked one whose key exists."""
    width = state.door_tokens.shape[1]
    tiles = state.tiles[b]
    keys = np.zeros((len(b), 5), bool)  # colour index + 1, 0 = no key
    key_colour = CATALOG.KEY_COLOUR[np.concatenate([state.items[b].reshape(len(b), -1), state.carry[b]], 1)]
    np.put_along_axis(keys, key_colour.astype(np.int64) + 1, True, axis=1)
    lock = CATALOG.LOCK_COLOUR[tiles].astype(np.int64) + 1
    unlockable = np.take_along_axis(keys, lock.reshape(len(b), -1), axis=1).reshape(lock.shape)
    ok = (CATALOG.IS_CLOSED[tiles] | (CATALOG.IS_LOCKED[tiles] & unlockable)) & (state.door_map[b] >= 0)
    ids = (
        np.where(ok, state.door_map[b], width).reshape(len(b), -1)
        + (np.arange(len(b)) * (width + 1))[:, None]
    )
    counts = np.bincount(ids.ravel(), minlength=len(b) * (width + 1)).reshape(len(b), width + 1)
    return counts[:, :width] > 0


def _pick(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index drawn per row with probability proportional to ``weights``; -1 if all zero."""
    total = weights.sum(axis=1)
    cum = np.cumsum(weights, axis=1)
    idx = (cum <= (u * total)[:, None]).sum(axis=1)
    return np.where(total > 0, np.minimum(idx, weights.shape[1] - 1), -1)


def issue(state: WorldState, b: np.ndarray, config: TaskConfig, draws: np.ndarray) -> None:
    """Make a new request in worlds ``b`` using ``draws`` ``(n, 2)`` uniform in [0, 1)."""
    user = config.slot_of("user")
    y, x = state.pos[b, user, 0], state.pos[b, user, 1]
    current = state.region_map[b, y, x]
    items = _present_items(state, b, user) * state.preference[b]
    regions = np.arange(state.region_tokens.shape[1])[None, :]
    guide = ((regions < state.num_regions[b][:, None]) & (regions != current[:, None])).astype(float)
    doors = _openable_doors(state, b).astype(float)
    options = {"fetch": items, "guide": guide, "open": doors}
    kinds = [k for k in config.requests if k in options]
    valid = np.stack([options[k].sum(axis=1) > 0 for k in kinds], axis=1).astype(float)
    choice = _pick(valid, draws[:, 0])
    for i, kind in enumerate(kinds):
        rows = choice == i
        if not rows.any():
            continue
        target = _pick(options[kind][rows], draws[rows, 1])
        w = b[rows]
        state.req_type[w] = REQUEST_TYPES.index(kind)
        state.req_target[w] = target
        state.req_age[w] = 0
        if kind == "fetch":
            state.req_tokens[w] = ITEM_TOKENS[target]
        elif kind == "guide":
            state.req_tokens[w] = state.region_tokens[w, target]
        else:
            state.req_tokens[w] = state.door_tokens[w, target]
    idle = b[choice < 0]
    state.req_wait[idle] = config.request_delay if config.stream else _NEVER
