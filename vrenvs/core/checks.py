"""Validation of what users give: one set of checks for every boundary.

Env kwargs, reset options, scene sources and files, checkpoint configs, training overrides and
command-line arguments are checked with these functions, so every refusal reads the same way:
the argument's name, the value given and what is allowed::

    >>> check_int("num_scenes", -1, 0)
    Traceback (most recent call last):
    ...
    ValueError: num_scenes=-1 is out of range; allowed: an integer >= 0

A value of the wrong type raises :class:`TypeError`, a value of the right type outside what is
allowed :class:`ValueError`. The ``arg_*`` factories wrap the same checks as ``argparse`` types,
so the command line says ``vrenvs: error: argument --num: ...`` and exits with status 2.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "arg_choice",
    "arg_float",
    "arg_int",
    "arg_output",
    "check_bool",
    "check_choice",
    "check_float",
    "check_int",
    "check_output",
    "check_text",
]


def _bound(low: float | None, high: float | None, what: str) -> str:
    if low is not None and high is not None:
        return f"{what} in [{low}, {high}]"
    if low is not None:
        return f"{what} >= {low}"
    if high is not None:
        return f"{what} <= {high}"
    return what


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices``, else a ValueError listing them."""
    options = list(choices)
    try:
        known = value in options
    except TypeError:  # unhashable or uncomparable values are no choice either
        known = False
    if not known:
        raise ValueError(f"{name}={value!r} is not supported; choose from {options}")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}={value!r} must be True or False")
    return bool(value)


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` if it is an integer in ``[low, high]``.

    Booleans, floats (even ``3.0``) and strings are refused with a TypeError: a float where a
    count is expected is almost always a mistake that truncation would hide.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}={value!r} must be {_bound(low, high, 'an integer')}")
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{name}={value!r} is out of range; allowed: {_bound(low, high, 'an integer')}")
    return number


def check_float(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    above: bool = False,
) -> float:
    """``value`` as a finite ``float`` in ``[low, high]`` (``(low, high]`` with ``above``).

    NaN and infinities are refused: they pass every ``<``/``>`` comparison the wrong way.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}={value!r} must be a number")
    number = float(value)
    if above and low is not None:
        allowed = f"a finite number in ({low}, {high}]" if high is not None else f"a finite number > {low}"
    else:
        allowed = _bound(low, high, "a finite number")
    if not math.isfinite(number):
        raise ValueError(f"{name}={value!r} is not allowed; allowed: {allowed}")
    too_low = low is not None and (number <= low if above else number < low)
    if too_low or (high is not None and number > high):
        raise ValueError(f"{name}={value!r} is out of range; allowed: {allowed}")
    return number


def check_text(name: str, value: Any, *, max_len: int = 4096) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name}={value!r} must be a string")
    if len(value) > max_len:
        raise ValueError(f"{name} is {len(value)} characters long; at most {max_len} are allowed")
    return value


def check_output(
    name: str, path: str | os.PathLike[str], suffixes: Iterable[str] = (), *, folder: bool = False
) -> Path:
    """Check that ``path`` can be written *before* the work that produces it starts.

    A file output must not be a folder, must end with one of ``suffixes`` (when given) and its
    folder must be creatable and writable (its nearest existing folder writable); a folder
    output must not be a file. Nothing is created here: the writer makes the folders.
    """
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name}={path!r} must be a path")
    target = Path(path)
    if str(path) == "":
        raise ValueError(f"{name}='' is empty; give a path")
    allowed = [s.lower() for s in suffixes]
    if folder:
        if target.exists() and not target.is_dir():
            raise ValueError(f"{name}={str(path)!r} is a file; a folder is needed there")
        directory = target
    else:
        if target.is_dir():
            raise ValueError(f"{name}={str(path)!r} is a folder; give a file name")
        if allowed and target.suffix.lower() not in allowed:
            raise ValueError(f"{name}={str(path)!r} has an unsupported extension; choose from {allowed}")
        directory = target.parent
    for parent in (directory, *directory.parents):
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{name}={str(path)!r} cannot be written: {str(parent)!r} is a file")
            if not os.access(parent, os.W_OK | os.X_OK) or not _accepts_files(parent):
                raise ValueError(f"{name}={str(path)!r} cannot be written: {str(parent)!r} is not writable")
            break
    if not folder and target.exists() and not os.access(target, os.W_OK):
        raise ValueError(f"{name}={str(path)!r} exists and is not writable")
    return target


def _accepts_files(folder: Path) -> bool:
    """Whether a new file can be made in ``folder`` (tried with a temporary file, removed at
    once): permissions do not tell for read-only or virtual file systems (``/proc``, ``/sys``)."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".vrenvs-check-"):
            return True
    except OSError:
        return False


def _argtype(
    check: Callable[[str, Any], Any], parse: Callable[[str], Any], label: str
) -> Callable[[str], Any]:
    """An ``argparse`` type: parse the text, run ``check``, report failures the argparse way
    (argparse adds ``argument --name:`` in front)."""

    def convert(text: str) -> Any:
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {label}") from None
        try:
            return check("value", value)
        except (TypeError, ValueError) as err:
            raise argparse.ArgumentTypeError(str(err).replace("value=", "", 1)) from None

    convert.__name__ = label.replace(" ", "_")
    return convert


def arg_int(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """An ``argparse`` type for an integer in ``[low, high]``."""
    return _argtype(lambda n, v: check_int(n, v, low, high), int, _bound(low, high, "an integer"))


def arg_float(
    low: float | None = None, high: float | None = None, *, above: bool = False
) -> Callable[[str], float]:
    """An ``argparse`` type for a finite number in ``[low, high]`` (``(low, high]`` with ``above``)."""
    return _argtype(lambda n, v: check_float(n, v, low, high, above=above), float, "a finite number")


def arg_choice(choices: Iterable[str]) -> Callable[[str], str]:
    options = list(choices)
    return _argtype(lambda n, v: check_choice(n, v, options), str, "a choice")


def arg_output(suffixes: Iterable[str] = (), *, folder: bool = False) -> Callable[[str], Path]:
    """An ``argparse`` type for an output file (or folder), checked before any work starts."""
    allowed = tuple(suffixes)
    return _argtype(lambda n, v: check_output(n, v, allowed, folder=folder), str, "a path")
