"""A pygame window that only shows frames drawn by :mod:`vrenvs.render.draw`, plus a text panel.

pygame (the ``pygame-ce`` distribution, ``pip install "vrenvs[render]"``) is imported the
first time a window opens, never at module import, so ``render_mode=None`` and
``"rgb_array"`` work without it. Only ``pygame.display`` and ``pygame.font`` are
initialised (a full ``pygame.init()`` would also start the mixer and grab an audio device).
Events are pumped on every frame, the frame rate is held with ``Clock.tick``, closing the
window is honoured and :meth:`Viewer.close` may be called any number of times.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium.error import DependencyNotInstalled

from vrenvs.render import font as bitmap

__all__ = ["Viewer", "require_pygame"]

PANEL_WIDTH = 300
_BACKGROUND = (22, 20, 30)
_TEXT = (236, 232, 220)
_HEADING = (250, 210, 90)
_SELECTED = (120, 220, 250)
_DIM = (150, 146, 160)


def require_pygame() -> Any:
    """``pygame``, imported on first use, or an error that names the extra to install."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame
    except ImportError as err:
        raise DependencyNotInstalled(
            'the window needs pygame-ce, install it with: pip install "vrenvs[render]"'
        ) from err
    return pygame


def _style(line: str) -> tuple[str, tuple[int, int, int]]:
    """Panel markup: ``# heading``, ``> selected``, ``~ dim``; anything else is plain text."""
    for mark, colour in (("# ", _HEADING), ("> ", _SELECTED), ("~ ", _DIM)):
        if line.startswith(mark):
            return (line[2:] if mark != "> " else line), colour
    return line, _TEXT


class Viewer:
    """A window showing ``(H, W, 3)`` uint8 frames, scaled up, with text lines beside them.

    ``show`` returns the events it pumped (a play loop reads its keys there); a window the
    person closed makes ``show`` a no-op and sets ``closed``.
    """

    def __init__(
        self, title: str = "vrenvs", fps: float = 8, min_size: int = 512, panel: bool = True
    ) -> None:
        self.title = title
        self.fps = fps
        self.min_size = min_size
        self.panel_width = PANEL_WIDTH if panel else 0
        self.closed = False
        self._pygame: Any = None
        self._screen: Any = None
        self._clock: Any = None
        self._font: Any = None
        self._frame_shape: tuple[int, ...] = ()
        self._scale = 1

    def _open(self, shape: tuple[int, ...]) -> None:
        pygame = self._pygame or require_pygame()
        if self._pygame is None:
            pygame.display.init()
            self._font = _pygame_font(pygame)
            self._clock = pygame.time.Clock()
            self._pygame = pygame
        h, w = shape[:2]
        self._scale = max(1, self.min_size // max(h, w))
        size = (w * self._scale + self.panel_width, max(h * self._scale, 360 if self.panel_width else 0))
        self._screen = pygame.display.set_mode(size)
        pygame.display.set_caption(self.title)
        self._frame_shape = shape

    def show(self, frame: np.ndarray, lines: Sequence[str] = ()) -> list[Any]:
        """Draw ``frame`` and ``lines``, pump events, wait for the frame rate; return the events."""
        if self.closed:
            return []
        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        if self._screen is None or frame.shape != self._frame_shape:
            self._open(frame.shape)
        pygame = self._pygame
        h, w = frame.shape[:2]
        image = pygame.image.frombuffer(frame.tobytes(), (w, h), "RGB")
        if self._scale > 1:
            image = pygame.transform.scale(image, (w * self._scale, h * self._scale))
        self._screen.fill(_BACKGROUND)
        self._screen.blit(image, (0, 0))
        self._panel(lines, x=w * self._scale + 12)
        pygame.display.flip()
        events = list(pygame.event.get())
        if any(e.type == pygame.QUIT for e in events):
            self.close()
            return events
        self._clock.tick(self.fps)
        return events

    def _panel(self, lines: Sequence[str], x: int) -> None:
        if not self.panel_width:
            return
        y = 10
        for line in lines:
            text, colour = _style(line)
            surface = self._text(text, colour)
            self._screen.blit(surface, (x, y))
            y += surface.get_height() + 3

    def _text(self, text: str, colour: tuple[int, int, int]) -> Any:
        """pygame's font when it is there; otherwise the numpy bitmap font, doubled."""
        if self._font is not None:
            return self._font.render(text, True, colour, _BACKGROUND)
        codes = bitmap.encode([text], max(len(text), 1))
        ink = bitmap.draw(codes, bitmap.by_name("6x10"))[0]
        rgb = np.where(ink[..., None], np.array(colour, np.uint8), np.array(_BACKGROUND, np.uint8))
        rgb = np.ascontiguousarray(rgb.astype(np.uint8))
        return self._pygame.image.frombuffer(rgb.tobytes(), (rgb.shape[1], rgb.shape[0]), "RGB")

    def save(self, path: str | Path) -> None:
        """Write what the window shows now to ``path`` (PNG), e.g. for a screenshot."""
        if self._screen is None or self.closed:
            raise RuntimeError("the window is not open: show a frame first")
        self._pygame.image.save(self._screen, str(path))

    def close(self) -> None:
        """Close the window; safe to call again, or before anything was shown."""
        if self._pygame is not None and not self.closed:
            self._pygame.display.quit()
        self.closed = True
        self._screen = None


def _pygame_font(pygame: Any) -> Any:
    """pygame's default font at a readable size, or ``None`` when the font module is missing."""
    try:
        pygame.font.init()
        return pygame.font.Font(None, 20)
    except (ImportError, NotImplementedError, RuntimeError, pygame.error):
        return None
