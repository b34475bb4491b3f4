"""Scene sources ``gan``, ``vae``, ``vaegan`` and ``vqvae``: learned generators behind ``IndexedSource``.

Scene ``i`` is a pure function of ``i``: its latent comes from
``torch.Generator().manual_seed(i)`` (never from global torch or numpy state), is decoded by
argmax and repaired. Scenes are made in *banks*: the block of ``bank_size`` consecutive
indices containing ``i`` is decoded as one batch and repaired with
:func:`vrenvs.core.repair.repair_batch` (solvability checked batched, only failures
repaired), and the bank is cached, so the other scenes of the block cost nothing later.
A bank always has the same members, which keeps a scene bit-for-bit independent of which
index was asked for first. Identity: (source, checkpoint hash, latent seed, repair version).
Bit for bit on one kind of CPU: torch's float rounding differs between
CPUs, and so, rarely, does a sampled code (measured on an AVX-512 machine against torch's AVX2
kernels: 8 of 512 ``vqvae`` 32x32 scenes and 0-1 of 512 at 16x16 changed); the matrix products
also split their sums by thread count (1 against 2 threads: ~1 grid in 1,000), so the v2 model
draws on :data:`~generators.threads.SAMPLE_THREADS` threads whatever the caller set. For the
CPU kind, the golden trajectories play recorded learned scenes (``tests/trajectories.py``).

``bank_size`` trades the cost of a miss against throughput: an env drawing from the
unbounded index range (``num_scenes=0``) misses on nearly every reset and pays one bank
(16 scenes by default: ~15-35 ms on a busy 2-core machine), while with ``num_scenes=N`` a
reset costs ~1 ms once the N scenes are banked. Bulk users (the report) take banks of 256.

The v2 kinds (:data:`~generators.vqmodel.VQ_KINDS`, ``vqvae``) make 16x16 and 32x32 scenes
and take a condition: ``style`` (one of the model's styles; None, the default, is the corpus
mixture: scene ``i`` gets the style :meth:`~generators.vqmodel.VQModelConfig.mixture` picks
for ``i``, in the training corpus's shares), ``temperature`` (default 1.0),
``top_k`` (default None: no truncation), ``top_p`` (default None: the checkpoint's own
default for the size, :attr:`~generators.vqmodel.VQModelConfig.top_p`, none for the shipped
``vqvae``; 1.0 asks for no truncation) and, for a model conditioned on scene
properties (:mod:`generators.properties`), ``targets`` (e.g. ``{"rooms": "many"}``; default
None: every property free; with targets and no style the mixture keeps the styles whose
corpus has the target buckets, the checkpoint's ``feasible_styles``: no caves or villages
asked for locked doors, which their corpus scenes never have). Scene ``i`` is drawn by
:meth:`~generators.vqmodel.VQSceneModel.generate` from seed ``i`` under its condition, so it
is a function of (``i``, condition, weights); a mixture bank is generated in one batch, each
seed under its own style. The identity of a v2 scene carries its condition (the
style actually used, size, temperature, top_k, and the top_p actually used).

Registered by name through :mod:`generators.registry` (lazily, so vrenvs never imports
torch)::

    register_source("gan", "generators.registry:gan_source")
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generators.checkpoint import FEASIBLE_STYLES, Checkpoint, checkpoint_paths, load_checkpoint, shipped
from generators.data import SIZE, SIZES
from generators.models import KINDS, SceneModel
from generators.properties import PROPERTIES, PROPERTY_NAMES
from generators.sampling import repair_codes, sample_codes
from generators.vqmodel import VQ_KINDS, Condition, VQSceneModel
from vrenvs.core.checks import check_choice, check_float, check_int
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
    raw: np.ndarray  # (n, S, S) uint8 decoded grids
    codes: np.ndarray  # (n, S, S) uint8 repaired grids
    edits: np.ndarray  # (n,) cells changed by repair (0: solvable as decoded)


PREFETCH_SCENES = 1024
"""Most scenes :meth:`GeneratorSource.prefetch` draws in one batch (the prior's key/value
cache grows with it: ~50 MB per 1024 scenes at 16x16)."""

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
        path = shipped(kind)
        if kind in VQ_KINDS and not path.is_file():
            raise ValueError(
                f"no shipped {kind} weights yet ({path} does not exist); train a model with "
                f"`python -m generators train {kind}` and pass its checkpoint=<path>.json"
            )
        return str(path)
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


V2_OPTIONS = ("style", "temperature", "top_k", "top_p", "targets")
"""Keyword options of the v2 kinds only: the condition of their scenes."""


def _check_options(
    kind: str, style: object, temperature: object, top_k: object, top_p: object, targets: object = None
) -> tuple[str | None, float, int | None, float | None, dict[str, str] | None]:
    """The condition options, checked for type and range before any checkpoint is loaded
    (``style`` against the model's styles and ``top_k`` against its codebook come later)."""
    if kind not in VQ_KINDS:
        default_temperature = type(temperature) in (int, float) and temperature == 1.0
        given = {
            k: v
            for k, v in (
                ("style", style),
                ("temperature", temperature),
                ("top_k", top_k),
                ("top_p", top_p),
                ("targets", targets),
            )
            if not (v is None or (k == "temperature" and default_temperature))
        }
        if given:
            raise ValueError(
                f"the {kind} generator takes no {', '.join(sorted(given))} "
                f"(got {', '.join(f'{k}={v!r}' for k, v in given.items())}); the options "
                f"{list(V2_OPTIONS)} are for the v2 generators {list(VQ_KINDS)}"
            )
        return None, 1.0, None, None, None
    if targets is not None and (
        not isinstance(targets, dict) or not all(isinstance(k, str) for k in targets)
    ):
        raise TypeError(
            f"targets={targets!r} must be a mapping of property name to bucket name (e.g. "
            '{"rooms": "many"}) or None'
        )
    if style is not None and not isinstance(style, str):
        raise TypeError(f"style={style!r} must be a style name (a string) or None for the corpus mixture")
    temperature = check_float("temperature", temperature, 0.0, 10.0, above=True)
    if top_k is not None:
        top_k = check_int("top_k", top_k, 1)
    if top_p is not None:
        top_p = check_float("top_p", top_p, 0.0, 1.0, above=True)
    return style, temperature, top_k, top_p, (dict(targets) if targets is not None else None)


def feasible_mixture(
    meta: dict[str, Any], styles: tuple[str, ...], size: int, targets: dict[str, str]
) -> tuple[str, ...] | None:
    """The styles (in the model's order) whose training corpus at ``size`` has every bucket
    of ``targets``, per the checkpoint's ``feasible_styles``; None when that is every style,
    none, or unknown (a checkpoint without the field): the mixture then keeps every style."""
    table = meta.get(FEASIBLE_STYLES, {}).get(str(size), {})
    known = [table[n][b] for n, b in targets.items() if b in table.get(n, {})]
    picked = tuple(s for s in styles if all(s in k for k in known))
    return picked if 0 < len(picked) < len(styles) else None


class GeneratorSource(IndexedSource):
    """Scenes from a trained ``kind`` model (the shipped weights unless ``checkpoint``),
    decoded ``bank_size`` (1 to :data:`MAX_BANK_SIZE`) at a time. The v2 kinds take
    ``size`` 16 or 32 and the condition options ``style``, ``temperature``, ``top_k`` and
    ``top_p`` (see the module doc); the first generators make 16x16 scenes and take none."""

    def __init__(
        self,
        kind: str,
        size: int = SIZE,
        checkpoint: str | Path | None = None,
        bank_size: int = 16,
        *,
        style: str | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        targets: dict[str, str] | None = None,
    ) -> None:
        kinds = KINDS + VQ_KINDS
        if not isinstance(kind, str) or kind not in kinds:
            raise ValueError(f"unknown generator kind {kind!r}; choose from {kinds}")
        size = check_int("size", size, 1)
        if kind in VQ_KINDS:
            check_choice("size", size, SIZES)
        elif size != SIZE:
            raise ValueError(
                f"the learned generators ({', '.join(KINDS)}) make {SIZE}x{SIZE} scenes only, "
                f"not {size}x{size}; for size 32 use scenes='procedural' or scenes='designer'"
            )
        style, temperature, top_k, top_p, targets = _check_options(
            kind, style, temperature, top_k, top_p, targets
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
        self.batches_banks = isinstance(self.model, VQSceneModel)
        """v2 models: banks decode faster together (see :meth:`prefetch`)"""
        self.checkpoint = loaded.id
        self.meta = loaded.meta
        """the checkpoint's JSON (training config, corpus, metrics), as loaded"""
        self.style, self.temperature, self.top_k, self.top_p = style, temperature, top_k, top_p
        self.targets = targets
        self.conditions: tuple[Condition, ...] = ()
        """v2: the condition of each style group (one, or one per model style for the mixture)."""
        self.mixture: tuple[str, ...] | None = None
        """v2, no ``style`` but ``targets``: the styles mixed when fewer than the model's (the
        checkpoint's ``feasible_styles``: those whose corpus has every target bucket)."""
        if isinstance(self.model, VQSceneModel):
            styles = self.model.config.styles if style is None else (style,)
            if style is None and targets:
                self.mixture = feasible_mixture(self.meta, self.model.config.styles, size, targets)
                styles = self.mixture or styles
            self.conditions = tuple(
                self.model.condition(s, size, temperature, top_k, top_p, targets) for s in styles
            )
        self._banks: OrderedDict[int, Bank] = OrderedDict()
        self.max_banks = MAX_BANKS

    def reserve(self, consumers: int) -> None:
        """Keep at least two decoded banks per consumer. A ``World`` of B worlds plays B
        banks side by side; a bank evicted before its world has played it through would be
        decoded again for every scene, so the world calls this with B."""
        self.max_banks = max(self.max_banks, 2 * int(consumers))

    def __getstate__(self) -> dict:
        """Pickle the recipe, not the model or the banks (they are rebuilt on demand)."""
        return {
            "kind": self.kind,
            "size": self.size,
            "checkpoint": self.checkpoint_path,
            "bank_size": self.bank_size,
            "options": self.options(),
        }

    def __setstate__(self, state: dict) -> None:
        self.__init__(  # type: ignore[misc]
            state["kind"],
            state.get("size", SIZE),
            state["checkpoint"],
            state["bank_size"],
            **state.get("options", {}),
        )

    def options(self) -> dict[str, object]:
        """The condition options this source was made with (empty for the first generators)."""
        if self.kind not in VQ_KINDS:
            return {}
        return {
            "style": self.style,
            "temperature": self.temperature,
            "top_k": self.top_k,
            "top_p": self.top_p,
            "targets": self.targets,
        }

    def target_choices(self) -> dict[str, tuple[str, ...]]:
        """v2: the scene properties this source can be asked for and their buckets (what a
        ``condition`` curriculum steers, :mod:`vrenvs.core.curriculum`); empty otherwise."""
        if not isinstance(self.model, VQSceneModel):
            return {}
        return {name: PROPERTIES[name].buckets for name in PROPERTY_NAMES}

    def conditioned(self, targets: dict[str, str]) -> GeneratorSource:
        """v2: this source (same checkpoint, condition and bank size) also asked for
        ``targets`` (property -> bucket, added to its own)."""
        return GeneratorSource(
            self.kind,
            self.size,
            self.checkpoint_path,
            self.bank_size,
            **{**self.options(), "targets": {**(self.targets or {}), **targets}},  # type: ignore[arg-type]
        )

    def _groups(self, indices: np.ndarray) -> np.ndarray:
        """v2: the position in :attr:`conditions` of each of ``indices``."""
        if len(self.conditions) == 1:
            return np.zeros(len(indices), np.int64)
        assert isinstance(self.model, VQSceneModel)
        return self.model.config.mixture(indices, self.mixture)

    def condition_of(self, index: int) -> Condition:
        """v2: the condition scene ``index`` is drawn under (its style group's)."""
        return self.conditions[int(self._groups(np.array([index]))[0])]

    def _generate(self, blocks: list[int]) -> np.ndarray:
        """Raw grids of the banks ``blocks``, in order, drawn as one batch."""
        n = self.bank_size
        seeds = [block * n + k for block in blocks for k in range(n)]
        if isinstance(self.model, SceneModel):
            return sample_codes(self.model, seeds)
        if len(self.conditions) == 1:
            return self.model.generate(seeds, self.conditions[0])
        # the mixture: one batch, each seed under its style group's condition
        groups = self._groups(np.asarray(seeds, np.int64))
        return self.model.generate(
            seeds, self.conditions[0], styles=[self.conditions[g].style for g in groups]
        )

    def _store(self, block: int, raw: np.ndarray) -> Bank:
        """Repair the raw grids of bank ``block`` and cache it (least recently used out)."""
        codes, edits, _ = repair_codes(raw)
        for array in (raw, codes, edits):
            array.setflags(write=False)
        made = Bank(block * self.bank_size, raw, codes, edits)
        self._banks[block] = made
        if len(self._banks) > self.max_banks:
            self._banks.popitem(last=False)
        return made

    def bank(self, index: int) -> Bank:
        """The bank holding scene ``index``, decoded and repaired on first use."""
        if index < 0:
            raise ValueError(f"scene index must be >= 0, got {index}")
        block = index // self.bank_size
        found = self._banks.get(block)
        if found is not None:
            self._banks.move_to_end(block)
            return found
        return self._store(block, self._generate([block]))

    def prefetch(self, indices: Sequence[int], upcoming: Iterable[int] = ()) -> None:
        """Decode the missing banks holding ``indices`` together, and when there are any,
        those holding ``upcoming`` too, up to :data:`PREFETCH_SCENES` 16x16 scenes (a
        quarter as many 32x32 ones) per batch. v2 models only: their scene ``i`` does not
        depend on the batch it is drawn in (tested), so these are the same scenes, made
        faster (at 16x16, 2 torch threads: ~3.8 ms a scene in a bank of 16 alone, ~2.0 ms
        in 16 banks together, ~1.7 ms in 64)."""
        if not self.batches_banks:
            return  # the first generators keep their bank-by-bank batches
        n = self.bank_size
        asked = dict.fromkeys(int(i) // n for i in indices if int(i) >= 0)
        missing = [b for b in asked if b not in self._banks]
        if not missing:
            return
        later = (int(i) // n for i in upcoming if int(i) >= 0)
        blocks = list(dict.fromkeys([*missing, *(b for b in later if b not in self._banks)]))
        blocks = blocks[: self.max_banks]
        per = max(1, PREFETCH_SCENES * SIZE * SIZE // (self.size * self.size) // n)
        for at in range(0, len(blocks), per):
            group = blocks[at : at + per]
            raw = self._generate(group)
            for k, block in enumerate(group):
                self._store(block, np.ascontiguousarray(raw[k * n : (k + 1) * n]))

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
        found: dict[str, object] = {
            "source": self.kind,
            "index": int(index),  # what num_scenes=1, start_scene=index replays
            "checkpoint": self.checkpoint,
            "latent_seed": int(index),  # v2: the seed of the sampler's uniforms
        }
        if self.conditions:
            found.update(self.condition_of(index).to_dict())
        return {**found, "repair_version": REPAIR_VERSION, "edits": self.edits_of(index)}

    def sample(self, num: int, rng: np.random.Generator) -> list[Scene]:
        """``num`` scenes from randomly chosen whole banks: latents of distinct seeds are
        independent, so taking a bank in order is as random as scattered indices, and cheap."""
        out: list[Scene] = []
        while len(out) < num:
            start = int(rng.integers(0, (2**31 - 1) // self.bank_size)) * self.bank_size
            take = min(self.bank_size, num - len(out))
            out.extend(self.scene(start + k) for k in range(take))
        return out
