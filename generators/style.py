"""A style classifier for the report card: is a scene asked for style X classified as X?

:class:`StyleClassifier` is a small fully convolutional CNN over one-hot glyph grids
(GroupNorm, so a prediction never depends on the rest of the batch; global average pooling
before the linear head, so one model reads 16x16 and 32x32 grids). It is trained on the
training corpora of both sizes (:func:`train_style_classifier`: sizes alternate per batch,
classes are balanced by sampling weights, the data order comes from a seeded
``torch.Generator``) and reports its accuracy on the held-out corpora (whole designer files
and a disjoint procedural index range, see :mod:`generators.data`), per size and per style,
with confusion matrices.

:func:`cached_classifier` trains once and keeps the weights (safetensors, weights only) and
a JSON of the settings and the held-out report under
``<cache>/generators/style-<key>.safetensors``; :func:`style_table` is the report-card row.

Measured with the default settings (800 steps of batch 64, seed 0, 87,652 parameters), on a
2-core machine shared with a training job that kept both cores busy:

- ``threads=1``: 53 s of training (55 s wall). Held-out accuracy 16x16: 0.999 (house, village,
  cave 1.0; designer 38/40 = 0.95, the misses called village); 32x32: 1.0 (designer 8/8).
- ``threads=2`` (the default, and the cached classifier key ``8ec0f66be568``): 260 s of training,
  as two threads fight the other job for two cores (not measured on two free cores, where it
  should be faster than the one-thread figure). Held-out 16x16: 0.997 (designer 34/40 = 0.85,
  the misses called village); 32x32: 1.0 (designer 8/8). Thread counts change float
  reductions, so the weights differ.
- ``threads=1``, seed 1: 78 s of training (heavier load then); held-out 1.0 at both sizes
  (designer 40/40 and 8/8).

The designer held-out figures rest on few files (5 at 16x16, each in 8 symmetries; 1 at
32x32), so they are coarse; the procedural styles are separated perfectly.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from torch import nn

from generators.data import NUM_CODES, SIZES, STYLES, CorpusSpec, cache_dir, load_corpus, one_hot
from generators.threads import torch_threads
from vrenvs.core.checks import check_choice, check_float, check_int
from vrenvs.core.jsonfiles import read_object

__all__ = [
    "StyleClassifier",
    "StyleSettings",
    "cached_classifier",
    "classify",
    "style_accuracy",
    "style_table",
    "train_style_classifier",
]

VERSION = 1
"""Bumped when the architecture or the training recipe changes (enters the cache key)."""

WIDTHS = (32, 48, 64, 64)
"""Channels of the four conv blocks (the 2nd and 3rd halve the resolution)."""


class StyleClassifier(nn.Module):
    """``(B, NUM_CODES, S, S)`` one-hot -> ``(B, len(STYLES))`` logits, for any ``S >= 4``."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = NUM_CODES
        for i, width in enumerate(widths):
            stride = 2 if i in (1, 2) else 1
            layers += [
                nn.Conv2d(channels, width, 3, stride=stride, padding=1, bias=False),
                nn.GroupNorm(8, width),
                nn.ReLU(inplace=True),
            ]
            channels = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, len(STYLES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


@dataclass(frozen=True)
class StyleSettings:
    """What a trained classifier depends on (with the corpus keys, its hash names the cache)."""

    sizes: tuple[int, ...] = SIZES
    seed: int = 0
    steps: int = 800
    batch: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4

    def __post_init__(self) -> None:
        if not isinstance(self.sizes, tuple) or not self.sizes:
            raise ValueError(f"sizes={self.sizes!r} must be a non-empty tuple; choose from {list(SIZES)}")
        for size in self.sizes:
            check_choice("size", size, SIZES)
        check_int("seed", self.seed, 0)
        check_int("steps", self.steps, 1, 1_000_000)
        check_int("batch", self.batch, 1, 4096)
        check_float("lr", self.lr, 0.0, 1.0, above=True)

    def key(self) -> str:
        fields = asdict(self)
        fields["sizes"] = list(self.sizes)
        text = json.dumps(
            {
                **fields,
                "version": VERSION,
                "widths": list(WIDTHS),
                "corpora": [CorpusSpec.for_size(s).key() for s in self.sizes],
            },
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]


# --- inputs ---------------------------------------------------------------------------------


def _check_grids(grids: Any) -> np.ndarray:
    """``(N, S, S)`` integer glyph codes with ``S`` in SIZES, else TypeError / ValueError."""
    if not isinstance(grids, np.ndarray):
        raise TypeError(f"grids of type {type(grids).__name__} must be a numpy array of uint8 glyph codes")
    if not np.issubdtype(grids.dtype, np.integer):
        raise TypeError(f"grids.dtype={grids.dtype} must be an integer type (uint8 glyph codes)")
    if grids.ndim != 3 or grids.shape[1] != grids.shape[2] or grids.shape[1] not in SIZES:
        raise ValueError(
            f"grids.shape={grids.shape} is not supported; need (N, S, S) with S in {list(SIZES)}"
        )
    if grids.size and (int(grids.min()) < 0 or int(grids.max()) >= NUM_CODES):
        raise ValueError(
            f"grids hold codes in [{int(grids.min())}, {int(grids.max())}]; allowed: [0, {NUM_CODES - 1}]"
        )
    return grids


def _style_id(style: Any) -> int:
    """A style name (or id) -> its index in STYLES."""
    if isinstance(style, (int, np.integer)) and not isinstance(style, bool):
        if not 0 <= style < len(STYLES):
            ids = f"their ids 0..{len(STYLES) - 1}"
            raise ValueError(f"style={style!r} is not supported; choose from {list(STYLES)} or {ids}")
        return int(style)
    return STYLES.index(check_choice("style", style, STYLES))


# --- inference ------------------------------------------------------------------------------


@torch.no_grad()
def _logits(model: StyleClassifier, grids: np.ndarray, batch_size: int = 512) -> torch.Tensor:
    grids = _check_grids(grids)
    check_int("batch_size", batch_size, 1)
    was_training = model.training
    model.eval()
    try:
        out = [
            model(one_hot(torch.from_numpy(np.ascontiguousarray(grids[i : i + batch_size]))))
            for i in range(0, len(grids), batch_size)
        ]
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, len(STYLES))


def classify(model: StyleClassifier, grids: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Style ids (index into STYLES) of ``(N, S, S)`` uint8 grids; batched, eval mode, no grad."""
    return _logits(model, grids, batch_size).argmax(dim=1).numpy().astype(np.uint8)


def style_accuracy(model: StyleClassifier, grids: np.ndarray, style: str | int) -> float:
    """Share of ``grids`` classified as ``style`` (a name from STYLES or its id)."""
    target = _style_id(style)
    grids = _check_grids(grids)
    if len(grids) == 0:
        raise ValueError("grids is empty; give at least one grid")
    return float((classify(model, grids) == target).mean())


def style_table(model: StyleClassifier, samples_by_style: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Report-card row: per requested style, the share of its samples classified as that style.

    Returns ``{"accuracy": {style: share}, "num": {style: count}, "mean": mean of the shares}``
    (the mean is over styles, so every requested style weighs the same).
    """
    if not isinstance(samples_by_style, Mapping):
        raise TypeError(
            f"samples_by_style of type {type(samples_by_style).__name__} must be a dict style -> grids"
        )
    if not samples_by_style:
        raise ValueError(f"samples_by_style is empty; give grids for some of {list(STYLES)}")
    accuracy = {name: style_accuracy(model, grids, name) for name, grids in samples_by_style.items()}
    return {
        "accuracy": accuracy,
        "num": {name: len(grids) for name, grids in samples_by_style.items()},
        "mean": float(np.mean(list(accuracy.values()))),
    }


def evaluate(model: StyleClassifier, grids: np.ndarray, styles: np.ndarray) -> dict[str, Any]:
    """Accuracy overall and per true style, and the confusion matrix (rows true, columns predicted)."""
    predicted = classify(model, grids)
    confusion = np.zeros((len(STYLES), len(STYLES)), dtype=np.int64)
    np.add.at(confusion, (styles.astype(np.int64), predicted.astype(np.int64)), 1)
    per_style = {
        name: (float(confusion[i, i] / confusion[i].sum()) if confusion[i].sum() else None)
        for i, name in enumerate(STYLES)
    }
    return {
        "accuracy": float((predicted == styles).mean()),
        "per_style": per_style,
        "num": {name: int(confusion[i].sum()) for i, name in enumerate(STYLES)},
        "confusion": confusion.tolist(),
    }


# --- training -------------------------------------------------------------------------------


def _init_model(seed: int) -> StyleClassifier:
    """Seeded initial weights without touching the caller's global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return StyleClassifier()


def train_style_classifier(
    sizes: Iterable[int] = SIZES,
    seed: int = 0,
    steps: int = StyleSettings.steps,
    threads: int = 2,
    *,
    batch: int = StyleSettings.batch,
    lr: float = StyleSettings.lr,
) -> tuple[StyleClassifier, dict[str, Any]]:
    """Train on the training corpora of ``sizes``; report held-out accuracy per size and style.

    Batches alternate between the sizes; grids are drawn with weights ``1 / count(style)``
    within a size (so each style is a quarter of a batch on average: the designer style has
    240 grids at 16 and 48 at 32 against 2,000 per procedural style), each batch gets a random
    symmetry of the square, and all randomness comes from ``torch.Generator(seed)``. Adam with a
    cosine-decayed learning rate. ``threads`` caps torch's intra-op threads for the run.
    """
    settings = StyleSettings(
        sizes=tuple(sizes),
        seed=seed,
        steps=steps,
        batch=batch,
        lr=lr,
        weight_decay=StyleSettings.weight_decay,
    )
    threads = check_int("threads", threads, 1, 256)
    corpora = {s: load_corpus(CorpusSpec.for_size(s)) for s in settings.sizes}
    start = time.perf_counter()
    with torch_threads(threads):
        generator = torch.Generator().manual_seed(settings.seed)
        model = _init_model(settings.seed)
        data = {}
        for s, corpus in corpora.items():
            styles = torch.from_numpy(corpus.train_style.astype(np.int64))
            counts = torch.bincount(styles, minlength=len(STYLES)).double()
            data[s] = (torch.from_numpy(corpus.train), styles, (1.0 / counts)[styles])
        optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=settings.steps)
        model.train()
        losses = []
        for step in range(settings.steps):
            grids, styles, weights = data[settings.sizes[step % len(settings.sizes)]]
            index = torch.multinomial(weights, settings.batch, replacement=True, generator=generator)
            x = grids[index]
            k = int(torch.randint(8, (1,), generator=generator))
            x = torch.rot90(x, k % 4, dims=(1, 2))
            if k >= 4:
                x = torch.flip(x, dims=(2,))
            loss = nn.functional.cross_entropy(model(one_hot(x)), styles[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.detach().item())
        train_seconds = time.perf_counter() - start
        model.eval()
        heldout = {str(s): evaluate(model, c.heldout, c.heldout_style) for s, c in corpora.items()}
    report = {
        "settings": {**asdict(settings), "sizes": list(settings.sizes)},
        "key": settings.key(),
        "version": VERSION,
        "styles": list(STYLES),
        "corpora": {str(s): CorpusSpec.for_size(s).key() for s in settings.sizes},
        "parameters": sum(p.numel() for p in model.parameters()),
        "threads": threads,
        "train_seconds": round(train_seconds, 2),
        "final_loss": float(np.mean(losses[-20:])),
        "heldout": heldout,
    }
    return model, report


# --- cache ----------------------------------------------------------------------------------


def _paths(folder: Path, key: str) -> tuple[Path, Path]:
    return folder / f"style-{key}.safetensors", folder / f"style-{key}.json"


def _load(weights_path: Path, info_path: Path, key: str) -> tuple[StyleClassifier, dict[str, Any]]:
    """The cached classifier, or an exception of any kind if anything about it is off."""
    info = read_object(info_path, "style classifier info")
    if info.get("key") != key or info.get("version") != VERSION:
        raise ValueError("the cached classifier was made with other settings")
    payload = weights_path.read_bytes()
    if hashlib.sha256(payload).hexdigest() != info.get("weights_sha256"):
        raise ValueError("the cached weights do not match their recorded sha256")
    tensors = load_tensors(payload)
    model = StyleClassifier()
    expected = model.state_dict()
    if set(tensors) != set(expected) or any(tensors[n].shape != expected[n].shape for n in expected):
        raise ValueError("the cached weights do not fit the classifier")
    if not all(torch.isfinite(t).all() for t in tensors.values()):
        raise ValueError("the cached weights are not finite")
    model.load_state_dict(tensors, strict=True)
    model.eval()
    return model, info


def cached_classifier(
    cache: Path | str | None = None,
    *,
    sizes: Iterable[int] = SIZES,
    seed: int = 0,
    steps: int = StyleSettings.steps,
    threads: int = 2,
) -> tuple[StyleClassifier, dict[str, Any]]:
    """The classifier of these settings, trained once and then read from
    ``<cache>/generators/style-<key>.safetensors`` (+ ``.json`` with the settings and the
    held-out report). ``cache`` defaults to :func:`generators.data.cache_dir`; the corpora
    always come from :func:`generators.data.load_corpus`'s own cache. A cache entry that does
    not parse, does not fit or whose sha256 differs from its JSON is rebuilt, never trusted.
    """
    settings = StyleSettings(sizes=tuple(sizes), seed=seed, steps=steps)
    folder = Path(cache if cache is not None else cache_dir()) / "generators"
    weights_path, info_path = _paths(folder, settings.key())
    if weights_path.is_file() and info_path.is_file():
        try:
            return _load(weights_path, info_path, settings.key())
        except Exception:  # whatever is wrong with a cache entry, it is rebuilt
            pass
    model, report = train_style_classifier(settings.sizes, settings.seed, settings.steps, threads)
    payload = save_tensors({n: t.detach().contiguous() for n, t in model.state_dict().items()})
    report = {
        **report,
        "weights_file": weights_path.name,
        "weights_sha256": hashlib.sha256(payload).hexdigest(),
    }
    folder.mkdir(parents=True, exist_ok=True)
    info_path.unlink(missing_ok=True)  # a weights file without its JSON is never read
    tmp = weights_path.with_name(weights_path.name + ".tmp")
    tmp.write_bytes(payload)
    tmp.replace(weights_path)
    tmp = info_path.with_name(info_path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    tmp.replace(info_path)
    model.eval()
    return model, report
