"""The session state machine: pen and control events in, OSC bundles out.

The engine is synchronous and deterministic: time is a parameter (`t_ms`, ms since the drawing
started), and classification is scheduled by drawing time, not wall time (at pen down, then
whenever `classify_interval_ms` of drawing time has passed, and at pen up). So the live canvas,
a replay of the saved drawing and a test all get the same bundles from the same events.

The classifier and matcher are injected callables:
    classify(image: np.ndarray (400, 400, 3) uint8) -> Prediction
    match(prediction: Prediction, overrides: Overrides, *, rotation: int) -> Match
`rotation` is the number of pen strokes finished so far, so repeated strokes can rotate among
equally good samples while replay stays exact.

An exception from the classifier or matcher never escapes: it is logged, kept in `errors`, and the
engine goes on with its last good prediction and match (a live performance must not die).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bridge.core import protocol
from bridge.core.bank import Match
from bridge.core.drawing import Control, Drawing, Point, Stroke
from bridge.core.labels import CLASSES, HEADS, NO_OVERRIDES, Overrides, Prediction
from bridge.core.raster import CanvasRaster

log = logging.getLogger(__name__)

Classify = Callable[[np.ndarray], Prediction]
MatchFn = Callable[..., Match]


@dataclass(frozen=True)
class EngineConfig:
    classify_interval_ms: float = 30.0  # at most one live classification per this much drawing time
    max_errors_kept: int = 20


def quantise_ms(t_ms: float) -> float:
    """Times are kept to 0.001 ms, as the saved drawing keeps them, so live and replay agree exactly."""
    return round(float(t_ms), 3)


def uniform_prediction() -> Prediction:
    """What the engine assumes before anything is drawn (every class equally likely)."""
    return Prediction.from_probabilities(*([1.0 / len(CLASSES[h])] * len(CLASSES[h]) for h in HEADS))


class Engine:
    """Owns the drawing, its raster, the overrides and the last prediction and match."""

    def __init__(self, *, classify: Classify, match: MatchFn, config: EngineConfig | None = None) -> None:
        self._classify = classify
        self._match = match
        self.config = config or EngineConfig()
        self.raster = CanvasRaster()
        self.drawing = Drawing()
        self.overrides: Overrides = NO_OVERRIDES
        self.prediction: Prediction | None = None
        self.current_match: Match | None = None
        self.errors: list[str] = []
        self._stroke: Stroke | None = None
        self._stroke_id = 0
        self._pen_strokes_done = 0
        self._last_classified_ms = -float("inf")
        self._dirty = False

    # -- pen events -------------------------------------------------------------------------

    @property
    def drawing_now(self) -> Drawing:
        """The drawing including the stroke in progress."""
        return self.drawing if self._stroke is None else self.drawing.with_stroke(self._stroke)

    @property
    def stroke_in_progress(self) -> bool:
        return self._stroke is not None

    def pen_down(
        self, *, x: float, y: float, t_ms: float, color: str, width_px: float, tool: str = "pen"
    ) -> protocol.Bundle:
        t_ms = quantise_ms(t_ms)
        if self._stroke is not None:  # a lost pen-up: finish the old stroke first, silently
            self._finish_stroke()
        self._stroke_id += 1
        self._stroke = Stroke((Point(x, y, t_ms),), color, width_px, tool)
        self.raster.begin_stroke(self._stroke)
        self._dirty = True
        messages = [protocol.stroke_begin_message(self._stroke_id), *self._classify_and_match(t_ms)]
        return protocol.Bundle(tuple(messages), t_ms)

    def pen_move(self, *, x: float, y: float, t_ms: float) -> protocol.Bundle | None:
        if self._stroke is None:
            return None
        point = Point(x, y, max(quantise_ms(t_ms), self._stroke.points[-1].t_ms))
        self._stroke = self._stroke.with_point(point)
        self.raster.extend_stroke([point])
        self._dirty = True
        if point.t_ms - self._last_classified_ms < self.config.classify_interval_ms:
            return None
        messages = self._classify_and_match(point.t_ms)
        return protocol.Bundle(tuple(messages), point.t_ms) if messages else None

    def pen_up(self, *, t_ms: float) -> protocol.Bundle | None:
        if self._stroke is None:
            return None
        t_ms = quantise_ms(t_ms)
        stroke = self._stroke
        messages = self._classify_and_match(t_ms)
        self._finish_stroke()
        if stroke.tool == "pen":
            self._pen_strokes_done += 1
            if self.current_match is not None:
                messages.append(protocol.play_message(self.current_match))
        messages.append(protocol.stroke_end_message(self._stroke_id))
        return protocol.Bundle(tuple(messages), t_ms)

    def _finish_stroke(self) -> None:
        assert self._stroke is not None
        self.drawing = self.drawing.with_stroke(self._stroke)
        self._stroke = None

    # -- controls ---------------------------------------------------------------------------

    def set_override(self, head: str, value: object, *, t_ms: float) -> protocol.Bundle:
        """Force one label (value None releases it); re-matches at once."""
        t_ms = quantise_ms(t_ms)
        self.overrides = self.overrides.set(head, value)
        self.drawing = self.drawing.with_control(Control(t_ms, "override", head, value))  # type: ignore[arg-type]
        return self._overrides_changed(t_ms)

    def release_overrides(self, *, t_ms: float) -> protocol.Bundle:
        t_ms = quantise_ms(t_ms)
        self.overrides = NO_OVERRIDES
        self.drawing = self.drawing.with_control(Control(t_ms, "release"))
        return self._overrides_changed(t_ms)

    def trigger(self, *, t_ms: float) -> protocol.Bundle:
        """Play the current match now (or, on an empty canvas, whatever the overrides select)."""
        t_ms = quantise_ms(t_ms)
        self.drawing = self.drawing.with_control(Control(t_ms, "trigger"))
        messages = []
        if self.current_match is None:
            messages.extend(self._rematch())
        if self.current_match is not None:
            messages.append(protocol.play_message(self.current_match))
        return protocol.Bundle(tuple(messages), t_ms)

    def clear(self, *, t_ms: float) -> protocol.Bundle:
        t_ms = quantise_ms(t_ms)
        count = len(self.drawing_now.strokes)
        self.load_drawing(Drawing(meta=self.drawing.meta), t_ms=t_ms, emit=False)
        return protocol.Bundle((protocol.clear_message(count),), t_ms)

    def load_drawing(self, drawing: Drawing, *, t_ms: float, emit: bool = True) -> protocol.Bundle | None:
        """Replace the whole drawing (undo, redo, open); re-classifies unless it is empty."""
        t_ms = quantise_ms(t_ms)
        self._stroke = None
        self.drawing = drawing
        self.raster.clear()
        self.raster.draw(drawing)
        self.prediction = None
        self.current_match = None
        self._last_classified_ms = -float("inf")
        self._dirty = bool(drawing.strokes)
        if not emit or not drawing.strokes:
            return None
        messages = self._classify_and_match(t_ms)
        return protocol.Bundle(tuple(messages), t_ms) if messages else None

    # -- classification and matching --------------------------------------------------------

    def _overrides_changed(self, t_ms: float) -> protocol.Bundle:
        messages = [protocol.override_message(self.overrides)]
        if self.prediction is not None or self.overrides.active():
            messages.extend(self._rematch())
        return protocol.Bundle(tuple(messages), t_ms)

    def _classify_and_match(self, t_ms: float) -> list[protocol.Message]:
        """Classify the canvas if it changed; return the labels (and match, if it changed) messages."""
        if not self._dirty:
            return []
        self._last_classified_ms = t_ms
        self._dirty = False
        try:
            self.prediction = self._classify(self.raster.image())
        except Exception as exc:  # contained: keep the last good prediction
            self._record_error("classifier", exc)
            return []
        return [protocol.labels_message(self.prediction), *self._rematch()]

    def _rematch(self) -> list[protocol.Message]:
        """Re-run the matcher; a message only when the chosen sample changes."""
        prediction = self.prediction or uniform_prediction()
        try:
            new = self._match(prediction, self.overrides, rotation=self._pen_strokes_done)
        except Exception as exc:  # contained: keep the last good match
            self._record_error("matcher", exc)
            return []
        changed = self.current_match is None or new.sample.path != self.current_match.sample.path
        self.current_match = new
        return [protocol.match_message(new)] if changed else []

    def _record_error(self, where: str, exc: Exception) -> None:
        text = f"{where}: {type(exc).__name__}: {exc}"
        log.error("%s (the session goes on with its last good state)", text, exc_info=log.isEnabledFor(logging.DEBUG))
        self.errors.append(text)
        del self.errors[: -self.config.max_errors_kept]
