"""Saving and loading policies as weights only: nothing loaded here is unpickled.

A saved policy is a folder with ``policy.safetensors`` (the policy's tensors) and
``policy.json`` (env id and kwargs, policy kwargs, the tile vocabulary hash, the step count
and the sha256 of the weights). Loading builds a fresh PPO from the JSON and copies the
tensors in, so a crafted file can at worst fail to load. ``PPO.load`` (which unpickles parts
of its zip) is never used. Training checkpoints add the optimizer state, saved with
``torch.save`` of plain tensors and read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model
from stable_baselines3 import PPO

from agents.features import WorldFeatures
from agents.vec_env import make_vec_env
from vrenvs.core.catalog import CATALOG

__all__ = ["PolicyFileError", "build_model", "load_policy", "save_policy", "write_atomically"]

FORMAT = 1


class PolicyFileError(ValueError):
    """A policy folder that cannot be used; the message names the file and the fault."""


def build_model(
    env_id: str, env_kwargs: dict[str, Any], policy: dict[str, Any], ppo: dict[str, Any], **extra: Any
) -> PPO:
    """A PPO with the project's features extractor, on a 1-env vector env unless given one."""
    venv = extra.pop("env", None) or make_vec_env(env_id, 1, **env_kwargs)
    kwargs = {
        "features_extractor_class": WorldFeatures,
        "features_extractor_kwargs": {
            "features_dim": policy.get("features_dim", 256),
            "channels": policy.get("channels", 64),
        },
        "net_arch": list(policy.get("net_arch", [256])),
    }
    return PPO("MultiInputPolicy", venv, policy_kwargs=kwargs, device="cpu", **ppo, **extra)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_policy(model: PPO, folder: Path, meta: dict[str, Any]) -> Path:
    """Write ``model``'s policy to ``folder`` (replaced atomically)."""

    def write(tmp: Path) -> None:
        weights = tmp / "policy.safetensors"
        save_model(model.policy, str(weights))  # handles the extractor shared by actor and critic
        info = {
            "format": FORMAT,
            "vocabulary_hash": CATALOG.vocabulary_hash,
            "num_timesteps": int(model.num_timesteps),
            "sha256": _sha256(weights),
            **meta,
        }
        (tmp / "policy.json").write_text(json.dumps(info, indent=2))

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


def read_meta(folder: Path) -> dict[str, Any]:
    """The checked ``policy.json`` of ``folder``."""
    folder = Path(folder)
    meta_path, weights = folder / "policy.json", folder / "policy.safetensors"
    for path in (meta_path, weights):
        if not path.is_file():
            raise PolicyFileError(
                f"{path} is missing: a policy folder holds policy.json and policy.safetensors"
            )
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PolicyFileError(f"{meta_path} is not valid JSON: {err}") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise PolicyFileError(f"{meta_path} is not a vrenvs policy (format {FORMAT} expected)")
    if meta.get("vocabulary_hash") != CATALOG.vocabulary_hash:
        raise PolicyFileError(
            f"{meta_path} was trained on tile vocabulary {meta.get('vocabulary_hash')}, "
            f"this version has {CATALOG.vocabulary_hash}"
        )
    if meta.get("sha256") != _sha256(weights):
        raise PolicyFileError(f"{weights} does not match the sha256 in policy.json (corrupt or altered)")
    return meta


def load_policy(folder: Path, env: Any = None) -> PPO:
    """Rebuild the PPO described by ``folder`` and load its weights (weights only)."""
    meta = read_meta(folder)
    # Training hyperparameters do not matter for acting; the architecture does.
    model = build_model(meta["env_id"], meta.get("env_kwargs", {}), meta.get("policy", {}), {}, env=env)
    try:
        load_model(model.policy, str(Path(folder) / "policy.safetensors"), strict=True)
    except (RuntimeError, OSError, ValueError, SafetensorError) as err:
        raise PolicyFileError(f"{folder}/policy.safetensors cannot be loaded into the policy: {err}") from err
    model.num_timesteps = int(meta.get("num_timesteps", 0))
    return model


def save_optimizer(model: PPO, folder: Path) -> None:
    torch.save(model.policy.optimizer.state_dict(), folder / "optimizer.pt")


def load_optimizer(model: PPO, folder: Path) -> None:
    state = torch.load(folder / "optimizer.pt", weights_only=True, map_location="cpu")
    model.policy.optimizer.load_state_dict(state)
