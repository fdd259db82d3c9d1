"""`midi_to_osc_ms`: a controller message into a real MIDI input port -> OSC datagram on loopback.

The path measured is the live one: a controller process's python-rtmidi output -> a private JACK
dummy server (this machine has no ALSA sequencer) -> the bridge process's python-rtmidi input ->
MidiInput callback -> MidiMapper -> LiveSession worker -> Engine (override + re-match with the real
Matcher over a 288-sample synthetic bank) -> OscSender -> UDP socket on 127.0.0.1 in this process,
timed from just before the controller's `send_message()` to `recvfrom()` returning (both on
CLOCK_MONOTONIC). No JACK port is opened in this process: both ends are child processes, SIGKILLed at
the end. Without jackd it falls back to mido's in-memory port, in this process (noted in the figure).
No baseline: the baseline approach (Keras CNNs and a CSV lookup) has no MIDI input.
"""

from __future__ import annotations

import logging
import random
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from benchmarks.figures import Figure, percentiles_ms

log = logging.getLogger(__name__)

PERIOD_FRAMES = 128
RATE_HZ = 48_000
WARMUP = 10
LOST_AFTER_S = 1.0


def measure(*, quick: bool) -> list[Figure]:
    count = 60 if quick else 600
    memory, _ = _measure(count, _memory_transport)
    return [jack_or_memory_figure(
        "midi_to_osc_ms", "MIDI in -> OSC out", (memory, 0), lambda: _measure(count, _jack_transport),
        f"python-rtmidi port over JACK (dummy driver, {PERIOD_FRAMES} frames at {RATE_HZ} Hz = "
        f"{1000 * PERIOD_FRAMES / RATE_HZ:.2f} ms period; controller and bridge in child processes)")]


def jack_or_memory_figure(key: str, title: str, memory: tuple[list[float], int],
                          over_jack: Callable[[], tuple[list[float], int]], jack_transport: str) -> Figure:
    """A MIDI figure measured over JACK (`over_jack()`: the samples and how many were lost), or, when JACK cannot
    be used, the in-memory port's `memory` (samples, lost); the in-memory percentiles are noted either way."""
    from benchmarks.jack_dummy import JackError
    from bridge.adapters.midi_mido import MidiError

    try:
        (samples, lost), transport = over_jack(), jack_transport
    except (JackError, MidiError, OSError) as exc:
        log.warning("JACK MIDI unavailable (%s): measuring with mido's in-memory port", exc)
        (samples, lost), transport = memory, f"mido in-memory port (JACK unavailable: {exc})"
    memory_p = percentiles_ms(memory[0])
    return Figure(
        key, title, "ms", percentiles_ms(samples),
        notes={"transport": transport, "lost": lost, "in_memory_p50": round(memory_p["p50"], 4),
               "in_memory_p99": round(memory_p["p99"], 4), "baseline": "none (the baseline approach has no MIDI)"},
    )


def _messages(count: int) -> Iterator[tuple[Any, Callable[[tuple], bool]]]:
    """(message, test of the override args it must produce): note-ons and program changes in turn.

    Each always causes one bundle (notes and programs are not de-duplicated), and consecutive ones
    differ, so a datagram that arrives late for an earlier message is never taken for this one.
    """
    import mido

    from bridge.core.labels import TIMBRES

    for i in range(count + WARMUP):
        if i % 2 == 0:
            note = 69 + (i // 2) % 12
            yield mido.Message("note_on", note=note, velocity=100), lambda args, n=note: args[0] == n
        else:
            program = (i // 2) % len(TIMBRES)
            yield mido.Message("program_change", program=program), lambda args, t=TIMBRES[program]: args[2] == t


# A transport is a context manager taking the OSC receiver (the bridge sends there) and yielding
# (send, sent_at): send(message) sends it into the bridge; sent_at() is the time.monotonic() just before
# the oldest send not yet accounted for (None if unknown).
Sender = tuple[Callable[[Any], None], Callable[[], float | None]]
Transport = Callable[[socket.socket], AbstractContextManager[Sender]]


def _measure(count: int, transport: Transport) -> tuple[list[float], int]:
    """Latencies in ms, and how many messages never produced their datagram (within LOST_AFTER_S)."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    rng = random.Random(0)
    samples: list[float] = []
    lost = 0
    try:
        with transport(receiver) as (send, sent_at):
            for i, (msg, expected) in enumerate(_messages(count)):
                time.sleep(rng.uniform(0.0, 0.003))  # spread sends over the JACK period's phases
                send(msg)
                received_at = _receive(receiver, expected, deadline=time.monotonic() + LOST_AFTER_S)
                t0 = sent_at()
                if received_at is None or t0 is None:
                    lost += 1
                    if lost > count // 10:
                        raise OSError(f"{lost} of {i + 1} MIDI messages never reached OSC")
                elif i >= WARMUP:
                    samples.append((received_at - t0) * 1000.0)
    finally:
        receiver.close()
    return samples, lost


def _receive(receiver: socket.socket, expected: Callable[[tuple], bool], *, deadline: float) -> float | None:
    """time.monotonic() when the datagram whose /pict2audio/override args pass `expected` arrived
    (skipping late ones for earlier messages); None when it did not by the deadline."""
    from pythonosc.osc_packet import OscPacket

    while (left := deadline - time.monotonic()) > 0:
        receiver.settimeout(left)
        try:
            data, _ = receiver.recvfrom(65536)
        except TimeoutError:
            return None
        now = time.monotonic()
        for timed in OscPacket(data).messages:
            if timed.message.address == "/pict2audio/override" and expected(tuple(timed.message.params)):
                return now
    return None


@contextmanager
def _memory_transport(receiver: socket.socket) -> Iterator[Sender]:
    """In this process: mido's in-memory EchoPort, read by MidiInput's polling reader thread."""
    import mido.ports

    from bridge.adapters.midi_mido import MidiInput
    from bridge.adapters.osc_out import OscSender
    from bridge.app.live_session import LiveSession

    sender = OscSender([receiver.getsockname()])
    session = LiveSession(_engine(), [sender]).start()
    midi = MidiInput("bench", post=session.post, retry_s=5.0)
    port = mido.ports.EchoPort()
    midi.attach(port, poll_s=0.0002)
    sent: list[float] = []

    def send(msg: Any) -> None:
        sent.append(time.monotonic())
        port.send(msg)

    try:
        yield send, lambda: sent.pop(0) if sent else None
    finally:
        port.close()
        midi.close()
        session.stop()
        sender.close()


# The bridge side of the JACK path, in a child process: argv = the port to open, OSC host, OSC port.
BRIDGE_CHILD = r"""
import sys
from benchmarks.figures.midi import serve_bridge
serve_bridge(sys.argv[1], sys.argv[2], int(sys.argv[3]))
"""


@contextmanager
def _jack_transport(receiver: socket.socket) -> Iterator[Sender]:
    """A private JACK server, a controller process with a virtual output 'P2ABench:controller', and the
    bridge in another process opening it by name, as a device (`serve_bridge`).

    No JACK port is opened or closed in this process (python-rtmidi's RtMidi can crash closing a JACK
    input, see bridge/adapters/midi_mido.py): at the end the server stops first, then both processes are
    SIGKILLed. The controller reports when it sent each message (CLOCK_MONOTONIC, the clock of
    time.monotonic() on Linux)."""
    from pathlib import Path

    from benchmarks.jack_dummy import ChildProcess, MidiSender, jack_dummy_server
    from bridge.adapters.midi_mido import MidiError

    children: list[ChildProcess] = []
    try:
        with jack_dummy_server(period_frames=PERIOD_FRAMES, rate_hz=RATE_HZ):
            controller = MidiSender("P2ABench", "controller")
            children.append(controller)
            host, port = receiver.getsockname()
            bridge = ChildProcess([sys.executable, "-c", BRIDGE_CHILD, controller.connected_to, host, str(port)],
                                  cwd=Path(__file__).resolve().parents[2])
            children.append(bridge)
            if bridge.wait_line(lambda line: line == "ready", 30) is None:
                raise MidiError(f"the benchmark's bridge process did not open {controller.connected_to}: "
                                f"{bridge.tail(5) or 'no output'}")
            _wait_heard(controller, receiver)
            yield controller.send, controller.sent_at
    finally:
        for child in children:
            child.kill()


def serve_bridge(spec: str, host: str, port: int) -> None:
    """The benchmark's bridge process: MidiInput (JACK) -> LiveSession -> OscSender to host:port; it prints
    "ready" once the port is open and runs until killed (its port is never closed)."""
    from benchmarks.jack_dummy import JACK_BACKEND
    from bridge.adapters.midi_mido import MidiInput
    from bridge.adapters.osc_out import OscSender
    from bridge.app.live_session import LiveSession

    logging.basicConfig(level=logging.WARNING)
    session = LiveSession(_engine(), [OscSender([(host, port)])]).start()
    midi = MidiInput(spec, post=session.post, backend=JACK_BACKEND, retry_s=5.0)
    if not midi.open():
        raise SystemExit(1)
    print("ready", flush=True)
    threading.Event().wait()


def _engine() -> Any:
    """The real Engine and Matcher over one synthetic sample per label cell (no classifier runs:
    nothing is drawn, so matching uses the overrides over a uniform prediction)."""
    from bridge.core.bank import Sample, SoundBank
    from bridge.core.engine import Engine, uniform_prediction
    from bridge.core.labels import PITCHES, TIMBRES, VOLUMES, Labels
    from bridge.core.matching import Matcher

    samples = tuple(Sample(f"/bench/bank/{p}-{v}-{t}.wav", Labels(p, v, t))
                    for p in PITCHES for v in VOLUMES for t in TIMBRES)
    return Engine(classify=lambda raster: uniform_prediction(), match=Matcher(SoundBank(samples, "bench")))


def _wait_heard(controller: Any, receiver: socket.socket, timeout_s: float = 10.0) -> None:
    """Ping (a note-on whose override comes back, re-sent every 0.2 s) until `receiver` hears it: a busy
    JACK server may take a moment to connect a new client, and anything sent before that is lost."""
    import mido

    from bridge.adapters.midi_mido import MidiError

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        controller.send(mido.Message("note_on", note=69, velocity=100))
        heard = _receive(receiver, lambda args: args[0] == 69, deadline=time.monotonic() + 0.2)
        controller.sent_at()
        if heard is not None:
            time.sleep(0.1)  # let pings still in flight arrive, then drop their datagrams
            receiver.setblocking(False)
            try:
                while True:
                    receiver.recvfrom(65536)
            except BlockingIOError:
                pass
            finally:
                receiver.setblocking(True)
            return
    raise MidiError(f"the benchmark's bridge did not hear its JACK port within {timeout_s:g} s")
