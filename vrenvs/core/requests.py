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
from vrenvs.core.jit import kernel
from vrenvs.core.language import REQUEST_TYPES, TEMPLATES, tokenize
from vrenvs.core.rng import Stream, uniform
from vrenvs.core.scene import Scene, SceneError
from vrenvs.core.state import TaskConfig, WorldState

__all__ = ["FETCH", "GUIDE", "ITEM_TOKENS", "LOCKED_REQUESTS", "OPEN", "issue", "share_of", "update"]

FETCH, GUIDE, OPEN = (REQUEST_TYPES.index(k) for k in ("fetch", "guide", "open"))
_NEVER = int(np.iinfo(np.int32).max)
_FETCH, _GUIDE, _OPEN = FETCH, GUIDE, OPEN
ITEM_TOKENS = np.stack(
    [np.zeros_like(tokenize("please"))]
    + [tokenize(TEMPLATES["fetch"].format(target=i.text)) for i in CATALOG.items]
)
"""``(I+1, L)`` tokens of "please bring me the <item>" per item id."""


LOCKED_REQUESTS = "locked_requests"
"""The scene ``meta`` key that sets a scene's share of requests for a locked door."""


def share_of(scene: Scene, config: TaskConfig) -> float:
    """The share of requests for a locked door in an episode of ``scene``: its ``meta``
    entry :data:`LOCKED_REQUESTS` (a number in [0, 1], e.g. set by a curriculum) or else
    ``config.locked_requests``. A bad entry is a :class:`~vrenvs.core.scene.SceneError`."""
    given = scene.meta.get(LOCKED_REQUESTS)
    if given is None:
        return config.locked_requests
    try:
        share = float(given)
    except (TypeError, ValueError):
        share = float("nan")
    if not 0.0 <= share <= 1.0:
        raise SceneError(
            f"scene {scene.name!r}: meta {LOCKED_REQUESTS}={given!r} is not allowed; "
            "allowed: a number in [0, 1]"
        )
    return share


def _settle(
    tiles, carry, pos, region_map, door_map, req_type, req_target, req_tokens, req_age, req_wait,
    patience, served, failed, user, after, is_open, done_out, gave_up_out, due,
):  # fmt: skip
    """Per world: check the pending request (done, or given up past the user's patience),
    age it, end it, count down to the next one; ``due`` marks worlds to issue one in (the
    number of them is returned)."""
    num_due = 0
    for b in range(req_type.shape[0]):
        kind = req_type[b]
        if kind > 0:
            done = False
            if kind == _FETCH and carry[b, user] == req_target[b]:
                done = True
                carry[b, user] = 0  # the user takes the item away
            elif kind == _GUIDE:
                done = region_map[b, pos[b, user, 0], pos[b, user, 1]] == req_target[b]
            elif kind == _OPEN:
                for y in range(tiles.shape[1]):
                    for x in range(tiles.shape[2]):
                        if door_map[b, y, x] == req_target[b] and is_open[tiles[b, y, x]]:
                            done = True
            req_age[b] += 1
            gave_up = not done and req_age[b] > patience[b]
            if done:
                done_out[b] = kind
                served[b] += 1
            if gave_up:
                gave_up_out[b] = kind
                failed[b] += 1
            if done or gave_up:
                req_type[b] = 0
                req_tokens[b, :] = 0
                req_wait[b] = after
        if req_type[b] == 0 and 0 < req_wait[b] < _NEVER:
            req_wait[b] -= 1
        due[b] = req_type[b] == 0 and req_wait[b] == 0
        num_due += due[b]
    return num_due


_settle = kernel(_settle)


def update(state: WorldState, config: TaskConfig, events) -> None:
    """Check, age, end and (in stream tasks) issue requests; record ends in ``events``."""
    user = config.slot_of("user") % config.num_actors
    due = np.zeros(state.batch, bool)
    num_due = _settle(
        state.tiles, state.carry, state.pos, state.region_map, state.door_map, state.req_type,
        state.req_target, state.req_tokens, state.req_age, state.req_wait, state.patience, state.served,
        state.failed, user, config.request_delay if config.stream else _NEVER, CATALOG.IS_OPEN,
        events.done, events.gave_up, due,
    )  # fmt: skip
    if num_due:
        b = np.flatnonzero(due)
        issue(state, b, config, uniform(state.key[b], state.t[b], Stream.REQUEST, lanes=2))


def _present_items(state: WorldState, b: np.ndarray, user: int) -> np.ndarray:
    """``(n, I+1)`` requestable items lying in, or carried by a non-user in, worlds ``b``."""
    width = CATALOG.num_items + 1
    grid = state.items[b].reshape(len(b), -1).astype(np.int64)
    carried = np.delete(state.carry[b], user, axis=1).astype(np.int64)
    ids = np.concatenate([grid, carried], axis=1) + (np.arange(len(b)) * width)[:, None]
    counts = np.bincount(ids.ravel(), minlength=len(b) * width).reshape(len(b), width)
    return (counts > 0) & CATALOG.REQUESTABLE


def _openable_doors(state: WorldState, b: np.ndarray, locked_only: bool = False) -> np.ndarray:
    """``(n, Dmax)`` door names with a closed door, or a locked one whose key exists (only
    the latter with ``locked_only``)."""
    width = state.door_tokens.shape[1]
    tiles = state.tiles[b]
    keys = np.zeros((len(b), 5), bool)  # colour index + 1, 0 = no key
    key_colour = CATALOG.KEY_COLOUR[np.concatenate([state.items[b].reshape(len(b), -1), state.carry[b]], 1)]
    np.put_along_axis(keys, key_colour.astype(np.int64) + 1, True, axis=1)
    lock = CATALOG.LOCK_COLOUR[tiles].astype(np.int64) + 1
    unlockable = np.take_along_axis(keys, lock.reshape(len(b), -1), axis=1).reshape(lock.shape)
    ok = CATALOG.IS_LOCKED[tiles] & unlockable
    if not locked_only:
        ok |= CATALOG.IS_CLOSED[tiles]
    ok &= state.door_map[b] >= 0
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
    """Make a new request in worlds ``b`` using ``draws`` ``(n, 2)`` uniform in [0, 1).

    With a world's share p = ``state.locked_requests`` > 0 (the config's or its scene's, see
    :func:`share_of`), a world whose first draw is below p and that has a locked door whose
    key exists is asked to open one of them (the second draw picks which); every other world
    draws as usual from its first draw rescaled to [0, 1) (u / p below p, (u - p) / (1 - p)
    above), so p = 0 leaves every request as it was."""
    p = state.locked_requests[b]
    if "open" in config.requests and (p > 0).any():
        u = draws[:, 0]
        locked = _openable_doors(state, b, locked_only=True)
        ask = (u < p) & locked.any(axis=1)
        draws = draws.copy()
        below = np.divide(u, p, out=np.zeros_like(u), where=p > 0)
        above = (u - p) / np.maximum(1.0 - p, 1e-12)
        draws[:, 0] = np.where(u < p, below, above)
        if ask.any():
            w = b[ask]
            target = _pick(locked[ask].astype(float), draws[ask, 1])
            state.req_type[w] = OPEN
            state.req_target[w] = target
            state.req_age[w] = 0
            state.req_tokens[w] = state.door_tokens[w, target]
        if ask.all():
            return
        b, draws = b[~ask], draws[~ask]
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
