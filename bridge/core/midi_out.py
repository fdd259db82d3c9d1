"""MIDI out (pure): the engine's bundles as MIDI notes, the mapping table and the note-off bookkeeping.

Every voice (a `/pict2audio/play` with its stroke id) becomes one note: a note-on at its play and a
note-off when it ends. `MidiOut.handle(bundle)` returns the `MidiEvent`s a bundle causes; the live
output (bridge/adapters/midi_out_mido.py) sends them to a port and the replay writes them to a
Standard MIDI File, so both use this one mapping.

The mapping (`MidiOutMapping`, from the config's `[midi.out]` table):

    note     = "label"     the voice's pitch label 69..80; "sample": the matched sample's own MIDI note
                           when the bank knows it (Sample.midi_note, rounded), else the label
    velocity = {low = 40, med = 80, high = 115}
    timbre   = "channel"   each timbre on its own channel (brass 1 .. reed 8, TIMBRES order);
                           "program": one channel (`channel = 1`) and a program change per timbre
                           (GM, 0-based: brass 61, guitar 24, keyboard 0, organ 19, string 48,
                           vocal 52, flute 73, reed 71), sent before a note whose timbre differs
    note_off = "stop"      when a voice's note ends (below)

When a note ends, by `note_off`:

- "stop" (default): when its voice is cut (`/pict2audio/voice/stop`: undo, clear, stealing) or when its
  sample would have ended (the sample's length, if known), whichever comes first.
- "pen-up": at `/pict2audio/stroke/end`, or earlier when it is cut. A voice that gets no pen-up after
  its note starts (a trigger, voice 0; a voice of `--onset up`, which starts at pen up) ends at its
  sample's length instead.
- "sample": at its sample's length only (a one-shot): pen up, undo and stealing do not shorten it. A
  note whose sample length is unknown ends when its voice is cut instead.

Whatever the mode, a note never sticks: a retrigger (a play with the id of a sounding voice) ends the
old note before the new note-on; `/pict2audio/clear` ends every note; `release_all()` (quit, stop)
ends every note and sends All Notes Off (CC 123) on every channel used. One key (channel, note) holds
one note at a time: a voice that takes a key another voice holds ends that note first, so every
note-on has exactly one note-off.

Time is a parameter: events carry the t_ms they were made at (the bundle's, or the caller's clock), and
sample ends become due in `advance(t_ms)`, so a file writer and a live port with a timer agree.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.core.bank import SoundBank
from bridge.core.errors import ConfigError
from bridge.core.labels import TIMBRES, VOLUMES
from bridge.core.protocol import ADDRESSES, Bundle, Message

NOTE_OFF_MODES: tuple[str, ...] = ("stop", "pen-up", "sample")
NOTE_SOURCES: tuple[str, ...] = ("label", "sample")
TIMBRE_MODES: tuple[str, ...] = ("channel", "program")
DEFAULT_VELOCITY: dict[str, int] = {"low": 40, "med": 80, "high": 115}
DEFAULT_CHANNELS: dict[str, int] = {timbre: i + 1 for i, timbre in enumerate(TIMBRES)}  # 1-based
GM_PROGRAMS: dict[str, int] = {"brass": 61, "guitar": 24, "keyboard": 0, "organ": 19, "string": 48,
                               "vocal": 52, "flute": 73, "reed": 71}  # 0-based GM program numbers
RELEASE_VELOCITY = 64  # MIDI 1.0's value for a note-off without release velocity
ALL_NOTES_OFF = 123
TRIGGER_VOICE = 0  # the voice id of a trigger: it never gets a pen-up
OPTION_KEYS: tuple[str, ...] = ("note_off", "note", "timbre", "channel", "velocity", "channels", "programs")

PLAY = ADDRESSES["play"].path
VOICE_STOP = ADDRESSES["voice_stop"].path
STROKE_END = ADDRESSES["stroke_end"].path
CLEAR = ADDRESSES["clear"].path

SampleNote = Callable[[str], float | None]  # path -> the sample's MIDI note (None: unknown)
SampleLength = Callable[[str], float | None]  # path -> the sample's length in ms (None: unknown)


def _no_answer(path: str) -> None:
    return None


# -- the mapping ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MidiOutMapping:
    """How a voice's labels become a note; channels are 1..16 as the config writes them."""

    note_off: str = "stop"
    note: str = "label"
    timbre: str = "channel"
    channel: int = 1  # the one channel of timbre = "program"
    velocity: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_VELOCITY))
    channels: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_CHANNELS))
    programs: Mapping[str, int] = field(default_factory=lambda: dict(GM_PROGRAMS))

    def __post_init__(self) -> None:
        _choice("note_off", self.note_off, NOTE_OFF_MODES)
        _choice("note", self.note, NOTE_SOURCES)
        _choice("timbre", self.timbre, TIMBRE_MODES)
        _number("channel", self.channel, 1, 16)
        for key, classes, low, high in (("velocity", VOLUMES, 1, 127), ("channels", TIMBRES, 1, 16),
                                        ("programs", TIMBRES, 0, 127)):
            table = getattr(self, key)
            if not isinstance(table, Mapping) or set(table) != set(classes):
                raise ConfigError(f"midi.out.{key}: expected a value for each of {', '.join(classes)}, got {table!r}")
            for name in classes:
                _number(f"{key}.{name}", table[name], low, high)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any] | None) -> MidiOutMapping:
        """From a `[midi.out]` table; missing keys (and missing classes in a sub-table) keep their defaults.
        Errors name the key (`midi.out.velocity.low: expected 1..127, got 0`)."""
        doc = dict(doc or {})
        unknown = sorted(set(doc) - set(OPTION_KEYS))
        if unknown:
            raise ConfigError(f"midi.out.{unknown[0]}: unknown key; expected one of {', '.join(OPTION_KEYS)}")
        fields: dict[str, Any] = {key: doc[key] for key in ("note_off", "note", "timbre", "channel") if key in doc}
        defaults = {"velocity": (DEFAULT_VELOCITY, VOLUMES), "channels": (DEFAULT_CHANNELS, TIMBRES),
                    "programs": (GM_PROGRAMS, TIMBRES)}
        for key, (default, classes) in defaults.items():
            if key in doc:
                fields[key] = _table(key, doc[key], default, classes)
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        return {"note_off": self.note_off, "note": self.note, "timbre": self.timbre, "channel": self.channel,
                "velocity": dict(self.velocity), "channels": dict(self.channels), "programs": dict(self.programs)}

    def channel_of(self, timbre: str) -> int:
        """The 0-based channel (as on the wire) a timbre plays on."""
        return (self.channel if self.timbre == "program" else self.channels[timbre]) - 1

    def velocity_of(self, volume: str) -> int:
        return self.velocity[volume]

    def program_of(self, timbre: str) -> int | None:
        """The program change a timbre needs (None when timbres are told apart by channel)."""
        return self.programs[timbre] if self.timbre == "program" else None


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"midi.out.{key}: expected {' or '.join(repr(a) for a in allowed)}, got {value!r}")


def _number(key: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"midi.out.{key}: expected {low}..{high}, got {value!r}")


def _table(key: str, value: Any, default: Mapping[str, int], classes: tuple[str, ...]) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"midi.out.{key}: expected a table such as {{{classes[0]} = {default[classes[0]]}}}, "
                          f"got {value!r}")
    unknown = sorted(set(value) - set(classes))
    if unknown:
        raise ConfigError(f"midi.out.{key}.{unknown[0]}: unknown class; expected one of {', '.join(classes)}")
    return {**default, **value}


def mapping_rows(mapping: MidiOutMapping | None = None) -> list[tuple[str, str]]:
    """The mapping as (label, MIDI) rows: the README's table is checked against the defaults."""
    mapping = mapping or MidiOutMapping()
    rows = [("pitch 69..80", "note 69..80 (the label; `note = \"sample\"`: the sample's own note)")]
    rows += [(f"volume {v}", f"velocity {mapping.velocity_of(v)}") for v in VOLUMES]
    rows += [(f"timbre {t}", f"channel {mapping.channels[t]}, or program {mapping.programs[t]} on channel "
              f"{mapping.channel}") for t in TIMBRES]
    return rows


# -- the events ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MidiEvent:
    """One MIDI channel message and when it was made.

    type: "note_on", "note_off", "program_change" or "control_change" (mido's names).
    channel: 0..15 (as on the wire; the config counts 1..16).
    number: the note, program or controller; value: the velocity or controller value (0 for a program).
    voice_id: the voice a note belongs to (None for channel messages).
    """

    t_ms: float
    type: str
    channel: int
    number: int
    value: int = 0
    voice_id: int | None = None

    def fields(self) -> dict[str, Any]:
        """The keyword arguments of the mido Message (`mido.Message(**event.fields())`)."""
        if self.type == "program_change":
            return {"type": self.type, "channel": self.channel, "program": self.number}
        if self.type == "control_change":
            return {"type": self.type, "channel": self.channel, "control": self.number, "value": self.value}
        return {"type": self.type, "channel": self.channel, "note": self.number, "velocity": self.value}

    def bytes(self) -> list[int]:
        """The raw MIDI bytes (status byte first)."""
        status = {"note_off": 0x80, "note_on": 0x90, "control_change": 0xB0, "program_change": 0xC0}[self.type]
        data = [self.number] if self.type == "program_change" else [self.number, self.value]
        return [status | self.channel, *data]


@dataclass
class _Note:
    """A sounding note of one voice."""

    channel: int
    note: int
    serial: int  # tells a retriggered voice's new note from its old one in the schedule
    ends_ms: float | None  # when its sample ends, if that ends it; None: only a message ends it
    from_bundle: int  # the bundle that started it (a pen-up in the same bundle does not end it)


class MidiOut:
    """The note-off bookkeeping of one output: which voice holds which key, and when samples end.

    sample_note(path): the sample's MIDI note (used by `note = "sample"`); sample_length_ms(path): its
    length (used by the sample-length note-offs). Either may return None for "unknown". Not thread-safe:
    a live output calls it under its own lock.
    """

    def __init__(self, mapping: MidiOutMapping | None = None, *, sample_note: SampleNote | None = None,
                 sample_length_ms: SampleLength | None = None) -> None:
        self.mapping = mapping or MidiOutMapping()
        self._sample_note = sample_note or _no_answer
        self._sample_length_ms = sample_length_ms or _no_answer
        self._notes: dict[int, _Note] = {}  # voice id -> its sounding note
        self._keys: dict[tuple[int, int], int] = {}  # (channel, note) -> the voice holding it
        self._ends: list[tuple[float, int, int]] = []  # heap of (ends_ms, serial, voice id)
        self._unscheduled: list[tuple[int, int, str, float]] = []  # (voice, serial, path, t_ms) to look up
        self._programs: dict[int, int] = {}  # channel -> the last program sent
        self._used: set[int] = set()  # channels a message went to
        self._serial = 0
        self._bundles = 0  # bundles handled: the number of the current one
        self._pen_ups: set[int] = set()  # voices whose stroke/end is in the current bundle

    # -- queries

    def sounding(self) -> dict[int, tuple[int, int]]:
        """voice id -> (channel, note) of every note that is on."""
        return {voice: (n.channel, n.note) for voice, n in self._notes.items()}

    def used_channels(self) -> tuple[int, ...]:
        return tuple(sorted(self._used))

    def next_due_ms(self) -> float | None:
        """When the next sample-length note-off is due (None: none is pending)."""
        self._drop_stale()
        return self._ends[0][0] if self._ends else None

    # -- input

    def handle(self, bundle: Bundle, t_ms: float | None = None, *, lengths_later: bool = False) -> list[MidiEvent]:
        """The MIDI events of one bundle, made at t_ms (default: the bundle's time).

        Sample ends due by then come first, so the order is the same whichever clock drives `advance`.
        lengths_later: the new notes' sample lengths are looked up by `schedule_ends()` (a live output
        sends the note-ons first: reading a file's length takes a while the first time)."""
        at = bundle.t_ms if t_ms is None else t_ms
        self._bundles += 1
        self._pen_ups = {int(m.args[0]) for m in bundle.messages if m.address == STROKE_END}
        events = self.advance(at)
        for message in bundle.messages:
            events += self._message(message, at)
        if not lengths_later:
            self.schedule_ends()
        return events

    def schedule_ends(self) -> None:
        """Look up the sample lengths of the notes started since the last call, and schedule their ends
        (from their own start times) where a known length ends them."""
        pending, self._unscheduled = self._unscheduled, []
        for voice, serial, path, t_ms in pending:
            note = self._notes.get(voice)
            if note is None or note.serial != serial:  # ended already (a cut in the same bundle)
                continue
            length = self._sample_length_ms(path)
            if length is not None and math.isfinite(length) and length >= 0:
                note.ends_ms = t_ms + length
                heapq.heappush(self._ends, (note.ends_ms, serial, voice))

    def advance(self, t_ms: float) -> list[MidiEvent]:
        """The note-offs of samples that have ended by t_ms, each at its own end time, in time order."""
        events: list[MidiEvent] = []
        while (due := self.next_due_ms()) is not None and due <= t_ms:
            _, _, voice = heapq.heappop(self._ends)
            events += self._end(voice, due)
        return events

    def release_all(self, t_ms: float, *, all_notes_off: bool = True) -> list[MidiEvent]:
        """End every note now (stop, quit); with all_notes_off, then CC 123 on every channel used."""
        events = [event for voice in list(self._notes) for event in self._end(voice, t_ms)]
        self._ends.clear()
        self._unscheduled.clear()
        if all_notes_off:
            events += [MidiEvent(t_ms, "control_change", ch, ALL_NOTES_OFF, 0) for ch in self.used_channels()]
        return events

    # -- messages

    def _message(self, message: Message, t_ms: float) -> list[MidiEvent]:
        if message.address == PLAY:
            return self._play(message, t_ms)
        if message.address == CLEAR:
            return [event for voice in list(self._notes) for event in self._end(voice, t_ms)]
        voice = int(message.args[0]) if message.address in (VOICE_STOP, STROKE_END) else None
        if voice is None or voice not in self._notes:
            return []
        note = self._notes[voice]
        if message.address == VOICE_STOP and (self.mapping.note_off != "sample" or note.ends_ms is None):
            return self._end(voice, t_ms)
        if message.address == STROKE_END and self.mapping.note_off == "pen-up" and note.from_bundle != self._bundles:
            return self._end(voice, t_ms)
        return []

    def _play(self, message: Message, t_ms: float) -> list[MidiEvent]:
        path, pitch, volume, timbre, voice = message.args
        assert isinstance(path, str) and isinstance(pitch, int) and isinstance(voice, int)
        channel, note = self.mapping.channel_of(str(timbre)), self._note(path, pitch)
        events = self._end(voice, t_ms)  # a retrigger: the old note ends first
        holder = self._keys.get((channel, note))
        if holder is not None:  # the key is held by another voice: MIDI has one note per key
            events += self._end(holder, t_ms)
        program = self.mapping.program_of(str(timbre))
        if program is not None and self._programs.get(channel) != program:
            self._programs[channel] = program
            events.append(MidiEvent(t_ms, "program_change", channel, program))
        self._start(voice, channel, note, path, t_ms)
        events.append(MidiEvent(t_ms, "note_on", channel, note, self.mapping.velocity_of(str(volume)), voice))
        return events

    def _note(self, path: str, pitch: int) -> int:
        if self.mapping.note == "sample":
            own = self._sample_note(path)
            if own is not None and math.isfinite(own):
                return min(max(math.floor(own + 0.5), 0), 127)
        return pitch

    def _start(self, voice: int, channel: int, note: int, path: str, t_ms: float) -> None:
        self._serial += 1
        if self._ends_by_length(voice):
            self._unscheduled.append((voice, self._serial, path, t_ms))
        self._notes[voice] = _Note(channel, note, self._serial, None, self._bundles)
        self._keys[(channel, note)] = voice
        self._used.add(channel)

    def _ends_by_length(self, voice: int) -> bool:
        """Whether the sample's length ends this voice's note: always, except with note_off = "pen-up",
        where only a note that gets no pen-up after it starts does (a trigger; the play of onset up, whose
        stroke/end is in the same bundle)."""
        if self.mapping.note_off != "pen-up":
            return True
        return voice == TRIGGER_VOICE or voice in self._pen_ups

    def _end(self, voice: int, t_ms: float) -> list[MidiEvent]:
        note = self._notes.pop(voice, None)
        if note is None:
            return []
        if self._keys.get((note.channel, note.note)) == voice:
            del self._keys[(note.channel, note.note)]
        return [MidiEvent(t_ms, "note_off", note.channel, note.note, RELEASE_VELOCITY, voice)]

    def _drop_stale(self) -> None:
        """Forget scheduled ends of notes that already ended (cut, retriggered)."""
        while self._ends:
            _, serial, voice = self._ends[0]
            note = self._notes.get(voice)
            if note is not None and note.serial == serial:
                return
            heapq.heappop(self._ends)


# -- helpers shared by the live output and the file writer ---------------------------------------------


def sample_notes(bank: SoundBank) -> SampleNote:
    """path -> the sample's own MIDI note, for the samples of `bank` that know it (`note = "sample"`)."""
    notes = {sample.path: sample.midi_note for sample in bank.samples if sample.midi_note is not None}
    return notes.get


def timeline(timed_bundles: Iterable[tuple[float, Bundle]], notes: MidiOut) -> list[MidiEvent]:
    """Every event of (t_ms, bundle) pairs in time order: each bundle's events at its t_ms, each sample
    end at its own time, and the notes still sounding at the end ended at the last event (no CC 123)."""
    events: list[MidiEvent] = []
    last_ms = 0.0
    for t_ms, bundle in timed_bundles:
        events += notes.handle(bundle, t_ms)
        last_ms = max(last_ms, t_ms)
    events += notes.advance(math.inf)
    end_ms = max([last_ms, *(event.t_ms for event in events)])
    events += notes.release_all(end_ms, all_notes_off=False)
    return sorted(events, key=lambda event: event.t_ms)  # stable: same-time events keep their order
