"""Which voices may still be sounding, so that a cut (undo, clear, a new voice beyond the limit) is announced.

A voice is a stroke id (0: a trigger). The engine does not know how long a sample rings, so a voice
counts as sounding from its first play until it is cut; beyond `limit` voices, the oldest is cut
(stolen) when a new one starts. Every receiver obeys the same `/pict2audio/voice/stop`, so Pd, Max and
local playback agree on which voices sound.
"""

from __future__ import annotations

from collections.abc import Callable

from bridge.core.drawing import Stroke

VOICE_LIMIT_RANGE = range(1, 65)
_GONE = object()  # what stop() finds for a voice that is not sounding


class Voices:
    """Sounding voice ids, oldest first, each with its stroke (None for a trigger)."""

    def __init__(self, *, limit: int) -> None:
        if isinstance(limit, bool) or limit not in VOICE_LIMIT_RANGE:
            raise ValueError(f"voices: expected {VOICE_LIMIT_RANGE[0]}..{VOICE_LIMIT_RANGE[-1]}, got {limit!r}")
        self.limit = limit
        self._strokes: dict[int, Stroke | None] = {}

    def ids(self) -> tuple[int, ...]:
        return tuple(self._strokes)

    def start(self, voice_id: int, stroke: Stroke | None) -> list[int]:
        """Count a voice as sounding (a retrigger keeps its place); returns the ids it steals."""
        if voice_id in self._strokes:
            self._strokes[voice_id] = stroke
            return []
        stolen = []
        while len(self._strokes) >= self.limit:
            oldest = next(iter(self._strokes))
            del self._strokes[oldest]
            stolen.append(oldest)
        self._strokes[voice_id] = stroke
        return stolen

    def update_stroke(self, voice_id: int, stroke: Stroke) -> None:
        """The voice's stroke as finished, so an undo that removes it finds it."""
        if voice_id in self._strokes:
            self._strokes[voice_id] = stroke

    def stop(self, voice_id: int) -> bool:
        """Stop one voice (a score note's end); False when it no longer sounds (cut or stolen before)."""
        return self._strokes.pop(voice_id, _GONE) is not _GONE

    def cut(self, keep: Callable[[Stroke | None], bool] = lambda stroke: False) -> list[int]:
        """Stop every voice whose stroke `keep` rejects (all of them by default); returns their ids."""
        cut = [voice_id for voice_id, stroke in self._strokes.items() if not keep(stroke)]
        for voice_id in cut:
            del self._strokes[voice_id]
        return cut
