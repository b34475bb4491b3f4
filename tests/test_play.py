"""Keyboard play driven by synthetic pygame events (headless: SDL's dummy video driver)."""

from __future__ import annotations

import numpy as np
import pytest

from vrenvs.app.play import Intent, Session, intent_of, run
from vrenvs.core.catalog import CATALOG
from vrenvs.core.language import REQUEST_TYPES
from vrenvs.core.requests import ITEM_TOKENS
from vrenvs.core.state import Action
from vrenvs.envs.drivers import driver
from vrenvs.render.viewer import Viewer

pygame = pytest.importorskip("pygame")


def key(k: int):
    return pygame.event.Event(pygame.KEYDOWN, key=k)


@pytest.fixture
def viewer():
    pygame.display.init()  # so events can be posted before the first frame
    pygame.event.clear()
    v = Viewer(fps=200)
    yield v
    v.close()


@pytest.mark.parametrize(
    ("event", "menu", "want"),
    [
        (key(pygame.K_UP), False, Intent("act", Action.UP)),
        (key(pygame.K_d), False, Intent("act", Action.RIGHT)),
        (key(pygame.K_LEFT), False, Intent("act", Action.LEFT)),
        (key(pygame.K_s), False, Intent("act", Action.DOWN)),
        (key(pygame.K_e), False, Intent("act", Action.PICKUP)),
        (key(pygame.K_q), False, Intent("act", Action.DROP)),
        (key(pygame.K_g), False, Intent("act", Action.GIVE)),
        (key(pygame.K_f), False, Intent("act", Action.TOGGLE)),
        (key(pygame.K_SPACE), False, Intent("act", Action.NOOP)),
        (key(pygame.K_1), False, Intent("ask", 0)),
        (key(pygame.K_2), False, Intent("ask", 1)),
        (key(pygame.K_3), False, Intent("ask", 2)),
        (key(pygame.K_ESCAPE), False, Intent("quit")),
        (key(pygame.K_r), False, Intent("reset")),
        (key(pygame.K_p), False, Intent("path")),
        (key(pygame.K_F1), False, Intent("rate", 1)),
        (key(pygame.K_F5), False, Intent("rate", 5)),
        (key(pygame.K_DOWN), True, Intent("choose", 1)),
        (key(pygame.K_w), True, Intent("choose", -1)),
        (key(pygame.K_RETURN), True, Intent("confirm")),
        (key(pygame.K_SPACE), True, Intent("confirm")),
        (key(pygame.K_ESCAPE), True, Intent("back")),
        (key(pygame.K_2), True, Intent("ask", 1)),
        (pygame.event.Event(pygame.QUIT), False, Intent("quit")),
        (key(pygame.K_z), False, None),
        (pygame.event.Event(pygame.KEYUP, key=pygame.K_UP), False, None),
    ],
)
def test_keys_map_to_intents(event, menu, want):
    assert intent_of(event, pygame, menu=menu) == want


def test_playing_the_user_requests_are_made_by_keys_and_served_by_the_oracle():
    session = Session("vrenvs/Assistant-Fetch-v0", seed=4)
    assert session.role == "user" and session.asks
    s = session.world.state
    assert s.req_type[0] == 0, "the person makes the requests, not the user model"
    session.handle(Intent("ask", 0))
    options = session.menu.options
    assert options and all(CATALOG.REQUESTABLE[item] for _, item in options)
    session.handle(Intent("choose", 1))
    session.handle(Intent("confirm"))
    label, item = options[1 % len(options)]
    assert REQUEST_TYPES[s.req_type[0]] == "fetch" and s.req_target[0] == item
    assert np.array_equal(s.req_tokens[0], ITEM_TOKENS[item])
    assert session.menu is None and label in session.log[-1]
    for _ in range(250):
        session.advance()
        if s.served[0]:
            break
    assert s.served[0] == 1, "the scripted assistant brought the item"
    assert s.req_type[0] == 0, "no new request until the person asks"


def test_guide_and_open_menus_offer_valid_targets():
    session = Session("vrenvs/Assistant-v0", seed=1)
    s, layout = session.world.state, session.world.layouts[0]
    y, x = s.pos[0, session.slot]
    here = s.region_map[0, y, x]
    regions = session.options("guide")
    assert regions and all(r != here and name == layout.region_names[r] for name, r in regions)
    shut = CATALOG.IS_CLOSED[s.tiles[0]] | CATALOG.IS_LOCKED[s.tiles[0]]
    for name, door in session.options("open"):
        assert (shut & (s.door_map[0] == door)).any(), name
    session.handle(Intent("ask", 1))
    session.handle(Intent("confirm"))
    assert REQUEST_TYPES[s.req_type[0]] == "guide"
    assert np.array_equal(s.req_tokens[0], s.region_tokens[0, regions[0][1]])


def test_loop_driven_by_posted_events_asks_and_quits(viewer):
    # a procedural scene with two fetchable items, so that DOWN picks the second one
    session = Session("vrenvs/Assistant-v0", seed=2, speed=0, scenes="procedural")
    for k in (pygame.K_1, pygame.K_DOWN, pygame.K_RETURN):
        pygame.event.post(key(k))
    assert run(session, viewer, max_frames=2) == 2
    s = session.world.state
    assert REQUEST_TYPES[s.req_type[0]] == "fetch"
    assert s.req_target[0] == session.options("fetch")[1][1]
    pygame.event.post(key(pygame.K_RIGHT))
    run(session, viewer, max_frames=1)
    assert s.t[0] == 1 and s.facing[0, session.slot] == Action.RIGHT
    pygame.event.post(key(pygame.K_ESCAPE))
    assert run(session, viewer, max_frames=50) == 1
    assert viewer.closed


def test_window_close_ends_the_loop(viewer):
    session = Session("vrenvs/NPC-Flee-v0", seed=0)
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    assert run(session, viewer, max_frames=50) == 1
    assert viewer.closed and not pygame.display.get_init()


def test_real_time_steps_at_the_chosen_speed(viewer):
    session = Session("vrenvs/Assistant-Guide-v0", seed=0, speed=100)  # every 2 frames at 200 fps
    run(session, viewer, max_frames=10)
    assert session.world.state.t[0] == 5


def test_playing_the_assistant_moves_it_turn_by_turn():
    session = Session("vrenvs/Assistant-Fetch-v0", role="assistant", seed=3)
    s = session.world.state
    assert session.speed == 0 and not session.asks
    assert s.req_type[0] > 0, "the simulated user makes its request"
    session.handle(Intent("ask", 0))
    assert session.menu is None, "only the user asks"
    for action in (Action.UP, Action.LEFT, Action.DOWN):
        session.handle(Intent("act", action))
        assert s.facing[0, session.slot] == action
    assert s.t[0] == 3


def test_playing_an_npc_with_the_learner_scripted():
    session = Session("vrenvs/NPC-Guard-v0", role="thief", seed=0)
    s = session.world.state
    guard = session.world.config.roles.index("guard")
    start = s.pos[0, guard].copy()
    for _ in range(6):
        session.handle(Intent("act", Action.NOOP))
    assert not np.array_equal(s.pos[0, guard], start), "the guard patrols on its own"


def test_panel_shows_key_help_and_the_open_menu():
    session = Session("vrenvs/Assistant-v0", seed=0)
    text = "\n".join(session.lines())
    assert "1 fetch  2 guide  3 open" in text and "E pick up" in text
    session.handle(Intent("ask", 0))
    lines = session.lines()
    assert any(line.startswith("> ") for line in lines)
    assert session.frame().shape == (512, 512, 3)


def test_bad_role_and_trained_assistant_paths_are_explained():
    with pytest.raises(
        ValueError, match=r"role 'dragon' is not in vrenvs/NPC-Flee-v0; choose from \['chaser'"
    ):
        Session("vrenvs/NPC-Flee-v0", role="dragon")
    with pytest.raises(ValueError, match=r"unknown controller 'runs/ppo/best\.zip'.*path of a policy folder"):
        Session("vrenvs/Assistant-v0", assistant="runs/ppo/best.zip")
    with pytest.raises(ValueError, match=r"unknown controller 'wizard'; choose from"):
        driver("wizard")
    assert driver("random") is not driver("oracle")


def test_ratings_and_episode_signals_go_to_the_feedback_store(tmp_path):
    from vrenvs.core.feedback import FeedbackStore

    path = tmp_path / "ratings.db"
    session = Session("vrenvs/Assistant-Fetch-v0", seed=4, speed=0, scenes="procedural", feedback=path)
    assert "F1..F5 rate this scene (1 dislike .. 5 like)" in session.lines()
    identity = dict(session.world.identities[0])
    codes = session.world.layouts[0].scene.codes.copy()
    session.handle(Intent("rate", 4))
    assert session.log[-1] == "Rated this scene 4 of 5."
    for _ in range(3):
        session.handle(Intent("act", Action.NOOP))
    session.handle(Intent("reset"))  # leaving the episode records its signals
    rows = FeedbackStore(path).rows()
    assert [r.rating for r in rows] == [4, None]
    assert rows[0].scene == identity and np.array_equal(rows[0].codes, codes)
    assert rows[0].signals["steps"] == 0 and rows[1].signals["steps"] == 3
    assert rows[1].signals["ended"] is False and rows[1].signals["served"] == 0
    session.close()  # quitting records the episode left open and closes the store
    rows = FeedbackStore(path).rows()
    assert len(rows) == 3 and rows[2].rating is None and rows[2].signals["steps"] == 0
    session.close()  # twice is harmless
    assert len(FeedbackStore(path).rows()) == 3
    unrated = Session("vrenvs/Assistant-Fetch-v0", seed=4, scenes="procedural")
    unrated.handle(Intent("rate", 2))
    assert unrated.log[-1] == "Ratings are stored with --feedback FILE."


def test_online_mode_adapts_the_scenes_after_enough_ratings(tmp_path):
    from vrenvs.app.play import ADAPT_AFTER
    from vrenvs.core.feedback import FeedbackStore

    path = tmp_path / "ratings.db"
    session = Session(
        "vrenvs/Assistant-Fetch-v0", seed=1, speed=0, scenes="procedural", feedback=path, adapt=True
    )
    for k in range(ADAPT_AFTER - 1):
        session.handle(Intent("rate", 1 + k % 5))
        session.handle(Intent("reset"))
    assert session.log[-2] == f"Scenes adapt after {ADAPT_AFTER} ratings ({ADAPT_AFTER - 1} so far)."
    assert session.world.identities[0]["source"] == "procedural"
    session.handle(Intent("rate", 5))
    assert session.log[-1] == f"Next scenes adapted to {ADAPT_AFTER} ratings."
    session.handle(Intent("reset"))
    scene = session.world.identities[0]
    assert scene["source"] == "adapted" and scene["base"]["source"] == "procedural"
    assert len(FeedbackStore(path).rows(rated_only=True)) == ADAPT_AFTER
    with pytest.raises(ValueError, match="needs a feedback store"):
        Session("vrenvs/Assistant-Fetch-v0", adapt=True)
