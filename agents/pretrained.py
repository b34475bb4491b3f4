"""Shipped policies and trained policies as world controllers.

``agents/pretrained/<Name>/`` holds a policy trained by ``vrenvs train vrenvs/<Name>-v0``
(``policy.safetensors`` + ``policy.json``, loaded as weights only) and its model card
``card.md``. A policy is named by its folder name (``ppo-Assistant-Fetch``) or by the path
of a policy folder (a run's ``best`` or ``final``). This module is the ``vrenvs.policies``
provider (``names``, ``controller``, ``env_id``) that vrenvs finds by its entry point.

:class:`PolicyController` lets a trained policy drive any actor slot of any world, the way
scripted controllers do: it observes the slot as the policy's training env would (the same
view, the task phrase of its env, the route sensor when it was trained with it) and acts
deterministically. This is how ``npc_controllers=``, ``vrenvs watch MODEL`` and
``vrenvs play --assistant MODEL`` put trained agents into a world.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from agents.policy_io import acting_kwargs, load_policy, read_meta
from agents.rllib_policy import RolePolicyController, is_role_policy, load_role_policy
from vrenvs.core import sensors
from vrenvs.core.observe import observe
from vrenvs.core.state import TaskConfig, WorldState
from vrenvs.core.tasks import task

__all__ = [
    "PRETRAINED",
    "PolicyController",
    "controller",
    "env_id",
    "names",
    "policy_controller",
    "policy_folder",
    "role",
    "role_names",
    "sb3_names",
]

PRETRAINED = Path(__file__).parent / "pretrained"


def names() -> list[str]:
    """The shipped policies, by name: the SB3 ones (:func:`sb3_names`) and the roles of RLlib
    runs (:func:`role_names`)."""
    return sorted(sb3_names() + role_names())


def sb3_names() -> list[str]:
    """The shipped SB3 policies (``ppo-<Name>``)."""
    if not PRETRAINED.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED.iterdir() if (p / "policy.json").is_file())


def role_names() -> list[str]:
    """The shipped role policies of RLlib runs (``agents.rllib_ship``), as
    ``rllib-<Scenario>/<role>``."""
    if not PRETRAINED.is_dir():
        return []
    return sorted(
        f"{run.name}/{role.name}"
        for run in PRETRAINED.iterdir()
        if run.is_dir() and not (run / "policy.json").is_file()
        for role in run.iterdir()
        if (role / "policy.json").is_file()
    )


def policy_folder(spec: str | Path) -> Path:
    """The folder of the shipped policy ``spec`` (an SB3 policy or a role policy) or the
    policy folder at path ``spec``."""
    text = str(spec)
    if text in names():
        return PRETRAINED / text
    path = Path(text)
    if path.is_dir():
        return path
    shipped = ", ".join(names()) or "none shipped"
    raise ValueError(
        f"no policy {text!r}: give a shipped policy ({shipped}) "
        "or the path of a policy folder (a run's best/ or final/, holding policy.json)"
    )


def env_id(spec: str | Path) -> str:
    """The env id the policy ``spec`` was trained on (a role policy of an RLlib run: the env
    id of its scenario's world)."""
    folder = policy_folder(spec)
    if is_role_policy(folder):
        return _scenario_env_id(folder)
    return str(read_meta(folder)["env_id"])


def role(spec: str | Path) -> str:
    """The role the policy ``spec`` acts as."""
    folder = policy_folder(spec)
    if is_role_policy(folder):
        return str(load_role_policy(folder)[1]["role"])
    return task(env_id(folder)).learner


def _scenario_env_id(folder: Path) -> str:
    from vrenvs.multiagent.batched import resolve

    card = load_role_policy(folder)[1]
    return resolve(str(card["scenario"]), None, None)[0].id


class PolicyController:
    """A trained policy as a controller ``(state, config, slot) -> actions``."""

    def __init__(self, spec: str | Path) -> None:
        self.folder = policy_folder(spec)
        self.meta = read_meta(self.folder)
        self.model = load_policy(self.folder)
        kwargs: dict[str, Any] = acting_kwargs(self.meta.get("env_kwargs", {}))
        trained = gym.make(self.meta["env_id"], **kwargs).unwrapped
        self.goal: str = trained.world.config.goal  # type: ignore[attr-defined]
        self.view: int = trained.world.config.view  # type: ignore[attr-defined]
        self.phrase: np.ndarray | None = trained.world.phrase  # type: ignore[attr-defined]
        self.full = kwargs.get("obs_mode", "symbolic") == "full"
        self.route = bool(kwargs.get("route", False))
        self.key_goal: str = trained.world.config.key_goal  # type: ignore[attr-defined]
        self.name = self.folder.name

    def __repr__(self) -> str:
        return f"PolicyController({str(self.folder)!r})"

    def observation(self, state: WorldState, config: TaskConfig, slot: int) -> dict[str, np.ndarray]:
        """What the policy sees of ``slot`` in every world."""
        if config.view != self.view:
            raise ValueError(
                f"policy {self.name!r} was trained with view={self.view}; this world has view={config.view}"
            )
        as_trained = dataclasses.replace(config, goal=self.goal, learner=slot, key_goal=self.key_goal)
        obs = observe(state, as_trained, slot, self.full, self.phrase)
        if self.route:
            obs["route"] = sensors.route(state, as_trained, slot)
        return obs

    def __call__(self, state: WorldState, config: TaskConfig, slot: int) -> np.ndarray:
        actions, _ = self.model.predict(self.observation(state, config, slot), deterministic=True)
        return np.asarray(actions, dtype=np.int64).reshape(state.batch)


_LOADED: dict[tuple[Any, ...], PolicyController | RolePolicyController] = {}


def _identity(folder: Path) -> tuple[Any, ...]:
    """The resolved folder and the modification time and size of its two files: a folder
    whose files were replaced is loaded afresh."""
    stats: list[tuple[int, int, int] | None] = []
    for name in ("policy.json", "policy.safetensors"):
        try:
            info = (folder / name).stat()
        except OSError:
            stats.append(None)  # loading it names the fault
        else:
            stats.append((info.st_mtime_ns, info.st_size, info.st_ino))
    return (str(folder), *stats)


def policy_controller(spec: str | Path) -> PolicyController | RolePolicyController:
    """A controller for the policy ``spec`` (loaded once per process while its files are
    unchanged)."""
    folder = policy_folder(spec).resolve()
    key = _identity(folder)
    if key not in _LOADED:
        for old in [k for k in _LOADED if k[0] == key[0]]:
            del _LOADED[old]  # an earlier version of the folder's files
        _LOADED[key] = RolePolicyController(folder) if is_role_policy(folder) else PolicyController(folder)
    return _LOADED[key]


def controller(spec: str | Path) -> PolicyController | RolePolicyController:
    """The policy ``spec`` (shipped name or folder) as a controller; this module is the
    ``vrenvs.policies`` provider that vrenvs finds through its entry point."""
    return policy_controller(spec)
