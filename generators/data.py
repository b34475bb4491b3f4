"""The training corpus: designer and procedural 16x16 scenes as glyph-code grids.

Designer scenes enter with all 8 symmetries of the square (glyphs have no direction, so
every symmetry keeps the rules); procedural scenes are already randomly rotated and
mirrored by their builder. Held-out scenes are whole designer *files* (all their
symmetries) plus a procedural index range disjoint from the training range, so no
held-out scene is a transform of a training scene.

Grids are stored as ``(N, 16, 16)`` uint8 codes (one-hot happens per batch, see
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

from vrenvs.core.catalog import CATALOG
from vrenvs.core.sources import AsciiFolderSource, ProceduralSource, symmetry

__all__ = [
    "NUM_CODES",
    "SIZE",
    "Corpus",
    "CorpusSpec",
    "cache_dir",
    "load_corpus",
    "one_hot",
]

SIZE = 16
NUM_CODES = CATALOG.num_codes


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

    def key(self) -> str:
        text = json.dumps({**asdict(self), "vocabulary": CATALOG.vocabulary_hash}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Corpus:
    """Training and held-out grids ``(N, 16, 16)`` uint8, with provenance."""

    train: np.ndarray
    heldout: np.ndarray
    train_designer: np.ndarray  # (N,) bool: which training grids come from designer files
    manifest: dict


def cache_dir() -> Path:
    """``$VRENVS_CACHE`` or ``~/.cache/vrenvs``: built data lives outside the package."""
    return Path(os.environ.get("VRENVS_CACHE", Path.home() / ".cache" / "vrenvs"))


def one_hot(codes: torch.Tensor) -> torch.Tensor:
    """``(B, H, W)`` integer codes -> ``(B, C, H, W)`` float one-hot."""
    return torch.nn.functional.one_hot(codes.long(), NUM_CODES).permute(0, 3, 1, 2).float()


def _designer(spec: CorpusSpec) -> tuple[list[np.ndarray], list[np.ndarray], list[str], list[str]]:
    """Designer grids with their 8 symmetries (duplicates dropped), split by file."""
    scenes = AsciiFolderSource(SIZE).scenes
    order = np.random.default_rng(spec.split_seed).permutation(len(scenes))
    held = {int(i) for i in order[: spec.num_heldout_designer]}
    train: list[np.ndarray] = []
    heldout: list[np.ndarray] = []
    for i, scene in enumerate(scenes):
        variants = {symmetry(scene.codes, k).tobytes(): symmetry(scene.codes, k) for k in range(8)}
        (heldout if i in held else train).extend(variants.values())
    names = [s.name for s in scenes]
    return train, heldout, [n for i, n in enumerate(names) if i not in held], sorted(names[i] for i in held)


def _procedural(start: int, num: int) -> list[np.ndarray]:
    source = ProceduralSource(SIZE)
    return [source.raw(i).codes for i in range(start, start + num)]


def _unique(grids: list[np.ndarray], exclude: set[bytes] | None = None) -> np.ndarray:
    seen = set(exclude or ())
    out = []
    for grid in grids:
        key = grid.tobytes()
        if key not in seen:
            seen.add(key)
            out.append(grid)
    return np.stack(out).astype(np.uint8)


def build_corpus(spec: CorpusSpec) -> Corpus:
    """Generate the corpus (a few seconds): see the module docstring for the split."""
    d_train, d_held, train_files, held_files = _designer(spec)
    p_train = _procedural(0, spec.num_procedural)
    p_held = _procedural(spec.heldout_start, spec.num_heldout_procedural)
    train = _unique(d_train + p_train)
    heldout = _unique(d_held + p_held, exclude={g.tobytes() for g in train})
    designer_keys = {g.tobytes() for g in d_train}
    manifest = {
        "vocabulary_hash": CATALOG.vocabulary_hash,
        "size": SIZE,
        "spec": asdict(spec),
        "key": spec.key(),
        "train": {
            "count": len(train),
            "designer": {"files": train_files, "symmetries": 8, "grids": len(designer_keys)},
            "procedural": {"source": "ProceduralSource(16)", "indices": [0, spec.num_procedural]},
        },
        "heldout": {
            "count": len(heldout),
            "designer": {"files": held_files, "symmetries": 8, "grids": len(d_held)},
            "procedural": {
                "source": "ProceduralSource(16)",
                "indices": [spec.heldout_start, spec.heldout_start + spec.num_heldout_procedural],
            },
        },
    }
    flags = np.array([g.tobytes() in designer_keys for g in train])
    return Corpus(train, heldout, flags, manifest)


def load_corpus(spec: CorpusSpec | None = None, cache: Path | None = None) -> Corpus:
    """The corpus for ``spec``, built once and then read from ``<cache>/corpus-<key>.npz``."""
    spec = spec or CorpusSpec()
    folder = (cache or cache_dir()) / "generators"
    path = folder / f"corpus-{spec.key()}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                manifest = json.loads(str(data["manifest"]))
                return Corpus(data["train"], data["heldout"], data["train_designer"], manifest)
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
        manifest=np.array(json.dumps(corpus.manifest)),
    )
    tmp.replace(path)
    path.with_suffix(".json").write_text(json.dumps(corpus.manifest, indent=2) + "\n")
    return corpus
