"""MIDI out: the pure mapping and note-off bookkeeping (every option), the live sink on an in-memory mido port,
the Standard MIDI File of `replay --midi`, and the config. The real-port tests are in test_midi_out_jack.py."""

from __future__ import annotations

import argparse
import logging
import math
import queue
import time
from pathlib import Path

import mido
import mido.ports
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from readme_tables import README, table_after
from stand_ins import InkClassifier, label_matcher

from bridge.adapters.midi_file import ticks, write_midi_file
from bridge.adapters.midi_mido import find_port
from bridge.adapters.midi_out_mido import MidiOutput
from bridge.app.config import Config, add_session_options, load_config
from bridge.core.bank import Sample, SoundBank
from bridge.core.engine import Engine
from bridge.core.errors import BridgeError, ConfigError
from bridge.core.events import Clear, PenDown, PenMove, PenUp, Trigger
from bridge.core.labels import TIMBRES, VOLUMES, Labels
from bridge.core.midi_out import (
    DEFAULT_VELOCITY,
    GM_PROGRAMS,
    MidiEvent,
    MidiOut,
    MidiOutMapping,
    mapping_rows,
    sample_notes,
    timeline,
)
from bridge.core.protocol import ADDRESSES, Bundle, Message

PLAY, STOP, END, CLEAR = (ADDRESSES[k].path for k in ("play", "voice_stop", "stroke_end", "clear"))


def play(voice: int, pitch: int = 72, volume: str = "med", timbre: str = "flute", path: str | None = None) -> Message:
    return Message(PLAY, (path or f"/bank/{pitch}-{volume}-{timbre}.wav", pitch, volume, timbre, voice))


def stop(voice: int) -> Message:
    return Message(STOP, (voice,))


def pen_up(voice: int) -> Message:
    return Message(END, (voice,))


def clear(count: int = 0) -> Message:
    return Message(CLEAR, (count,))


def at(t_ms: float, *messages: Message) -> Bundle:
    return Bundle(tuple(messages), t_ms)


def short(events: list[MidiEvent]) -> list[tuple]:
    """(t_ms, type, 1-based channel, number, value) for reading assertions."""
    return [(e.t_ms, e.type, e.channel + 1, e.number, e.value) for e in events]


def on(t_ms: float, note: int = 72, velocity: int = 80, channel: int = 7) -> tuple:
    return (t_ms, "note_on", channel, note, velocity)


def off(t_ms: float, note: int = 72, channel: int = 7) -> tuple:
    return (t_ms, "note_off", channel, note, 64)


def notes(note_off: str = "stop", length_ms: float | None = 500.0, **mapping) -> MidiOut:
    return MidiOut(MidiOutMapping(note_off=note_off, **mapping), sample_length_ms=lambda path: length_ms)


# -- the mapping ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("timbre", TIMBRES)
@pytest.mark.parametrize("volume", VOLUMES)
def test_default_mapping_pitch_is_the_note_volume_the_velocity_timbre_the_channel(volume: str, timbre: str):
    events = notes().handle(at(10, play(3, pitch=75, volume=volume, timbre=timbre)))
    assert short(events) == [on(10, 75, DEFAULT_VELOCITY[volume], TIMBRES.index(timbre) + 1)]
    assert events[0].voice_id == 3


def test_the_default_tables():
    mapping = MidiOutMapping()
    assert dict(mapping.velocity) == {"low": 40, "med": 80, "high": 115}
    assert [mapping.channel_of(t) + 1 for t in TIMBRES] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert dict(mapping.programs) == {"brass": 61, "guitar": 24, "keyboard": 0, "organ": 19, "string": 48,
                                      "vocal": 52, "flute": 73, "reed": 71}
    assert (mapping.note_off, mapping.note, mapping.timbre, mapping.channel) == ("stop", "label", "channel", 1)


def test_velocity_and_channels_come_from_the_config():
    mapping = MidiOutMapping.from_dict({"velocity": {"low": 1}, "channels": {"flute": 16}})
    events = MidiOut(mapping).handle(at(0, play(1, volume="low", timbre="flute")))
    assert short(events) == [on(0, 72, 1, 16)]
    assert mapping.velocity_of("high") == 115  # the classes not given keep their defaults


def test_program_mode_sends_a_program_change_when_the_timbre_changes():
    out = MidiOut(MidiOutMapping.from_dict({"timbre": "program", "channel": 10, "programs": {"reed": 65}}))
    assert short(out.handle(at(0, play(1, timbre="flute")))) == [(0, "program_change", 10, 73, 0), on(0, 72, 80, 10)]
    assert short(out.handle(at(5, play(2, pitch=74, timbre="flute")))) == [on(5, 74, 80, 10)]  # same program
    assert short(out.handle(at(9, play(3, pitch=75, timbre="reed")))) == [(9, "program_change", 10, 65, 0),
                                                                           on(9, 75, 80, 10)]
    assert out.used_channels() == (9,)


def test_sample_note_uses_the_banks_own_note_rounded_else_the_label():
    bank = SoundBank((Sample("/b/cello.wav", Labels(72, "med", "string"), midi_note=47.6),
                      Sample("/b/plain.wav", Labels(74, "med", "string"))))
    out = MidiOut(MidiOutMapping(note="sample"), sample_note=sample_notes(bank))
    assert short(out.handle(at(0, play(1, pitch=72, timbre="string", path="/b/cello.wav")))) == [on(0, 48, 80, 5)]
    assert short(out.handle(at(1, play(2, pitch=74, timbre="string", path="/b/plain.wav")))) == [on(1, 74, 80, 5)]
    nan = MidiOut(MidiOutMapping(note="sample"), sample_note=lambda path: math.nan)
    assert short(nan.handle(at(0, play(1)))) == [on(0)]
    label = MidiOut(MidiOutMapping(note="label"), sample_note=sample_notes(bank))
    assert short(label.handle(at(0, play(1, pitch=72, timbre="string", path="/b/cello.wav")))) == [on(0, 72, 80, 5)]


@pytest.mark.parametrize(("table", "problem"), [
    ({"note_off": "release"}, "midi.out.note_off: expected 'stop' or 'pen-up' or 'sample', got 'release'"),
    ({"note": "pitch"}, "midi.out.note: expected 'label' or 'sample'"),
    ({"timbre": "channels"}, "midi.out.timbre: expected 'channel' or 'program'"),
    ({"channel": 17}, "midi.out.channel: expected 1..16, got 17"),
    ({"channel": True}, "midi.out.channel: expected 1..16, got True"),
    ({"velocity": {"low": 0}}, "midi.out.velocity.low: expected 1..127, got 0"),
    ({"velocity": {"loud": 100}}, "midi.out.velocity.loud: unknown class; expected one of low, med, high"),
    ({"velocity": 100}, "midi.out.velocity: expected a table such as {low = 40}, got 100"),
    ({"channels": {"reed": 0}}, "midi.out.channels.reed: expected 1..16, got 0"),
    ({"programs": {"organ": 128}}, "midi.out.programs.organ: expected 0..127, got 128"),
    ({"notes": "label"}, "midi.out.notes: unknown key"),
])
def test_a_bad_table_names_the_key(table: dict, problem: str):
    with pytest.raises(ConfigError, match=problem.replace("{", r"\{").replace("}", r"\}").replace(".", r"\.")):
        MidiOutMapping.from_dict(table)


def test_the_mapping_round_trips_through_its_dict():
    mapping = MidiOutMapping.from_dict({"note_off": "pen-up", "note": "sample", "timbre": "program", "channel": 3,
                                        "velocity": {"high": 127}, "programs": {"brass": 56}})
    assert MidiOutMapping.from_dict(mapping.to_dict()) == mapping


def test_events_are_mido_messages():
    for event in (MidiEvent(0, "note_on", 6, 72, 80), MidiEvent(0, "note_off", 0, 69, 64),
                  MidiEvent(0, "program_change", 9, 73), MidiEvent(0, "control_change", 15, 123, 0)):
        assert mido.Message(**event.fields()).bytes() == event.bytes()


# -- note-offs ------------------------------------------------------------------------------------------------


def test_stop_ends_a_note_when_its_voice_is_cut():
    out = notes("stop", length_ms=None)
    out.handle(at(0, play(1)))
    assert out.handle(at(40, pen_up(1))) == []  # pen up does not end it
    assert short(out.handle(at(90, stop(1)))) == [off(90)]
    assert out.handle(at(95, stop(1))) == [] and out.sounding() == {}


def test_stop_ends_a_note_when_its_sample_ends_if_that_comes_first():
    out = notes("stop", length_ms=500.0)
    out.handle(at(100, play(1)))
    assert out.next_due_ms() == 600.0
    assert out.advance(599.9) == []
    assert short(out.advance(700)) == [off(600)]  # at the sample's end, not when asked
    assert out.handle(at(800, stop(1))) == [] and out.next_due_ms() is None


def test_lengths_can_be_looked_up_after_the_note_ons_went_out():
    asked: list[str] = []
    out = MidiOut(sample_length_ms=lambda path: asked.append(path) or 100.0)
    assert short(out.handle(at(10, play(1)), lengths_later=True)) == [on(10)]
    assert asked == [] and out.next_due_ms() is None
    out.handle(at(12, play(2, pitch=70), stop(2)), lengths_later=True)  # cut before its length is known
    out.schedule_ends()
    assert asked == ["/bank/72-med-flute.wav"] and out.next_due_ms() == 110.0  # from the note's own start


def test_due_sample_ends_come_before_a_bundle_and_at_their_own_time():
    out = notes("stop", length_ms=500.0)
    out.handle(at(0, play(1, pitch=70)))
    events = out.handle(at(700, play(2, pitch=71)))
    assert short(events) == [off(500, 70), on(700, 71)]


def test_pen_up_ends_a_note_at_stroke_end_and_not_at_its_sample_length():
    out = notes("pen-up", length_ms=100.0)
    out.handle(at(0, play(1)))
    assert out.next_due_ms() is None and out.advance(5000) == []
    assert short(out.handle(at(5000, pen_up(1)))) == [off(5000)]


def test_pen_up_mode_still_ends_a_cut_voice():
    out = notes("pen-up")
    out.handle(at(0, play(1)))
    assert short(out.handle(at(30, stop(1)))) == [off(30)]
    assert out.handle(at(50, pen_up(1))) == []


def test_pen_up_mode_ends_triggers_and_onset_up_voices_at_their_sample_length():
    out = notes("pen-up", length_ms=300.0)
    assert short(out.handle(at(0, play(0, pitch=69)))) == [on(0, 69)]  # a trigger: no pen-up will come
    assert short(out.handle(at(10, play(4, pitch=70), pen_up(4)))) == [on(10, 70)]  # onset up: play and pen-up
    assert short(out.advance(1000)) == [off(300, 69), off(310, 70)]


def test_sample_mode_lets_a_note_ring_its_full_length():
    out = notes("sample", length_ms=400.0)
    out.handle(at(0, play(1)))
    assert out.handle(at(10, pen_up(1), stop(1))) == []  # neither pen up nor a cut shortens it
    assert short(out.advance(400)) == [off(400)]


def test_sample_mode_ends_a_note_of_unknown_length_at_its_cut():
    out = notes("sample", length_ms=None)
    out.handle(at(0, play(1)))
    assert short(out.handle(at(20, stop(1)))) == [off(20)]


@pytest.mark.parametrize("mode", ["stop", "pen-up", "sample"])
def test_a_retrigger_ends_the_old_note_before_the_new_one(mode: str):
    out = notes(mode)
    out.handle(at(0, play(2, pitch=72)))
    assert short(out.handle(at(50, play(2, pitch=76)))) == [off(50, 72), on(50, 76)]
    assert short(out.handle(at(60, play(2, pitch=76)))) == [off(60, 76), on(60, 76)]  # same key: off first
    assert out.sounding() == {2: (6, 76)}


def test_a_retriggered_voice_keeps_only_its_new_sample_end():
    out = notes("stop", length_ms=100.0)
    out.handle(at(0, play(1)))
    out.handle(at(50, play(1)))
    assert out.next_due_ms() == 150.0
    assert short(out.advance(1000)) == [off(150)]


def test_one_key_holds_one_note_a_second_voice_on_it_ends_the_first():
    out = notes("stop")
    out.handle(at(0, play(1)))
    assert short(out.handle(at(10, play(2)))) == [off(10), on(10)]
    assert out.handle(at(20, stop(1))) == []  # voice 1's note already ended
    assert short(out.handle(at(30, stop(2)))) == [off(30)]


@pytest.mark.parametrize("mode", ["stop", "pen-up", "sample"])
def test_clear_ends_every_note_in_every_mode(mode: str):
    out = notes(mode, length_ms=10_000.0)
    out.handle(at(0, play(1, pitch=70), play(2, pitch=71, timbre="brass"), play(0, pitch=72)))
    events = out.handle(at(40, clear(2)))
    assert sorted(short(events)) == sorted([off(40, 70), off(40, 71, 1), off(40, 72)])
    assert out.sounding() == {} and out.next_due_ms() is None


def test_release_all_ends_every_note_then_all_notes_off_per_channel_used():
    out = notes("pen-up")
    out.handle(at(0, play(1, pitch=70, timbre="reed"), play(2, pitch=71, timbre="brass")))
    out.handle(at(5, stop(2)))
    assert short(out.release_all(99)) == [off(99, 70, 8), (99, "control_change", 1, 123, 0),
                                           (99, "control_change", 8, 123, 0)]
    assert out.sounding() == {}
    assert short(out.release_all(100, all_notes_off=False)) == []


def test_the_real_engine_gives_one_note_per_play():
    engine = Engine(classify=InkClassifier().classify_raster, match=label_matcher)
    out = notes("stop", length_ms=250.0)
    events = []
    for t0, y, color in ((0, 20, "#1E90FF"), (100, 200, "#000000"), (180, 380, "#D00000")):
        for event in (PenDown(t_ms=t0, x=10, y=y, color=color, width_px=5), PenMove(t_ms=t0 + 40, x=200, y=y),
                      PenUp(t_ms=t0 + 50)):
            bundle = engine.handle(event)
            events += out.handle(bundle) if bundle else []
    events += out.handle(engine.handle(Trigger(t_ms=300)))
    events += out.handle(engine.handle(Clear(t_ms=320)))
    assert [(e.channel + 1, e.number) for e in events if e.type == "note_on"] == [(7, 80), (3, 74), (5, 69), (5, 69)]
    assert out.sounding() == {}
    assert_pairs(events)


def assert_pairs(events: list[MidiEvent]) -> None:
    """Every note-on is ended by exactly one note-off of its key, before that key sounds again."""
    held: set[tuple[int, int]] = set()
    for event in events:
        key = (event.channel, event.number)
        if event.type == "note_on":
            assert key not in held, f"{key} started twice: {event}"
            held.add(key)
        elif event.type == "note_off":
            assert key in held, f"{key} ended but not sounding: {event}"
            held.discard(key)
    assert held == set(), f"stuck notes: {held}"


messages = st.one_of(
    st.builds(play, st.integers(0, 4), st.integers(69, 71), st.sampled_from(VOLUMES), st.sampled_from(TIMBRES[:2])),
    st.builds(stop, st.integers(0, 4)), st.builds(pen_up, st.integers(0, 4)), st.builds(clear, st.integers(0, 3)),
)


@settings(max_examples=300, deadline=None)
@given(mode=st.sampled_from(["stop", "pen-up", "sample"]), length=st.sampled_from([None, 0.0, 30.0, 400.0]),
       timbre=st.sampled_from(["channel", "program"]),
       steps=st.lists(st.tuples(st.floats(0, 100), st.lists(messages, min_size=1, max_size=4)), max_size=30))
def test_any_sequence_gives_exact_pairs_and_nothing_stuck(mode, length, timbre, steps):
    out = notes(mode, length_ms=length, timbre=timbre)
    t_ms, events = 0.0, []
    for gap, batch in steps:
        t_ms += gap
        events += out.handle(at(t_ms, *batch))
        assert all(e.t_ms <= t_ms for e in events)
    events += out.release_all(t_ms + 1)
    assert [e.t_ms for e in events] == sorted(e.t_ms for e in events)
    assert_pairs(events)
    assert out.sounding() == {}


# -- the live sink on an in-memory port ---------------------------------------------------------------------------


class QueuePort(mido.ports.BaseOutput):
    """An in-memory mido output: every message sent goes to `sent` as (time.monotonic(), message)."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: queue.Queue[tuple[float, mido.Message]] = queue.Queue()
        self.fail = fail
        super().__init__("queue")

    def _send(self, message: mido.Message) -> None:
        if self.fail:
            raise OSError("device gone")
        self.sent.put((time.monotonic(), message))


def take(port: QueuePort, count: int, timeout_s: float = 5.0) -> list[tuple[float, mido.Message]]:
    return [port.sent.get(timeout=timeout_s) for _ in range(count)]


def test_the_sink_sends_at_once_and_the_scheduler_ends_the_sample():
    port = QueuePort()
    output = MidiOutput("queue", sample_length_ms=lambda path: 80.0)
    output.attach(port)
    try:
        began = time.monotonic()
        output(at(0, play(1, pitch=74, volume="high", timbre="organ")))
        (t_on, note_on), (t_off, note_off) = take(port, 2)
        assert note_on == mido.Message("note_on", channel=3, note=74, velocity=115) and t_on - began < 0.05
        assert note_off == mido.Message("note_off", channel=3, note=74, velocity=64)
        assert 0.079 <= t_off - began < 1.0, t_off - began
    finally:
        output.close()
    assert [m for _, m in take(port, 1)] == [mido.Message("control_change", channel=3, control=123, value=0)]
    assert port.closed and port.sent.empty()


def test_an_earlier_sample_end_wakes_the_scheduler():
    port = QueuePort()
    lengths = {"/long.wav": 60_000.0, "/short.wav": 50.0}
    output = MidiOutput("queue", sample_length_ms=lengths.get)
    output.attach(port)
    try:
        output(at(0, play(1, pitch=70, path="/long.wav")))
        output(at(0, play(2, pitch=71, path="/short.wav")))
        sent = [m for _, m in take(port, 3)]
        assert sent[2] == mido.Message("note_off", channel=6, note=71, velocity=64)
    finally:
        output.close()
    assert [m for _, m in take(port, 2)] == [mido.Message("note_off", channel=6, note=70, velocity=64),
                                             mido.Message("control_change", channel=6, control=123, value=0)]


def test_close_ends_every_note_and_later_bundles_are_ignored():
    port = QueuePort()
    output = MidiOutput("queue")
    output.attach(port)
    output(at(0, play(1, pitch=70, timbre="brass"), play(2, pitch=71, timbre="reed")))
    take(port, 2)
    output.close()
    assert {m.type for _, m in take(port, 4)} == {"note_off", "control_change"}
    output(at(10, play(3)))
    output.close()
    assert port.sent.empty() and output.sent == 6


def test_a_failing_port_is_logged_and_never_raises(caplog):
    output = MidiOutput("queue")
    output.attach(QueuePort(fail=True))
    with caplog.at_level(logging.WARNING):
        output(at(0, play(1)))
        output(at(1, play(2, pitch=70)))
        output.close()
    assert sum("send failed" in r.message for r in caplog.records) == 1


class ListingBackend:
    """A backend that only lists outputs (opening one would be a bug here)."""

    def get_output_names(self) -> list[str]:
        return ["Synth:in", "Other:port"]


def test_a_missing_port_is_one_error_naming_the_outputs(caplog, monkeypatch):
    monkeypatch.setattr("bridge.adapters.midi_mido.load_backend", lambda name: ListingBackend())
    output = MidiOutput("NoSuchSynth")
    with caplog.at_level(logging.ERROR):
        assert output.open() is False
    assert caplog.messages == ["MIDI output 'NoSuchSynth' not found; available outputs: 'Synth:in', 'Other:port' "
                               "(see `run_bridge.py midi-ports`, or use --midi-out virtual); running without MIDI out"]


def test_find_output_by_name_or_part_of_one():
    names = ["Synth:in", "FluidSynth:midi", "Other:port"]
    assert find_port("Synth:in", names, kind="output") == "Synth:in"
    assert find_port("fluid", names, kind="output") == "FluidSynth:midi"
    assert find_port("nothing", names, kind="output") is None


# -- the MIDI file ----------------------------------------------------------------------------------------------


def file_notes(path: Path) -> list[tuple[float, float, int, int, int]]:
    """(on_ms, off_ms, channel 1..16, note, velocity) of every note in a MIDI file, by onset."""
    held: dict[tuple[int, int], tuple[float, int]] = {}
    out = []
    t_s = 0.0
    for message in mido.MidiFile(str(path)):
        t_s += message.time
        if message.type == "note_on" and message.velocity > 0:
            held[(message.channel, message.note)] = (t_s * 1000, message.velocity)
        elif message.type in ("note_off", "note_on"):
            began, velocity = held.pop((message.channel, message.note))
            out.append((began, t_s * 1000, message.channel + 1, message.note, velocity))
    assert held == {}
    return sorted(out)


def drawn_bundles() -> list[tuple[float, Bundle]]:
    engine = Engine(classify=InkClassifier().classify_raster, match=label_matcher)
    events = []
    for t0, y, color, width in ((3.3, 20, "#1E90FF", 5), (251.7, 200, "#000000", 25), (400.2, 380, "#D00000", 15)):
        events += [PenDown(t_ms=t0, x=10, y=y, color=color, width_px=width), PenMove(t_ms=t0 + 40.4, x=200, y=y),
                   PenUp(t_ms=t0 + 50.1)]
    events.append(Trigger(t_ms=2000.6))
    return [(e.t_ms, b) for e in events if (b := engine.handle(e)) is not None]


def test_a_midi_file_round_trips_through_mido(tmp_path: Path):
    path = tmp_path / "out.mid"
    bundles = drawn_bundles()
    report = write_midi_file(path, bundles, sample_length_ms=lambda p: 300.0)
    midi_file = mido.MidiFile(str(path))
    assert (midi_file.type, midi_file.ticks_per_beat) == (1, 960)
    assert [m.tempo for m in midi_file.tracks[0] if m.type == "set_tempo"] == [500_000]
    plays = [(t_ms, m.args) for t_ms, bundle in bundles for m in bundle.find_all("play")]
    expected = [(t_ms, t_ms + 300.0, TIMBRES.index(timbre) + 1, pitch, DEFAULT_VELOCITY[volume])
                for t_ms, (_, pitch, volume, timbre, _) in plays]
    got = file_notes(path)
    assert len(got) == len(expected) == report.notes == 4  # one note per voice sound (3 strokes and a trigger)
    for (on_ms, off_ms, *note), (want_on, want_off, *want) in zip(got, sorted(expected)):
        assert note == want
        assert abs(on_ms - want_on) < 1.0 and abs(off_ms - want_off) < 1.0
    assert report.channels == (3, 5, 7) and len(midi_file.tracks) == 4  # the tempo track and one per channel


def test_the_file_and_the_live_output_share_one_mapping(tmp_path: Path):
    bundles = drawn_bundles()
    mapping = MidiOutMapping(timbre="program", channel=2, velocity={"low": 10, "med": 20, "high": 30})
    write_midi_file(tmp_path / "p.mid", bundles, mapping=mapping, sample_length_ms=lambda p: 100.0)
    live = timeline(bundles, MidiOut(mapping, sample_length_ms=lambda p: 100.0))
    in_file = [m for m in mido.MidiFile(str(tmp_path / "p.mid")) if not m.is_meta]
    assert [m.bytes() for m in in_file] == [e.bytes() for e in live]
    assert {m.channel for m in in_file} == {1}


def test_notes_without_an_end_end_at_the_last_event(tmp_path: Path):
    bundles = [(0.0, at(0, play(1))), (250.0, at(250, play(2, pitch=70)))]
    write_midi_file(tmp_path / "x.mid", bundles)  # no sample lengths: nothing ends them
    assert [(round(a), round(b)) for a, b, *_ in file_notes(tmp_path / "x.mid")] == [(0, 250), (250, 250)]


def test_ticks_are_rounded_from_absolute_times():
    assert [ticks(t) for t in (0.0, 0.26, 0.27, 500.0, 1000.0)] == [0, 0, 1, 960, 1920]


def test_an_unwritable_midi_file_is_a_bridge_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(BridgeError, match="cannot be written"):
        write_midi_file(blocker / "out.mid", drawn_bundles())


# -- config and docs ------------------------------------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_session_options(parser)
    return parser.parse_args(list(argv))


def test_config_file_and_flag(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[midi]\noutput = "virtual"\n[midi.out]\nnote_off = "pen-up"\nvelocity = {low = 20}\n')
    config = load_config(parse("--config", str(path)))
    assert config.midi_out == "virtual"
    assert MidiOutMapping.from_dict(config.midi_out_options).note_off == "pen-up"
    assert load_config(parse("--config", str(path), "--midi-out", "Fluid")).midi_out == "Fluid"
    assert Config().midi_out is None and load_config(parse("--midi-out", "virtual")).midi_out == "virtual"


def test_a_bad_midi_out_table_names_the_file_and_key(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[midi.out]\ntimbre = "programs"\n')
    with pytest.raises(ConfigError, match=r"config\.toml: midi\.out\.timbre: expected 'channel' or 'program'"):
        load_config(parse("--config", str(path)))


def test_an_unknown_midi_out_key_is_a_warning(tmp_path: Path, caplog):
    path = tmp_path / "config.toml"
    path.write_text('[midi.out]\nnote_of = "sample"\n')
    with caplog.at_level(logging.WARNING):
        config = load_config(parse("--config", str(path)))
    assert config.midi_out_options == {} and "did you mean 'note_off'" in caplog.text


def test_the_readme_table_lists_the_default_mapping():
    rows = table_after("### MIDI out mapping")
    assert [(row[0], row[1]) for row in rows] == mapping_rows()
    assert {t: int(r[1].split("program ")[1].split()[0]) for t, r in zip(TIMBRES, rows[4:])} == GM_PROGRAMS


def test_replay_midi_writes_the_replayed_notes_on_the_render_timeline(tmp_path: Path):
    """`replay A B --fast --midi OUT.mid`: one note per play, at the bundles' times (the second drawing after
    the gap), through the same mapping as the live output; compared with the same replay made here."""
    import socket

    from replay_helpers import EXAMPLES, run_bridge

    from bridge.adapters.sample_info import SampleLengths
    from bridge.app.replayer import replay_drawing
    from bridge.app.session import build_engine, build_session
    from bridge.commands.replay import DRAWING_GAP_MS, read_drawing

    out = tmp_path / "replay.mid"
    drawings = [EXAMPLES / "melody.json", EXAMPLES / "scale.json"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:  # takes the OSC
        sink.bind(("127.0.0.1", 0))
        done = run_bridge("replay", *map(str, drawings), "--fast", "--audio", "none",
                          "--osc", f"127.0.0.1:{sink.getsockname()[1]}", "--midi", str(out))
    assert done.returncode == 0, done.stderr
    assert f"{out}: 20 notes on channel(s) 1, 2, 3, 4, 5, 6, 7, 8" in done.stdout, done.stdout
    parts = build_session(Config(audio="none", osc_targets=()), start=False)
    try:
        timed, timeline_ms = [], 0.0
        for path in drawings:
            result = replay_drawing(read_drawing(path), build_engine(parts.classifier, parts.bank), speed=None)
            timed += [(t_ms + timeline_ms - result.first_t_ms, bundle) for t_ms, bundle in result.bundles]
            timeline_ms += result.last_t_ms - result.first_t_ms + DRAWING_GAP_MS
    finally:
        parts.close()
    expected = timeline(timed, MidiOut(sample_length_ms=SampleLengths()))
    got = [(t_s * 1000, m) for t_s, m in _timed_messages(out)]
    assert [m.bytes() for _, m in got] == [e.bytes() for e in expected]
    assert max(abs(t_ms - e.t_ms) for (t_ms, _), e in zip(got, expected)) < 1.0
    plays = [m.args for _, b in timed for m in b.find_all("play")]
    assert [(m.channel, m.note, m.velocity) for _, m in got if m.type == "note_on"] == [
        (TIMBRES.index(timbre), pitch, DEFAULT_VELOCITY[volume]) for _, pitch, volume, timbre, _ in plays]


def _timed_messages(path: Path) -> list[tuple[float, mido.Message]]:
    out, t_s = [], 0.0
    for message in mido.MidiFile(str(path)):
        t_s += message.time
        if not message.is_meta:
            out.append((t_s, message))
    return out


def test_the_readme_config_example_is_a_valid_midi_out_table():
    import tomllib

    text = README.read_text(encoding="utf-8").split("\n## Configuration\n", 1)[1]
    example = tomllib.loads(text.split("```toml\n", 1)[1].split("```", 1)[0])
    assert example["midi"]["output"] == "virtual"
    assert MidiOutMapping.from_dict(example["midi"]["out"]) == MidiOutMapping()  # it shows the defaults
