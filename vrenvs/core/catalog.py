"""World content as data: tiles, items and actor roles, loaded once from ``vrenvs/data``.

Everything the rules need is exposed as frozen dataclasses and read-only numpy lookup
tables indexed by id (``WALKABLE[tile_id]``), so the batched core never branches on names.

Scenes are stored as *glyph codes*: one combined vocabulary of tiles, then items, then
actor roles, so a cell holds exactly one glyph (an item or actor stands on a tile that is
inferred from its neighbours, see :mod:`vrenvs.core.scene`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

import numpy as np
import yaml

__all__ = [
    "CATALOG",
    "COLOURS",
    "Catalog",
    "Item",
    "Role",
    "Tile",
]

COLOURS = ("red", "green", "blue", "yellow")
"""Key and lock colours, in the order used by per-colour arrays."""


@dataclass(frozen=True)
class Tile:
    id: int
    name: str
    glyph: str
    text: str
    walkable: bool
    setting: str
    colour: tuple[int, int, int]
    door: str | None = None
    lock: str | None = None


@dataclass(frozen=True)
class Item:
    id: int
    name: str
    glyph: str
    adjective: str
    noun: str
    colour: tuple[int, int, int]
    key: str | None = None
    requestable: bool = False
    food: bool = False

    @property
    def text(self) -> str:
        return f"{self.adjective} {self.noun}"


@dataclass(frozen=True)
class Role:
    id: int
    name: str
    glyph: str
    text: str
    npc: bool
    behaviour: str
    colour: tuple[int, int, int]
    catches: str | None = None
    yields: bool = False
    objective: str | None = None  # what it is rewarded for as a learner (vrenvs.core.tasks)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _load_yaml(name: str) -> dict:
    text = resources.files("vrenvs.data").joinpath(name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


class Catalog:
    """The loaded world content. Build it through :data:`CATALOG`; it is never mutated."""

    def __init__(self, tiles: list[dict], items: list[dict], roles: list[dict]) -> None:
        self.tiles = tuple(Tile(id=i, **_tuple_colour(t)) for i, t in enumerate(tiles))
        self.items = tuple(Item(id=i + 1, **_tuple_colour(t)) for i, t in enumerate(items))
        self.roles = tuple(Role(id=i + 1, **_tuple_colour(t)) for i, t in enumerate(roles))
        self.tile = {t.name: t for t in self.tiles}
        self.item = {t.name: t for t in self.items}
        self.role = {t.name: t for t in self.roles}
        self._check_unique()
        self._build_tables()

    def _check_unique(self) -> None:
        glyphs = [t.glyph for t in self.tiles] + [i.glyph for i in self.items] + [r.glyph for r in self.roles]
        dupes = sorted({g for g in glyphs if glyphs.count(g) > 1})
        if dupes:
            raise ValueError(f"catalog glyphs must be unique; repeated: {dupes}")
        if any(len(g) != 1 for g in glyphs):
            raise ValueError("every catalog glyph must be a single character")

    def _build_tables(self) -> None:
        n_tiles, n_items = len(self.tiles), len(self.items)
        self.num_tiles = n_tiles
        self.num_items = n_items  # ids 1..num_items; 0 = none
        self.num_roles = len(self.roles)  # ids 1..num_roles; 0 = none
        tile = self.tile
        self.FLOOR = tile["floor"].id
        self.WALL = tile["wall"].id
        self.DOOR = tile["door"].id
        self.DOOR_OPEN = tile["door_open"].id
        self.WALKABLE = _frozen(np.array([t.walkable for t in self.tiles], dtype=bool))
        self.IS_DOOR = _frozen(np.array([t.door is not None for t in self.tiles], dtype=bool))
        self.IS_CLOSED = _frozen(np.array([t.door == "closed" for t in self.tiles], dtype=bool))
        self.IS_LOCKED = _frozen(np.array([t.door == "locked" for t in self.tiles], dtype=bool))
        self.IS_OPEN = _frozen(np.array([t.door == "open" for t in self.tiles], dtype=bool))
        # LOCK_COLOUR[tile] = index into COLOURS, or -1.
        self.LOCK_COLOUR = _frozen(
            np.array([COLOURS.index(t.lock) if t.lock else -1 for t in self.tiles], dtype=np.int8)
        )
        # KEY_COLOUR[item] = index into COLOURS, or -1 (index 0 is "no item").
        self.KEY_COLOUR = _frozen(
            np.array([-1] + [COLOURS.index(i.key) if i.key else -1 for i in self.items], np.int8)
        )
        self.REQUESTABLE = _frozen(np.array([False] + [i.requestable for i in self.items]))
        self.FOOD = _frozen(np.array([False] + [i.food for i in self.items]))
        self.YIELDS = _frozen(np.array([False] + [r.yields for r in self.roles]))
        self.LOCKED_DOOR_OF = {t.lock: t.id for t in self.tiles if t.door == "locked"}
        self._build_glyph_codes(n_tiles, n_items)

    def _build_glyph_codes(self, n_tiles: int, n_items: int) -> None:
        """Combined glyph vocabulary: tiles, then items, then roles."""
        entries = (
            [("tile", t.id, t.glyph, t.name) for t in self.tiles]
            + [("item", i.id, i.glyph, i.name) for i in self.items]
            + [("role", r.id, r.glyph, r.name) for r in self.roles]
        )
        self.glyphs = "".join(e[2] for e in entries)
        self.code_names = tuple(e[3] for e in entries)
        self.code_of = {g: c for c, g in enumerate(self.glyphs)}
        self.num_codes = len(entries)
        self.ITEM_CODE0 = n_tiles  # code of item id 1
        self.ROLE_CODE0 = n_tiles + n_items  # code of role id 1
        # CODE_TILE[code] = tile id (or -1 for spawns), CODE_ITEM = item id or 0, CODE_ROLE.
        self.CODE_TILE = _frozen(np.array([e[1] if e[0] == "tile" else -1 for e in entries], np.int16))
        self.CODE_ITEM = _frozen(np.array([e[1] if e[0] == "item" else 0 for e in entries], np.int16))
        self.CODE_ROLE = _frozen(np.array([e[1] if e[0] == "role" else 0 for e in entries], np.int16))
        # Glyph lookup by byte for vectorised parsing: -1 for unknown characters.
        lookup = np.full(256, -1, dtype=np.int16)
        for code, glyph in enumerate(self.glyphs):
            lookup[ord(glyph)] = code
        self.CODE_OF_BYTE = _frozen(lookup)
        self.vocabulary_hash = hashlib.sha256(
            "|".join(f"{g}:{n}" for g, n in zip(self.glyphs, self.code_names)).encode()
        ).hexdigest()[:16]

    def tile_code(self, name: str) -> int:
        return self.tile[name].id

    def item_code(self, name: str) -> int:
        return self.ITEM_CODE0 + self.item[name].id - 1

    def role_code(self, name: str) -> int:
        return self.ROLE_CODE0 + self.role[name].id - 1

    def role_id(self, name: str) -> int:
        """Role id of ``name``, with an error that lists the known roles."""
        if name not in self.role:
            raise ValueError(f"unknown actor role {name!r}; choose from {sorted(self.role)}")
        return self.role[name].id


def _tuple_colour(entry: dict) -> dict:
    out = dict(entry)
    out["colour"] = tuple(int(c) for c in out["colour"])
    return out


def load_catalog() -> Catalog:
    return Catalog(
        _load_yaml("tiles.yaml")["tiles"],
        _load_yaml("items.yaml")["items"],
        _load_yaml("actors.yaml")["roles"],
    )


CATALOG = load_catalog()
