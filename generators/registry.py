"""Factories for ``scenes="gan" | "vae" | "vaegan" | "vqvae"``, importable without torch.

vrenvs resolves a registered name lazily (``register_source("gan",
"generators.registry:gan_source")``); torch is imported only when the source is built, and
a missing torch becomes an error that names the extra to install.

Each factory is called as ``factory(size, **options)``. Every kind takes ``checkpoint``
(default: the shipped weights) and ``bank_size``; the v2 kinds (``vqvae``) also take the
condition ``style``, ``temperature``, ``top_k`` and ``top_p`` (see
:class:`generators.source.GeneratorSource`), which the first generators refuse by name. An
unknown option is a ValueError listing the known ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from generators.source import GeneratorSource

__all__ = ["OPTIONS", "gan_source", "vae_source", "vaegan_source", "vqvae_source"]

OPTIONS = ("checkpoint", "bank_size", "style", "temperature", "top_k", "top_p")
"""Keyword options a factory passes on to :class:`~generators.source.GeneratorSource`."""


def _source(kind: str, size: int, options: dict[str, Any]) -> GeneratorSource:
    unknown = sorted(set(options) - set(OPTIONS), key=str)
    if unknown:
        raise ValueError(
            f"scenes={kind!r} has no option{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(map(repr, unknown))}; choose from {list(OPTIONS)}"
        )
    try:
        from generators.source import GeneratorSource
    except ImportError as err:
        raise ValueError(
            f"scenes={kind!r} needs the learned generators' dependencies ({err.name} is missing): "
            'pip install "vrenvs[generators]", or use scenes="procedural" / "designer"'
        ) from err
    return GeneratorSource(kind, size, **options)


def gan_source(size: int, **options: Any) -> GeneratorSource:
    return _source("gan", size, options)


def vae_source(size: int, **options: Any) -> GeneratorSource:
    return _source("vae", size, options)


def vaegan_source(size: int, **options: Any) -> GeneratorSource:
    return _source("vaegan", size, options)


def vqvae_source(size: int, **options: Any) -> GeneratorSource:
    return _source("vqvae", size, options)
