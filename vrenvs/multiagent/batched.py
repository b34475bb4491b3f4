"""The batched multi-agent env: ``num_envs`` worlds x the learners' agents, arrays in and out.

Every actor slot whose role is a learner is an agent (``guard_0``, ``thief_0``, ...; in slot
order); the other actors keep their scripted or trained controllers. Each agent sees what
the single-agent env of its role would show it (the same sensors from its actor's point of
view, ``route`` included), acts in ``Discrete(9)`` and is rewarded by its role's objective
(``objective`` in ``actors.yaml``, the reward tables of :mod:`vrenvs.core.tasks`).

An agent leaves the episode when its objective says so (caught, escaped, no prey left, a
single request ended) or its actor has left the world; a world's episode ends when every
agent has left or at ``max_episode_steps`` (all agents still in are truncated). Autoreset
is ``NEXT_STEP``, as in the native vector env: the step after a world's episode ended
returns the first observation of its next episode, rewards 0 and no flags.

:class:`~vrenvs.multiagent.parallel.ParallelWorldEnv` (PettingZoo) is the face of one world.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vrenvs.core import sensors
from vrenvs.core.catalog import CATALOG
from vrenvs.core.checks import check_int
from vrenvs.core.language import tokenize
from vrenvs.core.observe import observe
from vrenvs.core.state import TaskConfig
from vrenvs.core.tasks import TASKS, TaskSpec, objective, task
from vrenvs.envs.base import MAX_NUM_ENVS, RENDER_MODES, TaskBase, reset_rngs
from vrenvs.envs.spaces import action_space
from vrenvs.multiagent.scenarios import scenario, scenario_names

__all__ = ["AGENT_INFO", "MultiAgentVectorEnv", "learner_roles", "vector_env"]

ACTION_COUNT = 9

AGENT_INFO = {
    "role": "str: the agent's role",
    "slot": "int: its actor slot in the world",
    "scene": "dict: the scene's identity (as the single-agent envs give it)",
    "scene_index": "int: the scene's index in its source (-1 for sources without indices)",
    "served": "int: the user's requests completed this episode",
    "failed": "int: requests the user gave up on this episode",
    "is_success": "bool, when the agent leaves or is truncated: did it do its role's job",
}
"""The per-agent ``info`` of the PettingZoo env; the batched env gives the same as arrays."""


def learner_roles(learners: Any, roles: Sequence[str]) -> tuple[str, ...]:
    """``learners`` (role names) checked against the ``roles`` of a world."""
    if isinstance(learners, str) or not isinstance(learners, Sequence) or not learners:
        raise TypeError(f"learners={learners!r} must be a non-empty list of roles such as ['guard', 'thief']")
    present = sorted(set(roles))
    able = [r for r in present if CATALOG.role[r].objective is not None]
    for role in learners:
        if role not in present:
            raise ValueError(
                f"learners entry {role!r} is not an actor of this world; choose from {present} "
                "(add NPCs with npcs=[...])"
            )
        if CATALOG.role[role].objective is None:
            raise ValueError(f"learners entry {role!r} has no objective to learn; choose from {able}")
    if len(set(learners)) != len(learners):
        raise ValueError(f"learners={list(learners)!r} names a role twice")
    return tuple(learners)


class MultiAgentVectorEnv(TaskBase):
    """``num_envs`` worlds of a task with several learners (see the module docstring).

    Use :func:`vector_env` (it picks the task from a scenario or task name). Observations
    are a dict of arrays ``(num_envs, num_agents, ...)``, one per key of the single-agent
    observation; actions ``(num_envs, num_agents)`` integers (an agent that has left is
    ignored); rewards, ``terminated`` and ``truncated`` ``(num_envs, num_agents)``;
    :attr:`alive` which agents are still in their episode. ``terminated`` / ``truncated``
    are set on the step an agent leaves, not after.
    """

    metadata = {"render_modes": RENDER_MODES, "render_fps": 8, "autoreset_mode": "next_step"}  # noqa: RUF012

    def __init__(
        self,
        num_envs: int = 1,
        learners: Sequence[str] | None = None,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        scenes: Any = None,
        size: int = 16,
        obs_mode: str = "symbolic",
        view: int | None = None,
        npcs: list[str] | None = None,
        controllers: dict[str, str] | None = None,
        npc_controllers: dict[str, str] | None = None,
        num_scenes: int = 0,
        start_scene: int = 0,
        tile_size: int = 16,
        route: bool = False,
        shaping: float = 0.0,
        key_goal: str = "any",
        locked_requests: float = 0.0,
    ) -> None:
        options = dict(locals())
        for name in ("self", "__class__", "num_envs", "learners", "max_episode_steps"):
            options.pop(name, None)
        check_int("num_envs", num_envs, 1, MAX_NUM_ENVS)
        limit = self.TASK.max_steps if max_episode_steps is None else max_episode_steps
        check_int("max_episode_steps", limit, 1)
        wanted = (self.TASK.learner,) if learners is None else learners
        chosen: list[tuple[str, ...]] = []

        def slots(config: TaskConfig) -> tuple[int, ...]:
            chosen.append(learner_roles(wanted, config.roles))
            return tuple(s for s, r in enumerate(config.roles) if r in chosen[0])

        self._build(num_envs, limit, options, learners=slots)
        self.num_envs = num_envs
        self.max_episode_steps = limit
        config = self.world.config
        self.learner_roles = chosen[0]
        self.slots: tuple[int, ...] = self.world.learners
        self.roles = tuple(config.roles[s] for s in self.slots)
        counts: dict[str, int] = {}
        names = []
        for role in self.roles:
            names.append(f"{role}_{counts.get(role, 0)}")
            counts[role] = counts.get(role, 0) + 1
        self.agents: tuple[str, ...] = tuple(names)
        self._configs = [self._agent_config(config, slot) for slot in self.slots]
        self._objectives = [objective(c.goal) for c in self._configs]
        self._phrases = [None if o.phrase is None else tokenize(o.phrase) for o in self._objectives]
        self.single_observation_space = self._space
        self.single_action_space = action_space()
        count = len(self.slots)
        self.alive = np.zeros((num_envs, count), bool)
        self._autoreset = np.zeros(num_envs, bool)
        self._potential = np.zeros((num_envs, count), np.float32)
        self._dist: tuple[int, list[np.ndarray]] | None = None

    @staticmethod
    def _agent_config(config: TaskConfig, slot: int) -> TaskConfig:
        """The world's config seen as the learner in ``slot``: its role's objective (with the
        task's reward overrides when that objective is the task's own)."""
        goal = CATALOG.role[config.roles[slot]].objective
        assert goal is not None  # learner_roles refused roles without one
        rewards = config.rewards if goal == config.goal else {}
        return dataclasses.replace(config, learner=slot, goal=goal, rewards=dict(rewards))

    @property
    def num_agents(self) -> int:
        return len(self.slots)

    @property
    def config(self) -> TaskConfig:
        return self.world.config

    def reward_tables(self) -> dict[str, dict[str, float]]:
        """``{agent: {event: weight}}``: what each agent is rewarded for."""
        return {a: o.weights(c) for a, o, c in zip(self.agents, self._objectives, self._configs)}

    # --- stepping ---------------------------------------------------------------------------

    def reset(self, *, seed: Any = None, options: Mapping[str, Any] | None = None):
        """Start every world's episode; ``seed`` as for the native vector env (an int seeds
        world ``i`` with ``seed + i``; None goes on with each world's RNG)."""
        self._check_reset_options(options)
        self.world.use_rngs(reset_rngs(seed, self.world.rngs))
        self._restart(np.arange(self.num_envs))
        self._needs_reset = False
        self._autoreset[:] = False
        self._render_human()
        return self._observe_all(), self._agent_infos()

    def _restart(self, worlds: np.ndarray) -> None:
        self.world.reset(worlds)
        self.alive[worlds] = True
        if self._shaping:
            self._potential[worlds] = self._potentials()[worlds]

    def check_actions(self, actions: Any) -> np.ndarray:
        """``actions`` as an int64 ``(num_envs, num_agents)`` array, or a ValueError."""
        arr = np.asarray(actions)
        shape = (self.num_envs, self.num_agents)
        if arr.shape != shape or not np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool:
            raise ValueError(f"actions must be an integer array of shape {shape}, got {actions!r}")
        if ((arr < 0) | (arr >= ACTION_COUNT)).any():
            raise ValueError(
                f"actions {arr.tolist()} are outside the action space {self.single_action_space}"
            )
        return arr.astype(np.int64)

    def step(self, actions: Any):
        self._check_started()
        acts = np.where(self.alive, self.check_actions(actions), 0)
        was = self.alive.copy()
        events = self.world.advance(acts)
        state = self.world.state
        count = self.num_agents
        reward = np.zeros((self.num_envs, count), np.float32)
        leaving = np.zeros((self.num_envs, count), bool)
        for a, (slot, goal, config) in enumerate(zip(self.slots, self._objectives, self._configs)):
            reward[:, a] = goal.reward(events, state, config)
            leaving[:, a] = goal.terminated(events, state, config) | ~state.active[:, slot]
        if self._shaping:
            now = self._potentials()
            reward += np.float32(self._shaping) * (now - self._potential)
            self._potential = now
        reward[~was] = 0.0
        terminated: np.ndarray = was & leaving
        truncated: np.ndarray = was & ~leaving & (state.t >= self.max_episode_steps)[:, None]
        self.alive = was & ~terminated & ~truncated
        ended: np.ndarray = np.asarray(~self.alive.any(axis=1))
        success = self._success() if (terminated | truncated).any() else None
        restart = np.flatnonzero(self._autoreset)
        if len(restart):
            self._restart(restart)
            reward[restart] = 0.0
            terminated[restart] = truncated[restart] = ended[restart] = False
        self._autoreset = ended.copy()
        infos = self._agent_infos()
        if success is not None:
            finished = terminated | truncated
            infos["is_success"] = success & finished
            infos["_is_success"] = finished
        self._render_human()
        return self._observe_all(), reward, terminated, truncated, infos

    def _success(self) -> np.ndarray:
        state = self.world.state
        return np.stack([o.success(state, c) for o, c in zip(self._objectives, self._configs)], axis=1)

    # --- readings --------------------------------------------------------------------------

    def _distances(self) -> list[np.ndarray]:
        """Every agent's goal distances in the current state (cached per world version)."""
        if self._dist is None or self._dist[0] != self.world.version:
            state = self.world.state
            found = [sensors.distances(state, c, s) for c, s in zip(self._configs, self.slots)]
            self._dist = (self.world.version, found)
        return self._dist[1]

    def _potentials(self) -> np.ndarray:
        state = self.world.state
        dist = self._distances()
        return np.stack(
            [sensors.potential(state, c, s, d) for c, s, d in zip(self._configs, self.slots, dist)], axis=1
        ).astype(np.float32)

    def _observe_all(self) -> dict[str, np.ndarray]:
        """``{key: (num_envs, num_agents, ...)}``: every agent's observation."""
        state = self.world.state
        per_agent = []
        for a, (slot, config) in enumerate(zip(self.slots, self._configs)):
            obs = observe(state, config, slot, self._full, self._phrases[a])
            if self._route:
                obs["route"] = sensors.route(state, config, slot, self._distances()[a])
            per_agent.append(obs)
        return {k: np.stack([o[k] for o in per_agent], axis=1) for k in per_agent[0]}

    def _agent_infos(self) -> dict[str, Any]:
        """The worlds' info as arrays (see :data:`AGENT_INFO`; ``alive`` too)."""
        s = self.world.state
        scenes = np.empty(self.num_envs, object)
        scenes[:] = self.world.identities
        return {
            "scene": scenes,
            "scene_index": self.world.scene_index.copy(),
            "served": s.served.astype(np.int64),
            "failed": s.failed.astype(np.int64),
            "alive": self.alive.copy(),
        }

    def render(self) -> tuple[np.ndarray, ...] | None:
        """``rgb_array``: one frame per world; ``human``: world 0 in a window."""
        if self.render_mode is None:
            self._warn_no_render()
            return None
        self._check_started("render")
        if self.render_mode == "human":
            self._show(self._frames(1)[0])
            return None
        return tuple(self._frames())

    def close(self) -> None:
        """Close the window if one is open (safe to call twice)."""
        self._close_viewer()


_CLASSES: dict[str, type[MultiAgentVectorEnv]] = {}


def _env_class(spec: TaskSpec) -> type[MultiAgentVectorEnv]:
    if spec.name not in _CLASSES:
        _CLASSES[spec.name] = type(
            f"{spec.cls}MultiAgentVectorEnv",
            (MultiAgentVectorEnv,),
            {"TASK": spec, "__module__": __name__, "__doc__": MultiAgentVectorEnv.__doc__},
        )
    return _CLASSES[spec.name]


def resolve(name: Any, learners: Any, npcs: Any) -> tuple[TaskSpec, Any, Any]:
    """A scenario or task ``name`` -> (task spec, learners, npcs), the scenario's defaults
    filling what is not given."""
    if not isinstance(name, str):
        raise TypeError(f"name={name!r} must be a scenario or task name such as 'Guard-Thief'")
    found = scenario(name)
    if found is not None:
        learners = found.learners if learners is None else learners
        return found.spec, learners, found.npcs if npcs is None else npcs
    try:
        spec = task(name)
    except ValueError:
        tasks = [t.name for t in TASKS]
        choices = scenario_names() + tasks
        raise ValueError(f"unknown scenario or task {name!r}; choose from {choices}") from None
    return spec, learners, npcs


def vector_env(
    name: str, num_envs: int = 1, learners: Sequence[str] | None = None, **kwargs: Any
) -> MultiAgentVectorEnv:
    """The batched multi-agent env of scenario or task ``name`` (``"Guard-Thief"``,
    ``"NPC-Guard"``, ``"vrenvs/Assistant-v0"``); ``learners`` are roles (default: the
    scenario's, or the task's learner); other kwargs as for the single-agent envs plus
    ``max_episode_steps``."""
    spec, learners, npcs = resolve(name, learners, kwargs.pop("npcs", None))
    return _env_class(spec)(num_envs=num_envs, learners=learners, npcs=npcs, **kwargs)
