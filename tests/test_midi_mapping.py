"""MIDI controller mapping: notes/CC/programs -> overrides, learn, config, in-memory ports, recording, files."""

from __future__ import annotations

import argparse
import queue
import tomllib
from pathlib import Path
from typing import NamedTuple

import mido
import mido.ports
import pytest
from stand_ins import InkClassifier, label_matcher
from waiting import next_item

from bridge.adapters.midi_file import midi_file_controls
from bridge.adapters.midi_mido import MidiInput
from bridge.app.config import add_session_options, load_config
from bridge.app.live_session import LiveSession
from bridge.app.midi_wiring import MidiLearn, save_mapping
from bridge.core.drawing import drawing_from_json
from bridge.core.engine import Engine
from bridge.core.errors import BridgeError, ConfigError
from bridge.core.events import (
    ControlEvent,
    PenDown,
    PenMove,
    PenUp,
    ReleaseOverrides,
    SetOverride,
    TransportControl,
    Trigger,
)
from bridge.core.midi_mapping import Binding, MidiMapper, MidiMapping
from bridge.core.replay import session_events


def note_on(note: int, velocity: int = 100, channel: int = 0) -> dict:
    return mido.Message("note_on", note=note, velocity=velocity, channel=channel).dict()


def note_off(note: int, channel: int = 0) -> dict:
    return mido.Message("note_off", note=note, channel=channel).dict()


def cc(control: int, value: int, channel: int = 0) -> dict:
    return mido.Message("control_change", control=control, value=value, channel=channel).dict()


def program(number: int, channel: int = 0) -> dict:
    return mido.Message("program_change", program=number, channel=channel).dict()


def sets(head: str, value: object) -> list[ControlEvent]:
    return [SetOverride(head=head, value=value)]  # type: ignore[arg-type]


# -- default mapping ------------------------------------------------------------------------------


def test_notes_69_to_80_set_the_pitch_while_held():
    mapper = MidiMapper()
    assert mapper.handle(note_on(69)) == sets("pitch", 69)
    assert mapper.handle(note_off(69)) == sets("pitch", None)
    assert mapper.handle(note_on(80)) == sets("pitch", 80)
    assert mapper.handle(note_on(80, velocity=0)) == sets("pitch", None)  # running-status note off
    assert mapper.handle(note_on(68)) == [] and mapper.handle(note_on(81)) == []


def test_several_held_notes_last_pressed_wins_and_release_returns_to_the_previous():
    mapper = MidiMapper()
    mapper.handle(note_on(70))
    mapper.handle(note_on(75))
    assert mapper.handle(note_on(72)) == sets("pitch", 72)
    assert mapper.handle(note_off(75)) == []  # not the sounding one
    assert mapper.handle(note_off(72)) == sets("pitch", 70)
    assert mapper.handle(note_off(70)) == sets("pitch", None)
    assert mapper.handle(note_off(70)) == []  # a stray note off


def test_latch_keeps_the_pitch_after_note_off():
    mapper = MidiMapper(MidiMapping(latch=True))
    mapper.handle(note_on(71))
    assert mapper.handle(note_off(71)) == []
    assert mapper.handle(note_on(73)) == sets("pitch", 73)


@pytest.mark.parametrize(("value", "volume"), [(0, "low"), (42, "low"), (43, "med"), (85, "med"),
                                                (86, "high"), (127, "high")])
def test_cc7_sets_the_volume_by_thirds(value, volume):
    assert MidiMapper().handle(cc(7, value)) == sets("volume", volume)


def test_a_knob_sweep_sets_the_volume_only_when_its_third_changes():
    mapper = MidiMapper()
    actions = [a for v in range(128) for a in mapper.handle(cc(7, v))]
    assert actions == sets("volume", "low") + sets("volume", "med") + sets("volume", "high")


def test_program_change_0_to_7_sets_the_timbre():
    mapper = MidiMapper()
    assert mapper.handle(program(0)) == sets("timbre", "brass")
    assert mapper.handle(program(7)) == sets("timbre", "reed")
    assert mapper.handle(program(8)) == []


def test_release_and_trigger_controls():
    mapper = MidiMapper()
    mapper.handle(note_on(74))
    assert mapper.handle(cc(123, 0)) == [ReleaseOverrides()]  # All Notes Off: any value
    assert mapper.handle(note_off(74)) == []  # the release forgot the held note
    assert mapper.handle(cc(64, 127)) == [Trigger()]  # pedal down
    assert mapper.handle(cc(64, 100)) == []  # still down: no repeat
    assert mapper.handle(cc(64, 0)) == []  # pedal up
    assert mapper.handle(cc(64, 90)) == [Trigger()]


def test_channel_filter():
    mapper = MidiMapper(MidiMapping(channel=2))
    assert mapper.handle(note_on(72, channel=0)) == []
    assert mapper.handle(note_on(72, channel=1)) == sets("pitch", 72)  # channel 2 on the device = 1 on the wire


@pytest.mark.parametrize("fields", [
    {"type": "sysex", "data": [1, 2, 3]}, {"type": "clock"}, {"type": "active_sensing"}, {"type": "songpos", "pos": 3},
    {"type": "note_on", "channel": 0, "note": 200, "velocity": 10}, {"type": "note_on", "channel": 0},
    {"type": "control_change", "channel": 16, "control": 7, "value": 3}, {"type": "program_change"},
    {"type": "control_change", "channel": 0, "control": 7, "value": "loud"}, {}, {"type": None}, "junk",
    {"type": "pitchwheel", "channel": 0, "pitch": 100},
])
def test_system_and_malformed_messages_are_ignored(fields):
    assert MidiMapper().handle(fields) == []


@pytest.mark.parametrize("kind", ["start", "stop", "continue"])
def test_start_stop_and_continue_drive_the_score_transport_on_any_channel_setting(kind):
    assert MidiMapper(MidiMapping(channel=3)).handle({"type": kind}) == [TransportControl(action=kind)]


def test_notes_off_when_the_controller_goes_away():
    mapper = MidiMapper()
    assert mapper.notes_off() == []
    mapper.handle(note_on(76))
    assert mapper.notes_off() == sets("pitch", None)


def test_other_bindings():
    mapping = MidiMapping(pitch=Binding("cc", 1), volume=Binding("note", 36), timbre=Binding("cc", 2),
                          release=Binding("note", 48), trigger=Binding("program", 100))
    mapper = MidiMapper(mapping)
    assert mapper.handle(cc(1, 127)) == sets("pitch", 80)
    assert mapper.handle(cc(1, 0)) == sets("pitch", 69)
    assert mapper.handle(note_on(38)) == sets("volume", "high")
    assert mapper.handle(cc(2, 64)) == sets("timbre", "string")
    assert mapper.handle(note_on(48)) == [ReleaseOverrides()]
    assert mapper.handle(note_off(48)) == []
    assert mapper.handle(program(100)) == [Trigger()]


# -- config ---------------------------------------------------------------------------------------


def test_mapping_round_trips_through_its_toml_table():
    mapping = MidiMapping(pitch=Binding("note", 48), release=None, channel=10, latch=True)
    doc = mapping.to_dict()
    assert doc["pitch"] == "note 48" and doc["release"] == "off" and doc["channel"] == 10
    assert MidiMapping.from_dict(doc) == mapping
    assert MidiMapping.from_dict({}) == MidiMapping()
    assert MidiMapping().to_dict() == {"pitch": "note 69", "volume": "cc 7", "timbre": "program 0",
                                       "release": "cc 123", "trigger": "cc 64", "register": "off", "channel": "omni",
                                       "latch": False}


@pytest.mark.parametrize(("doc", "key"), [
    ({"pitchh": "note 60"}, "midi.mapping.pitchh"),
    ({"volume": "knob 7"}, "midi.mapping.volume"),
    ({"volume": 7}, "midi.mapping.volume"),
    ({"trigger": "cc 128"}, "midi.mapping.trigger"),
    ({"pitch": "note 120"}, "midi.mapping.pitch"),  # needs 12 notes
    ({"channel": 17}, "midi.mapping.channel"),
    ({"channel": "all"}, "midi.mapping.channel"),
    ({"latch": "yes"}, "midi.mapping.latch"),
    ({"release": "note 70"}, "midi.mapping.release"),  # inside the pitch notes
])
def test_bad_mapping_entries_name_the_key(doc, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        MidiMapping.from_dict(doc)


def test_save_mapping_keeps_other_tables_and_config_loads_it(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[osc]\ntargets = ["127.0.0.1:9100"]\n[midi]\ninput = "nano"\n')
    mapping = MidiMapping().bind("volume", Binding("cc", 21))
    save_mapping(path, mapping)
    doc = tomllib.loads(path.read_text())
    assert doc["osc"] == {"targets": ["127.0.0.1:9100"]} and doc["midi"]["input"] == "nano"
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind
    parser = argparse.ArgumentParser()
    add_session_options(parser)
    config = load_config(parser.parse_args(["--config", str(path), "--midi-backend", "mido.backends.rtmidi/UNIX_JACK"]))
    assert MidiMapping.from_dict(config.midi_mapping) == mapping
    assert config.midi_in == "nano" and config.midi_backend == "mido.backends.rtmidi/UNIX_JACK"


# -- MIDI learn -----------------------------------------------------------------------------------


def test_learn_binds_the_next_qualifying_message():
    learned = []
    mapper = MidiMapper(on_learned=lambda t, b, m: learned.append((t, str(b))))
    mapper.arm("volume")
    assert mapper.handle(note_off(60)) == [] and mapper.learning == "volume"  # a note off does not bind
    assert mapper.handle(cc(21, 90)) == []  # binds, does not act
    assert learned == [("volume", "cc 21")] and mapper.learning is None
    assert mapper.handle(cc(21, 0)) == sets("volume", "low")
    assert mapper.handle(cc(7, 127)) == []  # the old control is free


def test_learning_a_control_in_use_switches_the_other_target_off():
    mapper = MidiMapper()
    mapper.arm("trigger")
    mapper.handle(note_on(72))  # a pitch note
    assert mapper.mapping.trigger == Binding("note", 72) and mapper.mapping.pitch is None
    assert mapper.handle(note_on(72)) == [Trigger()]


def test_learn_rejects_a_block_that_does_not_fit_and_unknown_targets():
    mapper = MidiMapper()
    mapper.arm("pitch")
    mapper.handle(note_on(120))  # 120..131 does not exist
    assert mapper.learning == "pitch" and mapper.mapping.pitch == Binding("note", 69)
    with pytest.raises(ConfigError, match="unknown MIDI learn target"):
        mapper.arm("tempo")


# -- mido in-memory ports and the live session ------------------------------------------------------


class Live(NamedTuple):
    session: LiveSession
    midi: MidiInput
    port: mido.ports.EchoPort
    bundles: list
    posted: queue.Queue[ControlEvent]  # each event the MIDI input posted, once the session has it queued


@pytest.fixture
def live():
    """A LiveSession with test stand-ins, a MidiInput reading mido's in-memory EchoPort, and bundles."""
    bundles = []
    engine = Engine(classify=InkClassifier().classify_raster, match=label_matcher)
    session = LiveSession(engine, [bundles.append]).start()
    posted: queue.Queue[ControlEvent] = queue.Queue()

    def post(event: ControlEvent) -> None:
        session.post(event)
        posted.put(event)

    midi = MidiInput("memory", post=post)
    port = mido.ports.EchoPort()
    midi.attach(port)
    yield Live(session, midi, port, bundles, posted)
    midi.close()
    session.stop()


def next_post(live: Live, what: str, predicate=lambda event: True) -> ControlEvent:
    """The next event the MIDI input posts that passes `predicate`; fails after 3 s."""
    event = next_item(live.posted, predicate, timeout_s=3.0)
    if event is None:
        pytest.fail(f"the MIDI input posted no {what} within 3 s")
    return event


def test_in_memory_port_feeds_the_engine(live):
    session, midi, port, bundles, _ = live
    for msg in (mido.Message("clock"), mido.Message("sysex", data=[0x7E, 1]), mido.Message("note_on", note=72),
                mido.Message("control_change", control=7, value=127), mido.Message("program_change", program=5)):
        port.send(msg)
    next_post(live, "timbre override", lambda event: isinstance(event, SetOverride) and event.head == "timbre")
    assert session.wait_idle()
    assert session.engine.overrides.timbre == "vocal"
    assert session.engine.overrides.active() == {"pitch": 72, "volume": "high", "timbre": "vocal"}
    overrides = [b.find("override").args for b in bundles]
    assert overrides[-1] == (72, "high", "vocal")
    match = next(b.find("match") for b in reversed(bundles) if b.find("match"))
    assert match.args[1:4] == (72, "high", "vocal")
    assert midi.received == 3  # clock and sysex never reached the mapper


def test_midi_moves_are_recorded_and_replay_reproduces_them(live):
    session, _, port, bundles, _ = live
    session.post(PenDown(x=50, y=100, color="#000000", width_px=12))
    session.post(PenMove(x=150, y=100))
    session.post(PenUp())
    session.wait_idle()
    for msg in (mido.Message("note_on", note=77), mido.Message("control_change", control=7, value=0),
                mido.Message("note_off", note=77), mido.Message("control_change", control=64, value=127),
                mido.Message("control_change", control=123, value=0)):
        port.send(msg)
        next_post(live, f"event for {msg}")  # one move at a time, as a performer makes them
    assert session.wait_idle() and len(session.engine.drawing.controls) == 5
    drawing = session.engine.drawing
    assert [c.at(0) for c in drawing.controls] == [
        SetOverride(t_ms=0, head="pitch", value=77), SetOverride(t_ms=0, head="volume", value="low"),
        SetOverride(t_ms=0, head="pitch", value=None), Trigger(t_ms=0), ReleaseOverrides(t_ms=0)]
    times = [c.t_ms for c in drawing.controls]
    assert times == sorted(times) and times[0] > 0
    saved = drawing_from_json(drawing.to_json())
    assert saved == drawing
    replayed = Engine(classify=InkClassifier().classify_raster, match=label_matcher)
    again = [replayed.handle(event) for event in session_events(saved)]
    assert [b.messages for b in again if b is not None and b.messages] == [b.messages for b in bundles]


def test_midi_learn_saves_the_mapping_and_notifies(live, tmp_path: Path):
    _, midi, port, *_ = live
    path = tmp_path / "pict2audio" / "config.toml"
    shown: list[str] = []
    notices: queue.Queue[str] = queue.Queue()

    def notify(text: str) -> None:
        shown.append(text)
        notices.put(text)

    learn = MidiLearn(midi, path, notify=notify)
    learn.arm("trigger")
    port.send(mido.Message("control_change", control=20, value=127))
    learned = next_item(notices, lambda text: text.startswith("MIDI learn: trigger ="), timeout_s=3.0)
    assert learned is not None, shown  # notified once the mapping is saved (or could not be)
    assert path.exists()
    assert tomllib.loads(path.read_text())["midi"]["mapping"]["trigger"] == "cc 20"
    assert shown[0] == "MIDI learn: move a control for trigger" and "trigger = cc 20, saved to" in shown[-1]


# -- MIDI files -----------------------------------------------------------------------------------


def test_midi_file_controls_follow_the_tempo_map(tmp_path: Path):
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))  # 120 bpm: 480 ticks = 500 ms
    track.append(mido.Message("note_on", note=72, time=480))  # 500 ms
    track.append(mido.MetaMessage("set_tempo", tempo=1_000_000, time=0))  # 60 bpm: 480 ticks = 1000 ms
    track.append(mido.Message("note_off", note=72, time=480))  # 1500 ms
    track.append(mido.Message("control_change", control=7, value=127, time=240))  # 2000 ms
    track.append(mido.Message("sysex", data=[1, 2], time=0))
    track.append(mido.Message("control_change", control=64, value=127, time=0))
    path = tmp_path / "moves.mid"
    mid.save(path)
    controls = midi_file_controls(path, MidiMapping())
    assert controls == (SetOverride(t_ms=500, head="pitch", value=72), SetOverride(t_ms=1500, head="pitch", value=None),
                        SetOverride(t_ms=2000, head="volume", value="high"), Trigger(t_ms=2000))
    assert midi_file_controls(path, offset_ms=100)[0].t_ms == 600


def test_midi_file_controls_join_a_replay(tmp_path: Path):
    mid = mido.MidiFile()
    mid.tracks.append(mido.MidiTrack([mido.Message("program_change", program=3, time=mid.ticks_per_beat)]))
    path = tmp_path / "p.mid"
    mid.save(path)
    engine = Engine(classify=InkClassifier().classify_raster, match=label_matcher)
    events = session_events(engine.drawing, midi_file_controls(path))
    bundles = [engine.handle(event) for event in events]
    assert bundles[0].find("override").args == (-1, "none", "organ")


def test_a_file_that_is_not_midi_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "x.mid"
    path.write_text("hello")
    with pytest.raises(BridgeError, match="cannot be read"):
        midi_file_controls(path)
