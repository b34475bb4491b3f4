"""Torch's thread count, set for a block of code and restored after.

A learned scene's float rounding depends on how many threads torch splits its sums over:
between 1 and 2 threads about one ``vqvae`` code grid in 1,000 draws another code (the first
generators, ``gan``/``vae``/``vaegan``, measured 0 of 4,096). The v2 model therefore samples
and decodes on :data:`SAMPLE_THREADS` threads whatever the caller set (an SB3 or RLlib run on
one thread, a 16-core desktop on 16), so scene ``i`` is the same in every process on one kind
of CPU.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from vrenvs.core.checks import check_int

__all__ = ["SAMPLE_THREADS", "torch_threads"]

SAMPLE_THREADS = 2
"""Torch threads the v2 model samples and decodes on (what the shipped goldens, hard sets and
report cards were made with; 2 is also the bars' machine)."""


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block (or, as a decorator, each call) on ``count`` torch threads, then restore
    the caller's count, also when the block raises."""
    count = check_int("threads", count, 1, 1024)
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
