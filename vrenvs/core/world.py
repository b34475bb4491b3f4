"""``World``: B worlds of one task, their RNGs, scene source and controllers, stepped as one.

This is the engine behind both Gymnasium faces: the vector env owns a ``World`` of
``num_envs`` worlds, the single env a ``World`` of one. It has no Gymnasium dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vrenvs.core import rules, sensors
from vrenvs.core.catalog import CATALOG
from vrenvs.core.controllers import Controller, controller, decide
from vrenvs.core.layout import Layout, prepare_many
from vrenvs.core.observe import observe
from vrenvs.core.reach import solvable_batch
from vrenvs.core.repair import repair
from vrenvs.core.reset import reset_world
from vrenvs.core.scene import Scene
from vrenvs.core.sources import NUM_SCENE_INDICES, IndexedSource, SceneSource, bank_block, served
from vrenvs.core.state import TaskConfig, WorldState, allocate
from vrenvs.core.tasks import objective_of

__all__ = ["AHEAD_SCENES", "World", "lookahead"]

_LAYOUT_CACHE = 2048

AHEAD_SCENES = 64
"""Scenes the worlds of a batch hold decoded ahead (at least one bank each): at 16x16 the
shipped v2 generator makes a scene in ~3.8 ms in a bank of 16 alone, ~2.1 ms in 4 banks
together and ~2.0 ms in 16 (2 torch threads); 256 ahead measured no faster than 64."""


def lookahead(num_worlds: int, bank_size: int) -> int:
    """Banks each of ``num_worlds`` worlds picks ahead from a source that batches banks:
    together about :data:`AHEAD_SCENES` scenes, at least one bank per world. At large
    batches one bank ahead per world is what lets a miss decode many worlds' next banks in
    one batch instead of a few alone (Assistant-Fetch with random actions, the long runs of
    2026-12-07 on the 2-vCPU machine: B = 256 over 36,000 steps 50,369 -> 76,383
    agent-steps/s, B = 1024 over 20,000 steps 64,891 -> 80,551)."""
    return max(1, -(-AHEAD_SCENES // (num_worlds * bank_size)))


class World:
    """``num_worlds`` worlds of ``config`` fed by ``source``.

    ``num_scenes`` / ``start_scene``: Procgen-style split; an episode plays scene
    ``start_scene + k`` with ``k`` uniform in ``[0, num_scenes)`` (0 = unbounded). A source
    that makes scenes in banks (``bank_size > 1``, the learned generators) is played a
    bank at a time: each world draws a bank uniformly and plays its members (those inside
    the split) in a random order before drawing the next, so one decoded batch serves
    ``bank_size`` resets instead of one. Every draw comes from the world's RNG. A source
    whose banks decode faster together (``batches_banks``, the v2 generators) is also
    played *ahead*: a world's first bank after its RNG is set is drawn as above; from the
    second on its banks come from a stream of their own (spawned from the world's RNG at
    that reset), and a world that has started ``k`` banks knows its next
    ``min(2**(k - 2), depth)`` ahead, so a miss decodes the banks every world will play
    next in one batch (:meth:`IndexedSource.prefetch`'s ``upcoming``). ``depth`` is
    :func:`lookahead` of the batch (at least 1); the scenes a world plays do not depend on
    it, so vector and single envs still play the same scenes.
    ``learners`` are the actor slots driven from outside (default: the config's learner;
    several for the multi-agent envs); ``controllers`` maps a slot to a controller for the
    other actors; unlisted slots use their role's scripted behaviour.

    Every scene is checked and repaired before it is played (indexed sources repair in
    :meth:`IndexedSource.scene`, other sources' ``sample`` results here). ``as_drawn=True``
    plays a non-indexed source's scenes exactly as drawn, unrepaired: for tests of the rules
    on hand-drawn worlds that are deliberately not solvable; the envs never set it.
    """

    def __init__(
        self,
        config: TaskConfig,
        num_worlds: int,
        source: SceneSource,
        num_scenes: int = 0,
        start_scene: int = 0,
        controllers: dict[int, Controller] | None = None,
        phrase: np.ndarray | None = None,
        shaping: float = 0.0,
        as_drawn: bool = False,
        learners: Sequence[int] | None = None,
    ) -> None:
        self.config = config
        self.learners = (config.learner,) if learners is None else tuple(int(s) for s in learners)
        if not self.learners or len(set(self.learners)) != len(self.learners):
            raise ValueError(f"learners={list(self.learners)} must name distinct actor slots, at least one")
        for slot in self.learners:
            if not 0 <= slot < config.num_actors:
                raise ValueError(f"learner slot {slot} is not an actor slot of {list(config.roles)}")
        self._learner_index = np.array(self.learners, np.int64)
        self.as_drawn = as_drawn
        self.objective = objective_of(config)
        self.shaping = float(shaping)
        self.source = source
        self.num_scenes = num_scenes
        self.start_scene = start_scene
        self.state: WorldState = allocate(config, num_worlds)
        self.rngs = [np.random.default_rng() for _ in range(num_worlds)]
        self.identities: list[dict[str, Any]] = [{} for _ in range(num_worlds)]
        self.scene_index = np.full(num_worlds, -1, dtype=np.int64)  # index of indexed sources
        self._queues: list[list[int]] = [[] for _ in range(num_worlds)]  # banked sources
        self._ahead: list[list[list[int]]] = [[] for _ in range(num_worlds)]  # banks picked ahead
        self._streams: list[np.random.Generator | None] = [None] * num_worlds  # their draws
        self._started = [0] * num_worlds  # banks started since the world's RNG was set
        self._streamed, self._depth = False, 0  # set by _reserve
        self._reserve()
        self.layouts: list[Layout | None] = [None] * num_worlds
        self._layouts: dict[int, Layout] = {}
        roles = config.roles
        chosen = dict(controllers or {})
        self.controllers: list[Controller | None] = [
            None if slot in self.learners else chosen.get(slot) or controller(CATALOG.role[r].behaviour)
            for slot, r in enumerate(roles)
        ]
        self.phrase = phrase
        self._potential = np.zeros(num_worlds, np.float32)  # progress shaping, see sensors.potential
        self._version = 0  # bumped by every step and reset: keys the goal-distance cache
        self._cached: tuple[int, np.ndarray] | None = None

    def use_source(self, source: SceneSource) -> None:
        """Play ``source``'s scenes from the next reset on (prepared layouts and bank queues
        of the old source are dropped)."""
        self.source = source
        self._reserve()
        self._layouts.clear()
        self._queues = [[] for _ in range(self.num_worlds)]
        self._ahead = [[] for _ in range(self.num_worlds)]

    def _reserve(self) -> None:
        """Tell an indexed source how many banks its worlds hold at once (each plays one and
        knows ``depth`` ahead; a banked source keeps twice that, so no bank is evicted
        before its world has played it), and set the lookahead depth."""
        source = self.source
        if not isinstance(source, IndexedSource):
            self._streamed, self._depth = False, 0
            return
        self._streamed = source.bank_size > 1 and source.batches_banks
        self._depth = lookahead(self.num_worlds, source.bank_size) if self._streamed else 0
        source.reserve(self.num_worlds * (1 + self._depth))

    @property
    def version(self) -> int:
        """Bumped by every step and reset: keys caches of readings of the state."""
        return self._version

    @property
    def num_worlds(self) -> int:
        return self.state.batch

    def seed(self, seeds: Sequence[int | None]) -> None:
        """New RNG per world (``None`` draws fresh entropy)."""
        self.use_rngs([np.random.default_rng(s) for s in seeds])

    def use_rngs(self, rngs: list[np.random.Generator]) -> None:
        """Draw each world's scenes and episodes from ``rngs`` from now on."""
        for b, rng in enumerate(rngs):
            if rng is not self.rngs[b]:
                self._queues[b], self._ahead[b], self._streams[b], self._started[b] = [], [], None, 0
        self.rngs = list(rngs)

    def _next_index(self, b: int) -> int:
        """The scene index of world ``b``'s next episode (see the class docstring)."""
        rng = self.rngs[b]
        span = self.num_scenes if self.num_scenes > 0 else NUM_SCENE_INDICES - self.start_scene
        replay = getattr(self.source, "replay", None)  # a curriculum (vrenvs.core.curriculum)
        if replay is not None:
            picked = replay(rng, self.start_scene, span)
            if picked is not None:
                return int(picked)
        bank = self.source.bank_size if isinstance(self.source, IndexedSource) else 1
        if bank <= 1:
            return self.start_scene + int(rng.integers(span))
        queue = self._queues[b]
        if not queue:
            queue.extend(self._next_bank(b, span, bank))
        return queue.pop()

    def _next_bank(self, b: int, span: int, bank: int) -> list[int]:
        """World ``b``'s next bank (see the class docstring), its banks ahead topped up."""
        started, self._started[b] = self._started[b], self._started[b] + 1
        if not self._streamed or not started:
            return bank_block(self.rngs[b], self.start_scene, span, bank)
        stream = self._streams[b]
        if stream is None:
            stream = self._streams[b] = np.random.default_rng(int(self.rngs[b].integers(2**63)))
        ahead = self._ahead[b]
        depth = min(self._depth, 1 << min(started - 1, 30))
        while len(ahead) <= depth:
            ahead.append(bank_block(stream, self.start_scene, span, bank))
        return ahead.pop(0)

    def _prepared(self, worlds: list[int]) -> list[Layout]:
        """The layouts of the next episodes of ``worlds``, prepared together
        (:func:`prepare_many`). Indexed scenes are cached by index; while the cache can hold
        a bank per world, a world's whole bank is prepared at its first miss (the world
        plays the rest of it next, so this is the same work, batched)."""
        if not isinstance(self.source, IndexedSource):
            scenes = []
            for b in worlds:
                scene = self._sampled(b)
                self.identities[b] = {"source": self.source.name, "scene": scene.name}
                scenes.append(scene)
            return prepare_many(scenes, self.config.margin)
        indices = []
        for b in worlds:
            index = self._next_index(b)
            self.scene_index[b] = index
            indices.append(index)
        found = {i: self._layouts[i] for i in indices if i in self._layouts}
        wanted = [i for i in dict.fromkeys(indices) if i not in found]
        if wanted and self.num_worlds * self.source.bank_size <= _LAYOUT_CACHE:
            upcoming = (i for b in worlds for i in self._queues[b] if i not in self._layouts)
            wanted = list(dict.fromkeys([*wanted, *upcoming]))
        if self._depth:  # the missing banks, and on a miss those picked ahead, in one batch
            ahead = (bank[0] for banks in self._ahead for bank in banks)  # read on a miss only
            self.source.prefetch(list(dict.fromkeys([*indices, *wanted])), upcoming=ahead)
        elif len(worlds) > 1:  # banked sources: the missing banks in one batch
            self.source.prefetch(list(dict.fromkeys([*indices, *wanted])))
        for b, index in zip(worlds, indices, strict=True):
            self.identities[b] = {**self.source.identity(index)}
        fresh = dict(zip(wanted, prepare_many([self.source.scene(i) for i in wanted], self.config.margin)))
        for index, layout in fresh.items():
            if len(self._layouts) >= _LAYOUT_CACHE:
                self._layouts.pop(next(iter(self._layouts)))
            self._layouts[index] = layout
        return [found.get(i) or fresh[i] for i in indices]

    def _sampled(self, b: int) -> Scene:
        """World ``b``'s next scene from a source that is not indexed: ``sample(1, rng)``,
        checked (:func:`~vrenvs.core.sources.served`) and repaired like every served scene."""
        got = self.source.sample(1, self.rngs[b])
        if not isinstance(got, (list, tuple)) or len(got) != 1:
            raise TypeError(
                f"scene source {self.source.name!r}: sample(1, rng) returned {type(got).__name__} "
                f"{str(got)[:60]}; expected a list of 1 scene"
            )
        scene = served(self.source, got[0], self.config.size)
        return scene if self.as_drawn or solvable_batch(scene.codes[None])[0] else repair(scene).scene

    def reset(self, worlds: Sequence[int] | np.ndarray) -> None:
        """Start new episodes in ``worlds`` (indices)."""
        chosen = [int(b) for b in worlds]
        for b, layout in zip(chosen, self._prepared(chosen)):
            if layout.tiles.shape[0] != self.state.tiles.shape[1]:
                side = layout.tiles.shape[0] - 2 * self.config.margin
                raise ValueError(
                    f"scene source {getattr(self.source, 'name', self.source)!r} gave a {side}x{side} "
                    f"scene; this env plays size {self.config.size}"
                )
            self.layouts[b] = layout
            reset_world(self.state, b, layout, self.config, self.rngs[b])
        self._version += 1
        if self.shaping:
            index = np.asarray(worlds, dtype=np.int64)
            self._potential[index] = self._potentials()[index]

    def _distances(self) -> np.ndarray:
        """The learner's goal distances (:func:`sensors.distances`) in the current state."""
        if self._cached is None or self._cached[0] != self._version:
            self._cached = (self._version, sensors.distances(self.state, self.config, self.config.learner))
        return self._cached[1]

    def _potentials(self) -> np.ndarray:
        return sensors.potential(self.state, self.config, self.config.learner, self._distances())

    def actions(self, learner_actions: np.ndarray) -> np.ndarray:
        """``(B, N)`` actions: the learners' (``(B,)`` for one learner, ``(B, L)`` in the
        order of :attr:`learners`) plus every controller's. The controllers' modes and
        waypoints are written once all have decided (none reads another's)."""
        state, config = self.state, self.config
        acts = np.zeros((self.num_worlds, config.num_actors), np.int64)
        decided = [
            (slot, decide(drive, state, config, slot))
            for slot, drive in enumerate(self.controllers)
            if drive is not None
        ]
        for slot, decision in decided:
            acts[:, slot] = decision.actions
            if decision.mode is not None:
                state.mode[:, slot] = decision.mode
            if decision.waypoint is not None:
                state.goal[:, slot] = decision.waypoint
        ndim = learner_actions.ndim if isinstance(learner_actions, np.ndarray) else np.ndim(learner_actions)
        if len(self.learners) == 1 and ndim == 1:
            acts[:, self.learners[0]] = learner_actions
        else:
            acts[:, self._learner_index] = learner_actions
        return acts

    def act(self, drive: Controller, slot: int | None = None) -> np.ndarray:
        """``(B,)`` actions of ``drive`` for ``slot`` (the learner by default), its mode and
        waypoint written as for any controller: how a scripted or trained controller plays
        the learner's part (watch, record, the demo, baselines)."""
        slot = self.config.learner if slot is None else slot
        decision = decide(drive, self.state, self.config, slot)
        if decision.mode is not None:
            self.state.mode[:, slot] = decision.mode
        if decision.waypoint is not None:
            self.state.goal[:, slot] = decision.waypoint
        return decision.actions

    def advance(self, learner_actions: np.ndarray) -> rules.Events:
        """Advance all worlds with the learners' actions (see :meth:`actions`); the events."""
        events = rules.step(self.state, self.actions(learner_actions), self.config)
        self._version += 1
        return events

    def step(self, learner_actions: np.ndarray) -> tuple[rules.Events, np.ndarray, np.ndarray]:
        """Advance all worlds; returns events, the config learner's rewards ``(B,)`` and
        terminations ``(B,)``."""
        events = self.advance(learner_actions)
        reward = self.objective.reward(events, self.state, self.config)
        if self.shaping:
            now = self._potentials()
            reward = reward + np.float32(self.shaping) * (now - self._potential)
            self._potential = now
        return events, reward, self.objective.terminated(events, self.state, self.config)

    def observe(self, full: bool, route: bool = False) -> dict[str, np.ndarray]:
        obs = observe(self.state, self.config, self.config.learner, full, self.phrase)
        if route:
            obs["route"] = sensors.route(self.state, self.config, self.config.learner, self._distances())
        return obs

    def success(self) -> np.ndarray:
        return self.objective.success(self.state, self.config)
