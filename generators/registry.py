"""Factories for ``scenes="gan" | "vae" | "vaegan"``, importable without torch.

vrenvs resolves a registered name lazily (``register_source("gan",
"generators.registry:gan_source")``); torch is imported only when the source is built, and
a missing torch becomes an error that names the extra to install.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generators.source import GeneratorSource

__all__ = ["gan_source", "vae_source", "vaegan_source"]


def _source(kind: str, size: int) -> GeneratorSource:
    try:
        from generators.source import GeneratorSource
    except ImportError as err:
        raise ValueError(
            f"scenes={kind!r} needs the learned generators' dependencies ({err.name} is missing): "
            'pip install "vrenvs[generators]", or use scenes="procedural" / "designer"'
        ) from err
    return GeneratorSource(kind, size)


def gan_source(size: int) -> GeneratorSource:
    return _source("gan", size)


def vae_source(size: int) -> GeneratorSource:
    return _source("vae", size)


def vaegan_source(size: int) -> GeneratorSource:
    return _source("vaegan", size)
