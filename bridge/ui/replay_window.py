"""`replay --show`: a pygame window that redraws the strokes as they replay and names the notes that play.

It is driven from the replay loop (`window(event, bundle)` after each engine event), so it needs no
thread of its own; closing the window during the replay stops it. The drawing sits at the window's
top-left in canvas px (400 x 400, as the classifier sees it); beside it the note of each pitch band,
the bands of the notes just played lit; at the right the notes played, newest first; below, a status
line. When the replay is over, `wait_closed()` keeps the window up until a key or the close button.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from bridge.core.events import PenDown, PenMove, PenUp, SessionInput
from bridge.core.labels import BAND_HEIGHT_PX, CANVAS_SIZE_PX, PITCHES, note_name
from bridge.core.protocol import Bundle

log = logging.getLogger(__name__)

WINDOW_SIZE = (720, 460)
MARGIN_X = CANVAS_SIZE_PX + 6  # the band note names, right of the drawing
PANEL_X = CANVAS_SIZE_PX + 60  # the list of notes played
PANEL_ROWS = 17
LIT_NOTES = 3  # how many of the latest notes light their band
RUN_COMMAND = "python run_bridge.py replay DRAWING... --show"  # for the no-display advice
WAIT_MS = 250  # while waiting to be closed, wake this often so Ctrl+C is handled


class ReplayClosed(Exception):
    """The user closed the replay window."""


@dataclass(frozen=True)
class Played:
    """One /pict2audio/play as the window shows it."""

    pitch: int
    volume: str
    timbre: str
    voice: int

    def describe(self) -> str:
        who = "trigger" if self.voice == 0 else f"voice {self.voice}"
        return f"{note_name(self.pitch)}  {self.timbre} · {self.volume}  ({who})"


class ReplayWindow:
    """Draws pen-down / pen-move events as they happen; `start(title)` clears it for the next drawing."""

    def __init__(self, *, max_fps: float = 60.0) -> None:
        import pygame

        from bridge.ui.display import open_display
        from bridge.ui.ink import InkLayer
        from bridge.ui.text import TextCache

        open_display(RUN_COMMAND)
        pygame.font.init()
        self._pygame = pygame
        self._screen = pygame.display.set_mode(WINDOW_SIZE)
        self._ink = InkLayer()
        self._text = TextCache()
        self._frame_s = 1.0 / max_fps
        self._last_flip = 0.0
        self.played: deque[Played] = deque(maxlen=PANEL_ROWS)  # the latest notes, newest last
        self.notes = 0  # notes played in all drawings so far
        self.drawings = 0
        self._title = ""
        self._of: int | None = None
        self._done: str | None = None
        self.finished = threading.Event()  # set when the replay is over and the window waits to be closed

    def start(self, title: str, *, of: int | None = None) -> None:
        """A new drawing (the `of`-th count, if known, is shown): clear the ink, keep the notes list."""
        self.drawings += 1
        self._title, self._of = title, of
        self._pygame.display.set_caption(f"pict2audio replay: {title}")
        self._ink.redraw(())
        self._flip(force=True)

    def __call__(self, event: SessionInput, bundle: Bundle | None) -> None:
        if isinstance(event, PenDown):
            self._ink.begin(color=event.color, width_px=event.width_px, tool=event.tool)
            self._ink.add(event.x, event.y)
        elif isinstance(event, PenMove):
            self._ink.add(event.x, event.y)
        played = self._note_plays(bundle)
        self._flip(force=played or isinstance(event, PenUp))

    def _note_plays(self, bundle: Bundle | None) -> bool:
        """Record the bundle's /pict2audio/play messages; True if there was one."""
        plays = () if bundle is None else bundle.find_all("play")
        for message in plays:
            _, pitch, volume, timbre, voice = message.args
            self.played.append(Played(int(pitch), str(volume), str(timbre), int(voice)))
            self.notes += 1
        return bool(plays)

    # -- what is shown (tests read these) ------------------------------------------------------------------

    def status_line(self) -> str:
        if self._done is not None:
            return self._done
        which = f" ({self.drawings} of {self._of})" if self._of else ""
        return f"replaying {self._title}{which} · {self.notes} notes so far · close the window to stop"

    def lit_pitches(self) -> set[int]:
        return {p.pitch for p in list(self.played)[-LIT_NOTES:]}

    # -- after the replay ----------------------------------------------------------------------------------

    def wait_closed(self) -> None:
        """Show how the replay ended and stay open until a key is pressed or the window is closed."""
        pygame = self._pygame
        drawings = f"{self.drawings} drawing{'s' * (self.drawings != 1)}"
        self._done = f"replay finished: {self.notes} notes from {drawings} · press a key or close the window"
        self._present()  # events stay queued: a close that came just now ends the wait below
        self.finished.set()
        while True:
            event = pygame.event.wait(WAIT_MS)
            if event.type in (pygame.QUIT, pygame.KEYDOWN):
                return
            if event.type in (pygame.WINDOWEXPOSED, pygame.VIDEOEXPOSE):
                self._present()

    def close(self) -> None:
        self._pygame.display.quit()

    # -- drawing -------------------------------------------------------------------------------------------

    def _flip(self, *, force: bool = False) -> None:
        for event in self._pygame.event.get():  # keys pressed during the replay are dropped, not kept for later
            if event.type == self._pygame.QUIT:
                raise ReplayClosed
        if force or time.monotonic() - self._last_flip >= self._frame_s:
            self._present()

    def _present(self) -> None:
        self._draw()
        self._pygame.display.flip()
        self._last_flip = time.monotonic()

    def _draw(self) -> None:
        from bridge.ui.text import ACCENT, INK, MUTED

        screen, text = self._screen, self._text
        screen.fill((244, 244, 247))
        screen.blit(self._ink.view(), (0, 0))
        lit = self.lit_pitches()
        for band in range(len(PITCHES)):
            pitch = PITCHES[-1] - band
            on = pitch in lit
            y = band * BAND_HEIGHT_PX + BAND_HEIGHT_PX / 2
            text.blit(screen, note_name(pitch), (MARGIN_X, y), 19 if on else 16, ACCENT if on else MUTED,
                      bold=on, anchor="midleft")
        text.blit(screen, "Notes played (newest first)", (PANEL_X, 8), 19, ACCENT, bold=True)
        width = WINDOW_SIZE[0] - PANEL_X - 10
        for row, played in enumerate(reversed(self.played)):
            text.blit(screen, played.describe(), (PANEL_X, 34 + 22 * row), 18, INK if row == 0 else MUTED,
                      bold=row == 0, max_width=width)
        for i, line in enumerate(text.wrap(self.status_line(), 18, WINDOW_SIZE[0] - 16, max_lines=2)):
            text.blit(screen, line, (8, CANVAS_SIZE_PX + 14 + 20 * i), 18, INK)
