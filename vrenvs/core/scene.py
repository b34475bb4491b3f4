"""Scenes: a grid of glyph codes (tiles, item spawns, actor spawns) and its ASCII form.

A scene is stored as one ``(H, W)`` array of glyph codes from the combined vocabulary of
:mod:`vrenvs.core.catalog`; that is also what the generators learn and emit. A cell that
holds an item or an actor stands on a ground tile inferred from its neighbours (the most
common of floor / grass / path around it, floor if none), so one glyph per cell suffices.

ASCII files hold one scene each: optional ``; key: value`` header lines, then one text row
per grid row. Errors name the source, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vrenvs.core.catalog import CATALOG

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_SIZE",
    "MIN_SIZE",
    "Scene",
    "SceneError",
    "parse_ascii",
    "read_ascii",
    "split_layers",
]

MIN_SIZE = 5
MAX_SIZE = 64
_GROUND = ("floor", "grass", "path")


class SceneError(ValueError):
    """A scene that cannot be read or used; the message names where and why."""


@dataclass(frozen=True, eq=False)
class Scene:
    """One world layout. ``codes`` is ``(H, W)`` uint8 glyph codes; read-only."""

    codes: np.ndarray
    name: str = ""
    meta: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        given = np.asarray(self.codes)
        if given.dtype.kind not in "iu":
            raise SceneError(
                f"scene {self.name!r}: glyph codes must be integers, got dtype {given.dtype}; "
                f"codes are in [0, {CATALOG.num_codes - 1}]"
            )
        codes = np.array(given, dtype=np.int64, copy=True)
        if codes.ndim != 2:
            raise SceneError(f"scene {self.name!r}: codes must be 2-D (H, W), got shape {codes.shape}")
        h, w = codes.shape
        if not (MIN_SIZE <= h <= MAX_SIZE and MIN_SIZE <= w <= MAX_SIZE):
            raise SceneError(
                f"scene {self.name!r} is {h} x {w}; height and width must be in [{MIN_SIZE}, {MAX_SIZE}]"
            )
        bad = (codes < 0) | (codes >= CATALOG.num_codes)
        if bad.any():
            y, x = np.argwhere(bad)[0]
            raise SceneError(
                f"scene {self.name!r}, row {y}, column {x}: glyph code {codes[y, x]} is outside "
                f"the vocabulary [0, {CATALOG.num_codes - 1}]"
            )
        frozen = codes.astype(np.uint8)
        frozen.setflags(write=False)
        object.__setattr__(self, "codes", frozen)

    @property
    def shape(self) -> tuple[int, int]:
        h, w = self.codes.shape
        return int(h), int(w)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scene) and np.array_equal(self.codes, other.codes)

    def __hash__(self) -> int:
        return hash(self.codes.tobytes())

    def layers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(tiles, items, roles)``, each ``(H, W)``: tile ids, item ids (0 none), role ids."""
        tiles, items, roles = split_layers(self.codes[None])
        return tiles[0], items[0], roles[0]

    def to_ascii(self) -> str:
        glyphs = np.array(list(CATALOG.glyphs))
        rows = ["".join(row) for row in glyphs[self.codes]]
        header = [f"; name: {self.name}"] if self.name else []
        header += [f"; {k}: {v}" for k, v in self.meta.items()]
        return "\n".join(header + rows) + "\n"

    def __str__(self) -> str:
        return self.to_ascii()

    def count(self, glyph: str) -> int:
        return int((self.codes == CATALOG.code_of[glyph]).sum())


def split_layers(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split glyph codes ``(..., H, W)`` into tile ids, item ids and role ids (same shape).

    Cells holding a spawn get the ground tile most common among their 4 neighbours.
    """
    codes = np.asarray(codes)
    tiles = CATALOG.CODE_TILE[codes]
    items = CATALOG.CODE_ITEM[codes].astype(np.uint8)
    roles = CATALOG.CODE_ROLE[codes].astype(np.uint8)
    spawn = tiles < 0
    if spawn.any():
        counts = []
        framed = np.full((*tiles.shape[:-2], tiles.shape[-2] + 2, tiles.shape[-1] + 2), -1, tiles.dtype)
        framed[..., 1:-1, 1:-1] = tiles  # a frame of no tile: cells outside count as no ground
        for name in _GROUND:
            is_ground = framed == CATALOG.tile[name].id
            counts.append(
                is_ground[..., :-2, 1:-1].astype(np.int8)
                + is_ground[..., 2:, 1:-1]
                + is_ground[..., 1:-1, :-2]
                + is_ground[..., 1:-1, 2:]
            )
        # argmax keeps the first maximum, so ties (and no ground at all) give floor.
        ground_ids = np.array([CATALOG.tile[n].id for n in _GROUND], dtype=np.int16)
        ground = ground_ids[np.argmax(np.stack(counts), axis=0)]
        tiles = np.where(spawn, ground, tiles)
    return tiles.astype(np.uint8), items, roles


def parse_ascii(text: str, source: str = "<string>") -> Scene:
    """Read one scene from ASCII text. Raises :class:`SceneError` naming line and column."""
    meta: dict[str, str] = {}
    rows: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r\n")
        if line.startswith(";"):
            if rows:
                raise SceneError(f"{source}, line {number}: header line ';' after the map rows")
            key, sep, value = line[1:].partition(":")
            if sep:
                meta[key.strip()] = value.strip()
            continue
        if not line.strip():
            if rows:
                rows.append((number, ""))
            continue
        rows.append((number, line))
    while rows and not rows[-1][1]:
        rows.pop()
    if not rows:
        raise SceneError(f"{source}: the scene is empty (no map rows)")
    width = len(rows[0][1])
    for number, line in rows:
        if len(line) != width:
            raise SceneError(
                f"{source}, line {number}: row has {len(line)} columns, expected {width} "
                "(every row must have the same width)"
            )
    codes = _codes_of(rows, source)
    name = meta.pop("name", Path(source).stem if source != "<string>" else "")
    try:
        return Scene(codes, name=name, meta=meta)
    except SceneError as err:
        raise SceneError(f"{source}: {err}") from None


def _codes_of(rows: list[tuple[int, str]], source: str) -> np.ndarray:
    for number, line in rows:
        for col, char in enumerate(line, start=1):
            if not char.isascii():
                raise SceneError(_unknown(source, number, col, char))
    data = np.frombuffer("".join(line for _, line in rows).encode("ascii"), dtype=np.uint8)
    data = data.reshape(len(rows), -1)
    codes = CATALOG.CODE_OF_BYTE[data]
    if (codes < 0).any():
        y, x = np.argwhere(codes < 0)[0]
        raise SceneError(_unknown(source, rows[y][0], x + 1, chr(data[y, x])))
    return codes


def _unknown(source: str, line: int, col: int, char: str) -> str:
    return f"{source}, line {line}, column {col}: unknown glyph {char!r}; known glyphs are {CATALOG.glyphs!r}"


MAX_FILE_BYTES = 1 << 20
"""Scene files are at most this long (a 64 x 64 map with headers is a few kilobytes)."""


def read_ascii(path: str | Path) -> Scene:
    """Read one ASCII scene file; every problem is a :class:`SceneError` naming the file."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise SceneError(f"{path}: cannot be read ({err.strerror or err})") from None
    if len(data) > MAX_FILE_BYTES:
        raise SceneError(f"{path}: longer than {MAX_FILE_BYTES} bytes; a scene file holds one map")
    try:
        text = data.decode("utf-8-sig")  # a leading byte order mark is no map row
    except UnicodeDecodeError as err:
        raise SceneError(
            f"{path}: not UTF-8 text (byte {err.start}: {data[err.start : err.start + 1]!r})"
        ) from None
    return parse_ascii(text, source=str(path))
