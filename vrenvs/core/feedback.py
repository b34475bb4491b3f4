"""The feedback store: what people (and simulated raters) said about the scenes they played.

One SQLite file (stdlib ``sqlite3``, write-ahead log, so any number of play windows and
scripts can write to it at once) with a ``meta`` table (``app = vrenvs-feedback``,
``schema_version``) and one ``feedback`` row per rating or finished episode:

========== =====================================================================
column     meaning
========== =====================================================================
time       seconds since the epoch
scene      the scene identity (JSON, ``info["scene"]``: replays the scene)
source     the identity's source name
condition  the generator condition (JSON: style, size, temperature, ...) or null
codes      the scene's glyph codes as drawn (``size * size`` bytes)
size       the map side
rating     1 (disliked) .. 5 (liked), or null for a row of signals only
signals    JSON: what the play session saw (``served``, ``gave_up``, ``steps``,
           ``seconds``, ``ended``)
========== =====================================================================

A file that is not an SQLite database, an SQLite database of something else, a newer schema
or a rating out of range raise :class:`FeedbackError` (a ValueError naming the file or the
value) before anything is written.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["APP", "RATINGS", "SCHEMA_VERSION", "FeedbackError", "FeedbackRow", "FeedbackStore"]

APP = "vrenvs-feedback"
SCHEMA_VERSION = 1
RATINGS = (1, 2, 3, 4, 5)
CONDITION_KEYS = ("style", "size", "temperature", "top_k", "top_p", "targets")
"""Identity keys that make up a generator's condition."""

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    scene TEXT NOT NULL,
    source TEXT NOT NULL,
    condition TEXT,
    codes BLOB NOT NULL,
    size INTEGER NOT NULL,
    rating INTEGER CHECK (rating IS NULL OR rating BETWEEN 1 AND 5),
    signals TEXT NOT NULL
);
"""


class FeedbackError(ValueError):
    """A feedback store or a rating that cannot be used; the message names which."""


@dataclass(frozen=True)
class FeedbackRow:
    """One stored row (see the module docstring)."""

    id: int
    time: float
    scene: dict[str, Any]
    condition: dict[str, Any] | None
    codes: np.ndarray
    rating: int | None
    signals: dict[str, Any]


def _rating(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) not in RATINGS:
        raise FeedbackError(f"rating={value!r} is not allowed; allowed: one of {list(RATINGS)} or None")
    return int(value)


class FeedbackStore:
    """The store at ``path`` (created when missing; checked when present)."""

    def __init__(self, path: str | Path, timeout: float = 30.0) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise FeedbackError(f"feedback store {self.path} is a folder; give a file path (e.g. ratings.db)")
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as err:
            raise FeedbackError(f"feedback store {self.path} cannot be opened: {err}") from None
        try:
            self._open(time.monotonic() + timeout)
        except sqlite3.OperationalError as err:  # locked past the timeout, read-only, ...
            self._db.close()
            raise FeedbackError(f"feedback store {self.path} cannot be used now: {err}") from None
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise FeedbackError(f"feedback store {self.path} is not an SQLite database ({err})") from None
        except FeedbackError:
            self._db.close()
            raise

    def _open(self, deadline: float) -> None:
        # SQLite answers some lock conflicts at open (switching the journal mode, recovering a
        # write-ahead log another process is creating) with "locked" at once, without waiting
        # for the busy timeout; those are retried here until the same deadline.
        # Whether the store is new is read from the database, not from the file: a file another
        # opener has just created (switched to WAL, tables not yet written) has no tables, and
        # _create decides again inside its write transaction.
        pause = 0.005
        while True:
            try:
                if self._tables():
                    self._check()  # before anything is written to a file that may be another's
                    self._wal()
                else:
                    self._wal()
                    self._create()
                return
            except sqlite3.OperationalError as err:
                text = str(err).lower()
                if ("locked" not in text and "busy" not in text) or time.monotonic() >= deadline:
                    raise
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                time.sleep(pause)
                pause = min(2 * pause, 0.1)

    def _wal(self) -> None:
        mode = self._db.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() == "wal":  # a file's WAL mode persists; switching needs a lock
            return
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise FeedbackError(
                f"feedback store {self.path} cannot use write-ahead logging (journal mode {mode!r}); "
                "put it on a local disk"
            )

    def _create(self) -> None:
        with self._transaction():
            if not self._tables():  # else another opener created it meanwhile (checked below)
                for statement in filter(str.strip, _SCHEMA.split(";")):  # executescript would commit
                    self._db.execute(statement)
                self._db.executemany(
                    "INSERT OR IGNORE INTO meta VALUES (?, ?)",
                    [("app", APP), ("schema_version", str(SCHEMA_VERSION))],
                )
        self._check()

    def _tables(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _check(self) -> None:
        tables = self._tables()
        if not {"meta", "feedback"} <= tables:
            raise FeedbackError(
                f"feedback store {self.path} is an SQLite database of something else (tables: "
                f"{sorted(tables)}); give a new file or one written by vrenvs"
            )
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("app") != APP:
            raise FeedbackError(f"feedback store {self.path} belongs to {meta.get('app')!r}, not {APP!r}")
        version = meta.get("schema_version")
        if version != str(SCHEMA_VERSION):
            raise FeedbackError(
                f"feedback store {self.path} has schema version {version}; this vrenvs reads {SCHEMA_VERSION}"
            )

    def _transaction(self) -> Any:
        db = self._db

        class _Tx:
            def __enter__(self) -> None:
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self, kind: Any, *rest: Any) -> None:
                if kind is not None:
                    db.execute("ROLLBACK")
                    return
                try:
                    db.execute("COMMIT")
                except sqlite3.Error:
                    db.execute("ROLLBACK")  # else the connection stays inside the transaction
                    raise

        return _Tx()

    def add(
        self,
        scene: Mapping[str, Any],
        codes: np.ndarray,
        rating: int | None = None,
        signals: Mapping[str, Any] | None = None,
        when: float | None = None,
    ) -> int:
        """Store one row; returns its id. ``scene`` is the identity (``info["scene"]``),
        ``codes`` the scene's glyph grid."""
        value = _rating(rating)
        grid = np.asarray(codes)
        if grid.ndim != 2 or grid.shape[0] != grid.shape[1] or grid.dtype.kind not in "iu":
            raise FeedbackError(
                f"codes of shape {grid.shape} ({grid.dtype}); expected a square grid of glyph codes"
            )
        if not isinstance(scene, Mapping) or "source" not in scene:
            raise FeedbackError(f"scene={scene!r} must be a scene identity (a mapping with 'source')")
        base = scene.get("base")  # an adapted scene: the generator condition is its base scene's
        generated: Mapping[str, Any] = base if isinstance(base, Mapping) else scene
        condition = {k: generated[k] for k in CONDITION_KEYS if k in generated} or None
        row = (
            time.time() if when is None else float(when),
            json.dumps(dict(scene), sort_keys=True, default=str),
            str(scene["source"]),
            None if condition is None else json.dumps(condition, sort_keys=True),
            grid.astype(np.uint8).tobytes(),
            int(grid.shape[0]),
            value,
            json.dumps(dict(signals or {}), sort_keys=True, default=str),
        )
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO feedback (time, scene, source, condition, codes, size, rating, signals) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        return int(cursor.lastrowid or 0)

    def rows(self, rated_only: bool = False) -> list[FeedbackRow]:
        """Every stored row, oldest first (``rated_only``: those with a rating)."""
        query = "SELECT id, time, scene, condition, codes, size, rating, signals FROM feedback"
        if rated_only:
            query += " WHERE rating IS NOT NULL"
        out = []
        for rid, when, scene, condition, codes, size, rating, signals in self._db.execute(
            query + " ORDER BY id"
        ):
            grid = np.frombuffer(codes, np.uint8)
            if grid.size != size * size:
                raise FeedbackError(
                    f"feedback store {self.path}, row {rid}: {grid.size} codes for size {size}"
                )
            out.append(
                FeedbackRow(
                    int(rid),
                    float(when),
                    json.loads(scene),
                    None if condition is None else json.loads(condition),
                    grid.reshape(size, size).copy(),
                    None if rating is None else int(rating),
                    json.loads(signals),
                )
            )
        return out

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
