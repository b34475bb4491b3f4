"""The training corpus: designer and procedural scenes (16x16 or 32x32) as glyph-code grids.

Designer scenes enter with all 8 symmetries of the square (glyphs have no direction, so
every symmetry keeps the rules); procedural scenes are already randomly rotated and
mirrored by their builder. Held-out scenes are whole designer *files* (all their
symmetries) plus a procedural index range disjoint from the training range, so no
held-out scene is a transform of a training scene.

Every grid carries a style label (:data:`STYLES`): procedural scene ``i`` has the
procedural style ``procgen.STYLES[i % 3]`` (house, village, cave); every designer scene has
the style ``designer``. The designer files name finer families (``; style: farm`` ...), but
with 3-8 files per family (24-64 grids with their symmetries, 1-2 files at 32x32) a model
conditioned on a family could only copy it, so the families form one style.

Grids are stored as ``(N, S, S)`` uint8 codes (one-hot happens per batch, see
:func:`one_hot`) in an ``.npz`` under a cache folder, with a JSON manifest of provenance.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from vrenvs.core import procedural
from vrenvs.core.catalog import CATALOG
from vrenvs.core.checks import check_choice
from vrenvs.core.sources import AsciiFolderSource, ProceduralSource, symmetry

__all__ = [
    "NUM_CODES",
    "SIZE",
    "SIZES",
    "STYLES",
    "Corpus",
    "CorpusSpec",
    "cache_dir",
    "load_corpus",
    "one_hot",
]

SIZE = 16
"""The size the first generators (gan, vae, vaegan) were made for."""
SIZES = (16, 32)
"""Map sizes a corpus (and a v2 generator) is made of; a size's id is its index here."""
NUM_CODES = CATALOG.num_codes
STYLES: tuple[str, ...] = (*procedural.STYLES, "designer")
"""Style labels of corpus grids (a style's id is its index here)."""


@dataclass(frozen=True)
class CorpusSpec:
    """What goes into the corpus; its hash names the cache file."""

    num_procedural: int = 6000
    """procedural scenes in the training part (indices 0 .. num_procedural - 1)"""
    heldout_start: int = 1_000_000
    """first procedural index of the held-out part"""
    num_heldout_procedural: int = 2000
    """procedural scenes in the held-out part"""
    num_heldout_designer: int = 5
    """designer files held out whole (all 8 symmetries)"""
    split_seed: int = 0
    """seed choosing which designer files are held out"""
    size: int = SIZE
    """map side (16 or 32)"""

    def __post_init__(self) -> None:
        check_choice("size", self.size, SIZES)

    @classmethod
    def for_size(cls, size: int) -> CorpusSpec:
        """The standard corpus of ``size``: at 32 only 7 designer files exist, 1 is held out."""
        check_choice("size", size, SIZES)
        return cls(size=size) if size == SIZE else cls(num_heldout_designer=1, size=size)

    def key(self) -> str:
        """Content hash naming the cache file. Fields added after the first corpus (``size``)
        enter only when they differ from their default, so the first corpus keeps its key
        (cited by the gan/vae/vaegan model cards)."""
        fields = asdict(self)
        if fields["size"] == SIZE:
            del fields["size"]
        text = json.dumps({**fields, "vocabulary": CATALOG.vocabulary_hash}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Corpus:
    """Training and held-out grids ``(N, S, S)`` uint8 with style ids, and provenance."""

    train: np.ndarray
    heldout: np.ndarray
    train_designer: np.ndarray  # (N,) bool: which training grids come from designer files
    manifest: dict
    train_style: np.ndarray  # (N,) uint8 index into STYLES
    heldout_style: np.ndarray  # (M,) uint8 index into STYLES

    @property
    def size(self) -> int:
        return int(self.train.shape[-1])


def cache_dir() -> Path:
    """``$VRENVS_CACHE`` or ``~/.cache/vrenvs``: built data lives outside the package."""
    return Path(os.environ.get("VRENVS_CACHE", Path.home() / ".cache" / "vrenvs"))


def one_hot(codes: torch.Tensor) -> torch.Tensor:
    """``(B, H, W)`` integer codes -> ``(B, C, H, W)`` float one-hot."""
    return torch.nn.functional.one_hot(codes.long(), NUM_CODES).permute(0, 3, 1, 2).float()


def _designer(spec: CorpusSpec) -> tuple[list[np.ndarray], list[np.ndarray], list[str], list[str]]:
    """Designer grids with their 8 symmetries (duplicates dropped), split by file."""
    scenes = AsciiFolderSource(spec.size).scenes
    order = np.random.default_rng(spec.split_seed).permutation(len(scenes))
    held = {int(i) for i in order[: spec.num_heldout_designer]}
    train: list[np.ndarray] = []
    heldout: list[np.ndarray] = []
    for i, scene in enumerate(scenes):
        variants = {symmetry(scene.codes, k).tobytes(): symmetry(scene.codes, k) for k in range(8)}
        (heldout if i in held else train).extend(variants.values())
    names = [s.name for s in scenes]
    return train, heldout, [n for i, n in enumerate(names) if i not in held], sorted(names[i] for i in held)


def _procedural(start: int, num: int, size: int) -> tuple[list[np.ndarray], list[int]]:
    source = ProceduralSource(size)
    grids = [source.raw(i).codes for i in range(start, start + num)]
    return grids, [STYLES.index(source.styles[i % len(source.styles)]) for i in range(start, start + num)]


def _unique(
    grids: list[np.ndarray], styles: list[int], exclude: set[bytes] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    seen = set(exclude or ())
    out, labels = [], []
    for grid, style in zip(grids, styles, strict=True):
        key = grid.tobytes()
        if key not in seen:
            seen.add(key)
            out.append(grid)
            labels.append(style)
    return np.stack(out).astype(np.uint8), np.array(labels, np.uint8)


def build_corpus(spec: CorpusSpec) -> Corpus:
    """Generate the corpus (a few seconds): see the module docstring for the split."""
    d_train, d_held, train_files, held_files = _designer(spec)
    p_train, s_train = _procedural(0, spec.num_procedural, spec.size)
    p_held, s_held = _procedural(spec.heldout_start, spec.num_heldout_procedural, spec.size)
    designer = STYLES.index("designer")
    train, train_style = _unique(d_train + p_train, [designer] * len(d_train) + s_train)
    heldout, heldout_style = _unique(
        d_held + p_held, [designer] * len(d_held) + s_held, exclude={g.tobytes() for g in train}
    )
    designer_keys = {g.tobytes() for g in d_train}
    manifest = {
        "vocabulary_hash": CATALOG.vocabulary_hash,
        "size": spec.size,
        "styles": list(STYLES),
        "spec": asdict(spec),
        "key": spec.key(),
        "train": {
            "count": len(train),
            "designer": {"files": train_files, "symmetries": 8, "grids": len(designer_keys)},
            "procedural": {"source": f"ProceduralSource({spec.size})", "indices": [0, spec.num_procedural]},
        },
        "heldout": {
            "count": len(heldout),
            "designer": {"files": held_files, "symmetries": 8, "grids": len(d_held)},
            "procedural": {
                "source": f"ProceduralSource({spec.size})",
                "indices": [spec.heldout_start, spec.heldout_start + spec.num_heldout_procedural],
            },
        },
    }
    flags = np.array([g.tobytes() in designer_keys for g in train])
    return Corpus(train, heldout, flags, manifest, train_style, heldout_style)


def load_corpus(spec: CorpusSpec | None = None, cache: Path | None = None) -> Corpus:
    """The corpus for ``spec``, built once and then read from ``<cache>/corpus-<key>.npz``."""
    spec = spec or CorpusSpec()
    folder = (cache or cache_dir()) / "generators"
    path = folder / f"corpus-{spec.key()}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                manifest = json.loads(str(data["manifest"]))
                return Corpus(
                    data["train"],
                    data["heldout"],
                    data["train_designer"],
                    manifest,
                    data["train_style"],
                    data["heldout_style"],
                )
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)  # a broken cache is rebuilt, never trusted
    corpus = build_corpus(spec)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        train=corpus.train,
        heldout=corpus.heldout,
        train_designer=corpus.train_designer,
        train_style=corpus.train_style,
        heldout_style=corpus.heldout_style,
        manifest=np.array(json.dumps(corpus.manifest)),
    )
    tmp.replace(path)
    path.with_suffix(".json").write_text(json.dumps(corpus.manifest, indent=2) + "\n")
    return corpus
