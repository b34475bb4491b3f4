"""Each multi-agent scenario's documentation page, made from its scenario, task and objectives.

``python -m vrenvs.multiagent.docs docs/multiagent`` writes them; the test suite checks the
files are current and runs each page's ``>>>`` example.
"""

from __future__ import annotations

from pathlib import Path

from vrenvs.core.catalog import CATALOG
from vrenvs.core.tasks import objective
from vrenvs.multiagent.batched import AGENT_INFO, vector_env
from vrenvs.multiagent.scenarios import SCENARIOS, Scenario

__all__ = ["scenario_page", "write_pages"]


def _rewards(s: Scenario) -> str:
    lines = ["## Rewards", "", "Per role (``objective`` in ``actors.yaml``), summed per step:", ""]
    lines += ["| Role | Objective | Event | Weight | When |", "|---|---|---|---|---|"]
    for role in s.learners:
        goal = objective(CATALOG.role[role].objective or "")
        for event, weight in goal.REWARDS.items():
            lines.append(f"| {role} | ``{goal.NAME}`` | ``{event}`` | {weight:+g} | {goal.EVENTS[event]} |")
    return "\n".join(lines)


def _agents(s: Scenario) -> str:
    env = vector_env(s.name, scenes="procedural")
    roles = ", ".join(env.config.roles)
    scripted = [f"{r} (``{CATALOG.role[r].behaviour}``)" for r in env.config.roles if r not in s.learners]
    return "\n".join(
        [
            "## Agents",
            "",
            f"Actors: {roles}. Agents: {', '.join(f'``{a}``' for a in env.agents)}.",
            f"Scripted: {', '.join(scripted) if scripted else 'none'}.",
            "",
            "Each agent observes what the single-agent env of its role shows (``view``, "
            "``request``, ``inventory``, ``scalars``, and ``route`` with ``route=True``) from "
            "its own actor, and acts in ``Discrete(9)``. The ``request`` of an NPC agent is its "
            "role's fixed phrase; the assistant reads the user's requests.",
        ]
    )


def _info() -> str:
    lines = ["## Info", "", "Per agent (the batched form gives arrays, ``alive`` too):", ""]
    return "\n".join(lines + [f"- ``{k}``: {v}." for k, v in AGENT_INFO.items()])


def _example(s: Scenario) -> str:
    env = vector_env(s.name, scenes="procedural")
    return f"""## Example

>>> from vrenvs.multiagent import parallel_env
>>> env = parallel_env("{s.name}", scenes="procedural")
>>> obs, infos = env.reset(seed=0)
>>> env.agents
{list(env.agents)!r}
>>> sorted(obs["{env.agents[0]}"])
['inventory', 'request', 'scalars', 'view']
>>> actions = {{a: env.action_space(a).sample() for a in env.agents}}
>>> obs, rewards, terminations, truncations, infos = env.step(actions)
>>> sorted(rewards) == sorted(env.possible_agents)
True"""


def scenario_page(s: Scenario) -> str:
    """The documentation page of scenario ``s``."""
    spec = s.spec
    parts = [
        f"# `{s.name}` (multi-agent)",
        f"{s.summary}.",
        "## Description\n\n" + s.description + f"\n\nThe world of ``{spec.id}``: {spec.description}",
        _agents(s),
        _rewards(s),
        "## Episode End\n\n"
        "An agent leaves when its objective says so (caught, escaped, no prey left) or its actor "
        "left the world; the episode ends when every agent has left, else at "
        f"{spec.max_steps} steps (``max_episode_steps``), where the agents still in are truncated.",
        "## Arguments\n\n``parallel_env(name, learners=None, **kwargs)``, ``aec_env(...)`` and "
        "``vector_env(name, num_envs, learners=None, **kwargs)``: ``learners`` are roles (every "
        "actor of a learning role is an agent; default "
        f"{list(s.learners)!r}); the kwargs are the single-agent envs' (``scenes``, ``size``, "
        "``obs_mode``, ``view``, ``npcs``, ``controllers``, ``npc_controllers``, ``num_scenes``, "
        "``start_scene``, ``tile_size``, ``route``, ``shaping``, ``key_goal``, ``locked_requests``, "
        "``render_mode``) plus "
        "``max_episode_steps``.",
        _info(),
        _example(s),
    ]
    return "\n\n".join(parts) + "\n"


def write_pages(folder: str) -> list[str]:
    """Write every scenario's page to ``folder/<name>.md``; returns the paths written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for s in SCENARIOS:
        path = out / f"{s.name}.md"
        path.write_text(scenario_page(s))
        written.append(str(path))
    return written


if __name__ == "__main__":
    import sys

    print("\n".join(write_pages(sys.argv[1] if len(sys.argv) > 1 else "docs/multiagent")))
