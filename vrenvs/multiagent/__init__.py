"""Several learners in one world: every actor slot whose role is named a learner is an agent.

- :func:`vector_env`: the batched form (``num_envs`` worlds x agents, arrays in and out), as
  fast as the native vector env; no extra dependency.
- :func:`parallel_env` / :func:`aec_env`: PettingZoo's ``ParallelEnv`` and AEC forms of one
  world (``pip install vrenvs[multiagent]``).
- :data:`SCENARIOS`: documented combinations (``Guard-Thief``, ``Wolves``, ``Everyone``);
  any task with any ``learners`` works too.

Example::

    from vrenvs.multiagent import parallel_env

    env = parallel_env("Guard-Thief")
    obs, infos = env.reset(seed=0)
    while env.agents:
        actions = {a: env.action_space(a).sample() for a in env.agents}
        obs, rewards, terminations, truncations, infos = env.step(actions)
"""

from __future__ import annotations

from typing import Any

from vrenvs.multiagent.batched import AGENT_INFO, MultiAgentVectorEnv, learner_roles, vector_env
from vrenvs.multiagent.scenarios import SCENARIOS, Scenario, scenario, scenario_names

__all__ = [
    "AGENT_INFO",
    "SCENARIOS",
    "MultiAgentVectorEnv",
    "Scenario",
    "aec_env",
    "learner_roles",
    "parallel_env",
    "scenario",
    "scenario_names",
    "vector_env",
]

_NEEDS = "the PettingZoo envs need pettingzoo: pip install 'vrenvs[multiagent]'"


def parallel_env(name: str, learners: list[str] | None = None, **kwargs: Any) -> Any:
    """PettingZoo ``ParallelEnv`` of scenario or task ``name`` (see
    :func:`vrenvs.multiagent.parallel.parallel_env`)."""
    try:
        from vrenvs.multiagent import parallel
    except ModuleNotFoundError as err:
        if err.name != "pettingzoo":
            raise
        raise ModuleNotFoundError(_NEEDS, name="pettingzoo") from None
    return parallel.parallel_env(name, learners, **kwargs)


def aec_env(name: str, learners: list[str] | None = None, **kwargs: Any) -> Any:
    """PettingZoo AEC env of scenario or task ``name`` (``parallel_to_aec`` of
    :func:`parallel_env`)."""
    try:
        from vrenvs.multiagent import parallel
    except ModuleNotFoundError as err:
        if err.name != "pettingzoo":
            raise
        raise ModuleNotFoundError(_NEEDS, name="pettingzoo") from None
    return parallel.aec_env(name, learners, **kwargs)
