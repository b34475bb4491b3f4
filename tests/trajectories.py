"""Seeded trajectories of every registered env, reduced to digests.

``tests/data/trajectories.json`` holds the digests recorded from main before the task-spec
restructuring (7e21317); ``test_trajectories.py`` replays the same runs and compares. A change
of behaviour shows as a changed digest: re-record only for a documented change (the envs'
version history) with ``python -m tests.trajectories``. Re-recorded once since, for the
``patrol`` change: exactly the runs with a scripted guard changed (26 of 45), the other 19
kept their digests; and once for ``info["request"]`` of NPC learners (the task's phrase, it
was ""): with the old reading substituted every digest still matched; and once for repair
v3 (a locked door without its key gets one): 5 digests of 4 runs on the GAN's scenes changed,
the 40 others (procedural, designer, and GAN runs that met no such scene) kept theirs.
When the default ``scenes`` became ``vqvae`` (generators v2), the runs that had used the default
name ``scenes="gan"`` instead and kept their digests; ``fetch-default`` and
``guide-default32`` were added for the new default. Re-recorded for repair v4 (the assistant
can always reach the user): 5 digests of 4 runs on procedural scenes changed
(``flee-critter``, ``flee-procedural``, ``guard-npcs``), the other 46 kept theirs.
Re-recorded when the shipped ``vqvae`` gained its refiner (generators.refine; the scenes it
serves changed): exactly the two runs on the default source changed (``fetch-default``,
``guide-default32``: 6 digests here, 2 in ``episodes.json``), every other kept its digests.
Re-recorded when the shipped ``vqvae`` was decoded ``paired`` (a keyless locked door gets its
key; the same code grids): 2 digests of ``guide-default32`` here, and in ``episodes.json``
the two default-source runs (``fetch-default``, ``guide-default32``), changed; every other
kept its digests.
Re-recorded when the shipped ``vqvae`` gained its reach refiner and the decoding ``walled``
(checkpoint ``304bffc168aa``; the scenes it serves changed): 6 digests of ``fetch-default`` and
``guide-default32`` here, and their two runs in ``episodes.json``, changed; every other kept
its digests; their recorded scenes were replaced (not merged).
Re-recorded when the shipped ``vqvae`` got a prior trained on more procedural grids and the
decoding ``tidy`` (checkpoint ``c69ed19efff3``): the same 6 + 2 digests changed, every other
kept its digests; their recorded scenes were replaced.
Re-recorded when the shipped ``vqvae``'s prior was trained 12,000 steps more on those grids
(checkpoint ``6b9795fc1c46``): the same 6 + 2 digests changed, every other kept its digests;
their recorded scenes were replaced.

``tests/data/episodes.json`` (``python -m tests.trajectories --episodes``) holds longer
digests, recorded before the compiled kernels replaced the numpy phases (speed issue): every
run above, random or scripted learner, on 200 worlds for the env's time limit, so each
covers at least 200 whole episodes. The kernels changed none of them.

Runs on a learned source play its scenes as recorded (``tests/data/golden_scenes.npz``, a
:class:`Frozen` source in its place, same name, banks and lookahead): a learned scene is the
product of torch float arithmetic, whose rounding differs between CPUs (measured on an AVX-512
machine: 8 of 512 vqvae 32x32 scenes, 0 of 512 at 16x16, change when torch is made to use its
AVX2 kernels), so the digests pin the rules and the scene order exactly on every machine,
and ``test_recorded_scenes_are_the_learned_sources_own`` checks the recorded scenes against
the live generators with a tolerance for that rounding. Recording merges the scenes it
played into that file. The digests of the runs on the default source were re-recorded when
this came in (on the AVX-512 machine: the scenes of ``guide-default32``'s 200 worlds were no
longer those of the machine that had recorded it); every other digest was unchanged.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import gymnasium as gym
import numpy as np

import vrenvs  # noqa: F401  (registers the ids)
from vrenvs.core.scene import Scene
from vrenvs.core.sources import IndexedSource, default_source, make_source

DATA = Path(__file__).parent / "data" / "trajectories.json"
SCENES = Path(__file__).parent / "data" / "golden_scenes.npz"
STEPS = 160
ALL_NPCS = ["guard", "thief", "chaser", "critter", "merchant"]

# (run name, env id, env kwargs); every scripted behaviour appears in at least one run
RUNS = [
    ("fetch-gan", "vrenvs/Assistant-Fetch-v0", {"scenes": "gan"}),
    ("fetch-procedural32", "vrenvs/Assistant-Fetch-v0", {"scenes": "procedural", "size": 32, "route": True}),
    ("guide-designer", "vrenvs/Assistant-Guide-v0", {"scenes": "designer", "shaping": 1.0}),
    ("assistant-all-npcs", "vrenvs/Assistant-v0", {"scenes": "procedural", "npcs": ALL_NPCS}),
    (
        "assistant-full",
        "vrenvs/Assistant-v0",
        {"scenes": "gan", "obs_mode": "full", "route": True, "shaping": 0.5},
    ),
    ("guard-gan", "vrenvs/NPC-Guard-v0", {"scenes": "gan", "route": True, "shaping": 1.0}),
    ("guard-npcs", "vrenvs/NPC-Guard-v0", {"scenes": "procedural", "npcs": ["merchant", "critter"]}),
    ("flee-gan", "vrenvs/NPC-Flee-v0", {"scenes": "gan", "route": True}),
    ("flee-procedural", "vrenvs/NPC-Flee-v0", {"scenes": "procedural", "npcs": ["chaser", "guard"]}),
    ("fetch-default", "vrenvs/Assistant-Fetch-v0", {}),
    ("guide-default32", "vrenvs/Assistant-Guide-v0", {"size": 32, "route": True}),
    (
        "oracle-user-random",
        "vrenvs/Assistant-Guide-v0",
        {"scenes": "gan", "controllers": {"user": "random", "guard": "chase"}},
    ),
]


class Frozen(IndexedSource):
    """A learned source's scenes as recorded: ``live``'s name, bank size and lookahead, and
    scene ``i`` from ``table`` (index -> codes). ``table=None`` records: scenes come from
    ``live`` and are kept in :attr:`table`."""

    def __init__(self, live: IndexedSource, table: dict[int, np.ndarray] | None) -> None:
        super().__init__(live.size)
        self.name, self.bank_size, self.batches_banks = live.name, live.bank_size, live.batches_banks
        self.live, self.recording = live, table is None
        self.table: dict[int, np.ndarray] = {} if table is None else table

    def reserve(self, consumers: int) -> None:
        self.live.reserve(consumers)

    def prefetch(self, indices, upcoming=()) -> None:
        if self.recording and self.batches_banks:
            self.live.prefetch(indices, upcoming=upcoming)
        elif self.recording:
            self.live.prefetch(indices)

    def scene(self, index: int) -> Scene:
        if self.recording:
            self.table.setdefault(int(index), self.live.scene(index).codes)
        elif int(index) not in self.table:
            raise AssertionError(
                f"scene {index} of {self.name} at {self.size}x{self.size} was not played when the "
                "digests were recorded: the order of scenes changed"
            )
        return Scene(self.table[int(index)], name=f"{self.name}:{index}")


_FROZEN: dict[str, Frozen] = {}


def stored_scenes() -> dict[str, dict[int, np.ndarray]]:
    if not SCENES.exists():
        return {}
    with np.load(SCENES, allow_pickle=False) as data:
        keys = sorted({k.rsplit("/", 1)[0] for k in data.files})
        return {k: dict(zip(data[f"{k}/index"].tolist(), data[f"{k}/codes"], strict=True)) for k in keys}


RECORDING = False
"""Set by ``python -m tests.trajectories``: learned sources play live and their scenes are kept."""


def frozen_kwargs(kwargs: dict) -> dict:
    """``kwargs`` with a learned ``scenes`` source (the default included) replaced by its
    :class:`Frozen` form (one per source and size, shared by every run)."""
    from generators.source import GeneratorSource

    size = int(kwargs.get("size", 16))
    live = make_source(kwargs.get("scenes") or default_source(size), size)
    if not isinstance(live, GeneratorSource):
        return kwargs
    key = f"{live.name}-{size}"
    if key not in _FROZEN:
        _FROZEN[key] = Frozen(live, None if RECORDING else stored_scenes().get(key, {}))
    return {**kwargs, "scenes": _FROZEN[key]}


def save_scenes() -> None:
    """Merge the scenes the recording runs played into :data:`SCENES`."""
    tables = stored_scenes()
    for key, source in _FROZEN.items():
        tables[key] = {**tables.get(key, {}), **source.table}
    arrays = {}
    for key, table in sorted(tables.items()):
        order = sorted(table)
        arrays[f"{key}/index"] = np.array(order, np.int64)
        arrays[f"{key}/codes"] = np.stack([table[i] for i in order]).astype(np.uint8)
    np.savez_compressed(SCENES, **arrays)


def _feed(h: hashlib._Hash, value: object) -> None:
    if isinstance(value, dict):
        for k in sorted(value):
            h.update(str(k).encode())
            _feed(h, value[k])
    else:
        arr = np.asarray(value)
        if arr.dtype == object:
            h.update(repr(arr.tolist()).encode())
        else:
            h.update(str(arr.dtype.kind).encode() + np.ascontiguousarray(arr).tobytes())


def digest_single(env_id: str, kwargs: dict, seed: int) -> str:
    """Digest of ``STEPS`` steps of random actions (episodes restart on their end)."""
    env = gym.make(env_id, **frozen_kwargs(kwargs))
    actions = np.random.default_rng(seed).integers(0, 9, STEPS)
    h = hashlib.sha256()
    obs, info = env.reset(seed=seed)
    _feed(h, obs)
    _feed(h, {k: info[k] for k in ("request", "served", "failed")})
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(int(a))
        _feed(h, obs)
        _feed(h, [reward, terminated, truncated])
        _feed(h, {k: info[k] for k in ("request", "served", "failed")})
        # recorded when the single env reported success on termination only (since fixed:
        # it reports it at the time limit too); the digest keeps the old reading
        _feed(h, info.get("is_success", -1) if terminated else -1)
        if terminated or truncated:
            obs, info = env.reset()
            _feed(h, obs)
    env.close()
    return h.hexdigest()[:16]


def _scripted(name: str):
    from vrenvs.envs.drivers import driver

    return driver(name)


def digest_driven(env_id: str, kwargs: dict, seed: int, name: str) -> str:
    """Digest of ``STEPS`` steps where the scripted controller ``name`` drives the learner."""
    env = gym.make(env_id, **frozen_kwargs(kwargs))
    world = env.unwrapped.world
    drive = _scripted(name)
    h = hashlib.sha256()
    obs, info = env.reset(seed=seed)
    _feed(h, obs)
    for _ in range(STEPS):
        action = int(world.act(drive)[0])
        obs, reward, terminated, truncated, info = env.step(action)
        _feed(h, obs)
        _feed(h, [action, reward, terminated, truncated])
        _feed(h, {k: info[k] for k in ("request", "served", "failed")})
        if terminated or truncated:
            obs, info = env.reset()
    env.close()
    return h.hexdigest()[:16]


DRIVEN = [
    ("oracle-fetch", "vrenvs/Assistant-Fetch-v0", {"scenes": "gan"}, "oracle"),
    ("oracle-assistant", "vrenvs/Assistant-v0", {"scenes": "procedural"}, "oracle"),
    (
        "oracle-assistant-designer",
        "vrenvs/Assistant-v0",
        {"scenes": "designer", "npcs": ["thief", "guard"]},
        "oracle",
    ),
    ("patrol-guard", "vrenvs/NPC-Guard-v0", {"scenes": "gan"}, "patrol"),
    ("flee-critter", "vrenvs/NPC-Flee-v0", {"scenes": "procedural"}, "flee"),
]


def digest_vector(env_id: str, kwargs: dict, seed: int, num_envs: int = 4) -> str:
    kwargs = frozen_kwargs(kwargs)
    env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    actions = np.random.default_rng(seed).integers(0, 9, (STEPS, num_envs))
    h = hashlib.sha256()
    obs, _ = env.reset(seed=seed)
    _feed(h, obs)
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        _feed(h, obs)
        _feed(h, [reward, terminated, truncated])
        _feed(h, {k: np.asarray(info[k], np.int32) for k in ("served", "failed")})  # recorded as int32
    env.close()
    return h.hexdigest()[:16]


EPISODES = Path(__file__).parent / "data" / "episodes.json"
WORLDS = 200


def digest_episodes(env_id: str, kwargs: dict, seed: int, drive: str | None = None) -> tuple[str, int]:
    """Digest of ``WORLDS`` worlds stepped for the env's time limit (so every world ends at
    least one episode: >= 200 whole episodes), random actions or the scripted controller
    ``drive`` as the learner; returns the digest and the number of episodes ended. Every
    step feeds observation, reward, flags and the request info of all worlds."""
    steps = gym.spec(env_id).max_episode_steps
    kwargs = frozen_kwargs(kwargs)
    env = gym.make_vec(env_id, num_envs=WORLDS, vectorization_mode="vector_entry_point", **kwargs)
    world = env.unwrapped.world
    rng = np.random.default_rng(seed)
    h = hashlib.sha256()
    obs, _ = env.reset(seed=seed)
    _feed(h, obs)
    ended = 0
    for _ in range(steps):
        actions = rng.integers(0, 9, WORLDS) if drive is None else world.act(_scripted(drive))
        obs, reward, terminated, truncated, info = env.step(actions)
        _feed(h, obs)
        _feed(h, [actions, reward, terminated, truncated])
        _feed(h, {k: np.asarray(info[k], np.int32) for k in ("served", "failed")})
        ended += int((terminated | truncated).sum())
    env.close()
    return h.hexdigest()[:16], ended


# (run name, env id, kwargs, learner: None = random actions, else a scripted controller)
EPISODE_RUNS = [
    *((name, env_id, kwargs, None) for name, env_id, kwargs in RUNS),
    *((name, env_id, kwargs, drive) for name, env_id, kwargs, drive in DRIVEN),
]


def record_episodes() -> dict[str, str]:
    out = {}
    for name, env_id, kwargs, drive in EPISODE_RUNS:
        out[name], ended = digest_episodes(env_id, kwargs, 0, drive)
        assert ended >= WORLDS, (name, ended)
    return out


def record() -> dict[str, str]:
    out = {}
    for name, env_id, kwargs in RUNS:
        for seed in (0, 1):
            out[f"{name}/single/{seed}"] = digest_single(env_id, kwargs, seed)
        out[f"{name}/vector/0"] = digest_vector(env_id, kwargs, 0)
    for name, env_id, kwargs, drive in DRIVEN:
        for seed in (0, 1, 2):
            out[f"{name}/driven/{seed}"] = digest_driven(env_id, kwargs, seed, drive)
    return out


if __name__ == "__main__":
    import sys

    RECORDING = True
    if sys.argv[1:] == ["--episodes"]:
        EPISODES.write_text(json.dumps(record_episodes(), indent=1, sort_keys=True) + "\n")
        print(EPISODES.read_text())
    else:
        DATA.write_text(json.dumps(record(), indent=1, sort_keys=True) + "\n")
        print(DATA.read_text())
    save_scenes()
