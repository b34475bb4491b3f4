"""Scene sources ``gan``, ``vae`` and ``vaegan``: learned generators behind ``IndexedSource``.

Scene ``i`` is a pure function of ``i``: its latent comes from
``torch.Generator().manual_seed(i)`` (never from global torch or numpy state), is decoded by
argmax and repaired. Scenes are made in *banks*: the block of ``bank_size`` consecutive
indices containing ``i`` is decoded as one batch and repaired with
:func:`vrenvs.core.repair.repair_batch` (solvability checked batched, only failures
repaired), and the bank is cached, so the other scenes of the block cost nothing later.
A bank always has the same members, which keeps a scene bit-for-bit independent of which
index was asked for first. Identity: (source, checkpoint hash, latent seed, repair version).

``bank_size`` trades the cost of a miss against throughput: an env drawing from the
unbounded index range (``num_scenes=0``) misses on nearly every reset and pays one bank
(16 scenes by default: ~15-35 ms on a busy 2-core machine), while with ``num_scenes=N`` a
reset costs ~1 ms once the N scenes are banked. Bulk users (the report) take banks of 256.

Registered by name through :mod:`generators.registry` (lazily, so vrenvs never imports
torch)::

    register_source("gan", "generators.registry:gan_source")
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generators.checkpoint import Checkpoint, checkpoint_paths, load_checkpoint, shipped
from generators.data import SIZE
from generators.models import KINDS
from generators.sampling import repair_codes, sample_codes
from vrenvs.core.checks import check_int
from vrenvs.core.repair import REPAIR_VERSION
from vrenvs.core.scene import Scene
from vrenvs.core.sources import IndexedSource

__all__ = ["MAX_BANK_SIZE", "Bank", "GeneratorSource"]

MAX_BANKS = 256
"""Decoded banks kept per source (least recently used go first), unless :meth:`reserve` asks for more."""


@dataclass(frozen=True)
class Bank:
    """One block of indices ``[start, start + n)``: raw and repaired grids, edits per grid."""

    start: int
    raw: np.ndarray  # (n, 16, 16) uint8 decoded grids
    codes: np.ndarray  # (n, 16, 16) uint8 repaired grids
    edits: np.ndarray  # (n,) cells changed by repair (0: solvable as decoded)


MAX_BANK_SIZE = 4096
"""Largest ``bank_size``: scenes decoded and repaired as one batch on a miss."""
_LOADED: OrderedDict[tuple[str, tuple[int, ...]], tuple[Checkpoint, tuple[int, ...]]] = OrderedDict()
"""Loaded checkpoints by JSON path and file identity, with their weights file's identity."""
_MAX_LOADED = 8


def _identity(path: Path) -> tuple[int, ...]:
    """What changes when a file is rewritten: device, inode, size, modification time."""
    st = path.stat()
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _load(path: str) -> Checkpoint:
    """Checkpoints are loaded once per process and shared by every source using them; a
    checkpoint whose JSON or weights file changed on disk since is loaded again."""
    config_path = checkpoint_paths(path)[0]
    try:
        key = (str(config_path), _identity(config_path))
    except OSError:
        return load_checkpoint(path)  # which says what is wrong with the file
    found = _LOADED.get(key)
    if found is not None:
        loaded, weights = found
        try:
            same = _identity(loaded.path.with_name(loaded.meta["weights_file"])) == weights
        except OSError:
            same = False
        if same:
            _LOADED.move_to_end(key)
            return loaded
    loaded = load_checkpoint(path)
    _LOADED[key] = (loaded, _identity(loaded.path.with_name(loaded.meta["weights_file"])))
    if len(_LOADED) > _MAX_LOADED:
        _LOADED.popitem(last=False)
    return loaded


def _checkpoint_path(kind: str, checkpoint: object) -> str:
    """The resolved path of ``checkpoint`` (None: the shipped weights of ``kind``)."""
    if checkpoint is None:
        return str(shipped(kind))
    if isinstance(checkpoint, bytes) or not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(
            f"checkpoint={checkpoint!r} must be the path of a generator checkpoint (.json) or None "
            "for the shipped weights"
        )
    if str(checkpoint) == "":
        raise ValueError(
            "checkpoint='' is empty; give the path of a generator checkpoint (.json) or None for the "
            "shipped weights"
        )
    return str(Path(checkpoint).resolve())


class GeneratorSource(IndexedSource):
    """Scenes from a trained ``kind`` model (the shipped weights unless ``checkpoint``),
    decoded ``bank_size`` (1 to :data:`MAX_BANK_SIZE`) at a time."""

    def __init__(
        self, kind: str, size: int = SIZE, checkpoint: str | Path | None = None, bank_size: int = 16
    ) -> None:
        if not isinstance(kind, str) or kind not in KINDS:
            raise ValueError(f"unknown generator kind {kind!r}; choose from {KINDS}")
        size = check_int("size", size, 1)
        if size != SIZE:
            raise ValueError(
                f"the learned generators ({', '.join(KINDS)}) make {SIZE}x{SIZE} scenes only, "
                f"not {size}x{size}; for size 32 use scenes='procedural' or scenes='designer'"
            )
        bank_size = check_int("bank_size", bank_size, 1, MAX_BANK_SIZE)
        checkpoint_path = _checkpoint_path(kind, checkpoint)
        super().__init__(size)
        self.kind, self.name, self.bank_size = kind, kind, int(bank_size)
        self.checkpoint_path = checkpoint_path
        loaded = _load(self.checkpoint_path)
        if loaded.model.kind != kind:
            raise ValueError(
                f"checkpoint {self.checkpoint_path} holds a {loaded.model.kind} model, not {kind}"
            )
        self.model = loaded.model
        self.checkpoint = loaded.id
        self._banks: OrderedDict[int, Bank] = OrderedDict()
        self.max_banks = MAX_BANKS

    def reserve(self, consumers: int) -> None:
        """Keep at least two decoded banks per consumer. A ``World`` of B worlds plays B
        banks side by side; a bank evicted before its world has played it through would be
        decoded again for every scene, so the world calls this with B."""
        self.max_banks = max(self.max_banks, 2 * int(consumers))

    def __getstate__(self) -> dict:
        """Pickle the recipe, not the model or the banks (they are rebuilt on demand)."""
        return {"kind": self.kind, "checkpoint": self.checkpoint_path, "bank_size": self.bank_size}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["kind"], SIZE, state["checkpoint"], state["bank_size"])  # type: ignore[misc]

    def bank(self, index: int) -> Bank:
        """The bank holding scene ``index``, decoded and repaired on first use."""
        if index < 0:
            raise ValueError(f"scene index must be >= 0, got {index}")
        block = index // self.bank_size
        found = self._banks.get(block)
        if found is not None:
            self._banks.move_to_end(block)
            return found
        start = block * self.bank_size
        raw = sample_codes(self.model, range(start, start + self.bank_size))
        codes, edits, _ = repair_codes(raw)
        for array in (raw, codes, edits):
            array.setflags(write=False)
        made = Bank(start, raw, codes, edits)
        self._banks[block] = made
        if len(self._banks) > self.max_banks:
            self._banks.popitem(last=False)
        return made

    def raw(self, index: int) -> Scene:
        bank = self.bank(index)
        return Scene(bank.raw[index - bank.start], name=f"{self.kind}:{index}")

    def scene(self, index: int) -> Scene:
        bank = self.bank(index)
        return Scene(bank.codes[index - bank.start], name=f"{self.kind}:{index}")

    def edits_of(self, index: int) -> int:
        bank = self.bank(index)
        return int(bank.edits[index - bank.start])

    def identity(self, index: int) -> dict[str, object]:
        return {
            "source": self.kind,
            "index": int(index),  # what num_scenes=1, start_scene=index replays
            "checkpoint": self.checkpoint,
            "latent_seed": int(index),
            "repair_version": REPAIR_VERSION,
            "edits": self.edits_of(index),
        }

    def sample(self, num: int, rng: np.random.Generator) -> list[Scene]:
        """``num`` scenes from randomly chosen whole banks: latents of distinct seeds are
        independent, so taking a bank in order is as random as scattered indices, and cheap."""
        out: list[Scene] = []
        while len(out) < num:
            start = int(rng.integers(0, (2**31 - 1) // self.bank_size)) * self.bank_size
            take = min(self.bank_size, num - len(out))
            out.extend(self.scene(start + k) for k in range(take))
        return out
