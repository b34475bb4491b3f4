"""Curriculum scene sources: which scenes the next episodes play, steered by how the learner fares.

A :class:`CurriculumSource` wraps any indexed source (``scenes={"source": "curriculum",
"method": "plr", "base": "vqvae"}``) and plays its scenes, but chooses which ones from scores
the training run reports back with :meth:`CurriculumSource.update` (the SB3 callback
``agents.curriculum.CurriculumCallback`` does it after every rollout; any other trainer calls
it directly, with scores from :class:`EpisodeScorer`). Methods:

- ``uniform``: the base source's own draws; scores are recorded but never used. The control:
  it draws no extra random numbers, so its episodes are exactly the base source's.
- ``plr``: Prioritized Level Replay (Jiang, Grefenstette and Rocktaschel, 2021). A buffer of
  at most ``buffer_size`` scene indices with a score each (the learning potential of the
  scene's last episode, e.g. its positive value loss) and the time it was last scored. Once
  the buffer is ``min_fill`` full, an episode replays a buffer scene with probability
  ``replay_prob`` (else it plays a new scene of the split, drawn as the base source would),
  picked from ``(1 - staleness) * P_score + staleness * P_stale`` where ``P_score`` ranks the
  scores (``h_i = (1 / rank_i) ** (1 / temperature)``, normalised) and ``P_stale`` is
  proportional to how many scores were reported since scene ``i``'s last one. A scored scene
  not in a full buffer replaces the lowest-scored one if it scores higher.
- ``accel``: PLR plus edits (Parker-Holder et al., 2022): after a replayed scene is scored, one
  edit of it (``edit_cells`` interior cells flipped between floor and wall, then repaired so
  it stays solvable) is queued and played as the next new scene; it enters the buffer by its
  own score, so edits of edits build up where learning is. An edited scene has an index at
  or above :data:`EDIT_BASE`; its identity names the base scene and the edit seeds, and
  :func:`edited` rebuilds it from them.
- ``condition``: PLR over the generator's *conditions* instead of its scenes. The base must be
  a conditioned generator (``vqvae``, ``vqgan``); each *arm* asks it for one bucket of a scene
  property (``properties``, by default ``locked_doors`` and ``distance``: the arms
  ``locked_doors=none``, ``locked_doors=some``, ``distance=near``, ...; see
  :mod:`generators.properties`; the generator draws an arm's scenes in the styles whose corpus
  has the bucket, a growing block of seeds at a time up to :data:`ARM_BANK`). An arm's score
  is the running mean (weight :data:`ARM_SMOOTHING`) of the scores of the episodes it served;
  with probability ``replay_prob`` an episode plays a *new* scene of the split drawn under an
  arm picked from the same rank + staleness distribution as PLR's (an arm not yet played goes
  first), else a base scene. No scene is replayed: the learner keeps seeing fresh scenes while
  the curriculum moves the generator towards what it learns most from, and an arm's score
  pools hundreds of episodes where a scene's has one. Arm ``a``'s scene of seed ``s`` has the
  index ``ARM_BASE + a * NUM_SCENE_INDICES + s``; its identity carries the targets, so it
  replays as ``scenes={"source": "vqvae", "targets": {...}}, start_scene=s, num_scenes=1``.
  With ``locked_requests`` = p > 0 the arms steer the task too: in an arm's episodes the user
  asks to open a locked door (whose key exists) at share p (the scene's ``meta``; the identity
  carries it, and the env kwarg ``locked_requests=p`` replays it).

Everything is drawn from the world's RNG (the replay decision and pick) or from the edit's
seed, so a seeded run given the same scores plays the same scenes. :meth:`CurriculumSource.state`
and :meth:`~CurriculumSource.load_state` save and restore the buffer as plain arrays (an
``.npz`` with ``allow_pickle=False``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.checks import check_choice, check_float, check_int
from vrenvs.core.repair import repair
from vrenvs.core.requests import LOCKED_REQUESTS
from vrenvs.core.scene import Scene
from vrenvs.core.sources import NUM_SCENE_INDICES, IndexedSource, bank_block, default_source, make_source

__all__ = [
    "EDIT_BASE",
    "METHODS",
    "OUTCOME_SCORES",
    "CurriculumSettings",
    "CurriculumSource",
    "EpisodeScorer",
    "LevelBuffer",
    "curriculum_source",
    "edit_scene",
    "edited",
]

METHODS = ("uniform", "plr", "accel", "condition")
EDIT_BASE = NUM_SCENE_INDICES
"""Edited scenes (``accel``) get the indices ``EDIT_BASE + k``, past every base index."""
ARM_BASE = 2 * NUM_SCENE_INDICES
"""Scenes of a ``condition`` arm get the indices ``ARM_BASE + arm * NUM_SCENE_INDICES + seed``,
past every edit index."""
ARM_BANK = 128
"""``condition``: the most seeds an arm draws at once. An arm's first block is one bank of the
base (16 seeds for the learned sources); each refill doubles it up to ``ARM_BANK``, drawn as
one batch (the blocks' scenes then play in a random order, each once). Scene ``i`` of a v2
generator does not depend on the batch it is drawn in, so the block size changes only the
cost: an arm's scenes are met by generate and test (a ``locked_doors=some`` scene takes ~4
draws of the prior), and a draw costs less in rounds of a hundred rows than of a few
(measured, one torch thread, scenes repaired: ~28 ms a ``locked_doors=some`` scene in banks of
16, ~18 in banks of 128; 256 gains nothing more), while a short run that plays a few dozen
scenes of an arm should not pay for 128 up front."""
ARM_SMOOTHING = 0.1
"""Weight of an episode's score in its arm's running mean (``condition``)."""
SCORES = ("pvl", "l1", "success", "regret")
"""Episode scores: ``pvl`` the mean positive GAE advantage (positive value loss, the score of
robust PLR and ACCEL), ``l1`` the mean absolute advantage (PLR's L1 value loss), ``success``
1 or 0 (``condition`` only: an arm's priority is then ``p * (1 - p)`` of its running success
rate ``p``, highest where the learner succeeds half the time), ``regret`` 1 - success: the
regret against the oracle, which solves every served scene (repair guarantees it), so the
scenes or arms the learner fails most rank first."""
OUTCOME_SCORES = ("success", "regret")
"""The scores read from whether an episode succeeded (the trainer passes ``successes``)."""
STATE_VERSION = 1
EDIT_CACHE = 4096
"""Edited scenes kept built at once (older ones are rebuilt from their seeds when replayed)."""


@dataclass(frozen=True)
class CurriculumSettings:
    """The knobs of a curriculum, checked on construction (names, ranges and choices)."""

    method: str = "plr"
    buffer_size: int = 512
    replay_prob: float = 0.5
    temperature: float = 0.1
    staleness: float = 0.3
    min_fill: float = 0.5
    edit_cells: int = 4
    properties: tuple[str, ...] | str = ("locked_doors", "distance")
    """``condition``: the scene properties whose buckets are the arms (a list, or a
    comma-separated string, which is split: ``"locked_doors,distance"``); the other methods
    take the default only"""
    score: str = "pvl"
    """the episode score the trainer reports (:data:`SCORES`)"""
    locked_requests: float = 0.0
    """``condition``: the share of requests for a locked door in the episodes an arm serves
    (the scene's ``meta``, :func:`vrenvs.core.requests.share_of`); 0 = the env's own. The
    curriculum then steers the task as well as the scene: an arm asking for locked doors
    also has the user ask to open them"""

    def __post_init__(self) -> None:
        if isinstance(self.properties, str):
            names = tuple(n.strip() for n in self.properties.split(","))
            object.__setattr__(self, "properties", names)
        elif isinstance(self.properties, list):
            object.__setattr__(self, "properties", tuple(self.properties))
        if (
            not isinstance(self.properties, tuple)
            or not 1 <= len(self.properties) <= 8
            or not all(isinstance(p, str) for p in self.properties)
            or len(set(self.properties)) != len(self.properties)
        ):
            raise TypeError(
                f"properties={self.properties!r} must name 1 to 8 distinct scene properties, as a "
                "list or a comma-separated string (e.g. 'locked_doors,distance')"
            )
        check_choice("method", self.method, METHODS)
        if self.method != "condition" and self.properties != ("locked_doors", "distance"):
            raise ValueError(
                f"properties={','.join(self.properties)!r} is for method='condition' (its arms); "
                f"method={self.method!r} replays scenes, not properties (leave properties out)"
            )
        check_int("buffer_size", self.buffer_size, 1, 1_000_000)
        check_float("replay_prob", self.replay_prob, 0.0, 1.0)
        check_float("temperature", self.temperature, 0.0, 100.0, above=True)
        check_float("staleness", self.staleness, 0.0, 1.0)
        check_float("min_fill", self.min_fill, 0.0, 1.0)
        check_int("edit_cells", self.edit_cells, 1, 1024)
        check_choice("score", self.score, SCORES)
        check_float("locked_requests", self.locked_requests, 0.0, 1.0)
        if self.locked_requests and self.method != "condition":
            raise ValueError(
                f"locked_requests={self.locked_requests!r} is for method='condition' (its arms' "
                f"episodes); method={self.method!r} plays the base scenes as they are (give 0.0)"
            )
        if self.score == "success" and self.method in ("plr", "accel"):
            raise ValueError(
                f"score='success' is for method='condition' (an arm's priority is p * (1 - p) of its "
                f"success rate); method={self.method!r} scores scenes by 'pvl' or 'l1'"
            )


class LevelBuffer:
    """PLR's scene buffer: ``capacity`` slots of (index, score, last scored), see the module
    docstring for the arithmetic. ``clock`` counts the scores reported so far."""

    def __init__(self, capacity: int, temperature: float = 0.1, staleness: float = 0.3) -> None:
        self.capacity = check_int("capacity", capacity, 1, 1_000_000)
        self.temperature = check_float("temperature", temperature, 0.0, 100.0, above=True)
        self.staleness = check_float("staleness", staleness, 0.0, 1.0)
        self.indices = np.full(capacity, -1, np.int64)
        self.scores = np.zeros(capacity, np.float64)
        self.seen = np.zeros(capacity, np.int64)
        self.clock = 0
        self._slot: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, index: object) -> bool:
        return index in self._slot

    def score_of(self, index: int) -> float | None:
        """The buffered score of scene ``index`` (None when it is not buffered)."""
        slot = self._slot.get(int(index))
        return None if slot is None else float(self.scores[slot])

    def score_weights(self) -> np.ndarray:
        """``P_score`` over the filled slots (in slot order): rank-based, rank 1 the highest
        score; equal scores rank by slot order."""
        n = len(self)
        order = np.argsort(-self.scores[:n], kind="stable")
        ranks = np.empty(n, np.float64)
        ranks[order] = np.arange(1, n + 1)
        h = (1.0 / ranks) ** (1.0 / self.temperature)
        return h / h.sum()

    def stale_weights(self) -> np.ndarray:
        """``P_stale`` over the filled slots: proportional to ``clock - seen``, uniform when
        every slot was scored at the current clock."""
        n = len(self)
        age = (self.clock - self.seen[:n]).astype(np.float64)
        total = age.sum()
        return age / total if total > 0 else np.full(n, 1.0 / n)

    def probabilities(self) -> np.ndarray:
        """The replay distribution over the filled slots (in slot order)."""
        if not len(self):
            return np.zeros(0)
        return (1 - self.staleness) * self.score_weights() + self.staleness * self.stale_weights()

    def sample(self, rng: np.random.Generator) -> int:
        """A scene index drawn from :meth:`probabilities` (one ``rng.random()`` call)."""
        if not len(self):
            raise ValueError("the scene buffer is empty; nothing to replay")
        p = self.probabilities()
        slot = int(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right"))
        return int(self.indices[min(slot, len(self) - 1)])

    def update(self, index: int, score: float) -> bool:
        """Record ``score`` for scene ``index``: update it if buffered, else insert it into a
        free slot, else replace the lowest-scored slot (the stalest of equals) when ``score``
        is higher. Returns whether ``index`` is buffered afterwards."""
        score = float(score)
        if not np.isfinite(score):
            raise ValueError(f"score={score!r} for scene {index} must be finite")
        self.clock += 1
        slot = self._slot.get(int(index))
        if slot is None:
            n = len(self)
            if n < self.capacity:
                slot = n
            else:
                lowest = self.scores.min()
                candidates = np.flatnonzero(self.scores == lowest)
                slot = int(candidates[np.argmin(self.seen[candidates])])
                if score <= lowest:
                    return False
                del self._slot[int(self.indices[slot])]
            self._slot[int(index)] = slot
            self.indices[slot] = int(index)
        self.scores[slot] = score
        self.seen[slot] = self.clock
        return True

    def state(self) -> dict[str, np.ndarray]:
        n = len(self)
        return {
            "buffer_indices": self.indices[:n].copy(),
            "buffer_scores": self.scores[:n].copy(),
            "buffer_seen": self.seen[:n].copy(),
            "buffer_clock": np.array(self.clock, np.int64),
        }

    def load_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore :meth:`state`; a ValueError (before any change) when it cannot be this one's."""
        indices = np.asarray(state["buffer_indices"], np.int64).reshape(-1)
        n = len(indices)
        if n > self.capacity:
            raise ValueError(f"the saved buffer holds {n} scenes; this one holds at most {self.capacity}")
        if len(set(indices.tolist())) != n or (indices < 0).any():
            raise ValueError("the saved buffer's scene indices must be distinct and >= 0")
        self.indices[:] = -1
        self.indices[:n] = indices
        self.scores[:] = 0
        self.scores[:n] = np.asarray(state["buffer_scores"], np.float64)
        self.seen[:] = 0
        self.seen[:n] = np.asarray(state["buffer_seen"], np.int64)
        self.clock = int(state["buffer_clock"])
        self._slot = {int(i): s for s, i in enumerate(indices)}


def edit_scene(scene: Scene, seed: int, cells: int) -> Scene:
    """ACCEL's edit: ``cells`` distinct interior cells that hold floor or wall (no door,
    item or actor) flip between the two, chosen by ``seed``; then the scene is repaired, so
    it stays solvable. A pure function of (scene, seed, cells)."""
    codes = scene.codes.copy()
    inner = np.zeros(codes.shape, bool)
    inner[1:-1, 1:-1] = True
    free = np.flatnonzero(inner & ((codes == CATALOG.FLOOR) | (codes == CATALOG.WALL)))
    rng = np.random.default_rng([int(seed), 0x0ACCE1])
    pick = rng.choice(free, size=min(cells, len(free)), replace=False)
    flat = codes.reshape(-1)
    flat[pick] = np.where(flat[pick] == CATALOG.FLOOR, CATALOG.WALL, CATALOG.FLOOR)
    return repair(Scene(codes, name=f"{scene.name}+edit{seed}")).scene


def edited(base: IndexedSource, index: int, seeds: Sequence[int], cells: int) -> Scene:
    """The scene an ``accel`` curriculum served as ``(base index, edit seeds, cells)`` from its
    identity: base scene ``index`` edited by each seed in turn."""
    scene = base.scene(int(index))
    for seed in seeds:
        scene = edit_scene(scene, int(seed), cells)
    return scene


class CurriculumSource(IndexedSource):
    """``base``'s scenes, chosen by a curriculum (see the module docstring)."""

    name = "curriculum"

    def __init__(self, base: IndexedSource, settings: CurriculumSettings | None = None) -> None:
        if not isinstance(base, IndexedSource):
            raise TypeError(
                f"base={getattr(base, 'name', base)!r} ({type(base).__name__}) has no scene indices; "
                "a curriculum replays scenes by index, so it wraps an indexed source (a name, a "
                "folder or an .npz bank)"
            )
        if isinstance(base, CurriculumSource):
            raise TypeError("base is already a curriculum source; wrap the scenes it wraps instead")
        super().__init__(base.size)
        self.base = base
        self.settings = settings or CurriculumSettings()
        self.bank_size = base.bank_size
        self.batches_banks = base.batches_banks
        self.num_distinct = base.num_distinct
        self.arms: tuple[tuple[str, str], ...] = self._arms() if self.method == "condition" else ()
        """``condition``: the (property, bucket) each arm asks the generator for"""
        self.buffer = LevelBuffer(  # condition: every arm keeps its slot
            max(self.settings.buffer_size, len(self.arms)), self.settings.temperature, self.settings.staleness
        )
        self.parents: list[int] = []  # edit k: the base index it descends from
        self.edit_seeds: list[tuple[int, ...]] = []  # edit k: its seeds, oldest first
        self.pending: list[int] = []  # edits queued to play as the next new scenes
        self.reported = 0  # scores reported (every method records them)
        self.replayed = 0  # episodes served from the buffer (condition: by an arm)
        self._outstanding: dict[int, int] = {}  # replays served and not yet scored, by index
        self.arm_played = np.zeros(len(self.arms), np.int64)
        self.arm_means = np.zeros(len(self.arms), np.float64)
        """``condition``: each arm's running mean score (its buffer score is the priority)"""
        self._arm_queues: list[list[int]] = [[] for _ in self.arms]
        self.arm_refills = np.zeros(len(self.arms), np.int64)
        """``condition``: how many blocks of seeds each arm has drawn (the next one's size:
        :meth:`arm_block`)"""
        self._arm_sources: dict[int, IndexedSource] = {}
        self._arm_prefetch: dict[int, list[int]] = {}  # seeds of a new block, made on first use
        self._consumers = 1

    def _arms(self) -> tuple[tuple[str, str], ...]:
        choices: dict[str, tuple[str, ...]] = getattr(self.base, "target_choices", dict)()
        if not choices:
            raise TypeError(
                f"method='condition' asks a conditioned generator for scene properties, and base="
                f"{self.base.name!r} ({type(self.base).__name__}) takes none; use a v2 generator "
                "('vqvae', 'vqgan') as the base, or another method"
            )
        for name in self.settings.properties:
            check_choice("properties[]", name, tuple(choices))
        return tuple((name, bucket) for name in self.settings.properties for bucket in choices[name])

    def arm_block(self, arm: int) -> int:
        """``condition``: how many seeds arm ``arm`` draws at its next refill: the base's bank
        size, doubled per refill, at most :data:`ARM_BANK` (or the base's bank size if larger)."""
        refills = min(int(self.arm_refills[arm]), 16)
        return max(self.bank_size, min(ARM_BANK, self.bank_size << refills))

    def arm_source(self, arm: int) -> IndexedSource:
        """``condition``: the base generator asked for arm ``arm``'s bucket (made on first use,
        with the base's bank size; an arm's newly drawn block of seeds is made as one batch the
        first time one of its scenes is asked for)."""
        found = self._arm_sources.get(arm)
        if found is None:
            name, bucket = self.arms[arm]
            found = self.base.conditioned({name: bucket})  # type: ignore[attr-defined]
            found.reserve(self._consumers)
            self._arm_sources[arm] = found
        block = self._arm_prefetch.pop(arm, None)
        if block:
            found.prefetch(block)
        return found

    def _arm_seed(self, index: int) -> tuple[int, int]:
        arm, seed = divmod(int(index) - ARM_BASE, NUM_SCENE_INDICES)
        if not 0 <= arm < len(self.arms):
            raise ValueError(
                f"scene index {index} is no arm scene of this curriculum ({len(self.arms)} arms)"
            )
        return arm, seed

    @property
    def method(self) -> str:
        return self.settings.method

    def reserve(self, consumers: int) -> None:
        self._consumers = max(self._consumers, int(consumers))
        self.base.reserve(consumers)
        for source in self._arm_sources.values():
            source.reserve(consumers)

    def prefetch(self, indices: Sequence[int], upcoming: Iterable[int] = ()) -> None:
        base = [i for i in indices if i < EDIT_BASE]
        if self.batches_banks:
            self.base.prefetch(base, upcoming=(i for i in upcoming if i < EDIT_BASE))
        else:
            self.base.prefetch(base)
        seeds: dict[int, list[int]] = {}
        for index in indices:
            if index >= ARM_BASE:
                arm, seed = self._arm_seed(index)
                seeds.setdefault(arm, []).append(seed)
        for arm, wanted in seeds.items():
            self.arm_source(arm).prefetch(wanted)

    def scene(self, index: int) -> Scene:
        if index < EDIT_BASE:
            return self.base.scene(index)
        if index >= ARM_BASE:
            arm, seed = self._arm_seed(index)
            scene = self.arm_source(arm).scene(seed)
            if not self.settings.locked_requests:
                return scene
            meta = {**scene.meta, LOCKED_REQUESTS: repr(self.settings.locked_requests)}
            return Scene(scene.codes, name=scene.name, meta=meta)
        cached = self._cache.get(index)
        if cached is None:
            k = self._edit(index)
            cached = edited(self.base, self.parents[k], self.edit_seeds[k], self.settings.edit_cells)
            if len(self._cache) >= EDIT_CACHE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[index] = cached
        return cached

    def _edit(self, index: int) -> int:
        k = int(index) - EDIT_BASE
        if not 0 <= k < len(self.parents):
            raise ValueError(f"scene index {index} is no edit of this curriculum ({len(self.parents)} made)")
        return k

    def identity(self, index: int) -> dict[str, object]:
        if index < EDIT_BASE:
            return {**self.base.identity(index), "curriculum": self.method}
        if index >= ARM_BASE:
            arm, seed = self._arm_seed(index)
            name, bucket = self.arms[arm]
            shared = (
                {"locked_requests": self.settings.locked_requests} if self.settings.locked_requests else {}
            )
            return {
                **self.arm_source(arm).identity(seed),
                "curriculum": self.method,
                "arm": f"{name}={bucket}",
                **shared,
            }
        k = self._edit(index)
        return {
            **self.base.identity(self.parents[k]),
            "curriculum": self.method,
            "edit": k,
            "edit_seeds": list(self.edit_seeds[k]),
            "edit_cells": self.settings.edit_cells,
        }

    def replay(self, rng: np.random.Generator, start: int = 0, span: int = NUM_SCENE_INDICES) -> int | None:
        """The next episode's scene when the curriculum picks it, or None for a new scene of
        the split (the world draws it as for the base source). ``uniform`` draws nothing.
        ``start`` and ``span``: the split's scene indices (``condition`` draws its new
        scenes' seeds from them, a whole bank at a time as the world does)."""
        if self.method == "uniform":
            return None
        if self.method == "condition":
            return self._play_arm(rng, start, span)
        if self.pending:
            return self.pending.pop(0)
        s = self.settings
        if len(self.buffer) < max(1, round(s.min_fill * s.buffer_size)):
            return None
        if rng.random() >= s.replay_prob:
            return None
        self.replayed += 1
        index = self.buffer.sample(rng)
        self._outstanding[index] = self._outstanding.get(index, 0) + 1
        return index

    def _play_arm(self, rng: np.random.Generator, start: int, span: int) -> int | None:
        if rng.random() >= self.settings.replay_prob:
            return None
        fresh = np.flatnonzero(self.arm_played == 0)
        if len(fresh):
            arm = int(fresh[0])
        elif len(self.buffer):
            arm = self.buffer.sample(rng)
        else:  # every arm played, none scored yet
            arm = int(rng.integers(len(self.arms)))
        queue = self._arm_queues[arm]
        if not queue:
            queue.extend(bank_block(rng, start, span, self.arm_block(arm)))
            self.arm_refills[arm] += 1
            self._arm_prefetch[arm] = list(queue)
        self.arm_played[arm] += 1
        self.replayed += 1
        return ARM_BASE + arm * NUM_SCENE_INDICES + queue.pop()

    def update(self, indices: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> None:
        """Scores of finished episodes, one per scene index played (in the order played)."""
        indices = np.asarray(indices, np.int64).reshape(-1)
        scores = np.asarray(scores, np.float64).reshape(-1)
        if len(indices) != len(scores):
            raise ValueError(f"{len(indices)} scene indices for {len(scores)} scores; give one score each")
        for index, score in zip(indices.tolist(), scores.tolist()):  # all checked before any change
            if index >= ARM_BASE:
                self._arm_seed(index)
            elif index < 0 or (index >= EDIT_BASE and index - EDIT_BASE >= len(self.parents)):
                raise ValueError(f"scene index {index} was not served by this curriculum")
            if not np.isfinite(score):
                raise ValueError(f"score={score!r} for scene {index} must be finite")
        for index, score in zip(indices.tolist(), scores.tolist()):
            self.reported += 1
            if self.method == "uniform":
                continue
            if self.method == "condition":
                if index >= ARM_BASE:  # the arm's running mean; base scenes score no arm
                    arm = self._arm_seed(index)[0]
                    mean = self.arm_means[arm]
                    mean = score if arm not in self.buffer else mean + ARM_SMOOTHING * (score - mean)
                    self.arm_means[arm] = mean
                    self.buffer.update(arm, mean * (1 - mean) if self.settings.score == "success" else mean)
                continue
            self.buffer.update(index, score)
            replays = self._outstanding.pop(index, 0)
            if replays > 1:
                self._outstanding[index] = replays - 1
            if self.method == "accel" and replays:  # an edit of each scored replay
                self._queue_edit(index)

    def _queue_edit(self, index: int) -> None:
        """Queue an edit of replayed scene ``index`` (its seed: the number of edits so far)."""
        k = len(self.parents)
        if index >= EDIT_BASE:
            parent, seeds = self.parents[index - EDIT_BASE], self.edit_seeds[index - EDIT_BASE]
        else:
            parent, seeds = int(index), ()
        self.parents.append(parent)
        self.edit_seeds.append((*seeds, k))
        self.pending.append(EDIT_BASE + k)

    def state(self, playing: Sequence[int] | np.ndarray = ()) -> dict[str, np.ndarray]:
        """Everything :meth:`load_state` needs, as plain arrays (an ``.npz`` holds it).
        ``playing``: the scene indices the worlds play now; edits among them that are not
        buffered yet go back to the front of the saved queue (a resumed run restarts its
        episodes, so they would never be scored otherwise). Replays not yet scored are not
        kept: their episodes restart too."""
        lengths = np.array([len(s) for s in self.edit_seeds], np.int64)
        flat = [x for s in self.edit_seeds for x in s]
        queued = set(self.pending)
        inflight = [
            int(i)
            for i in dict.fromkeys(np.asarray(playing, np.int64).tolist())
            if EDIT_BASE <= i < ARM_BASE and i not in self.buffer and i not in queued
        ]
        return {
            "version": np.array(STATE_VERSION, np.int64),
            "method": np.array(self.method),
            **self.buffer.state(),
            "edit_parents": np.array(self.parents, np.int64),
            "edit_lengths": lengths,
            "edit_seeds": np.array(flat, np.int64),
            "pending": np.array([*inflight, *self.pending], np.int64),
            "counters": np.array([self.reported, self.replayed], np.int64),
            "arm_played": self.arm_played.copy(),
            "arm_means": self.arm_means.copy(),
            "arm_queue_lengths": np.array([len(q) for q in self._arm_queues], np.int64),
            "arm_queues": np.array([x for q in self._arm_queues for x in q], np.int64),
            "arm_refills": self.arm_refills.copy(),
        }

    def load_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore :meth:`state` (a resumed run continues with the same buffer and edits).
        Everything is checked before anything changes: a ValueError names the fault."""
        keys = {"version", "method", "edit_parents", "edit_lengths", "edit_seeds", "pending", "counters"}
        keys |= {"buffer_indices", "buffer_scores", "buffer_seen", "buffer_clock"}
        missing = sorted(keys - set(state))
        if missing:
            raise ValueError(f"curriculum state lacks {missing}; not written by CurriculumSource.state")
        if int(state["version"]) != STATE_VERSION:
            version = int(state["version"])
            raise ValueError(f"curriculum state version {version}; this vrenvs reads {STATE_VERSION}")
        if str(state["method"]) != self.method:
            raise ValueError(f"the saved curriculum is {str(state['method'])!r}, this one {self.method!r}")
        parents = np.asarray(state["edit_parents"], np.int64).reshape(-1)
        lengths = np.asarray(state["edit_lengths"], np.int64).reshape(-1)
        flat = np.asarray(state["edit_seeds"], np.int64).reshape(-1).tolist()
        pending = np.asarray(state["pending"], np.int64).reshape(-1).tolist()
        counters = np.asarray(state["counters"], np.int64).reshape(-1)
        if len(lengths) != len(parents) or (lengths < 1).any() or int(lengths.sum()) != len(flat):
            raise ValueError("the saved edits are inconsistent: one seed list of length >= 1 per edit")
        if (parents < 0).any() or (parents >= EDIT_BASE).any():
            raise ValueError("the saved edits' base scenes must be base indices")
        # arm state (condition; absent from states saved before that method existed)
        played = np.asarray(state.get("arm_played", np.zeros(0)), np.int64).reshape(-1)
        means = np.asarray(state.get("arm_means", np.zeros(0)), np.float64).reshape(-1)
        queue_lengths = np.asarray(state.get("arm_queue_lengths", np.zeros(0)), np.int64).reshape(-1)
        queued = np.asarray(state.get("arm_queues", np.zeros(0)), np.int64).reshape(-1).tolist()
        # saved before arm blocks grew: as if every arm had drawn its largest block
        refills = np.asarray(state.get("arm_refills", np.where(played > 0, 16, 0)), np.int64).reshape(-1)
        if len(played) != len(self.arms):
            raise ValueError(f"the saved curriculum has {len(played)} arms; this one has {len(self.arms)}")
        for name, values in (
            ("arm_means", means),
            ("arm_queue_lengths", queue_lengths),
            ("arm_refills", refills),
        ):
            if len(values) != len(self.arms):
                raise ValueError(f"the saved {name} has {len(values)} entries for {len(self.arms)} arms")
        if (
            (played < 0).any()
            or (refills < 0).any()
            or (queue_lengths < 0).any()
            or int(queue_lengths.sum()) != len(queued)
        ):
            raise ValueError("the saved arms are inconsistent: counts >= 0 and one queue per arm")
        made = len(self.arms) if self.method == "condition" else EDIT_BASE + len(parents)
        indices = np.asarray(state["buffer_indices"], np.int64).reshape(-1)
        if any(not 0 <= i < made for i in [*pending, *indices.tolist()]):
            raise ValueError("the saved buffer or queue names a scene index this state never made")
        if len(counters) != 2 or (counters < 0).any():
            raise ValueError("the saved counters must be two counts >= 0")
        sizes = {
            len(np.asarray(state[k]).reshape(-1)) for k in ("buffer_indices", "buffer_scores", "buffer_seen")
        }
        if len(sizes) != 1:
            raise ValueError("the saved buffer's indices, scores and times differ in length")
        if len(indices) and int(np.max(state["buffer_seen"])) > int(state["buffer_clock"]):
            raise ValueError("the saved buffer was scored after its own clock")
        if not np.isfinite(np.asarray(state["buffer_scores"], np.float64)).all():
            raise ValueError("the saved buffer holds a non-finite score")
        self.buffer.load_state(state)  # checks its own capacity and distinct indices first
        ends = np.cumsum(lengths).tolist()
        self.parents = parents.tolist()
        self.edit_seeds = [tuple(flat[e - n : e]) for e, n in zip(ends, lengths.tolist())]
        self.pending = pending
        self.reported, self.replayed = (int(x) for x in counters)
        self.arm_played = played.copy()
        self.arm_means = means.copy()
        ends = np.cumsum(queue_lengths).tolist()
        self._arm_queues = [queued[e - n : e] for e, n in zip(ends, queue_lengths.tolist())]
        self.arm_refills = refills.copy()
        self._arm_prefetch = {a: list(q) for a, q in enumerate(self._arm_queues) if q}
        self._outstanding = {}
        self._cache.clear()


class EpisodeScorer:
    """Per-episode scores from a trainer's rollouts, for :meth:`CurriculumSource.update`.

    Feed it each rollout's ``advantages``, ``dones`` (``dones[t, e]``: env ``e``'s episode
    ended at step ``t``) and ``indices`` (the scene index env ``e`` played at step ``t``), all
    ``(T, E)``; it returns the (indices, scores) of the episodes that ended in it. An episode
    that spans rollouts is scored over all its steps (sums carry over)."""

    def __init__(self, num_envs: int, score: str = "pvl") -> None:
        self.score = check_choice("score", score, SCORES)
        self.sums = np.zeros(num_envs, np.float64)
        self.counts = np.zeros(num_envs, np.int64)

    def __call__(
        self,
        advantages: np.ndarray,
        dones: np.ndarray,
        indices: np.ndarray,
        successes: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``successes`` ``(T, E)``: whether the episode that ended at step ``t`` in env ``e``
        succeeded (needed by the ``success`` score only)."""
        adv = np.asarray(advantages, np.float64)
        if adv.ndim != 2 or adv.shape[1] != len(self.sums):
            raise ValueError(f"advantages of shape {adv.shape}; expected (T, {len(self.sums)})")
        ended = np.asarray(dones, bool)
        played = np.asarray(indices, np.int64)
        if ended.shape != adv.shape or played.shape != adv.shape:
            raise ValueError(
                f"dones {ended.shape} and indices {played.shape} must match advantages {adv.shape}"
            )
        won = None
        if self.score in OUTCOME_SCORES:
            if successes is None or np.shape(successes) != adv.shape:
                shown = None if successes is None else np.shape(successes)
                raise ValueError(f"score={self.score!r} needs successes of shape {adv.shape}; got {shown}")
            won = np.asarray(successes, bool)
            if self.score == "regret":
                won = ~won
        step = np.maximum(adv, 0.0) if self.score == "pvl" else np.abs(adv)
        out_i: list[int] = []
        out_s: list[float] = []
        for t in range(len(adv)):
            self.sums += step[t]
            self.counts += 1
            for e in np.flatnonzero(ended[t]):
                out_i.append(int(played[t, e]))
                out_s.append(float(won[t, e]) if won is not None else float(self.sums[e] / self.counts[e]))
                self.sums[e] = 0.0
                self.counts[e] = 0
        return np.array(out_i, np.int64), np.array(out_s, np.float64)


def curriculum_source(
    size: int,
    *,
    base: str | Mapping[str, object] | None = None,
    method: str = "plr",
    buffer_size: int = 512,
    replay_prob: float = 0.5,
    temperature: float = 0.1,
    staleness: float = 0.3,
    min_fill: float = 0.5,
    edit_cells: int = 4,
    properties: str | Sequence[str] = "locked_doors,distance",
    score: str = "pvl",
    locked_requests: float = 0.0,
) -> CurriculumSource:
    """``scenes={"source": "curriculum", "base": ..., "method": "plr", ...}`` (registered as
    a ``vrenvs.sources`` entry point): ``base`` is any ``scenes`` value naming an indexed
    source, by default the envs' default source."""
    settings = CurriculumSettings(
        method,
        buffer_size,
        replay_prob,
        temperature,
        staleness,
        min_fill,
        edit_cells,
        list(properties) if isinstance(properties, (list, tuple)) else properties,  # type: ignore[arg-type]
        score,
        locked_requests,
    )
    inner = make_source(default_source(size) if base is None else base, size)
    if not isinstance(inner, IndexedSource):
        raise TypeError(
            f"base={base!r} ({type(inner).__name__}) has no scene indices; a curriculum replays "
            "scenes by index, so it wraps an indexed source (a name, a folder or an .npz bank)"
        )
    return CurriculumSource(inner, settings)
