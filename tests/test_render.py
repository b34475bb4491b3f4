"""Frames as a function of state: shapes, determinism, what each overlay shows, a golden image."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import vrenvs  # noqa: F401  (registers the ids)
from tests.worlds import world_from
from vrenvs.core.catalog import CATALOG
from vrenvs.core.requests import FETCH, ITEM_TOKENS
from vrenvs.core.state import MODES
from vrenvs.render import draw as render
from vrenvs.render import font as bitmap
from vrenvs.render import hud
from vrenvs.render.sprites import base_sprites, resample

ENV_IDS = sorted(i for i in gym.registry if i.startswith("vrenvs/"))
GOLDEN = Path(__file__).parent / "data" / "golden_frame.png"
ALL_ROLES = ("user", "assistant", "guard", "thief", "chaser", "critter", "merchant")
SHOWCASE = """
################
#@..a..c..?..*.#
#..............#
#.A....$...%...#
#..............#
#.P..I..C..F.M.#
#..............#
####+####'######
#,,,,,,,,,,,,,,#
#,,T,,~~~,,::::#
#,,,,,,~~~,,:::#
#,r,g,b,y,,,,,,#
#,,,,,,,,,,,,,,#
##R##G##B##Y#=##
#..............#
################
"""


def showcase():
    """Every tile, item and role in one world, with facings, a carried item, badges and a request."""
    world = world_from(SHOWCASE, roles=ALL_ROLES)
    s = world.state
    s.facing[0] = [3, 2, 1, 4, 2, 3, 3]
    s.carry[0, 1] = CATALOG.item["cup"].id
    s.carry[0, 6] = CATALOG.item["bread"].id
    s.mode[0, 2:7] = [MODES.index(m) for m in ("patrolling", "escaping", "chasing", "fleeing", "trading")]
    s.req_type[0], s.req_target[0] = FETCH, CATALOG.item["cup"].id
    s.req_tokens[0] = ITEM_TOKENS[CATALOG.item["cup"].id]
    s.t[0] = 42
    return world


def cell(frame: np.ndarray, y: int, x: int, ts: int = 16) -> np.ndarray:
    """Pixels of map cell (y, x) (unpadded coordinates)."""
    return frame[y * ts : (y + 1) * ts, x * ts : (x + 1) * ts]


def changed_cells(a: np.ndarray, b: np.ndarray, ts: int = 16) -> set[tuple[int, int]]:
    diff = (a != b).any(axis=-1)
    h, w = diff.shape
    blocks = diff.reshape(h // ts, ts, w // ts, ts).any(axis=(1, 3))
    return {(int(y), int(x)) for y, x in np.argwhere(blocks)}


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("tile_size", [8, 16, 24])
def test_rgb_array_shape_dtype_and_range_before_and_after_steps(env_id, tile_size):
    env = gym.make(env_id, render_mode="rgb_array", tile_size=tile_size)
    env.reset(seed=1)
    for step in range(6):
        frame = env.render()
        assert isinstance(frame, np.ndarray)
        assert frame.shape == (16 * tile_size, 16 * tile_size, 3) and frame.dtype == np.uint8
        assert frame.flags.c_contiguous
        rgb = frame.astype(np.int32)
        colours = np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])
        assert len(colours) > 20, "a frame is a picture, not a flat fill"
        assert frame.min() < 40 and frame.max() > 200, "dark ink and light text are both present"
        _, _, terminated, truncated, _ = env.step(step % 9)
        if terminated or truncated:  # an NPC's episode can end within six steps
            env.reset()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_frames_are_fresh_arrays(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    first[:] = 0
    again = env.render()
    assert again is not first and again.any()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_equal_states_give_equal_frames(env_id):
    a = gym.make(env_id, render_mode="rgb_array")
    b = gym.make(env_id, render_mode="rgb_array")
    a.reset(seed=5)
    b.reset(seed=5)
    for action in (1, 2, 3, 4, 5, 8, 0, 2):
        terminated = a.step(action)[2]
        b.step(action)
        assert np.array_equal(a.render(), b.render())
        if terminated:  # the next step needs a reset
            break


def test_frames_change_exactly_where_the_world_changes():
    world = showcase()
    s, config = world.state, world.config
    before = render.frames(s, config)[0]
    m = config.margin
    s.items[0, 2 + m, 5 + m] = CATALOG.item["gem"].id  # a new item at (2, 5)
    s.tiles[0, 7 + m, 4 + m] = CATALOG.tile["door_open"].id  # the door at (7, 4) opens
    after = render.frames(s, config)[0]
    assert changed_cells(before, after) == {(2, 5), (7, 4)}


def test_facing_carrying_and_badges_each_change_the_actor_cell():
    world = showcase()
    s, config = world.state, world.config
    y, x = (int(v) - config.margin for v in s.pos[0, 2])  # the guard
    looks = []
    for facing in (1, 2, 3, 4):
        s.facing[0, 2] = facing
        looks.append(cell(render.frames(s, config)[0], y, x).copy())
    assert len({v.tobytes() for v in looks}) == 4, "the four facings look different"
    plain = looks[-1]
    s.carry[0, 2] = CATALOG.item["gem"].id
    carrying = cell(render.frames(s, config)[0], y, x).copy()
    s.mode[0, 2] = MODES.index("idle")
    idle = cell(render.frames(s, config)[0], y, x)
    assert not np.array_equal(plain, carrying)
    assert not np.array_equal(carrying, idle), "the patrolling badge is drawn, idle has none"
    # the badge sits in the top-right quarter, the carried item in the bottom-right one
    assert np.array_equal(carrying[8:, :8], idle[8:, :8])
    assert not np.array_equal(carrying[:8, 8:], idle[:8, 8:])


def test_batched_frames_equal_single_world_frames():
    env = gym.make_vec("vrenvs/Assistant-v0", num_envs=5, vectorization_mode="vector_entry_point")
    env.reset(seed=3)
    for t in range(12):
        env.step(np.full(5, 1 + t % 4))
    world = env.unwrapped.world
    batch = render.frames(world.state, world.config, 16, captions=list("abcde"))
    for b in range(5):
        one = render.frames(world.state.take(slice(b, b + 1)), world.config, 16, captions=["abcde"[b]])
        assert np.array_equal(batch[b], one[0])
    assert len({f.tobytes() for f in batch}) == 5


def test_request_text_is_written_on_the_top_row():
    world = showcase()
    frame = render.frames(world.state, world.config, 16)[0]
    font = bitmap.font_for(16)
    text = "Please bring me the blue cup."
    ink = bitmap.draw(bitmap.encode([text], len(text)), font)[0]  # (10, 6 * len)
    top = frame[:16]
    drawn = (top == render.INK).all(axis=-1)
    assert np.array_equal(drawn[3:13, 1 : 1 + ink.shape[1]], ink)
    assert not drawn[:, 1 + ink.shape[1] :].any(), "nothing after the sentence"


def test_caption_and_step_counter_on_the_bottom_row():
    world = showcase()
    frame = render.frames(world.state, world.config, 16, captions=["designer #7"])[0]
    bottom = frame[-16:]
    font = bitmap.font_for(16)
    caption = bitmap.draw(bitmap.encode(["designer #7"], 11), font)[0]
    assert np.array_equal((bottom[3:13, 1 : 1 + caption.shape[1]] == render.DIM).all(-1), caption)
    counter = bitmap.draw(bitmap.encode(["t=  42"], 6), font)[0]
    columns = (256 - 2) // 6
    start = 1 + (columns - 6) * 6
    assert np.array_equal((bottom[3:13, start : start + 36] == render.INK).all(-1), counter)


def test_goal_phrase_shown_for_npc_tasks():
    env = gym.make("vrenvs/NPC-Guard-v0", render_mode="rgb_array")
    env.reset(seed=0)
    top = env.render()[:16]
    phrase = "Catch the thief before it escapes."
    ink = bitmap.draw(bitmap.encode([phrase], len(phrase)), bitmap.font_for(16))[0]
    assert np.array_equal((top[3:13, 1 : 1 + ink.shape[1]] == render.INK).all(-1), ink)


def test_planned_path_marks_a_shortest_route_to_the_requested_item():
    world = showcase()
    s, config = world.state, world.config
    s.carry[0, 1] = 0
    path = hud.planned_path(s, config, config.slot_of("assistant"))
    cup = tuple(int(v) for v in np.argwhere(s.items[0] == CATALOG.item["cup"].id)[0])
    start = tuple(int(v) for v in s.pos[0, 1])
    cells = {tuple(int(v) for v in c) for c in np.argwhere(path[0])}
    assert cup in cells
    assert len(cells) == abs(cup[0] - start[0]) + abs(cup[1] - start[1])  # open floor: Manhattan
    before = render.frames(s, config)[0]
    marked = render.frames(s, config, paths=path)[0]
    m = config.margin
    bare = {(y - m, x - m) for y, x in cells if s.items[0, y, x] == 0}  # items hide the dot
    assert len(bare) >= len(cells) - 2
    assert changed_cells(before, marked) == bare


def test_small_tiles_draw_without_text():
    world = showcase()
    frame = render.frames(world.state, world.config, 4)[0]
    assert frame.shape == (64, 64, 3)
    no_text = render.frames(world.state, world.config, 4, text=False)[0]
    assert np.array_equal(frame, no_text)


def test_cached_cells_equal_freshly_drawn_ones(monkeypatch):
    world = showcase()
    s, config = world.state, world.config
    cells = render.atlas(16).cells
    path = hud.planned_path(s, config, config.slot_of("assistant"))
    warm = render.frames(s, config, paths=path, focus=1)[0]
    monkeypatch.setattr(cells, "table", (cells.table[0][:0], cells.table[1][:0]))
    assert np.array_equal(render.frames(s, config, paths=path, focus=1)[0], warm)
    # A frame that brings one new cell into a full cache: it is emptied and refilled.
    monkeypatch.setattr(cells, "limit", len(cells.table[0]))
    s.facing[0, 2] = 1 + s.facing[0, 2] % 4
    turned = render.frames(s, config, paths=path, focus=1)[0]
    assert len(cells.table[0]) <= cells.limit + 1, "emptied, then refilled with this frame only"
    monkeypatch.setattr(cells, "table", (cells.table[0][:0], cells.table[1][:0]))
    assert np.array_equal(render.frames(s, config, paths=path, focus=1)[0], turned)
    assert not np.array_equal(turned, warm)


def test_every_catalog_entry_has_a_sprite():
    base = base_sprites()
    assert base["tiles"].shape == (CATALOG.num_tiles, 16, 16, 3)
    for item in CATALOG.items:
        alpha = base["items"][item.id, ..., 3]
        assert alpha.any() and not alpha[0, 0], item.name
    for role in CATALOG.roles:
        alpha = base["actors"][role.id, :, ..., 3]
        assert alpha.all(axis=0).sum() < alpha.any(axis=0).sum(), f"{role.name}: facings differ"
    assert len({t.tobytes() for t in base["tiles"]}) == CATALOG.num_tiles


@pytest.mark.parametrize("size", [4, 7, 16, 24, 48])
def test_resample_keeps_shape_and_alpha_binary(size):
    items = resample(base_sprites()["items"], size)
    assert items.shape == (CATALOG.num_items + 1, size, size, 4)
    assert set(np.unique(items[..., 3])) <= {0, 255}


def test_mosaic_layout():
    frames = np.stack([np.full((8, 10, 3), i, np.uint8) for i in range(5)])
    sheet = render.mosaic(frames, columns=3, gap=2)
    assert sheet.shape == (2 * 10 + 2, 3 * 12 + 2, 3)
    assert (sheet[2:10, 2:12] == 0).all() and (sheet[12:20, 2:12] == 3).all()
    with pytest.raises(ValueError, match="at least one"):
        render.mosaic([])


def test_golden_image_of_a_fixed_scene():
    iio = pytest.importorskip("imageio.v3")
    world = showcase()
    frame = render.frames(world.state, world.config, 16, captions=["golden showcase"])[0]
    if os.environ.get("VRENVS_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        iio.imwrite(GOLDEN, frame)
    want = iio.imread(GOLDEN)
    assert want.shape == frame.shape
    diff = np.abs(want.astype(int) - frame.astype(int)).max(axis=-1)
    assert (diff > 24).mean() < 0.002, (
        f"{(diff > 24).sum()} pixels differ (set VRENVS_UPDATE_GOLDEN=1 to accept)"
    )


def test_no_pygame_without_a_window():
    code = (
        "import sys, gymnasium as gym, vrenvs\n"
        "for mode in (None, 'rgb_array'):\n"
        "    env = gym.make('vrenvs/Assistant-v0', render_mode=mode)\n"
        "    env.reset(seed=0); env.step(1); env.render(); env.close()\n"
        "venv = gym.make_vec('vrenvs/NPC-Flee-v0', num_envs=2, vectorization_mode='vector_entry_point',"
        " render_mode='rgb_array')\n"
        "venv.reset(seed=0); venv.render()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pygame'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bitmap_font_glyphs_and_encoding():
    tee = bitmap.by_name("6x10").glyphs[ord("T")]
    assert tee[1, :5].all() and tee[2:8, 2].all() and tee.sum() == 5 + 6
    small = bitmap.by_name("4x6").glyphs[ord("T")]
    assert small[0, :3].all() and small[1:5, 1].all() and small.sum() == 3 + 4
    assert not bitmap.by_name("6x10").glyphs[ord(" ")].any()
    codes = bitmap.encode(["héllo", "ab"], 4)
    assert codes.tolist() == [list(b"h?ll"), list(b"ab  ")]
    ink = bitmap.draw(codes, bitmap.by_name("4x6"), scale=2)
    assert ink.shape == (2, 12, 32)
    assert (
        bitmap.font_for(6) is None and bitmap.font_for(8).name == "4x6" and bitmap.font_for(12).name == "6x10"
    )
