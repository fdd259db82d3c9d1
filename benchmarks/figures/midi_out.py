"""`voice_to_midi_ms`: an engine bundle with a voice's play -> its note-on received on a real MIDI port.

The path measured is the live one: LiveSession worker -> sinks in the session's order (OscSender to a
loopback socket, then MidiOutput) -> MidiOut mapping -> mido -> python-rtmidi output -> a private JACK
dummy server (this machine has no ALSA sequencer) -> a mido input in another process, timed from the
moment the engine's bundle is handed to the sinks to the receiver's callback (both on CLOCK_MONOTONIC).
Each voice is a trigger with a pitch override (the real Engine and Matcher over a 288-sample synthetic
bank, see benchmarks.figures.midi), so every note-on follows the note-off of the one before (a retrigger).
No JACK port is opened in this process: the bridge and the receiver are child processes, SIGKILLed at
the end. The JACK server runs in synchronous mode (see jack_dummy_server), so a busy machine shows up as
delay in the figure rather than as lost notes. A voice whose note-on is not heard within LOST_AFTER_S is
counted in the figure's `lost` note (with `n`, every measured voice is accounted for) and the run goes on;
it fails over to an in-memory mido port in this process (noted in the figure) only when JACK cannot be
used at all: no jackd, or not one note-on arrived.
No baseline: the baseline approach (Keras CNNs and a CSV lookup) has no MIDI output.
"""

from __future__ import annotations

import logging
import random
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.figures import Figure
from benchmarks.figures.midi import LOST_AFTER_S, RATE_HZ, WARMUP, jack_or_memory_figure

log = logging.getLogger(__name__)

PERIOD_FRAMES = 64
PLAYED_WITHIN_S = 10.0  # the bridge process's bundle for a voice (only a stuck bridge takes this long)
PITCHES = 12  # voices cycle through this many pitches


def measure(*, quick: bool) -> list[Figure]:
    count = 60 if quick else 600
    figure = jack_or_memory_figure(
        "voice_to_midi_ms", "engine bundle -> MIDI note-on", _measure_memory(count), lambda: _measure_jack(count),
        f"python-rtmidi output -> JACK (dummy driver, synchronous mode, {PERIOD_FRAMES} frames at {RATE_HZ} Hz = "
        f"{1000 * PERIOD_FRAMES / RATE_HZ:.2f} ms period) -> mido input; bridge and receiver in child processes")
    if figure.notes["lost"]:
        log.warning("voice_to_midi_ms: %d of %d note-ons not heard within %g s", figure.notes["lost"], count,
                    LOST_AFTER_S)
    return [figure]


def _pitches(count: int) -> list[int]:
    """69, 70, ... 80, 69, ...: consecutive voices differ, so a late note-on is never taken for the next."""
    return [69 + i % PITCHES for i in range(count + WARMUP)]


# -- the bridge side (a child process with JACK; in this process for the in-memory fallback) -----------------


class _Stamps:
    """Two sinks around the outputs: `first` notes when a bundle with a play reaches the sinks, `last` reports
    it (after the MIDI output has sent its note-on) to `report(t_s, pitch)`."""

    def __init__(self, report: Callable[[float, int], None]) -> None:
        self._report = report
        self._t_s = 0.0

    def first(self, bundle: Any) -> None:
        if bundle.find("play") is not None:
            self._t_s = time.clock_gettime(time.CLOCK_MONOTONIC)

    def last(self, bundle: Any) -> None:
        play = bundle.find("play")
        if play is not None:
            self._report(self._t_s, int(play.args[1]))


def _session(output: Any, report: Callable[[float, int], None]) -> tuple[Any, socket.socket]:
    """A started LiveSession over the bench engine whose sinks are the session's (OSC, then MIDI out)."""
    from benchmarks.figures.midi import _engine
    from bridge.adapters.osc_out import OscSender
    from bridge.app.live_session import LiveSession

    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # takes the OSC: nobody reads it
    sink.bind(("127.0.0.1", 0))
    stamps = _Stamps(report)
    sinks = [stamps.first, OscSender([sink.getsockname()]), output, stamps.last]
    return LiveSession(_engine(), sinks).start(), sink


def _voice(session: Any, pitch: int) -> None:
    from bridge.core.events import SetOverride, Trigger

    session.post(SetOverride(head="pitch", value=pitch))
    session.post(Trigger())


def serve_bridge(spec: str) -> None:
    """The benchmark's bridge process: MidiOutput (JACK, opened to `spec`) in a LiveSession. Reads one pitch a
    line on stdin and plays it as a voice; prints "bundle <CLOCK_MONOTONIC s> <pitch>" per voice. Prints
    "ready" once the port is open and runs until killed."""
    from benchmarks.jack_dummy import JACK_BACKEND
    from bridge.adapters.midi_out_mido import MidiOutput

    logging.basicConfig(level=logging.WARNING)
    output = MidiOutput(spec, backend=JACK_BACKEND)
    if not output.open():
        raise SystemExit(1)
    session, _sink = _session(output, lambda t_s, pitch: print("bundle", repr(t_s), pitch, flush=True))
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip():
            _voice(session, int(line))
    threading.Event().wait()


BRIDGE_CHILD = r"""
import sys
from benchmarks.figures.midi_out import serve_bridge
serve_bridge(sys.argv[1])
"""


# -- JACK ----------------------------------------------------------------------------------------------------


def _measure_jack(count: int) -> tuple[list[float], int]:
    """Latencies in ms over JACK, and how many of the `count` measured note-ons were not heard (within
    LOST_AFTER_S); MidiError when not one was."""
    from benchmarks.jack_dummy import ChildProcess, MidiReceiver, jack_dummy_server
    from bridge.adapters.midi_mido import MidiError

    children: list[Any] = []
    try:
        with jack_dummy_server(period_frames=PERIOD_FRAMES, rate_hz=RATE_HZ):
            synth = MidiReceiver("P2ABenchSynth", "in")
            children.append(synth)
            bridge = ChildProcess([sys.executable, "-c", BRIDGE_CHILD, synth.connected_to],
                                  cwd=Path(__file__).resolve().parents[2])
            children.append(bridge)
            if bridge.wait_line(lambda line: line == "ready", 30) is None:
                raise MidiError(f"the benchmark's bridge process did not open {synth.connected_to}: "
                                f"{bridge.tail(5) or 'no output'}")
            return _run_jack(count, bridge, synth)
    finally:
        for child in children:
            child.kill()


def _run_jack(count: int, bridge: Any, synth: Any) -> tuple[list[float], int]:
    """Play the voices one at a time, each once the one before was heard or given up on.

    MIDI in one JACK port keeps its order, so a note-on that comes too late is passed over when the next
    voice's arrives. Only a run of PITCHES unheard voices in a row could leave one to be taken for a later
    voice of the same pitch: the transport has stalled, and the voices left are not played (counted lost).
    """
    from bridge.adapters.midi_mido import MidiError

    rng = random.Random(0)
    samples: list[float] = []
    unheard_in_a_row = 0
    _wait_connected(bridge, synth)
    received, bundles = len(synth.output()), len(bridge.output())  # output lines of each child read so far
    for i, pitch in enumerate(_pitches(count)):
        time.sleep(rng.uniform(0.0, 0.003))  # spread the voices over the JACK period's phases
        bridge.write_line(str(pitch))
        made = bridge.wait_line(lambda line, p=pitch: line.startswith("bundle ") and line.endswith(f" {p}"),
                                PLAYED_WITHIN_S, start=bundles)
        if made is None:
            raise MidiError(f"the benchmark's bridge process did not play voice {i} within {PLAYED_WITHIN_S:g} s: "
                            f"{bridge.tail(5) or 'no output'}")
        bundles = made[0] + 1
        heard = synth.wait_line(lambda line, p=pitch: _is_note_on(line, p), LOST_AFTER_S, start=received)
        if heard is None:
            unheard_in_a_row += 1
            if unheard_in_a_row == PITCHES:
                log.warning("voice_to_midi_ms: %d note-ons in a row not heard: the rest are not played", PITCHES)
                break
            continue
        unheard_in_a_row, received = 0, heard[0] + 1
        if i >= WARMUP:
            samples.append((float(heard[1].split()[1]) - float(made[1].split()[1])) * 1000.0)
    if not samples:
        raise MidiError(f"none of the {count} measured note-ons arrived within {LOST_AFTER_S:g} s")
    return samples, count - len(samples)


def _is_note_on(line: str, pitch: int) -> bool:
    """A receiver line "recv <t> 9n <note> <velocity>" of a note-on of `pitch`."""
    parts = line.split()
    return (len(parts) == 5 and parts[0] == "recv" and parts[2].startswith("9") and int(parts[3], 16) == pitch
            and parts[4] != "00")


def _wait_connected(bridge: Any, synth: Any, timeout_s: float = 10.0) -> None:
    """Play a voice every 0.2 s until one is heard: a busy JACK server may take a moment to connect a new
    client, and anything sent before that is lost."""
    from bridge.adapters.midi_mido import MidiError

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        start = len(synth.output())
        bridge.write_line("69")
        bridge.write_line("70")  # a different pitch: the next "69" is a new note-on, not a repeat
        if synth.wait_line(lambda line: _is_note_on(line, 70), 0.2, start=start) is not None:
            time.sleep(0.2)  # let pings still in flight arrive; the measurement starts after them
            return
    raise MidiError(f"the benchmark's receiver heard nothing from the bridge within {timeout_s:g} s")


# -- in memory (this process) ----------------------------------------------------------------------------------


def _measure_memory(count: int) -> tuple[list[float], int]:
    """The bridge's own share: bundle -> note-on handed to an in-memory mido port (no MIDI transport); and
    how many of the `count` measured voices gave no sample within LOST_AFTER_S."""
    import mido.ports

    from bridge.adapters.midi_out_mido import MidiOutput

    arrivals: dict[int, float] = {}
    made: dict[int, float] = {}
    done = threading.Condition()

    class Port(mido.ports.BaseOutput):
        def _send(self, message: Any) -> None:
            if message.type == "note_on":
                with done:
                    arrivals[message.note] = time.clock_gettime(time.CLOCK_MONOTONIC)

    def report(t_s: float, pitch: int) -> None:
        with done:
            made[pitch] = t_s
            done.notify_all()

    output = MidiOutput("bench")
    output.attach(Port("bench"))
    session, sink = _session(output, report)
    samples: list[float] = []
    try:
        for i, pitch in enumerate(_pitches(count)):
            with done:
                made.pop(pitch, None)
            _voice(session, pitch)
            with done:
                if done.wait_for(lambda p=pitch: p in made, LOST_AFTER_S) and i >= WARMUP:
                    samples.append((arrivals[pitch] - made[pitch]) * 1000.0)
    finally:
        session.stop()
        output.close()
        sink.close()
    return samples, count - len(samples)
