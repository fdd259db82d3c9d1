"""T in the canvas: teach the last shape drawn to a class of the session's language (taught shapes).

The panel shows the shape to teach (the last stroke with the strokes drawn just before it, grouped as the
recogniser groups them: bridge.core.language.trailing_group) and every class with its examples as small
outlines. Keys, while it is open:

    1..9         give the shape to that class (an example more); the panel closes
    N            give it to a new class, typed as HEAD=VALUE (timbre=brass, volume=high, pitch=72)
    Backspace    undo the last example taught here
    Shift+1..9   remove that class's last example
    Esc, T       close

So teaching is: draw, T, the class's number; draw the next example, T, the number again.
Each change is used from the next stroke on (the engine gets the new recogniser with `SetLanguage`, and
saved drawings name the new content hash) and written to the language file atomically on a background
thread; the HUD says when it is saved, or why not. The session needs a language file: `--language FILE`
(a new file is created at the first example).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pygame

from bridge.core.events import SetLanguage
from bridge.core.language import (
    GROUP_GAP_MS,
    MAX_GROUP_STROKES,
    Language,
    LanguageError,
    example_from_strokes,
    parse_class_name,
    trailing_group,
)
from bridge.ui.background_save import BackgroundSave
from bridge.ui.layout import Layout
from bridge.ui.overlays import Prompt
from bridge.ui.text import ACCENT, INK, MUTED, TextCache

if TYPE_CHECKING:
    from bridge.core.drawing import Stroke
    from bridge.ui.canvas_app import CanvasApp

KEY = "t"
NUMBERED = 9  # classes reachable by the number keys
THUMB = 46.0  # design px of an example's outline
THUMBS_SHOWN = 10  # per class
BOX = (90.0, 40.0, 820.0, 540.0)  # x, y, w, h of the panel in design px
KEYS_HELP = ("1-9: give the shape to that class    N: a new class (HEAD=VALUE)    Backspace: undo the last "
             "example    Shift+1-9: remove that class's last example    Esc: close")
NUMBER_KEYS = {getattr(pygame, f"K_{i}"): i for i in range(1, NUMBERED + 1)}


class TeachPanel:
    """The overlay and its commands; `bind()` adds the T key to the canvas."""

    def __init__(self, app: CanvasApp) -> None:
        self.app = app
        self.taught: list[str] = []  # classes given an example here, newest last (what Backspace undoes)
        self._saving = BackgroundSave(app.show_message, "language")
        self.saved = self._saving.saved  # set when the last save is over (written or refused)

    def bind(self) -> TeachPanel:
        self.app.add_key_command(KEY, "teach the last shape to a class (taught shapes, --language)", self.open)
        return self

    # -- state ------------------------------------------------------------------------------

    def session_language(self) -> Any:
        """The session's SessionLanguage (bridge.adapters.language_files), or None."""
        return getattr(self.app.link.parts, "language", None)

    def shape(self) -> list[Stroke]:
        """The strokes the next example would be made of."""
        return trailing_group(self.app.strokes, MAX_GROUP_STROKES)

    # -- commands ---------------------------------------------------------------------------

    def open(self) -> None:
        if not self.app.link.ready:
            self.app.show_message("teach: the session is still loading")
        elif self.session_language() is None:
            self.app.show_message("teach: start the canvas with --language FILE.json (a new file is created) "
                                  "to teach shapes", seconds=6.0)
        else:
            self.app.panel = self

    def teach(self, name: str) -> str | None:
        """Give the shape to class `name`; the problem to show, or None when it was taught."""
        strokes = self.shape()
        if not strokes:
            return "draw a shape first, then press its class's number"
        current = self.session_language()
        try:
            example = example_from_strokes(strokes, source="canvas")
            language = current.language.with_example(name, example)
        except LanguageError as exc:
            return exc.problem
        canonical = "{}={}".format(*parse_class_name(name))
        self.taught.append(canonical)
        count = len(language.find(canonical).examples)
        self._use(language, f"taught {canonical} ({count} examples, this one of {len(strokes)} strokes)")
        self.app.panel = None  # back to drawing: the next example, or playing the shape
        return None

    def undo(self) -> None:
        if not self.taught:
            self.app.show_message("teach: nothing taught here to undo")
            return
        self.remove_last(self.taught[-1])

    def remove_last(self, name: str) -> None:
        current = self.session_language()
        try:
            language = current.language.without_last_example(name)
        except LanguageError as exc:
            self.app.show_message(f"teach: {exc}")
            return
        if name in self.taught:  # that example is gone: undo no longer removes it again
            del self.taught[len(self.taught) - 1 - self.taught[::-1].index(name)]
        left = language.find(name)
        self._use(language, f"removed an example of {name} ({0 if left is None else len(left.examples)} left)")

    def ask_new_class(self) -> None:
        def done(text: str) -> str | None:
            try:
                parse_class_name(text)
            except LanguageError as exc:
                return exc.problem
            return self.teach(text)

        self.app.open_prompt(Prompt("New class for this shape, as HEAD=VALUE", "timbre=brass", done,
                                    note="HEAD is pitch, volume or timbre: e.g. timbre=flute, volume=high, pitch=72"))

    def _use(self, language: Language, what: str) -> None:
        """Play with `language` from the next stroke on and save it in the background."""
        current = self.session_language()
        recogniser = current.use(language)
        self.app.link.post(SetLanguage(recognise=recogniser, record=current.record()))
        self.app.show_message(f"{what}; saving {current.path.name} ...")
        self._saving.start(lambda: _saved(current), lambda path: f"{what}; saved to {path}")

    # -- the overlay ------------------------------------------------------------------------

    def handle(self, event: pygame.event.Event) -> bool:
        """A key while the panel is open; False closes it."""
        if event.type != pygame.KEYDOWN:
            return True
        key, shift = event.key, bool(event.mod & pygame.KMOD_SHIFT)
        if key in (pygame.K_ESCAPE, pygame.K_t):
            return False
        classes = self.session_language().language.classes
        if key in NUMBER_KEYS:
            index = NUMBER_KEYS[key] - 1
            if index >= len(classes):
                self.app.show_message(f"teach: there is no class {index + 1}; N makes a new one")
            elif shift:
                self.remove_last(classes[index].name)
            else:
                problem = self.teach(classes[index].name)
                if problem:
                    self.app.show_message(f"teach: {problem}")
        elif key == pygame.K_n:
            self.ask_new_class()
        elif key == pygame.K_BACKSPACE:
            self.undo()
        return True

    def draw(self, target: pygame.Surface, layout: Layout, text: TextCache) -> None:
        shade = pygame.Surface(target.get_size(), pygame.SRCALPHA)
        shade.fill((20, 20, 30, 120))
        target.blit(shade, (0, 0))
        x, y, w, h = BOX
        pygame.draw.rect(target, (255, 255, 255), layout.rect(x, y, w, h), border_radius=layout.px(12))
        current = self.session_language()
        language = current.language
        title = (f"Teach shapes: {current.path.name} ({len(language.classes)} classes, "
                 f"{language.example_count} examples)")
        text.blit(target, title, layout.pt(x + 20, y + 16), layout.px(22), INK, bold=True, max_width=layout.px(w - 40))
        for i, line in enumerate(text.wrap(KEYS_HELP, layout.px(16), layout.px(w - 40), max_lines=2)):
            text.blit(target, line, layout.pt(x + 20, y + 44 + 18 * i), layout.px(16), MUTED)
        top = y + 86
        shape = self.shape()
        text.blit(target, "This shape:", layout.pt(x + 20, top + 18), layout.px(18), INK, bold=True)
        if shape:
            _draw_outline(target, layout, [[(p.x, p.y) for p in s.points] for s in shape], (x + 130, top, 56.0),
                          ACCENT)
            note = f"{len(shape)} stroke{'s' if len(shape) > 1 else ''}"
        else:
            note = f"draw one first (strokes begun within {GROUP_GAP_MS / 1000:g} s of each other, close together, " \
                   "are one shape)"
        text.blit(target, note, layout.pt(x + 196, top + 18), layout.px(17), MUTED, max_width=layout.px(w - 220))
        row_y = top + 66
        row_h = (y + h - 14 - row_y) / max(min(len(language.classes), NUMBERED), 1)
        row_h = min(row_h, THUMB + 12)
        for i, shape_class in enumerate(language.classes[:NUMBERED]):
            cy = row_y + i * row_h
            label = f"{i + 1}  {shape_class.name}  ({len(shape_class.examples)})"
            text.blit(target, label, layout.pt(x + 20, cy + row_h / 2), layout.px(18), INK, anchor="midleft",
                      max_width=layout.px(190))
            size = min(THUMB, row_h - 6)
            for j, example in enumerate(shape_class.examples[-THUMBS_SHOWN:]):
                _draw_outline(target, layout, [s.tolist() for s in example.outline.strokes],
                              (x + 220 + j * (size + 10), cy + (row_h - size) / 2, size), INK)
        if not language.classes:
            text.blit(target, "No classes yet: draw a shape, then press N and name its class (e.g. timbre=brass).",
                      layout.pt(x + 20, row_y + 10), layout.px(18), MUTED, max_width=layout.px(w - 40))
        elif len(language.classes) > NUMBERED:
            more = f"... and {len(language.classes) - NUMBERED} more (N with a class's name adds to it)"
            text.blit(target, more, layout.pt(x + 20, y + h - 24), layout.px(16), MUTED)


def _draw_outline(target: pygame.Surface, layout: Layout, strokes: list[list[Any]],
                  box: tuple[float, float, float], color: tuple[int, int, int]) -> None:
    """Strokes (lists of (x, y), any units) scaled into a square of `box` = (x, y, side) design px."""
    points = [p for stroke in strokes for p in stroke]
    if not points:
        return
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    bx, by, side = box
    pygame.draw.rect(target, (242, 242, 246), layout.rect(bx, by, side, side), border_radius=layout.px(4))
    inner = side - 8
    ox = bx + 4 + (inner - (max(xs) - min(xs)) / span * inner) / 2
    oy = by + 4 + (inner - (max(ys) - min(ys)) / span * inner) / 2
    for stroke in strokes:
        mapped = [layout.pt(ox + (p[0] - min(xs)) / span * inner, oy + (p[1] - min(ys)) / span * inner) for p in stroke]
        if len(mapped) > 1:
            pygame.draw.lines(target, color, False, mapped, max(layout.px(1.5), 1))


def _saved(current: Any) -> Path:
    """Write the session's language file; its path."""
    current.save()
    path: Path = current.path
    return path
