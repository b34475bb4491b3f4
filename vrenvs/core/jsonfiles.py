"""Config files users load (generator checkpoints, policies): bounded reading and sealing.

:func:`read_object` reads a JSON object from a file with a size cap and refuses what
``json.loads`` would let through silently: ``NaN`` / ``Infinity`` literals and a key given
twice. :func:`digest` is the sha256 of a config's canonical JSON (keys sorted, no spaces,
ASCII), so formatting and key order do not matter and every value does.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

__all__ = ["MAX_BYTES", "digest", "read_object"]

MAX_BYTES = 1_000_000
"""Largest JSON config read (the shipped ones are a few kB)."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice")
        out[key] = value
    return out


def _nonfinite(value: Any, where: str) -> tuple[str, float] | None:
    """The first NaN or infinite number in ``value`` (``NaN``, ``Infinity`` or ``1e999`` in the
    text) and its place.

    >>> _nonfinite({"policy": {"net_arch": [64, float("nan")]}}, "")
    ('policy.net_arch[1]', nan)
    """
    if isinstance(value, float) and not math.isfinite(value):
        return where, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _nonfinite(
            item, f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}" if where else key
        )
        if found:
            return found
    return None


def read_object(
    path: str | os.PathLike[str],
    what: str,
    error: type[ValueError] = ValueError,
    max_bytes: int = MAX_BYTES,
) -> dict[str, Any]:
    """The JSON object in the file ``path``; ``error("<what> <path> ...")`` if it is missing,
    larger than ``max_bytes``, not UTF-8, not JSON, holds NaN / Infinity or a repeated key,
    or is not an object."""
    path = Path(path)
    if not path.is_file():
        problem = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise error(f"{what} {path} {problem}")
    with path.open("rb") as handle:
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise error(f"{what} {path} is larger than {max_bytes} bytes, the most a config may be")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(
            f"{what} {path} is not UTF-8 text (byte {err.start}: {raw[err.start : err.start + 1]!r})"
        ) from None
    try:
        data = json.loads(text, object_pairs_hook=_pairs)
    except json.JSONDecodeError as err:
        raise error(f"{what} {path} is corrupt or truncated (not valid JSON: {err})") from None
    except ValueError as err:
        raise error(f"{what} {path} is not valid JSON: {err}") from None
    except RecursionError:
        raise error(f"{what} {path} is not valid JSON: it nests too deeply") from None
    if not isinstance(data, dict):
        raise error(f"{what} {path} holds a JSON {type(data).__name__}; a JSON object is expected")
    try:
        found = _nonfinite(data, "")
    except RecursionError:
        raise error(f"{what} {path} is not valid JSON: it nests too deeply") from None
    if found:
        raise error(f"{what} {path}: {found[0]}={found[1]} is not allowed; allowed: a finite number")
    return data


def digest(data: dict[str, Any], without: str) -> str:
    """sha256 (hex) of the canonical JSON of ``data`` minus its key ``without``.

    >>> digest({"b": 1, "a": [1.5, "x"], "seal": "..."}, "seal") == digest({"a": [1.5, "x"], "b": 1}, "")
    True
    """
    body = {k: v for k, v in data.items() if k != without}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()
