"""The report card: ``python -m generators report`` -> ``report.md``, ``report.json``, ``gallery.png``.

Rows: the three learned generators (shipped weights unless others are given), and as
baselines the procedural styles, uniformly random glyphs and the held-out corpus itself.
Each row draws ``num`` scenes (>= 2,000) and measures:

- raw playability: solvable as generated (before repair); playable after repair;
- mean repair edits (cells changed);
- diversity: mean pairwise Hamming distance (share of cells);
- novelty: share within 5% Hamming of a training scene, and share of exact copies;
- 2x2 tile-pattern KL against the held-out corpus (:func:`generators.metrics.pattern_kl`),
  with equal sample sizes: the held-out corpus is split in halves A / B, every row's first
  |A| scenes are compared with B, and A-vs-B is the reference;
- held-out reconstruction accuracy (VAE and VAE-GAN);
- scenes/s including repair (learned: bank fill of :class:`GeneratorSource`).

Diversity, novelty and KL are computed on the scenes an env serves (after repair).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from generators.data import NUM_CODES, SIZE, Corpus, load_corpus
from generators.images import grid_image, write_png
from generators.metrics import copies, mean_pairwise_hamming, nearest_hamming, pattern_kl
from generators.models import KINDS, SceneModel
from generators.sampling import sample_codes
from generators.source import GeneratorSource
from generators.train import reconstruction
from vrenvs.core.reach import solvable_batch
from vrenvs.core.repair import repair_batch
from vrenvs.core.sources import ProceduralSource

__all__ = ["Samples", "fill_rate", "make_report"]

PROCEDURAL_START = 2_000_000
"""Procedural indices of the baseline row: outside the training and held-out ranges."""


@dataclass(frozen=True)
class Samples:
    name: str
    raw: np.ndarray  # (N, 16, 16) as generated
    served: np.ndarray  # (N, 16, 16) after repair
    edits: np.ndarray  # (N,)
    rate: float | None  # scenes/s including repair
    reconstruction: float | None = None
    argmax_playable: float | None = None  # raw playability with the plain per-cell argmax


def fill_rate(source: GeneratorSource, num: int) -> tuple[float, list]:
    """Scenes/s of decoding and repairing ``num`` scenes in banks, and the banks."""
    start = time.perf_counter()
    banks = [source.bank(s) for s in range(0, num, source.bank_size)]
    return num / (time.perf_counter() - start), banks


def learned(kind: str, num: int, corpus: Corpus, checkpoint: str | None = None) -> Samples:
    source = GeneratorSource(kind, SIZE, checkpoint, bank_size=256)
    source.bank(10**9)  # warm-up: first-call allocations are not part of the rate
    rate, banks = fill_rate(source, num)
    cat = {k: np.concatenate([getattr(b, k) for b in banks])[:num] for k in ("raw", "codes", "edits")}
    model = source.model
    if not isinstance(model, SceneModel):  # the v2 kinds have their own metrics (train_vq)
        raise ValueError(f"the report card covers the first generators {KINDS}, not {kind}")
    recon = reconstruction(model, corpus.heldout)["reconstruction_accuracy"] if model.can_encode else None
    argmax = float(solvable_batch(sample_codes(model, range(num), "argmax")).mean())
    return Samples(kind, cat["raw"], cat["codes"], cat["edits"], rate, recon, argmax)


def _timed_repair(name: str, make: Any, num: int) -> Samples:
    start = time.perf_counter()
    raw = make(num)
    served, edits = repair_batch(raw)
    rate = num / (time.perf_counter() - start)
    return Samples(name, raw, served, edits, rate)


def baselines(num: int, corpus: Corpus, seed: int = 0) -> list[Samples]:
    source = ProceduralSource(SIZE)

    def procedural(n: int) -> np.ndarray:
        return np.stack([source.raw(i).codes for i in range(PROCEDURAL_START, PROCEDURAL_START + n)])

    def uniform(n: int) -> np.ndarray:
        return np.random.default_rng(seed).integers(0, NUM_CODES, (n, SIZE, SIZE)).astype(np.uint8)

    held = corpus.heldout
    return [
        _timed_repair("procedural", procedural, num),
        _timed_repair("uniform random", uniform, num),
        Samples("held-out corpus", held, held, np.zeros(len(held), np.int64), None),
    ]


def measure(samples: Samples, corpus: Corpus, half_a: np.ndarray, half_b: np.ndarray) -> dict[str, Any]:
    served = samples.served
    near = nearest_hamming(served, corpus.train)
    compare = half_a if samples.name == "held-out corpus" else served[: len(half_a)]
    return {
        "source": samples.name,
        "samples": len(served),
        "raw_playable": float(solvable_batch(samples.raw).mean()),
        "raw_playable_argmax": samples.argmax_playable,
        "playable_after_repair": float(solvable_batch(served).mean()),
        "mean_edits": float(samples.edits.mean()),
        "diversity": mean_pairwise_hamming(served),
        "near_copies": float((near <= 0.05).mean()),
        "exact_copies": float(copies(served, corpus.train).mean()),
        "pattern_kl": pattern_kl(compare, half_b),
        "reconstruction_accuracy": samples.reconstruction,
        "scenes_per_s": samples.rate,
    }


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def table(rows: list[dict[str, Any]], reference_kl: float) -> str:
    """The markdown table; the footnote gives the KL reference the bar is measured against."""
    lines = [
        "| source | raw playable | (plain argmax) | after repair | mean edits | diversity | "
        "within 5% of a training scene | exact copies | 2x2 KL | recon. accuracy | scenes/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rate = "—" if r["scenes_per_s"] is None else f"{r['scenes_per_s']:,.0f}"
        lines.append(
            f"| {r['source']} | {_pct(r['raw_playable'])} | {_pct(r['raw_playable_argmax'])} | "
            f"{_pct(r['playable_after_repair'])} | {r['mean_edits']:.2f} | {r['diversity']:.3f} | "
            f"{_pct(r['near_copies'])} | {_pct(r['exact_copies'])} | {r['pattern_kl']:.3f} | "
            f"{_pct(r['reconstruction_accuracy'])} | {rate} |"
        )
    return "\n".join(lines) + (
        f"\n\n2x2 KL reference, half vs half of the held-out corpus: {reference_kl:.3f} "
        f"(bar: <= {2 * reference_kl:.3f}).\n"
    )


def _update_cards(rows: list[dict[str, Any]], checkpoints: dict[str, str], num: int) -> None:
    """Store each learned row in its checkpoint's JSON (``metrics.report``) and rewrite the card."""
    from generators.cards import write_card
    from generators.checkpoint import shipped, update_metrics

    for row in rows:
        if row["source"] in KINDS:
            path = checkpoints.get(row["source"]) or shipped(row["source"])
            update_metrics(
                path, {"report": {k: v for k, v in row.items() if v is not None} | {"samples": num}}
            )
            write_card(Path(path).with_suffix(".json"))


def make_report(
    out: str | Path,
    num: int = 2048,
    checkpoints: dict[str, str] | None = None,
    threads: int = 2,
    update_cards: bool = False,
) -> dict[str, Any]:
    """Measure every row, write ``report.md``, ``report.json`` and ``gallery.png`` to ``out``;
    with ``update_cards``, also record the rows in the checkpoints' JSON and model cards."""
    torch.set_num_threads(threads)
    out = Path(out)
    corpus = load_corpus()
    perm = np.random.default_rng(0).permutation(len(corpus.heldout))
    half_a, half_b = corpus.heldout[perm[: len(perm) // 2]], corpus.heldout[perm[len(perm) // 2 :]]
    sets = [learned(k, num, corpus, (checkpoints or {}).get(k)) for k in KINDS] + baselines(num, corpus)
    rows = [measure(s, corpus, half_a, half_b) for s in sets]
    reference = pattern_kl(half_a, half_b)
    text = table(rows, reference)
    out.mkdir(parents=True, exist_ok=True)
    gallery = np.concatenate([s.served[np.linspace(0, len(s.served) - 1, 10).astype(int)] for s in sets])
    write_png(out / "gallery.png", grid_image(gallery, cols=10, cell=5))
    order = ", ".join(s.name for s in sets)
    (out / "report.md").write_text(
        f"# Generator report card\n\n{num} samples per row, {threads} torch threads.\n\n{text}\n"
        f"Gallery rows (10 served scenes each), top to bottom: {order}.\n\n![gallery](gallery.png)\n"
    )
    summary = {"samples": num, "threads": threads, "reference_kl": reference, "rows": rows}
    (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
    if update_cards:
        _update_cards(rows, checkpoints or {}, num)
    return summary
