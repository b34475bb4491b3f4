"""Scenes: ASCII round trip, ground under spawns, regions and doors, solvability messages."""

from __future__ import annotations

import numpy as np
import pytest

from tests.worlds import picture
from vrenvs.core.catalog import CATALOG
from vrenvs.core.reach import is_solvable, problems
from vrenvs.core.regions import find_places
from vrenvs.core.scene import Scene, parse_ascii

HOUSE = picture(
    """
    ; name: test house
    ; style: house
    ################
    #....#.....=...#
    #.@..#.........#
    #....+....A....#
    #....#.........#
    ###+####R#######
    #,,,,,,#.......#
    #,,T,,,#...c...#
    #,,,,a,#.......#
    #~~~,,,#.......#
    #,,,,,,+...$...#
    #,,r,,,#.......#
    #,,,,,,#####+###
    #,,T,,,#.......#
    #,,,,,,#...?...#
    ################
    """
)


def test_ascii_round_trip_keeps_codes_name_and_meta():
    scene = parse_ascii(HOUSE)
    again = parse_ascii(scene.to_ascii())
    assert again == scene
    assert again.name == "test house" and again.meta == {"style": "house"}
    assert scene.count("@") == 1 and scene.count("A") == 1


def test_spawns_stand_on_the_ground_around_them():
    tiles, items, roles = parse_ascii(HOUSE).layers()
    assert tiles[8, 5] == CATALOG.tile["grass"].id, "the apple lies in the garden"
    assert tiles[7, 11] == CATALOG.tile["floor"].id, "the cup lies indoors"
    assert items[8, 5] == CATALOG.item["apple"].id
    assert roles[2, 2] == CATALOG.role["user"].id


def test_regions_and_doors_are_named_from_tiles():
    places = find_places(parse_ascii(HOUSE).layers()[0])
    names = set(places.region_names)
    assert "kitchen" in names, names
    assert any(n.endswith("room") for n in names), names
    assert "red door" in places.door_names
    assert any(n.startswith("door to the") for n in places.door_names)


def test_keys_must_be_reachable_before_the_doors_they_open():
    behind = """
        #######
        #@.A.c#
        ###R###
        #..r..#
        #.....#
        #.....#
        #######
        """
    found = problems(parse_ascii(picture(behind)))
    assert any("red_key 'r' is not reachable" in p and "line 4, column 4" in p for p in found), found
    assert any("region there" in p for p in found), found
    before = behind.replace("#@.A.c#", "#@rA.c#").replace("#..r..#", "#.....#")
    assert is_solvable(parse_ascii(picture(before))), problems(parse_ascii(picture(before)))


def test_missing_elements_are_reported_by_name():
    scene = Scene(np.full((6, 6), CATALOG.FLOOR))
    found = problems(scene)
    assert any("outer border must be wall" in p for p in found)
    assert any("exactly one user '@', found 0" in p for p in found)
    assert any("exactly one assistant 'A', found 0" in p for p in found)
    assert any("no requestable item" in p for p in found)


@pytest.mark.parametrize(
    ("tiles", "labels", "match"),
    [
        (np.full((4, 4), 200), None, r"tile ids must be in \[0, 13\); got 200 \.\. 200"),
        (np.full((4, 4), -1), None, r"tile ids must be in \[0, 13\); got -1 \.\. -1"),
        (np.zeros((4, 4), float), None, "tiles must be a 2-d array of tile ids; got float64"),
        (np.zeros((4, 4), np.uint8), np.full((4, 4), 16), r"15\); got shape \(4, 4\), values 16 \.\. 16"),
        (np.zeros((4, 4), np.uint8), np.zeros((3, 3), np.int64), r"got shape \(3, 3\)"),
    ],
)
def test_places_of_a_tile_map_refuse_ids_and_labels_out_of_range(tiles, labels, match):
    """The region kernel reads tables by tile id and counts by label unchecked: checked
    before it, never a read past a table (id 200) or an id wrapped by a cast (-1)."""
    with pytest.raises(ValueError, match=match):
        find_places(tiles, labels)
