"""Generation steered by feedback: a preference model fitted to ratings, and the source it makes.

``vrenvs generators adapt --feedback ratings.db --out adapted.json`` reads the rated rows of
a feedback store (:mod:`vrenvs.core.feedback`), fits a ridge regression of the rating on the
scene's features (:func:`scene_features`: tile shares, rooms, corridors, doors and locks,
the farthest item, items and NPCs; standardised over the rated scenes) and writes it as a
small JSON file (weights only). ``scenes={"source": "adapted", "model": "adapted.json"}``
(or ``"feedback": "ratings.db"`` to fit on load) then serves, as scene ``i``, one of the base
source's scenes ``i * K .. i * K + K - 1`` (``candidates`` K, one bank of a banked source)
drawn with probabilities ``softmax(predicted rating / temperature)`` from the seed ``i``:
generation shifts towards what was liked, while every scene is still a base scene (repaired,
so solvable) drawn afresh, which keeps the variety. Scene ``i`` is a pure function of ``i``,
the model and the base source; its identity names the base scene it is.

``vrenvs generators adapt --simulate`` measures it with simulated raters whose hidden taste
is a function of the scene (:data:`TASTES`): each rates ``--ratings`` scenes of the base
source (1-5, by where the scene's taste falls among the base source's scenes, with noise),
the model is fitted to those ratings alone, and the taste of the adapted source's scenes is
compared with the unadapted source's (mean, best 5%), along with solvability and diversity.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from generators.properties import farthest_item, room_count
from vrenvs.core.catalog import CATALOG
from vrenvs.core.checks import check_float, check_int
from vrenvs.core.scene import Scene, split_layers
from vrenvs.core.sources import NUM_SCENE_INDICES, IndexedSource, default_source, make_source

__all__ = [
    "FEATURES",
    "TASTES",
    "AdaptedSource",
    "PreferenceModel",
    "adapted_source",
    "fit",
    "scene_features",
    "simulate",
    "write_simulation",
]

FORMAT = "vrenvs-preference/1"
REFERENCE_SCENES = 256
"""Base scenes (the last indices) that define how unusual a candidate is (the diversity term)."""
_TILE_SHARES = ("floor", "wall", "grass", "path", "water", "tree", "counter")
FEATURES = (
    *(f"{t}_share" for t in _TILE_SHARES),
    "door_share",
    "locked_doors",
    "rooms",
    "corridor_share",
    "farthest_item",
    "items",
    "npcs",
)
"""What the preference model sees of a scene, in column order (see :func:`scene_features`)."""


def _neighbours(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    pad = np.pad(mask, ((0, 0), (1, 1), (1, 1)))
    return pad[:, :-2, 1:-1], pad[:, 2:, 1:-1], pad[:, 1:-1, :-2], pad[:, 1:-1, 2:]


def corridor_share(codes: np.ndarray) -> np.ndarray:
    """``(N,)`` share of the walkable cells that are corridor: exactly two walkable
    neighbours, opposite each other (up and down, or left and right)."""
    tiles = split_layers(codes)[0]
    walk = CATALOG.WALKABLE[tiles] | CATALOG.IS_DOOR[tiles]
    up, down, left, right = _neighbours(walk)
    count = up.astype(int) + down + left + right
    corridor = walk & (count == 2) & ((up & down) | (left & right))
    return corridor.sum(axis=(1, 2)) / np.maximum(walk.sum(axis=(1, 2)), 1)


def scene_features(codes: np.ndarray) -> np.ndarray:
    """``(N, len(FEATURES))`` float64 features of glyph grids ``(N, S, S)``."""
    codes = np.asarray(codes)
    if codes.ndim != 3:
        raise ValueError(f"codes of shape {codes.shape}; expected (N, S, S)")
    tiles, items, roles = split_layers(codes)
    side = codes.shape[-1]
    inner = tiles[:, 1:-1, 1:-1]
    cells = inner.shape[1] * inner.shape[2]
    columns = [(inner == CATALOG.tile[t].id).sum(axis=(1, 2)) / cells for t in _TILE_SHARES]
    columns.append(CATALOG.IS_DOOR[inner].sum(axis=(1, 2)) / cells)
    columns.append(CATALOG.IS_LOCKED[tiles].sum(axis=(1, 2)).astype(np.float64))
    columns.append(room_count(codes) / max(side * side / 64, 1))
    columns.append(corridor_share(codes))
    columns.append(np.maximum(farthest_item(codes), 0) / side)
    columns.append((items > 0).sum(axis=(1, 2)) / 10.0)
    npc = np.isin(roles, [r.id for r in CATALOG.roles if r.npc])
    columns.append(npc.sum(axis=(1, 2)) / 4.0)
    return np.stack(columns, axis=1).astype(np.float64)


@dataclass(frozen=True)
class PreferenceModel:
    """Predicted rating = ``bias + ((features - mean) / scale) @ weights``."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    ratings: int
    ridge: float = 1.0
    feedback: str = ""

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.bias + ((np.asarray(features) - self.mean) / self.scale) @ self.weights

    @property
    def sha(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "features": list(FEATURES),
            "weights": self.weights.tolist(),
            "bias": self.bias,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "ratings": self.ratings,
            "ridge": self.ridge,
            "feedback": self.feedback,
        }

    def save(self, path: str | Path) -> Path:
        out = Path(path)
        out.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return out

    @classmethod
    def load(cls, path: str | Path) -> PreferenceModel:
        """A saved model, checked field by field (a ValueError names the file and field)."""
        where = Path(path)
        if not where.is_file():
            raise ValueError(
                f"preference model {where} does not exist (write one with vrenvs generators adapt)"
            )
        if where.stat().st_size > 1 << 20:
            raise ValueError(f"preference model {where} is over 1 MB; it is a small JSON file")
        try:
            data = json.loads(where.read_text(encoding="utf-8"), parse_constant=_no_constant)
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as err:
            raise ValueError(f"preference model {where} is not valid JSON: {err}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"preference model {where}: format {found!r}; expected {FORMAT!r}")
        if data.get("features") != list(FEATURES):
            raise ValueError(
                f"preference model {where}: features {data.get('features')!r}; "
                f"this vrenvs uses {list(FEATURES)}"
            )
        arrays = {}
        for key in ("weights", "mean", "scale"):
            value = data.get(key)
            if not isinstance(value, list) or len(value) != len(FEATURES):
                raise ValueError(f"preference model {where}: {key} must be a list of {len(FEATURES)} numbers")
            arr = np.asarray(value, np.float64)
            if not np.isfinite(arr).all() or (key == "scale" and (arr <= 0).any()):
                raise ValueError(f"preference model {where}: {key} holds a non-finite or non-positive value")
            arrays[key] = arr
        bias = check_float(f"{where}: bias", data.get("bias"), -100.0, 100.0)
        ratings = check_int(f"{where}: ratings", data.get("ratings"), 1, 10**9)
        ridge = check_float(f"{where}: ridge", data.get("ridge"), 0.0, 1e6)
        return cls(
            arrays["weights"],
            bias,
            arrays["mean"],
            arrays["scale"],
            ratings,
            ridge,
            str(data.get("feedback", "")),
        )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def fit(features: np.ndarray, ratings: np.ndarray, ridge: float = 1.0, feedback: str = "") -> PreferenceModel:
    """Ridge regression of ``ratings`` on standardised ``features`` (closed form)."""
    x = np.asarray(features, np.float64)
    y = np.asarray(ratings, np.float64)
    if len(x) != len(y) or len(y) < 2:
        raise ValueError(f"{len(y)} ratings for {len(x)} scenes; need at least 2 rated scenes")
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    bias = float(y.mean())
    weights = np.linalg.solve(z.T @ z + ridge * np.eye(z.shape[1]), z.T @ (y - bias))
    return PreferenceModel(weights, bias, mean, scale, len(y), ridge, feedback)


def fit_store(path: str | Path, ridge: float = 1.0) -> PreferenceModel:
    """:func:`fit` to the rated rows of the feedback store at ``path``."""
    from vrenvs.core.feedback import FeedbackStore

    if not Path(path).is_file():
        problem = "is a folder, not a file" if Path(path).is_dir() else "does not exist"
        raise ValueError(f"feedback store {path} {problem} (vrenvs play --feedback FILE writes one)")
    with FeedbackStore(path) as store:
        rows = store.rows(rated_only=True)
    if len(rows) < 2:
        raise ValueError(f"feedback store {path} holds {len(rows)} ratings; adapt needs at least 2")
    sizes = sorted({r.codes.shape[0] for r in rows})
    features = np.concatenate(
        [scene_features(np.stack([r.codes for r in rows if r.codes.shape[0] == s])) for s in sizes]
    )
    ratings = np.concatenate([[r.rating for r in rows if r.codes.shape[0] == s] for s in sizes])
    return fit(features, ratings, ridge, feedback=str(path))


class AdaptedSource(IndexedSource):
    """The base source's scenes, chosen by a preference model (see the module docstring)."""

    name = "adapted"

    def __init__(
        self,
        base: IndexedSource,
        model: PreferenceModel,
        candidates: int = 8,
        temperature: float = 0.25,
        diversity: float = 1.0,
    ) -> None:
        super().__init__(base.size)
        self.base = base
        self.model = model
        self.candidates = check_int("candidates", candidates, 1, 1024)
        self.temperature = check_float("temperature", temperature, 0.0, 100.0, above=True)
        self.diversity = check_float("diversity", diversity, 0.0, 100.0)
        self._picked: dict[int, int] = {}
        self._typical: tuple[np.ndarray, float, float] | None = None

    def _novelty(self, codes: np.ndarray) -> np.ndarray:
        """``(N,)`` how unlike the base source's scenes each grid is, as a z-score over a
        fixed reference sample of them: the mean over cells of the chance that a base scene
        has another glyph there (the expected Hamming distance to a base scene)."""
        if self._typical is None:
            first = NUM_SCENE_INDICES - REFERENCE_SCENES
            ref = np.stack([self.base.scene(first + k).codes for k in range(REFERENCE_SCENES)])
            onehot = np.eye(CATALOG.num_codes)[ref]  # (R, S, S, C)
            freq = onehot.mean(axis=0)  # (S, S, C): how often each glyph sits at each cell
            own = 1 - np.take_along_axis(freq[None], ref[..., None].astype(np.intp), axis=-1)[..., 0]
            values = own.mean(axis=(1, 2))
            self._typical = (freq, float(values.mean()), float(values.std()) or 1.0)
        freq, mean, std = self._typical
        side = codes.shape[-1]
        rows, cols = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
        differ = 1 - freq[rows[None], cols[None], codes.astype(np.intp)]
        return (differ.mean(axis=(1, 2)) - mean) / std

    def reserve(self, consumers: int) -> None:
        self.base.reserve(consumers)

    def pick(self, index: int) -> int:
        """The base index scene ``index`` is."""
        found = self._picked.get(index)
        if found is None:
            first = int(index) * self.candidates
            options = [(first + k) % NUM_SCENE_INDICES for k in range(self.candidates)]
            codes = np.stack([self.base.scene(i).codes for i in options])
            utility = self.model.predict(scene_features(codes))
            if self.diversity:
                utility = utility + self.diversity * self._novelty(codes)
            score = utility / self.temperature
            p = np.exp(score - score.max())
            p /= p.sum()
            u = np.random.default_rng([int(index), 0xADA97]).random()
            found = options[min(int(np.searchsorted(np.cumsum(p), u * p.sum(), side="right")), len(p) - 1)]
            if len(self._picked) >= 65_536:
                self._picked.clear()
            self._picked[index] = found
        return found

    def raw(self, index: int) -> Scene:
        return self.base.scene(self.pick(index))

    def identity(self, index: int) -> dict[str, object]:
        chosen = self.pick(index)
        return {
            "source": self.name,
            "index": int(index),
            "model": self.model.sha,
            "candidates": self.candidates,
            "temperature": self.temperature,
            "diversity": self.diversity,
            "base": self.base.identity(chosen),
        }


def adapted_source(
    size: int,
    *,
    model: str | None = None,
    feedback: str | None = None,
    base: str | Mapping[str, object] | None = None,
    candidates: int = 8,
    temperature: float = 0.25,
    diversity: float = 1.0,
) -> AdaptedSource:
    """``scenes={"source": "adapted", "model": "adapted.json"}`` (or ``"feedback":
    "ratings.db"``, fitted on load); ``base``: the source it adapts (default: the envs')."""
    if (model is None) == (feedback is None):
        raise ValueError("give one of model (a saved preference model) or feedback (a feedback store)")
    prefs = PreferenceModel.load(model) if model is not None else fit_store(str(feedback))
    inner = make_source(default_source(size) if base is None else base, size)
    if not isinstance(inner, IndexedSource):
        raise TypeError(f"base={base!r} has no scene indices; an adapted source picks base scenes by index")
    return AdaptedSource(inner, prefs, candidates, temperature, diversity)


# --- simulated raters ----------------------------------------------------------------------


def _water(codes: np.ndarray) -> np.ndarray:
    tiles = split_layers(codes)[0]
    return (tiles == CATALOG.tile["water"].id).mean(axis=(1, 2))


TASTES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "likes water": _water,
    "dislikes narrow corridors": lambda codes: -corridor_share(codes),
    "wants many rooms": lambda codes: room_count(codes).astype(np.float64),
}
"""Hidden tastes of simulated raters: higher is liked more."""


def rate(
    taste: np.ndarray, reference: np.ndarray, rng: np.random.Generator, noise: float = 0.1
) -> np.ndarray:
    """Ratings 1-5 of scenes whose taste values are ``taste``: the share of ``reference``
    values below each, plus Gaussian noise of ``noise``, in five equal bins."""
    below = np.searchsorted(np.sort(reference), taste, side="left") / len(reference)
    noisy = below + rng.normal(0.0, noise, size=len(below))
    return np.clip(1 + np.floor(5 * noisy), 1, 5).astype(np.int64)


def diversity(codes: np.ndarray, pairs: int = 20_000, seed: int = 0) -> float:
    """Mean share of differing cells over random pairs of scenes."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(codes), size=(2, pairs))
    keep = a != b
    return float((codes[a[keep]] != codes[b[keep]]).mean())


def simulate(
    base: str = "vqvae",
    size: int = 16,
    ratings: int = 50,
    scenes: int = 1000,
    candidates: int = 8,
    temperature: float = 0.25,
    diversity_weight: float = 1.0,
    seed: int = 0,
) -> dict[str, Any]:
    """The simulated-rater measurement (see the module docstring), per taste."""
    from vrenvs.core.reach import solvable_batch

    source = make_source(base, size)
    assert isinstance(source, IndexedSource)
    reference_start, rated_start, measured_start = 30_000_000, 31_000_000, 32_000_000
    reference = np.stack([source.scene(reference_start + i).codes for i in range(2000)])
    plain = np.stack([source.scene(measured_start + i).codes for i in range(scenes)])
    rated = np.stack([source.scene(rated_start + i).codes for i in range(ratings)])
    out: dict[str, Any] = {"base": base, "size": size, "ratings": ratings, "scenes": scenes, "tastes": {}}
    for t, (name, taste) in enumerate(TASTES.items()):
        rng = np.random.default_rng([seed, t])
        given = rate(taste(rated), taste(reference), rng)
        model = fit(scene_features(rated), given)
        adapted = AdaptedSource(source, model, candidates, temperature, diversity_weight)
        start = measured_start // candidates + 1  # its candidates lie past the plain sample
        codes = np.stack([adapted.scene(start + i).codes for i in range(scenes)])
        before, after = taste(plain), taste(codes)
        top = np.sort(before)[-max(1, math.ceil(0.05 * scenes)) :].mean()
        gain = (after.mean() - before.mean()) / (top - before.mean()) if top > before.mean() else math.nan
        out["tastes"][name] = {
            "before": float(before.mean()),
            "after": float(after.mean()),
            "best_5pct": float(top),
            "gain": float(gain),
            "solvable": float(solvable_batch(codes).mean()),
            "diversity_before": diversity(plain),
            "diversity_after": diversity(codes),
            "ratings_given": np.bincount(given, minlength=6)[1:].tolist(),
            "values_before": before.tolist(),
            "values_after": after.tolist(),
        }
    return out


def write_simulation(result: dict[str, Any], out: Path) -> str:
    """``simulation.json`` (without the per-scene values), ``simulation.md`` and
    ``preference_shift.png`` (each taste's values before and after) in ``out``; returns the table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    lines = [
        "| taste | unadapted mean | adapted mean | best 5% of unadapted | gain | solvable | diversity "
        "(adapted / unadapted) | ratings 1-5 given |",
        "|---|---|---|---|---|---|---|---|",
    ]
    tastes = result["tastes"]
    for name, t in tastes.items():
        ratio = t["diversity_after"] / t["diversity_before"]
        lines.append(
            f"| {name} | {t['before']:.3f} | {t['after']:.3f} | {t['best_5pct']:.3f} "
            f"| {100 * t['gain']:.0f}% "
            f"| {100 * t['solvable']:.1f}% | {t['diversity_after']:.3f} / {t['diversity_before']:.3f} "
            f"({100 * ratio:.0f}%) | {t['ratings_given']} |"
        )
    table = "\n".join(lines)
    slim = {
        **result,
        "tastes": {n: {k: v for k, v in t.items() if not k.startswith("values")} for n, t in tastes.items()},
    }
    (out / "simulation.json").write_text(json.dumps(slim, indent=1) + "\n")
    (out / "simulation.md").write_text(table + "\n")
    fig, axes = plt.subplots(1, len(tastes), figsize=(4 * len(tastes), 3.2), dpi=100)
    for ax, (name, t) in zip(np.atleast_1d(axes), tastes.items()):
        bins = np.histogram_bin_edges(np.concatenate([t["values_before"], t["values_after"]]), bins=20)
        ax.hist(t["values_before"], bins=bins, alpha=0.5, label="unadapted")
        ax.hist(t["values_after"], bins=bins, alpha=0.5, label=f"adapted ({result['ratings']} ratings)")
        ax.axvline(t["best_5pct"], color="k", linestyle="--", linewidth=1, label="best 5% mean")
        ax.set(title=name, xlabel="taste value", ylabel="scenes")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "preference_shift.png")
    plt.close(fig)
    return table
