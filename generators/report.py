"""The report card: ``python -m generators report`` -> ``report.md``, ``report.json`` and
galleries (``gallery-<size>.png``, ``styles-<size>.png``).

One section per size (16, 32). Rows: the learned generators of that size (the first
generators gan, vae, vaegan at 16; the v2 ``vqvae`` at both, when its weights exist), and as
baselines the procedural styles, uniformly random glyphs and the held-out corpus itself.
Each row draws ``num`` scenes (>= 2,000) and measures:

- raw playability: solvable as generated (before repair); playable after repair;
- mean repair edits (cells changed);
- locked doors: share of served scenes with a locked door (the corpus row is the reference:
  a 2x2 KL barely sees a rare tile, and a model can raise its raw playability by dropping
  locks; the share shows it);
- diversity: mean pairwise Hamming distance (share of cells);
- novelty: share within 5% Hamming of a training scene, and share of exact copies;
- 2x2 tile-pattern KL against the held-out corpus (:func:`generators.metrics.pattern_kl`),
  with equal sample sizes: the held-out corpus is split in halves A / B, every row's first
  |A| scenes are compared with B, and A-vs-B is the reference;
- held-out reconstruction accuracy (VAE, VAE-GAN, VQ-VAE);
- code perplexity (v2: exp of the entropy of the codes the prior samples; of K codes);
- style accuracy (v2): per style, ``num / 4`` scenes asked for that style and the share a
  style classifier trained on the corpus (:mod:`generators.style`, its own held-out accuracy
  is in the report) puts in that style; the mean over the styles is the row's figure;
- scenes/s including repair (learned: bank fill of :class:`GeneratorSource`, banks of 256
  for the first generators, 1024 for v2).

A per-style table for each v2 source gives, per style, the 2x2 KL against the held-out
scenes of that style, raw playability, near copies and style accuracy. Each v2 source also
gets a targets table (:mod:`generators.properties`): per property and bucket, ``num / 8`` raw
scenes asked for that bucket (the other properties free), spread over the styles whose corpus
scenes have it: the share served with it (targets are met by generate and test), the share
whose first draw had it (the prior's own conditioning), the share of as many free scenes with
it, and the mean draws per scene.

Diversity, novelty and KL are computed on the scenes an env serves (after repair).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from generators.data import NUM_CODES, SIZE, SIZES, STYLES, Corpus, CorpusSpec, load_corpus
from generators.images import grid_image, write_png
from generators.metrics import copies, mean_pairwise_hamming, nearest_hamming, pattern_kl
from generators.models import KINDS, SceneModel
from generators.properties import PROPERTIES, locked_share
from generators.sampling import sample_codes
from generators.source import GeneratorSource
from generators.style import cached_classifier, style_table
from generators.threads import torch_threads
from generators.train import reconstruction
from generators.train_vq import perplexity, target_hits
from generators.train_vq import reconstruction as reconstruction_v2
from generators.vqmodel import VQ_KINDS, VQSceneModel
from vrenvs.core.reach import FAULTS, faults_batch, solvable_batch
from vrenvs.core.repair import repair_batch
from vrenvs.core.sources import ProceduralSource, default_source

__all__ = ["BARS", "Bar", "Samples", "bar_misses", "fill_rate", "make_report"]

V2_BANK = 1024
"""Bank size of the v2 rows (the issue's throughput bar is measured with banks of 1024)."""


@dataclass(frozen=True)
class Bar:
    """One quality bar of the generators-v2 issue, checked on a learned source's row.

    ``check(row, reference)`` is True when the row meets the bar; ``reference`` holds the
    size's ``kl`` (half vs half of the held-out corpus) and ``diversity`` (of the held-out
    corpus)."""

    name: str
    text: str
    check: Any


SPEED_BARS = {16: 10_000.0, 32: 2_500.0}
"""Scenes/s incl. repair a source must reach at each size (banks of 1024, 2 threads)."""

BARS: tuple[Bar, ...] = (
    Bar("KL", "2x2 KL <= 2x the half-vs-half floor", lambda r, ref: r["pattern_kl"] <= 2 * ref["kl"]),
    Bar("raw playable", "raw playability >= 90%", lambda r, ref: r["raw_playable"] >= 0.90),
    Bar("after repair", "100% playable after repair", lambda r, ref: r["playable_after_repair"] == 1.0),
    Bar("exact copies", "exact copies <= 1%", lambda r, ref: r["exact_copies"] <= 0.01),
    Bar("near copies", "within-5% copies <= 5%", lambda r, ref: r["near_copies"] <= 0.05),
    Bar(
        "diversity",
        "diversity within 10% of the held-out corpus's",
        lambda r, ref: abs(r["diversity"] - ref["diversity"]) <= 0.10 * ref["diversity"],
    ),
    Bar(
        "style",
        "conditioned samples classified as the requested style >= 90% (none: not conditioned)",
        lambda r, ref: r.get("style_accuracy") is not None and r["style_accuracy"] >= 0.90,
    ),
    Bar(
        "speed",
        "scenes/s incl. repair >= 10,000 at 16x16, >= 2,500 at 32x32",
        lambda r, ref: r.get("scenes_per_s") is not None and r["scenes_per_s"] >= SPEED_BARS[r["size"]],
    ),
)
"""The issue's bars as data, in the order the report lists them."""


def bar_misses(row: dict[str, Any], reference: dict[str, float]) -> list[str]:
    """Names of the :data:`BARS` a learned source's row misses (empty: it meets them all)."""
    return [bar.name for bar in BARS if not bar.check(row, reference)]


def bars_table(rows: list[dict[str, Any]], reference: dict[str, float], default: str) -> str:
    """Per learned source: the bars it misses; a source that misses any is a baseline."""
    lines = ["| learned source | bars missed | status |", "|---|---|---|"]
    for r in rows:
        if r["source"] not in KINDS and r["source"] not in VQ_KINDS:
            continue
        missed = bar_misses(r, reference)
        status = "meets every bar" if not missed else "baseline"
        if r["source"] == default:
            status += " (the envs' default)"
        lines.append(f"| {r['source']} | {', '.join(missed) or 'none'} | {status} |")
    bars = "; ".join(f"{b.name}: {b.text}" for b in BARS)
    return "\n".join(lines) + f"\n\nBars: {bars}.\n"


PROCEDURAL_START = 2_000_000
"""Procedural indices of the baseline row: outside the training and held-out ranges."""


@dataclass(frozen=True)
class Samples:
    name: str
    raw: np.ndarray  # (N, S, S) as generated
    served: np.ndarray  # (N, S, S) after repair
    edits: np.ndarray  # (N,)
    rate: float | None  # scenes/s including repair
    reconstruction: float | None = None
    argmax_playable: float | None = None  # raw playability with the plain per-cell argmax
    perplexity: float | None = None  # v2: code usage of the sampled code grids
    style_accuracy: float | None = None  # v2: mean over styles of the share classified as asked
    train: np.ndarray | None = None  # grids copies are counted against (None: the corpus's training part)


def fill_rate(source: GeneratorSource, num: int) -> tuple[float, list]:
    """Scenes/s of decoding and repairing ``num`` scenes in banks, and the banks."""
    start = time.perf_counter()
    banks = [source.bank(s) for s in range(0, num, source.bank_size)]
    return num / (time.perf_counter() - start), banks


def _cat(banks: list, num: int) -> dict[str, np.ndarray]:
    return {k: np.concatenate([getattr(b, k) for b in banks])[:num] for k in ("raw", "codes", "edits")}


def learned(kind: str, num: int, corpus: Corpus, checkpoint: str | None = None) -> Samples:
    source = GeneratorSource(kind, SIZE, checkpoint, bank_size=256)
    source.bank(10**9)  # warm-up: first-call allocations are not part of the rate
    rate, banks = fill_rate(source, num)
    cat = _cat(banks, num)
    model = source.model
    if not isinstance(model, SceneModel):
        raise ValueError(f"learned() covers the first generators {KINDS}; {kind} is measured by learned_v2()")
    recon = reconstruction(model, corpus.heldout)["reconstruction_accuracy"] if model.can_encode else None
    argmax = float(solvable_batch(sample_codes(model, range(num), "argmax")).mean())
    return Samples(kind, cat["raw"], cat["codes"], cat["edits"], rate, recon, argmax)


def learned_v2(
    kind: str, num: int, corpus: Corpus, classifier: Any, checkpoint: str | None = None
) -> tuple[Samples, dict[str, dict[str, Any]], dict[str, np.ndarray]]:
    """The v2 row (the unconditioned mixture), the per-style rows and per-style served samples."""
    size = corpus.size
    bank = min(V2_BANK, num)  # a tiny report (the tests) decodes no more than it measures
    source = GeneratorSource(kind, size, checkpoint, bank_size=bank)
    source.bank(10**9)  # warm-up
    rate, banks = fill_rate(source, num)
    cat = _cat(banks, num)
    model = source.model
    assert isinstance(model, VQSceneModel)
    train = training_grids(source.meta, corpus)
    recon = reconstruction_v2(model, corpus.heldout)["cell_accuracy"]
    indices = model.sample_indices(range(num), model.condition(model.config.styles[0], size))
    used = perplexity(indices, model.config.vq.codebook_size)
    per_style: dict[str, dict[str, Any]] = {}
    by_style: dict[str, np.ndarray] = {}
    share = max(1, num // len(model.config.styles))
    for style in model.config.styles:
        conditioned = GeneratorSource(kind, size, checkpoint, bank_size=bank, style=style)
        got = _cat([conditioned.bank(s) for s in range(0, share, bank)], share)
        by_style[style] = got["codes"]
        held = corpus.heldout[corpus.heldout_style == STYLES.index(style)]
        per_style[style] = {
            "samples": share,
            "heldout_scenes": len(held),
            "pattern_kl": pattern_kl(got["codes"][: len(held)], held) if len(held) else None,
            "raw_playable": float(solvable_batch(got["raw"]).mean()),
            "near_copies": float((nearest_hamming(got["codes"], train) <= 0.05).mean()),
        }
    table = style_table(classifier, by_style)
    for style, acc in table["accuracy"].items():
        per_style[style]["style_accuracy"] = acc
    samples = Samples(
        kind, cat["raw"], cat["codes"], cat["edits"], rate, recon, None, used, float(table["mean"]), train
    )
    return samples, per_style, by_style


def training_grids(meta: dict[str, Any], corpus: Corpus) -> np.ndarray:
    """The training grids at ``corpus``'s size of the checkpoint whose JSON is ``meta``: the
    standard corpus's, or those of the larger procedural part its last run trained on
    (``train vqvae --procedural-16 N``); copies are counted against them."""
    config = meta.get("training", {}).get("config", {})
    num = config.get(f"procedural_{corpus.size}", corpus.manifest["spec"]["num_procedural"])
    if num == corpus.manifest["spec"]["num_procedural"]:
        return corpus.train
    return load_corpus(replace(CorpusSpec.for_size(corpus.size), num_procedural=num)).train


def target_rows(kind: str, num: int, corpus: Corpus, checkpoint: str | None = None) -> dict[str, Any]:
    """Per property and bucket (:func:`generators.train_vq.target_hits` on ``num`` raw samples,
    in the styles whose corpus scenes have the bucket): served with it, first draw with it,
    left free with it, mean draws."""
    model = GeneratorSource(kind, corpus.size, checkpoint, bank_size=1).model
    assert isinstance(model, VQSceneModel)
    out: dict[str, Any] = {}
    for name, prop in PROPERTIES.items():
        out[name] = {}
        for bucket in prop.buckets:
            found = target_hits(model, corpus, name, bucket, num)
            if found:
                out[name][bucket] = found
    return out


def targets_table(kind: str, found: dict[str, Any], num: int) -> str:
    lines = [
        f"| {kind}: property | bucket | styles asked (the corpus has it) | served with it | first draw "
        f"with it | left free: with it | draws per scene |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, buckets in found.items():
        for bucket, r in buckets.items():
            lines.append(
                f"| {name} | {bucket} | {', '.join(r['styles'])} | {_pct(r['hit'])} | "
                f"{_pct(r['first_draw'])} | {_pct(r['free'])} | {r['draws']:.1f} |"
            )
    return "\n".join(lines) + f"\n\n{num} raw scenes per bucket.\n"


def _timed_repair(name: str, make: Any, num: int) -> Samples:
    start = time.perf_counter()
    raw = make(num)
    served, edits = repair_batch(raw)
    rate = num / (time.perf_counter() - start)
    return Samples(name, raw, served, edits, rate)


def baselines(num: int, corpus: Corpus, seed: int = 0) -> list[Samples]:
    size = corpus.size
    source = ProceduralSource(size)

    def procedural(n: int) -> np.ndarray:
        return np.stack([source.raw(i).codes for i in range(PROCEDURAL_START, PROCEDURAL_START + n)])

    def uniform(n: int) -> np.ndarray:
        return np.random.default_rng(seed).integers(0, NUM_CODES, (n, size, size)).astype(np.uint8)

    # The corpus row is repaired like every other row: its scenes were drawn under older
    # rules (repair v4 asks more of them), and its "after repair" must mean what it does for
    # the sources. Its KL compares the halves as drawn (see measure).
    held = corpus.heldout
    fixed, edits = repair_batch(held)
    return [
        _timed_repair("procedural", procedural, num),
        _timed_repair("uniform random", uniform, num),
        Samples("held-out corpus", held, fixed, edits, None),
    ]


def measure(samples: Samples, corpus: Corpus, half_a: np.ndarray, half_b: np.ndarray) -> dict[str, Any]:
    served = samples.served
    train = corpus.train if samples.train is None else samples.train
    near = nearest_hamming(served, train)
    compare = half_a if samples.name == "held-out corpus" else served[: len(half_a)]
    return {
        "source": samples.name,
        "size": corpus.size,
        "samples": len(served),
        "raw_playable": float(solvable_batch(samples.raw).mean()),
        "raw_playable_argmax": samples.argmax_playable,
        "playable_after_repair": float(solvable_batch(served).mean()),
        "mean_edits": float(samples.edits.mean()),
        "locked_doors": locked_share(served),
        "faults": dict(zip(FAULTS, faults_batch(samples.raw).mean(axis=0).tolist(), strict=True)),
        "diversity": mean_pairwise_hamming(served),
        "near_copies": float((near <= 0.05).mean()),
        "exact_copies": float(copies(served, train).mean()),
        "pattern_kl": pattern_kl(compare, half_b),
        "reconstruction_accuracy": samples.reconstruction,
        "code_perplexity": samples.perplexity,
        "style_accuracy": samples.style_accuracy,
        "scenes_per_s": samples.rate,
    }


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def table(rows: list[dict[str, Any]], reference_kl: float) -> str:
    """The markdown table; the footnote gives the KL reference the bar is measured against."""
    lines = [
        "| source | raw playable | (plain argmax) | after repair | mean edits | locked doors | diversity | "
        "within 5% of a training scene | exact copies | 2x2 KL | recon. accuracy | code perplexity | "
        "style accuracy | scenes/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rate = "—" if r["scenes_per_s"] is None else f"{r['scenes_per_s']:,.0f}"
        lines.append(
            f"| {r['source']} | {_pct(r['raw_playable'])} | {_pct(r['raw_playable_argmax'])} | "
            f"{_pct(r['playable_after_repair'])} | {r['mean_edits']:.2f} | {_pct(r.get('locked_doors'))} | "
            f"{r['diversity']:.3f} | "
            f"{_pct(r['near_copies'])} | {_pct(r['exact_copies'])} | {r['pattern_kl']:.3f} | "
            f"{_pct(r['reconstruction_accuracy'])} | {_num(r.get('code_perplexity'), 1)} | "
            f"{_pct(r.get('style_accuracy'))} | {rate} |"
        )
    return "\n".join(lines) + (
        f"\n\n2x2 KL reference, half vs half of the held-out corpus: {reference_kl:.3f} "
        f"(bar: <= {2 * reference_kl:.3f}).\n"
    )


FAULT_TEXT = {
    "border": "border not wall",
    "actors": "not one user and one assistant",
    "no item": "no requestable item",
    "keyless lock": "a lock without its key",
    "unreached thing": "an item or actor out of the user's reach",
    "unreached region": "a region out of the user's reach",
    "assistant cut off": "the user out of the assistant's reach",
}
"""Column headers of :func:`faults_table`, one per :data:`vrenvs.core.reach.FAULTS`."""


def faults_table(rows: list[dict[str, Any]]) -> str:
    """Why raw samples are unplayable: per row (the uniform-random baseline left out: it has
    every fault), the share of raw samples with each kind of fault
    (:func:`vrenvs.core.reach.faults_batch`; a sample can have several)."""
    shown = [r for r in rows if "faults" in r and r["source"] != "uniform random"]
    lines = [
        "| source (raw samples) | unplayable | " + " | ".join(FAULT_TEXT[f] for f in FAULTS) + " |",
        "|---|" + "---|" * (len(FAULTS) + 1),
    ]
    for r in shown:
        cells = " | ".join(_pct(r["faults"][f]) for f in FAULTS)
        lines.append(f"| {r['source']} | {_pct(1 - r['raw_playable'])} | {cells} |")
    return (
        "\n".join(lines)
        + "\n\nWhy raw samples are unplayable: the share of samples with each kind of fault.\n"
    )


def style_rows(kind: str, per_style: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"| {kind}: style | samples | held-out scenes | 2x2 KL to them | raw playable | "
        "within 5% of a training scene | style accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for style, r in per_style.items():
        lines.append(
            f"| {style} | {r['samples']} | {r['heldout_scenes']} | {_num(r['pattern_kl'])} | "
            f"{_pct(r['raw_playable'])} | {_pct(r['near_copies'])} | {_pct(r['style_accuracy'])} |"
        )
    return "\n".join(lines) + "\n"


def _update_cards(rows: list[dict[str, Any]], checkpoints: dict[str, str], num: int) -> None:
    """Store each learned row in its checkpoint's JSON (``metrics.report``, ``metrics.report_<size>``
    for v2) and rewrite the card."""
    from generators.cards import write_card
    from generators.checkpoint import shipped, update_metrics

    for row in rows:
        kind = row["source"]
        if kind in KINDS or kind in VQ_KINDS:
            path = checkpoints.get(kind) or shipped(kind)
            key = "report" if kind in KINDS else f"report_{row['size']}"
            update_metrics(path, {key: {k: v for k, v in row.items() if v is not None} | {"samples": num}})
            write_card(Path(path).with_suffix(".json"))


def _available(kind: str, checkpoints: dict[str, str]) -> bool:
    from generators.checkpoint import shipped

    return kind in checkpoints or shipped(kind).is_file()


def make_report(
    out: str | Path,
    num: int = 2048,
    checkpoints: dict[str, str] | None = None,
    threads: int = 2,
    update_cards: bool = False,
    sizes: tuple[int, ...] = SIZES,
    classifier: tuple[Any, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Measure every row of every size, write ``report.md``, ``report.json`` and the galleries
    to ``out``; with ``update_cards``, also record the rows in the checkpoints' JSON and cards.
    ``classifier`` is a (model, held-out report) pair; None trains (once, then cached) the
    standard one of :func:`generators.style.cached_classifier`. Runs on ``threads`` torch
    threads; the caller's count is restored after, also on errors."""
    with torch_threads(threads):
        return _report(out, num, checkpoints, threads, update_cards, sizes, classifier)


def _report(
    out: str | Path,
    num: int,
    checkpoints: dict[str, str] | None,
    threads: int,
    update_cards: bool,
    sizes: tuple[int, ...],
    classifier: tuple[Any, dict[str, Any]] | None,
) -> dict[str, Any]:
    """:func:`make_report` on the torch threads it set."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    checkpoints = checkpoints or {}
    style_model, classifier_info = classifier or cached_classifier(threads=threads)
    v2 = [k for k in VQ_KINDS if _available(k, checkpoints)]
    parts = [f"# Generator report card\n\n{num} samples per row, {threads} torch threads.\n"]
    held = classifier_info.get("heldout", {})
    parts.append(
        "Style classifier (generators.style, trained on the training corpus): held-out accuracy "
        + ", ".join(f"{s}x{s} {_pct(held.get(str(s), {}).get('accuracy'))}" for s in sizes)
        + ".\n"
    )
    all_rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {"samples": num, "threads": threads, "classifier": classifier_info, "sizes": {}}
    for size in sizes:
        corpus = load_corpus(CorpusSpec.for_size(size))
        perm = np.random.default_rng(0).permutation(len(corpus.heldout))
        half_a, half_b = corpus.heldout[perm[: len(perm) // 2]], corpus.heldout[perm[len(perm) // 2 :]]
        sets = [learned(k, num, corpus, checkpoints.get(k)) for k in KINDS] if size == SIZE else []
        styled: dict[str, tuple[dict[str, dict[str, Any]], dict[str, np.ndarray]]] = {}
        for kind in v2:
            samples, per_style, by_style = learned_v2(kind, num, corpus, style_model, checkpoints.get(kind))
            sets.append(samples)
            styled[kind] = (per_style, by_style)
        sets += baselines(num, corpus)
        rows = [measure(s, corpus, half_a, half_b) for s in sets]
        reference = pattern_kl(half_a, half_b)
        held_row = next(r for r in rows if r["source"] == "held-out corpus")
        bar_ref = {"kl": reference, "diversity": held_row["diversity"]}
        for r in rows:
            if r["source"] in KINDS or r["source"] in VQ_KINDS:
                r["bars_missed"] = bar_misses(r, bar_ref)
        all_rows += rows
        gallery = np.concatenate([s.served[np.linspace(0, len(s.served) - 1, 10).astype(int)] for s in sets])
        write_png(out / f"gallery-{size}.png", grid_image(gallery, cols=10, cell=80 // size))
        order = ", ".join(s.name for s in sets)
        parts.append(f"## {size}x{size}\n\n{table(rows, reference)}")
        parts.append(bars_table(rows, bar_ref, default_source(size)))
        parts.append(faults_table(rows))
        parts.append(
            f"Gallery rows (10 served scenes each), top to bottom: {order}.\n\n"
            f"![gallery {size}](gallery-{size}.png)\n"
        )
        targets: dict[str, Any] = {}
        for kind in v2:
            found = target_rows(kind, max(16, num // 8), corpus, checkpoints.get(kind))
            if found:
                targets[kind] = found
                parts.append(targets_table(kind, found, max(16, num // 8)))
        for kind, (per_style, by_style) in styled.items():
            parts.append(style_rows(kind, per_style))
            rows_img = []
            for style, grids in by_style.items():
                corpus_style = corpus.heldout[corpus.heldout_style == STYLES.index(style)]
                rows_img.append(grids[:8])
                rows_img.append(corpus_style[np.linspace(0, len(corpus_style) - 1, 8).astype(int)])
            write_png(
                out / f"styles-{size}.png", grid_image(np.concatenate(rows_img), cols=8, cell=80 // size)
            )
            parts.append(
                f"Per style, a row of {kind} scenes asked for it, then a row of held-out corpus scenes of "
                f"it: {', '.join(by_style)}.\n\n![styles {size}](styles-{size}.png)\n"
            )
        summary["sizes"][str(size)] = {
            "reference_kl": reference,
            "rows": rows,
            "styles": {k: v[0] for k, v in styled.items()},
            "targets": targets,
        }
    (out / "report.md").write_text("\n".join(parts))
    summary["rows"] = all_rows
    (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
    if update_cards:
        _update_cards(all_rows, checkpoints, num)
    return summary
