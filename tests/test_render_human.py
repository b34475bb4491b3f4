"""The window (``render_mode="human"``) headless under SDL's dummy driver, and RecordVideo."""

from __future__ import annotations

import subprocess
import sys
import time
import types

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import DependencyNotInstalled

import vrenvs  # noqa: F401  (registers the ids)
from vrenvs.render.viewer import Viewer, require_pygame

pygame = pytest.importorskip("pygame")
ENV_IDS = sorted(i for i in gym.registry if i.startswith("vrenvs/"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_human_mode_opens_steps_and_closes(env_id):
    env = gym.make(env_id, render_mode="human")
    env.unwrapped.metadata = {**env.unwrapped.metadata, "render_fps": 200}
    env.reset(seed=0)
    assert pygame.display.get_init() and pygame.display.get_surface() is not None
    width, height = pygame.display.get_surface().get_size()
    assert width >= 512 and height >= 512
    for action in (1, 2, 3):
        assert env.step(action)[0] is not None
    assert env.render() is None
    assert pygame.mixer.get_init() is None, "only the display (and font) are initialised"
    env.close()
    env.close()
    assert not pygame.display.get_init()


@pytest.mark.timeout(60)
def test_vector_env_human_mode_shows_a_grid_of_worlds():
    env = gym.make_vec(
        "vrenvs/NPC-Flee-v0", num_envs=20, vectorization_mode="vector_entry_point", render_mode="human"
    )
    env.unwrapped.metadata = {**env.unwrapped.metadata, "render_fps": 200}
    env.reset(seed=0)
    env.step(np.ones(20, np.int64))
    width, height = pygame.display.get_surface().get_size()
    assert width > 4 * 256 and height >= 4 * 256, "16 worlds in a 4 x 4 grid"
    env.close()
    env.close()


@pytest.mark.timeout(60)
def test_closing_the_window_stops_drawing_but_not_the_env():
    env = gym.make("vrenvs/Assistant-Fetch-v0", render_mode="human")
    env.unwrapped.metadata = {**env.unwrapped.metadata, "render_fps": 200}
    env.reset(seed=0)
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    env.step(0)  # pumps the QUIT event
    assert not pygame.display.get_init()
    for _ in range(3):
        env.step(1)  # no window, no error
    env.close()


def test_viewer_honours_fps_and_returns_events():
    viewer = Viewer(fps=25)
    frame = np.zeros((64, 64, 3), np.uint8)
    viewer.show(frame)
    start = time.perf_counter()
    for _ in range(5):
        viewer.show(frame)
    assert time.perf_counter() - start >= 4 / 25 * 0.9
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_a))
    events = viewer.show(frame, ["# heading", "> chosen", "~ dim", "plain"])
    assert any(e.type == pygame.KEYDOWN and e.key == pygame.K_a for e in events)
    viewer.close()
    viewer.close()
    assert viewer.show(frame) == []


def test_viewer_scales_small_frames_and_saves_a_screenshot(tmp_path):
    viewer = Viewer(min_size=512, panel=False)
    frame = np.zeros((128, 128, 3), np.uint8)
    frame[:64] = 255
    viewer.show(frame)
    assert pygame.display.get_surface().get_size() == (512, 512)
    viewer.save(tmp_path / "shot.png")
    shot = pygame.image.load(str(tmp_path / "shot.png"))
    assert shot.get_at((10, 10))[:3] == (255, 255, 255) and shot.get_at((10, 400))[:3] == (0, 0, 0)
    viewer.close()
    with pytest.raises(RuntimeError, match="not open"):
        viewer.save(tmp_path / "again.png")


def test_panel_text_without_pygame_font(monkeypatch):
    monkeypatch.setattr("vrenvs.render.viewer._pygame_font", lambda pg: None)
    viewer = Viewer()
    viewer.show(np.zeros((64, 64, 3), np.uint8), ["Please bring me the cup."])
    panel = pygame.surfarray.array3d(pygame.display.get_surface())[512 + 12 :, :30]
    assert (panel == (236, 232, 220)).all(axis=-1).any(), "the bitmap font drew the line"
    viewer.close()


def test_missing_pygame_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pygame", None)
    with pytest.raises(DependencyNotInstalled, match=r'pip install "vrenvs\[render\]"'):
        require_pygame()


def test_human_mode_in_a_fresh_process_exits_cleanly():
    code = (
        "import gymnasium as gym, vrenvs, pygame\n"
        "env = gym.make('vrenvs/NPC-Guard-v0', render_mode='human')\n"
        "env.reset(seed=1)\n"
        "[env.step(1) for _ in range(3)]\n"
        "env.close()\n"
        "print('mixer', pygame.mixer.get_init())\n"
    )
    env = {"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("mixer None")
    assert "Hello from the pygame community" not in out.stdout


class _FakeClip:
    """Stands in for moviepy's ImageSequenceClip: keeps the frames RecordVideo hands over."""

    written: list[tuple[str, list[np.ndarray], float]] = []  # noqa: RUF012 - test double

    def __init__(self, frames, fps):
        self.frames, self.fps = list(frames), fps

    def write_videofile(self, path, logger=None):
        _FakeClip.written.append((path, self.frames, self.fps))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_record_video_wrapper_gets_every_frame(env_id, tmp_path, monkeypatch):
    """Gymnasium's RecordVideo on every env: moviepy replaced by a double, so what is checked
    is our side of the contract (render mode, frame type and count, fps)."""
    fake = types.ModuleType("moviepy")
    clip_module = types.ModuleType("moviepy.video.io.ImageSequenceClip")
    clip_module.ImageSequenceClip = _FakeClip  # type: ignore[attr-defined]
    for name in ("moviepy", "moviepy.video", "moviepy.video.io"):
        monkeypatch.setitem(sys.modules, name, fake if name == "moviepy" else types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "moviepy.video.io.ImageSequenceClip", clip_module)
    _FakeClip.written.clear()
    env = gym.wrappers.RecordVideo(
        gym.make(env_id, render_mode="rgb_array", max_episode_steps=12),
        str(tmp_path / "videos"),
        episode_trigger=lambda e: True,
    )
    env.reset(seed=0)
    steps = 0
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        steps, done = steps + 1, terminated or truncated
    env.close()
    (path, frames, fps), *_ = _FakeClip.written
    assert path.endswith(".mp4") and fps == 8
    assert len(frames) == steps + 1
    assert all(f.shape == (256, 256, 3) and f.dtype == np.uint8 for f in frames)


def test_record_video_with_moviepy(tmp_path):
    pytest.importorskip("moviepy")
    env = gym.wrappers.RecordVideo(
        gym.make("vrenvs/Assistant-Fetch-v0", render_mode="rgb_array", max_episode_steps=10),
        str(tmp_path / "v"),
    )
    env.reset(seed=0)
    for _ in range(10):
        env.step(0)
    env.close()
    assert list((tmp_path / "v").glob("*.mp4"))


def test_require_pygame_returns_the_module():
    assert require_pygame() is pygame
