"""Training configuration: per-env YAML files (RL Zoo style) with command-line overrides.

``agents/configs/<Name>.yaml`` holds the hyperparameters of ``vrenvs/<Name>-v0``. Overrides
are ``key=value`` pairs (``ppo.learning_rate=1e-4``, ``n_envs=8``); values are parsed as
YAML scalars with YAML 1.2's numbers (``1e-4`` is a number, ``1:30`` a string, ``017`` is
refused rather than read as octal) and a key given twice is refused. A key that does not exist is an error
that lists the keys that do.

Every config is checked when it is made (:func:`check_config`, from ``TrainConfig``'s
``__post_init__``): each key has a type and a range, the held-out scenes lie outside the
training scenes (:func:`check_splits`), and unknown ``ppo`` / ``policy`` keys are refused.
A wrong type raises TypeError, a value out of range ValueError; both name the key and value.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from vrenvs.core.checks import check_bool, check_choice, check_float, check_int, check_text
from vrenvs.core.curriculum import METHODS as CURRICULUM_METHODS
from vrenvs.core.curriculum import SCORES as CURRICULUM_SCORES
from vrenvs.core.curriculum import CurriculumSettings
from vrenvs.core.sources import NUM_SCENE_INDICES, default_source
from vrenvs.core.tasks import TASKS, task

__all__ = [
    "MAX_EPISODES",
    "MAX_SEED",
    "MAX_TIMESTEPS",
    "POLICY_KEYS",
    "PPO_KEYS",
    "SPLITS",
    "TRAINING_ONLY",
    "TrainConfig",
    "check_config",
    "check_distinct",
    "check_env_kwargs",
    "check_splits",
    "env_id_of",
    "load_config",
    "played_scenes",
    "read_config",
    "read_yaml",
    "scenes_text",
    "split_kwargs",
    "trained_scenes",
]

SPLITS = ("train", "test")

MAX_ENVS = 1024
MAX_TIMESTEPS = 10**10
MAX_EPISODES = 10_000
MAX_SEED = 2**32 - 2
"""Seeds go to NumPy (``< 2**32``) and the held-out evaluation plays ``seed + 1``."""
MAX_THREADS = 256
MAX_MINUTES = 60 * 24 * 365
MAX_ROLLOUT = 2**20
"""``ppo.n_steps * n_envs``: transitions held in PPO's rollout buffer at once."""
MAX_EPOCHS = 1000
MAX_WIDTH = 4096
MAX_DEPTH = 8
MAX_CHANNELS = 512
RUN_KWARGS = {
    "num_scenes": "train_scenes and test_scenes",
    "start_scene": "0 for training and test_start",
    "render_mode": "training and evaluation do not render",
    "num_envs": "n_envs",
    "autoreset_mode": "the SB3 adapter (agents.vec_env), which resets in the same step",
    "vectorization_mode": "the SB3 adapter (agents.vec_env), which runs the native vector env",
    "infos": "the SB3 adapter (agents.vec_env), which reads only the ended worlds' infos",
}
"""Env kwargs a config may not set, and what sets them instead."""

TRAINING_ONLY = ("shaping", "locked_requests")
"""Env kwargs that only change how a policy is trained (the reward it learns from, how often
the user asks for a locked door), dropped when it is evaluated (``agents.evaluate``, the RLlib
role evaluation): results are on the task's own rewards and requests."""


@dataclass
class TrainConfig:
    """Everything a training run needs; saved as ``config.yaml`` in the run folder.

    Checked when made (see :func:`check_config`)."""

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
    hard_episodes: int = 0
    """Episodes each evaluation also plays on the hard held-out set (``agents.hardset``); 0 = none."""
    checkpoint_every: int = 100_000
    max_minutes: float = 0.0
    """Stop (and save the final policy) after this much wall time; 0 = no limit."""
    threads: int = 0
    """torch threads (0 = torch's default)."""
    ppo: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    curriculum: dict[str, Any] = field(default_factory=dict)
    """Which training scenes play next (:mod:`vrenvs.core.curriculum`): empty = the source's
    own uniform draws; ``{method: plr}`` etc. (``vrenvs train --curriculum plr``)."""

    def __post_init__(self) -> None:
        check_config(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(dataclasses.asdict(self), sort_keys=False)


def _positive(name: str, value: Any) -> float:
    return check_float(name, value, 0.0, above=True)


def _optional_positive(name: str, value: Any) -> float | None:
    return None if value is None else _positive(name, value)


PPO_KEYS: dict[str, Callable[[str, Any], Any]] = {
    "learning_rate": lambda n, v: check_float(n, v, 0.0, 1.0, above=True),
    "n_steps": lambda n, v: check_int(n, v, 1, MAX_ROLLOUT),
    "batch_size": lambda n, v: check_int(n, v, 1, MAX_ROLLOUT),
    "n_epochs": lambda n, v: check_int(n, v, 1, MAX_EPOCHS),
    "gamma": lambda n, v: check_float(n, v, 0.0, 1.0),
    "gae_lambda": lambda n, v: check_float(n, v, 0.0, 1.0),
    "clip_range": _positive,
    "clip_range_vf": _optional_positive,
    "normalize_advantage": check_bool,
    "ent_coef": lambda n, v: check_float(n, v, 0.0),
    "vf_coef": lambda n, v: check_float(n, v, 0.0),
    "max_grad_norm": _positive,
    "target_kl": _optional_positive,
    "stats_window_size": lambda n, v: check_int(n, v, 1, 100_000),
    "verbose": lambda n, v: check_int(n, v, 0, 2),
}
"""The PPO arguments a config may set, each with its check (the rest are the run's own)."""


def _net_arch(name: str, value: Any) -> list[int]:
    if not isinstance(value, list):
        raise TypeError(f"{name}={value!r} must be a list of layer widths, e.g. [128]")
    if len(value) > MAX_DEPTH:
        raise ValueError(f"{name}={value!r} has {len(value)} layers; at most {MAX_DEPTH} are allowed")
    return [check_int(f"{name}[{i}]", width, 1, MAX_WIDTH) for i, width in enumerate(value)]


POLICY_KEYS: dict[str, Callable[[str, Any], Any]] = {
    "features_dim": lambda n, v: check_int(n, v, 1, MAX_WIDTH),
    "channels": lambda n, v: check_int(n, v, 1, MAX_CHANNELS),
    "net_arch": _net_arch,
}
"""The policy settings (see ``agents.policy_io.build_model``), each with its check."""


def _curriculum_properties(name: str, value: Any) -> str:
    """``curriculum.properties``: a comma-separated string of property names (the form the
    ``scenes`` kwarg takes), checked as :class:`CurriculumSettings` checks them."""
    if not isinstance(value, str):
        raise TypeError(f"{name}={value!r} must be a comma-separated string of property names")
    CurriculumSettings(method="condition", properties=value)
    return value


CURRICULUM_KEYS: dict[str, Callable[[str, Any], Any]] = {
    "method": lambda n, v: check_choice(n, v, CURRICULUM_METHODS),
    "score": lambda n, v: check_choice(n, v, CURRICULUM_SCORES),
    "buffer_size": lambda n, v: check_int(n, v, 1, 1_000_000),
    "replay_prob": lambda n, v: check_float(n, v, 0.0, 1.0),
    "temperature": lambda n, v: check_float(n, v, 0.0, 100.0, above=True),
    "staleness": lambda n, v: check_float(n, v, 0.0, 1.0),
    "min_fill": lambda n, v: check_float(n, v, 0.0, 1.0),
    "edit_cells": lambda n, v: check_int(n, v, 1, 1024),
    "properties": lambda n, v: _curriculum_properties(n, v),
    "locked_requests": lambda n, v: check_float(n, v, 0.0, 1.0),
}
"""The curriculum settings (see :class:`vrenvs.core.curriculum.CurriculumSettings`; ``score``
picks the episode score, ``pvl``, ``l1``, ``success`` or ``regret``), each with its check."""

SECTIONS: dict[str, dict[str, Callable[[str, Any], Any]] | None] = {
    "ppo": PPO_KEYS,
    "policy": POLICY_KEYS,
    "curriculum": CURRICULUM_KEYS,
    "env_kwargs": None,  # any env kwarg; the env checks them (check_env_kwargs)
}


@cache
def _ppo_defaults() -> dict[str, Any]:
    from stable_baselines3 import PPO

    return {k: p.default for k, p in inspect.signature(PPO).parameters.items()}


def _section(name: str, value: Any, known: dict[str, Callable[[str, Any], Any]] | None) -> None:
    if not isinstance(value, dict):
        raise TypeError(f"{name}={value!r} must be a mapping of {name} settings")
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"{name} key {key!r} must be a string")
        if known is None:
            continue
        if key not in known:
            raise ValueError(
                f"config key '{name}.{key}' does not exist; choose from {sorted(known)} under {name!r}"
            )
        known[key](f"{name}.{key}", item)


def env_id_of(name: Any, arg: str = "env") -> str:
    """The registered id of env ``name`` (its id or task name); else a ValueError naming the ids."""
    for spec in TASKS:
        if isinstance(name, str) and name in (spec.id, spec.name):
            return spec.id
    raise ValueError(f"{arg}={name!r} is not a vrenvs env; choose from {[s.id for s in TASKS]}")


def check_splits(config: TrainConfig) -> None:
    """Refuse scene ranges that overlap or leave the scene indices.

    Training plays ``[0, train_scenes)``, evaluation ``[test_start, test_start + test_scenes)``;
    both must be non-empty, disjoint and inside ``[0, NUM_SCENE_INDICES)``."""
    train = check_int("train_scenes", config.train_scenes, 1, NUM_SCENE_INDICES)
    start = check_int("test_start", config.test_start, 0, NUM_SCENE_INDICES - 1)
    count = check_int("test_scenes", config.test_scenes, 1, NUM_SCENE_INDICES)
    if start < train:
        raise ValueError(
            f"test_start={start} is inside the training scenes [0, {train}) (train_scenes={train}); "
            f"held-out scenes must start at test_start >= {train}"
        )
    if start + count > NUM_SCENE_INDICES:
        raise ValueError(
            f"test_scenes={count} with test_start={start} runs past the last scene index "
            f"{NUM_SCENE_INDICES - 1}; scene indices are [0, {NUM_SCENE_INDICES})"
        )


def shared_scene(config: TrainConfig, distinct: int) -> tuple[int, int] | None:
    """A (held-out, training) pair of scene indices naming the same scene of a source with
    ``distinct`` scenes (index ``i`` plays scene ``i % distinct``), or None if there is none.

    >>> shared_scene(TrainConfig("vrenvs/Assistant-Fetch-v0", train_scenes=200, test_start=300), 280)
    (300, 20)
    >>> shared_scene(TrainConfig("vrenvs/Assistant-Fetch-v0", train_scenes=100, test_start=100,
    ...                          test_scenes=100), 280) is None
    True
    """
    train, start, count = config.train_scenes, config.test_start, config.test_scenes
    if train >= distinct:
        return start, start % distinct
    first = start % distinct
    if first < train:
        return start, first
    if first + count > distinct:  # the held-out range wraps round to scene 0
        return start + distinct - first, 0
    return None


def check_distinct(config: TrainConfig, source: Any) -> None:
    """Refuse a split whose held-out scenes repeat training scenes of a source with finitely
    many distinct scenes (its ``num_distinct``: a folder's files x 8 symmetries, a bank's size)."""
    distinct = getattr(source, "num_distinct", None)
    if isinstance(distinct, bool) or not isinstance(distinct, int) or distinct < 1:
        return
    shared = shared_scene(config, distinct)
    if shared is not None:
        name = getattr(source, "name", source)
        raise ValueError(
            f"train_scenes={config.train_scenes}, test_start={config.test_start}, "
            f"test_scenes={config.test_scenes}: the scene source {name!r} has {distinct} distinct scenes "
            f"(index i plays scene i mod {distinct}), so held-out scene {shared[0]} is training scene "
            f"{shared[1]}; keep train_scenes + test_scenes <= {distinct} with the held-out range "
            f"inside [train_scenes, {distinct}) modulo {distinct}"
        )


def check_config(config: TrainConfig) -> None:
    """Check every key of ``config``: TypeError for a wrong type, ValueError for a bad value."""
    check_text("env_id", config.env_id, max_len=200)
    check_choice("env_id", config.env_id, [s.id for s in TASKS])
    check_int("n_envs", config.n_envs, 1, MAX_ENVS)
    check_int("n_timesteps", config.n_timesteps, 1, MAX_TIMESTEPS)
    check_int("seed", config.seed, 0, MAX_SEED)
    check_splits(config)
    check_int("eval_every", config.eval_every, 1, MAX_TIMESTEPS)
    check_int("eval_episodes", config.eval_episodes, 1, MAX_EPISODES)
    check_int("hard_episodes", config.hard_episodes, 0, MAX_EPISODES)
    if config.hard_episodes and config.env_kwargs.get("size", 16) != 16:
        raise ValueError(
            f"hard_episodes={config.hard_episodes} with env_kwargs.size={config.env_kwargs.get('size')!r}: "
            "the hard held-out set (agents.hardset) holds 16x16 scenes; set hard_episodes=0"
        )
    check_int("checkpoint_every", config.checkpoint_every, 1, MAX_TIMESTEPS)
    check_float("max_minutes", config.max_minutes, 0.0, MAX_MINUTES)
    check_int("threads", config.threads, 0, MAX_THREADS)
    for name, known in SECTIONS.items():
        _section(name, getattr(config, name), known)
    for key, why in RUN_KWARGS.items():
        if key in config.env_kwargs:
            raise ValueError(f"env_kwargs.{key}={config.env_kwargs[key]!r} cannot be set here: {why}")
    ppo = {**_ppo_defaults(), **config.ppo}
    rollout = ppo["n_steps"] * config.n_envs
    if rollout > MAX_ROLLOUT:
        raise ValueError(
            f"ppo.n_steps={ppo['n_steps']} with n_envs={config.n_envs} holds {rollout} transitions per "
            f"rollout; at most {MAX_ROLLOUT} are allowed"
        )
    low = 2 if ppo["normalize_advantage"] else 1  # SB3: one-sample batches normalise to NaN
    if rollout < low:
        raise ValueError(f"ppo.n_steps={ppo['n_steps']} with n_envs={config.n_envs} must collect >= 2 steps")
    if not low <= ppo["batch_size"] <= rollout:
        raise ValueError(
            f"ppo.batch_size={ppo['batch_size']} is out of range; allowed: an integer in [{low}, {rollout}] "
            f"(ppo.n_steps * n_envs = {ppo['n_steps']} * {config.n_envs})"
        )


def check_env_kwargs(config: TrainConfig) -> None:
    """Make one world of the config's env (training scenes) so the env checks its kwargs; then
    check the split against the scene source (:func:`check_distinct`) and the policy's size
    (at most ``agents.policy_io.MAX_PARAMETERS`` parameters), before anything is written."""
    from agents.policy_io import MAX_PARAMETERS, num_parameters, policy_kwargs
    from agents.vec_env import VrenvsVecEnv

    try:
        venv = VrenvsVecEnv(config.env_id, 1, **split_kwargs(config, "train"))
    except (TypeError, ValueError) as err:
        raise type(err)(f"env_kwargs: {err}") from None
    try:
        check_distinct(config, getattr(getattr(venv.venv, "world", None), "source", None))
        policy = policy_kwargs(config.policy)
        count = num_parameters(policy, venv.observation_space, venv.action_space)
    finally:
        venv.close()
    if count > MAX_PARAMETERS:
        raise ValueError(
            f"policy={config.policy} makes a policy of {count:,} parameters for {config.env_id}; "
            f"at most {MAX_PARAMETERS:,} are allowed (lower policy.features_dim, policy.channels "
            "or policy.net_arch)"
        )


def split_kwargs(config: TrainConfig, split: str) -> dict[str, Any]:
    """Env kwargs selecting the training or the held-out scenes."""
    check_choice("split", split, SPLITS)
    check_splits(config)
    if split == "train":
        kwargs = {**config.env_kwargs, "num_scenes": config.train_scenes, "start_scene": 0}
        if config.curriculum:
            settings = dict(config.curriculum)
            kwargs["scenes"] = {"source": "curriculum", "base": config.env_kwargs.get("scenes"), **settings}
        return kwargs
    return {**config.env_kwargs, "num_scenes": config.test_scenes, "start_scene": config.test_start}


class _Loader(yaml.SafeLoader):
    """YAML with YAML 1.2's numbers: ``1e-4`` is a float (PyYAML alone reads a string), ints
    are decimal or ``0x`` / ``0b`` prefixed (``1:30`` is a string, not 90), an int with a
    leading zero (``017``, octal in YAML 1.1) is refused, and so is a key given twice in one
    mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    repeated = key in seen
                    seen.add(key)
                except TypeError:
                    continue  # an unhashable key: the base constructor refuses it
                if repeated:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key!r} is given twice", key_node.start_mark
                    )
        return super().construct_mapping(node, deep=deep)

    def construct_leading_zero(self, node: yaml.Node) -> Any:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"{node.value!r} is an integer with a leading zero (octal in YAML 1.1); "
            "write it without the leading zeros",
            node.start_mark,
        )


_LEADING_ZERO = "tag:vrenvs,2026:leading-zero-int"
_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _NUMBERS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^[-+]?(?:0|[1-9][0-9_]*|0x[0-9a-fA-F_]+|0b[01_]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(_LEADING_ZERO, re.compile(r"^[-+]?0[0-9_]+$"), list("-+0"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?
        |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)
_Loader.add_constructor(_LEADING_ZERO, _Loader.construct_leading_zero)


def _yaml_problem(err: yaml.YAMLError) -> str:
    if isinstance(err, yaml.MarkedYAMLError) and err.problem_mark is not None:
        mark = err.problem_mark
        return f"{err.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(err).replace("\n", " ")


def _parse(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in YAML file ``path``; a ValueError naming the file if it holds none."""
    try:
        data = _parse(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} cannot be read: {err}") from None
    except yaml.YAMLError as err:
        raise ValueError(f"{path} is not valid YAML: {_yaml_problem(err)}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping of config keys, not {type(data).__name__}")
    return data


def _make(data: dict[str, Any], where: str) -> TrainConfig:
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    unknown = [k for k in data if k not in names]
    if unknown:
        raise ValueError(f"{where}config keys {unknown} do not exist; choose from {sorted(names)}")
    if "env_id" not in data:
        raise ValueError(f"{where}env_id is missing")
    try:
        return TrainConfig(**data)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{where}{err}") from None


def read_config(path: Path) -> TrainConfig:
    """The checked config in ``path`` (a run's ``config.yaml``); errors name the file."""
    return _make(read_yaml(path), f"{path}: ")


def _file_for(env_id: str) -> str:
    """``agents/configs/<task name>.yaml``: one config per task spec (an unknown id is
    refused with the list of tasks)."""
    return f"{task(env_id).name}.yaml"


def _apply(data: dict[str, Any], key: str, value: Any) -> None:
    head, dot, sub = key.partition(".")
    if head not in data:
        raise ValueError(f"config key {key!r} does not exist; choose from {sorted(data)}")
    if head == "env_id":
        raise ValueError(f"config key 'env_id' is the ENV_ID argument; {key}={value!r} cannot be set here")
    if not dot:
        data[head] = value
        return
    if head not in SECTIONS:
        raise ValueError(f"config key {head!r} is not a section; {key!r} cannot be set")
    known = SECTIONS[head]
    if "." in sub or not sub:
        raise ValueError(f"config key {key!r} does not exist; a section key looks like {head}.NAME")
    if known is not None and sub not in known:
        raise ValueError(f"config key {key!r} does not exist; choose from {sorted(known)} under {head!r}")
    if not isinstance(data[head], dict):
        raise TypeError(f"{head}={data[head]!r} must be a mapping; {key!r} cannot be set")
    data[head] = {**data[head], sub: value}


def load_config(env_id: str, overrides: list[str] | None = None) -> TrainConfig:
    """The YAML config of ``env_id`` with ``key=value`` overrides applied, checked."""
    spec = task(env_id)
    path = resources.files("agents").joinpath("configs", _file_for(env_id))
    if not path.is_file():
        raise ValueError(f"no training config for {env_id!r} (looked for agents/configs/{_file_for(env_id)})")
    shipped = read_yaml(Path(str(path)))
    data = {**dataclasses.asdict(TrainConfig(env_id=spec.id)), **shipped}
    if data["env_id"] != spec.id:
        raise ValueError(f"agents/configs/{_file_for(env_id)}: env_id={data['env_id']!r} is not {spec.id!r}")
    for item in overrides or []:
        check_text("override", item)
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} must look like key=value")
        try:
            value = _parse(raw)
        except yaml.YAMLError as err:
            problem = _yaml_problem(err)
            raise ValueError(f"override {item!r}: the value is not valid YAML: {problem}") from None
        _apply(data, key.strip(), value)
    return _make(data, "")


def scenes_text(env_kwargs: dict[str, Any]) -> str:
    """The scene source a run's ``env_kwargs`` play, as text: the ``scenes`` name or its JSON,
    or the default source's name when ``scenes`` is not given."""
    scenes = env_kwargs.get("scenes")
    if scenes is None:
        return default_source(int(env_kwargs.get("size", 16)))
    return scenes if isinstance(scenes, str) else json.dumps(scenes, sort_keys=True)


def trained_scenes(summary: dict[str, Any]) -> str:
    """The source a shipped policy was trained on: recorded at shipping (``trained_scenes``),
    else what its ``env_kwargs`` name."""
    return str(summary.get("trained_scenes") or scenes_text(summary["env_kwargs"]))


def played_scenes(summary: dict[str, Any]) -> str:
    """The source a shipped policy's results were measured on: recorded at evaluation
    (``scenes``; the default source can change between evaluations), else what its
    ``env_kwargs`` name."""
    return str(summary.get("scenes") or scenes_text(summary["env_kwargs"]))
