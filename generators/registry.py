"""Factories for ``scenes="gan" | "vae" | "vaegan" | "vqvae" | "vqgan"``, importable without torch.

vrenvs resolves a registered name lazily (``register_source("gan",
"generators.registry:gan_source")``); torch is imported only when the source is built, and
a missing torch becomes an error that names the extra to install.

Each factory is called as ``factory(size, **options)`` with keyword-only options, which
``scenes={"source": kind, **options}`` checks against its signature
(:func:`vrenvs.core.sources.source_options`). Every kind takes ``checkpoint`` (default: the
shipped weights) and ``bank_size``; the v2 kinds (``vqvae``, ``vqgan``) also take the condition
``style``, ``temperature``, ``top_k`` and ``top_p`` (see :class:`generators.source.GeneratorSource`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from generators.source import GeneratorSource

__all__ = ["gan_source", "vae_source", "vaegan_source", "vqgan_source", "vqvae_source"]


def _source(kind: str, size: int, options: dict[str, Any]) -> GeneratorSource:
    try:
        from generators.source import GeneratorSource
    except ImportError as err:
        raise ValueError(
            f"scenes={kind!r} needs the learned generators' dependencies ({err.name} is missing): "
            'pip install "vrenvs[generators]", or use scenes="procedural" / "designer"'
        ) from err
    return GeneratorSource(kind, size, **options)


def gan_source(size: int, *, checkpoint: str | None = None, bank_size: int = 16) -> GeneratorSource:
    return _source("gan", size, {"checkpoint": checkpoint, "bank_size": bank_size})


def vae_source(size: int, *, checkpoint: str | None = None, bank_size: int = 16) -> GeneratorSource:
    return _source("vae", size, {"checkpoint": checkpoint, "bank_size": bank_size})


def vaegan_source(size: int, *, checkpoint: str | None = None, bank_size: int = 16) -> GeneratorSource:
    return _source("vaegan", size, {"checkpoint": checkpoint, "bank_size": bank_size})


def vqvae_source(
    size: int,
    *,
    checkpoint: str | None = None,
    bank_size: int = 16,
    style: str | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    targets: dict[str, str] | None = None,
) -> GeneratorSource:
    options = {"checkpoint": checkpoint, "bank_size": bank_size, "style": style, "targets": targets}
    return _source("vqvae", size, options | {"temperature": temperature, "top_k": top_k, "top_p": top_p})


def vqgan_source(
    size: int,
    *,
    checkpoint: str | None = None,
    bank_size: int = 16,
    style: str | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    targets: dict[str, str] | None = None,
) -> GeneratorSource:
    options = {"checkpoint": checkpoint, "bank_size": bank_size, "style": style, "targets": targets}
    return _source("vqgan", size, options | {"temperature": temperature, "top_k": top_k, "top_p": top_p})
