"""Training configuration: per-env YAML files (RL Zoo style) with command-line overrides.

``agents/configs/<Name>.yaml`` holds the hyperparameters of ``vrenvs/<Name>-v0``. Overrides
are ``key=value`` pairs (``ppo.learning_rate=1e-4``, ``n_envs=8``); values are parsed as
YAML scalars. A key that does not exist is an error that lists the keys that do.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from vrenvs.core.tasks import task

__all__ = ["SPLITS", "TrainConfig", "load_config", "split_kwargs"]

SPLITS = ("train", "test")


@dataclass
class TrainConfig:
    """Everything a training run needs; saved as ``config.yaml`` in the run folder."""

    env_id: str
    n_envs: int = 32
    n_timesteps: int = 1_000_000
    seed: int = 0
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    train_scenes: int = 100_000
    """Training plays scenes [0, train_scenes); held-out scenes start at ``test_start``."""
    test_start: int = 10_000_000
    test_scenes: int = 100_000
    eval_every: int = 50_000
    eval_episodes: int = 100
    checkpoint_every: int = 100_000
    max_minutes: float = 0.0
    """Stop (and save the final policy) after this much wall time; 0 = no limit."""
    threads: int = 0
    """torch threads (0 = torch's default)."""
    ppo: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)

    def to_yaml(self) -> str:
        return yaml.safe_dump(dataclasses.asdict(self), sort_keys=False)


def split_kwargs(config: TrainConfig, split: str) -> dict[str, Any]:
    """Env kwargs selecting the training or the held-out scenes."""
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not supported; choose from {list(SPLITS)}")
    if split == "train":
        return {**config.env_kwargs, "num_scenes": config.train_scenes, "start_scene": 0}
    return {**config.env_kwargs, "num_scenes": config.test_scenes, "start_scene": config.test_start}


def _file_for(env_id: str) -> str:
    """``agents/configs/<task name>.yaml``: one config per task spec (an unknown id is
    refused with the list of tasks)."""
    return f"{task(env_id).name}.yaml"


def _apply(data: dict[str, Any], key: str, value: Any) -> None:
    head, _, rest = key.partition(".")
    if head not in data:
        raise ValueError(f"config key {key!r} does not exist; choose from {sorted(data)}")
    if rest:
        if not isinstance(data[head], dict):
            raise ValueError(f"config key {head!r} is not a section; {key!r} cannot be set")
        section = data[head]
        sub = rest.partition(".")[0]
        if sub not in section:
            raise ValueError(
                f"config key {key!r} does not exist; choose from {sorted(section)} under {head!r}"
            )
        _apply(section, rest, value)
    else:
        data[head] = value


def load_config(env_id: str, overrides: list[str] | None = None) -> TrainConfig:
    """The YAML config of ``env_id`` with ``key=value`` overrides applied."""
    path = resources.files("agents").joinpath("configs", _file_for(env_id))
    if not path.is_file():
        raise ValueError(f"no training config for {env_id!r} (looked for agents/configs/{_file_for(env_id)})")
    data = {**dataclasses.asdict(TrainConfig(env_id=env_id)), **yaml.safe_load(path.read_text())}
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} must look like key=value")
        _apply(data, key.strip(), yaml.safe_load(raw))
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"config keys {unknown} do not exist; choose from {sorted(names)}")
    return TrainConfig(**data)
