"""The registered tasks. Each single-env class docstring is the env's documentation page."""

from __future__ import annotations

from vrenvs.envs.base import WorldEnv, WorldVectorEnv

__all__ = [
    "AssistantEnv",
    "AssistantVectorEnv",
    "FetchEnv",
    "FetchVectorEnv",
    "FleeEnv",
    "FleeVectorEnv",
    "GuardEnv",
    "GuardVectorEnv",
    "GuideEnv",
    "GuideVectorEnv",
]

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

_OBS = """
    ## Observation Space

    ``Dict`` (what stable-baselines3's ``MultiInputPolicy`` takes as is):

    - ``view``: ``Box(int16, (3, k, k))`` egocentric window (``k = view``, default 7) centred on
      the learner: tile ids, item ids, actor role ids. ``obs_mode="full"`` gives the whole map,
      ``(3, size, size)``, instead.
    - ``request``: ``Box(int16, (10,))`` token ids of the user's request (0 = padding), see
      ``vrenvs.core.language.VOCABULARY``.
    - ``inventory``: ``Discrete(11)`` the carried item id (0 = nothing).
    - ``scalars``: ``Box(float32, (7,))`` row and column in [0, 1], request age over the
      user's patience, facing one-hot.
"""

_ARGS = """
    ## Arguments

    - ``scenes``: ``"gan"`` (the default at size 16), ``"vae"``, ``"vaegan"`` (the learned
      generators, 16x16 only), ``"procedural"`` (the default at size 32), ``"designer"``, a
      folder of ASCII ``.txt`` scenes, an ``.npz`` bank, or an object with
      ``sample(num, rng)``. Every scene is repaired to be solvable.
    - ``size``: 16 (default) or 32.
    - ``num_scenes`` / ``start_scene``: play scenes ``start_scene .. start_scene + num_scenes - 1``
      (0 = unbounded); held-out evaluation uses a ``start_scene`` past the training range.
    - ``obs_mode``: ``"symbolic"`` (default) or ``"full"``.
    - ``view``: odd window width in [3, 15], default 7.
    - ``npcs``: list of NPC roles sharing the world (guard, thief, chaser, critter, merchant).
    - ``controllers``: ``{role: controller}`` to drive other actors differently, e.g.
      ``{"user": "random"}``; controllers: user, oracle, patrol, chase, flee, trade, steal,
      random, noop.
    - ``npc_controllers``: ``{NPC role: trained policy}`` to drive NPCs with a trained policy,
      a shipped name (``"ppo-NPC-Flee"``, ``"ppo-NPC-Guard"``, ...) or a policy folder; needs
      the ``agents`` extra.
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
    - ``render_mode``: ``None``, ``"rgb_array"`` (frames with the request and scene written on
      the outer wall rows) or ``"human"`` (a pygame window); ``tile_size`` pixels per cell
      (default 16).

    ``info`` carries ``scene`` (source, index, ...: pass ``num_scenes=1, start_scene=index`` to
    replay it), ``request`` (the English sentence), ``served`` / ``failed`` counts, and
    ``is_success`` when the episode ends.
"""


class FetchEnv(WorldEnv):
    __doc__ = (
        """Assistant-Fetch: bring the user the item it asks for.

    ## Description

    A 2D top-down tile world (house, village or cave) holds the simulated user, the learning
    assistant and, by default, a patrolling guard. The user asks for one item present in the
    world ("Please bring me the blue cup."), chosen by its hidden preference profile. The
    assistant must find the item, pick it up, walk to the user and give it. The item is
    often out of view at the start; doors may need opening and locked doors a key.
"""
        + _ACTIONS
        + _OBS
        + """
    ## Rewards

    +1 when the user receives the requested item; 0 otherwise (the user refuses other items).

    ## Episode End

    Terminated when the user has the item or gives up (after its patience, 200-400 steps).
    Truncated at 256 steps (``max_episode_steps``).
"""
        + _ARGS
        + """
    ## Version History

    - v0: initial release (ids stay v0 until the first release).
      Default ``scenes`` is ``"gan"`` (the shipped GAN) at size 16, ``"procedural"`` at 32;
      ``route``, ``shaping`` and ``npc_controllers`` kwargs; scenes repaired by repair v2.
"""
    )

    REQUESTS = ("fetch",)


class GuideEnv(WorldEnv):
    __doc__ = (
        """Assistant-Guide: lead the user to a named place.

    ## Description

    The user asks to be taken to a region ("Please take me to the kitchen."). Regions are
    named from the tiles (kitchen, hall, room, garden, shore, square, market, meadow; with
    compass words when a name repeats). The user follows the assistant while it is within 3
    steps, with a per-user chance (mobility) of taking each step; the assistant must lead,
    opening doors on the way, and not run off.
"""
        + _ACTIONS
        + _OBS
        + """
    ## Rewards

    +1 when the user stands in the requested region; 0 otherwise.

    ## Episode End

    Terminated when the user arrives or gives up. Truncated at 256 steps.
"""
        + _ARGS
        + """
    ## Version History

    - v0: initial release.
      Default ``scenes`` is ``"gan"`` (the shipped GAN) at size 16, ``"procedural"`` at 32;
      ``route``, ``shaping`` and ``npc_controllers`` kwargs; scenes repaired by repair v2.
"""
    )

    REQUESTS = ("guide",)


class AssistantEnv(WorldEnv):
    __doc__ = (
        """Assistant: serve a stream of mixed requests.

    ## Description

    The user makes one request after another: FETCH an item, GUIDE it to a region, or OPEN
    a door ("Please open the red door."). A new request follows 4 steps after each one
    ends. The assistant must read the request tokens and switch behaviour accordingly.
"""
        + _ACTIONS
        + _OBS
        + """
    ## Rewards

    +1 per request completed; 0 otherwise.

    ## Episode End

    Never terminated; truncated at 512 steps. ``info["served"]`` and ``info["failed"]``
    count completed and abandoned requests; ``is_success`` is served > 0 with none failed.
"""
        + _ARGS
        + """
    ## Version History

    - v0: initial release.
      Default ``scenes`` is ``"gan"`` (the shipped GAN) at size 16, ``"procedural"`` at 32;
      ``route``, ``shaping`` and ``npc_controllers`` kwargs; scenes repaired by repair v2.
"""
    )

    REQUESTS = ("fetch", "guide", "open")
    STREAM = True
    MAX_STEPS = 512


class GuardEnv(WorldEnv):
    __doc__ = (
        """NPC-Guard: catch the thief before it escapes with the loot.

    ## Description

    The learner is a guard. A thief walks to a valuable item, picks it up and heads back to
    where it came in, fleeing a guard that comes within 2 steps. The guard catches the thief
    by standing next to it. ``request`` holds the fixed task phrase.
"""
        + _ACTIONS
        + _OBS
        + """
    ## Rewards

    +1 for catching the thief, -1 if it escapes with an item.

    ## Episode End

    Terminated when the thief is caught or has escaped. Truncated at 200 steps.
"""
        + _ARGS
        + """
    ## Version History

    - v0: initial release.
      Default ``scenes`` is ``"gan"`` (the shipped GAN) at size 16, ``"procedural"`` at 32;
      ``route``, ``shaping`` and ``npc_controllers`` kwargs; scenes repaired by repair v2.
"""
    )

    GOAL = "guard"
    LEARNER_ROLE = "guard"
    BASE_ROLES = ("guard", "thief")
    DEFAULT_NPCS = ()
    MAX_STEPS = 200


class FleeEnv(WorldEnv):
    __doc__ = (
        """NPC-Flee: a rabbit gathers food while wolves hunt it.

    ## Description

    The learner is a critter. Two wolves wander the map and chase it by shortest path once
    it is within 5 steps. Food (apples, bread) lies around; stepping on it eats it and new
    food grows elsewhere. Four food items are kept on the map at the start.
"""
        + _ACTIONS
        + _OBS
        + """
    ## Rewards

    +1 per food eaten, -1 when caught.

    ## Episode End

    Terminated when a wolf catches the critter (stands next to it). Truncated at 300 steps.
"""
        + _ARGS
        + """
    ## Version History

    - v0: initial release.
      Default ``scenes`` is ``"gan"`` (the shipped GAN) at size 16, ``"procedural"`` at 32;
      ``route``, ``shaping`` and ``npc_controllers`` kwargs; scenes repaired by repair v2.
"""
    )

    GOAL = "flee"
    LEARNER_ROLE = "critter"
    BASE_ROLES = ("critter",)
    DEFAULT_NPCS = ("chaser", "chaser")
    MAX_STEPS = 300
    NUM_FOOD = 4


def _vector_of(single: type[WorldEnv]) -> type[WorldVectorEnv]:
    attrs = {
        k: getattr(single, k)
        for k in (
            "GOAL",
            "LEARNER_ROLE",
            "BASE_ROLES",
            "DEFAULT_NPCS",
            "REQUESTS",
            "STREAM",
            "MAX_STEPS",
            "NUM_FOOD",
        )
    }
    attrs["__doc__"] = f"Native vector env of :class:`{single.__name__}` (see its documentation)."
    attrs["__module__"] = __name__
    return type(single.__name__.replace("Env", "VectorEnv"), (WorldVectorEnv,), attrs)


FetchVectorEnv = _vector_of(FetchEnv)
GuideVectorEnv = _vector_of(GuideEnv)
AssistantVectorEnv = _vector_of(AssistantEnv)
GuardVectorEnv = _vector_of(GuardEnv)
FleeVectorEnv = _vector_of(FleeEnv)
