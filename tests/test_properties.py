"""Scene properties of the v2 prior's conditioning (``generators.properties``): the bucket
rules on literal scenes, the checks of requested targets, and the prior's property
embeddings (zero at the start, so a prior given them samples as before)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from generators.prior import CodePrior, PriorConfig
from generators.properties import PROPERTIES, PROPERTY_NAMES, check_targets, locked_share, measure, target_ids
from vrenvs.core.scene import parse_ascii, read_ascii

APARTMENT = "vrenvs/data/scenes/16_apartment.txt"

# one open cave: a single region; the gem 6 steps from the user
OPEN = """\
################
#..............#
#..............#
#..............#
#......@.....*.#
#..............#
#..............#
#....A.........#
#..............#
#..............#
#..............#
#..............#
#..............#
#..............#
#..............#
################
"""

# two rooms joined by a locked door, the gem in the far one
LOCKED = """\
################
#@.............#
#..............#
#..............#
#..............#
#..............#
#.A............#
#......g.......#
##############G#
#..............#
#..............#
#..............#
#..............#
#.............*#
#..............#
################
"""


def grid(text: str) -> np.ndarray:
    return parse_ascii(text).codes.astype(np.uint8)


def test_the_apartment_has_many_rooms_a_locked_door_and_its_farthest_item_17_steps_away():
    codes = read_ascii(APARTMENT).codes[None]
    # 8 regions (4 rooms each side of a corridor, the corridor, the garden) > 16 * 16 / 64
    assert measure(codes).tolist() == [[2, 1, 1]]  # many, some, mid (17 / 16 map sides)


def test_an_open_cave_is_one_room_without_locks_and_near():
    assert measure(grid(OPEN)[None]).tolist() == [[0, 0, 0]]  # one, none, near (6 / 16)


def test_two_rooms_behind_a_locked_door_are_few_some_and_far():
    # the gem: 19 steps to the door's cell above it, 1 through, 5 down: 25 / 16 > 1.5, far
    assert measure(grid(LOCKED)[None]).tolist() == [[1, 1, 2]]
    moved = LOCKED.replace("#@....", "#.....").replace("#.A...", "#@A...")
    assert measure(grid(moved)[None], ("distance",)).tolist() == [[1]]  # 5 rows nearer: 20 steps, mid


def test_a_scene_without_a_user_is_far_and_the_rules_work_on_a_batch_of_any_size():
    no_user = grid(OPEN.replace("@", "."))
    assert measure(no_user[None], ("distance",)).tolist() == [[2]]
    both = np.stack([grid(OPEN), grid(LOCKED), no_user])
    assert measure(both).tolist() == [[0, 0, 0], [1, 1, 2], [0, 0, 2]]
    assert measure(both[:0]).shape == (0, 3)
    with pytest.raises(ValueError, match=r"codes of shape \(16, 16\) is not allowed; allowed: \(N, S, S\)"):
        measure(grid(OPEN))


def test_locked_share_counts_scenes_with_a_locked_door():
    both = np.stack([grid(OPEN), grid(LOCKED), grid(LOCKED), grid(LOCKED.replace("G", "+"))])
    assert locked_share(both) == 0.5  # the plain door ("+") is not locked
    assert locked_share(both[:1]) == 0.0 and locked_share(both[1:2]) == 1.0
    assert locked_share(both[:0]) == 0.0


def test_room_buckets_scale_with_the_map():
    big = np.full((32, 32), parse_ascii(OPEN).codes[1, 1], np.uint8)
    big[0, :] = big[-1, :] = big[:, 0] = big[:, -1] = parse_ascii(OPEN).codes[0, 0]
    for wall_row in range(3, 31, 3):  # 10 horizontal bands: 10 regions, <= 32 * 32 / 64: few
        big[wall_row, :] = big[0, 0]
    assert measure(big[None], ("rooms",)).tolist() == [[1]]
    assert measure(big[None, :16, :16], ("rooms",)).tolist() == [[2]]  # 5 bands in 16 x 16: many


def test_targets_are_checked_sorted_and_mapped_to_embedding_rows():
    names = ("rooms", "distance")
    assert check_targets(None, names) == ()
    assert check_targets({"distance": "far", "rooms": "one"}, names) == (
        ("distance", "far"),
        ("rooms", "one"),
    )
    assert target_ids((("distance", "far"), ("rooms", "one")), names) == [1, 3]
    assert target_ids((), names) == [0, 0]
    with pytest.raises(
        ValueError, match=r"property 'locked_doors' is not allowed; allowed: \['rooms', 'distance'\]"
    ):
        check_targets({"locked_doors": "none"}, names)
    with pytest.raises(
        ValueError, match=r"targets\['rooms'\]='lots' is not allowed; allowed: \['one', 'few', 'many'\]"
    ):
        check_targets({"rooms": "lots"}, names)
    with pytest.raises(ValueError, match="not conditioned on properties"):
        check_targets({"rooms": "one"}, ())
    with pytest.raises(TypeError, match=r"targets=.* must be a mapping"):
        check_targets(["rooms"], names)


def test_every_property_is_declared_with_its_buckets():
    assert PROPERTY_NAMES == ("rooms", "locked_doors", "distance")
    assert {n: p.buckets for n, p in PROPERTIES.items()} == {
        "rooms": ("one", "few", "many"),
        "locked_doors": ("none", "some"),
        "distance": ("near", "mid", "far"),
    }


def _prior(properties: tuple[int, ...]) -> CodePrior:
    torch.manual_seed(0)
    config = PriorConfig(
        codebook_size=8, max_side=4, width=8, layers=1, heads=1, num_styles=2, properties=properties
    )
    return CodePrior(config).eval()


def test_property_embeddings_start_at_zero_so_the_prior_samples_as_without_them():
    plain, conditioned = _prior(()), _prior((3, 2))
    state = conditioned.state_dict()
    state.update(plain.state_dict())
    conditioned.load_state_dict(state)
    assert conditioned.config.num_parameters() == plain.config.num_parameters() + (4 + 3) * 8
    assert conditioned.num_parameters() == conditioned.config.num_parameters()
    u = torch.rand(5, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    targets = torch.tensor([[1, 2]] * 5)
    same = plain.sample_uniforms(u, 4, 0, 0)
    assert torch.equal(conditioned.sample_uniforms(u, 4, 0, 0, targets=targets), same)
    assert torch.equal(conditioned.sample_uniforms(u, 4, 0, 0), same)
    with torch.no_grad():
        # a learned bucket moves the samples (a constant shift would vanish in the LayerNorms)
        conditioned.property_embeddings[0].weight[1] += torch.linspace(-5.0, 5.0, 8)
    assert not torch.equal(conditioned.sample_uniforms(u, 4, 0, 0, targets=targets), same)
    assert torch.equal(
        conditioned.sample_uniforms(u, 4, 0, 0, targets=torch.zeros(5, 2, dtype=torch.long)), same
    )


@pytest.mark.parametrize(
    ("targets", "error", "message"),
    [
        (
            torch.zeros(5, 1, dtype=torch.long),
            ValueError,
            r"targets of shape \(5, 1\) is not allowed; allowed: \(5, 2\)",
        ),
        (torch.zeros(5, 2), TypeError, "targets of dtype torch.float32 is not allowed"),
        (torch.tensor([[0, 3]] * 5), ValueError, r"targets\[:, 1\] holds values outside \[0, 2\]"),
        (torch.tensor([[-1, 0]] * 5), ValueError, r"targets\[:, 0\] holds values outside \[0, 3\]"),
    ],
)
def test_bad_target_rows_are_refused(targets, error, message):
    u = torch.rand(5, 16, dtype=torch.float64)
    with pytest.raises(error, match=message):
        _prior((3, 2)).sample_uniforms(u, 4, 0, 0, targets=targets)


@pytest.mark.parametrize(("value", "error"), [([0], ValueError), ([17], ValueError), ("ab", TypeError)])
def test_bad_property_bucket_counts_are_refused(value, error):
    with pytest.raises(error, match="properties"):
        PriorConfig(properties=value)


def test_sampling_with_targets_follows_the_teacher_forced_logits():
    prior = _prior((3, 2))
    with torch.no_grad():
        for embedding in prior.property_embeddings:
            embedding.weight.normal_(0.0, 1.0)
    targets = torch.tensor([[1, 2], [3, 0], [0, 1]])
    u = torch.rand(3, 16, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    greedy = prior.sample_uniforms(u, 4, 1, 0, top_k=1, targets=targets)
    with torch.no_grad():
        logits = prior(greedy, torch.ones(3, dtype=torch.long), torch.zeros(3, dtype=torch.long), targets)
    assert torch.equal(
        logits.argmax(-1), greedy.reshape(3, 16)
    )  # each code is the argmax given the codes before it
    other = prior.sample_uniforms(u, 4, 1, 0, top_k=1, targets=torch.tensor([[2, 1]] * 3))
    assert not torch.equal(other, greedy)
