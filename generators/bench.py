"""The learned generators' cases of ``vrenvs bench`` (its ``vrenvs.bench`` entry point)."""

from __future__ import annotations

import time
from collections.abc import Callable

from generators.checkpoint import shipped
from generators.source import GeneratorSource
from generators.threads import SAMPLE_THREADS, torch_threads
from generators.vqmodel import VQ_KINDS

__all__ = ["cases"]


def cases(quick: bool) -> dict[str, Callable[[], float]]:
    """Scenes/s incl. repair of each learned generator: banks of 1 and 1024, on 1 and 2 torch
    threads, at each size it makes (the ``generator`` section of ``vrenvs bench``); the v2
    kinds on :data:`~generators.threads.SAMPLE_THREADS` only, which they draw on whatever
    the caller's setting."""
    cases: dict[str, Callable[[], float]] = {}
    kinds = [(k, 16) for k in ("gan", "vae", "vaegan")]
    if shipped("vqvae").is_file():
        kinds += [("vqvae", 16), ("vqvae", 32)]
    for kind, size in kinds:
        for bank in (1, 1024):
            for threads in (SAMPLE_THREADS,) if kind in VQ_KINDS else (1, 2):
                scenes = (16 if bank == 1 else 1024) if quick else (256 if bank == 1 else 4096)
                if quick and kind == "vqvae":  # a smoke run: one small bank (v2 decodes ~50-250/s)
                    scenes = bank = min(bank, 64)

                def run(
                    kind: str = kind,
                    size: int = size,
                    bank: int = bank,
                    threads: int = threads,
                    scenes: int = scenes,
                ) -> float:
                    source = GeneratorSource(kind, size, bank_size=bank)  # fresh: no banks cached
                    with torch_threads(threads):
                        start = time.perf_counter()
                        for block in range(10**8, 10**8 + scenes, bank):
                            source.bank(block)
                        return scenes / (time.perf_counter() - start)

                name = kind if kind != "vqvae" else f"{kind} {size}x{size}"
                cases[f"{name}, banks of {bank}, {threads} thread{'s' if threads > 1 else ''}"] = run
    return cases
