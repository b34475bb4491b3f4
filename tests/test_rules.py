"""Rules as before/after ASCII pictures. Slots are listed in ``roles``; ``act`` gives each a move."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest

from tests.worlds import A, OneScene, act, ascii_of, assert_picture, picture, world_from
from vrenvs.core import requests
from vrenvs.core.catalog import CATALOG
from vrenvs.core.controllers import controller, decide
from vrenvs.core.language import detokenize
from vrenvs.core.scene import Scene, SceneError, parse_ascii
from vrenvs.core.sources import make_source
from vrenvs.core.state import MODES, TaskConfig
from vrenvs.core.world import World

UA = ("user", "assistant")


def test_walls_and_water_block_and_floor_does_not():
    w = world_from(
        """
        #######
        #@....#
        #.....#
        #..A~.#
        #..#..#
        #.....#
        #######
        """,
        UA,
    )
    act(w, A.NOOP, A.RIGHT)  # water
    act(w, A.NOOP, A.DOWN)  # wall
    ev = act(w, A.NOOP, A.UP)  # floor
    assert ev.moved[0, 1]
    assert_picture(
        w,
        """
        #######
        #@....#
        #..A..#
        #...~.#
        #..#..#
        #.....#
        #######
        """,
    )


def test_the_user_makes_way_but_other_actors_block():
    w = world_from(
        """
        #######
        #.....#
        #.@A..#
        #...P.#
        #.....#
        #.....#
        #######
        """,
        ("user", "assistant", "guard"),
        learner=1,
    )
    ev = act(w, A.NOOP, A.LEFT, A.NOOP)
    assert ev.moved[0, 1]
    assert ascii_of(w).splitlines()[2] == "#.A@..#", "the assistant swaps places with the user"
    act(w, A.NOOP, A.RIGHT, A.NOOP)
    act(w, A.NOOP, A.RIGHT, A.NOOP)  # now right above the guard
    ev = act(w, A.NOOP, A.NOOP, A.UP)
    assert not ev.moved[0, 2], "the guard does not walk into the assistant"
    assert ascii_of(w).splitlines()[3] == "#...P.#"


def test_locked_door_opens_only_with_the_key_of_its_colour():
    w = world_from(
        """
        #######
        #@....#
        #.....#
        #..b..#
        ##.AR.#
        #r....#
        #######
        """,
        UA,
    )
    act(w, A.NOOP, A.UP)  # onto the blue key
    act(w, A.NOOP, A.PICKUP)
    assert w.state.carry[0, 1] == CATALOG.item["blue_key"].id
    act(w, A.NOOP, A.DOWN)
    act(w, A.NOOP, A.RIGHT)  # face the red door (blocked move)
    ev = act(w, A.NOOP, A.TOGGLE)
    assert not ev.opened[0, 1], "a blue key must not open a red door"
    assert "R" in ascii_of(w)
    # swap keys: drop blue, fetch red, come back
    act(w, A.NOOP, A.DROP)
    for move in (A.LEFT, A.DOWN, A.LEFT):
        act(w, A.NOOP, move)
    act(w, A.NOOP, A.PICKUP)
    assert w.state.carry[0, 1] == CATALOG.item["red_key"].id
    for move in (A.RIGHT, A.UP, A.RIGHT, A.RIGHT):
        act(w, A.NOOP, move)
    ev = act(w, A.NOOP, A.TOGGLE)
    assert ev.opened[0, 1]
    assert_picture(
        w,
        """
        #######
        #@....#
        #.....#
        #.....#
        ##.A'.#
        #.....#
        #######
        """,
    )
    assert w.state.items[0][tuple(w.state.pos[0, 1])] == CATALOG.item["blue_key"].id, "under the assistant"


def test_an_actor_in_the_first_slot_blocks_like_any_other():
    """Slot 0 is no exception to the move rule: a guard does not walk into an assistant that
    holds the first slot (slot 0 was the user, who makes way, in every other picture)."""
    scene = """
        #####
        #...#
        #.A.#
        #.P.#
        #####
        """
    w = world_from(scene, ("assistant", "guard"), learner=0)
    ev = act(w, A.NOOP, A.UP)
    assert not ev.moved[0, 1]
    assert_picture(w, scene)


DOORS = {"red_key": "R", "green_key": "G", "blue_key": "B", "yellow_key": "Y"}  # key -> its door


@pytest.mark.parametrize("key", DOORS)
def test_a_locked_door_stays_locked_to_empty_hands_and_every_other_key(key):
    """Toggling a locked door of any colour without its key changes nothing (the red door
    alone did not show a rule that read another row of the catalog as "is open")."""
    door = DOORS[key]
    w = world_from(
        f"""
        #######
        #@....#
        #.....#
        ##.A{door}.#
        #.....#
        #.....#
        #######
        """,
        UA,
    )
    act(w, A.NOOP, A.RIGHT)  # blocked by the door: faces it
    for held in (0, *(CATALOG.item[k].id for k in DOORS if k != key)):
        w.state.carry[0, 1] = held
        assert not act(w, A.NOOP, A.TOGGLE).opened[0, 1]
        assert door in ascii_of(w) and w.state.carry[0, 1] == held, held
    w.state.carry[0, 1] = CATALOG.item[key].id
    assert act(w, A.NOOP, A.TOGGLE).opened[0, 1] and "'" in ascii_of(w)


def test_closed_door_toggles_open_and_shut():
    w = world_from(
        """
        #######
        #@....#
        #.....#
        ##A+###
        #.....#
        #.....#
        #######
        """,
        UA,
    )
    act(w, A.NOOP, A.RIGHT)  # blocked by the closed door: faces it
    assert act(w, A.NOOP, A.TOGGLE).opened[0, 1]
    assert "'" in ascii_of(w)
    act(w, A.NOOP, A.TOGGLE)
    assert "+" in ascii_of(w)


def test_pick_up_drop_and_give_to_the_user_who_asked():
    w = world_from(
        """
        #######
        #.....#
        #.@...#
        #.....#
        #..cA.#
        #..a..#
        #######
        """,
        UA,
        requests=("fetch",),
    )
    w.state.req_type[0] = requests.FETCH
    w.state.req_target[0] = CATALOG.item["apple"].id
    act(w, A.NOOP, A.LEFT)  # onto the cup
    act(w, A.NOOP, A.PICKUP)
    assert w.state.carry[0, 1] == CATALOG.item["cup"].id
    act(w, A.NOOP, A.UP)
    act(w, A.NOOP, A.UP)  # now right of the user, facing up: give reaches adjacent actors
    ev = act(w, A.NOOP, A.GIVE)
    assert ev.refused[0, 1], "the user asked for the apple, not the cup"
    act(w, A.NOOP, A.DROP)
    assert_picture(
        w,
        """
        #######
        #.....#
        #.@A..#
        #.....#
        #.....#
        #..a..#
        #######
        """,
    )
    assert w.state.items[0][tuple(w.state.pos[0, 1])] == CATALOG.item["cup"].id, "dropped underfoot"
    for move in (A.DOWN, A.DOWN, A.DOWN):
        act(w, A.NOOP, move)
    act(w, A.NOOP, A.PICKUP)
    assert w.state.carry[0, 1] == CATALOG.item["apple"].id
    for move in (A.UP, A.UP, A.UP):
        act(w, A.NOOP, move)
    ev = act(w, A.NOOP, A.GIVE)
    assert ev.gave[0, 1] and ev.done[0] == requests.FETCH
    assert w.state.carry[0, 1] == 0 and w.state.req_type[0] == 0
    assert w.state.carry[0, 0] == 0, "the user takes the apple away: it holds nothing after"
    assert CATALOG.item["apple"].id not in w.state.items[0]


def test_user_follows_the_assistant_only_while_guided_and_near():
    w = world_from(
        """
        ########
        #@A....#
        #......#
        #......#
        #......#
        #......#
        #......#
        ########
        """,
        UA,
        requests=("guide",),
        mobility=(1.0, 1.0),
    )
    user = controller("user")
    w.state.req_type[0] = 0
    for _ in range(2):
        act(w, w.act(user, 0)[0], A.RIGHT)
    assert ascii_of(w).splitlines()[1] == "#@..A..#", "no request: the user stays"
    w.state.req_type[0] = requests.GUIDE
    w.state.req_target[0] = 99  # a region that does not exist: the request stays open
    for _ in range(2):
        act(w, w.act(user, 0)[0], A.RIGHT)
    assert ascii_of(w).splitlines()[1] == "#..@..A#"
    assert w.state.mode[0, 0] == MODES.index("following")
    for move in (A.DOWN, A.DOWN, A.DOWN, A.DOWN):
        act(w, A.NOOP, move)
    for _ in range(3):
        act(w, w.act(user, 0)[0], A.NOOP)
    assert ascii_of(w).splitlines()[1] == "#..@...#", "too far: the user stops following"


def _run_npcs(w, steps: int) -> None:
    for _ in range(steps):
        act(w, *w.actions(np.zeros(1, np.int64))[0])


_EVERYONE = ("user", "assistant", "guard", "thief", "chaser", "critter", "merchant")
_DRIVES = {  # controller -> the slot of _EVERYONE it drives
    "user": 0, "oracle": 1, "patrol": 2, "steal": 3, "chase": 4, "flee": 5, "trade": 6,
    "random": 2, "noop": 6,
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(_DRIVES))
def test_a_controller_decides_each_world_of_a_batch_as_it_would_alone(name):
    """Vector == singles for the controllers: worlds of six different scenes, the oracle
    serving as the learner (so the user follows on guide requests), at each of 60 steps."""
    config = TaskConfig(
        name="test", roles=_EVERYONE, learner=1, requests=("fetch", "guide", "open"), stream=True, num_food=3
    )
    world = World(config, 6, make_source("procedural", 16))
    world.seed(list(range(6)))
    world.reset(range(6))
    drive, slot = controller(name), _DRIVES[name]
    oracle, decided = controller("oracle"), 0
    for _ in range(60):
        whole = decide(drive, world.state, config, slot)
        for b in range(6):
            alone = decide(drive, world.state.take(slice(b, b + 1)), config, slot)
            assert alone.actions[0] == whole.actions[b], (name, b)
            for field in ("mode", "waypoint"):
                one, every = getattr(alone, field), getattr(whole, field)
                same = one is None if every is None else one is not None and one[0] == every[b]
                assert same, (name, field, b)
            decided += int(whole.actions[b] != 0)
        world.step(world.act(oracle, 1))
    assert name == "noop" or decided > 0, f"{name} never moved: the test would not see a wrong world"


def test_chaser_pursues_by_shortest_path_and_catches():
    w = world_from(
        """
        ########
        #@.....#
        #.####.#
        #.#F.#.#
        #.#..#.#
        #......#
        #A.C...#
        ########
        """,
        ("user", "assistant", "critter", "chaser"),
        learner=2,
    )
    caught = False
    for _ in range(12):
        ev = act(w, A.NOOP, A.NOOP, A.NOOP, w.actions(np.zeros(1, np.int64))[0, 3])
        caught |= bool(ev.caught[0, 2])
    assert caught, ascii_of(w)
    assert not w.state.active[0, 2] and "F" not in ascii_of(w)


@pytest.mark.parametrize(
    "roles", [("user", "assistant", "critter", "chaser"), ("chaser", "critter", "user", "assistant")]
)
def test_critter_flees_from_a_wolf_in_sight(roles):
    """Whatever slots they hold (a wolf in slot 0 is a threat like any other)."""
    w = world_from(
        """
        ########
        #@.....#
        #......#
        #..CF..#
        #......#
        #......#
        #A.....#
        ########
        """,
        roles,
        learner=roles.index("user"),
    )
    me, wolf = roles.index("critter"), roles.index("chaser")
    before = np.abs(w.state.pos[0, me] - w.state.pos[0, wolf]).sum()
    moves = [A.NOOP] * len(roles)
    moves[me] = w.act(controller("flee"), me)[0]
    act(w, *moves)
    after = np.abs(w.state.pos[0, me] - w.state.pos[0, wolf]).sum()
    assert after > before and w.state.mode[0, me] == MODES.index("fleeing")


def test_patrol_walks_to_region_centres():
    w = world_from(
        """
        ########
        #@.....#
        #......#
        #......#
        #......#
        #......#
        #A....P#
        ########
        """,
        ("user", "assistant", "guard"),
        learner=0,
    )
    start = w.state.pos[0, 2].copy()
    _run_npcs(w, 6)
    assert not np.array_equal(w.state.pos[0, 2], start)
    assert w.state.mode[0, 2] == MODES.index("patrolling")


def test_merchant_walks_to_its_stall_and_swaps_items():
    w = world_from(
        """
        ########
        #@.....#
        #......#
        #.===..#
        #......#
        #......#
        #A....M#
        ########
        """,
        ("user", "assistant", "merchant"),
        learner=0,
    )
    _run_npcs(w, 8)
    y, x = w.state.pos[0, 2]
    tiles = w.state.tiles[0]
    counter = CATALOG.tile["counter"].id
    assert counter in (tiles[y - 1, x], tiles[y + 1, x], tiles[y, x - 1], tiles[y, x + 1]), ascii_of(w)
    assert w.state.mode[0, 2] == MODES.index("trading")
    stock = w.state.carry[0, 2]
    # The assistant hands the merchant a coin and receives the merchant's stock.
    w.state.carry[0, 1] = CATALOG.item["coin"].id
    occupied = w.state.occupant[0]
    occupied[tuple(w.state.pos[0, 1])] = 0
    w.state.pos[0, 1] = (y + 1, x) if tiles[y + 1, x] != counter else (y - 1, x)
    occupied[tuple(w.state.pos[0, 1])] = 2
    ev = act(w, A.NOOP, A.GIVE, A.NOOP)
    assert ev.gave[0, 1]
    assert w.state.carry[0, 1] == stock and w.state.carry[0, 2] == CATALOG.item["coin"].id


def test_merchant_idles_on_the_way_and_opens_a_closed_door_to_its_stall():
    w = world_from(
        """
        ########
        #@.....#
        #......#
        #.===..#
        #......#
        ######+#
        #A....M#
        ########
        """,
        ("user", "assistant", "merchant"),
        learner=0,
    )
    _run_npcs(w, 1)
    assert w.state.mode[0, 2] == MODES.index("idle"), "walking to the stall is not trading yet"
    _run_npcs(w, 11)
    assert w.state.mode[0, 2] == MODES.index("trading"), ascii_of(w)
    assert ascii_of(w).splitlines()[5] == "######'#", ascii_of(w)


def test_thief_steals_and_escapes_unless_the_guard_catches_it():
    scene = """
        ########
        #@.....#
        #......#
        #...$..#
        #......#
        #......#
        #A....I#
        ########
        """
    w = world_from(scene, ("user", "assistant", "thief"), learner=0)
    escaped = False
    for _ in range(30):
        ev = act(w, *w.actions(np.zeros(1, np.int64))[0])
        escaped |= bool(ev.escaped[0, 2])
    assert escaped, ascii_of(w)
    assert "$" not in ascii_of(w)

    guarded = scene.replace("#@.....#", "#@..P..#")
    w = world_from(guarded, ("user", "assistant", "thief", "guard"), learner=0)
    caught = False
    for _ in range(30):
        ev = act(w, *w.actions(np.zeros(1, np.int64))[0])
        caught |= bool(ev.caught[0, 2])
    assert caught, ascii_of(w)
    assert "$" in ascii_of(w), "a caught thief leaves the loot behind"


def test_thief_heads_for_any_loot_left_on_its_target_cell_else_home():
    w = world_from(
        """
        ########
        #@.....#
        #......#
        #...$..#
        #......#
        #......#
        #A....I#
        ########
        """,
        ("user", "assistant", "thief"),
        learner=0,
    )
    steal = controller("steal")
    side = w.state.tiles.shape[2]
    target = divmod(int(w.state.goal[0, 2]), side)
    assert w.state.items[(0, *target)] > 0, "the thief's target cell holds the loot"
    assert steal(w.state, w.config, 2).mode[0] == MODES.index("stealing")
    w.state.items[(0, *target)] = 0  # someone else took it
    assert steal(w.state, w.config, 2).mode[0] == MODES.index("escaping")
    w.state.items[(0, *target)] = 1  # the red key, item 1, is loot too
    assert steal(w.state, w.config, 2).mode[0] == MODES.index("stealing")


def test_critter_eats_food_and_food_grows_again():
    w = world_from(
        """
        ########
        #@.....#
        #......#
        #..Fa..#
        #......#
        #......#
        #A.....#
        ########
        """,
        ("user", "assistant", "critter"),
        learner=2,
    )
    ev = act(w, A.NOOP, A.NOOP, A.RIGHT)
    assert ev.ate[0, 2] == CATALOG.item["apple"].id
    assert w.state.eaten[0] == 1
    assert ascii_of(w).count("a") == 1, "the apple grows again somewhere free"


def test_open_request_is_done_when_the_named_door_opens():
    w = world_from(
        """
        #######
        #@....#
        #.....#
        ###+###
        #..A..#
        #..c..#
        #######
        """,
        UA,
        requests=("open",),
    )
    assert w.layouts[0].door_names == ("door to the north room",)
    assert w.state.req_type[0] == requests.OPEN, "the only door is closed: the user asks to open it"
    assert detokenize(w.state.req_tokens[0]) == "please open the door to the north room"
    act(w, A.NOOP, A.UP)  # blocked by the door: face it
    ev = act(w, A.NOOP, A.TOGGLE)
    assert ev.opened[0, 1] and ev.done[0] == requests.OPEN
    assert w.state.req_type[0] == 0


def test_actors_without_room_sit_the_episode_out():
    w = world_from(
        """
        #######
        #@Ac###
        #######
        #######
        #######
        #######
        #######
        """,
        ("user", "assistant", "guard", "merchant"),
        learner=1,
    )
    assert w.state.active[0].tolist() == [True, True, True, False], "the guard stands on the cup"
    assert ascii_of(w).splitlines()[1] == "#@AP###"
    act(w, A.NOOP, A.NOOP, A.NOOP, A.NOOP)  # stepping with an absent actor is fine


FOUR_ROOMS = """
    ###########
    #P...#....#
    #....#....#
    #....'....#
    #....#....#
    ###'###'###
    #....#....#
    #....'....#
    #....#....#
    #@...#...A#
    ###########
    """


def _waypoints(controller_name: str, steps: int) -> list[int]:
    """The region indices an NPC driven by ``controller_name`` heads for, in order."""
    w = world_from(FOUR_ROOMS, ("user", "assistant", "guard"), learner=0)
    drive = controller(controller_name)
    seen = [int(w.state.goal[0, 2])]
    for _ in range(steps):
        act(w, A.NOOP, A.NOOP, w.act(drive, 2)[0])
        if int(w.state.goal[0, 2]) != seen[-1]:
            seen.append(int(w.state.goal[0, 2]))
    return seen


def test_patrol_makes_rounds_of_the_regions_in_order_and_chase_roams():
    regions = int(world_from(FOUR_ROOMS, ("user", "assistant", "guard"), learner=0).state.num_regions[0])
    assert regions == 4
    rounds = _waypoints("patrol", 150)
    assert len(rounds) >= regions + 1, rounds
    assert all(b == (a + 1) % regions for a, b in itertools.pairwise(rounds)), rounds
    roams = _waypoints("chase", 150)
    assert len(roams) >= 3, roams
    assert any(b != (a + 1) % regions for a, b in itertools.pairwise(roams)), roams


@pytest.mark.parametrize(("loot", "glyph"), [("cup", "c"), ("red_key", "r")])  # red_key: item 1
def test_a_caught_thief_leaves_the_map_and_drops_its_loot_where_it_stood(loot, glyph):
    w = world_from(
        """
        #######
        #.....#
        #..I..#
        #.....#
        #..P..#
        #....$#
        #######
        """,
        ("guard", "thief"),
        learner=0,
        goal="guard",
    )
    w.state.carry[0, 1] = CATALOG.item[loot].id
    ev = act(w, A.UP, A.NOOP)  # the guard steps next to the thief: caught
    assert ev.caught[0].tolist() == [False, True]
    assert not w.state.active[0, 1] and w.state.carry[0, 1] == 0
    assert w.state.mode[0, 1] == MODES.index("caught")
    assert_picture(
        w,
        f"""
        #######
        #.....#
        #..{glyph}..#
        #..P..#
        #.....#
        #....$#
        #######
        """,
    )
    assert w.state.occupant[0].max() == 1, "only the guard is on the map"


def test_loot_of_a_thief_caught_on_an_item_is_lost():
    w = world_from(
        """
        #####
        #..$#
        #.I.#
        #.P.#
        #####
        """,
        ("guard", "thief"),
        learner=0,
        goal="guard",
    )
    m = w.config.margin
    w.state.carry[0, 1] = CATALOG.item["gem"].id
    w.state.items[0, 2 + m, 2 + m] = CATALOG.item["apple"].id  # under the thief
    act(w, A.NOOP, A.NOOP)
    assert not w.state.active[0, 1]
    assert w.state.items[0, 2 + m, 2 + m] == CATALOG.item["apple"].id
    assert CATALOG.item["gem"].id not in w.state.items[0], "no free cell under it: the loot is gone"


def test_drop_goes_underfoot_else_to_the_faced_cell_else_a_free_neighbour():
    w = world_from(
        """
        #####
        #.+.#
        #.A.#
        #@..#
        #####
        """,
        UA,
    )
    m = w.config.margin
    apple, cup, book = (CATALOG.item[n].id for n in ("apple", "cup", "book"))
    w.state.items[0, 2 + m, 2 + m] = apple  # underfoot is taken
    w.state.facing[0, 1] = A.UP  # the faced cell is a door: never dropped on
    w.state.carry[0, 1] = cup
    ev = act(w, A.NOOP, A.DROP)
    assert ev.dropped[0, 1] == cup
    # the first free neighbour in the order up, right, down, left: right of the assistant
    assert w.state.items[0, 2 + m, 3 + m] == cup
    w.state.carry[0, 1] = book
    w.state.facing[0, 1] = A.DOWN
    act(w, A.NOOP, A.DROP)
    assert w.state.items[0, 3 + m, 2 + m] == book, "the faced cell, below"
    assert w.state.items[0, 1 + m, 2 + m] == 0 and w.state.carry[0, 1] == 0
    w.state.items[0, 2 + m, 3 + m] = w.state.items[0, 3 + m, 2 + m] = 0  # right free too
    w.state.carry[0, 1] = book
    act(w, A.NOOP, A.DROP)  # still facing down: the faced cell before the free neighbours
    assert w.state.items[0, 3 + m, 2 + m] == book and w.state.items[0, 2 + m, 3 + m] == 0


@pytest.mark.parametrize(
    ("receiver_holds", "taken"),
    [(0, True), (CATALOG.item["book"].id, False)],
    ids=["empty-hands-take-it", "full-hands-refuse"],
)
def test_the_assistant_takes_a_gift_only_with_empty_hands(receiver_holds, taken):
    w = world_from(
        """
        #####
        #...#
        #@A.#
        #...#
        #####
        """,
        UA,
        learner=0,
    )
    cup = CATALOG.item["cup"].id
    w.state.carry[0] = (cup, receiver_holds)
    w.state.facing[0, 0] = A.RIGHT
    ev = act(w, A.GIVE, A.NOOP)
    assert (bool(ev.gave[0, 0]), bool(ev.refused[0, 0])) == (taken, not taken)
    assert w.state.carry[0].tolist() == ([0, cup] if taken else [cup, receiver_holds])


def test_a_guard_takes_no_gift_and_giving_to_nobody_is_no_refusal():
    w = world_from(
        """
        #####
        #A..#
        #P..#
        #...#
        #####
        """,
        ("assistant", "guard"),
        learner=0,
    )
    cup = CATALOG.item["cup"].id
    w.state.carry[0, 0] = cup
    w.state.facing[0, 0] = A.DOWN
    ev = act(w, A.GIVE, A.NOOP)
    assert ev.refused[0, 0] and not ev.gave[0, 0] and w.state.carry[0].tolist() == [cup, 0]
    act(w, A.RIGHT, A.NOOP)
    act(w, A.RIGHT, A.NOOP)  # nobody next to it now
    ev = act(w, A.GIVE, A.NOOP)
    assert not ev.refused[0, 0] and not ev.gave[0, 0]


TWO_DOORS = """
    #########
    #@..r...#
    #A......#
    ###R#+###
    #...#...#
    #.c.#...#
    #...#...#
    #...#...#
    #########
    """


def _door_at(w, y: int, x: int) -> int:
    m = w.config.margin  # the state's grids carry a border of this width
    return int(w.state.door_map[0, y + m, x + m])


def _two_doors(locked_requests: float = 0.0):
    return world_from(TWO_DOORS, UA, requests=("fetch", "guide", "open"), locked_requests=locked_requests)


def _asked(locked_requests: float, u: float, v: float, world=None) -> tuple[int, int]:
    w = world or _two_doors(locked_requests)
    w.state.req_type[0] = 0
    requests.issue(w.state, np.array([0]), w.config, np.array([[u, v]]))
    return int(w.state.req_type[0]), int(w.state.req_target[0])


def test_locked_requests_ask_to_open_a_locked_door_below_p_and_draw_as_usual_above():
    w = _two_doors()
    red, plain = _door_at(w, 3, 3), _door_at(w, 3, 5)
    assert CATALOG.IS_LOCKED[w.state.tiles[0, 3 + w.config.margin, 3 + w.config.margin]]
    assert red != plain
    for u, v in ((0.0, 0.0), (0.49, 0.99), (0.2, 0.5)):
        assert _asked(0.5, u, v) == (requests.OPEN, red), (u, v)
    # above p the first draw is rescaled to (u - p) / (1 - p): the request p = 0 makes with it
    usual = {(u, v): _asked(0.0, u, v) for u in (0.0, 0.3, 0.6, 0.9) for v in (0.1, 0.7)}
    assert len(set(usual.values())) > 3, "the usual draws make several different requests"
    for (u, v), request in usual.items():
        assert _asked(0.5, 0.5 + u / 2, v) == request, (u, v)
        assert _asked(0.2, 0.2 + u * 0.8, v) == request, (u, v)


def test_locked_requests_draw_as_usual_without_a_locked_door_whose_key_exists():
    for change in ("open the red door", "take the red key away"):
        w = _two_doors(0.5)
        m = w.config.margin
        if change == "open the red door":
            w.state.tiles[0, 3 + m, 3 + m] = CATALOG.tile["door_open"].id
        else:
            w.state.items[0, 1 + m, 4 + m] = 0
        plain = _two_doors()
        plain.state.tiles[0], plain.state.items[0] = w.state.tiles[0], w.state.items[0]
        for u, v in ((0.0, 0.1), (0.3, 0.7), (0.6, 0.1), (0.9, 0.7)):
            # below p the first draw is rescaled to u / p, above to (u - p) / (1 - p)
            for drawn in (u / 2, 0.5 + u / 2):
                got = _asked(0.5, drawn, v, w)
                assert got == _asked(0.0, u, v, plain), (change, u, v)
                assert got != (requests.OPEN, _door_at(w, 3, 3)), (change, u, v)


def test_locked_requests_reach_the_env_and_zero_keeps_every_request():
    kwargs = {"scenes": "procedural", "start_scene": 3, "num_scenes": 1}
    assert gym.make("vrenvs/Assistant-v0").unwrapped.config.locked_requests == 0.0
    runs = {}
    for p in (None, 0.0):
        env = gym.make("vrenvs/Assistant-v0", **kwargs, **({} if p is None else {"locked_requests": p}))
        env.reset(seed=5)
        runs[p] = [env.step(a)[4]["request"] for a in [1, 2, 3, 4, 8] * 40]
    assert runs[None] == runs[0.0]
    assert gym.make("vrenvs/Assistant-v0", locked_requests=0.25).unwrapped.config.locked_requests == 0.25


def test_a_scene_s_meta_sets_its_share_of_locked_requests():
    codes = parse_ascii(picture(TWO_DOORS)).codes
    for meta, config, share in (({"locked_requests": "1"}, 0.0, 1.0), ({"locked_requests": "0"}, 1.0, 0.0)):
        cfg = TaskConfig(
            name="test",
            roles=UA,
            learner=1,
            size=9,
            requests=("fetch", "guide", "open"),
            locked_requests=config,
        )
        world = World(cfg, 1, OneScene(Scene(codes, name="two doors", meta=meta)), as_drawn=True)
        red = None
        for seed in range(6):
            world.seed([seed])
            world.reset([0])
            red = _door_at(world, 3, 3)
            assert world.state.locked_requests[0] == share
            asked = (int(world.state.req_type[0]), int(world.state.req_target[0])) == (requests.OPEN, red)
            assert asked or not share, seed
    for bad in ("lots", "1.5", "-0.1", "nan"):
        scene = Scene(codes, name="two doors", meta={"locked_requests": bad})
        with pytest.raises(SceneError, match=rf"scene 'two doors': meta locked_requests='{bad}' .*\[0, 1\]"):
            requests.share_of(scene, TaskConfig(name="t", roles=UA, learner=1))


def test_events_fields_are_views_of_the_block_the_kernel_writes():
    """Per-actor fields are made on first read (a step reads few of them): each is its row
    of ``per_actor()``, bool for flags, item ids as uint8, whether read before or after the
    step wrote the block; a name that is no field is an AttributeError."""
    from vrenvs.core.rules import Events

    ev = Events.empty(2, 3)
    early = ev.moved  # read before anything is written
    block = ev.per_actor()
    assert block.shape == (9, 2, 3) and block.dtype == np.uint8 and not block.any()
    block[0, 1, 2] = 1
    block[1, 0, 1] = CATALOG.item["cup"].id
    assert early.dtype == bool and early[1, 2] and early.sum() == 1
    assert ev.moved is early, "made once, then kept"
    assert ev.picked.dtype == np.uint8 and ev.picked[0, 1] == CATALOG.item["cup"].id
    flags = ("moved", "gave", "refused", "opened", "caught", "escaped")
    names = ("moved", "picked", "dropped", "gave", "refused", "opened", "ate", "caught", "escaped")
    for row, name in enumerate(names):
        field = getattr(ev, name)
        assert field.dtype == (bool if name in flags else np.uint8), name
        assert np.shares_memory(field, block[row]), name
    assert ev.done.shape == ev.gave_up.shape == (2,) and ev.done.dtype == np.int8
    with pytest.raises(AttributeError, match="'Events' object has no attribute 'movedd'"):
        _ = ev.movedd
