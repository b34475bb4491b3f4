"""Gymnasium faces of the world: a single env (a batch of one) and a native vector env.

Both are thin adapters over :class:`vrenvs.core.world.World`. Each task is a small subclass
whose docstring is its documentation page; see :mod:`vrenvs.envs.tasks`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import logger
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from vrenvs.core.catalog import CATALOG
from vrenvs.core.checks import check_bool, check_float
from vrenvs.core.controllers import Controller, controller
from vrenvs.core.language import REQUEST_TYPES, spoken
from vrenvs.core.rules import Events
from vrenvs.core.sources import (
    NUM_SCENE_INDICES,
    IndexedSource,
    SceneSource,
    default_source,
    make_source,
)
from vrenvs.core.state import ACTION_NAMES, KEY_GOALS, TaskConfig
from vrenvs.core.tasks import TaskSpec
from vrenvs.core.tasks.fetch import FETCH_TASK
from vrenvs.core.world import World
from vrenvs.envs.drivers import check_role, driver
from vrenvs.envs.spaces import (
    MAX_NPCS,
    NPC_ROLES,
    OBS_MODES,
    SIZES,
    TILE_SIZES,
    action_space,
    check_choice,
    check_int,
    observation_space,
)
from vrenvs.render import draw as rendering
from vrenvs.render.hud import caption, legend, status_lines

__all__ = ["WorldEnv", "WorldVectorEnv"]

RENDER_MODES = ["human", "rgb_array"]
_TYPE_NAMES = np.array(REQUEST_TYPES, dtype=object)

INFO = {
    "scene": "dict: the scene's identity (source, index, style or file, repair version); "
    "num_scenes=1, start_scene=index replays it",
    "scene_index": "int: the scene's index in its source (-1 for sources without indices)",
    "request": "str: what the learner is asked, as its ``request`` observation holds it: the "
    'user\'s pending request ("Please bring me the blue cup."; "" when there is none) or the '
    "task's phrase for an NPC learner",
    "request_type": "str: none, fetch, guide or open",
    "served": "int: requests completed this episode",
    "failed": "int: requests the user gave up on this episode",
    "events": "dict, after a step: done and gave_up, the type of the request completed or "
    'given up on in that step ("none" otherwise)',
    "is_success": "bool, when an episode ends (terminated, or truncated at the registered "
    "max_episode_steps; the vector env at its own limit): did the learner do its job",
}
"""The ``info`` schema, the same for the single env (Python values) and the native vector
env (one array per key with its ``_key`` mask; strings and scene identities in object
arrays)."""
_MASKS = {key: f"_{key}" for key in INFO}
"""The vector env's ``_key`` mask name of each info key."""
_EVENT_KEYS = ("done", "gave_up")
"""The entries of ``info["events"]``: the ``Events`` fields of the same names, as request types."""
_EVENT_MASKS = tuple(f"_{key}" for key in _EVENT_KEYS)
"""The vector env's masks of ``info["events"]``'s entries."""
HUMAN_WORLDS = 16  # a vector env's window shows at most this many worlds
MAX_NUM_ENVS = 65_536
"""The most worlds one native vector env steps (``num_envs``); its arrays grow with it."""
INFOS_MODES = ("every", "ended")
"""The native vector env's ``infos``: every world's info each step (default), or with
``autoreset_mode="same_step"`` only ``final_obs`` / ``final_info`` of the worlds whose
episode ended (what the SB3 adapter reads; it skips the rest's per-step work)."""
DEFAULT_VIEW = 7
ACTION_COUNT = len(ACTION_NAMES)


def _seed(name: str, value: Any) -> int:
    """A reset seed: a non-negative integer (NumPy integers too), as a Python int."""
    return check_int(name, value, 0)


def reset_rngs(seed: Any, rngs: list[np.random.Generator]) -> list[np.random.Generator]:
    """The worlds' RNGs after ``reset(seed=...)`` of a vector env: an int seeds world ``i``
    with ``seed + i``, a list one seed per world; a world without a seed (``None``) goes on
    with its RNG, as a Gymnasium env does on ``reset()``."""
    if isinstance(seed, np.ndarray) and seed.ndim == 0:
        seed = seed.item()  # a 0-d array is one seed
    if seed is None:
        return list(rngs)
    if isinstance(seed, (list, tuple, np.ndarray)):
        if len(seed) != len(rngs):
            raise ValueError(f"seed={seed!r} has {len(seed)} seeds for {len(rngs)} envs")
        seeds = [None if v is None else _seed(f"seed[{i}]", v) for i, v in enumerate(seed)]
    else:
        first = _seed("seed", seed)
        seeds = [first + i for i in range(len(rngs))]
    return [rng if s is None else np.random.default_rng(s) for s, rng in zip(seeds, rngs)]


def in_space(space: gym.Space, value: Any) -> bool:
    """``space.contains(value)``, False where the check itself fails (gymnasium 1.2 raises
    OverflowError for an integer past int64, 1.4 answers False)."""
    if type(space) is gym.spaces.Discrete and type(value) in (int, np.int64):  # the common case, fast
        return int(space.start) <= value < int(space.start + space.n)
    try:
        return bool(space.contains(value))
    except (OverflowError, TypeError, ValueError):
        return False


def fresh_copy(value: Any) -> Any:
    """A copy of ``value``'s dicts and lists (a scene identity may nest them: edit seeds,
    property targets, an adapted source's base scene); other values are immutable."""
    if isinstance(value, dict):
        copied = value.copy()  # then the nested ones (every step copies an identity: kept cheap)
        for k, v in value.items():
            if isinstance(v, (dict, list)):
                copied[k] = fresh_copy(v)
        return copied
    if isinstance(value, list):
        return [fresh_copy(v) for v in value]
    return value


class TaskBase:
    """What every face shares (the single env, the native vector env, the multi-agent envs of
    :mod:`vrenvs.multiagent`): the task spec (set by the generated classes of
    :mod:`vrenvs.envs.tasks`), kwarg validation and the world built from them."""

    TASK: ClassVar[TaskSpec] = FETCH_TASK

    @classmethod
    def _config(cls, options: dict[str, Any], max_steps: int) -> TaskConfig:
        check_choice("obs_mode", options["obs_mode"], OBS_MODES)
        check_int("size", options["size"])
        check_choice("size", options["size"], SIZES)
        check_choice("render_mode", options["render_mode"], (None, *RENDER_MODES))
        for name in ("controllers", "npc_controllers"):
            given = options[name]
            if given is not None and (
                not isinstance(given, Mapping) or not all(isinstance(k, str) for k in given)
            ):
                raise TypeError(f"{name}={given!r} must be a dict {{role name: controller}} or None")
        view = options["view"]
        if view is None:
            view = DEFAULT_VIEW
        elif options["obs_mode"] == "full":
            raise ValueError(
                f"view={view!r} with obs_mode='full': the full observation is the whole map; "
                "give view only with obs_mode='symbolic'"
            )
        check_int("view", view, 3, 15)
        if view % 2 == 0:
            raise ValueError(f"view={view} must be odd so the learner sits in the centre")
        options["view"] = view
        check_int("start_scene", options["start_scene"], 0, NUM_SCENE_INDICES - 1)
        check_int("num_scenes", options["num_scenes"], 0)
        if options["start_scene"] + options["num_scenes"] > NUM_SCENE_INDICES:
            raise ValueError(
                f"num_scenes={options['num_scenes']} with start_scene={options['start_scene']} runs past "
                f"the last scene index {NUM_SCENE_INDICES - 1}; scene indices are [0, {NUM_SCENE_INDICES})"
            )
        check_int("tile_size", options["tile_size"], *TILE_SIZES)
        given = options["npcs"]
        if given is not None and (isinstance(given, (str, Mapping)) or not isinstance(given, Sequence)):
            raise TypeError(f"npcs={given!r} must be a list of NPC roles such as ['guard'], or None")
        npcs = tuple(cls.TASK.npcs if given is None else given)
        if len(npcs) > MAX_NPCS:
            raise ValueError(f"npcs has {len(npcs)} entries; at most {MAX_NPCS} NPCs fit a world")
        for role in npcs:
            check_choice("npcs entry", role, NPC_ROLES)
        for role in cls.TASK.needs:
            if role not in (*cls.TASK.roles, *npcs):
                raise ValueError(
                    f"npcs={list(npcs)!r} has no {role}: the {cls.TASK.name} task needs at least one "
                    f"{role} (its default npcs are {list(cls.TASK.npcs)!r})"
                )
        key_goal = options["key_goal"]
        if not isinstance(key_goal, str):
            raise TypeError(f"key_goal={key_goal!r} must be a string; choose from {list(KEY_GOALS)}")
        check_choice("key_goal", key_goal, KEY_GOALS)
        locked = check_float("locked_requests", options["locked_requests"], 0.0, 1.0)
        if locked and "open" not in cls.TASK.requests:
            raise ValueError(
                f"locked_requests={locked!r} needs a task with open requests; the {cls.TASK.name} task "
                f"makes {list(cls.TASK.requests)} requests (give 0.0)"
            )
        config = cls.TASK.config(npcs, options["size"], view, max_steps)
        return replace(config, key_goal=str(key_goal), locked_requests=float(locked))

    @staticmethod
    def _drivers(
        config: TaskConfig,
        chosen: dict[str, str] | None,
        trained: dict[str, str] | None = None,
        learners: tuple[int, ...] | None = None,
    ) -> dict[int, Controller]:
        """``{role: controller name}`` (scripted) and ``{NPC role: policy}`` (trained) ->
        ``{slot: controller}`` for the non-learner slots they name (``learners``: the
        config's learner by default)."""
        learning = (config.learner,) if learners is None else learners
        drivers: dict[int, Controller] = {}
        both = sorted(set(chosen or {}) & set(trained or {}))
        if both:
            raise ValueError(
                f"controllers={chosen!r} and npc_controllers={trained!r} both drive {both}; "
                "give each role in one of them only"
            )
        npcs = sorted({r for s, r in enumerate(config.roles) if s not in learning and CATALOG.role[r].npc})
        for role, spec in (trained or {}).items():
            slots = [s for s, r in enumerate(config.roles) if r == role and s not in learning]
            if role not in npcs:
                raise ValueError(
                    f"npc_controllers key {role!r} is not an NPC of this world; choose from {npcs}"
                )
            if not isinstance(spec, (str, Path)):
                raise ValueError(f"npc_controllers[{role!r}] must be a policy name or path, got {spec!r}")
            drive = driver(str(spec))
            check_role(str(spec), role, f"npc_controllers[{role!r}]={str(spec)!r}")
            for slot in slots:
                drivers[slot] = drive
        for role, name in (chosen or {}).items():
            slots = [s for s, r in enumerate(config.roles) if r == role and s not in learning]
            if not slots:
                others = sorted({r for s, r in enumerate(config.roles) if s not in learning})
                raise ValueError(
                    f"controllers key {role!r} is not a scripted role here; choose from {others}"
                )
            try:
                scripted = controller(name)
            except (KeyError, ValueError) as err:
                raise ValueError(f"controllers[{role!r}]={name!r}: {err}") from None
            for slot in slots:
                drivers[slot] = scripted
        return drivers

    def _build(
        self,
        num_worlds: int,
        max_steps: int,
        options: dict[str, Any],
        learners: Callable[[TaskConfig], tuple[int, ...]] | None = None,
    ) -> None:
        """Validate ``options`` (the env kwargs) and create the world; ``learners`` gives the
        learner slots of the world's config (the multi-agent envs; default its learner)."""
        config = self._config(options, max_steps)
        slots = None if learners is None else learners(config)
        self.render_mode = options["render_mode"]
        self.tile_size = options["tile_size"]
        self._viewer: Any = None
        self._full = options["obs_mode"] == "full"
        self._route = check_bool("route", options["route"])
        shaping = check_float("shaping", options["shaping"], 0, 10)
        self._shaping = shaping
        source = make_source(
            default_source(options["size"]) if options["scenes"] is None else options["scenes"],
            options["size"],
        )
        self._check_split(source, options["num_scenes"], options["start_scene"])
        self.world = World(
            config,
            num_worlds,
            source,
            options["num_scenes"],
            options["start_scene"],
            self._drivers(config, options["controllers"], options["npc_controllers"], slots),
            phrase=self.TASK.phrase_tokens(),
            shaping=shaping if slots is None else 0.0,  # several learners: shaped per agent
            learners=slots,
        )
        self._space = observation_space(options["size"] if self._full else options["view"], self._route)
        self._said = np.full(num_worlds, "", object)  # the request sentence of every world
        self._needs_reset = True
        self._said_tokens = np.zeros_like(self.world.state.req_tokens)
        self._said_bytes = self._said_tokens.tobytes()  # the tokens spoken, compared whole first
        self._scene_seen: Any = None  # world 0's identity the single env's info last copied
        self._scene_flat = False  # ... and whether it holds no dicts or lists

    @staticmethod
    def _check_split(source: SceneSource, num_scenes: int, start_scene: int) -> None:
        """``num_scenes`` / ``start_scene`` pick scene indices: a source without them
        (not an :class:`IndexedSource`) takes only the defaults; a finite one (``num_distinct``
        scenes: a folder, a bank) takes a ``start_scene`` only inside its distinct scenes,
        since past them its indices repeat earlier scenes (a "held-out" range that is not)."""
        if isinstance(source, IndexedSource):
            distinct = source.num_distinct
            if distinct is not None and start_scene > 0 and start_scene + max(num_scenes, 1) > distinct:
                raise ValueError(
                    f"start_scene={start_scene} with num_scenes={num_scenes} reaches past the "
                    f"{distinct} distinct scenes of scenes={source.name!r}: its index i is scene "
                    f"i % {distinct}, so these indices repeat scenes [0, {distinct}); keep "
                    f"start_scene + num_scenes <= {distinct}, or use an unbounded source "
                    "(procedural or a learned generator) for held-out scenes"
                )
            return
        for name, value in (("num_scenes", num_scenes), ("start_scene", start_scene)):
            if value != 0:
                raise ValueError(
                    f"{name}={value} needs scene indices, and scenes={source.name!r} "
                    f"({type(source).__name__}) has none: it is sampled, not indexed; leave "
                    f"{name} at 0 or use an indexed source (a name, a folder or an .npz bank)"
                )

    def _warn_no_render(self) -> None:
        logger.warn(
            f"{type(self).__name__}.render() was called without a render_mode; give "
            f'render_mode="rgb_array" or "human" when making the env'
        )

    def _check_reset_options(self, options: Any) -> None:
        """``reset(options=...)``: None or an empty dict (these envs take no reset options)."""
        if options is None:
            return
        if not isinstance(options, dict):
            raise TypeError(f"reset options must be a dict or None, got {options!r}")
        if options:
            raise ValueError(
                f"reset options {sorted(options)} are not used by {type(self).__name__}; pass none"
            )

    def _check_started(self, call: str = "step") -> None:
        if self._needs_reset:
            raise ResetNeeded(f"{type(self).__name__}: call reset() before {call}()")

    def _info_arrays(self, events: Events | None = None) -> dict[str, Any]:
        """Every world's info (see :data:`INFO`), as arrays: strings and scene identities in
        object arrays. Sentences are re-made only for worlds whose request changed."""
        s = self.world.state
        self._speak()
        scenes = np.empty(self.world.num_worlds, object)
        scenes[:] = self.world.identities
        info: dict[str, Any] = {
            "scene": scenes,
            "scene_index": self.world.scene_index.copy(),
            "request": self._said.copy(),
            "request_type": _TYPE_NAMES.take(s.req_type),
            "served": s.served.astype(np.int64),
            "failed": s.failed.astype(np.int64),
        }
        if events is not None:
            info["events"] = {key: _TYPE_NAMES.take(getattr(events, key)) for key in _EVENT_KEYS}
        return info

    def _speak(self) -> None:
        """Bring the request sentences up to date: re-made only for worlds whose request
        tokens changed."""
        s = self.world.state
        said = (
            s.req_tokens
            if self.world.phrase is None
            else np.broadcast_to(self.world.phrase, s.req_tokens.shape)
        )
        now = said.tobytes()
        if now == self._said_bytes:  # the common case (every step), cheaper than comparing per world
            return
        changed = np.flatnonzero((said != self._said_tokens).any(axis=1))
        for b in changed:
            self._said[b] = spoken(said[b])
        self._said_tokens[changed] = said[changed]
        self._said_bytes = now

    def _observe_all(self) -> dict[str, np.ndarray]:
        """The learner's observations in every world, as the env's options ask."""
        return self.world.observe(self._full, self._route)

    def _frames(self, worlds: int | None = None) -> np.ndarray:
        """Frames of the first ``worlds`` worlds (all by default) with their scene captions."""
        state = self.world.state if worlds is None else self.world.state.take(slice(0, worlds))
        captions = [caption(i) for i in self.world.identities[: state.batch]]
        return rendering.frames(state, self.world.config, self.tile_size, captions=captions)

    def _show(self, frame: np.ndarray) -> None:
        """Draw ``frame`` in the window (opened on first use), with world 0's status beside it."""
        if self._viewer is None:
            from vrenvs.render.viewer import Viewer

            spec = getattr(self, "spec", None)
            fps = self.metadata["render_fps"]  # type: ignore[attr-defined]
            self._viewer = Viewer(title=spec.id if spec else type(self).__name__, fps=fps)
        s, config = self.world.state, self.world.config
        self._viewer.show(frame, [*status_lines(s, config, self.world.identities[0]), "", *legend()])

    def _render_human(self) -> None:
        if self.render_mode == "human":
            self.render()  # type: ignore[attr-defined]

    def _close_viewer(self) -> None:
        viewer = getattr(self, "_viewer", None)  # absent when __init__ refused its arguments
        if viewer is not None:
            viewer.close()


class WorldEnv(TaskBase, gym.Env):
    """Base single env; use a registered id (``gymnasium.make("vrenvs/...")``)."""

    metadata = {"render_modes": RENDER_MODES, "render_fps": 8}  # noqa: RUF012 (Gymnasium's convention)

    def __init__(
        self,
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
        options.pop("self")
        options.pop("__class__", None)
        self._build(1, self.TASK.max_steps, options)
        self.observation_space = self._space
        self.action_space = action_space()

    @property
    def config(self) -> TaskConfig:
        return self.world.config

    def _obs(self) -> dict[str, Any]:
        return {k: v[0] for k, v in self._observe_all().items()}

    def _info(self, events: Events | None = None) -> dict[str, Any]:
        """World 0's info as Python values (see :data:`INFO`): :meth:`_info_arrays`' entries
        for world 0, read without building the arrays (the single env's step pays for it)."""
        s = self.world.state
        self._speak()
        scene = self.world.identities[0]
        if scene is not self._scene_seen:  # a new scene: does its identity nest dicts or lists?
            self._scene_seen = scene
            self._scene_flat = isinstance(scene, dict) and not any(
                isinstance(v, (dict, list)) for v in scene.values()
            )
        info: dict[str, Any] = {
            # a new object every call, nested ones too (a flat identity: one dict copy)
            "scene": scene.copy() if self._scene_flat else fresh_copy(scene),
            "scene_index": int(self.world.scene_index[0]),
            "request": self._said[0],
            "request_type": _TYPE_NAMES[s.req_type[0]],
            "served": int(s.served[0]),
            "failed": int(s.failed[0]),
        }
        if events is not None:
            info["events"] = {key: _TYPE_NAMES[getattr(events, key)[0]] for key in _EVENT_KEYS}
        return info

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self._check_reset_options(options)
        super().reset(seed=None if seed is None else _seed("seed", seed))
        self._needs_reset = False
        self._ended = False
        self.world.use_rngs([self.np_random])
        self.world.reset([0])
        self._render_human()
        return self._obs(), self._info()

    def step(self, action: Any):
        self._check_started()
        if self._ended:
            raise ResetNeeded(
                f"{type(self).__name__}: the episode has terminated; call reset() before step()"
            )
        if isinstance(action, (bool, np.bool_)):
            raise ValueError(
                f"action {action!r} is a bool, not an action of the action space {self.action_space}"
            )
        if not in_space(self.action_space, action):
            raise ValueError(f"action {action!r} is not in the action space {self.action_space}")
        events, reward, terminated = self.world.step(np.array([int(action)]))
        info = self._info(events)
        done = bool(terminated[0])
        self._ended = done
        # Gymnasium's TimeLimit wrapper truncates (the env never sees its limit): success is
        # reported at the task's registered limit too.
        if done or int(self.world.state.t[0]) >= self.world.config.max_steps:
            info["is_success"] = bool(self.world.success()[0])
        self._render_human()
        return self._obs(), float(reward[0]), done, False, info

    def render(self) -> np.ndarray | None:
        """``rgb_array``: the frame, ``(16 * tile_size, ...)`` uint8 with the request on the top
        row and the scene and step on the bottom one; ``human``: show it in a window."""
        if self.render_mode is None:
            self._warn_no_render()
            return None
        self._check_started("render")
        frame = self._frames()[0]
        if self.render_mode == "human":
            self._show(frame)
            return None
        return frame

    def close(self) -> None:
        """Close the window if one is open (safe to call twice)."""
        self._close_viewer()
        super().close()


class WorldVectorEnv(TaskBase, VectorEnv):
    """Base native vector env: ``num_envs`` worlds stepped with array operations.

    Autoreset is ``NEXT_STEP``: the step after an episode ends returns the first observation
    of the next episode with reward 0 and both flags False (``autoreset_mode="same_step"``:
    see :meth:`_same_step`). Episodes are truncated at ``max_episode_steps``. ``infos``: see
    :data:`INFOS_MODES`.
    """

    metadata = {  # noqa: RUF012 (Gymnasium's convention)
        "render_modes": RENDER_MODES,
        "render_fps": 8,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
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
        autoreset_mode: str = "next_step",
        infos: str = "every",
    ) -> None:
        options = dict(locals())
        for name in ("self", "__class__", "num_envs", "max_episode_steps", "autoreset_mode", "infos"):
            options.pop(name, None)
        check_int("num_envs", num_envs, 1, MAX_NUM_ENVS)
        modes = {"next_step": AutoresetMode.NEXT_STEP, "same_step": AutoresetMode.SAME_STEP}
        check_choice("autoreset_mode", autoreset_mode, tuple(modes))
        check_choice("infos", infos, INFOS_MODES)
        if infos == "ended" and autoreset_mode != "same_step":
            raise ValueError(
                f"infos='ended' with autoreset_mode={autoreset_mode!r}: the ended worlds' infos come in "
                "final_info, which only autoreset_mode='same_step' gives; use infos='every'"
            )
        self._step_infos = infos == "every"
        self.metadata = {**self.metadata, "autoreset_mode": modes[autoreset_mode]}
        limit = self.TASK.max_steps if max_episode_steps is None else max_episode_steps
        check_int("max_episode_steps", limit, 1)
        self._build(num_envs, limit, options)
        self.num_envs = num_envs
        self.max_episode_steps = limit
        self.single_observation_space = self._space
        self.single_action_space = action_space()
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._autoreset = np.zeros(num_envs, bool)
        self._every = np.ones(num_envs, bool)  # the mask of an info every world has, shared
        self._every.setflags(write=False)

    @property
    def config(self) -> TaskConfig:
        return self.world.config

    def _infos(self, events: Events | None = None) -> dict[str, Any]:
        """Every world's info (see :data:`INFO`) in Gymnasium's vector form: each key with
        its ``_key`` mask (every world here)."""
        every = self._every
        infos: dict[str, Any] = {}
        for key, value in self._info_arrays(events).items():
            if isinstance(value, dict):  # made fresh by _info_arrays
                value.update(dict.fromkeys(_EVENT_MASKS, every))
            infos[key] = value
            infos[_MASKS[key]] = every
        return infos

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        self._check_reset_options(options)
        self.world.use_rngs(reset_rngs(seed, self.world.rngs))
        self.world.reset(range(self.num_envs))
        self._needs_reset = False
        self._autoreset[:] = False
        self._render_human()
        return self._observe_all(), self._infos()

    def step(self, actions: Any):
        self._check_started()
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or actions.dtype.kind not in "iu":  # integers only
            raise ValueError(f"actions must be an integer array of shape ({self.num_envs},), got {actions!r}")
        if np.count_nonzero((actions < 0) | (actions >= ACTION_COUNT)):
            raise ValueError(f"actions {actions} are outside the action space {self.single_action_space}")
        events, reward, terminated = self.world.step(actions)
        truncated = self.world.state.t >= self.max_episode_steps
        ended = terminated | truncated
        # read for the ended worlds only (count_nonzero: a fraction of any()'s cost on small arrays)
        success = self.world.success() if np.count_nonzero(ended) else None
        if self.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP:
            result = self._same_step(events, reward, terminated, truncated, ended, success)
            self._render_human()
            return result
        restart = np.flatnonzero(self._autoreset)
        if len(restart):
            self.world.reset(restart)
            reward[restart] = 0.0
            terminated[restart] = truncated[restart] = ended[restart] = False
            events.done[restart] = events.gave_up[restart] = 0
        self._autoreset = ended
        infos = self._ended_infos(self._infos(events), ended, success)
        self._render_human()
        return (
            self._observe_all(),
            reward.astype(np.float64),
            terminated,
            truncated,
            infos,
        )

    @staticmethod
    def _ended_infos(infos: dict[str, Any], ended: np.ndarray, success: np.ndarray | None) -> dict[str, Any]:
        if success is not None and np.count_nonzero(ended):
            infos["is_success"] = success & ended
            infos["_is_success"] = ended
        return infos

    def _same_step(
        self,
        events: Events,
        reward: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        ended: np.ndarray,
        success: np.ndarray | None,
    ) -> tuple[Any, ...]:
        """SAME_STEP autoreset: ended worlds restart now; their last observation and info go
        to ``infos["final_obs"]`` (an object array of per-env observations, None for the
        others) and ``infos["final_info"]``, as Gymnasium's own vector envs do. With
        ``infos="ended"`` these are the only entries (none on a step where no episode ended)."""
        infos = self._infos(events) if self._step_infos else {}
        if np.count_nonzero(ended):
            last = self._observe_all()
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i in np.flatnonzero(ended):
                final_obs[i] = {k: v[i] for k, v in last.items()}
            infos["final_obs"] = final_obs
            infos["_final_obs"] = ended
            infos["final_info"] = self._ended_infos(self._infos(events), ended, success)
            infos["_final_info"] = ended
            self.world.reset(np.flatnonzero(ended))
            if self._step_infos:
                infos.update({k: v for k, v in self._infos().items() if not k.startswith("_")})
        return (
            self._observe_all(),
            reward.astype(np.float64),
            terminated,
            truncated,
            infos,
        )

    def render(self) -> tuple[np.ndarray, ...] | None:
        """``rgb_array``: one frame per world; ``human``: the first worlds in a grid, in a window."""
        if self.render_mode is None:
            self._warn_no_render()
            return None
        self._check_started("render")
        if self.render_mode == "human":
            self._show(rendering.mosaic(self._frames(min(self.num_envs, HUMAN_WORLDS))))
            return None
        return tuple(self._frames())

    def close_extras(self, **kwargs: Any) -> None:
        """Close the window if one is open (``close()`` itself is safe to call twice)."""
        self._close_viewer()
