"""Who drives an actor: a scripted controller by name, or a trained policy.

Trained policies come from providers that other packages declare as ``vrenvs.policies``
entry points (see :mod:`vrenvs.core.plugins`); the agents package provides the shipped PPO
policies (``ppo-Assistant-Fetch``, ``ppo-NPC-Guard``, ... see ``vrenvs list``) and policy
folders by path. A provider is any object with ``names()``, ``controller(name)`` and
``env_id(name)``; it is imported only when a name is not a scripted controller.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from vrenvs.core.controllers import Controller, controller, controller_names
from vrenvs.core.plugins import load, plugin_names
from vrenvs.core.tasks import task

__all__ = ["PolicyProvider", "check_role", "driver", "is_trained", "policy_env_id", "policy_names"]

GROUP = "vrenvs.policies"


class PolicyProvider(Protocol):
    def names(self) -> list[str]: ...

    def controller(self, spec: str) -> Controller: ...

    def env_id(self, spec: str) -> str: ...


def _providers() -> list[PolicyProvider]:
    found = []
    for name in plugin_names(GROUP):
        try:
            found.append(load(GROUP, name))
        except ValueError:
            continue  # its package cannot be imported here (an extra is missing)
    return found


def policy_names() -> list[str]:
    """The trained policies the installed providers ship ([] without any)."""
    return sorted(n for provider in _providers() for n in provider.names())


def _provider_of(name: str) -> PolicyProvider | None:
    providers = _providers()
    for provider in providers:
        if name in provider.names():
            return provider
    if Path(name).is_dir() and providers:
        return providers[0]
    return None


def is_trained(name: str) -> bool:
    """Whether ``driver(name)`` would be a trained policy (not a scripted controller)."""
    return name not in controller_names() and _provider_of(name) is not None


def policy_env_id(name: str) -> str:
    """The env id the trained policy ``name`` (shipped name or folder) was trained on."""
    provider = _provider_of(name)
    if provider is None:
        raise ValueError(f"no trained policy {name!r}; choose from {policy_names()} or a policy folder")
    return provider.env_id(name)


def check_role(name: str, role: str, given: str) -> None:
    """Refuse the trained policy ``name`` (shipped name or folder) when it was trained as
    another role than ``role``, or is no trained policy. ``given`` names the argument and its
    value in the message, e.g. ``"npc_controllers['guard']='ppo-Assistant'"``."""
    provider = _provider_of(name)
    role_of = getattr(provider, "role", None)
    trained_as = role_of(name) if role_of is not None else task(policy_env_id(name)).learner
    if trained_as != role:
        raise ValueError(
            f"{given} is a policy trained as the {trained_as}; give a policy trained as the {role}"
        )


def driver(name: str) -> Controller:
    """The scripted controller ``name``, or the trained policy ``name`` (shipped name or path)."""
    if name in controller_names():
        return controller(name)
    provider = _provider_of(name)
    if provider is not None:
        return provider.controller(name)
    known = f"scripted controllers {controller_names()}"
    if not plugin_names(GROUP):
        raise ValueError(
            f"unknown controller {name!r}; choose from the {known}; trained policies need the agents "
            'package and its extra (pip install "vrenvs[agents]")'
        )
    raise ValueError(
        f"unknown controller {name!r}; choose from the {known}, the trained policies {policy_names()}, "
        "or give the path of a policy folder"
    )
