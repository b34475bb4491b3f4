"""Checkpoints as weights only: ``<name>.safetensors`` (tensors) + ``<name>.json`` (config).

The JSON carries everything needed to rebuild the model (nanoGPT style) and to trust the
tensors: the model config, the tile-vocabulary hash, the sha256 of the weights file and the
sha256 of the JSON itself (``config_sha256``, over the canonical JSON of every other field),
plus provenance (training command, seed, steps, wall time) and metrics. Loading never
unpickles anything and checks in this order, so a bad file fails before any tensor is made:

1. the JSON: at most 1 MB of UTF-8, no NaN / Infinity, no repeated key, an object;
2. every field that builds or verifies the model, for type and range (``model.kind``,
   ``model.latent_dim`` in [1, 4096], ``model.width`` a multiple of 8 in [8, 4096],
   ``model.latent_scale`` in (0, 10], ``model.decoding``; ``num_parameters`` computed from
   the config and at most :data:`~generators.models.MAX_PARAMETERS`), unknown keys inside
   ``model`` refused; other top-level fields (``training``, ``metrics``) are provenance,
   never read to build the model;
3. ``config_sha256`` against the JSON, then the weights file's size and ``weights_sha256``;
4. the tensors: names, shapes and dtypes as the model built from the config, all finite.

Two formats share these checks. ``vrenvs-generator/1`` holds a first generator
(:class:`~generators.models.SceneModel`: gan, vae, vaegan), ``size`` is 16 and ``model`` a
:class:`~generators.models.ModelConfig`. ``vrenvs-generator/2`` holds a v2 model
(:class:`~generators.vqmodel.VQSceneModel`: vqvae): ``model`` is a
:class:`~generators.vqmodel.VQModelConfig` (nested ``vq`` and ``prior`` objects and an optional
``refiner``, every other field required, unknown keys refused), ``size`` the list of its sizes
(``model.sizes``), and the weights also hold the quantizer's buffers (codebook, EMA sums and
usage, an int64 restart count), which the weights size limit counts.

Every failure is a :class:`CheckpointError` (a ``ValueError``) naming the file, the field and
the value. A config edited on purpose is re-sealed with :func:`seal`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save_file

from generators.data import NUM_CODES, SIZE
from generators.models import KINDS, ModelConfig, SceneModel, build_model
from generators.prior import PriorConfig
from generators.properties import PROPERTIES, PROPERTY_NAMES
from generators.refine import RefinerConfig
from generators.vq import VQConfig
from generators.vqmodel import VQ_KINDS, VQModelConfig, VQSceneModel
from vrenvs.core.catalog import CATALOG
from vrenvs.core.jsonfiles import digest, read_object

__all__ = [
    "FORMAT",
    "FORMAT_V2",
    "Checkpoint",
    "CheckpointError",
    "checkpoint_paths",
    "load_checkpoint",
    "save_checkpoint",
    "seal",
    "shipped",
    "update_feasible_styles",
    "update_metrics",
]

FORMAT = "vrenvs-generator/1"
"""Format of the first generators' checkpoints (gan, vae, vaegan)."""
FORMAT_V2 = "vrenvs-generator/2"
"""Format of the v2 checkpoints (:data:`~generators.vqmodel.VQ_KINDS`)."""
FORMATS = (FORMAT, FORMAT_V2)
REQUIRED = (
    "format",
    "model",
    "vocabulary_hash",
    "num_codes",
    "size",
    "num_parameters",
    "weights_file",
    "weights_sha256",
    "config_sha256",
)
"""Top-level fields every checkpoint config has; any others are provenance."""
FEASIBLE_STYLES = "feasible_styles"
"""Optional format-2 field: per size (a string key) and scene property, the model styles
whose training corpus has each bucket (:func:`generators.train_vq.feasible_table`). A source
asked for property targets without a style mixes only these styles
(:class:`generators.source.GeneratorSource`)."""
MAX_HEADER = 1 << 20
"""Bytes a weights file may hold beyond 4 per tensor element (the safetensors header)."""
_SHA256 = re.compile(r"[0-9a-f]{64}")


class CheckpointError(ValueError):
    """A generator checkpoint that cannot be used; the message names the file and the fault."""


AnyModel = SceneModel | VQSceneModel
"""A model a checkpoint holds: a first generator (format 1) or a v2 model (format 2)."""
AnyConfig = ModelConfig | VQModelConfig


@dataclass(frozen=True)
class Checkpoint:
    model: AnyModel
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


def checkpoint_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``x``, ``x.json`` or ``x.safetensors`` -> (json path, weights path)."""
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path={path!r} must be a path to a generator checkpoint (.json)")
    path = Path(path)
    if path.suffix in (".json", ".safetensors"):
        stem = path.with_suffix("")
    elif path.is_dir():  # a stem names no existing file: the .json / .safetensors pair is meant
        raise CheckpointError(f"generator checkpoint {path} is a folder; give its .json file")
    elif path.exists() and not path.is_file():
        raise CheckpointError(f"generator checkpoint {path} is not a regular file; give its .json file")
    else:
        stem = path
    return stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".safetensors")


def _write(config_path: Path, meta: dict[str, Any]) -> None:
    """Write ``meta`` with a fresh ``config_sha256``."""
    meta["config_sha256"] = digest(meta, "config_sha256")
    config_path.write_text(json.dumps(meta, indent=2, allow_nan=False) + "\n")


def save_checkpoint(model: AnyModel, path: str | Path, info: dict[str, Any]) -> Path:
    """Write weights and config next to each other; returns the JSON path. ``info`` holds
    provenance and metrics (``training``, ``metrics`` keys), stored as given. A
    :class:`VQSceneModel` is written in :data:`FORMAT_V2`, a first generator in :data:`FORMAT`."""
    config_path, weights_path = checkpoint_paths(path)
    clash = sorted(set(info) & set(REQUIRED))
    if clash:
        raise ValueError(f"info must not set the checkpoint fields {clash}; they are written from the model")
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    v2 = isinstance(model, VQSceneModel)
    form = FORMAT_V2 if v2 else FORMAT
    size: int | list[int] = list(model.config.sizes) if isinstance(model, VQSceneModel) else SIZE
    save_file(tensors, str(weights_path), metadata={"format": form, "kind": model.kind})
    weights_path.chmod(0o644)  # safetensors writes 0600; package data must be world-readable
    meta = {
        "format": form,
        "model": model.config.to_dict(),
        "vocabulary_hash": CATALOG.vocabulary_hash,
        "num_codes": NUM_CODES,
        "size": size,
        "num_parameters": model.num_parameters(),
        "weights_file": weights_path.name,
        "weights_sha256": _sha256(weights_path),
        "config_sha256": "",
        **info,
    }
    _write(config_path, meta)
    return config_path


def update_metrics(path: str | Path, metrics: dict[str, Any]) -> None:
    """Merge ``metrics`` into a checkpoint's JSON and re-seal it (the weights are untouched).
    The checkpoint must verify first."""
    config_path, _ = checkpoint_paths(path)
    meta, _ = _read_meta(config_path)
    meta["metrics"] = {**meta.get("metrics", {}), **metrics}
    _write(config_path, meta)


def check_feasible_styles(path: Path, table: Any, config: VQModelConfig) -> None:
    """``table`` is a :data:`FEASIBLE_STYLES` value for a model of ``config``: an object of
    sizes (as strings) to objects of property names to objects of bucket names to lists of
    distinct model styles. A CheckpointError names the first fault."""
    sizes = [str(s) for s in config.sizes]
    if not isinstance(table, dict) or not set(table) <= set(sizes):
        raise _fault(path, FEASIBLE_STYLES, table, f"an object with keys among {sizes}")
    for size, per in table.items():
        if not isinstance(per, dict) or not set(per) <= set(PROPERTY_NAMES):
            keys = f"an object with keys among {list(PROPERTY_NAMES)}"
            raise _fault(path, f"{FEASIBLE_STYLES}.{size}", per, keys)
        for name, buckets in per.items():
            where = f"{FEASIBLE_STYLES}.{size}.{name}"
            if not isinstance(buckets, dict) or not set(buckets) <= set(PROPERTIES[name].buckets):
                keys = f"an object with keys among {list(PROPERTIES[name].buckets)}"
                raise _fault(path, where, buckets, keys)
            for bucket, styles in buckets.items():
                if (
                    not isinstance(styles, list)
                    or not all(isinstance(s, str) and s in config.styles for s in styles)
                    or len(set(styles)) != len(styles)
                ):
                    known = f"a list of distinct styles of {list(config.styles)}"
                    raise _fault(path, f"{where}.{bucket}", styles, known)


def update_feasible_styles(path: str | Path, table: dict[str, Any]) -> None:
    """Set a v2 checkpoint's :data:`FEASIBLE_STYLES` and re-seal its JSON (the weights, and so
    the checkpoint id, are untouched). The checkpoint must verify first."""
    config_path, _ = checkpoint_paths(path)
    meta, config = _read_meta(config_path)
    if not isinstance(config, VQModelConfig):
        raise CheckpointError(f"generator checkpoint {config_path} is a first generator; it takes no targets")
    check_feasible_styles(config_path, table, config)
    meta[FEASIBLE_STYLES] = table
    _write(config_path, meta)


def seal(path: str | Path) -> Path:
    """Re-write ``weights_sha256`` and ``config_sha256`` of a checkpoint whose JSON was edited
    on purpose; every field and the tensors are checked first. Returns the JSON path."""
    config_path, _ = checkpoint_paths(path)
    meta, config = _read_meta(config_path, verify=False)
    weights_path = config_path.with_name(meta["weights_file"])
    model = _build(config)
    _check_fit(model, _read_weights(weights_path, config, None), weights_path)
    meta["weights_sha256"] = _sha256(weights_path)
    _write(config_path, meta)
    return config_path


def _fault(path: Path, field: str, value: Any, allowed: str) -> CheckpointError:
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    return CheckpointError(
        f"generator checkpoint config {path}: {field}={shown} is not allowed; allowed: {allowed}"
    )


def _model_config(path: Path, model: Any) -> ModelConfig:
    names = [f.name for f in fields(ModelConfig)]
    if not isinstance(model, dict):
        raise _fault(path, "model", model, f"an object with the fields {names}")
    missing = [k for k in names if k not in model]
    unknown = sorted(set(model) - set(names))
    if missing or unknown:
        parts = ([f"lacks {missing}"] if missing else []) + (
            [f"has unknown fields {unknown}"] if unknown else []
        )
        raise CheckpointError(
            f"generator checkpoint config {path}: model {' and '.join(parts)}; its fields are {names}"
        )
    try:
        return ModelConfig(**model)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"generator checkpoint config {path}: model.{err}") from None


OPTIONAL_V2 = ("properties", "refiner", "top_p", "reach", "patterns")
"""Format-2 fields a file may leave out (added after the first v2 files: default ``()``,
``None``, ``()``, the refiner's ``reach`` False, and ``()``)."""


def _check_keys(path: Path, field: str, data: Any, names: list[str]) -> None:
    """``data`` is an object with the keys ``names`` (those of :data:`OPTIONAL_V2` may be
    missing) and no others."""
    if not isinstance(data, dict):
        raise _fault(path, field, data, f"an object with the fields {names}")
    missing = [k for k in names if k not in data and k not in OPTIONAL_V2]
    unknown = sorted(set(data) - set(names), key=str)
    if missing or unknown:
        parts = ([f"lacks {missing}"] if missing else []) + (
            [f"has unknown fields {unknown}"] if unknown else []
        )
        raise CheckpointError(
            f"generator checkpoint config {path}: {field} {' and '.join(parts)}; its fields are {names}"
        )


def _vq_model_config(path: Path, model: Any) -> VQModelConfig:
    """The ``model`` of a format-2 checkpoint: every field of :class:`VQModelConfig` and of its
    ``vq`` and ``prior`` objects present, none unknown, every value checked by the configs."""
    _check_keys(path, "model", model, [f.name for f in fields(VQModelConfig)])
    for name, cls in (("vq", VQConfig), ("prior", PriorConfig)):
        _check_keys(path, f"model.{name}", model[name], [f.name for f in fields(cls)])
    if model.get("refiner") is not None:
        _check_keys(path, "model.refiner", model["refiner"], [f.name for f in fields(RefinerConfig)])
    for name, kind, what in (("styles", str, "style names"), ("sizes", int, "integer sizes")):
        items = model[name]
        if not isinstance(items, list) or not all(type(v) is kind for v in items):
            raise _fault(path, f"model.{name}", items, f"a list of distinct {what}")
    try:
        return VQModelConfig.from_dict(model)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"generator checkpoint config {path}: model.{err}") from None


def _check_regular(path: Path, what: str) -> None:
    """Refuse a path that is missing or is no regular file (a folder, a device such as
    ``/dev/zero``, a pipe) before it is read."""
    if path.is_file():
        return
    if path.is_dir():
        problem = "is a folder, not a file"
    elif path.exists():
        problem = "is not a regular file"
    else:
        problem = "does not exist" if what.endswith("config") else "do not exist"
    raise CheckpointError(f"{what} {path} {problem}")


def _read_meta(config_path: Path, verify: bool = True) -> tuple[dict[str, Any], AnyConfig]:
    """The checked JSON of a checkpoint and its model config; with ``verify``, the JSON must
    match its ``config_sha256``."""
    _check_regular(config_path, "generator checkpoint config")
    meta = read_object(config_path, "generator checkpoint config", CheckpointError)
    form = meta.get("format")
    if not isinstance(form, str) or form not in FORMATS:
        raise _fault(config_path, "format", form, " or ".join(map(repr, FORMATS)))
    missing = [k for k in REQUIRED if k not in meta]
    if missing:
        raise CheckpointError(f"generator checkpoint config {config_path} lacks the fields {missing}")
    vocabulary = meta["vocabulary_hash"]
    if not isinstance(vocabulary, str):
        raise _fault(config_path, "vocabulary_hash", vocabulary, "a string")
    if vocabulary != CATALOG.vocabulary_hash:
        raise CheckpointError(
            f"generator checkpoint {config_path} was trained on tile vocabulary {vocabulary}, "
            f"this version of vrenvs uses {CATALOG.vocabulary_hash}; retrain it (python -m generators train)"
        )
    if type(meta["num_codes"]) is not int or meta["num_codes"] != NUM_CODES:
        raise _fault(config_path, "num_codes", meta["num_codes"], f"{NUM_CODES} (this version of vrenvs)")
    config: AnyConfig
    if form == FORMAT:
        if type(meta["size"]) is not int or meta["size"] != SIZE:
            raise _fault(config_path, "size", meta["size"], f"{SIZE} (this version of vrenvs)")
        config = _model_config(config_path, meta["model"])
    else:
        config = _vq_model_config(config_path, meta["model"])
        sizes = meta["size"]
        if (
            not isinstance(sizes, list)
            or not all(type(s) is int for s in sizes)
            or sizes != list(config.sizes)
        ):
            raise _fault(config_path, "size", sizes, f"{list(config.sizes)} (model.sizes)")
        if FEASIBLE_STYLES in meta:
            check_feasible_styles(config_path, meta[FEASIBLE_STYLES], config)
    count = config.num_parameters()
    if type(meta["num_parameters"]) is not int or meta["num_parameters"] != count:
        raise _fault(
            config_path, "num_parameters", meta["num_parameters"], f"{count}, what the model config builds"
        )
    name = meta["weights_file"]
    if (
        not isinstance(name, str)
        or not name.endswith(".safetensors")
        or name.startswith(".")
        or Path(name).name != name
        or "\\" in name
        or len(name) > 255
    ):
        raise _fault(
            config_path, "weights_file", name, "a file name ending in .safetensors, in the config's folder"
        )
    for field in ("weights_sha256", "config_sha256"):
        if not isinstance(meta[field], str) or not _SHA256.fullmatch(meta[field]):
            raise _fault(config_path, field, meta[field], "64 lowercase hex digits (a sha256)")
    if verify and digest(meta, "config_sha256") != meta["config_sha256"]:
        raise CheckpointError(
            f"generator checkpoint config {config_path} does not match its config_sha256 "
            f"{meta['config_sha256'][:12]}...: it was edited or corrupted after it was saved "
            "(re-seal a deliberate edit with generators.checkpoint.seal)"
        )
    return meta, config


def _max_weight_bytes(config: AnyConfig) -> int:
    """Bytes of the tensors the model built from ``config`` saves: float32 parameters plus
    buffers (a first generator's prior mean and Cholesky factor; a v2 quantizer's codebook,
    EMA sums and usage, and its int64 restart count, 8 bytes)."""
    if isinstance(config, VQModelConfig):
        return 4 * (config.num_parameters() + config.num_buffer_elements()) + 4
    z = config.latent_dim
    return 4 * (config.num_parameters() + z * z + z)


def _build(config: AnyConfig) -> AnyModel:
    return VQSceneModel(config) if isinstance(config, VQModelConfig) else build_model(config)


def _read_weights(weights_path: Path, config: AnyConfig, expected_sha: str | None) -> dict[str, torch.Tensor]:
    """The tensors of ``weights_path``, read once: size bounded by the config, sha256 checked
    (unless ``expected_sha`` is None), parsed as safetensors."""
    _check_regular(weights_path, "generator weights")
    limit = _max_weight_bytes(config) + MAX_HEADER
    size = weights_path.stat().st_size
    if size > limit:
        raise CheckpointError(
            f"generator weights {weights_path} are {size:,} bytes; the model config needs at most {limit:,}"
        )
    data = weights_path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if expected_sha is not None and actual != expected_sha:
        raise CheckpointError(
            f"generator weights {weights_path} are corrupt or truncated: sha256 {actual[:12]}..., "
            f"the config expects {expected_sha[:12]}..."
        )
    try:
        return load_tensors(data)
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(
            f"generator weights {weights_path} are corrupt (not safetensors: {err})"
        ) from None


def _check_fit(model: AnyModel, tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Refuse tensors that do not match the model built from the config, saying how."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    shapes = [
        f"{k} {tuple(tensors[k].shape)} (model: {tuple(v.shape)})"
        for k, v in expected.items()
        if k in tensors and tensors[k].shape != v.shape
    ]
    dtypes = [
        f"{k} {tensors[k].dtype} (model: {v.dtype})"
        for k, v in expected.items()
        if k in tensors and tensors[k].dtype != v.dtype
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:3])})")
    if shapes:
        problems.append(f"{len(shapes)} tensors of the wrong shape (e.g. {'; '.join(shapes[:2])})")
    if dtypes:
        problems.append(f"{len(dtypes)} tensors of the wrong dtype (e.g. {'; '.join(dtypes[:2])})")
    if problems:
        raise CheckpointError(
            f"generator weights {path} do not fit the {model.kind} model: {'; '.join(problems)}"
        )
    bad = [k for k in sorted(tensors) if not bool(torch.isfinite(tensors[k]).all())]
    if bad:
        raise CheckpointError(
            f"generator weights {path} hold NaN or infinite values in {len(bad)} tensors "
            f"(e.g. {', '.join(bad[:3])})"
        )


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Check the JSON config, rebuild the model from it and load the weights strictly, in eval mode."""
    config_path, _ = checkpoint_paths(path)
    meta, config = _read_meta(config_path)
    weights_path = config_path.with_name(meta["weights_file"])
    tensors = _read_weights(weights_path, config, meta["weights_sha256"])
    model = _build(config)
    _check_fit(model, tensors, weights_path)
    model.load_state_dict(tensors, strict=True)
    model.eval()
    return Checkpoint(model, meta, config_path)


def shipped(kind: str) -> Path:
    """Path of the JSON of the weights shipped in the package for ``kind`` (a first generator
    or a v2 kind; the file may not exist yet, which loading it reports)."""
    if not isinstance(kind, str) or kind not in KINDS + VQ_KINDS:
        raise ValueError(f"no shipped generator {kind!r}; choose from {KINDS + VQ_KINDS}")
    # Next to this module rather than importlib.resources: a stale editable install can map
    # the package as a namespace, which resources.files() cannot read.
    return Path(__file__).with_name("weights") / f"{kind}.json"
