"""MIDI controller mapping (pure): which note, CC or program change overrides which label.

A mapping binds each target to one MIDI control:

    pitch   = "note 69"     notes 69..80 set the pitch override while held (latch keeps it)
    volume  = "cc 7"        the CC value in thirds: 0..42 low, 43..85 med, 86..127 high
    timbre  = "program 0"   programs 0..7 set the timbre (TIMBRES order)
    release = "cc 123"      release all overrides
    trigger = "cc 64"       play the current match
    register = "off"        e.g. "cc 16": the register (octave) matching prefers, 0..8 (bridge.core.bank)

Any target takes `note N`, `cc N`, `program N` or `off`. A label bound to notes or programs uses
the N..N+k-1 block (k = its number of classes; 9 registers); bound to a CC, the value range is cut into k
equal bands. A register is set on press and kept. An action (release, trigger) bound to a CC fires when
the value rises to 64 or above (a button press or pedal down), except the channel-mode CCs 120..127,
whose value is conventionally 0, which fire on every message. `channel` is "omni" or 1..16 (messages on
other channels are ignored).

`MidiMapper.handle(fields)` takes a message as a dict (mido's `Message.dict()`) and returns the
control events it causes (without a time: the session stamps them); it never raises on bad input
(anything it does not understand is ignored).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, TypeGuard

from bridge.core.bank import REGISTERS
from bridge.core.errors import ConfigError
from bridge.core.events import ControlEvent, ReleaseOverrides, SetOverride, SetRegister, TransportControl, Trigger
from bridge.core.labels import CLASSES, HEADS, PITCHES

log = logging.getLogger(__name__)

ACTIONS: tuple[str, ...] = ("release", "trigger")
TARGETS: tuple[str, ...] = (*HEADS, *ACTIONS, "register")
KINDS: tuple[str, ...] = ("note", "cc", "program")
CHANNEL_MODE_CCS = range(120, 128)  # All Sound Off .. Poly On: fire on any value
ACTION_EVENTS: dict[str, type[ReleaseOverrides | Trigger]] = {"release": ReleaseOverrides, "trigger": Trigger}
TRANSPORT_TYPES = ("start", "stop", "continue")  # system real-time messages: the score's transport, any channel
CLOCK_TYPES = ("clock", "songpos")  # timing clock and song position: the score follows them with follow_clock
SONG_POSITION_MAX = 16383  # a 14-bit count of sixteenth notes


def span(target: str) -> int:
    """How many consecutive notes/programs (or CC value bands) a target uses."""
    if target == "register":
        return len(REGISTERS)
    return len(CLASSES[target]) if target in HEADS else 1


@dataclass(frozen=True)
class Binding:
    """One MIDI control: kind 'note', 'cc' or 'program' and its (first) number 0..127."""

    kind: str
    number: int

    def __str__(self) -> str:
        return f"{self.kind} {self.number}"

    def numbers(self, target: str) -> range:
        """The notes/programs (or the one CC) this binding uses for a target."""
        return range(self.number, self.number + (1 if self.kind == "cc" else span(target)))

    @classmethod
    def parse(cls, text: Any, target: str, where: str) -> Binding | None:
        """'note 69' / 'cc 7' / 'program 0' / 'off' -> Binding or None; ConfigError names `where`."""
        expected = "'note N', 'cc N', 'program N' (N = 0..127) or 'off'"
        if not isinstance(text, str):
            raise ConfigError(f"{where}: expected {expected}, got {text!r}")
        words = text.split()
        if words == ["off"]:
            return None
        if len(words) != 2 or words[0] not in KINDS or not words[1].isdigit() or int(words[1]) > 127:
            raise ConfigError(f"{where}: expected {expected}, got {text!r}")
        binding = cls(words[0], int(words[1]))
        if binding.numbers(target)[-1] > 127:
            last = 128 - span(target)
            raise ConfigError(f"{where}: {target} uses {span(target)} {binding.kind}s from N, so N must be "
                              f"0..{last}; got {text!r}")
        return binding


@dataclass(frozen=True)
class MidiMapping:
    """The whole controller mapping; `channel` None = omni, else 1..16 (as printed on devices)."""

    pitch: Binding | None = Binding("note", PITCHES[0])
    volume: Binding | None = Binding("cc", 7)
    timbre: Binding | None = Binding("program", 0)
    release: Binding | None = Binding("cc", 123)
    trigger: Binding | None = Binding("cc", 64)
    register: Binding | None = None
    channel: int | None = None
    latch: bool = False

    def __post_init__(self) -> None:
        if self.channel is not None and (isinstance(self.channel, bool) or self.channel not in range(1, 17)):
            raise ConfigError(f"midi.mapping.channel: expected 'omni' or 1..16, got {self.channel!r}")
        used: dict[tuple[str, int], str] = {}
        for target in TARGETS:
            binding: Binding | None = getattr(self, target)
            if binding is None:
                continue
            for number in binding.numbers(target):
                other = used.setdefault((binding.kind, number), target)
                if other != target:
                    raise ConfigError(f"midi.mapping.{target}: {binding} overlaps midi.mapping.{other} "
                                      f"({getattr(self, other)}) at {binding.kind} {number}; move one of them")

    def bind(self, target: str, binding: Binding | None) -> MidiMapping:
        """A copy with `target` bound; any other target that overlaps it is switched off."""
        if target not in TARGETS:
            raise ConfigError(f"unknown MIDI target {target!r}; expected one of {', '.join(TARGETS)}")
        fields = {t: getattr(self, t) for t in TARGETS}
        fields[target] = binding
        if binding is not None:
            mine = {(binding.kind, n) for n in binding.numbers(target)}
            for other in TARGETS:
                b = fields[other]
                if other != target and b is not None and mine & {(b.kind, n) for n in b.numbers(other)}:
                    log.warning("MIDI %s (%s) now belongs to %s; %s is off", other, b, target, other)
                    fields[other] = None
        return replace(self, **fields)

    def to_dict(self) -> dict[str, Any]:
        """The TOML `[midi.mapping]` table (every key written, so the file documents itself)."""
        doc: dict[str, Any] = {t: str(getattr(self, t) or "off") for t in TARGETS}
        doc["channel"] = "omni" if self.channel is None else self.channel
        doc["latch"] = self.latch
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any] | None) -> MidiMapping:
        """From a `[midi.mapping]` table; missing keys keep their defaults. Errors name the key."""
        doc = dict(doc or {})
        unknown = sorted(set(doc) - {*TARGETS, "channel", "latch"})
        if unknown:
            raise ConfigError(f"midi.mapping.{unknown[0]}: unknown key; expected {', '.join(TARGETS)}, "
                              "channel or latch")
        fields: dict[str, Any] = {t: Binding.parse(doc[t], t, f"midi.mapping.{t}") for t in TARGETS if t in doc}
        if "channel" in doc:
            channel = doc["channel"]
            if channel != "omni" and (isinstance(channel, bool) or channel not in range(1, 17)):
                raise ConfigError(f"midi.mapping.channel: expected 'omni' or 1..16, got {channel!r}")
            fields["channel"] = None if channel == "omni" else channel
        if "latch" in doc:
            if not isinstance(doc["latch"], bool):
                raise ConfigError(f"midi.mapping.latch: expected true or false, got {doc['latch']!r}")
            fields["latch"] = doc["latch"]
        return cls(**fields)


class _Msg(NamedTuple):
    """A channel message reduced to what mapping needs: kind note_on/note_off/cc/program."""

    kind: str
    channel: int  # 0..15
    number: int
    value: int


def _is_7bit(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 127


def normalise(fields: Mapping[str, Any]) -> _Msg | None:
    """mido-style message dict -> _Msg, or None for anything the mapping ignores or cannot read."""
    kind = fields.get("type") if isinstance(fields, Mapping) else None
    if not isinstance(kind, str):
        return None
    keys = {"note_on": ("note", "velocity"), "note_off": ("note", "velocity"),
            "control_change": ("control", "value"), "program_change": ("program", None)}.get(kind)
    if keys is None:  # sysex, clock, active sensing, pitchwheel, ...: not ours
        return None
    channel, number = fields.get("channel"), fields.get(keys[0])
    value = fields.get(keys[1], 0) if keys[1] else 0
    if not (isinstance(channel, int) and 0 <= channel <= 15 and _is_7bit(number) and _is_7bit(value)):
        log.debug("ignoring malformed MIDI message %r", dict(fields))
        return None
    if kind == "note_on" and value == 0:
        kind = "note_off"
    short = {"control_change": "cc", "program_change": "program"}.get(kind, kind)
    return _Msg(short, channel, number, value)


Learned = Callable[[str, "Binding", MidiMapping], None]


@dataclass
class MidiMapper:
    """Turns MIDI messages into control events; remembers held notes, CC states and MIDI learn.

    Not thread-safe: the MIDI adapter calls it under its own lock.
    """

    mapping: MidiMapping = field(default_factory=MidiMapping)
    on_learned: Learned | None = None
    follow_clock: bool = False  # timing clock and song position become transport controls (else ignored)
    learning: str | None = None  # the target armed for MIDI learn
    _held: list[int] = field(default_factory=list, init=False)  # pitch classes of held notes, last pressed last
    _sent: dict[str, object] = field(default_factory=dict, init=False)  # last value set per head (CC de-duplication)
    _cc: dict[tuple[int, int], int] = field(default_factory=dict, init=False)  # last value per (channel, cc)

    def arm(self, target: str | None) -> None:
        """MIDI learn: the next note-on, CC or program change binds `target` (None cancels)."""
        if target is not None and target not in TARGETS:
            raise ConfigError(f"unknown MIDI learn target {target!r}; expected one of {', '.join(TARGETS)}")
        self.learning = target

    def forget(self) -> None:
        """Drop held notes and remembered CC values (after overrides were released elsewhere)."""
        self._held.clear()
        self._sent.clear()

    def notes_off(self) -> list[ControlEvent]:
        """The controller went away: release a pitch held by notes (unless latched)."""
        held, self._held[:] = bool(self._held), []
        return self._set("pitch", None) if held and not self.mapping.latch else []

    @property
    def transport_types(self) -> tuple[str, ...]:
        """The system messages that become transport controls."""
        return (*TRANSPORT_TYPES, *CLOCK_TYPES) if self.follow_clock else TRANSPORT_TYPES

    def handle(self, fields: Mapping[str, Any]) -> list[ControlEvent | TransportControl]:
        kind = fields.get("type") if isinstance(fields, Mapping) else None
        if kind in self.transport_types:  # system messages have no channel; learn never binds them
            return _transport(kind, fields)
        msg = normalise(fields)
        if msg is None:
            return []
        if self.mapping.channel is not None and msg.channel != self.mapping.channel - 1:
            return []
        if msg.kind == "cc":
            previous = self._cc.get((msg.channel, msg.number))
            self._cc[(msg.channel, msg.number)] = msg.value
        else:
            previous = None
        if self.learning is not None:
            return self._learn(msg)
        events: list[ControlEvent | TransportControl] = []
        for target in TARGETS:
            binding: Binding | None = getattr(self.mapping, target)
            if binding is not None and binding.kind == _KIND_OF[msg.kind] and msg.number in binding.numbers(target):
                events.extend(self._apply(target, binding, msg, previous))
        return events

    def _learn(self, msg: _Msg) -> list[ControlEvent]:
        if msg.kind == "note_off":
            return []
        target, binding = self.learning, Binding(_KIND_OF[msg.kind], msg.number)
        assert target is not None
        if binding.kind != "cc" and msg.number + span(target) > 128:
            log.warning("MIDI learn: %s needs %d %ss from %d; use a lower one", target, span(target),
                        binding.kind, msg.number)
            return []
        self.mapping = self.mapping.bind(target, binding)
        self.learning = None
        self.forget()
        log.info("MIDI learn: %s = %s", target, binding)
        if self.on_learned is not None:
            self.on_learned(target, binding, self.mapping)
        return []

    def _apply(self, target: str, binding: Binding, msg: _Msg, previous: int | None) -> list[ControlEvent]:
        if target in ACTIONS:
            if msg.kind == "note_off":
                return []
            pressed = msg.value >= 64 and (previous is None or previous < 64)
            if msg.kind == "cc" and msg.number not in CHANNEL_MODE_CCS and not pressed:
                return []  # only the rising edge (a press) fires
            if target == "release":
                self.forget()
            return [ACTION_EVENTS[target]()]
        if target == "register":
            return self._register(binding, msg)
        classes = CLASSES[target]
        if msg.kind == "cc":
            return self._set(target, classes[msg.value * len(classes) // 128], dedupe=True)
        index = msg.number - binding.number
        if target != "pitch":  # volume/timbre from notes or programs: set on press, kept after
            return [] if msg.kind == "note_off" else self._set(target, classes[index])
        return self._pitch_note(index, pressed=msg.kind != "note_off")

    def _register(self, binding: Binding, msg: _Msg) -> list[ControlEvent]:
        """A note or program sets register N..N+8 on press; a CC sweeps the registers in equal bands."""
        if msg.kind == "note_off":
            return []
        if msg.kind == "cc":
            register = REGISTERS[msg.value * len(REGISTERS) // 128]
            if self._sent.get("register") == register:
                return []
        else:
            register = REGISTERS[msg.number - binding.number]
        self._sent["register"] = register
        return [SetRegister(register=register)]

    def _pitch_note(self, index: int, *, pressed: bool) -> list[ControlEvent]:
        """Held notes: the last pressed wins; releasing it returns to the previous held one."""
        if pressed:
            if index in self._held:
                self._held.remove(index)
            self._held.append(index)
            return self._set("pitch", PITCHES[index])
        if index not in self._held:
            return []
        was_top = self._held[-1] == index
        self._held.remove(index)
        if not was_top:
            return []
        if self._held:
            return self._set("pitch", PITCHES[self._held[-1]])
        return [] if self.mapping.latch else self._set("pitch", None)

    def _set(self, head: str, value: object, *, dedupe: bool = False) -> list[ControlEvent]:
        if dedupe and head in self._sent and self._sent[head] == value:
            return []
        self._sent[head] = value
        return [SetOverride(head=head, value=value)]  # type: ignore[arg-type]


def _transport(kind: str, fields: Mapping[str, Any]) -> list[ControlEvent]:
    """start / stop / continue / clock, or a song position (its count of sixteenth notes; malformed: ignored)."""
    if kind != "songpos":
        return [TransportControl(action=kind)]
    pos = fields.get("pos")
    if isinstance(pos, bool) or not isinstance(pos, int) or not 0 <= pos <= SONG_POSITION_MAX:
        log.debug("ignoring malformed MIDI song position %r", dict(fields))
        return []
    return [TransportControl(action="songpos", value=float(pos))]


_KIND_OF = {"note_on": "note", "note_off": "note", "cc": "cc", "program": "program"}
