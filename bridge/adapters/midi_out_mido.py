"""MIDI out with mido: the engine's voices as notes on a MIDI port (files: bridge.adapters.midi_file).

`MidiOutput` is a LiveSession sink. On the engine's thread each bundle goes through the pure mapping
(`bridge.core.midi_out.MidiOut`) and its events are sent at once; the note-offs due when a sample
ends are sent by one scheduler thread (a heap of due times in MidiOut, a condition variable here), not
a timer per note. Both threads send under one lock, so a note-off never overtakes a later note-on.
`close()` (stop, quit) sends a note-off for every sounding note and All Notes Off (CC 123) on every
channel used, then closes the port. A port is opened by name (or part of one) or as a virtual output
named `Pict2Audio Out` (`spec="virtual"`), with the same backends as the MIDI input
(`mido.backends.rtmidi`, `mido.backends.rtmidi/UNIX_JACK`, ...).

On JACK, RtMidi's send only queues a message for the client's process callback, which hands it on in the
next JACK cycle; RtMidi's closePort waits for one callback but may unregister the port before the last
messages reached a receiver (the callback answering it can have emptied the queue just before they were
queued, and a receiver later in the same cycle can read after the port was unregistered). So `close()` first
waits for JACK_DRAIN_CYCLES cycles to begin after the last send (at most JACK_DRAIN_MAX_S, never hanging
a quit), watching the server's frame time through a JACK client of its own that is never activated: the
note-offs and All Notes Off reach the receiver even when the process ends right after.
(The input's close race of bridge/adapters/midi_mido.py is a callback into Python; an output has none.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from bridge.core.midi_out import MidiEvent, MidiOut, MidiOutMapping, SampleLength, SampleNote
from bridge.core.protocol import Bundle

log = logging.getLogger(__name__)

VIRTUAL = "virtual"
VIRTUAL_OUT_PORT_NAME = "Pict2Audio Out"
JACK_API = "UNIX_JACK"  # mido's name of python-rtmidi's JACK API (an open port's `api`)
JACK_DRAIN_CYCLES = 2  # cycles begun after the last send: the first hands it on, the second begins once receivers ran
JACK_DRAIN_MAX_S = 0.2
JACK_POLL_S = 0.002
JACK_NO_START_SERVER = 0x01  # jack_options_t JackNoStartServer


class MidiOutput:
    """A LiveSession sink sending the session's voices as MIDI notes to one output port.

    spec: a port name or part of one, or "virtual". sample_note / sample_length_ms: see MidiOut.
    After `open()` (or `attach(port)`), call it with each Bundle; `close()` ends every note.
    """

    def __init__(self, spec: str, *, mapping: MidiOutMapping | None = None, backend: str | None = None,
                 sample_note: SampleNote | None = None, sample_length_ms: SampleLength | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from bridge.adapters.midi_mido import DEFAULT_BACKEND

        self.spec = spec
        self.backend_name = backend or DEFAULT_BACKEND
        self.port: Any = None
        self.port_name: str | None = None
        self.error: str | None = None  # why open() failed
        self.sent = 0  # messages sent (for tests and the log)
        self.notes = MidiOut(mapping, sample_note=sample_note, sample_length_ms=sample_length_ms)
        self._clock = clock
        self._wake = threading.Condition()  # guards `notes` and the port; wakes the scheduler
        self._closed = False
        self._scheduler: threading.Thread | None = None
        self._failed_sends = 0

    # -- opening and closing

    def open(self) -> bool:
        """Open the port; on failure log one error line naming the available outputs and return False."""
        from bridge.adapters.midi_mido import CLIENT_LOCK, MidiError, load_backend

        try:
            backend = load_backend(self.backend_name)
            if self.spec == VIRTUAL:
                with CLIENT_LOCK:
                    port = backend.open_output(VIRTUAL_OUT_PORT_NAME, virtual=True, client_name=VIRTUAL_OUT_PORT_NAME)
            else:
                name = self._find(backend)
                with CLIENT_LOCK:
                    port = backend.open_output(name)
        except Exception as exc:  # no port, no server, no virtual ports on this API: run without MIDI out
            self.error = str(exc) if isinstance(exc, MidiError) else f"MIDI output {self.spec!r}: {exc}"
            log.error("%s; running without MIDI out", self.error)
            return False
        self.attach(port)
        log.info("MIDI output: %s (%s)", self.port_name, self.backend_name)
        return True

    def attach(self, port: Any) -> None:
        """Send to an already-open mido output (an in-memory port in tests) and start the scheduler."""
        self.port, self.port_name = port, getattr(port, "name", None) or repr(port)
        self._scheduler = threading.Thread(target=self._schedule, name="pict2audio-midi-out", daemon=True)
        self._scheduler.start()

    def close(self) -> None:
        """End every sounding note (note-offs, then All Notes Off per channel used) and close the port.
        Idempotent; later bundles are ignored."""
        with self._wake:
            if self._closed:
                return
            self._closed = True
            self._send(self.notes.release_all(self._now_ms()))
            self._wake.notify_all()
        if self._scheduler is not None:
            self._scheduler.join(2.0)
        port, self.port = self.port, None
        if port is not None:
            from bridge.adapters.midi_mido import CLIENT_LOCK

            if getattr(port, "api", None) == JACK_API and not wait_jack_cycles(JACK_DRAIN_CYCLES, JACK_DRAIN_MAX_S):
                log.debug("MIDI output %r: could not see %d JACK cycles pass before closing", self.port_name,
                          JACK_DRAIN_CYCLES)
            try:
                with CLIENT_LOCK:
                    port.close()
            except Exception as exc:  # a vanished device may fail to close; it is gone either way
                log.debug("closing MIDI output %r: %s", self.port_name, exc)
        log.info("MIDI output %s closed after %d messages", self.port_name, self.sent)

    def _find(self, backend: Any) -> str:
        from bridge.adapters.midi_mido import CLIENT_LOCK, MidiError, find_port

        with CLIENT_LOCK:
            names = list(backend.get_output_names())
        name = find_port(self.spec, names, kind="output")
        if name is None:
            available = ", ".join(repr(n) for n in names) or "none"
            raise MidiError(f"MIDI output {self.spec!r} not found; available outputs: {available} "
                            f"(see `run_bridge.py midi-ports`, or use --midi-out {VIRTUAL})")
        return name

    # -- the sink and the scheduler

    def __call__(self, bundle: Bundle) -> None:
        """The bundle's notes, sent now (engine thread)."""
        with self._wake:
            if self._closed or self.port is None:
                return
            due_before = self.notes.next_due_ms()
            self._send(self.notes.handle(bundle, self._now_ms(), lengths_later=True))
            self.notes.schedule_ends()  # after the note-ons went out: a file's first length lookup takes a while
            due = self.notes.next_due_ms()
            if due is not None and (due_before is None or due < due_before):
                self._wake.notify()  # an earlier note-off than the scheduler waits for

    def _schedule(self) -> None:
        """The one scheduler thread: sleep until the next sample ends, send its note-off."""
        with self._wake:
            while not self._closed:
                due = self.notes.next_due_ms()
                now = self._now_ms()
                if due is None:
                    self._wake.wait()
                elif due > now:
                    self._wake.wait((due - now) / 1000.0)
                else:
                    self._send(self.notes.advance(now))
                    self._wake.notify_all()  # for wait_sample_ends

    def wait_sample_ends(self, timeout_s: float) -> bool:
        """Block until no note is waiting for its sample to end (at most timeout_s): a replay lets its last
        notes ring out before close() cuts them. True when none is left."""
        with self._wake:
            return self._wake.wait_for(lambda: self._closed or self.notes.next_due_ms() is None, timeout_s)

    def _send(self, events: list[MidiEvent]) -> None:
        """Send events (the caller holds the lock); a failing send is logged (first and every 100th)."""
        import mido

        for event in events:
            try:
                self.port.send(mido.Message(**event.fields()))
                self.sent += 1
            except Exception as exc:  # a vanished device: the bookkeeping goes on, nothing sticks on our side
                self._failed_sends += 1
                if self._failed_sends % 100 == 1:
                    log.warning("MIDI output %r: send failed (%d so far): %s", self.port_name, self._failed_sends, exc)

    def _now_ms(self) -> float:
        return self._clock() * 1000.0


def wait_jack_cycles(cycles: int, timeout_s: float) -> bool:
    """Block until the JACK server (JACK_DEFAULT_SERVER, else the default one) has begun `cycles` more process
    cycles, at most timeout_s after its client opened. The frame time is read through a JACK client of this
    function's own, never activated (so it takes no part in the cycles). False when no libjack or server answers,
    or time ran out."""
    from bridge.adapters.midi_mido import CLIENT_LOCK

    jack = _libjack()
    if jack is None:
        return False
    with CLIENT_LOCK:
        client = jack.jack_client_open(b"pict2audio-drain", JACK_NO_START_SERVER, ctypes.byref(ctypes.c_int(0)))
    if not client:
        return False
    try:
        deadline = time.monotonic() + timeout_s
        period, start = jack.jack_get_buffer_size(client), jack.jack_last_frame_time(client)
        while period and time.monotonic() < deadline:
            if (jack.jack_last_frame_time(client) - start) % 2**32 >= cycles * period:
                return True
            time.sleep(JACK_POLL_S)
        return False
    finally:
        with CLIENT_LOCK:
            jack.jack_client_close(client)


@functools.cache
def _libjack() -> ctypes.CDLL | None:
    """The system's libjack with the prototypes wait_jack_cycles uses; None when it is not installed."""
    name = ctypes.util.find_library("jack")
    try:
        jack = ctypes.CDLL(name) if name else None
    except OSError:
        jack = None
    if jack is None:
        return None
    jack.jack_client_open.restype = ctypes.c_void_p
    jack.jack_client_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    jack.jack_client_close.argtypes = [ctypes.c_void_p]
    for symbol in ("jack_get_buffer_size", "jack_last_frame_time"):
        getattr(jack, symbol).restype = ctypes.c_uint32
        getattr(jack, symbol).argtypes = [ctypes.c_void_p]
    return jack
