"""The score's transport from a MIDI controller, end to end with real ports: a controller process -> JACK (the
dummy driver) -> the bridge process (`play --midi-in virtual`, headless) -> OSC on loopback.

MIDI start, stop and continue (system real-time messages) start, stop and continue the score; the bridge
answers with /pict2audio/transport and, while it plays, /pict2audio/playhead. The helpers and fixtures are
tests/jack_rig.py's (a private JACK server per test, every message re-sent until heard: the
non-realtime dummy server may drop one on a busy machine; start, stop and continue are idempotent once heard).

With --midi-clock the bridge follows a sequencer's clock: a child process sends 24 ticks a beat at 90, then 140 bpm,
then a song position and continue, on a JACK server of its own with a short period; the bridge's notes are due on
the ticks they belong to. (Lost
ticks, stalls and coarse periods are tested exactly in test_score_clock.py: over real ports, a loaded machine
holds the bridge's MIDI thread up by tens of ms now and then, more than a tick.)
"""

from __future__ import annotations

import math
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator

import mido
import pytest
from jack_rig import Osc, controller, errors, move, play
from pythonosc.osc_bundle import OscBundle

from benchmarks.jack_dummy import JACK_BACKEND, ChildProcess
from bridge.core.drawing import Drawing, Point, Stroke


def transports(received) -> list[tuple]:
    return received.args("/pict2audio/transport")


def test_midi_start_stop_and_continue_drive_the_score(jack, osc):
    bridge = play(jack, osc, "--midi-in", "virtual", "--midi-backend", JACK_BACKEND, "--bpm", "180", "--bars", "1")
    keys = controller(jack, "Sequencer", "out", connect_to="Pict2Audio:Pict2Audio")
    move(keys, bridge, osc, mido.Message("start"), lambda: transports(osc)[-1:] == [("playing", 180.0)])
    move(keys, bridge, osc, mido.Message("stop"), lambda: transports(osc)[-1:] == [("stopped", 180.0)])
    heard_playhead = len(osc.args("/pict2audio/playhead"))
    assert heard_playhead > 0  # it went out while the score played
    move(keys, bridge, osc, mido.Message("continue"), lambda: transports(osc)[-1:] == [("playing", 180.0)]
         and len(osc.args("/pict2audio/playhead")) > heard_playhead)
    assert all(0.0 <= args[0] <= 1.0 for args in osc.args("/pict2audio/playhead"))
    assert bridge.alive() and errors(bridge) == [], bridge.tail()


# -- following MIDI clock ----------------------------------------------------------------------------------

# A sequencer in a child process: python-rtmidi on JACK, one output connected to the first input whose name contains
# argv[1]. stdin, one command a line: "bpm B" (the clock runs at B from the next tick; ticks at absolute times),
# "start" / "continue" / "stop" / "songpos N" (sent just before the next tick). It prints "tick G T" for every tick
# (G: its number, T: when it was due, CLOCK_MONOTONIC s: on a loaded machine the process may wake late and catch up,
# as a sequencer's clock thread would), and "start G" (or continue, stop) when it went out just before tick G. It
# is killed, never closes its port.
CLOCK_SCRIPT = r"""
import queue, sys, threading, time
import rtmidi
target = sys.argv[1]
out = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name="Sequencer")
hits = [i for i, n in enumerate(out.get_ports()) if target.casefold() in n.casefold()]
if not hits:
    sys.exit(f"no JACK MIDI input matching {target!r}; inputs: {out.get_ports()}")
out.open_port(hits[0], "clock")
print("ready", flush=True)
commands = queue.SimpleQueue()
threading.Thread(target=lambda: [commands.put(line.split()) for line in sys.stdin], daemon=True).start()
period = due = None
tick = 0
while True:
    if period is None:
        pending = [commands.get()]
    else:
        time.sleep(max(0.0, due - time.monotonic()))  # pacing: the clock's next tick is due then
        pending = []
    while not commands.empty():
        pending.append(commands.get())
    for words in pending:
        if words[0] == "bpm":
            period = 60.0 / (24 * float(words[1]))
            due = time.monotonic() if due is None else due
        elif words[0] == "songpos":
            out.send_message([0xF2, int(words[1]) & 0x7F, int(words[1]) >> 7])
        else:
            out.send_message([{"start": 0xFA, "continue": 0xFB, "stop": 0xFC}[words[0]]])
            print(words[0], tick, flush=True)
    if period is None:
        continue
    out.send_message([0xF8])
    print("tick", tick, repr(due), flush=True)
    tick += 1
    due += period
"""

BAR = 4 * 24  # clock ticks in a bar of 4/4: the pass of `--bars 1`
NOTE_TICK = 24  # the stroke below sounds from beat 2
LATENCY_MS = 200  # notes go out this early, tagged with their due time: what the test reads
# A note's due time after its tick's: JACK's delivery, averaged by the clock's fit. The sequencer stamps a tick
# when it sends it, so on a loaded machine a late send stamp makes a note look early; the bounds still put
# the note on its beat (a beat lasts 430 ms or more at the tempos tested).
DUE_LAG_MS = (-40.0, 60.0)
TEMPO_BPM = 1.5  # the reported tempo's distance from the clock's (it moves in steps of 0.5 bpm)


class ClockSender(ChildProcess):
    def __init__(self, target: str, timeout_s: float = 30.0) -> None:
        """A sequencer connected to the JACK MIDI input `target` (which must exist already)."""
        super().__init__([sys.executable, "-c", CLOCK_SCRIPT, target])
        if self.wait_line(lambda text: text == "ready", timeout_s) is None:
            self.kill()
            pytest.fail(f"the clock sender did not start: {self.tail()}")

    def tick_times(self) -> dict[int, float]:
        """When every tick was due (CLOCK_MONOTONIC s) by number."""
        out = {}
        for line in self.output():
            if line.startswith("tick "):
                _, number, stamp = line.split()
                out[int(number)] = float(stamp)
        return out

    def last(self, word: str) -> int:
        """The tick number printed with the latest `word` line (start, continue, stop)."""
        found = [int(line.split()[1]) for line in self.output() if line.startswith(word + " ")]
        assert found, self.tail()
        return found[-1]


class TaggedOsc(Osc):
    """The bridge's OSC, also keeping each note's due time: its bundle's timetag (Unix time) as CLOCK_MONOTONIC s
    (the sender's clock; the two clocks' offset is taken once, both being the machine's)."""

    def __init__(self) -> None:
        self.dues: list[float] = []
        self._offset = time.time() - time.monotonic()
        super().__init__()
        self.server.socket.close()  # python-osc's dispatcher would sleep until each timetag: read the datagrams here
        self.server = _RawServer(self._datagram)
        self.port = self.server.port

    def _datagram(self, data: bytes) -> None:
        bundle = OscBundle(data)
        with self.changes:
            for message in bundle:
                self.received.append((message.address, tuple(message.params)))
                if message.address == "/pict2audio/play":
                    self.dues.append(bundle.timestamp - self._offset)

    def notes_after(self, since: float) -> list[float]:
        return [due for due in list(self.dues) if due > since]


class _RawServer:
    """A loopback UDP socket read on a thread (shutdown() / server_close() as python-osc's server has them)."""

    def __init__(self, handle: Callable[[bytes], None]) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self._handle, self._stop = handle, threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._handle(self.socket.recv(65536))
            except TimeoutError:
                continue
            except OSError:
                return

    def shutdown(self) -> None:
        self._stop.set()

    def server_close(self) -> None:
        self.socket.close()


@pytest.fixture
def tagged_osc() -> Iterator[TaggedOsc]:
    receiver = TaggedOsc()
    yield receiver
    receiver.close()


def bpm_in(line: str) -> float:
    """The tempo of a "score: following MIDI clock at B bpm" log line."""
    return float(line.split(" at ")[1].split()[0])


def lag_ms(sequencer: ClockSender, due: float, start: int) -> tuple[int, float]:
    """The note's pass (k: it sounds on tick start + k * BAR + NOTE_TICK) and how long after that tick it is due,
    once the sequencer has sent the ticks around it (a note is heard LATENCY_MS before it is due)."""
    assert sequencer.wait_line(lambda line: line.startswith("tick ") and float(line.split()[2]) > due + 0.1,
                               20), sequencer.tail()
    ticks = sequencer.tick_times()
    k = min(range(1000), key=lambda k: abs(due - ticks.get(start + k * BAR + NOTE_TICK, math.inf)))
    return k, (due - ticks[start + k * BAR + NOTE_TICK]) * 1000.0


# A server with a short period (256 frames, 5.3 ms: ticks batched by a period arrive within a fifth of a tick at
# 140 bpm, as from a MIDI interface). Like every dummy server here it runs in synchronous mode: late clients delay
# MIDI, never drop it, so every clock tick the test counts reaches the bridge.
@pytest.mark.parametrize("jack", [256], indirect=True, ids=["period-256"])
def test_the_playhead_follows_midi_clock_at_90_and_140_bpm(jack, tagged_osc, tmp_path):
    heard = tagged_osc
    page = tmp_path / "beat2.json"  # one stroke whose ink spans beat 2 of the bar: ticks 24..48
    page.write_text(Drawing(strokes=(Stroke((Point(105, 200, 0), Point(195, 200, 10)), "#000000", 10.0),)).to_json())
    bridge = play(jack, heard, "--midi-in", "virtual", "--midi-backend", JACK_BACKEND, "--midi-clock",
                  "--bars", "1", "--open", str(page), "--osc-latency-ms", str(LATENCY_MS))
    assert bridge.wait_line(lambda line: "MIDI input: Pict2Audio" in line, 60) is not None, bridge.tail()
    sequencer = jack.start(ClockSender("Pict2Audio:Pict2Audio"))  # the bridge's input exists now
    sequencer.write_line("bpm 90")
    following = bridge.wait_line(lambda line: "following MIDI clock at" in line
                                 and abs(bpm_in(line) - 90.0) <= TEMPO_BPM, 60)
    assert following is not None, bridge.tail()
    sent = time.monotonic()
    sequencer.write_line("start")
    assert heard.changes.wait_until(lambda: len(heard.notes_after(sent)) >= 2, 20), (heard.received[-5:], bridge.tail())
    start = sequencer.last("start")
    lags = [lag_ms(sequencer, due, start) for due in heard.notes_after(sent)[:2]]
    assert [k for k, _ in lags] == [0, 1], lags  # beat 2 of the first two bars
    assert all(DUE_LAG_MS[0] <= lag <= DUE_LAG_MS[1] for _, lag in lags), lags
    state, bpm = transports(heard)[-1]
    assert state == "playing" and abs(bpm - 90.0) <= TEMPO_BPM, transports(heard)

    sequencer.write_line("bpm 140")
    assert heard.changes.wait_until(lambda: abs(transports(heard)[-1][1] - 140.0) <= TEMPO_BPM, 20), transports(heard)
    changed = time.monotonic()
    # The pass under way when the change is reported may have been planned at the old tempo; the next is not.
    assert heard.changes.wait_until(lambda: len(heard.notes_after(changed)) >= 2, 20), bridge.tail()
    k, lag = lag_ms(sequencer, heard.notes_after(changed)[1], start)
    assert DUE_LAG_MS[0] <= lag <= DUE_LAG_MS[1], (k, lag)

    sequencer.write_line("stop")
    assert heard.changes.wait_until(lambda: transports(heard)[-1][0] == "stopped", 20), transports(heard)
    sequencer.write_line("songpos 8")  # eight sixteenths: the third beat, past the stroke's start
    sent = time.monotonic()
    sequencer.write_line("continue")
    assert heard.changes.wait_until(lambda: len(heard.notes_after(sent)) >= 1, 20), bridge.tail()
    resumed = sequencer.last("continue")  # the tick after continue is the bar's tick 48: the bar began 48 before
    k, lag = lag_ms(sequencer, heard.notes_after(sent)[0], resumed - 48)
    assert k == 1 and DUE_LAG_MS[0] <= lag <= DUE_LAG_MS[1], (k, lag)  # beat 2 of the next bar
    assert bridge.alive() and errors(bridge) == [], bridge.tail()
