"""The batched world state and the static configuration that fixes its shapes.

Every array has a leading batch axis ``B``; actor arrays then have an actor-slot axis ``N``.
Grids are padded by ``margin`` wall cells so egocentric views never index out of bounds.
Per-step randomness comes from :func:`vrenvs.core.rng.uniform`, a hash of the episode key and
the step counter, so every sub-env is independent of the others and of global RNGs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.language import MAX_TOKENS

__all__ = ["ACTION_NAMES", "KEY_GOALS", "MODES", "Action", "TaskConfig", "WorldState", "allocate"]


class Action:
    """Discrete actions shared by every actor."""

    NOOP, UP, RIGHT, DOWN, LEFT, PICKUP, DROP, GIVE, TOGGLE = range(9)


ACTION_NAMES = ("noop", "up", "right", "down", "left", "pickup", "drop", "give", "toggle")

KEY_GOALS = ("any", "lock")
"""Values of :attr:`TaskConfig.key_goal` (env kwarg ``key_goal``): ``any``, the route sensor's
``key`` goal is any key on the ground and progress shaping leaves keys out unless the door to
open is out of reach (the first behaviour, which the shipped policies were trained with);
``lock``, the ``key`` goal is the keys that open a locked door still shut (not of the colour
the actor holds), and shaping counts the way to such a key first when the door to open is
locked and the actor holds no key for it, or the wanted item lies behind a locked door."""
MODES = ("idle", "patrolling", "chasing", "fleeing", "trading", "stealing", "escaping", "caught", "following")
"""NPC / user modes, shown as badges by the renderer; index = ``state.mode`` value."""


@functools.lru_cache(maxsize=64)
def _role_ids(roles: tuple[str, ...]) -> np.ndarray:
    ids = np.array([CATALOG.role_id(r) for r in roles], dtype=np.uint8)
    ids.setflags(write=False)
    return ids


@functools.lru_cache(maxsize=64)
def _occupant_roles(roles: tuple[str, ...]) -> np.ndarray:
    ids = np.concatenate([[0], _role_ids(roles)]).astype(np.int64)
    ids.setflags(write=False)
    return ids


@functools.lru_cache(maxsize=64)
def _yielding(roles: tuple[str, ...]) -> np.ndarray:
    flags = CATALOG.YIELDS[_occupant_roles(roles)]
    flags.setflags(write=False)
    return flags


@functools.lru_cache(maxsize=256)
def _role_slots(roles: tuple[str, ...], role: str | None) -> np.ndarray:
    slots = np.array([s for s, r in enumerate(roles) if r == role], np.int64)
    slots.setflags(write=False)
    return slots


@dataclass(frozen=True)
class TaskConfig:
    """Static parameters of a task: actors, requests, limits and rewards.

    ``roles`` lists the role of every actor slot; ``learner`` is the slot the agent drives.
    Fields that fix array shapes (size, roles, view) are here so a batch never reshapes.
    """

    name: str
    roles: tuple[str, ...]
    learner: int
    goal: str = "serve"  # the objective (vrenvs.core.tasks): serve | guard | flee | steal | chase
    requests: tuple[str, ...] = ()
    stream: bool = False
    size: int = 16
    view: int = 7
    max_steps: int = 256
    patience: tuple[int, int] = (200, 400)
    mobility: tuple[float, float] = (0.6, 1.0)
    follow_radius: int = 3
    request_delay: int = 4
    sight: int = 5
    num_food: int = 0
    rewards: dict[str, float] = field(default_factory=dict)
    key_goal: str = "any"  # which keys the route sensor and shaping aim at: see KEY_GOALS
    locked_requests: float = 0.0
    """share of requests that ask to open a locked door whose key exists, in a world that has
    one (the other requests are drawn as usual; 0 = every request as usual); a scene whose
    ``meta`` names ``locked_requests`` sets its own (see :func:`vrenvs.core.requests.share_of`)"""

    @property
    def margin(self) -> int:
        return self.view // 2

    @property
    def num_actors(self) -> int:
        return len(self.roles)

    def role_ids(self) -> np.ndarray:
        """``(N,)`` uint8 role id of every slot (read-only; shared between calls)."""
        return _role_ids(self.roles)

    def occupant_roles(self) -> np.ndarray:
        """``(N+1,)`` role id by ``state.occupant`` value (0: no actor)."""
        return _occupant_roles(self.roles)

    def yielding(self) -> np.ndarray:
        """``(N+1,)`` bool by ``state.occupant`` value: does that actor swap places when
        walked into (see the move rule)?"""
        return _yielding(self.roles)

    def slots(self, role: str | None) -> np.ndarray:
        """``(k,)`` int64 slots holding ``role``, in slot order (read-only; shared between
        calls; None or a role the world lacks: empty)."""
        return _role_slots(self.roles, role)

    def slot_of(self, role: str) -> int:
        """First slot with ``role``, or -1 when the world has none (a name that is no role
        at all is an error, not a silent -1)."""
        found = _role_slots(self.roles, role)
        if len(found):
            return int(found[0])
        if role not in CATALOG.role:
            raise ValueError(f"unknown role {role!r}; choose from {sorted(CATALOG.role)}")
        return -1


@dataclass
class WorldState:
    """Arrays for ``B`` worlds. Updated in place by :func:`vrenvs.core.rules.step`."""

    tiles: np.ndarray  # (B, Hp, Wp) uint8 tile ids
    items: np.ndarray  # (B, Hp, Wp) uint8 item ids on the ground
    occupant: np.ndarray  # (B, Hp, Wp) uint8 actor slot + 1, 0 = free
    pos: np.ndarray  # (B, N, 2) int16 padded (y, x)
    facing: np.ndarray  # (B, N) int8 action id of the last direction (1..4)
    carry: np.ndarray  # (B, N) uint8 carried item id
    active: np.ndarray  # (B, N) bool, False once caught or gone
    mode: np.ndarray  # (B, N) uint8 index into MODES
    goal: np.ndarray  # (B, N) int16 index of the NPC's current guide field / waypoint
    home: np.ndarray  # (B, N, 2) int16 spawn cell
    t: np.ndarray  # (B,) int32 steps taken this episode
    key: np.ndarray  # (B,) uint64 episode key for per-step randomness
    req_type: np.ndarray  # (B,) int8 index into REQUEST_TYPES
    req_target: np.ndarray  # (B,) int16 item id / region index / door index
    req_tokens: np.ndarray  # (B, L) int16
    req_age: np.ndarray  # (B,) int32 steps since the request was made
    req_wait: np.ndarray  # (B,) int32 steps until the next request
    patience: np.ndarray  # (B,) int32
    mobility: np.ndarray  # (B,) float32 chance the user takes a step it wants
    preference: np.ndarray  # (B, I+1) float32 hidden liking of each item (sums to 1)
    region_map: np.ndarray  # (B, Hp, Wp) int16
    door_map: np.ndarray  # (B, Hp, Wp) int16
    num_regions: np.ndarray  # (B,) int16
    num_doors: np.ndarray  # (B,) int16
    region_tokens: np.ndarray  # (B, Rmax, L) int16
    door_tokens: np.ndarray  # (B, Dmax, L) int16
    guide: np.ndarray  # (B, Rmax, Hp, Wp) int16 steps to each region's central cell
    served: np.ndarray  # (B,) int32 requests completed this episode
    failed: np.ndarray  # (B,) int32 requests given up on
    eaten: np.ndarray  # (B,) int32 food eaten by the learner
    locked_requests: np.ndarray  # (B,) float64 share of requests for a locked door (config or scene)

    @property
    def batch(self) -> int:
        return int(self.t.shape[0])

    def copy(self) -> WorldState:
        return WorldState(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    def take(self, index: int | slice | np.ndarray) -> WorldState:
        """The worlds at ``index`` as a new state (copies)."""
        return WorldState(**{f.name: getattr(self, f.name)[index].copy() for f in fields(self)})


MAX_REGIONS = 24
MAX_DOORS = 24


def allocate(config: TaskConfig, batch: int) -> WorldState:
    """Zeroed state for ``batch`` worlds of ``config``; reset slots before stepping."""
    side = config.size + 2 * config.margin
    grid = (batch, side, side)
    n = config.num_actors
    return WorldState(
        tiles=np.full(grid, CATALOG.WALL, dtype=np.uint8),
        items=np.zeros(grid, np.uint8),
        occupant=np.zeros(grid, np.uint8),
        pos=np.zeros((batch, n, 2), np.int16),
        facing=np.full((batch, n), 3, np.int8),
        carry=np.zeros((batch, n), np.uint8),
        active=np.zeros((batch, n), bool),
        mode=np.zeros((batch, n), np.uint8),
        goal=np.zeros((batch, n), np.int16),
        home=np.zeros((batch, n, 2), np.int16),
        t=np.zeros(batch, np.int32),
        key=np.zeros(batch, np.uint64),
        req_type=np.zeros(batch, np.int8),
        req_target=np.zeros(batch, np.int16),
        req_tokens=np.zeros((batch, MAX_TOKENS), np.int16),
        req_age=np.zeros(batch, np.int32),
        req_wait=np.zeros(batch, np.int32),
        patience=np.zeros(batch, np.int32),
        mobility=np.ones(batch, np.float32),
        preference=np.zeros((batch, CATALOG.num_items + 1), np.float32),
        region_map=np.full(grid, -1, np.int16),
        door_map=np.full(grid, -1, np.int16),
        num_regions=np.zeros(batch, np.int16),
        num_doors=np.zeros(batch, np.int16),
        region_tokens=np.zeros((batch, MAX_REGIONS, MAX_TOKENS), np.int16),
        door_tokens=np.zeros((batch, MAX_DOORS, MAX_TOKENS), np.int16),
        guide=np.zeros((batch, MAX_REGIONS, side, side), np.int16),
        served=np.zeros(batch, np.int32),
        failed=np.zeros(batch, np.int32),
        eaten=np.zeros(batch, np.int32),
        locked_requests=np.zeros(batch, np.float64),
    )
