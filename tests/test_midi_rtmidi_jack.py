"""End to end with real MIDI ports: a controller process -> JACK -> the bridge process -> OSC on loopback.

This machine has no ALSA sequencer, so the ports live in a private JACK server (`jackd --no-realtime -d
dummy`, which `.ci/run` installs as Debian's jackd2). Without jackd these tests FAIL: they never skip.

No JACK port is opened or closed in the pytest process: python-rtmidi 1.5.8's RtMidi can crash while
closing a JACK input port (see bridge/adapters/midi_mido.py), and a crash here would end the whole run.
The bridge runs as the user runs it (`run_bridge.py play --midi-in ...`, headless with SDL's dummy
drivers), the controller is `MidiSender` (a python-rtmidi output in a child process, fed on stdin); both
are ended with SIGKILL. The test listens for the bridge's OSC on loopback.

The non-realtime dummy server drops MIDI now and then on a busy machine (a late client's cycle is
skipped), so each move is re-sent until its effect is heard (`until_heard`), within a time limit: every
move used is idempotent once its effect is seen (a held note pressed again, a CC at the same value, the
same program), and MIDI in one JACK port keeps its order, so a late copy never lands after the next move.
"""

from __future__ import annotations

import subprocess
import sys
import time

import mido
from jack_rig import HEARD_WITHIN_S, REPO, RESEND_S, controller, errors, move, play, until_heard
from osc_peers import free_udp_port
from pythonosc.udp_client import SimpleUDPClient

from benchmarks.jack_dummy import JACK_BACKEND, ChildProcess


def test_virtual_input_notes_ccs_and_programs_reach_osc(jack, osc):
    bridge = play(jack, osc, "--midi-in", "virtual", "--midi-backend", JACK_BACKEND)
    keys = controller(jack, "Keyboard", "out", connect_to="Pict2Audio:Pict2Audio")
    assert keys.connected_to == "Pict2Audio:Pict2Audio"
    # One move at a time, as a performer makes them; each is heard before the next is made.
    move(keys, bridge, osc, mido.Message("note_on", note=72, velocity=90),
         lambda: osc.last_override() == (72, "none", "none"))
    move(keys, bridge, osc, mido.Message("control_change", control=7, value=127),
         lambda: osc.last_override() == (72, "high", "none"))
    move(keys, bridge, osc, mido.Message("program_change", program=5),  # the engine re-matches (default bank)
         lambda: osc.last_override() == (72, "high", "vocal") and osc.args("/pict2audio/match")[-1:] != []
         and osc.args("/pict2audio/match")[-1][1:4] == (72, "high", "vocal"))
    assert "vocal" in osc.args("/pict2audio/match")[-1][0], osc.args("/pict2audio/match")[-1]
    move(keys, bridge, osc, mido.Message("note_off", note=72), lambda: osc.last_override() == (-1, "high", "vocal"))
    move(keys, bridge, osc, mido.Message("control_change", control=64, value=127),
         lambda: bool(osc.args("/pict2audio/play")))
    move(keys, bridge, osc, mido.Message("control_change", control=123, value=0),
         lambda: osc.last_override() == (-1, "none", "none"))
    assert bridge.alive() and errors(bridge) == [], bridge.tail()


def test_sysex_clock_and_other_system_messages_are_ignored(jack, osc):
    noisy = controller(jack, "NoisyDevice", "out")  # a device: its output exists before the bridge starts
    bridge = play(jack, osc, "--midi-in", "NoisyDevice", "--midi-backend", JACK_BACKEND, verbosity="-vv")
    move(noisy, bridge, osc, mido.Message("note_on", note=80), lambda: osc.last_override() == (80, "none", "none"))
    noise = [mido.Message("sysex", data=[0x7E, 0x7F, 6, 1]), mido.Message("clock"), mido.Message("tune_request"),
             mido.Message("active_sensing"), mido.Message("songpos", pos=16)]

    def burst() -> None:  # the noise, then a note that must still be heard
        for msg in [*noise, mido.Message("note_on", note=74)]:
            noisy.send(msg)

    def heard() -> bool:
        out = "\n".join(bridge.output())
        return osc.last_override() == (74, "none", "none") and all(
            f"ignoring MIDI {kind} messages" in out for kind in ("sysex", "clock", "tune_request"))

    until_heard(burst, heard, "a note after sysex/clock/tune_request", bridge=bridge, osc=osc)
    assert all(args[1:] == ("none", "none") for args in osc.overrides()), osc.overrides()  # noise changed nothing
    assert not [line for line in bridge.output() if "MIDI message" in line and "ignored:" in line]
    assert bridge.alive() and errors(bridge) == [], bridge.tail()


def test_a_missing_port_is_one_clear_error_and_the_canvas_keeps_running(jack, osc):
    controller(jack, "SomeSynth", "out")
    control = free_udp_port()
    bridge = play(jack, osc, "--midi-in", "NoSuchController", "--midi-backend", JACK_BACKEND,
                  "--control-port", str(control))
    found = bridge.wait_line(lambda line: "running without MIDI" in line, 30)
    assert found is not None, bridge.tail()
    assert "'NoSuchController' not found" in found[1] and "'SomeSynth:out'" in found[1], found[1]
    # Still running, and playing: an OSC control message still reaches the engine and comes back out.
    client = SimpleUDPClient("127.0.0.1", control)
    until_heard(lambda: client.send_message("/pict2audio/override", ["timbre", "organ"]),
                lambda: osc.last_override() == (-1, "none", "organ"), "an OSC override", bridge=bridge, osc=osc)
    assert errors(bridge) == [found[1]], bridge.tail()


def test_a_port_that_disappears_is_retried(jack, osc):
    pad = controller(jack, "FlakyPad", "out")
    bridge = play(jack, osc, "--midi-in", "flakypad", "--midi-backend", JACK_BACKEND)  # part, any case
    move(pad, bridge, osc, mido.Message("note_on", note=70), lambda: osc.last_override() == (70, "none", "none"))
    # Logged before that note was heard, but its output and its OSC reach this process on separate paths.
    assert bridge.wait_line(lambda line: "MIDI input: FlakyPad:out" in line, 15), bridge.tail()
    pad.kill()  # unplugged (the process dies: JACK drops its port) while the note is held
    gone = bridge.wait_line(lambda line: "'FlakyPad:out' disappeared" in line, 15)
    assert gone, bridge.tail()
    until_heard(lambda: None, lambda: osc.last_override() == (-1, "none", "none"), "the held note's release",
                bridge=bridge, osc=osc, timeout_s=10)
    # Unplugged for 2.5 s, while the bridge retries every second: watched line by line, it logs no more.
    assert bridge.wait_line(lambda line: "disappeared" in line, 2.5, start=gone[0] + 1) is None, bridge.tail()
    pad = controller(jack, "FlakyPad", "out")  # plugged in again
    assert bridge.wait_line(lambda line: "'FlakyPad:out' is back" in line, 15), bridge.tail()
    move(pad, bridge, osc, mido.Message("control_change", control=7, value=60),
         lambda: osc.last_override() == (-1, "med", "none"))
    assert sum("disappeared" in line for line in bridge.output()) == 1, bridge.tail()
    assert bridge.alive() and errors(bridge) == [], bridge.tail()


def test_the_mapping_and_port_come_from_the_config_file(jack, osc, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[midi]\ninput = "virtual"\nbackend = "{JACK_BACKEND}"\n'
                      '[midi.mapping]\nvolume = "cc 1"\nchannel = 2\n')
    bridge = play(jack, osc, "--config", str(config))
    keys = controller(jack, "Keyboard", "out", connect_to="Pict2Audio:Pict2Audio")
    move(keys, bridge, osc, mido.Message("control_change", channel=1, control=1, value=127),
         lambda: osc.last_override() == (-1, "high", "none"))
    before = len(osc.overrides())
    for msg in (mido.Message("control_change", channel=0, control=1, value=0),  # channel 1: not ours
                mido.Message("control_change", channel=1, control=7, value=0)):  # CC 7: unbound now
        keys.send(msg)
    move(keys, bridge, osc, mido.Message("program_change", channel=1, program=3),
         lambda: osc.last_override() == (-1, "high", "organ"))
    assert set(osc.overrides()[before:]) == {(-1, "high", "organ")}, osc.overrides()
    assert bridge.alive() and errors(bridge) == [], bridge.tail()


def test_midi_ports_command_lists_jack_ports(jack):
    controller(jack, "ListedDevice", "knobs")
    done = subprocess.run([sys.executable, "run_bridge.py", "midi-ports", "--midi-backend", JACK_BACKEND],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "'ListedDevice:knobs'" in done.stdout and "--midi-in virtual" in done.stdout, done.stdout


def test_midi_learn_command(jack, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[osc]\ntargets = ["127.0.0.1:9100"]\n')
    pad = controller(jack, "LearnPad", "out")
    learn = jack.start(ChildProcess([sys.executable, "run_bridge.py", "midi-learn", "pitch", "--midi-in", "LearnPad",
                                     "--midi-backend", JACK_BACKEND, "--config", str(path), "--timeout-s", "30"],
                                    cwd=REPO))
    assert learn.wait_line(lambda line: "move a control on LearnPad:out" in line, 30), learn.tail()
    deadline = time.monotonic() + HEARD_WITHIN_S
    while learn.alive() and time.monotonic() < deadline:  # re-sent in case JACK dropped it
        pad.send(mido.Message("note_on", note=48))
        if learn.wait_line(lambda line: "MIDI learn: pitch =" in line, RESEND_S) is not None:
            break
    assert learn.proc.wait(10) == 0, learn.tail()
    assert any(f"MIDI learn: pitch = note 48, saved to {path}" in line for line in learn.output()), learn.tail()
    text = path.read_text()
    assert 'pitch = "note 48"' in text and "127.0.0.1:9100" in text

