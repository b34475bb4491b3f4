"""How the compiled loops of the core are built: one function, :func:`kernel`, for every kernel.

Kernels are plain Python functions over numpy arrays (loops over worlds, actors and cells),
compiled by numba to machine code on first use and cached on disk (next to the module, or in
numba's per-user cache where the package folder is read-only), so a later process loads them
instead of compiling. ``NUMBA_DISABLE_JIT=1`` runs the same functions as plain Python, for a
debugger, a coverage run or mutation testing. Kernels take arrays the caller has checked:
shapes, dtypes and index ranges are validated before a kernel is called, never inside (numba
does no bounds checks).

A kernel is bound by assignment after its definition, ``name = kernel(name)``, never with
``@kernel``: mutmut leaves decorated functions unmutated, and this way ``make mutation`` (which
runs the kernels as Python) mutates them like the rest of the core (a test keeps it so).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numba
import numpy as np

__all__ = ["kernel"]

F = TypeVar("F", bound=Callable[..., object])


def kernel(fn: F) -> F:
    """Compile ``fn`` as a kernel (no Python objects inside, cached on disk, GIL released).

    With ``NUMBA_DISABLE_JIT=1`` the plain function runs, with numpy's overflow warnings off:
    the hash arithmetic of :mod:`vrenvs.core.rng` wraps around on purpose, as compiled."""
    if getattr(numba.config, "DISABLE_JIT", False):

        @functools.wraps(fn)
        def plain(*args: Any) -> Any:
            with np.errstate(over="ignore"):
                return fn(*args)

        return plain  # type: ignore[return-value]
    return numba.njit(cache=True, nogil=True)(fn)  # type: ignore[return-value]
