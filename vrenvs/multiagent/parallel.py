"""PettingZoo faces of one world: :class:`ParallelWorldEnv` (``ParallelEnv``) and, through
PettingZoo's ``parallel_to_aec``, the AEC form. Needs ``pip install vrenvs[multiagent]``.

The agents are those of :class:`~vrenvs.multiagent.batched.MultiAgentVectorEnv` (one world
of it does the work): ``possible_agents`` never changes, ``agents`` holds those still in
the episode, and every dict a step returns has an entry for each agent that was in it
when the step began. Once ``agents`` is empty, call ``reset``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
from gymnasium import logger, spaces
from gymnasium.error import ResetNeeded
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec_wrapper
from pettingzoo.utils.wrappers import OrderEnforcingWrapper

from vrenvs.envs.base import RENDER_MODES, fresh_copy, in_space
from vrenvs.multiagent.batched import MultiAgentVectorEnv, vector_env

__all__ = ["ParallelWorldEnv", "aec_env", "parallel_env"]


class ParallelWorldEnv(ParallelEnv):
    """One world of a scenario or task with several learning roles (see the module
    docstring); made by :func:`parallel_env`."""

    metadata = {"render_modes": RENDER_MODES, "render_fps": 8, "is_parallelizable": True}  # noqa: RUF012

    def __init__(self, batched: MultiAgentVectorEnv, name: str) -> None:
        if batched.num_envs != 1:
            raise ValueError(f"a ParallelWorldEnv plays one world; got num_envs={batched.num_envs}")
        self._env = batched
        self.metadata = {**self.metadata, "name": f"vrenvs_{name}"}
        self.render_mode = batched.render_mode
        self.possible_agents: list[str] = list(batched.agents)
        self.agents: list[str] = []
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        # a space object per agent (seeding one agent's space leaves the others' alone)
        agents = self.possible_agents
        self.observation_spaces = {a: copy.deepcopy(batched.single_observation_space) for a in agents}
        self.action_spaces = {a: copy.deepcopy(batched.single_action_space) for a in agents}

    @property
    def unwrapped(self) -> ParallelWorldEnv:
        return self

    @property
    def batched(self) -> MultiAgentVectorEnv:
        """The one-world batched env doing the work (its ``world``, ``config``, ...)."""
        return self._env

    def _agent(self, agent: Any) -> int:
        if agent not in self._index:
            raise ValueError(f"unknown agent {agent!r}; choose from {self.possible_agents}")
        return self._index[agent]

    def observation_space(self, agent: str) -> spaces.Space:
        self._agent(agent)
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        self._agent(agent)
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: Mapping[str, Any] | None = None):
        """A new episode. ``options`` (a dict) are not used: given any, a warning says so
        (PettingZoo's API test passes some; the batched env refuses them)."""
        if options is not None and not isinstance(options, Mapping):
            raise TypeError(f"reset options must be a dict or None, got {options!r}")
        if options:
            logger.warn(f"reset options {sorted(options)} are not used by {type(self).__name__}; ignored")
        obs, infos = self._env.reset(seed=seed)
        self.agents = list(self.possible_agents)
        return self._split(obs), self._infos(infos, self.agents)

    def step(self, actions: Mapping[str, Any]):
        if not self.agents:  # before the first reset too
            raise ResetNeeded(f"{type(self).__name__}: no agent is in an episode; call reset() first")
        if not isinstance(actions, Mapping):
            raise TypeError(f"actions must be a dict {{agent: action}}, got {actions!r}")
        array = np.zeros((1, len(self.possible_agents)), np.int64)
        for agent, action in actions.items():
            i = self._agent(agent)
            if agent not in self.agents:
                raise ValueError(f"agent {agent!r} has left the episode; agents in it: {self.agents}")
            self.check_action(agent, action)
            array[0, i] = int(action)
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"actions has no entry for {missing}; give one for every agent in {self.agents}")
        obs, reward, terminated, truncated, infos = self._env.step(array)
        present = self.agents
        out = (
            self._split(obs, present),
            {a: float(reward[0, self._index[a]]) for a in present},
            {a: bool(terminated[0, self._index[a]]) for a in present},
            {a: bool(truncated[0, self._index[a]]) for a in present},
            self._infos(infos, present),
        )
        self.agents = [a for a in present if not (out[2][a] or out[3][a])]
        return out

    def check_action(self, agent: str, action: Any) -> None:
        """Raise a ValueError naming ``action`` and ``agent``'s action space unless the action is in it."""
        if isinstance(action, (bool, np.bool_)) or not in_space(self.action_spaces[agent], action):
            space = self.action_spaces[agent]
            raise ValueError(f"action {action!r} of {agent} is not in the action space {space}")

    def _split(self, obs: dict[str, np.ndarray], agents: list[str] | None = None) -> dict[str, Any]:
        return {a: {k: v[0, self._index[a]] for k, v in obs.items()} for a in agents or self.agents}

    def _infos(self, infos: dict[str, Any], agents: list[str]) -> dict[str, dict[str, Any]]:
        out = {}
        for a in agents:
            i = self._index[a]
            info = {
                "role": self._env.roles[i],
                "slot": self._env.slots[i],
                "scene": fresh_copy(infos["scene"][0]),
                "scene_index": int(infos["scene_index"][0]),
                "served": int(infos["served"][0]),
                "failed": int(infos["failed"][0]),
            }
            if "is_success" in infos and infos["_is_success"][0, i]:
                info["is_success"] = bool(infos["is_success"][0, i])
            out[a] = info
        return out

    def render(self) -> np.ndarray | None:
        """``rgb_array``: the frame; ``human``: show it in a window."""
        frames = self._env.render()
        return None if frames is None else frames[0]

    def state(self) -> np.ndarray:
        """The whole map as the ``full`` observation mode encodes it: ``(3 * size * size,)``."""
        from vrenvs.core.observe import observe

        world = self._env.world
        return observe(world.state, world.config, self._env.slots[0], True)["view"][0]

    def close(self) -> None:
        self._env.close()


def parallel_env(name: str, learners: list[str] | None = None, **kwargs: Any) -> ParallelWorldEnv:
    """The PettingZoo ``ParallelEnv`` of scenario or task ``name``, e.g.
    ``parallel_env("Guard-Thief")`` or ``parallel_env("Assistant", learners=["assistant",
    "guard"], npcs=["guard", "thief"])``; kwargs as for the single-agent envs plus
    ``max_episode_steps``."""
    if "num_envs" in kwargs:
        raise TypeError("parallel_env plays one world; use vrenvs.multiagent.vector_env for num_envs")
    return ParallelWorldEnv(vector_env(name, 1, learners, **kwargs), name)


class _CheckedAec(parallel_to_aec_wrapper):
    """PettingZoo's AEC form of a :class:`ParallelWorldEnv` that checks each action when it
    is given: the plain wrapper keeps it until the last agent of the round has acted, and the
    error of a bad one then came from another agent's ``step`` (and from every later one)."""

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if not (self.terminations[agent] or self.truncations[agent]):
            cast(ParallelWorldEnv, self.env).check_action(agent, action)
        super().step(action)


def aec_env(name: str, learners: list[str] | None = None, **kwargs: Any) -> AECEnv:
    """The AEC form of :func:`parallel_env` (PettingZoo's ``parallel_to_aec`` wrappers; an
    action is checked in the ``step`` that gives it)."""
    return OrderEnforcingWrapper(_CheckedAec(parallel_env(name, learners, **kwargs)))
