"""Standard MIDI Files: controller moves read from one, and the tempo map of one written from a session.

`midi_file_controls` reads controller moves as timed control events for `replay --midi-file`: the file goes
through the same `MidiMapper` as a live controller; times come from the file's tempo map (mido converts ticks
to seconds while iterating), so t_ms 0 is the start of the file.

`TempoMap` gives a file written from a session's bundles (`score --midi`, `replay --midi`) the score's tempo:
a set_tempo from every tempo the score's transport messages (/pict2audio/transport) name, and ticks counted
from those tempi, so the file's beats and 4/4 bar lines are the score's at any bpm (a pass of N bars starts on
a bar line when the file starts where the score does).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bridge.core.events import ControlEvent, TransportControl
from bridge.core.midi_mapping import MidiMapper, MidiMapping
from bridge.core.protocol import Bundle
from bridge.errors import BridgeError

log = logging.getLogger(__name__)


def midi_file_controls(path: Path | str, mapping: MidiMapping | None = None, *,
                       offset_ms: float = 0.0) -> tuple[ControlEvent, ...]:
    """Controls (override / release / trigger) caused by the file's messages, in time order."""
    import mido

    try:
        midi_file = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError) as exc:
        raise BridgeError(f"MIDI file {path} cannot be read ({exc}); expected a Standard MIDI File (.mid)") from exc
    if midi_file.type == 2:
        raise BridgeError(f"MIDI file {path} is type 2 (independent tracks); save it as type 0 or 1")
    mapper = MidiMapper(mapping or MidiMapping())
    controls: list[ControlEvent] = []
    t_s = 0.0
    for msg in midi_file:  # merged tracks; msg.time = seconds since the previous message
        t_s += msg.time
        if msg.is_meta:
            continue
        controls.extend(event.at(offset_ms + t_s * 1000.0) for event in mapper.handle(msg.dict())
                        if not isinstance(event, TransportControl))  # a file's transport is not a control
    log.info("MIDI file %s: %d controls over %.1f s", path, len(controls), t_s)
    return tuple(controls)


DEFAULT_BPM = 120.0  # a file of a session without a score


def tempo_us(bpm: float) -> int:
    """The set_tempo value of a tempo: microseconds per quarter note, whole."""
    return round(60_000_000 / bpm)


@dataclass(frozen=True)
class TempoMap:
    """Where a Standard MIDI File's tempo changes: (t_ms, tick, microseconds per beat), the first at 0 ms and tick 0.

    A change's tick is counted from the one before at that one's tempo (rounded to a whole tick once, so rounding
    never adds up); a time's tick is counted from the change before it."""

    ticks_per_beat: int
    changes: tuple[tuple[float, int, int], ...]

    @classmethod
    def of(cls, timed_bundles: Iterable[tuple[float, Bundle]], ticks_per_beat: int) -> TempoMap:
        """The tempi of the bundles' transport messages in time order; before the first, the first (none: 120)."""
        tempi = sorted((t_ms, float(message.args[1])) for t_ms, bundle in timed_bundles
                       for message in bundle.find_all("transport"))
        changes = [(0.0, 0, tempo_us(tempi[0][1] if tempi else DEFAULT_BPM))]
        for t_ms, bpm in tempi:
            if tempo_us(bpm) != changes[-1][2] and t_ms > changes[-1][0]:
                changes.append((t_ms, cls._count(changes[-1], t_ms, ticks_per_beat), tempo_us(bpm)))
        return cls(ticks_per_beat, tuple(changes))

    def ticks(self, t_ms: float) -> int:
        """The whole tick nearest a time (0 before the start)."""
        change = next((c for c in reversed(self.changes) if c[0] <= t_ms), self.changes[0])
        return max(0, self._count(change, t_ms, self.ticks_per_beat))

    def bpms(self) -> tuple[float, ...]:
        """The tempi in order, in bpm."""
        return tuple(round(60_000_000 / us, 3) for _, _, us in self.changes)

    @staticmethod
    def _count(change: tuple[float, int, int], t_ms: float, ticks_per_beat: int) -> int:
        since_ms, tick, us = change
        return tick + math.floor((t_ms - since_ms) * 1000.0 * ticks_per_beat / us + 0.5)
