"""The OSC output contract (SPEC §4) as data, and constructors for each message.

`ADDRESSES` is the one table: the README table, the patches and the OSC adapters are checked
against it. Argument types are limited to `i`, `f`, `s` (Pure Data's `oscparse` rejects others).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.core.bank import Match
from bridge.core.labels import Overrides, Prediction

OSC_TYPES = {"i": int, "f": float, "s": str}


@dataclass(frozen=True)
class Address:
    """One OSC address: when it is sent and its arguments as (name, OSC type tag) pairs."""

    path: str
    args: tuple[tuple[str, str], ...]
    when: str

    @property
    def typetags(self) -> str:
        return "".join(tag for _, tag in self.args)


ADDRESSES: dict[str, Address] = {
    "labels": Address(
        "/pict2audio/labels",
        (("pitch", "i"), ("volume", "s"), ("timbre", "s"), ("p_pitch", "f"), ("p_volume", "f"), ("p_timbre", "f"),
         ("stroke_id", "i")),
        "after each live classification while drawing (rate-limited)",
    ),
    "match": Address(
        "/pict2audio/match",
        (("path", "s"), ("pitch", "i"), ("volume", "s"), ("timbre", "s"), ("score", "f"), ("stroke_id", "i")),
        "when the best-matching sample of a voice changes",
    ),
    "play": Address(
        "/pict2audio/play",
        (("path", "s"), ("pitch", "i"), ("volume", "s"), ("timbre", "s"), ("stroke_id", "i")),
        "when a voice sounds: at pen down (onset down; again when its match changes while drawn) or pen up "
        "(onset up), when a trigger control fires (stroke_id 0), or when the score's playhead reaches a stroke "
        "(a new id for every note)",
    ),
    "voice_stop": Address(
        "/pict2audio/voice/stop",
        (("stroke_id", "i"),),
        "when a sounding voice is cut: undo, clear, stolen by a new voice beyond the voice limit, or a score "
        "note's end (the playhead passed its stroke, or the transport stopped)",
    ),
    "stroke_begin": Address("/pict2audio/stroke/begin", (("stroke_id", "i"),), "pen down"),
    "stroke_end": Address("/pict2audio/stroke/end", (("stroke_id", "i"),), "pen up"),
    "override": Address(
        "/pict2audio/override",
        (("pitch", "i"), ("volume", "s"), ("timbre", "s")),
        "when a label override is set or released: the whole override state; -1 / 'none' = not overridden",
    ),
    "clear": Address("/pict2audio/clear", (("stroke_count", "i"),), "when the canvas is cleared"),
    "playhead": Address(
        "/pict2audio/playhead", (("position", "f"),),
        "while the score plays: the playhead, 0..1 from the canvas's left edge to its right (at most 30 a second)",
    ),
    "transport": Address(
        "/pict2audio/transport", (("state", "s"), ("bpm", "f")),
        "when the score's transport starts, stops or changes tempo: state playing or stopped, and the tempo",
    ),
}


_ADDRESS_BY_PATH = {address.path: address for address in ADDRESSES.values()}


@dataclass(frozen=True)
class Message:
    """One OSC message; arguments are checked against the address table when built."""

    address: str
    args: tuple[int | float | str, ...]

    def __post_init__(self) -> None:
        spec = _ADDRESS_BY_PATH.get(self.address)
        if spec is None:
            raise ValueError(f"unknown OSC address {self.address!r}")
        if len(self.args) != len(spec.args):
            raise ValueError(f"{self.address} takes {len(spec.args)} arguments, got {len(self.args)}")
        for (name, tag), value in zip(spec.args, self.args):
            if type(value) is not OSC_TYPES[tag]:
                raise ValueError(f"{self.address} {name}: expected OSC type {tag!r}, got {value!r}")


@dataclass(frozen=True)
class Bundle:
    """The messages caused by one event, sent together as one OSC bundle.

    t_ms: the event's time on the session clock (ms since the drawing started).
    due_unix_s: when a bundle made ahead of its time (a score note) is due, in Unix time; None: now.
    """

    messages: tuple[Message, ...]
    t_ms: float
    due_unix_s: float | None = field(default=None, compare=False)  # a score note scheduled ahead: its timetag

    def addresses(self) -> tuple[str, ...]:
        return tuple(m.address for m in self.messages)

    def find(self, name: str) -> Message | None:
        path = ADDRESSES[name].path
        return next((m for m in self.messages if m.address == path), None)

    def find_all(self, name: str) -> tuple[Message, ...]:
        path = ADDRESSES[name].path
        return tuple(m for m in self.messages if m.address == path)


def labels_message(prediction: Prediction, stroke_id: int) -> Message:
    lab = prediction.labels
    conf = prediction.confidences()
    return Message(
        ADDRESSES["labels"].path,
        (lab.pitch, lab.volume, lab.timbre, conf["pitch"], conf["volume"], conf["timbre"], stroke_id),
    )


def match_message(match: Match, stroke_id: int) -> Message:
    lab = match.sample.labels
    return Message(
        ADDRESSES["match"].path, (match.sample.path, lab.pitch, lab.volume, lab.timbre, float(match.score), stroke_id)
    )


def play_message(match: Match, stroke_id: int) -> Message:
    lab = match.sample.labels
    return Message(ADDRESSES["play"].path, (match.sample.path, lab.pitch, lab.volume, lab.timbre, stroke_id))


def voice_stop_message(stroke_id: int) -> Message:
    return Message(ADDRESSES["voice_stop"].path, (stroke_id,))


def stroke_begin_message(stroke_id: int) -> Message:
    return Message(ADDRESSES["stroke_begin"].path, (stroke_id,))


def stroke_end_message(stroke_id: int) -> Message:
    return Message(ADDRESSES["stroke_end"].path, (stroke_id,))


def override_message(overrides: Overrides) -> Message:
    return Message(
        ADDRESSES["override"].path,
        (
            -1 if overrides.pitch is None else overrides.pitch,
            overrides.volume or "none",
            overrides.timbre or "none",
        ),
    )


def clear_message(stroke_count: int) -> Message:
    return Message(ADDRESSES["clear"].path, (stroke_count,))


def playhead_message(position: float) -> Message:
    return Message(ADDRESSES["playhead"].path, (float(position),))


def transport_message(state: str, bpm: float) -> Message:
    return Message(ADDRESSES["transport"].path, (state, float(bpm)))


# -- OSC control input (what the bridge listens to on --control-port) ------------------------------


@dataclass(frozen=True)
class ControlAddress:
    """One OSC control input: its arguments as (name, accepted OSC type tags, 'i/s' = i or s) and its effect."""

    path: str
    args: tuple[tuple[str, str], ...]
    effect: str


CONTROL_ADDRESSES: dict[str, ControlAddress] = {
    "clear": ControlAddress("/pict2audio/clear", (), "clear the canvas (and the engine's drawing)"),
    "override": ControlAddress(
        "/pict2audio/override",
        (("head", "s"), ("value", "i/f/s")),
        "force one label: head pitch (a MIDI note 69..80 as i, a whole f or a numeric s), volume or timbre "
        "(s, a class name); value 'none' releases that head",
    ),
    "release": ControlAddress("/pict2audio/release", (), "release every override"),
    "trigger": ControlAddress("/pict2audio/trigger", (), "play the current match now"),
    "transport": ControlAddress(
        "/pict2audio/transport",
        (("action", "s"), ("value", "f/i")),
        "the score's transport: action start, stop or continue (no value), tempo (value = bpm), position "
        "(value 0..1 across the canvas) or loop (value 1 = on, 0 = off)",
    ),
    "register": ControlAddress(
        "/pict2audio/register",
        (("register", "i/f/s"),),
        "prefer samples in this register (octave) among equally good matches: 0..8, register N holds the notes "
        "A{N}..G#{N+1} (4 = the canvas's A4..G#5); an i, a whole f or a numeric s",
    ),
}
"""Argument-less controls also accept one number (a button's press/release): they act only when it is not 0."""
