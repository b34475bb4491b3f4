"""A stable-baselines3 ``VecEnv`` over the native vrenvs vector env (the fast path).

SB3 does not take Gymnasium vector envs: it wants same-step resets, the last observation of
an ended episode in ``info["terminal_observation"]``, ``info["TimeLimit.truncated"]`` and a
list of per-env info dicts. This adapter runs the native vector env in SAME_STEP mode and
converts its batched infos, without subprocesses or a Python loop over worlds in the step
(infos are built only for worlds whose episode ended).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvObs, VecEnvStepReturn

from vrenvs import env_ids
from vrenvs.core.checks import check_bool, check_int
from vrenvs.envs.spaces import code_classes

__all__ = ["Flattener", "VrenvsVecEnv", "make_vec_env", "policy_space"]


def policy_space(space: gym.spaces.Dict) -> gym.spaces.Dict:
    """The observation space the policies see: the env's, with its entries of codes (the view
    and request: ``MultiDiscrete``, or an integer ``Box`` where a user's wrapper declares them
    so; :func:`vrenvs.envs.spaces.code_classes`) as float32 ``Box`` entries of the same codes.

    The codes pass through SB3 as floats and :class:`agents.features.WorldFeatures` one-hot
    encodes each of them in one call (SB3 one-hot encodes a ``MultiDiscrete`` with one
    ``one_hot`` call per entry). The observations are the same arrays either way.
    """
    parts: dict[str, gym.spaces.Space] = {}
    for key, sub in space.spaces.items():
        classes = code_classes(sub)
        if classes is not None:
            parts[key] = gym.spaces.Box(
                0, (classes - 1).reshape(sub.shape), shape=sub.shape, dtype=np.float32
            )
        else:
            parts[key] = sub
    return gym.spaces.Dict(parts)


class Flattener:
    """A :func:`policy_space` ``Dict`` as one flat ``Box`` (for SB3's ``MlpPolicy``): the
    entries in the space's key order, ``Discrete`` ones one-hot, ``Box`` ones flattened —
    what SB3's ``MultiInputPolicy`` feeds its MLP, done once per batch in the env."""

    def __init__(self, space: gym.spaces.Dict) -> None:
        self.keys = list(space.spaces)
        lows, highs = [], []
        for sub in space.spaces.values():
            if isinstance(sub, gym.spaces.Discrete):
                lows.append(np.zeros(int(sub.n), np.float32))
                highs.append(np.ones(int(sub.n), np.float32))
            elif isinstance(sub, gym.spaces.Box):
                lows.append(np.asarray(sub.low, np.float32).ravel())
                highs.append(np.asarray(sub.high, np.float32).ravel())
            else:
                raise ValueError(f"cannot flatten a {type(sub).__name__} entry; expected Discrete or Box")
        self.space = gym.spaces.Box(np.concatenate(lows), np.concatenate(highs), dtype=np.float32)
        # per entry: its one-hot rows (an identity matrix) for a Discrete entry, else None
        self._entries = [
            (key, np.eye(int(sub.n), dtype=np.float32) if isinstance(sub, gym.spaces.Discrete) else None)
            for key, sub in space.spaces.items()
        ]

    def __call__(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Batched ``{key: (n, ...)}`` -> ``(n, D)`` float32."""
        n = len(obs[self.keys[0]])
        parts = [obs[key].reshape(n, -1) if eye is None else eye[obs[key]] for key, eye in self._entries]
        return np.concatenate(parts, axis=1, dtype=np.float32)


ADAPTER_KWARGS = {
    "num_envs": "the num_envs argument (n_envs in a training config)",
    "vectorization_mode": "the adapter, which runs the native vector env",
    "autoreset_mode": "the adapter, which resets in the same step as SB3 expects",
    "infos": "the adapter, which reads only the ended worlds' infos",
}
"""Keyword arguments of ``gym.make_vec`` the adapter sets itself, and what sets them."""


class VrenvsVecEnv(VecEnv):
    """``num_envs`` worlds of ``env_id`` for SB3; ``env_kwargs`` go to the env (scenes, npcs...).

    ``flat=True`` serves each observation as one ``Box`` vector (see :class:`Flattener`), for
    ``MlpPolicy``; the default ``Dict`` suits ``MultiInputPolicy`` and the shipped policies."""

    def __init__(self, env_id: str, num_envs: int, flat: bool = False, **env_kwargs: Any) -> None:
        if env_id not in env_ids():
            raise ValueError(f"env_id={env_id!r} is not a vrenvs env; choose from {env_ids()}")
        check_bool("flat", flat)
        for key, setter in ADAPTER_KWARGS.items():
            if key in env_kwargs:
                raise ValueError(
                    f"env_kwargs.{key}={env_kwargs[key]!r} cannot be given: it is set by {setter}"
                )
        self.venv = gym.make_vec(
            env_id,
            num_envs=num_envs,
            vectorization_mode="vector_entry_point",
            autoreset_mode="same_step",
            infos="ended",
            **env_kwargs,
        )
        self.env_id = env_id
        self._actions = np.zeros(num_envs, np.int64)
        self._episode_returns = np.zeros(num_envs, np.float64)
        self._episode_lengths = np.zeros(num_envs, np.int64)
        space = policy_space(self.venv.single_observation_space)  # type: ignore[arg-type]
        self._flat = Flattener(space) if flat else None
        super().__init__(num_envs, self._flat.space if self._flat else space, self.venv.single_action_space)

    def _out(self, obs: dict[str, np.ndarray]) -> Any:
        return self._flat(obs) if self._flat else obs

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """SB3's seeding (world ``i`` gets ``seed + i`` at the next reset), with the seed checked."""
        return super().seed(None if seed is None else check_int("seed", seed, 0))

    def reset(self) -> VecEnvObs:
        seeds = None if all(s is None for s in self._seeds) else list(self._seeds)
        obs, _ = self.venv.reset(seed=seeds)  # type: ignore[arg-type]  # a list seeds each world
        self._reset_seeds()
        self._episode_returns[:] = 0
        self._episode_lengths[:] = 0
        return self._out(obs)

    def step_async(self, actions: np.ndarray) -> None:
        given = np.asarray(actions)
        if given.size != self.num_envs:
            raise ValueError(f"got {given.size} actions for {self.num_envs} envs: {actions!r}")
        whole = given.dtype.kind in "iu" or (
            np.issubdtype(given.dtype, np.floating)
            and bool(np.isfinite(given).all())
            and np.array_equal(given, np.round(given))
            and bool((np.abs(given) < 2**53).all())
        )
        if not whole:
            raise ValueError(f"actions must be whole numbers in [0, 9), got {given.tolist()!r}")
        self._actions = given.astype(np.int64).reshape(self.num_envs)

    def step_wait(self) -> VecEnvStepReturn:
        obs, reward, terminated, truncated, infos = self.venv.step(self._actions)
        self._episode_returns += reward
        self._episode_lengths += 1
        dones = terminated | truncated
        out: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(dones) if np.count_nonzero(dones) else ():
            final_info = infos["final_info"]
            final = infos["final_obs"][i]
            out[i] = {
                "terminal_observation": self._flat({k: v[None] for k, v in final.items()})[0]
                if self._flat
                else final,
                "TimeLimit.truncated": bool(truncated[i] and not terminated[i]),
                "is_success": bool(final_info["is_success"][i]),
                "served": int(final_info["served"][i]),
                "scene_index": int(final_info["scene_index"][i]),
                "episode": {"r": float(self._episode_returns[i]), "l": int(self._episode_lengths[i])},
            }
            self._episode_returns[i] = 0
            self._episode_lengths[i] = 0
        return self._out(obs), reward.astype(np.float32), dones, out

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.venv, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set ``attr_name`` of the one vector env all worlds share: ``indices`` must name
        every world (or be None)."""
        if sorted(self._get_indices(indices)) != list(range(self.num_envs)):
            raise ValueError(
                f"set_attr({attr_name!r}, indices={indices!r}): the {self.num_envs} worlds share one env, "
                "so an attribute is set for all of them; pass indices=None"
            )
        setattr(self.venv, attr_name, value)

    def env_method(
        self, method_name: str, *args: Any, indices: VecEnvIndices = None, **kwargs: Any
    ) -> list[Any]:
        result = getattr(self.venv, method_name)(*args, **kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def _get_indices(self, indices: VecEnvIndices) -> Sequence[int]:
        """World indices, as SB3's ``DummyVecEnv`` reads them (None: all; negative from the
        end), each checked against the number of worlds."""
        if indices is None:
            return range(self.num_envs)
        given = [indices] if isinstance(indices, (int, np.integer)) else list(indices)
        n = self.num_envs
        return [check_int("indices[]", i, -n, n - 1) % n for i in given]

    def get_images(self) -> Sequence[np.ndarray | None]:
        frames = self.venv.render()
        if frames is None:
            return [None] * self.num_envs
        return [np.asarray(f) for f in frames]


def make_vec_env(env_id: str, num_envs: int, seed: int | None = None, **env_kwargs: Any) -> VrenvsVecEnv:
    """The SB3 vector env for ``env_id``, seeded like ``stable_baselines3.common.env_util.make_vec_env``."""
    venv = VrenvsVecEnv(env_id, num_envs, **env_kwargs)
    if seed is not None:
        venv.seed(seed)
    return venv
