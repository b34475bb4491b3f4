"""Checkpoints as weights only: ``<name>.safetensors`` (tensors) + ``<name>.json`` (config).

The JSON carries everything needed to rebuild the model (nanoGPT style) and to trust the
tensors: the model config, the tile-vocabulary hash, the sha256 of the weights file, plus
provenance (training command, seed, steps, wall time) and metrics. Loading never unpickles
anything; every failure becomes a ``ValueError`` that names the file and what is wrong.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from generators.data import NUM_CODES, SIZE
from generators.models import KINDS, ModelConfig, SceneModel, build_model
from vrenvs.core.catalog import CATALOG

__all__ = ["FORMAT", "Checkpoint", "load_checkpoint", "save_checkpoint", "shipped", "update_metrics"]

FORMAT = "vrenvs-generator/1"


@dataclass(frozen=True)
class Checkpoint:
    model: SceneModel
    meta: dict[str, Any]
    path: Path  # the JSON file

    @property
    def id(self) -> str:
        """Short hash of the weights and the model config: part of every scene identity."""
        return checkpoint_id(self.meta)


def checkpoint_id(meta: dict[str, Any]) -> str:
    text = meta["weights_sha256"] + json.dumps(meta["model"], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _paths(path: str | Path) -> tuple[Path, Path]:
    """``x``, ``x.json`` or ``x.safetensors`` -> (json path, weights path)."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".json", ".safetensors") else path
    return stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".safetensors")


def save_checkpoint(model: SceneModel, path: str | Path, info: dict[str, Any]) -> Path:
    """Write weights and config next to each other; returns the JSON path. ``info`` holds
    provenance and metrics (``training``, ``metrics`` keys), stored as given."""
    config_path, weights_path = _paths(path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(tensors, str(weights_path), metadata={"format": FORMAT, "kind": model.kind})
    weights_path.chmod(0o644)  # safetensors writes 0600; package data must be world-readable
    meta = {
        "format": FORMAT,
        "model": model.config.to_dict(),
        "vocabulary_hash": CATALOG.vocabulary_hash,
        "num_codes": NUM_CODES,
        "size": SIZE,
        "num_parameters": model.num_parameters(),
        "weights_file": weights_path.name,
        "weights_sha256": _sha256(weights_path),
        **info,
    }
    config_path.write_text(json.dumps(meta, indent=2) + "\n")
    return config_path


def update_metrics(path: str | Path, metrics: dict[str, Any]) -> None:
    """Merge ``metrics`` into a checkpoint's JSON (the weights are untouched)."""
    config_path, _ = _paths(path)
    meta = json.loads(config_path.read_text())
    meta["metrics"] = {**meta.get("metrics", {}), **metrics}
    config_path.write_text(json.dumps(meta, indent=2) + "\n")


def _read_meta(config_path: Path) -> dict[str, Any]:
    if not config_path.is_file():
        raise ValueError(f"generator checkpoint config {config_path} does not exist")
    try:
        meta = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"generator checkpoint config {config_path} is corrupt (not JSON: {err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"generator checkpoint config {config_path} is not a {FORMAT} config")
    missing = [k for k in ("model", "vocabulary_hash", "weights_sha256") if k not in meta]
    if missing:
        raise ValueError(f"generator checkpoint config {config_path} lacks the keys {missing}")
    if meta["vocabulary_hash"] != CATALOG.vocabulary_hash:
        raise ValueError(
            f"generator checkpoint {config_path} was trained on tile vocabulary {meta['vocabulary_hash']}, "
            f"this version of vrenvs uses {CATALOG.vocabulary_hash}; retrain it (python -m generators train)"
        )
    return meta


def _read_weights(weights_path: Path, expected_sha: str) -> dict[str, torch.Tensor]:
    if not weights_path.is_file():
        raise ValueError(f"generator weights {weights_path} do not exist")
    actual = _sha256(weights_path)
    if actual != expected_sha:
        raise ValueError(
            f"generator weights {weights_path} are corrupt or truncated: sha256 {actual[:12]}..., "
            f"the config expects {expected_sha[:12]}..."
        )
    try:
        return load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(f"generator weights {weights_path} are corrupt (not safetensors: {err})") from None


def _check_fit(model: SceneModel, tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Refuse tensors that do not match the model built from the config, saying how."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    shapes = [
        f"{k} {tuple(tensors[k].shape)} (model: {tuple(v.shape)})"
        for k, v in expected.items()
        if k in tensors and tensors[k].shape != v.shape
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:3])})")
    if shapes:
        problems.append(f"{len(shapes)} tensors of the wrong shape (e.g. {'; '.join(shapes[:2])})")
    if problems:
        raise ValueError(f"generator weights {path} do not fit the {model.kind} model: {'; '.join(problems)}")


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Rebuild the model from the JSON config and load the weights strictly, in eval mode."""
    config_path, weights_path = _paths(path)
    meta = _read_meta(config_path)
    try:
        config = ModelConfig.from_dict(dict(meta["model"]))
    except (TypeError, ValueError) as err:
        raise ValueError(f"generator checkpoint config {config_path} has a bad model config: {err}") from None
    tensors = _read_weights(
        weights_path.with_name(meta.get("weights_file", weights_path.name)), meta["weights_sha256"]
    )
    model = build_model(config)
    _check_fit(model, tensors, weights_path)
    model.load_state_dict(tensors, strict=True)
    model.eval()
    return Checkpoint(model, meta, config_path)


def shipped(kind: str) -> Path:
    """Path of the JSON of the weights shipped in the package for ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"no shipped generator {kind!r}; choose from {KINDS}")
    # Next to this module rather than importlib.resources: a stale editable install can map
    # the package as a namespace, which resources.files() cannot read.
    return Path(__file__).with_name("weights") / f"{kind}.json"
