"""Keyboard play: a person controls one actor of an env in a window.

In the assistant envs the person plays the **user** by default: walk with the arrows and
make requests with 1 (fetch an item), 2 (be guided to a place), 3 (open a door), picking the
target from a menu, while the assistant is driven by a controller (the scripted ``oracle``
by default, or a trained policy: ``--assistant ppo-Assistant``). ``role`` lets the person play the
assistant or an NPC instead. The world advances in real time when playing the user (the
assistant keeps working while you watch) and turn by turn otherwise.

The loop is split so tests can drive it with synthetic pygame events: :func:`intent_of`
maps an event to an :class:`Intent`, :meth:`Session.handle` applies it, :func:`run` pumps a
:class:`~vrenvs.viewer.Viewer` until the person quits.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import numpy as np

from vrenvs.app.rollout import rollout
from vrenvs.core.catalog import CATALOG
from vrenvs.core.feedback import RATINGS, FeedbackStore
from vrenvs.core.language import REQUEST_TYPES, spoken
from vrenvs.core.requests import ITEM_TOKENS
from vrenvs.core.sources import make_source
from vrenvs.core.state import Action
from vrenvs.core.tasks import objective_of, task
from vrenvs.core.world import World
from vrenvs.envs.base import WorldEnv
from vrenvs.envs.drivers import check_role, driver, is_trained
from vrenvs.render import hud
from vrenvs.render.draw import frames
from vrenvs.render.viewer import Viewer, require_pygame

__all__ = ["Intent", "Session", "check_assistant", "intent_of", "run", "watch"]

_NEVER = np.iinfo(np.int32).max
KIND_KEYS = {"1": "fetch", "2": "guide", "3": "open"}
HELP = [
    "# Keys",
    "arrows / WASD  move     space  wait",
    "E pick up  Q drop  G give  F door",
    "P planned path   R new episode",
    "Esc quit (or close the window)",
]
USER_HELP = ["1 fetch  2 guide  3 open: ask"]
RATE_HELP = ["F1..F5 rate this scene (1 dislike .. 5 like)"]
ADAPT_AFTER = 5
"""Ratings the online mode (``vrenvs play --adapt``) waits for before it adapts the scenes."""


@dataclass(frozen=True)
class Intent:
    """What a key means: ``act`` (value = action id), ``ask`` (value = index of the request
    kind in ``fetch, guide, open``), ``choose`` (value = +1 / -1), ``confirm``, ``back``,
    ``path``, ``reset``, ``rate`` (value = 1 .. 5) or ``quit``."""

    kind: str
    value: int = 0


def _keymap(pygame: Any) -> dict[int, Intent]:
    moves = {"UP": Action.UP, "RIGHT": Action.RIGHT, "DOWN": Action.DOWN, "LEFT": Action.LEFT}
    keys = {getattr(pygame, f"K_{k}"): Intent("act", int(a)) for k, a in moves.items()}
    for letter, action in zip("wdsa", (Action.UP, Action.RIGHT, Action.DOWN, Action.LEFT)):
        keys[getattr(pygame, f"K_{letter}")] = Intent("act", int(action))
    for letter, action in zip("eqgf", (Action.PICKUP, Action.DROP, Action.GIVE, Action.TOGGLE)):
        keys[getattr(pygame, f"K_{letter}")] = Intent("act", int(action))
    keys[pygame.K_SPACE] = Intent("act", int(Action.NOOP))
    keys.update({getattr(pygame, f"K_{d}"): Intent("ask", int(d) - 1) for d in KIND_KEYS})
    keys.update({pygame.K_p: Intent("path"), pygame.K_r: Intent("reset"), pygame.K_ESCAPE: Intent("quit")})
    keys.update({getattr(pygame, f"K_F{n}"): Intent("rate", n) for n in RATINGS})
    return keys


def intent_of(event: Any, pygame: Any, menu: bool = False) -> Intent | None:
    """The intent of a pygame ``event`` (``None`` for events that mean nothing here).

    With a request menu open, up / down (or W / S, Tab) move the choice, Enter or Space ask,
    Esc or Backspace close the menu; digits still switch the kind of request.
    """
    if event.type == pygame.QUIT:
        return Intent("quit")
    if event.type != pygame.KEYDOWN:
        return None
    key = event.key
    if menu:
        if key in (pygame.K_UP, pygame.K_w):
            return Intent("choose", -1)
        if key in (pygame.K_DOWN, pygame.K_s, pygame.K_TAB):
            return Intent("choose", 1)
        if key in (pygame.K_RETURN, pygame.K_KP_ENTER, pygame.K_SPACE):
            return Intent("confirm")
        if key in (pygame.K_ESCAPE, pygame.K_BACKSPACE):
            return Intent("back")
    return _keymap(pygame).get(key)


@dataclass
class Menu:
    """Targets the person may ask for: ``(label, target id)`` and the highlighted one."""

    kind: str
    options: list[tuple[str, int]]
    selected: int = 0


def check_assistant(env_id: str, role: str | None, assistant: str | None, option: str = "assistant") -> None:
    """Refuse an ``assistant`` driver that would not be used (the env's learner is no
    assistant, or the person plays it: ``role``, default the user where the learner serves
    one) or that is a policy trained as another role. ``option`` names it in the message."""
    if assistant is None:
        return
    spec = task(env_id)
    person = role or ("user" if spec.objective.SERVES_USER else spec.learner)
    if spec.learner != "assistant":
        raise ValueError(
            f"{option}={assistant!r} drives nothing: {spec.id} has no assistant (its learner is the "
            f"{spec.learner}); leave {option} out"
        )
    if person == "assistant":
        raise ValueError(
            f"{option}={assistant!r} drives nothing: the person plays the assistant (role "
            f"{person!r}); leave {option} out or play another role"
        )
    if is_trained(assistant):
        check_role(assistant, "assistant", f"{option}={assistant!r}")


class Session:
    """One world of ``env_id`` where ``role`` is played by a person.

    The env's learner slot, when the person does not play it, is driven by ``assistant``
    (a controller name; default the scripted ``oracle``) if it is the assistant, else by its
    role's scripted behaviour. An ``assistant`` that would drive nothing is refused.
    ``speed``: world steps per second in real time; 0 steps only when the person acts
    (default: real time at 4 steps/s for the user, turn by turn for other roles).
    """

    def __init__(
        self,
        env_id: str,
        role: str | None = None,
        assistant: str | None = None,
        seed: int = 0,
        speed: float | None = None,
        tile_size: int | None = None,
        feedback: str | Path | None = None,
        adapt: bool = False,
        **env_kwargs: Any,
    ) -> None:
        check_assistant(env_id, role, assistant)
        if adapt and feedback is None:
            raise ValueError("adapt=True needs a feedback store (--feedback FILE) to learn from")
        self.feedback: FeedbackStore | None = None
        self.adapt = adapt
        self.base_scenes = env_kwargs.get("scenes")
        self.size = int(env_kwargs.get("size", 16))
        env = cast(WorldEnv, gym.make(env_id, **env_kwargs).unwrapped)
        base = env.world.config
        self.role = role or ("user" if objective_of(base).SERVES_USER else base.roles[base.learner])
        self.slot = base.roles.index(self.role) if self.role in base.roles else -1
        if self.slot < 0:
            raise ValueError(f"role {self.role!r} is not in {env_id}; choose from {sorted(set(base.roles))}")
        self.asks = self.role == "user"
        self.world = self._world(env.world, assistant or "oracle")
        self.env_id = env_id
        self.tile_size = tile_size or max(512 // base.size, 8)
        limit = env.spec.max_episode_steps if env.spec else None
        self.max_steps = limit or base.max_steps
        if feedback is not None:  # opened once the env is made, so a bad env leaks no connection
            self.feedback = FeedbackStore(feedback)
        self.speed = (4.0 if self.asks else 0.0) if speed is None else speed
        self.seed, self.episode = seed, 0
        self.menu: Menu | None = None
        self.show_path = self.asks
        self.log: deque[str] = deque(maxlen=4)
        self.queued: int | None = None
        self.signals = {"served": 0, "gave_up": 0}
        self.started = time.monotonic()
        self._closed = False
        self.reset()

    def _world(self, played: World, assistant: str) -> World:
        """A one-world copy of the env's ``played`` world where the person's slot is the
        learner and every other slot keeps its driver (the env's learner gets one)."""
        base = played.config
        config = dataclasses.replace(base, learner=self.slot, stream=base.stream and not self.asks)
        if self.asks:
            config = dataclasses.replace(config, requests=("fetch", "guide", "open"))
        drivers = {s: c for s, c in enumerate(played.controllers) if c is not None and s != self.slot}
        if base.learner != self.slot:
            learner_role = base.roles[base.learner]
            behaviour = assistant if learner_role == "assistant" else CATALOG.role[learner_role].behaviour
            drivers[base.learner] = driver(behaviour)
        split = (played.num_scenes, played.start_scene)
        return World(config, 1, played.source, *split, controllers=drivers, phrase=played.phrase)

    def episode_signals(self, ended: bool) -> dict[str, Any]:
        """What the session saw of this episode: requests served and given up, steps,
        seconds, and whether it ended."""
        return {
            **self.signals,
            "steps": int(self.world.state.t[0]),
            "seconds": round(time.monotonic() - self.started, 2),
            "ended": ended,
            "role": self.role,
        }

    def record(self, rating: int | None, ended: bool = False) -> None:
        """Store a row for this episode's scene in the feedback store (if there is one)."""
        if self.feedback is None:
            return
        layout = self.world.layouts[0]
        assert layout is not None
        self.feedback.add(self.world.identities[0], layout.scene.codes, rating, self.episode_signals(ended))

    def reset(self) -> None:
        """A new episode (seeds ``seed``, ``seed + 1``, ...)."""
        if self.episode and not self._closed:
            self.record(None, ended=False)  # the signals of the episode being left
        self._closed = False
        self.signals = {"served": 0, "gave_up": 0}
        self.started = time.monotonic()
        self.world.seed([self.seed + self.episode])
        self.world.reset([0])
        self.episode += 1
        self.menu = None
        if self.asks:  # the person makes the requests, not the user model
            s = self.world.state
            s.req_type[0], s.req_target[0], s.req_age[0], s.req_wait[0] = 0, 0, 0, _NEVER
            s.req_tokens[0] = 0
        self.log.append(f"Episode {self.episode}: you are the {CATALOG.role[self.role].text}.")

    def handle(self, intent: Intent) -> bool:
        """Apply ``intent``; ``False`` when the person wants to quit."""
        if intent.kind == "quit":
            return False
        if intent.kind == "act":
            self.queued = intent.value
            if self.speed <= 0:
                self.advance()
        elif intent.kind == "ask" and self.asks:
            self.open_menu(tuple(KIND_KEYS.values())[intent.value])
        elif intent.kind == "choose" and self.menu and self.menu.options:
            self.menu.selected = (self.menu.selected + intent.value) % len(self.menu.options)
        elif intent.kind == "confirm" and self.menu:
            if self.menu.options:
                self.ask(self.menu.kind, self.menu.options[self.menu.selected][1])
            self.menu = None
        elif intent.kind == "back":
            self.menu = None
        elif intent.kind == "path":
            self.show_path = not self.show_path
        elif intent.kind == "reset":
            self.reset()
        elif intent.kind == "rate":
            if self.feedback is None:
                self.log.append("Ratings are stored with --feedback FILE.")
            else:
                self.record(intent.value)
                self.log.append(f"Rated this scene {intent.value} of 5.")
                if self.adapt:
                    self.adapt_scenes()
        return True

    def close(self) -> None:
        """End the session: the open episode's signals go to the feedback store, which is
        closed."""
        if self.feedback is not None:
            if self.episode and not self._closed:
                self.record(None, ended=False)
                self._closed = True
            self.feedback.close()
            self.feedback = None

    def adapt_scenes(self) -> bool:
        """Online adaptation: once the store holds :data:`ADAPT_AFTER` ratings, the next
        episodes play the source adapted to all of them (``scenes={"source": "adapted",
        "feedback": ..., "base": <the scenes played>}``, refitted after every rating)."""
        assert self.feedback is not None
        rated = len(self.feedback.rows(rated_only=True))
        if rated < ADAPT_AFTER:
            self.log.append(f"Scenes adapt after {ADAPT_AFTER} ratings ({rated} so far).")
            return False
        spec = {"source": "adapted", "feedback": str(self.feedback.path), "base": self.base_scenes}
        self.world.use_source(make_source(spec, self.size))
        self.log.append(f"Next scenes adapted to {rated} ratings.")
        return True

    def options(self, kind: str) -> list[tuple[str, int]]:
        """What the user may ask for now: items lying around or held by others, other
        regions, doors that are shut."""
        s, layout = self.world.state, self.world.layouts[0]
        assert layout is not None
        if kind == "fetch":
            held = np.delete(s.carry[0], self.slot)
            present = np.union1d(np.unique(s.items[0]), held).astype(np.intp)
            return [(CATALOG.items[i - 1].text, int(i)) for i in present if CATALOG.REQUESTABLE[i]]
        if kind == "guide":
            here = s.region_map[0, s.pos[0, self.slot, 0], s.pos[0, self.slot, 1]]
            count = int(s.num_regions[0])
            return [(layout.region_names[r], r) for r in range(count) if r != here]
        shut = CATALOG.IS_CLOSED[s.tiles[0]] | CATALOG.IS_LOCKED[s.tiles[0]]
        doors = np.unique(s.door_map[0][shut & (s.door_map[0] >= 0)])
        return [(layout.door_names[d], int(d)) for d in doors if d < s.door_tokens.shape[1]]

    def open_menu(self, kind: str) -> None:
        self.menu = Menu(kind, self.options(kind))
        if not self.menu.options:
            self.log.append(f"Nothing to ask for with {kind} here.")
            self.menu = None

    def ask(self, kind: str, target: int) -> None:
        """Make the user's request: the assistant sees these tokens from the next step on."""
        s = self.world.state
        tokens = {
            "fetch": lambda: ITEM_TOKENS[target],
            "guide": lambda: s.region_tokens[0, target],
            "open": lambda: s.door_tokens[0, target],
        }[kind]()
        s.req_type[0], s.req_target[0], s.req_age[0], s.req_wait[0] = (
            REQUEST_TYPES.index(kind),
            target,
            0,
            _NEVER,
        )
        s.req_tokens[0] = tokens
        self.log.append(f"You: {spoken(s.req_tokens[0])}")

    def advance(self) -> None:
        """One world step with the queued action (noop if none)."""
        action, self.queued = (self.queued or 0), None
        before = self.world.state.req_tokens[0].copy()
        events, reward, terminated = self.world.step(np.array([action]))
        if events.done[0]:
            self.signals["served"] += 1
            self.log.append(f"Done: {spoken(before)}")
        if events.gave_up[0]:
            self.signals["gave_up"] += 1
            self.log.append(f"Given up: {spoken(before)}")
        if reward[0]:
            self.log.append(f"Reward {float(reward[0]):+g}")
        over = (bool(terminated[0]) and not self.asks) or int(self.world.state.t[0]) >= self.max_steps
        if over:
            self.log.append(f"Episode {self.episode} over after {int(self.world.state.t[0])} steps.")
            self.record(None, ended=True)
            self._closed = True
            self.reset()

    def frame(self) -> np.ndarray:
        s, config = self.world.state, self.world.config
        path = None
        helper = config.slot_of("assistant")
        if self.show_path and helper >= 0:
            path = hud.planned_path(s, config, helper)
        captions = [hud.caption(self.world.identities[0])]
        return frames(s, config, self.tile_size, captions=captions, paths=path, focus=self.slot)[0]

    def lines(self) -> list[str]:
        """The panel: who you are, status, the open menu (or the key help), log and badges."""
        s, config = self.world.state, self.world.config
        out = [
            f"# You are the {CATALOG.role[self.role].text}",
            *hud.status_lines(s, config, self.world.identities[0])[1:],
        ]
        if self.menu:
            out += [
                "",
                f"# Ask ({self.menu.kind})",
                *self._menu_lines(),
                "~ up/down choose, enter ask, esc back",
            ]
        else:
            out += [
                "",
                *HELP,
                *(USER_HELP if self.asks else []),
                *(RATE_HELP if self.feedback is not None else []),
            ]
        return [*out, "", "# Log", *self.log, "", *hud.legend()]

    def _menu_lines(self, shown: int = 7) -> list[str]:
        """At most ``shown`` options around the selected one, so long menus fit the panel."""
        assert self.menu is not None
        options, selected = self.menu.options, self.menu.selected
        first = min(max(selected - shown // 2, 0), max(len(options) - shown, 0))
        lines = [("> " if i == selected else "  ") + label for i, (label, _) in enumerate(options)]
        return lines[first : first + shown]


def run(session: Session, viewer: Viewer, max_frames: int | None = None) -> int:
    """Show ``session`` in ``viewer`` until the person quits (or ``max_frames``); frames shown.

    The window runs at ``viewer.fps``; in real time the world steps every
    ``viewer.fps / session.speed`` frames with the last action key pressed (else noop).
    """
    pygame = require_pygame()
    every = max(round(viewer.fps / session.speed), 1) if session.speed > 0 else 0
    shown = 0
    while not viewer.closed and (max_frames is None or shown < max_frames):
        events = viewer.show(session.frame(), session.lines())
        shown += 1
        for event in events:
            intent = intent_of(event, pygame, menu=session.menu is not None)
            if intent is not None and not session.handle(intent):
                viewer.close()
                return shown
        if every and shown % every == 0:
            session.advance()
    return shown


def watch(
    env_id: str,
    viewer: Viewer | None,
    episodes: int = 1,
    seed: int = 0,
    agent: str | None = None,
    max_steps: int | None = None,
    frames_out: list[np.ndarray] | None = None,
    **env_kwargs: Any,
) -> int:
    """Show the env's learner driven by ``agent`` (a scripted controller — by default its
    role's own, the oracle for the assistant — or a trained policy) in ``viewer``; Esc or
    closing the window stops. With ``frames_out``, the frames are appended there too (and
    ``viewer`` may be None: no window). Returns the number of steps shown."""
    if agent is not None and is_trained(agent):
        check_role(agent, task(env_id).learner, f"agent={agent!r}")
    limit: dict[str, Any] = {} if max_steps is None else {"max_episode_steps": max_steps}
    env = gym.make(env_id, render_mode="rgb_array", **limit, **env_kwargs)
    world = cast(WorldEnv, env.unwrapped).world
    drive = driver(agent or cast(WorldEnv, env.unwrapped).TASK.scripted)
    pygame = require_pygame() if viewer is not None else None

    def show(frame: np.ndarray, episode: int, step: int) -> bool:
        if frames_out is not None:
            frames_out.append(frame)
        if viewer is not None:
            lines = [f"# {env_id}", *hud.status_lines(world.state, world.config, world.identities[0])]
            events = viewer.show(frame, [*lines, "", "~ Esc quits", "", *hud.legend()])
            if any(intent_of(e, pygame) == Intent("quit") for e in events):
                viewer.close()
            return not viewer.closed
        return True

    steps = sum(e["steps"] for e in rollout(env, drive, episodes, seed, show))
    env.close()
    return steps
