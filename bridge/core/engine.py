"""The session state machine: events in (`bridge.core.events`), one OSC bundle per event out.

Every pen stroke is its own voice (SPEC §2, §4), identified by its stroke id. In `stroke` mode a voice
is classified from its own ink alone (the stroke rasterised by itself), matched on its own, and its
labels, match and play messages carry its id; other strokes never change them. In `canvas` mode the
whole picture is classified, as one picture makes one sound.

With onset `down` a voice plays when the pen touches (the first dab already gives band, width and
colour); if its match changes while it is drawn, a new match and play go out under the same id, so a
receiver retriggers (or glides) that voice. With onset `up` it plays once, at pen up.

The engine is synchronous and deterministic: time is a parameter (`t_ms`, ms since the drawing
started) and classification is scheduled by drawing time, not wall time (at pen down, then whenever
`classify_interval_ms` of drawing time has passed, and at pen up). So the live canvas, a replay of
the saved drawing and a test all get the same bundles from the same events.

The classifier and matcher are injected callables:
    classify(raster: CanvasRaster) -> Prediction   (of its canvas: raster.pixels(), uint8 (400, 400, 3))
    match(prediction: Prediction, overrides: Overrides, *, rotation: int, register: int, unpitched: bool) -> Match
`rotation` is the number of pen strokes begun before the voice, so repeated strokes can rotate among
equally good samples while replay stays exact. `register` is the octave the matcher prefers among equally
good samples (bridge.core.bank; `SetRegister` changes it, recorded like an override; a session starting in
another register than the canvas's own records it at t_ms 0, again after a clear); `unpitched` False
(`EngineConfig.unpitched`) keeps unpitched samples (drums, noise) out.

With a palette (`EngineConfig.palette`, kept in the drawing: a loaded drawing brings its own), the timbre
is the composer's, not the model's: a stroke voice's is its pen colour's nearest palette colour, the whole
canvas's comes from its ink colours (bridge.core.palette); pitch and volume still come from the model.

With a taught language (bridge.core.language; `gestures`, an injected callable, or `SetLanguage`), a pen
stroke's voice is also recognised as a shape at pen up, together with the strokes just drawn before it:
    gestures(strokes: Sequence[Stroke], the drawing's strokes up to the one just finished) -> Gesture | None
A recognised gesture sets its head's label (pitch, volume or timbre) for the voice, which sends its labels
(and match, and with onset down its play) again; the voices of the shape's earlier strokes stop, so the
shape sounds as one voice. Stroke mode only; score notes of an opened drawing's strokes get the same.

An exception from the classifier, matcher or gestures never escapes: it is logged, kept in `errors`, and the
engine goes on with its last good prediction and match (a live performance must not die).

Score notes (bridge.core.score): `ScoreNoteOn` plays a stroke as a new voice (the next id), with what the
stroke's own voice played (else its ink classified alone, once); `ScoreNoteOff` stops that voice if it still
sounds; `ScoreState` stopped cuts every sounding score note. The events carry their due times, so the live
scheduler, an offline bounce and a test get the same bundles.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bridge.core import protocol
from bridge.core.bank import CANVAS_REGISTER, Match
from bridge.core.drawing import Drawing, PlayMode, Point, Stroke
from bridge.core.events import (
    Clear,
    ControlEvent,
    EditPage,
    Event,
    LoadDrawing,
    PenDown,
    PenMove,
    PenUp,
    ReleaseOverrides,
    ScoreNoteOff,
    ScoreNoteOn,
    ScorePlayhead,
    ScoreState,
    ScoreTransport,
    SetLanguage,
    SetOverride,
    SetRegister,
    TransportControl,
    Trigger,
)
from bridge.core.labels import CLASSES, HEADS, NO_OVERRIDES, Overrides, Prediction
from bridge.core.palette import Palette
from bridge.core.raster import CanvasRaster
from bridge.core.voices import Voices

log = logging.getLogger(__name__)

Classify = Callable[[CanvasRaster], Prediction]
Gestures = Callable[[Sequence[Stroke]], Any]  # -> bridge.core.language.Gesture | None
MatchFn = Callable[..., Match]
TRIGGER_VOICE = 0  # the voice id of a trigger that belongs to no stroke


@dataclass(frozen=True)
class EngineConfig:
    mode: PlayMode = field(default_factory=PlayMode)
    palette: Palette | None = None  # the composer's colours (bridge.core.palette); None: the model's timbre
    classify_interval_ms: float = 30.0  # at most one live classification per this much drawing time
    max_voices: int = 16  # sounding voices; a new one beyond this cuts the oldest
    max_errors_kept: int = 20
    register: int = CANVAS_REGISTER  # the register matching starts in ([engine] register, --register)
    unpitched: bool = True  # unpitched samples may answer ([bank] unpitched, --no-unpitched)


def uniform_prediction() -> Prediction:
    """What the engine assumes before anything is drawn (every class equally likely)."""
    return Prediction.from_probabilities(*([1.0 / len(CLASSES[h])] * len(CLASSES[h]) for h in HEADS))


@dataclass
class _Voice:
    """The stroke being drawn and what it has sent so far. Its points grow in a list (a long stroke
    costs one append per point); `stroke()` makes the immutable Stroke when it is needed."""

    stroke_id: int
    points: list[Point]
    pen: PenDown
    rotation: int
    prediction: Prediction | None = None
    match: Match | None = None
    played_path: str | None = None
    classified_ms: float = -float("inf")
    dirty: bool = True
    gesture: Any = None  # the shape it completes (bridge.core.language.Gesture), known at pen up

    @property
    def sounds(self) -> bool:
        return self.pen.tool == "pen"

    def stroke(self) -> Stroke:
        return Stroke(tuple(self.points), self.pen.color, self.pen.width_px, self.pen.tool)


class Engine:
    """Owns the drawing, the voice being drawn, the sounding voices, the overrides and the last match."""

    def __init__(self, *, classify: Classify, match: MatchFn, config: EngineConfig | None = None,
                 gestures: Gestures | None = None) -> None:
        self._classify = classify
        self._match = match
        self._gestures = gestures
        self.gesture: Any = None  # the shape the latest voice completed (bridge.core.language.Gesture), or None
        self.config = config or EngineConfig()
        self.raster = CanvasRaster()  # stroke mode: the voice's own ink; canvas mode: the whole picture
        self._page = Drawing(mode=self.config.mode, palette=self.config.palette)  # size, meta, mode, palette
        self._strokes: list[Stroke] = []  # finished strokes and recorded controls grow in place
        self._controls: list[ControlEvent] = []
        self.overrides: Overrides = NO_OVERRIDES
        self.register = self.config.register
        self._record_register()
        self.prediction: Prediction | None = None  # of the latest voice (what a trigger plays)
        self.current_match: Match | None = None
        self.errors: list[str] = []
        self._voice: _Voice | None = None
        self._last_id = 0
        self._pen_strokes = 0
        self._voices = Voices(limit=self.config.max_voices)
        self._score_raster = CanvasRaster()  # a score note's stroke, classified alone
        self._score_matches: dict[Stroke, Match | None] = {}  # per stroke: what its score notes play
        self._score_notes: dict[int, int] = {}  # sounding score notes: note key -> voice id

    @property
    def mode(self) -> PlayMode:
        return self.config.mode

    @property
    def drawing(self) -> Drawing:
        """The finished strokes and the recorded controls, as a saved drawing holds them."""
        return replace(self._page, strokes=tuple(self._strokes), controls=tuple(self._controls))

    @drawing.setter
    def drawing(self, drawing: Drawing) -> None:
        self._page = replace(drawing, strokes=(), controls=())
        self._strokes = list(drawing.strokes)
        self._controls = list(drawing.controls)

    def sounding_voices(self) -> tuple[int, ...]:
        """Ids of the voices that may still sound, oldest first."""
        return self._voices.ids()

    def handle(self, event: Event) -> protocol.Bundle | None:
        """Run one event; returns the bundle it causes (None or empty when it causes nothing)."""
        if event.t_ms is None:
            raise ValueError(f"{type(event).__name__} has no t_ms; the session stamps it when posted")
        t_ms = event.t_ms
        if isinstance(event, PenDown):
            messages = self._pen_down(event)
        elif isinstance(event, PenMove):
            messages = self._pen_move(event)
        elif isinstance(event, PenUp):
            messages = self._pen_up(t_ms)
        elif isinstance(event, SetOverride | ReleaseOverrides):
            messages = self._set_overrides(event)
        elif isinstance(event, SetRegister):
            messages = self._set_register(event)
        elif isinstance(event, Trigger):
            messages = self._trigger(event)
        elif isinstance(event, Clear):
            messages = self._clear()
        elif isinstance(event, LoadDrawing):
            messages = self._load(event.drawing)
        elif isinstance(event, EditPage):
            messages = self._edit_page(event)
        elif isinstance(event, ScoreNoteOn | ScoreNoteOff | ScoreState | ScorePlayhead):
            messages = self._score(event)
        elif isinstance(event, ScoreTransport):
            messages = self._record_transport(event)
        elif isinstance(event, SetLanguage):
            messages = self._set_language(event)
        else:
            raise TypeError(f"not an engine event: {event!r}")
        due = getattr(event, "due_unix_s", None)
        return protocol.Bundle(tuple(messages), t_ms, due_unix_s=due) if messages else None

    def use_matcher(self, match: MatchFn) -> None:
        """Match with `match` from the next match on (a bank whose labels the composer corrected). Another
        thread may call it: the engine reads the matcher once per match."""
        self._match = match

    def finished_strokes(self) -> tuple[Stroke, ...]:
        """The finished strokes now (a copy; another thread may read it, e.g. the score player)."""
        return tuple(self._strokes)

    # -- pen events -------------------------------------------------------------------------

    def _pen_down(self, event: PenDown) -> list[protocol.Message]:
        assert event.t_ms is not None
        if self._voice is not None:  # a lost pen-up: finish the old stroke first, silently
            self._finish_stroke()
        self._last_id += 1
        self.gesture = None
        stroke = Stroke((Point(event.x, event.y, event.t_ms),), event.color, event.width_px, event.tool)
        self._voice = _Voice(self._last_id, list(stroke.points), event, rotation=self._pen_strokes)
        if stroke.tool == "pen":
            self._pen_strokes += 1
        if self.mode.label_by == "stroke":
            self.raster.clear()
        self.raster.begin_stroke(stroke)
        messages = [protocol.stroke_begin_message(self._last_id)]
        if self.mode.label_by == "canvas" or self._voice.sounds:
            messages += self._classify_voice(event.t_ms)
        if self.mode.onset == "down":
            messages += self._play_voice()
        return messages

    def _pen_move(self, event: PenMove) -> list[protocol.Message]:
        voice = self._voice
        if voice is None:
            return []
        assert event.t_ms is not None
        point = Point(event.x, event.y, max(event.t_ms, voice.points[-1].t_ms))
        voice.points.append(point)
        if self.raster.extend_stroke([point]):
            voice.dirty = True
        if point.t_ms - voice.classified_ms < self.config.classify_interval_ms:
            return []
        return self._update_voice(point.t_ms)

    def _pen_up(self, t_ms: float) -> list[protocol.Message]:
        voice = self._voice
        if voice is None:
            return []
        stops = self._recognise_shape(voice)
        messages = self._update_voice(t_ms)
        if self.mode.onset == "up":
            messages += self._play_voice()
        self._finish_stroke()
        return [*stops, *messages, protocol.stroke_end_message(voice.stroke_id)]

    def _recognise_shape(self, voice: _Voice) -> list[protocol.Message]:
        """At pen up: the taught shape this stroke completes, if any. The voice is classified again with its
        label; the voices of the shape's earlier strokes stop (their stop messages are returned)."""
        if self._gestures is None or not voice.sounds or self.mode.label_by != "stroke":
            return []
        strokes = [*self._strokes, voice.stroke()]
        self.gesture = voice.gesture = self._shape_of(strokes)
        if voice.gesture is None:
            return []
        voice.dirty = True
        earlier = set(strokes[-voice.gesture.strokes:-1])
        return [*map(protocol.voice_stop_message, self._voices.cut(lambda stroke: stroke not in earlier))]

    def _shape_of(self, strokes: list[Stroke]) -> Any:
        """The gesture the last of `strokes` completes (None without a language, or when none matches)."""
        if self._gestures is None:
            return None
        try:
            return self._gestures(strokes)
        except Exception as exc:  # contained: the fixed rules label the voice
            self._record_error("gestures", exc)
            return None

    def _set_language(self, event: SetLanguage) -> list[protocol.Message]:
        """Recognise shapes with another language from the next pen up on; the drawing records it."""
        self._gestures = event.recognise
        meta = {key: value for key, value in self._page.meta.items() if key != "language"}
        if event.record is not None:
            meta["language"] = dict(event.record)
        self._page = replace(self._page, meta=meta)
        return []

    def _update_voice(self, t_ms: float) -> list[protocol.Message]:
        """Re-classify the voice being drawn; with onset down, replay it when its match changed."""
        voice = self._voice
        assert voice is not None
        if self.mode.label_by == "stroke" and not voice.sounds:
            return []
        messages = self._classify_voice(t_ms)
        if self.mode.onset == "down" and voice.played_path is not None:
            messages += self._play_voice()
        return messages

    def _finish_stroke(self) -> None:
        voice = self._voice
        assert voice is not None
        stroke = voice.stroke()
        self._strokes.append(stroke)
        self._voices.update_stroke(voice.stroke_id, stroke)
        if self.mode.label_by == "stroke" and voice.sounds and voice.match is not None:
            self._score_matches[stroke] = voice.match  # its score notes play what its own voice played
        self._voice = None

    # -- voices -----------------------------------------------------------------------------

    def _classify_voice(self, t_ms: float) -> list[protocol.Message]:
        """Classify the voice's ink (or the canvas) if it changed; labels, and match if it changed."""
        voice = self._voice
        assert voice is not None
        if not voice.dirty:
            return []
        voice.classified_ms = t_ms
        voice.dirty = False
        try:
            voice.prediction = self._classify_ink(voice.pen.color if self.mode.label_by == "stroke" else None)
        except Exception as exc:  # contained: keep the last good prediction
            self._record_error("classifier", exc)
            return []
        if voice.gesture is not None:
            voice.prediction = voice.gesture.apply(voice.prediction)
        self.prediction = voice.prediction
        return [protocol.labels_message(voice.prediction, voice.stroke_id), *self._rematch_voice(voice)]

    def _rematch_voice(self, voice: _Voice) -> list[protocol.Message]:
        if voice.prediction is None:
            return []
        new = self._try_match(voice.prediction, rotation=voice.rotation)
        if new is None:
            return []
        changed = voice.match is None or new.sample.path != voice.match.sample.path
        voice.match = self.current_match = new
        return [protocol.match_message(new, voice.stroke_id)] if changed else []

    def _play_voice(self) -> list[protocol.Message]:
        """Play the voice being drawn unless it already plays its current match."""
        voice = self._voice
        assert voice is not None
        if not voice.sounds or voice.match is None or voice.match.sample.path == voice.played_path:
            return []
        voice.played_path = voice.match.sample.path
        return self._sound(voice.stroke_id, voice.stroke(), voice.match)

    def _sound(self, voice_id: int, stroke: Stroke | None, match: Match) -> list[protocol.Message]:
        """Play a voice; the voices it steals beyond the limit are cut in the same bundle."""
        stolen = self._voices.start(voice_id, stroke)
        return [*map(protocol.voice_stop_message, stolen), protocol.play_message(match, voice_id)]

    # -- controls ---------------------------------------------------------------------------

    def _record(self, control: ControlEvent) -> None:
        self._controls.append(control)

    def _set_overrides(self, event: SetOverride | ReleaseOverrides) -> list[protocol.Message]:
        """Set or release overrides; the voice being drawn (or the trigger's match) is matched again."""
        self._record(event)
        if isinstance(event, SetOverride):
            self.overrides = self.overrides.set(event.head, event.value)
        else:
            self.overrides = NO_OVERRIDES
        return [protocol.override_message(self.overrides), *self._rematch_after_control()]

    def _set_register(self, event: SetRegister) -> list[protocol.Message]:
        """Prefer another register; the voice being drawn (or the trigger's match) is matched again."""
        self._record(event)
        self.register = event.register
        return self._rematch_after_control()

    def _record_register(self) -> None:
        """A drawing that starts in another register than the canvas's own says so at its start (t_ms 0)."""
        if self.register != CANVAS_REGISTER:
            self._record(SetRegister(t_ms=0.0, register=self.register))

    def _rematch_after_control(self) -> list[protocol.Message]:
        """A control changed what matches: the voice being drawn is matched again (and played again with
        onset down when it sounds), else the trigger's match."""
        voice = self._voice
        if voice is not None and (self.mode.label_by == "canvas" or voice.sounds):
            messages = self._rematch_voice(voice)
            if self.mode.onset == "down" and voice.played_path is not None:
                messages += self._play_voice()
            return messages
        if self.prediction is not None or self.overrides.active():
            return self._rematch_trigger()
        return []

    def _trigger(self, event: Trigger) -> list[protocol.Message]:
        """Play the current match now as voice 0 (on an empty canvas, whatever the overrides select)."""
        self._record(event)
        messages = []
        if self.current_match is None:
            messages += self._rematch_trigger()
        if self.current_match is None:
            return messages
        return [*messages, *self._sound(TRIGGER_VOICE, None, self.current_match)]

    def _rematch_trigger(self) -> list[protocol.Message]:
        """Match the latest prediction (no voice being drawn): what a trigger plays, sent as voice 0."""
        new = self._try_match(self.prediction or uniform_prediction(), rotation=self._pen_strokes)
        if new is None:
            return []
        changed = self.current_match is None or new.sample.path != self.current_match.sample.path
        self.current_match = new
        return [protocol.match_message(new, TRIGGER_VOICE)] if changed else []

    def _clear(self) -> list[protocol.Message]:
        count = len(self._strokes) + (self._voice is not None)
        stops = [*map(protocol.voice_stop_message, self._voices.cut())]
        self._reset(Drawing(meta=self._page.meta, mode=self.mode, palette=self._page.palette))
        self._record_register()
        return [*stops, protocol.clear_message(count)]

    def _edit_page(self, event: EditPage) -> list[protocol.Message]:
        """Undo or redo: the page holds these strokes now (voices of strokes that left it are cut). The strokes
        that left are kept as undone and the edit is recorded, so a replay draws them and repeats it."""
        kept = set(event.strokes)
        drawn = [*self._strokes, *self._page.undone]
        messages = self._load(replace(self.drawing, strokes=event.strokes))
        self._page = replace(self._page, undone=tuple(stroke for stroke in drawn if stroke not in kept))
        self._record(event)
        return messages

    def _load(self, drawing: Drawing) -> list[protocol.Message]:
        """Replace the whole drawing (open, or a page edit); voices of strokes that left it are cut."""
        kept = set(drawing.strokes)
        stops = [*map(protocol.voice_stop_message, self._voices.cut(lambda stroke: stroke is None or stroke in kept))]
        self._reset(replace(drawing, mode=self.mode))
        if self.mode.label_by == "canvas" and drawing.strokes:
            return [*stops, *self._classify_canvas()]
        return stops

    def _reset(self, drawing: Drawing) -> None:
        self._voice = None
        kept = set(drawing.strokes)  # a stroke that left the drawing needs no cached score match
        self._score_matches = {s: m for s, m in self._score_matches.items() if s in kept}
        language = self._page.meta.get("language")  # the session's (SetLanguage), whatever the drawing says
        self.drawing = drawing
        if language is not None and drawing.meta.get("language") != language:
            self._page = replace(self._page, meta={**drawing.meta, "language": language})
        self.raster.clear()
        self.prediction = None
        self.current_match = None
        self.gesture = None
        if self.mode.label_by == "canvas":
            self.raster.draw(drawing)

    def _classify_canvas(self) -> list[protocol.Message]:
        """Canvas mode after a load: the whole picture's labels and match, as voice 0."""
        try:
            self.prediction = self._classify_ink(None)
        except Exception as exc:
            self._record_error("classifier", exc)
            return []
        return [protocol.labels_message(self.prediction, TRIGGER_VOICE), *self._rematch_trigger()]

    # -- the score (bridge.core.score) ----------------------------------------------------------

    def _score(self, event: ScoreNoteOn | ScoreNoteOff | ScoreState | ScorePlayhead) -> list[protocol.Message]:
        if isinstance(event, ScoreNoteOn):
            return self._score_note_on(event)
        if isinstance(event, ScoreNoteOff):
            voice_id = self._score_notes.pop(event.note, None)
            stopped = voice_id is not None and self._voices.stop(voice_id)
            return [protocol.voice_stop_message(voice_id)] if stopped else []  # type: ignore[arg-type]
        if isinstance(event, ScorePlayhead):
            return [protocol.playhead_message(event.position)]
        stops: list[protocol.Message] = []
        if event.state == "stopped":  # every score note still sounding ends with the transport
            notes, self._score_notes = self._score_notes, {}
            stops = [protocol.voice_stop_message(v) for v in notes.values() if self._voices.stop(v)]
        return [*stops, protocol.transport_message(event.state, event.bpm)]

    def _record_transport(self, event: ScoreTransport) -> list[protocol.Message]:
        """Record a transport control the score player applied; the first of a take also records the score
        settings it started from, so a replay starts the performance where it started. Sends nothing."""
        if not any(isinstance(control, TransportControl) for control in self._controls):
            self._page = replace(self._page, score=event.settings)
        self._record(event.control)
        return []

    def _score_note_on(self, event: ScoreNoteOn) -> list[protocol.Message]:
        """A score note: its stroke plays its match as a new voice, with the next id of the session."""
        match = self._score_match(event.stroke)
        if match is None:
            return []
        self._last_id += 1
        self._score_notes[event.note] = self._last_id
        return self._sound(self._last_id, event.stroke, match)

    def _score_match(self, stroke: Stroke) -> Match | None:
        """What a stroke's score notes play: its own voice's match when it was drawn in this session (stroke
        mode), else its ink classified alone and matched once (rotation: its place among the pen strokes)."""
        if stroke in self._score_matches:
            return self._score_matches[stroke]
        self._score_raster.clear()
        self._score_raster.begin_stroke(stroke)
        try:
            prediction = self._classify_ink(stroke.color, self._score_raster)
        except Exception as exc:  # contained: the note stays silent, the score goes on
            self._record_error("classifier", exc)
            return None
        if self.mode.label_by == "stroke" and stroke in self._strokes:
            gesture = self._shape_of(self._strokes[: self._strokes.index(stroke) + 1])
            prediction = prediction if gesture is None else gesture.apply(prediction)
        pens = [s for s in self._strokes if s.tool == "pen"]
        rotation = pens.index(stroke) if stroke in pens else self._pen_strokes
        match = self._try_match(prediction, rotation=rotation)
        if match is not None:
            self._score_matches[stroke] = match
        return match

    # -- shared -----------------------------------------------------------------------------

    def _classify_ink(self, color: str | None, raster: CanvasRaster | None = None) -> Prediction:
        """Classify the raster's image (the voice's own ink, or the canvas). With a palette, the timbre is its
        colour's: the stroke's `color` when one stroke is classified, else the image's ink colours."""
        raster = raster or self.raster
        prediction = self._classify(raster)
        palette = self._page.palette
        return prediction if palette is None else palette.apply(prediction, raster.pixels(), color)

    def _try_match(self, prediction: Prediction, *, rotation: int) -> Match | None:
        try:
            return self._match(prediction, self.overrides, rotation=rotation, register=self.register,
                               unpitched=self.config.unpitched)
        except Exception as exc:  # contained: keep the last good match
            self._record_error("matcher", exc)
            return None

    def _record_error(self, where: str, exc: Exception) -> None:
        text = f"{where}: {type(exc).__name__}: {exc}"
        log.error("%s (the session goes on with its last good state)", text, exc_info=log.isEnabledFor(logging.DEBUG))
        self.errors.append(text)
        del self.errors[: -self.config.max_errors_kept]
