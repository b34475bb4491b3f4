"""The hard held-out set: scenes a learner trained on ordinary generated scenes finds hard,
fixed before any curriculum run and versioned, stored as a scene bank beside its manifest.

Made by ``python -m agents.hardset --write`` (16x16, ``agents/hardsets/hard16-v<N>.npz`` +
``.json``):

- from the default source's scenes ``[20_000_000, 20_000_000 + 1_000)`` (past every training
  range and the configs' ordinary held-out range ``[10_000_000, 10_100_000)``), served as any
  env serves them (repaired), the scenes with a locked door or whose farthest requestable
  item is in the top decile of BFS steps from the user among those 1,000 (the longest fetch
  the scene can ask for; doors count as passable);
- every 16x16 designer scene as drawn (out of distribution for a learner trained on
  generated scenes).

Versions: ``hard16-v1`` was drawn from the first shipped ``vqvae`` weights (checkpoint
``bd7324ce4be2``; the curriculum results of 2026-12-04 and 2026-12-05 were measured on it);
``hard16-v2`` from the same weights with the refiner (checkpoint ``959ed5e37c9a``);
``hard16-v3`` from the same tensors decoded ``paired`` (checkpoint ``b1fccfa5652e``);
``hard16-v4`` from the reach refiner decoded ``walled`` (checkpoint ``304bffc168aa``);
``hard16-v5`` from the prior trained on more procedural grids, decoded ``tidy`` (checkpoint
``c69ed19efff3``); ``hard16-v6`` (the current one) from that prior trained 12,000 steps more
(checkpoint ``6b9795fc1c46``), by the same rule. When
the generator, repair or the rule changes, the next version is written beside it and the
older ones stay shipped, so results measured on them can be reproduced
(``hard_kwargs(kwargs, "hard16-v1")``).

The manifest records the rule, the source and checkpoint, the decile edge, and per scene
its origin and why it was picked; ``python -m agents.hardset --check`` rebuilds the current
set and compares (it fails when the generator, repair or the rule changed, which makes a new
version). Evaluation plays the bank like any held-out range: :func:`hard_kwargs`.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from generators.properties import farthest_item, measure
from vrenvs.core.checks import check_choice
from vrenvs.core.sources import AsciiFolderSource, BankSource, make_source, save_bank

__all__ = [
    "HARD_SET",
    "HARD_SETS",
    "VERSION",
    "bank_path",
    "build",
    "farthest_item",
    "hard_kwargs",
    "locked_scenes",
    "main",
]

VERSION = 6
SIZE = 16
SOURCE = "vqvae"
START = 20_000_000
CANDIDATES = 1_000
DECILE = 0.9
HARD_SET = f"hard{SIZE}-v{VERSION}"
HARD_SETS = tuple(f"hard{SIZE}-v{v}" for v in range(1, VERSION + 1))
"""Every shipped version, oldest first; :data:`HARD_SET` is the current one."""


def build() -> tuple[np.ndarray, dict[str, Any]]:
    """The hard set's scenes ``(N, 16, 16)`` and its manifest (see the module docstring);
    the same whatever the caller's torch thread count (the learned source draws on its own,
    :data:`generators.threads.SAMPLE_THREADS`)."""
    source = make_source(SOURCE, SIZE)
    scenes = [source.scene(START + k) for k in range(CANDIDATES)]  # type: ignore[attr-defined]
    codes = np.stack([s.codes for s in scenes])
    locked = measure(codes, ("locked_doors",))[:, 0].astype(bool)
    far = farthest_item(codes)
    edge = int(np.quantile(far, DECILE, method="higher"))
    pick = np.flatnonzero(locked | (far >= edge))
    designer = AsciiFolderSource(SIZE)
    files = [designer.scene(k) for k in range(len(designer.scenes))]  # index k < files: symmetry 0
    rows = [
        {
            "origin": source.identity(START + int(k)),  # type: ignore[attr-defined]
            "locked_door": bool(locked[k]),
            "farthest_item": int(far[k]),
        }
        for k in pick
    ]
    rows += [{"origin": {"source": "designer", "file": s.name}, "farthest_item": -1} for s in files]
    designer_codes = np.stack([s.codes for s in files])
    rows_far = farthest_item(designer_codes)
    for row, value in zip(rows[len(pick) :], rows_far):
        row["farthest_item"] = int(value)
    manifest = {
        "name": HARD_SET,
        "version": VERSION,
        "size": SIZE,
        "rule": (
            f"{SOURCE} scenes [{START}, {START + CANDIDATES}) with a locked door or the farthest "
            f"requestable item >= {edge} BFS steps from the user (top decile of those {CANDIDATES}); "
            "then every 16x16 designer scene (symmetry 0)"
        ),
        "decile_edge": edge,
        "generated": len(pick),
        "designer": len(files),
        "scenes": rows,
    }
    return np.concatenate([codes[pick], designer_codes]), manifest


def _folder() -> Path:
    return Path(str(resources.files("agents").joinpath("hardsets")))


def bank_path(name: str = HARD_SET) -> Path:
    """The ``.npz`` bank of the shipped hard set ``name`` (one of :data:`HARD_SETS`)."""
    check_choice("hard set", name, HARD_SETS)
    return _folder() / f"{name}.npz"


def locked_scenes(name: str = HARD_SET) -> np.ndarray:
    """``(N,)`` bool by scene index of the hard set ``name``: the scene has a locked door
    (generated and designer scenes alike)."""
    bank = BankSource(SIZE, bank_path(name))
    codes = np.stack([bank.scene(i).codes for i in range(bank.num_distinct or 0)])
    return measure(codes, ("locked_doors",))[:, 0].astype(bool)


def hard_kwargs(env_kwargs: dict[str, Any], name: str = HARD_SET) -> dict[str, Any]:
    """``env_kwargs`` playing the hard set ``name`` (default: the current one) instead of their
    scenes (each episode draws one of its scenes with the env's RNG, as a held-out range does)."""
    bank = BankSource(SIZE, bank_path(name))
    return {**env_kwargs, "scenes": str(bank.path), "num_scenes": bank.num_distinct, "start_scene": 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents.hardset", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="build the set and write the bank and manifest")
    mode.add_argument("--check", action="store_true", help="rebuild the set and compare with the shipped one")
    args = parser.parse_args(argv)
    from vrenvs.core.scene import Scene

    codes, manifest = build()
    path = bank_path()
    if args.write:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_bank(path, [Scene(c) for c in codes])
        path.with_suffix(".json").write_text(json.dumps(manifest, indent=1) + "\n")
        made, drawn = manifest["generated"], manifest["designer"]
        print(f"{path}: {len(codes)} scenes ({made} generated, {drawn} designer)")
        return 0
    shipped = BankSource(SIZE, path).codes
    same = shipped.shape == codes.shape and bool((shipped == codes).all())
    print(f"{path}: {'unchanged' if same else 'differs from a rebuild: make a new version'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
