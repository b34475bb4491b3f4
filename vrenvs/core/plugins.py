"""Names that other packages add to vrenvs, found through entry points.

vrenvs never imports the packages that build on it. A package declares in its
distribution's metadata what it adds, and vrenvs loads an entry only when that name is
used:

- ``vrenvs.sources``: ``scenes=<name>`` factories ``(size) -> SceneSource`` (the learned
  generators: ``gan``, ``vae``, ``vaegan``);
- ``vrenvs.policies``: providers of trained controllers (``names()``, ``controller(name)``,
  ``env_id(name)``), e.g. the shipped PPO policies;
- ``vrenvs.commands``: ``vrenvs <name> ...`` subcommands, ``main(argv) -> exit code``;
- ``vrenvs.bench``: extra benchmark cases.

In ``pyproject.toml``::

    [project.entry-points."vrenvs.sources"]
    gan = "generators.registry:gan_source"
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

__all__ = ["GROUPS", "load", "plugin_names", "provider_of"]

GROUPS = ("vrenvs.sources", "vrenvs.policies", "vrenvs.commands", "vrenvs.bench")


@cache
def _entries(group: str) -> dict[str, EntryPoint]:
    if group not in GROUPS:
        raise ValueError(f"unknown plugin group {group!r}; choose from {list(GROUPS)}")
    return {entry.name: entry for entry in entry_points(group=group)}


def plugin_names(group: str) -> list[str]:
    """The names declared in ``group`` by the installed distributions."""
    return sorted(_entries(group))


def provider_of(group: str, name: str) -> str:
    """The top-level package that declares ``name`` in ``group`` (for error messages)."""
    return _entries(group)[name].value.split(".")[0].split(":")[0]


def load(group: str, name: str) -> Any:
    """The object behind ``name`` in ``group`` (importing its package now). A package that
    cannot be imported (an optional dependency missing) becomes a ``ValueError`` naming it."""
    entries = _entries(group)
    if name not in entries:
        raise ValueError(f"no {group} entry {name!r}; installed: {sorted(entries)}")
    try:
        return entries[name].load()
    except ImportError as err:
        raise ValueError(
            f"{name!r} ({group}) comes from the {provider_of(group, name)} package, which cannot be "
            f'imported here ({err}); reinstall vrenvs with its extras: pip install "vrenvs[all]"'
        ) from err
