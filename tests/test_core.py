"""Layering, scene sources and the oracle as an end-to-end solvability check."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import vrenvs  # noqa: F401
from vrenvs.core.catalog import CATALOG
from vrenvs.core.reach import is_solvable
from vrenvs.core.sources import (
    DEFAULT_SOURCE,
    AsciiFolderSource,
    BankSource,
    ProceduralSource,
    make_source,
    save_bank,
    symmetry,
)


def test_core_imports_no_gymnasium_pygame_or_torch():
    # Load vrenvs.core without running vrenvs/__init__.py (which registers envs with
    # Gymnasium), then list what the core modules pulled in.
    code = (
        "import sys, types, importlib, pkgutil, pathlib, vrenvs.core as probe\n"
        "root = pathlib.Path(probe.__file__).parent.parent\n"
        "for name in [m for m in sys.modules if m == 'vrenvs' or m.startswith(('vrenvs.', 'gymnasium'))]:\n"
        "    del sys.modules[name]\n"
        "stub = types.ModuleType('vrenvs'); stub.__path__ = [str(root)]; sys.modules['vrenvs'] = stub\n"
        "core = importlib.import_module('vrenvs.core')\n"
        "for m in pkgutil.iter_modules(core.__path__): importlib.import_module('vrenvs.core.' + m.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'gymnasium', 'pygame', 'torch'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"vrenvs.core pulled in: {out.stdout}"


def test_catalog_is_frozen():
    with pytest.raises(ValueError):
        CATALOG.WALKABLE[0] = False
    with pytest.raises(AttributeError):
        CATALOG.tiles[0].walkable = False  # type: ignore[misc]


@pytest.mark.parametrize("name", ["procedural", "designer"])
def test_scene_i_is_a_pure_function_of_i(name):
    a, b = make_source(name, 16), make_source(name, 16)
    for index in (0, 1, 7, 123):
        assert a.scene(index) == b.scene(index)  # type: ignore[attr-defined]
        assert is_solvable(a.scene(index))  # type: ignore[attr-defined]


def test_train_and_test_splits_do_not_overlap():
    env = gym.make("vrenvs/Assistant-Fetch-v0", num_scenes=5, start_scene=0)
    held_out = gym.make("vrenvs/Assistant-Fetch-v0", num_scenes=5, start_scene=1000)
    train = {env.reset(seed=s)[1]["scene"]["index"] for s in range(40)}
    test = {held_out.reset(seed=s)[1]["scene"]["index"] for s in range(40)}
    assert train == set(range(5)) and test == set(range(1000, 1005))


def test_replaying_a_scene_from_info():
    env = gym.make("vrenvs/Assistant-Fetch-v0")
    _, info = env.reset(seed=5)
    index = info["scene"]["index"]
    replay = gym.make("vrenvs/Assistant-Fetch-v0", num_scenes=1, start_scene=index)
    _, again = replay.reset(seed=99)
    assert again["scene"] == info["scene"]
    src = make_source(DEFAULT_SOURCE, 16)
    first = env.unwrapped.world.layouts[0].scene
    assert first == src.scene(index)


def test_designer_symmetries_are_distinct_scenes():
    src = AsciiFolderSource(16)
    n = len(src.scenes)
    variants = {src.scene(i * n).codes.tobytes() for i in range(8)}
    assert len(variants) >= 4
    assert np.array_equal(symmetry(symmetry(src.scenes[0].codes, 1), 3), src.scenes[0].codes)


def test_npz_bank_and_folder_sources(tmp_path):
    src = ProceduralSource(16)
    scenes = [src.scene(i) for i in range(4)]
    path = tmp_path / "bank.npz"
    save_bank(path, scenes)
    bank = BankSource(16, path)
    assert [bank.scene(i) for i in range(4)] == scenes
    env = gym.make("vrenvs/Assistant-Guide-v0", scenes=str(path))
    _, info = env.reset(seed=0)
    assert info["scene"]["source"] == str(path)
    folder = tmp_path / "ascii"
    folder.mkdir()
    for i, s in enumerate(scenes):
        (folder / f"s{i}.txt").write_text(s.to_ascii())
    assert AsciiFolderSource(16, folder).scenes == scenes


def test_any_object_with_sample_is_a_source():
    class Fixed:
        name = "fixed"

        def sample(self, num, rng):
            return [ProceduralSource(16).scene(3)] * num

    env = gym.make("vrenvs/Assistant-Fetch-v0", scenes=Fixed())
    _, info = env.reset(seed=0)
    assert info["scene"]["source"] == "fixed"


def _oracle_success(env_id: str, episodes: int, **kwargs) -> float:
    """Run the oracle as the assistant's controller; return the success rate."""
    from vrenvs.core.controllers import controller

    env = gym.make(env_id, **kwargs)
    world = env.unwrapped.world
    drive = controller("oracle")
    wins = 0
    for ep in range(episodes):
        env.reset(seed=ep)
        for _ in range(env.spec.max_episode_steps):
            action = int(drive(world.state, world.config, world.config.learner)[0])
            _, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                wins += bool(info.get("is_success", False))
                break
    return wins / episodes


@pytest.mark.parametrize(
    ("env_id", "scenes", "floor"),
    [
        ("vrenvs/Assistant-Fetch-v0", "procedural", 0.9),
        ("vrenvs/Assistant-Fetch-v0", "designer", 0.9),
        ("vrenvs/Assistant-Guide-v0", "procedural", 0.9),
        ("vrenvs/Assistant-Guide-v0", "designer", 0.8),
    ],
)
def test_oracle_solves_served_scenes(env_id, scenes, floor):
    rate = _oracle_success(env_id, 30, scenes=scenes)
    assert rate >= floor, f"oracle success {rate:.2f} < {floor}"


@pytest.mark.parametrize("scenes", ["procedural", "designer"])
def test_large_variant_plays_32x32_scenes(scenes):
    env = gym.make("vrenvs/Assistant-Fetch-v0", size=32, scenes=scenes, obs_mode="full")
    obs, _ = env.reset(seed=1)
    assert obs["view"].shape == (3 * 32 * 32,)
    assert env.unwrapped.world.layouts[0].scene.shape == (32, 32)
    for _ in range(20):
        env.step(env.action_space.sample())


def test_controllers_kwarg_drives_other_actors():
    still = gym.make("vrenvs/Assistant-Guide-v0", controllers={"user": "noop", "guard": "noop"})
    busy = gym.make("vrenvs/Assistant-Guide-v0", controllers={"guard": "random"})
    still.reset(seed=2)
    busy.reset(seed=2)
    start = still.unwrapped.world.state.pos.copy()
    for _ in range(30):
        still.step(0)
        busy.step(0)
    assert np.array_equal(still.unwrapped.world.state.pos, start), "noop actors never move"
    assert not np.array_equal(busy.unwrapped.world.state.pos[0, 2], start[0, 2]), "a random guard moves"


@pytest.mark.parametrize("env_id", sorted(i for i in gym.registry if i.startswith("vrenvs/")))
def test_rgb_array_frames(env_id):
    env = gym.make(env_id, render_mode="rgb_array", tile_size=8)
    env.reset(seed=0)
    first = env.render()
    assert first.shape == (128, 128, 3) and first.dtype == np.uint8
    again = env.render()
    assert np.array_equal(first, again) and first is not again
    changed = False
    for a in (1, 2, 3, 4) * 5:
        _, _, terminated, truncated, _ = env.step(a)
        changed |= not np.array_equal(env.render(), first)
        if terminated or truncated:
            break
    assert changed, "frames follow the world"


def _reference_distances(targets, passable, limit=None):
    """Breadth-first search as repeated dilation of whole grids: slow, obviously right."""
    from vrenvs.core.grid import UNREACHED, dilate

    dist = np.where(targets, 0, UNREACHED).astype(np.int16)
    frontier, seen, step = targets.copy(), targets.copy(), 0
    while frontier.any() and (limit is None or step < limit):
        step += 1
        frontier = dilate(frontier) & passable & ~seen
        seen |= frontier
        dist[frontier] = step
    return dist


def _reference_labels(mask):
    labels = np.where(mask, np.arange(mask.shape[1] * mask.shape[2]).reshape(mask.shape[1:]), -1)
    for g in range(len(mask)):
        while True:  # spread the smallest label until nothing changes
            grown = labels[g].copy()
            for axis, shift in ((0, 1), (0, -1), (1, 1), (1, -1)):
                moved = np.roll(np.where(mask[g], labels[g], 1 << 30), shift, axis)
                edge = [slice(None)] * 2
                edge[axis] = 0 if shift == 1 else -1
                moved[tuple(edge)] = 1 << 30
                grown = np.where(mask[g], np.minimum(np.where(grown < 0, 1 << 30, grown), moved), -1)
            if np.array_equal(grown, labels[g]):
                break
            labels[g] = grown
    return labels


@pytest.mark.parametrize(
    "shape", [(40, 16, 16), (9, 7, 11), (4, 32, 32), (2, 64, 64), (2, 65, 70), (0, 5, 5)]
)
def test_grid_kernels_equal_whole_grid_references(shape):
    from vrenvs.core.grid import (
        UNREACHED,
        distance_field,
        distances_at,
        flood,
        label_components,
        small_components,
    )

    rng = np.random.default_rng(sum(shape))
    passable = rng.random(shape) < 0.6
    seed = rng.random(shape) < 0.02
    want = _reference_distances(seed & passable, passable)
    assert np.array_equal(flood(seed, passable), want < UNREACHED)
    assert np.array_equal(distance_field(seed, passable), _reference_distances(seed, passable))
    assert np.array_equal(distance_field(seed, passable, 3), _reference_distances(seed, passable, 3))
    queries = rng.integers(0, min(shape[1:]), (shape[0], 6, 2))
    field = _reference_distances(seed, passable)
    rows = np.arange(shape[0])[:, None]
    assert np.array_equal(
        distances_at(seed, passable, queries), field[rows, queries[..., 0], queries[..., 1]]
    )
    labels = label_components(passable)
    assert labels.dtype == np.int64 and np.array_equal(labels, _reference_labels(passable))
    sizes = {
        (g, label): (labels[g] == label).sum() for g in range(shape[0]) for label in np.unique(labels[g])
    }
    small = np.array(
        [[[lab >= 0 and sizes[(g, lab)] < 5 for lab in row] for row in labels[g]] for g in range(shape[0])],
        dtype=bool,
    ).reshape(shape)
    assert np.array_equal(small_components(passable, 5), small)


def test_distances_at_refuses_query_cells_outside_the_grids():
    from vrenvs.core.grid import distances_at

    grids = np.ones((1, 4, 4), bool)
    with pytest.raises(ValueError, match=r"query cells outside the 4x4 grids: \[\[0, 4\]\]"):
        distances_at(grids, grids, np.array([[[0, 4]]]))


def test_preparing_scenes_together_equals_one_at_a_time():
    """The batched preparation (one grid pass per stack, sizes grouped) gives each scene
    exactly the layout it gets alone: no scene's regions, reach or guide fields leak into
    another's."""
    import dataclasses

    from vrenvs.core.layout import prepare, prepare_many

    small = make_source("designer", 16)
    scenes = [small.scene(i) for i in range(0, 24, 3)]
    scenes += [ProceduralSource(32).scene(i) for i in range(3)]
    scenes += [ProceduralSource(16).scene(i) for i in range(6)]
    together = prepare_many(scenes[::-1], margin=4)[::-1]
    for scene, layout in zip(scenes, together):
        alone = prepare(scene, margin=4)
        assert layout.scene is scene
        for field in dataclasses.fields(alone):
            a, b = getattr(alone, field.name), getattr(layout, field.name)
            if isinstance(a, np.ndarray):
                assert a.dtype == b.dtype and np.array_equal(a, b), (scene.name, field.name)
            else:
                assert a == b, (scene.name, field.name)
    assert prepare_many([], margin=4) == []


class _Banked(ProceduralSource):
    """Procedural scenes served in banks of 4 that decode faster together: counts what it
    decodes (``batches``: the banks of each decoding call)."""

    bank_size = 4
    batches_banks = True

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.decoded: set[int] = set()
        self.batches: list[list[int]] = []

    def _decode(self, blocks: list[int]) -> None:
        fresh = [b for b in dict.fromkeys(blocks) if b not in self.decoded]
        if fresh:
            self.batches.append(fresh)
            self.decoded.update(fresh)

    def prefetch(self, indices, upcoming=()):
        if any(i // 4 not in self.decoded for i in indices):
            self._decode([i // 4 for i in [*indices, *upcoming]])

    def scene(self, index: int):
        self._decode([index // 4])
        return super().scene(index)


def _played(num_worlds: int, resets: int, reseed: bool = False) -> tuple[list[int], _Banked]:
    """Scene indices world 0 of ``num_worlds`` plays in ``resets`` resets of world 0 alone
    (the other worlds reset once), each world seeded with 7 + its index."""
    from vrenvs.core.world import World

    config = gym.make("vrenvs/Assistant-Fetch-v0", scenes="procedural").unwrapped.world.config
    source = _Banked(16)
    world = World(config, num_worlds, source)
    world.seed([7 + b for b in range(num_worlds)])
    world.reset(range(num_worlds))
    played = [int(world.scene_index[0])]
    for _ in range(resets - 1):
        if reseed:
            world.seed([7 + b for b in range(num_worlds)])
        world.reset([0])
        played.append(int(world.scene_index[0]))
    return played, source


def test_worlds_play_banks_ahead_and_the_scenes_do_not_depend_on_the_batch(monkeypatch):
    """A source that batches banks is played ahead (``lookahead``: 16 banks of 4 for one
    world, 6 each for three); the scenes a world plays are the same at either depth, its
    first bank is the one drawn from its seed as for any banked source, and a miss decodes
    the banks picked ahead in the same batch."""
    from vrenvs.core.sources import bank_block
    from vrenvs.core.world import lookahead

    depths = [lookahead(1, 4), lookahead(3, 4), lookahead(1, 16), lookahead(16, 16), lookahead(64, 16)]
    assert depths == [16, 6, 4, 1, 1]
    assert lookahead(65, 16) == lookahead(1024, 16) == 1  # large batches: one bank ahead each
    alone, source = _played(1, 80)
    together, _ = _played(3, 80)
    assert alone == together
    first = bank_block(np.random.default_rng(7), 0, 2**31 - 1, 4)
    assert alone[:4] == first[::-1]  # popped from the end
    assert len(set(alone)) == 80
    assert all(len({i // 4 for i in alone[k : k + 4]}) == 1 for k in range(0, 80, 4))  # bank by bank
    # 20 banks played: the first alone, then on each miss the banks ahead (1, 2, 4, ... 16 deep)
    assert [len(b) for b in source.batches] == [1, 2, 5, 17]
    assert {b for batch in source.batches for b in batch} >= {i // 4 for i in alone}
    import vrenvs.core.world

    monkeypatch.setattr(vrenvs.core.world, "AHEAD_SCENES", 1)  # one bank ahead whatever the batch
    assert lookahead(3, 4) == lookahead(1, 4) == 1
    shallow, shallow_source = _played(3, 80)
    assert shallow == alone
    # the first banks of the three worlds together, then a miss every other bank of world 0:
    # the bank it needs and the one it knows ahead (19 banks played after the first, 20 decoded)
    assert [len(b) for b in shallow_source.batches] == [3] + [2] * 10


def test_worlds_reserve_room_for_the_banks_they_play_and_know_ahead():
    """A banked source is told how many banks the worlds hold at once: B worlds each play
    one and know ``lookahead(B, bank)`` ahead (a source keeps twice that: a bank evicted
    before it is played would be decoded again)."""
    from vrenvs.core.world import World, lookahead

    config = gym.make("vrenvs/Assistant-Fetch-v0", scenes="procedural").unwrapped.world.config
    for num_worlds, expected in ((1, 17), (3, 21), (64, 128), (1024, 2048)):
        source = _Banked(16)
        reserved: list[int] = []
        source.reserve = reserved.append  # type: ignore[method-assign]
        World(config, num_worlds, source)
        assert reserved[-1] == expected == num_worlds * (1 + lookahead(num_worlds, 4))


def test_a_world_reseeded_every_episode_decodes_no_bank_ahead():
    played, source = _played(1, 12, reseed=True)
    assert played == [played[0]] * 12  # the same seed: the same first scene
    assert source.batches == [[played[0] // 4]]
