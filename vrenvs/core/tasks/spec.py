"""What a task is, as data: :class:`TaskSpec` (one per registered env) and
:class:`Objective` (what its learner is rewarded for, shared by tasks of one family).

Everything task-specific that used to be spread over rewards, sensors, the HUD and the
env classes is here: roles, requests, limits, the reward table, ``reward`` /
``terminated`` / ``success``, the route sensor's goal kinds and the shaping potential, the
status line and the phrase. The env classes, their registration, their documentation pages
and the training configs are made from the list of specs in :mod:`vrenvs.core.tasks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

import numpy as np

from vrenvs.core.catalog import CATALOG
from vrenvs.core.language import TEMPLATES, tokenize
from vrenvs.core.rules import Events
from vrenvs.core.state import TaskConfig, WorldState

__all__ = ["HISTORY", "Objective", "TaskSpec", "actor_cells", "slots_of"]

HISTORY = (
    "v0: initial release (ids stay v0 until the first release). Default ``scenes`` is "
    '``"gan"`` (the shipped GAN) at size 16, ``"procedural"`` at 32; ``route``, ``shaping`` '
    "and ``npc_controllers`` kwargs; scenes repaired by repair v2.",
    "v0, task specs: one ``info`` schema for the single and the vector env (``scene``, "
    "``scene_index``, ``request``, ``request_type`` as text, ``served``, ``failed``, "
    "``events``, ``is_success``); the single env reports ``is_success`` at the time limit "
    "too; the ``patrol`` controller (guards) makes rounds of the region centres in order, "
    "where it used to roam at random like ``chase`` (episodes with a scripted guard differ).",
    "v0, lifecycle: ``step`` before ``reset`` raises ``gymnasium.error.ResetNeeded`` (single env, "
    "vector env, SB3 adapter); ``reset`` options must be None or empty; ``info['request']`` is "
    "the task's phrase for an NPC learner (it was empty); ``start_scene`` / ``num_scenes`` "
    "must stay inside the scene indices ``[0, 2**31 - 1)`` (larger ones replayed other scenes).",
    "v0, repair v3: a locked door whose colour has no key anywhere in the scene gets a key "
    "(or, when the only key was stranded, becomes a plain door); about 8% of the GAN's scenes "
    "had such a door, which no request could ever open.",
    "v0, inputs: every scene a custom ``scenes`` object serves is checked (a ``Scene`` or an "
    "integer grid of the env's size) and repaired like the built-in sources' (unsolvable grids "
    "were served as they were); kwargs of the wrong type (``size=16.0``, ``npcs='guard'``, "
    "``controllers='oracle'``), reset seeds that are not non-negative integers and "
    "``npc_controllers`` policies trained for another role are refused.",
    "v0, inputs (audit): ``step`` after a terminated step raises ``ResetNeeded`` until "
    "``reset`` (single env); ``render()`` without a render mode warns; ``view`` defaults to "
    "None (7) and is refused with ``obs_mode='full'``; ``npcs`` without a role the task needs "
    "(NPC-Flee: a chaser), a role in both ``controllers`` and ``npc_controllers``, a split of a "
    "source without scene indices, a ``start_scene`` past a finite source's distinct scenes "
    "(a folder, a bank: past them indices repeat scenes), bool actions and ``num_envs`` above "
    "65536 are refused; "
    "NumPy scalars are accepted for ``shaping`` and ``route``.",
    "v0, default scenes: without ``scenes`` an env plays ``vqvae`` scenes (the v2 generator, a "
    "mixture of its styles) at both sizes; it played ``gan`` scenes at 16 and ``procedural`` "
    "ones at 32, so seeded episodes of default envs differ (``scenes='gan'`` gives the old ones).",
    "v0, repair v4: the assistant can always reach the user; a locked door between them whose "
    "key lay only on the user's side becomes a plain door (0.7% of ``vqvae``'s scenes at 16 and "
    "2.8% of ``procedural``'s had one: the assistant could not serve any request there).",
    "v0, multi-agent: ``reset()`` without a seed of the native vector env goes on with each "
    "world's RNG, as Gymnasium's envs do (it drew fresh entropy, so ``reset(seed=0)`` then "
    "``reset()`` was not reproducible); every role can learn (``vrenvs.multiagent``).",
)
"""The version history every task shares (a task adds its own lines after these)."""


def slots_of(config: TaskConfig, role: str) -> list[int]:
    """The actor slots holding ``role``."""
    return config.slots(role).tolist()


def actor_cells(state: WorldState, slots: list[int], where: np.ndarray | None = None) -> np.ndarray:
    """``(B, Hp, Wp)`` mask of the cells of the active actors in ``slots`` (or of their
    ``where[:, slot]`` cells, e.g. ``state.home``)."""
    mask = np.zeros(state.tiles.shape, bool)
    rows = np.arange(state.batch)
    for s in slots:
        on = state.active[:, s]
        cells = state.pos[:, s] if where is None else where[:, s]
        mask[rows[on], cells[on, 0], cells[on, 1]] = True
    return mask


class Objective:
    """What the learner of a family of tasks is rewarded for; subclasses fill it in.

    ``REWARDS`` is the reward table (event -> weight; a task may override weights through
    ``TaskConfig.rewards``). ``GOALS`` names the route sensor's four goal kinds, in the
    order of :meth:`targets`. All methods are pure functions of the batched state.
    """

    NAME: ClassVar[str] = ""
    REWARDS: ClassVar[Mapping[str, float]] = MappingProxyType({})
    EVENTS: ClassVar[Mapping[str, str]] = MappingProxyType({})  # event -> when it happens (docs)
    GOALS: ClassVar[tuple[str, str, str, str]] = ("-", "-", "-", "-")
    SERVES_USER: ClassVar[bool] = False  # a person playing it is the user by default

    def weights(self, config: TaskConfig) -> dict[str, float]:
        return {**self.REWARDS, **config.rewards}

    def reward(self, events: Events, state: WorldState, config: TaskConfig) -> np.ndarray:
        """``(B,)`` float32 reward of the learner."""
        w = self.weights(config)
        total = np.zeros(state.batch, np.float64)
        for event, counts in self.counts(events, state, config).items():
            weight = w[event]
            if weight != 0.0:  # a zero term would leave every sum as it is, bit for bit
                total += weight * counts
        return total.astype(np.float32)

    def counts(self, events: Events, state: WorldState, config: TaskConfig) -> dict[str, np.ndarray]:
        """``{event: (B,) count this step}`` for every event of the reward table."""
        raise NotImplementedError

    def terminated(self, events: Events, state: WorldState, config: TaskConfig) -> np.ndarray:
        """``(B,)`` bool: the episode reached a terminal state of the MDP."""
        raise NotImplementedError

    def success(self, state: WorldState, config: TaskConfig) -> np.ndarray:
        """``(B,)`` bool, read at an episode's end: did the learner do its job?"""
        raise NotImplementedError

    def targets(self, state: WorldState, config: TaskConfig, slot: int) -> list[np.ndarray]:
        """One ``(B, Hp, Wp)`` mask per goal kind in :attr:`GOALS` (route sensor, oracle,
        planned path); an unused kind is an empty mask."""
        raise NotImplementedError

    def left(
        self, state: WorldState, config: TaskConfig, slot: int, at: np.ndarray, dist: np.ndarray
    ) -> np.ndarray:
        """``(B,)`` steps of work left on the current job (for the shaping potential), from
        the clipped path lengths ``at`` ``(B, 4)`` and the raw distances ``dist``."""
        raise NotImplementedError

    def status(self, state: WorldState, config: TaskConfig, b: int) -> str:
        """The counters of world ``b`` for the status panel."""
        raise NotImplementedError

    @property
    def phrase(self) -> str | None:
        """The fixed request phrase the learner reads (None: it reads the user's requests)."""
        return TEMPLATES.get(self.NAME)


@dataclass(frozen=True)
class TaskSpec:
    """One registered task: ``vrenvs/<name>-v0``, classes ``<cls>Env`` / ``<cls>VectorEnv``."""

    name: str
    cls: str
    summary: str
    objective: Objective
    learner: str
    roles: tuple[str, ...]  # the actors every world has, the learner's role among them
    npcs: tuple[str, ...] = ()  # NPCs added by default (env kwarg ``npcs`` replaces them)
    needs: tuple[str, ...] = ()  # roles the objective is about: ``npcs`` must keep one of each
    requests: tuple[str, ...] = ()
    stream: bool = False
    max_steps: int = 256
    num_food: int = 0
    description: str = ""
    episode_end: str = ""
    history: tuple[str, ...] = HISTORY
    rewards: Mapping[str, float] = field(default_factory=dict)  # overrides of the table

    def __post_init__(self) -> None:
        if self.learner not in self.roles:
            raise ValueError(f"task {self.name}: learner {self.learner!r} is not in roles {self.roles}")
        for role in (*self.roles, *self.npcs, *self.needs):
            if role not in CATALOG.role:
                raise ValueError(
                    f"task {self.name}: unknown role {role!r}; choose from {sorted(CATALOG.role)}"
                )
        unknown = set(self.rewards) - set(self.objective.REWARDS)
        if unknown:
            raise ValueError(f"task {self.name}: reward events {sorted(unknown)} are not in its table")

    @property
    def id(self) -> str:
        return f"vrenvs/{self.name}-v0"

    @property
    def goal(self) -> str:
        return self.objective.NAME

    @property
    def scripted(self) -> str:
        """The scripted controller of the learner's role (the oracle for the assistant):
        the baseline, and what ``vrenvs watch`` / ``record`` show by default."""
        return CATALOG.role[self.learner].behaviour

    def reward_table(self) -> dict[str, float]:
        return {**self.objective.REWARDS, **self.rewards}

    def phrase_tokens(self) -> np.ndarray | None:
        text = self.objective.phrase
        return None if text is None else tokenize(text)

    def config(self, npcs: tuple[str, ...], size: int, view: int, max_steps: int) -> TaskConfig:
        """The static configuration of a world of this task."""
        roles = self.roles + npcs
        return TaskConfig(
            name=self.cls + "Env",
            roles=roles,
            learner=roles.index(self.learner),
            goal=self.goal,
            requests=self.requests,
            stream=self.stream,
            size=size,
            view=view,
            max_steps=max_steps,
            num_food=self.num_food,
            rewards=dict(self.rewards),
        )
