"""Standard MIDI Files: controller moves read from one, and a session's notes written to one.

`midi_file_controls` reads controller moves as timed control events for `replay --midi-file`: the file goes
through the same `MidiMapper` as a live controller; times come from the file's tempo map (mido converts ticks
to seconds while iterating), so t_ms 0 is the start of the file.

`TempoMap` gives a file written from a session's bundles (`score --midi`, `replay --midi`) the score's tempo:
a set_tempo from every tempo the score's transport messages (/pict2audio/transport) name, and ticks counted
from those tempi, so the file's beats and 4/4 bar lines are the score's at any bpm (a pass of N bars starts on
a bar line when the file starts where the score does).

`write_midi_file` writes (t_ms, bundle) pairs through the live MIDI out's mapping (bridge.core.midi_out) to a
type 1 file, atomically, at those tempi (none: 120 bpm).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.adapters.atomic_write import write_atomically
from bridge.core.errors import BridgeError
from bridge.core.events import ControlEvent, TransportControl
from bridge.core.labels import TIMBRES
from bridge.core.midi_mapping import MidiMapper, MidiMapping
from bridge.core.midi_out import MidiEvent, MidiOut, MidiOutMapping, SampleLength, SampleNote, timeline
from bridge.core.protocol import Bundle

log = logging.getLogger(__name__)

TICKS_PER_BEAT = 960  # 0.52 ms a tick: every time lands within 0.26 ms of the bundle's


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


# -- writing ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MidiFileReport:
    """What write_midi_file wrote."""

    path: Path
    notes: int
    channels: tuple[int, ...]  # 1-based
    duration_s: float
    bpms: tuple[float, ...] = (120.0,)  # the tempo, or the tempi in order

    def summary(self) -> str:
        channels = ", ".join(map(str, self.channels)) or "none"
        tempi = " then ".join(f"{bpm:g}" for bpm in self.bpms)
        return (f"{self.path}: {self.notes} notes on channel(s) {channels}, {self.duration_s:.2f} s "
                f"(type 1, {tempi} bpm)")


def write_midi_file(path: str | Path, timed_bundles: Iterable[tuple[float, Bundle]], *,
                    mapping: MidiOutMapping | None = None, sample_note: SampleNote | None = None,
                    sample_length_ms: SampleLength | None = None) -> MidiFileReport:
    """Write the notes of (t_ms, bundle) pairs (t_ms from the file's start) to a type 1 Standard MIDI File.

    Track 0 holds the time signature (4/4) and the tempo map (TempoMap: the score's tempi, else 120 bpm); every
    channel used has a track of its own. Notes still sounding at the end are ended at the last event. Written
    atomically."""
    import mido

    timed_bundles = list(timed_bundles)
    tempo = TempoMap.of(timed_bundles, TICKS_PER_BEAT)
    mapping = mapping or MidiOutMapping()
    notes = MidiOut(mapping, sample_note=sample_note, sample_length_ms=sample_length_ms)
    events = timeline(timed_bundles, notes)
    midi_file = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi_file.tracks.append(mido.MidiTrack([
        mido.MetaMessage("track_name", name="Pict2Audio", time=0),
        mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
        *(mido.MetaMessage("set_tempo", tempo=us, time=tick - previous)
          for (_, tick, us), previous in zip(tempo.changes, (0, *(c[1] for c in tempo.changes)), strict=False)),
    ]))
    channels = sorted({event.channel for event in events})
    for channel in channels:
        midi_file.tracks.append(_channel_track(channel, [e for e in events if e.channel == channel], mapping, tempo))
    path = Path(path)
    try:
        write_atomically(path, lambda handle: midi_file.save(file=handle))
    except OSError as exc:
        raise BridgeError(f"MIDI file {path} cannot be written ({exc.strerror or exc})") from exc
    end_ms = max((event.t_ms for event in events), default=0.0)
    return MidiFileReport(path, sum(e.type == "note_on" for e in events), tuple(c + 1 for c in channels),
                          end_ms / 1000.0, tempo.bpms())


def ticks(t_ms: float) -> int:
    """Absolute ticks of a time in ms at 120 bpm (a file without a score) and TICKS_PER_BEAT."""
    return TempoMap.of((), TICKS_PER_BEAT).ticks(t_ms)


def _channel_track(channel: int, events: list[MidiEvent], mapping: MidiOutMapping, tempo: TempoMap) -> Any:
    """One channel's events as a track (delta times from absolute ticks, so rounding never adds up)."""
    import mido

    timbres = [t for t in TIMBRES if mapping.timbre == "channel" and mapping.channel_of(t) == channel]
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=" ".join(timbres) or "Pict2Audio", time=0)])
    previous = 0
    for event in events:
        tick = tempo.ticks(event.t_ms)
        track.append(mido.Message(**event.fields(), time=tick - previous))
        previous = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track
