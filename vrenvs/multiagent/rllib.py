"""RLlib's face of one world: :class:`RLlibWorldEnv`, a ``ray.rllib.env.MultiAgentEnv``
(new API stack) over :class:`~vrenvs.multiagent.parallel.ParallelWorldEnv`.

Needs ``pip install vrenvs[rllib]`` (Ray pins ``gymnasium==1.2.2``; the suite passes on it).
RLlib makes one env per env runner from a config dict::

    from ray.tune.registry import register_env
    from vrenvs.multiagent.rllib import ENV_NAME, RLlibWorldEnv, policy_of

    register_env(ENV_NAME, RLlibWorldEnv)
    config = (
        PPOConfig()
        .environment(ENV_NAME, env_config={"name": "Guard-Thief", "route": True})
        .multi_agent(policies={"guard", "thief"}, policy_mapping_fn=policy_of)
    )

``env_config`` holds ``name`` (a scenario or task), optionally ``learners``, and any kwargs of
the single-agent envs. Every role is one policy (:func:`policy_of` maps ``guard_0`` to
``guard``). ``__all__`` in ``terminateds`` / ``truncateds`` tells whether the episode ended
by its agents leaving or by the time limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gymnasium import spaces
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from vrenvs.multiagent.flat import OneHot
from vrenvs.multiagent.parallel import parallel_env

__all__ = ["ENV_NAME", "RLlibWorldEnv", "policy_of"]

ENV_NAME = "vrenvs-multiagent"
"""The name :class:`RLlibWorldEnv` is registered under in the training scripts."""


def policy_of(agent_id: str, *args: Any, **kwargs: Any) -> str:
    """The policy (module) of an agent: its role (``guard_0`` -> ``guard``)."""
    return agent_id.rsplit("_", 1)[0]


class RLlibWorldEnv(MultiAgentEnv):
    """One world of a scenario or task with several learners, for RLlib (see the module
    docstring). ``config``: ``{"name": ..., "learners": [...], "flat": True, **env kwargs}``;
    ``flat`` gives each agent its observation as one one-hot ``Box`` (:class:`OneHot`),
    else the ``Dict`` of the single-agent envs (for a custom RLModule or connector)."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        options = dict(config or {})
        if "name" not in options:
            raise ValueError(
                f"env_config {options!r} has no 'name'; give a scenario or task, "
                "e.g. {'name': 'Guard-Thief'}"
            )
        name = options.pop("name")
        learners = options.pop("learners", None)
        flat = options.pop("flat", True)
        if not isinstance(flat, bool):
            raise TypeError(f"flat={flat!r} must be True or False")
        self._env = parallel_env(name, learners, **options)
        self.possible_agents = list(self._env.possible_agents)
        self.agents: list[str] = []
        self._flat = OneHot(self._env.batched.single_observation_space) if flat else None
        self.observation_spaces: dict[str, spaces.Space] = {}
        if self._flat is not None:
            flat_space = self._flat.space
            self.observation_spaces = {a: flat_space for a in self.possible_agents}
        else:
            self.observation_spaces = dict(self._env.observation_spaces)
        self.action_spaces = dict(self._env.action_spaces)
        self.metadata = self._env.metadata
        self.render_mode = self._env.render_mode

    @property
    def parallel(self) -> Any:
        """The PettingZoo env doing the work."""
        return self._env

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, infos = self._env.reset(seed=seed, options=options)
        self.agents = list(self._env.agents)
        return self._out(obs), infos

    def _out(self, obs: dict[str, Any]) -> dict[str, Any]:
        return obs if self._flat is None else {a: self._flat(o) for a, o in obs.items()}

    def step(self, action_dict: Mapping[str, Any]):
        # ``agents`` keeps an agent for the step after the one it left on (RLlib's checks want
        # every key of a step's return among ``agents``, and that step reports its last
        # observation); an action for it then is ignored: it has left the world.
        live = set(self._env.agents)
        acting = {a: act for a, act in dict(action_dict).items() if a in live or a not in self.agents}
        obs, rewards, terminated, truncated, infos = self._env.step(acting)
        self.agents = list(obs)
        over = not self._env.agents
        cut = over and any(truncated.values())
        return (
            self._out(obs),
            rewards,
            {**terminated, "__all__": over and not cut},
            {**truncated, "__all__": cut},
            infos,
        )

    def render(self) -> Any:
        return self._env.render()

    def close(self) -> None:
        self._env.close()
