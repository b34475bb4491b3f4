"""Solvability: what the user can reach, with door and key logic, and what a scene lacks.

A scene is *solvable* when :func:`problems` finds nothing:

- the outer border is wall;
- there is exactly one user ``@`` and exactly one assistant ``A``;
- there is at least one requestable item;
- every actor, every item and every region can be reached from the user, where closed
  doors can be opened and a locked door can be passed once a key of its colour has been
  reached without passing through it (keys are not used up);
- the user can be reached from the assistant by the same rules, with the keys the
  assistant reaches: the assistant serves every request, so a locked door between the two
  whose key lies only on the user's side would strand it (it then reaches everything the
  user does, since its reach holds the user's cell and reach only grows with keys);
- every locked door has a key of its colour somewhere in the scene (a door that can never
  open is a wall drawn as a door: a request to open it could never be served).
"""

from __future__ import annotations

import numpy as np

from vrenvs.core.catalog import CATALOG, COLOURS
from vrenvs.core.grid import flood, small_components
from vrenvs.core.regions import REGION_RULES, ground_mask, region_pieces
from vrenvs.core.scene import Scene, split_layers

__all__ = [
    "FAULTS",
    "base_passable",
    "faults_batch",
    "first_cells",
    "is_solvable",
    "keyless_locks",
    "problems",
    "reachable",
    "solvable_batch",
]


def base_passable(tiles: np.ndarray) -> np.ndarray:
    """Cells an actor can cross without a key: walkable tiles and doors that are not locked."""
    return CATALOG.WALKABLE[tiles] | CATALOG.IS_CLOSED[tiles]


def reachable(tiles: np.ndarray, items: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Cells reachable from ``start`` with door/key logic. All arrays ``(..., H, W)``."""
    base = base_passable(tiles)
    lock = CATALOG.LOCK_COLOUR[tiles]
    key = CATALOG.KEY_COLOUR[items]
    have = np.zeros((*tiles.shape[:-2], len(COLOURS)), dtype=bool)
    while True:
        # A locked cell is passable once the key of its colour has been reached.
        unlocked = np.zeros_like(base)
        for colour in range(len(COLOURS)):
            unlocked |= (lock == colour) & have[..., colour, None, None]
        reach = flood(start, base | unlocked)
        now = np.stack([(reach & (key == c)).any(axis=(-2, -1)) for c in range(len(COLOURS))], -1)
        if np.array_equal(now, have):
            return reach
        have = now


def keyless_locks(tiles: np.ndarray, items: np.ndarray) -> np.ndarray:
    """``(..., H, W)`` bool: the locked doors whose colour has no key anywhere in their grid."""
    lock = CATALOG.LOCK_COLOUR[tiles]
    key = CATALOG.KEY_COLOUR[items]
    out = np.zeros(tiles.shape, dtype=bool)
    for colour in range(len(COLOURS)):
        missing = ~(key == colour).any(axis=(-2, -1))
        out |= (lock == colour) & missing[..., None, None]
    return out


def _where(y: int, x: int) -> str:
    return f"line {y + 1}, column {x + 1}"


def problems(scene: Scene, limit: int = 20) -> list[str]:
    """Everything that keeps ``scene`` from being solvable, each naming where; [] if none."""
    tiles, items, roles = split_layers(scene.codes)
    found: list[str] = []
    border = np.ones(scene.shape, dtype=bool)
    border[1:-1, 1:-1] = False
    glyphs = np.array(list(CATALOG.glyphs))
    bad_border = np.argwhere(border & (scene.codes != CATALOG.WALL))
    for y, x in bad_border[:3]:
        found.append(
            f"{_where(y, x)}: the outer border must be wall '#', found {str(glyphs[scene.codes[y, x]])!r}"
        )
    if len(bad_border) > 3:
        found.append(f"... and {len(bad_border) - 3} more border cells that are not wall")
    for role in ("user", "assistant"):
        count = int((roles == CATALOG.role[role].id).sum())
        if count != 1:
            glyph = CATALOG.role[role].glyph
            found.append(f"missing element: the scene needs exactly one {role} {glyph!r}, found {count}")
    if not CATALOG.REQUESTABLE[items].any():
        wanted = "".join(i.glyph for i in CATALOG.items if i.requestable)
        found.append(f"missing element: no requestable item (one of {wanted!r})")
    for y, x in np.argwhere(keyless_locks(tiles, items)):
        colour = COLOURS[CATALOG.LOCK_COLOUR[tiles[y, x]]]
        door = str(glyphs[scene.codes[y, x]])
        key = CATALOG.item[f"{colour}_key"].glyph
        found.append(
            f"{_where(y, x)}: locked door {door!r} has no {colour} key {key!r} anywhere, it can never open"
        )
    users = roles == CATALOG.role["user"].id
    if users.any():
        start = np.zeros_like(users)
        start[tuple(np.argwhere(users)[0])] = True
        found.extend(_unreached(scene, tiles, items, roles, reachable(tiles, items, start)))
        assistants = roles == CATALOG.role["assistant"].id
        if assistants.sum() == 1 and not (reachable(tiles, items, assistants) & start).any():
            y, x = np.argwhere(users)[0]
            found.append(
                f"{_where(y, x)}: the user '@' is not reachable from the assistant: a locked door "
                "between them has its key only on the user's side"
            )
    return found[:limit]


def _unreached(
    scene: Scene, tiles: np.ndarray, items: np.ndarray, roles: np.ndarray, reach: np.ndarray
) -> list[str]:
    found = []
    glyphs = np.array(list(CATALOG.glyphs))
    for y, x in np.argwhere(((items > 0) | (roles > 0)) & ~reach):
        what = CATALOG.code_names[scene.codes[y, x]]
        found.append(
            f"{_where(y, x)}: {what} {str(glyphs[scene.codes[y, x]])!r} is not reachable from the user"
        )
    for piece in region_pieces(tiles):
        if not (piece & reach).any():
            y, x = np.argwhere(piece)[0]
            found.append(
                f"{_where(y, x)}: the region there ({int(piece.sum())} cells) is not reachable from the user"
            )
    return found


def is_solvable(scene: Scene) -> bool:
    return not problems(scene, limit=1)


def first_cells(mask: np.ndarray) -> np.ndarray:
    """``(N, H, W)`` bool: the first True cell of each grid of ``mask`` in reading order (none
    where a grid has none): where reach starts from a grid's user."""
    flat = np.asarray(mask, dtype=bool).reshape(len(mask), -1)
    has = flat.any(axis=1)
    out = np.zeros_like(flat)
    out[np.flatnonzero(has), flat.argmax(axis=1)[has]] = True
    return out.reshape(np.shape(mask))


def solvable_batch(codes: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: is each grid of ``codes`` (``(N, H, W)``) solvable? Same rules as
    :func:`problems`, computed for the whole batch with array operations: no fault of
    :func:`faults_batch`."""
    return np.logical_not(faults_batch(codes).any(axis=1))


FAULTS = (
    "border",
    "actors",
    "no item",
    "keyless lock",
    "unreached thing",
    "unreached region",
    "assistant cut off",
)
"""The kinds of fault :func:`problems` reports, in its order (columns of :func:`faults_batch`):
the outer border is not all wall; not exactly one user and one assistant; no requestable
item; a locked door without a key of its colour; an item or actor the user cannot reach; a
region the user cannot reach; the user not reachable from the assistant."""


def faults_batch(codes: np.ndarray) -> np.ndarray:
    """``(N, len(FAULTS))`` bool: which kinds of fault (:data:`FAULTS`) each grid of ``codes``
    (``(N, H, W)``) has; a grid is solvable exactly when its row is all False. The same
    checks as :func:`problems`, each made on its own (reach is from the first user cell in
    reading order; a grid without a user has no reach faults; the assistant check needs
    exactly one assistant)."""
    codes = np.asarray(codes)
    if codes.ndim != 3:
        raise ValueError(f"codes of shape {codes.shape} is not allowed; allowed: (N, H, W)")
    n = len(codes)
    out = np.zeros((n, len(FAULTS)), dtype=bool)
    if not n:
        return out
    tiles, items, roles = split_layers(codes)
    border = np.ones(codes.shape[1:], dtype=bool)
    border[1:-1, 1:-1] = False
    out[:, 0] = (codes[:, border] != CATALOG.WALL).any(axis=1)
    users = roles == CATALOG.role_id("user")
    assistants = roles == CATALOG.role_id("assistant")
    one_assistant = assistants.sum(axis=(1, 2)) == 1
    out[:, 1] = (users.sum(axis=(1, 2)) != 1) | ~one_assistant
    out[:, 2] = ~CATALOG.REQUESTABLE[items].any(axis=(1, 2))
    out[:, 3] = keyless_locks(tiles, items).any(axis=(1, 2))
    start = first_cells(users)
    has_user = start.any(axis=(1, 2))
    reach = reachable(tiles, items, start)
    out[:, 4] = has_user & (((items > 0) | (roles > 0)) & ~reach).any(axis=(1, 2))
    # A region is a ground component of at least min_cells; reach covers whole components,
    # so the unreached ground must only form components smaller than that.
    lost = ground_mask(tiles) & ~reach
    out[:, 5] = has_user & (lost & ~small_components(lost, REGION_RULES["min_cells"])).any(axis=(1, 2))
    cut_off = ~(reachable(tiles, items, assistants & one_assistant[:, None, None]) & start).any(axis=(1, 2))
    out[:, 6] = has_user & one_assistant & cut_off
    return out
