"""Rewards and episode ends per task goal, as pure functions of events and state.

serve (the assistant): ``served`` when a request is completed, ``gave_up`` when the user
gives up, ``refused`` when the learner offers the user something it did not ask for. A
single-request task ends when its request ends; a stream task only by time limit.

guard: ``caught`` per thief caught, ``escaped`` per thief that got away with loot; ends when
no thief is left.

flee: ``food`` per food item eaten by the learner, ``caught`` when caught; ends when caught.
"""

from __future__ import annotations

import numpy as np

from vrenvs.core.rules import Events
from vrenvs.core.state import TaskConfig, WorldState

__all__ = ["DEFAULT_REWARDS", "reward", "success", "terminated"]

DEFAULT_REWARDS = {
    "serve": {"served": 1.0, "gave_up": 0.0, "refused": 0.0},
    "guard": {"caught": 1.0, "escaped": -1.0},
    "flee": {"food": 1.0, "caught": -1.0},
}


def _weights(config: TaskConfig) -> dict[str, float]:
    return {**DEFAULT_REWARDS[config.goal], **config.rewards}


def reward(events: Events, state: WorldState, config: TaskConfig) -> np.ndarray:
    """``(B,)`` float32 reward of the learner."""
    w = _weights(config)
    me = config.learner
    if config.goal == "serve":
        r = w["served"] * (events.done > 0) + w["gave_up"] * (events.gave_up > 0)
        r = r + w["refused"] * events.refused[:, me]
    elif config.goal == "guard":
        r = w["caught"] * events.caught.sum(axis=1) + w["escaped"] * events.escaped.sum(axis=1)
    else:
        r = w["food"] * (events.ate[:, me] > 0) + w["caught"] * events.caught[:, me]
    return r.astype(np.float32)


def terminated(events: Events, state: WorldState, config: TaskConfig) -> np.ndarray:
    """``(B,)`` bool: the episode reached a terminal state of the MDP."""
    if config.goal == "serve":
        if config.stream:
            return np.zeros(state.batch, bool)
        return np.asarray((events.done > 0) | (events.gave_up > 0))
    if config.goal == "guard":
        thieves = [s for s, r in enumerate(config.roles) if r == "thief"]
        return np.asarray(~state.active[:, thieves].any(axis=1))
    return np.asarray(~state.active[:, config.learner])


def success(state: WorldState, config: TaskConfig) -> np.ndarray:
    """``(B,)`` bool, read at an episode's end: did the learner do its job?"""
    if config.goal == "serve":
        return (state.served > 0) & (state.failed == 0)
    if config.goal == "guard":
        thieves = [s for s, r in enumerate(config.roles) if r == "thief"]
        return (state.carry[:, thieves] == 0).all(axis=1) & ~state.active[:, thieves].any(axis=1)
    return state.active[:, config.learner]
