"""MIDI out over real ports: the bridge process -> python-rtmidi output -> JACK (dummy driver) -> a mido input.

As in test_midi_rtmidi_jack.py (the helpers of jack_rig.py, conftest's `jack` and `osc` fixtures), no JACK port
is opened in the pytest process: the bridge runs as the user runs it (`run_bridge.py replay|play ...
--midi-out ...`) and the receiver is `MidiReceiver` (a mido input on JACK in a child process, printing each
message with its arrival time). Without jackd these tests FAIL: they never skip. The server runs in JACK's
synchronous mode (see jack_dummy_server), so a busy machine delays a message instead of dropping it: the
tests, and the benchmark's test, count every message.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import mido
import pytest
from jack_rig import HEARD_WITHIN_S, REPO, RESEND_S, Jack, Osc, errors, play
from osc_peers import free_udp_port
from pythonosc.udp_client import SimpleUDPClient

from benchmarks.jack_dummy import JACK_BACKEND, ChildProcess, JackError, MidiReceiver
from bridge.core.labels import TIMBRES
from bridge.core.midi_out import DEFAULT_VELOCITY

MELODY = REPO / "data" / "drawings" / "melody.json"


@pytest.fixture
def heard(request: pytest.FixtureRequest) -> Osc:
    """conftest's `osc`: the bridge's OSC on loopback."""
    return request.getfixturevalue("osc")


def receiver(jack: Jack, client: str, port: str, **kwargs) -> MidiReceiver:
    try:
        return jack.start(MidiReceiver(client, port, **kwargs))  # type: ignore[return-value]
    except JackError as exc:
        pytest.fail(str(exc))


def messages(rx: MidiReceiver) -> list[tuple[float, mido.Message]]:
    return [(t, mido.Message.from_bytes(data)) for t, data in rx.received()]


def sounding(received: list[tuple[float, mido.Message]]) -> set[tuple[int, int]]:
    """The keys (channel, note) left on by a stream; fails on a note-on of a sounding key or an unmatched off."""
    held: set[tuple[int, int]] = set()
    for _, message in received:
        key = (getattr(message, "channel", -1), getattr(message, "note", -1))
        if message.type == "note_on" and message.velocity > 0:
            assert key not in held, f"{key} switched on twice: {received}"
            held.add(key)
        elif message.type in ("note_off", "note_on"):
            assert key in held, f"{key} switched off while off: {received}"
            held.discard(key)
    return held


def mismatch(want: list[mido.Message], got: list[mido.Message], rx: MidiReceiver) -> str:
    """A failure message: how many arrived of how many, which expected ones are missing, which are extra."""
    missing, extra = list(want), []
    for message in got:
        if message in missing:
            missing.remove(message)
        else:
            extra.append(message)
    return (f"{len(got)} of {len(want)} messages arrived\nmissing: {missing}\nextra: {extra}\n"
            f"received in order: {got}\nreceiver: {rx.tail()}")


def file_messages(path: Path) -> list[tuple[float, mido.Message]]:
    """(ms from the file's start, message) of the channel messages of a MIDI file, in play order."""
    out, t_s = [], 0.0
    for message in mido.MidiFile(str(path)):
        t_s += message.time
        if not message.is_meta:
            out.append((t_s * 1000.0, message))
    return out


def test_a_replayed_drawing_sends_exactly_its_note_pairs(jack, heard, tmp_path):
    synth = receiver(jack, "Synth", "in")
    midi_file = tmp_path / "melody.mid"
    bridge = jack.start(ChildProcess([sys.executable, "run_bridge.py", "replay", str(MELODY), "--audio", "none",
                                      "--osc", f"127.0.0.1:{heard.port}", "--midi-out", "Synth",
                                      "--midi-backend", JACK_BACKEND, "--midi", str(midi_file)], cwd=REPO))
    assert bridge.proc.wait(60) == 0, bridge.tail()
    expected = file_messages(midi_file)  # the same notes through the same mapping, at the drawing's times
    channels = sorted({m.channel for _, m in expected})
    total = len(expected) + len(channels)  # and All Notes Off on each channel used, at the end
    want = [m.copy(time=0) for _, m in expected] + [mido.Message("control_change", channel=c, control=123)
                                                    for c in channels]
    arrived = synth.wait_received(lambda got: len(got) >= total, 10)
    got = messages(synth)
    assert arrived and len(got) == total, f"{mismatch(want, [m for _, m in got], synth)}\nbridge: {bridge.tail()}"
    notes, tail = got[:len(expected)], got[len(expected):]
    # The notes: one note-on per /pict2audio/play, with its pitch, velocity and channel, in order.
    plays = heard.args("/pict2audio/play")
    assert [(m.channel, m.note, m.velocity) for _, m in notes if m.type == "note_on"] == [
        (TIMBRES.index(timbre), pitch, DEFAULT_VELOCITY[volume]) for _, pitch, volume, timbre, _ in plays]
    assert len(plays) == 8
    # Exactly the file's messages; sample ends come from the live timer, so an off and an on a few ms apart
    # may swap: the order is checked per key, and every time against the file's.
    assert sorted(m.bytes() for _, m in notes) == sorted(m.bytes() for _, m in expected)
    assert sounding(notes) == set()
    # Times follow the file's: each note's arrival against its time in the file, aligned on the median offset
    # (a late first note on a busy machine does not shift the rest). How exact live MIDI is, is the benchmark's.
    pairs = list(zip(sorted(notes, key=lambda n: n[1].bytes()), sorted(expected, key=lambda n: n[1].bytes())))
    assert all(message.bytes() == want.bytes() for (_, message), (_, want) in pairs)
    offsets = sorted(t_s * 1000.0 - t_ms for (t_s, _), (t_ms, _) in pairs)
    errors_ms = sorted(abs(o - offsets[len(offsets) // 2]) for o in offsets)
    assert errors_ms[int(0.9 * (len(errors_ms) - 1))] < 100.0 and errors_ms[-1] < 500.0, errors_ms
    assert [(m.type, m.control, m.channel) for _, m in tail] == [("control_change", 123, c) for c in channels]
    assert errors(bridge) == [], bridge.tail()


def test_clear_and_quit_leave_no_note_on_a_virtual_output(jack, heard):
    control = free_udp_port()
    bridge = play(jack, heard, "--midi-out", "virtual", "--midi-backend", JACK_BACKEND,
                  "--control-port", str(control))
    monitor = receiver(jack, "Monitor", "in", connect_to="Pict2Audio Out")
    assert monitor.connected_to == "Pict2Audio Out:Pict2Audio Out"
    client = SimpleUDPClient("127.0.0.1", control)
    flute_72 = mido.Message("note_on", channel=TIMBRES.index("flute"), note=72, velocity=DEFAULT_VELOCITY["high"])

    def trigger_until_sounding() -> float:
        """Override and trigger (again, while the session starts or JACK connects: a datagram to a port not yet
        bound is lost) until the note is on; its arrival time."""
        for _ in range(int(HEARD_WITHIN_S / RESEND_S)):
            for head, value in (("pitch", 72), ("volume", "high"), ("timbre", "flute")):
                client.send_message("/pict2audio/override", [head, value])
            client.send_message("/pict2audio/trigger", [])
            if monitor.wait_received(lambda got: on_now(got, flute_72), RESEND_S):
                return next(t for t, m in reversed(messages(monitor)) if m.bytes() == flute_72.bytes())
        pytest.fail(f"no note-on for a trigger within {HEARD_WITHIN_S:g} s: {messages(monitor)}\n{bridge.tail()}")

    began = trigger_until_sounding()
    client.send_message("/pict2audio/clear", [])
    assert monitor.wait_received(lambda got: not on_now(got, flute_72), 10), messages(monitor)
    ended = messages(monitor)[-1]
    assert ended[1].bytes() == [0x80 | flute_72.channel, 72, 64]
    assert ended[0] - began < 1.0  # the clear ended it, not its 1.2 s sample
    assert sounding(messages(monitor)) == set()

    began = trigger_until_sounding()
    bridge.proc.send_signal(signal.SIGINT)  # quit: the canvas closes the session
    all_off = [0xB0 | flute_72.channel, 123, 0]
    assert monitor.wait_received(lambda got: any(list(data) == all_off for _, data in got), 15), \
        (messages(monitor), bridge.tail())
    got = messages(monitor)
    last_on = max(i for i, (_, m) in enumerate(got) if m.type == "note_on")
    used = sorted({m.channel for _, m in got if m.type == "note_on"})  # a trigger before the overrides: brass
    assert [m.bytes() for _, m in got[last_on + 1:]] == [
        [0x80 | flute_72.channel, 72, 64], *([0xB0 | channel, 123, 0] for channel in used)]
    assert got[last_on + 1][0] - began < 1.0  # quitting ended it, not its sample
    assert sounding(got) == set()
    assert bridge.proc.wait(15) is not None
    assert errors(bridge) == [], bridge.tail()


def decoded(item: tuple[float, bytes]) -> tuple[float, mido.Message]:
    return item[0], mido.Message.from_bytes(item[1])


def on_now(got: list[tuple[float, bytes]], note_on: mido.Message) -> bool:
    """Whether the last message about note_on's key switched it on."""
    key = note_on.bytes()[1]
    about = [data for _, data in got if data[0] & 0x0F == note_on.channel and data[0] & 0xE0 == 0x80
             and data[1] == key]
    return bool(about) and about[-1][0] & 0xF0 == 0x90 and about[-1][2] > 0


def test_bench_measures_voice_to_midi_over_jack():
    import json
    import math
    import subprocess

    done = subprocess.run([sys.executable, "run_bridge.py", "bench", "--json", "--quick", "--only", "midi_out"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    # Measured over JACK, not the in-memory fallback (its reason would follow "JACK unavailable").
    assert out["voice_to_midi_ms_transport"].startswith("python-rtmidi output -> JACK"), out
    figure, lost = out["voice_to_midi_ms"], out["voice_to_midi_ms_lost"]
    assert figure["n"] + lost == 60, out  # quick: every one of the 60 voices after the warm-up is accounted for
    assert lost == 0, f"{lost} of 60 note-ons not heard within 1 s: {out}\n{done.stderr[-2000:]}"
    assert all(math.isfinite(figure[q]) and figure[q] > 0 for q in ("p50", "p99")), out
