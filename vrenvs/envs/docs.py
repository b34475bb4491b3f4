"""Each env's documentation page, made from its task spec and its real spaces.

The page is the env class's docstring (``help(gym.make(id).unwrapped)``), in the sections of
Gymnasium's own envs; its ``>>>`` example is run as a doctest by the test suite.
"""

from __future__ import annotations

import textwrap

from gymnasium import spaces

from vrenvs.core.tasks import TaskSpec
from vrenvs.envs.base import INFO
from vrenvs.envs.spaces import observation_space

__all__ = ["doc_page"]

_ACTIONS = """
    ## Action Space

    ``Discrete(9)``, the same for every actor:

    | Num | Action | Effect |
    |-----|--------|--------|
    | 0 | noop | nothing |
    | 1 | up | face up and step if the cell is walkable and free |
    | 2 | right | face right and step |
    | 3 | down | face down and step |
    | 4 | left | face left and step |
    | 5 | pickup | take the item on your cell, else the faced one, else an adjacent one |
    | 6 | drop | put the carried item on your cell, else on the faced cell |
    | 7 | give | hand the carried item to the faced actor, else an adjacent one |
    | 8 | toggle | open / close the faced door, else an adjacent one (a locked door needs the key) |
"""


_ARGS = """
    ## Arguments

    - ``scenes``: ``"vqvae"`` (the default: the v2 generator, 16x16 and 32x32, style
      conditioned), ``"gan"``, ``"vae"``, ``"vaegan"`` (the first learned generators, 16x16
      only; baselines: the generator report card lists the bars each source misses),
      ``"procedural"``, ``"designer"``, a folder of
      ASCII ``.txt`` scenes, an ``.npz`` bank, or an object with ``sample(num, rng)`` (an
      instance, not a class). A name with options is a dict of JSON values:
      ``{"source": "vqvae", "style": "village", "temperature": 0.9}``, ``{"source": "vqvae",
      "targets": {"rooms": "many", "locked_doors": "some"}}`` (scene properties, met by
      generate and test; without a ``style``, drawn in the styles whose corpus has them;
      see ``generators.properties``),
      ``{"source": "procedural", "style": "cave"}``, ``{"source": "designer", "style":
      "farm"}`` (``vrenvs.core.sources.source_options(name)`` lists a source's options; an
      unknown one is refused naming the allowed ones). ``{"source": "curriculum", "method":
      "plr", "base": "vqvae"}`` plays the base source's scenes in the order a curriculum
      chooses (``uniform``, ``plr`` or ``accel``; scores reach it from the trainer, see
      ``vrenvs.core.curriculum``; the scene info adds ``curriculum`` and, for an edited
      scene, its edit seeds). Every scene is repaired to be
      solvable. A folder holds square 16x16 or 32x32 scenes (the env plays those of its size;
      a file of another size is refused); a bank holds at most 1,000,000 scenes and 256 MiB
      of codes.
    - ``size``: 16 (default) or 32.
    - ``num_scenes`` / ``start_scene``: play scenes ``start_scene .. start_scene + num_scenes - 1``
      (0 = unbounded); held-out evaluation uses a ``start_scene`` past the training range.
      Scene indices run over ``[0, 2**31 - 1)``; a split past the end is refused, and so is a
      split of a custom source without scene indices (one that is not an ``IndexedSource``),
      and a ``start_scene`` past a finite source's distinct scenes (a folder has 8 per file,
      a bank its length; past them indices repeat scenes, so held-out scenes need an unbounded
      source: procedural or a learned generator).
    - ``obs_mode``: ``"symbolic"`` (default) or ``"full"``.
    - ``view``: odd window width in [3, 15], default 7 (None); symbolic mode only (giving it
      with ``obs_mode="full"`` is refused).
    - ``npcs``: list of NPC roles sharing the world (guard, thief, chaser, critter, merchant);
      NPC-Flee needs at least one chaser among them.
    - ``controllers``: ``{role: controller}`` to drive other actors differently, e.g.
      ``{"user": "random"}``; controllers: user, oracle, patrol, chase, flee, trade, steal,
      random, noop.
    - ``npc_controllers``: ``{NPC role: trained policy}`` to drive NPCs with a trained policy,
      a shipped name (``"ppo-NPC-Flee"``, ``"ppo-NPC-Guard"``, ...) or a policy folder; needs
      the ``agents`` extra. A role is driven by ``controllers`` or ``npc_controllers``, not
      both.
    - ``route``: add the ``route`` observation, a navigation sensor (default False): for
      each of four goal kinds of the task (assistant: requested item, user, place to guide
      to or door to open, key; guard: thief, where it came in, loot; critter: food,
      wolves), the moves that start a shortest path there, the path length and whether it
      is reachable, ``Box(0, 1, (24,))``; see ``vrenvs.core.sensors``.
    - ``shaping``: weight of a progress reward added to the task's reward (default 0): the
      change of a potential, minus the path left on the current job (fetch: to the item,
      then to the user; guide: the user's path to the region; open: to the door or its key;
      guard: to the thief), see ``vrenvs.core.sensors.potential``. It telescopes over an
      episode, so it speeds learning without changing which policies are best; success is
      unaffected.
    - ``key_goal``: which keys the route sensor's ``key`` goal and the shaping aim at
      (default ``"any"``): ``"any"``, any key on the ground, and a locked door to open reads
      in reach (the path to it, not to its key); ``"lock"``, the keys that open a locked
      door still shut (not of the colour held), and shaping counts the way to such a key
      first when the door to open is locked without its key or the wanted item lies behind
      a locked door. The shipped policies were trained with ``"any"``.
    - ``locked_requests``: the share of requests that ask to open a locked door whose key
      exists, in a world that has one (default 0.0: every request drawn as usual; tasks
      with open requests only). A training knob for the locked-door skill.
    - ``render_mode``: ``None``, ``"rgb_array"`` (frames with the request and scene written on
      the outer wall rows) or ``"human"`` (a pygame window); ``tile_size`` pixels per cell
      (default 16). ``render()`` without a render mode warns and returns None.
    - Vector env (``gym.make_vec(..., vectorization_mode="vector_entry_point")``): ``num_envs``
      in [1, 65536]; ``autoreset_mode`` ``"next_step"`` (default) or ``"same_step"``; ``infos``
      ``"every"`` (default: every world's info each step) or ``"ended"`` (with
      ``"same_step"``: only ``final_obs`` and ``final_info`` of the worlds whose episode ended,
      for trainers that read nothing else; the SB3 adapter uses it).
    - After a terminated step the single env needs ``reset()`` (``step`` raises
      ``gymnasium.error.ResetNeeded``); the vector env resets ended worlds itself.
"""

_MEANING = {
    "view": "the egocentric ``k x k`` window centred on the learner (``k = view``, default 7), "
    "flattened from ``(3, k, k)``: layer 0 tile ids, layer 1 item ids (0 none), layer 2 actor "
    'role ids (0 none); cells past the map edge read as wall. ``obs_mode="full"``: the whole '
    "map, ``(3, size, size)`` flattened",
    "request": "token ids of the pending request or the task's phrase (0 = padding), see "
    "``vrenvs.core.language.VOCABULARY``",
    "inventory": "the carried item id (0 = nothing)",
    "scalars": "row and column of the learner in [0, 1], the request's age over the user's "
    "patience, the facing direction one-hot (up, right, down, left)",
    "route": "with ``route=True``: per goal kind, the moves starting a shortest path, the path "
    "length over twice the map size, reachable (``vrenvs.core.sensors``)",
}


def _space_text(space: spaces.Space) -> str:
    if isinstance(space, spaces.Discrete):
        return f"``Discrete({int(space.n)})``"
    if isinstance(space, spaces.MultiDiscrete):
        return f"``MultiDiscrete``, shape ``{space.shape}``, ``{space.dtype}``"
    assert isinstance(space, spaces.Box)
    return f"``Box({float(space.low.min()):g}, {float(space.high.max()):g}, {space.shape}, {space.dtype})``"


def _observations(spec: TaskSpec) -> str:
    space = observation_space(7, route=True)
    lines = [
        "## Observation Space",
        "",
        "``Dict`` (what stable-baselines3's ``MultiInputPolicy`` takes as is), with the defaults",
        "(``view=7``):",
        "",
    ]
    lines += [f"- ``{k}``: {_space_text(v)}; {_MEANING[k]}." for k, v in space.spaces.items()]
    goals = ", ".join(g for g in spec.objective.GOALS if g != "-")
    lines += ["", f"The route sensor's goal kinds for this task: {goals}."]
    return "\n".join(lines)


def _rewards(spec: TaskSpec) -> str:
    lines = ["## Rewards", "", "| event | when | reward |", "|---|---|---:|"]
    for event, weight in spec.reward_table().items():
        lines.append(f"| ``{event}`` | {spec.objective.EVENTS[event]} | {weight:+g} |")
    lines += ["", "Summed per step; ``shaping=w`` adds a progress reward (see Arguments)."]
    return "\n".join(lines)


def _info() -> str:
    lines = [
        "## Info",
        "",
        "The same keys in the single and the vector env (arrays with ``_key`` masks there):",
        "",
    ]
    lines += [f"- ``{k}``: {v}." for k, v in INFO.items()]
    return "\n".join(lines)


def _example(spec: TaskSpec) -> str:
    return f"""## Example

>>> import gymnasium as gym
>>> import vrenvs
>>> env = gym.make("{spec.id}", scenes="procedural")
>>> obs, info = env.reset(seed=0)
>>> sorted(obs)
['inventory', 'request', 'scalars', 'view']
>>> obs["view"].shape, env.action_space
((147,), Discrete(9))
>>> obs, reward, terminated, truncated, info = env.step(0)
>>> type(reward), terminated, truncated
(<class 'float'>, False, False)
>>> env.spec.max_episode_steps
{spec.max_steps}"""


def doc_page(spec: TaskSpec) -> str:
    """The documentation page of ``spec``'s env."""
    roles = ", ".join(spec.roles + spec.npcs)
    parts = [
        f"{spec.name}: {spec.summary}.",
        "## Description\n\n"
        + spec.description
        + f"\n\nActors by default: {roles}; the learner is the {spec.learner}.",
        textwrap.dedent(_ACTIONS).strip(),
        _observations(spec),
        _rewards(spec),
        "## Episode End\n\n"
        + f"{spec.episode_end} Truncated at {spec.max_steps} steps (``max_episode_steps``).",
        textwrap.dedent(_ARGS).strip(),
        _info(),
        _example(spec),
        "## Version History\n\n" + "\n".join(f"- {line}" for line in spec.history),
    ]
    return "\n\n".join(parts) + "\n"


def write_pages(folder: str) -> list[str]:
    """Write every task's page to ``folder/<name>.md``; returns the paths written."""
    from pathlib import Path

    from vrenvs.core.tasks import TASKS

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in TASKS:
        path = out / f"{spec.name}.md"
        path.write_text(f"# `{spec.id}`\n\n" + doc_page(spec))
        written.append(str(path))
    return written


if __name__ == "__main__":
    import sys

    print("\n".join(write_pages(sys.argv[1] if len(sys.argv) > 1 else "docs/envs")))
