"""Who drives an actor: a scripted controller by name, or a trained policy.

Trained policies live in the agents package (the ``agents`` extra): a shipped policy by
name (``Assistant-Fetch``, ``NPC-Guard``, ... see ``vrenvs list``) or a policy folder by
path. vrenvs imports that package only when a name is not a scripted controller.
"""

from __future__ import annotations

from pathlib import Path

from vrenvs.core.controllers import Controller, controller, controller_names

__all__ = ["driver", "policy_names"]


def policy_names() -> list[str]:
    """The shipped trained policies ([] without the agents extra)."""
    try:
        from agents.pretrained import names
    except ImportError:
        return []
    return names()


def driver(name: str) -> Controller:
    """The scripted controller ``name``, or the trained policy ``name`` (shipped name or path)."""
    if name in controller_names():
        return controller(name)
    known = f"scripted controllers {controller_names()}"
    try:
        from agents.pretrained import names, policy_controller
    except ImportError as err:
        raise ValueError(
            f"unknown controller {name!r}; choose from the {known}, or install the agents extra "
            f'(pip install "vrenvs[agents]") for trained policies ({err})'
        ) from None
    if name in names() or Path(name).is_dir():
        return policy_controller(name)
    raise ValueError(
        f"unknown controller {name!r}; choose from the {known}, the trained policies {names()}, "
        "or give the path of a policy folder"
    )
