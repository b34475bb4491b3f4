"""Saving and loading policies as weights only: nothing loaded here is unpickled.

A saved policy is a folder with ``policy.safetensors`` (the policy's tensors) and
``policy.json`` (env id and kwargs, policy kwargs, the tile vocabulary hash, the step count,
the sha256 of the weights and ``config_sha256``, the sha256 of the canonical JSON of every
other field). Loading builds a fresh PPO from the JSON and copies the tensors in, so a
crafted file can at worst fail to load. ``PPO.load`` (which unpickles parts of its zip) is
never used. Training checkpoints add the optimizer state, saved with ``torch.save`` of plain
tensors and read with ``torch.load(weights_only=True)``.

Loading checks, in this order, before any tensor is made: the JSON (at most 1 MB of UTF-8,
no NaN / Infinity, no repeated key, an object); the fields that build or verify the policy
(:data:`REQUIRED`; ``policy`` holds exactly ``features_dim`` in [1, 4096], ``channels`` in
[1, 1024] and ``net_arch``, a list of at most 8 layer widths in [1, 4096]); ``config_sha256``
and the weights' ``sha256``; then the env the policy acts in (``env_id``, ``env_kwargs``),
from whose spaces the parameter count is computed and refused above :data:`MAX_PARAMETERS`;
then the tensors' names, shapes, dtypes and values (finite). Other top-level fields
(``ppo``, ``seed``, ``command``, ...) are provenance: covered by ``config_sha256``, never read
to build the policy. Every failure is a :class:`PolicyFileError` naming the file, the field
and the value; a ``policy.json`` edited on purpose is re-sealed with :func:`seal`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save_model
from stable_baselines3 import PPO

from agents.features import Layout, WorldFeatures
from agents.vec_env import make_vec_env
from vrenvs.core.catalog import CATALOG
from vrenvs.core.checks import check_choice, check_int
from vrenvs.core.jsonfiles import digest, read_object
from vrenvs.core.tasks import TASKS

__all__ = [
    "MAX_PARAMETERS",
    "PolicyCycleError",
    "PolicyFileError",
    "acting_kwargs",
    "build_model",
    "load_policy",
    "num_parameters",
    "policy_kwargs",
    "read_meta",
    "save_policy",
    "seal",
    "write_atomically",
]

FORMAT = 1
MAX_PARAMETERS = 50_000_000
"""Largest policy a config may describe (the shipped ones have about 150k parameters)."""
MAX_HEADER = 1 << 20
"""Bytes a weights file may hold beyond 4 per parameter (the safetensors header)."""
REQUIRED = (
    "format",
    "vocabulary_hash",
    "num_timesteps",
    "sha256",
    "config_sha256",
    "env_id",
    "env_kwargs",
    "policy",
)
"""Top-level fields of every policy.json; any others are provenance."""
DEFAULTS: dict[str, Any] = {"features_dim": 256, "channels": 64, "net_arch": [256]}
"""Policy kwargs a training config may leave out (a saved policy.json holds all three)."""
_SHA256 = re.compile(r"[0-9a-f]{64}")


class PolicyFileError(ValueError):
    """A policy folder that cannot be used; the message names the file and the fault."""


class PolicyCycleError(PolicyFileError):
    """Policy folders that need each other to load (through ``env_kwargs.npc_controllers``)."""


def policy_kwargs(policy: Any, name: str = "policy") -> dict[str, Any]:
    """The checked policy kwargs (``features_dim``, ``channels``, ``net_arch``), defaults filled in.

    TypeError for a wrong type, ValueError for a value out of range or an unknown key.
    """
    if not isinstance(policy, dict):
        raise TypeError(f"{name}={policy!r} must be a mapping with the keys {sorted(DEFAULTS)}")
    unknown = sorted(set(policy) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"{name} has unknown keys {unknown}; allowed: {sorted(DEFAULTS)}")
    out = {**DEFAULTS, **policy}
    check_int(f"{name}.features_dim", out["features_dim"], 1, 4096)
    check_int(f"{name}.channels", out["channels"], 1, 1024)
    arch = out["net_arch"]
    if not isinstance(arch, (list, tuple)):
        raise TypeError(f"{name}.net_arch={arch!r} must be a list of layer widths (integers in [1, 4096])")
    if len(arch) > 8:
        raise ValueError(f"{name}.net_arch={arch!r} has {len(arch)} layers; at most 8 are allowed")
    for i, width in enumerate(arch):
        check_int(f"{name}.net_arch[{i}]", width, 1, 4096)
    return {
        "features_dim": int(out["features_dim"]),
        "channels": int(out["channels"]),
        "net_arch": list(arch),
    }


def num_parameters(policy: dict[str, Any], observation_space: gym.Space, action_space: gym.Space) -> int:
    """Parameters of the PPO policy built from the checked ``policy`` kwargs for these spaces,
    counted without building it (the features extractor is shared by actor and critic)."""
    assert isinstance(observation_space, gym.spaces.Dict)
    features = Layout.of(observation_space).num_parameters(policy["features_dim"], policy["channels"])
    last, mlp = policy["features_dim"], 0
    for width in policy["net_arch"]:
        mlp += (last + 1) * width
        last = width
    if isinstance(action_space, gym.spaces.Discrete):
        logits = int(action_space.n)
    elif isinstance(action_space, gym.spaces.MultiDiscrete):
        logits = int(action_space.nvec.sum())
    else:
        raise ValueError(f"action space {action_space} is not Discrete or MultiDiscrete")
    return features + 2 * mlp + (last + 1) * logits + (last + 1)


def build_model(
    env_id: str, env_kwargs: dict[str, Any], policy: dict[str, Any], ppo: dict[str, Any], **extra: Any
) -> PPO:
    """A PPO with the project's features extractor, on a 1-env vector env unless given one.

    ``policy`` is checked (:func:`policy_kwargs`) and the parameter count computed from it and
    the env's spaces before the networks are built; above :data:`MAX_PARAMETERS` is a ValueError.
    """
    checked = policy_kwargs(policy)
    venv = extra.pop("env", None) or make_vec_env(env_id, 1, **env_kwargs)
    count = num_parameters(checked, venv.observation_space, venv.action_space)
    if count > MAX_PARAMETERS:
        raise ValueError(
            f"policy={checked} makes a policy of {count:,} parameters for {env_id}; "
            f"at most {MAX_PARAMETERS:,} are allowed"
        )
    kwargs = {
        "features_extractor_class": WorldFeatures,
        "features_extractor_kwargs": {
            "features_dim": checked["features_dim"],
            "channels": checked["channels"],
        },
        "net_arch": checked["net_arch"],
    }
    return PPO("MultiInputPolicy", venv, policy_kwargs=kwargs, device="cpu", **ppo, **extra)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_meta(path: Path, meta: dict[str, Any]) -> None:
    meta["config_sha256"] = digest(meta, "config_sha256")
    path.write_text(json.dumps(meta, indent=2, allow_nan=False))


def save_policy(model: PPO, folder: Path, meta: dict[str, Any]) -> Path:
    """Write ``model``'s policy to ``folder`` (replaced atomically). ``policy`` is written as
    the model was built (defaults filled in); the hashes are computed last."""

    def write(tmp: Path) -> None:
        weights = tmp / "policy.safetensors"
        save_model(model.policy, str(weights))  # handles the extractor shared by actor and critic
        built = model.policy_kwargs
        if built.get("features_extractor_class") is not WorldFeatures:
            raise ValueError("save_policy saves PPO models made by agents.policy_io.build_model")
        info = {
            "format": FORMAT,
            "vocabulary_hash": CATALOG.vocabulary_hash,
            "num_timesteps": int(model.num_timesteps),
            "sha256": "",
            "config_sha256": "",
            **meta,
        }
        info["sha256"] = _sha256(weights)
        info["policy"] = {
            "features_dim": built["features_extractor_kwargs"]["features_dim"],
            "channels": built["features_extractor_kwargs"]["channels"],
            "net_arch": list(built["net_arch"]),
        }
        _write_meta(tmp / "policy.json", info)

    return write_atomically(folder, write)


def write_atomically(folder: Path, write: Any) -> Path:
    """Fill a temporary sibling folder with ``write(tmp)``, then swap it into place."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    write(tmp)
    old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    if folder.exists():
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def _fault(path: Path, field: str, value: Any, allowed: str) -> PolicyFileError:
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    return PolicyFileError(f"policy config {path}: {field}={shown} is not allowed; allowed: {allowed}")


def _check_fields(meta_path: Path, meta: dict[str, Any]) -> None:
    """Type and range of every field that builds or verifies the policy."""
    if type(meta.get("format")) is not int or meta["format"] != FORMAT:
        raise _fault(meta_path, "format", meta.get("format"), f"{FORMAT} (a vrenvs policy)")
    missing = [k for k in REQUIRED if k not in meta]
    if missing:
        raise PolicyFileError(f"policy config {meta_path} lacks the fields {missing}")
    vocabulary = meta["vocabulary_hash"]
    if not isinstance(vocabulary, str):
        raise _fault(meta_path, "vocabulary_hash", vocabulary, "a string")
    if vocabulary != CATALOG.vocabulary_hash:
        raise PolicyFileError(
            f"{meta_path} was trained on tile vocabulary {vocabulary}, "
            f"this version has {CATALOG.vocabulary_hash}"
        )
    for field in ("sha256", "config_sha256"):
        if not isinstance(meta[field], str) or not _SHA256.fullmatch(meta[field]):
            raise _fault(meta_path, field, meta[field], "64 lowercase hex digits (a sha256)")
    env_kwargs = meta["env_kwargs"]
    if not isinstance(env_kwargs, dict):
        raise _fault(meta_path, "env_kwargs", env_kwargs, "an object of env kwargs")
    policy = meta["policy"]
    if isinstance(policy, dict):
        absent = [k for k in DEFAULTS if k not in policy]
        if absent:
            raise PolicyFileError(f"policy config {meta_path}: policy lacks the fields {absent}")
    try:
        check_int("num_timesteps", meta["num_timesteps"], 0, 10**15)
        check_choice("env_id", meta["env_id"], [spec.id for spec in TASKS])
        policy_kwargs(policy)
    except (TypeError, ValueError) as err:
        raise PolicyFileError(f"policy config {meta_path}: {err}") from None


def _read(folder: Path, verify: bool = True) -> tuple[dict[str, Any], bytes]:
    """The checked ``policy.json`` of ``folder`` and the bytes of its weights; with ``verify``
    both must match their sha256."""
    if isinstance(folder, bytes) or not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder={folder!r} must be the path of a policy folder")
    folder = Path(folder)
    meta_path, weights = folder / "policy.json", folder / "policy.safetensors"
    if not folder.is_dir():
        raise PolicyFileError(
            f"{folder} is missing or not a folder: a policy folder holds policy.json and policy.safetensors"
        )
    for path in (meta_path, weights):
        if not path.exists():
            raise PolicyFileError(
                f"{path} is missing: a policy folder holds policy.json and policy.safetensors"
            )
        if not path.is_file():
            kind = "a folder" if path.is_dir() else "a device, pipe or socket"
            raise PolicyFileError(
                f"{path} is not a regular file ({kind}): a policy folder holds the files policy.json "
                "and policy.safetensors"
            )
    meta = read_object(meta_path, "policy config", PolicyFileError)
    _check_fields(meta_path, meta)
    if verify and digest(meta, "config_sha256") != meta["config_sha256"]:
        raise PolicyFileError(
            f"{meta_path} does not match its config_sha256 {meta['config_sha256'][:12]}...: it was edited "
            "or corrupted after it was saved (re-seal a deliberate edit with agents.policy_io.seal)"
        )
    limit = 4 * MAX_PARAMETERS + MAX_HEADER
    size = weights.stat().st_size
    if size > limit:
        raise PolicyFileError(f"{weights} is {size:,} bytes; a policy file is at most {limit:,}")
    data = weights.read_bytes()
    if verify and hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise PolicyFileError(f"{weights} does not match the sha256 in policy.json (corrupt or altered)")
    return meta, data


def read_meta(folder: Path) -> dict[str, Any]:
    """The checked ``policy.json`` of ``folder`` (its weights' sha256 verified too)."""
    return _read(folder)[0]


def _check_fit(policy: torch.nn.Module, tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Refuse tensors that do not match the policy built from the config, saying how."""
    expected = policy.state_dict()
    stored = {v.data_ptr() for k, v in expected.items() if k in tensors}
    missing = sorted(k for k, v in expected.items() if k not in tensors and v.data_ptr() not in stored)
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [
        f"{k} {tensors[k].dtype} {tuple(tensors[k].shape)} (model: {v.dtype} {tuple(v.shape)})"
        for k, v in expected.items()
        if k in tensors and (tensors[k].shape != v.shape or tensors[k].dtype != v.dtype)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing tensors (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensors (e.g. {', '.join(unexpected[:3])})")
    if wrong:
        problems.append(f"{len(wrong)} tensors of the wrong shape or dtype (e.g. {'; '.join(wrong[:2])})")
    if problems:
        raise PolicyFileError(
            f"{path} cannot be loaded into the policy of policy.json: {'; '.join(problems)}"
        )
    bad = [k for k in sorted(tensors) if not bool(torch.isfinite(tensors[k]).all())]
    if bad:
        raise PolicyFileError(
            f"{path} holds NaN or infinite values in {len(bad)} tensors (e.g. {', '.join(bad[:3])})"
        )


_LOADING: list[Path] = []
"""The policy folders being built, outermost first: a policy whose env_kwargs name policies
(``npc_controllers``) builds those while it is built, and a folder met twice is a cycle."""


def acting_kwargs(env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """A policy's env kwargs for the envs that load and evaluate it: without ``render_mode``
    (loading or evaluating a policy never opens a window)."""
    return {k: v for k, v in env_kwargs.items() if k != "render_mode"}


def _build(folder: Path, meta: dict[str, Any], data: bytes, env: Any) -> PPO:
    """The PPO of a checked ``policy.json`` with the tensors ``data`` loaded and checked; a
    policy that (through ``env_kwargs.npc_controllers``) needs itself is a PolicyFileError."""
    resolved = Path(folder).resolve()
    if resolved in _LOADING:
        cycle = [*_LOADING[_LOADING.index(resolved) :], resolved]
        raise PolicyCycleError(
            f"policy folders load each other in a cycle: {' -> '.join(str(p) for p in cycle)} "
            "(the env_kwargs.npc_controllers of each policy.json names the next); a policy cannot "
            "drive an NPC of its own training env, directly or through other policies"
        )
    _LOADING.append(resolved)
    try:
        return _build_once(folder, meta, data, env)
    finally:
        _LOADING.pop()


def _build_once(folder: Path, meta: dict[str, Any], data: bytes, env: Any) -> PPO:
    meta_path, weights = Path(folder) / "policy.json", Path(folder) / "policy.safetensors"
    env_id, env_kwargs = meta["env_id"], acting_kwargs(meta["env_kwargs"])
    try:
        venv = env or make_vec_env(env_id, 1, **env_kwargs)
    except PolicyCycleError:
        raise
    except (TypeError, ValueError, gym.error.Error) as err:
        raise PolicyFileError(
            f"policy config {meta_path}: env_kwargs={env_kwargs!r} do not make {env_id}: {err}"
        ) from None
    try:
        count = num_parameters(meta["policy"], venv.observation_space, venv.action_space)
    except (KeyError, AssertionError, TypeError, ValueError) as err:
        raise PolicyFileError(
            f"policy config {meta_path}: env_kwargs={env_kwargs!r} give observations or actions "
            f"the policy cannot use ({type(err).__name__}: {err})"
        ) from None
    if count > MAX_PARAMETERS:
        raise PolicyFileError(
            f"policy config {meta_path}: policy={meta['policy']} makes a policy of {count:,} parameters "
            f"for {env_id}; at most {MAX_PARAMETERS:,} are allowed"
        )
    limit = 4 * count + MAX_HEADER
    if len(data) > limit:
        raise PolicyFileError(
            f"{weights} is {len(data):,} bytes; the policy of policy.json needs at most {limit:,}"
        )
    try:
        tensors = load_tensors(data)
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise PolicyFileError(
            f"{weights} cannot be loaded into the policy: not safetensors ({err})"
        ) from None
    # Training hyperparameters do not matter for acting; the architecture does.
    model = build_model(env_id, env_kwargs, meta["policy"], {}, env=venv)
    _check_fit(model.policy, tensors, weights)
    model.policy.load_state_dict(tensors, strict=False)  # names shared by actor and critic are stored once
    return model


def load_policy(folder: Path, env: Any = None) -> PPO:
    """Rebuild the PPO described by ``folder`` and load its weights (weights only)."""
    meta, data = _read(folder)
    model = _build(folder, meta, data, env)
    model.num_timesteps = int(meta["num_timesteps"])
    return model


def seal(folder: Path) -> Path:
    """Re-write ``sha256`` and ``config_sha256`` of a policy whose ``policy.json`` was edited on
    purpose; every field and the tensors are checked first. Returns the folder."""
    meta, data = _read(folder, verify=False)
    _build(folder, meta, data, None)
    meta["sha256"] = hashlib.sha256(data).hexdigest()
    _write_meta(Path(folder) / "policy.json", meta)
    return Path(folder)


def save_optimizer(model: PPO, folder: Path) -> None:
    torch.save(model.policy.optimizer.state_dict(), folder / "optimizer.pt")


def load_optimizer(model: PPO, folder: Path) -> None:
    state = torch.load(folder / "optimizer.pt", weights_only=True, map_location="cpu")
    model.policy.optimizer.load_state_dict(state)
