"""The learned generators' cases of ``vrenvs bench`` (its ``vrenvs.bench`` entry point)."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from generators.source import GeneratorSource

__all__ = ["cases"]


def cases(quick: bool) -> dict[str, Callable[[], float]]:
    """Scenes/s of each learned generator: banks of 1 and 1024, on 1 and 2 torch threads
    (the ``generator`` section of ``vrenvs bench``)."""
    cases: dict[str, Callable[[], float]] = {}
    for kind in ("gan", "vae", "vaegan"):
        for bank in (1, 1024):
            for threads in (1, 2):
                scenes = (16 if bank == 1 else 1024) if quick else (256 if bank == 1 else 4096)

                def run(
                    kind: str = kind, bank: int = bank, threads: int = threads, scenes: int = scenes
                ) -> float:
                    source = GeneratorSource(kind, bank_size=bank)  # fresh: no banks cached
                    before = torch.get_num_threads()
                    torch.set_num_threads(threads)
                    try:
                        start = time.perf_counter()
                        for block in range(10**8, 10**8 + scenes, bank):
                            source.bank(block)
                        return scenes / (time.perf_counter() - start)
                    finally:
                        torch.set_num_threads(before)

                cases[f"{kind}, banks of {bank}, {threads} thread{'s' if threads > 1 else ''}"] = run
    return cases
