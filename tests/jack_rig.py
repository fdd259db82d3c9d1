"""The JACK rig of the real-MIDI tests: a private JACK server (`jack_server`; conftest's `jack` fixture), an
OSC listener on loopback (`Osc`; conftest's `osc`), the bridge and controller processes started in the server,
and `until_heard` / `move`, which re-send a move until its effect is heard (the non-realtime dummy server may
drop MIDI on a busy machine).

No JACK port is opened or closed in the pytest process (see test_midi_rtmidi_jack.py): every port lives in a
child process, ended with SIGKILL.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import mido
import pytest
from conftest import REPO
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer
from waiting import Changes

from benchmarks.jack_dummy import ChildProcess, JackError, MidiSender, jack_dummy_server

RESEND_S = 0.3  # a move not heard within this long is sent again
HEARD_WITHIN_S = 20.0  # ... until this long has passed: then MIDI did not reach OSC, and the test fails


class Jack:
    """A private JACK server (its name) and the child processes started in it (`start(child)`)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.children: list[ChildProcess] = []

    def start(self, child: ChildProcess) -> ChildProcess:
        self.children.append(child)
        return child


@contextmanager
def jack_server(period_frames: int) -> Iterator[Jack]:
    """A private JACK server with this period, FAILING the test (never skipping) when jackd cannot start.

    At the end the server stops first, while its clients are alive and answer it (it is gone at once),
    then the bridge and the controllers are SIGKILLed: no port is ever closed gracefully.
    """
    server = jack_dummy_server(period_frames=period_frames)
    try:
        jack = Jack(server.__enter__())  # sets JACK_DEFAULT_SERVER, inherited by the children
    except JackError as exc:
        pytest.fail(f"{exc} (CI installs jackd2; these tests need a real JACK MIDI port)")
    try:
        yield jack
    finally:
        try:
            server.__exit__(None, None, None)
        finally:
            for child in reversed(jack.children):
                child.kill()


class Osc:
    """A python-osc server on loopback collecting (address, args) of everything the bridge sends, in the
    order it arrives (one thread: a late datagram is never overtaken in the list)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, tuple]] = []
        self.changes = Changes()  # wakes a wait on every message received
        dispatcher = Dispatcher()
        dispatcher.set_default_handler(self._receive)
        self.server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _receive(self, address: str, *args: object) -> None:
        with self.changes:
            self.received.append((address, args))

    def args(self, address: str) -> list[tuple]:
        return [args for a, args in list(self.received) if a == address]

    def overrides(self) -> list[tuple]:
        return self.args("/pict2audio/override")

    def last_override(self) -> tuple | None:
        overrides = self.overrides()
        return overrides[-1] if overrides else None


def play(jack: Jack, osc: Osc, *args: str, verbosity: str = "-v") -> ChildProcess:
    """`run_bridge.py -v play --audio none --osc 127.0.0.1:<osc> ARGS` with SDL's dummy drivers, in `jack`."""
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1",
           "JACK_DEFAULT_SERVER": jack.name, "JACK_NO_START_SERVER": "1"}
    return jack.start(ChildProcess([sys.executable, "run_bridge.py", verbosity, "play", "--audio", "none",
                                    "--osc", f"127.0.0.1:{osc.port}", *args], cwd=REPO, env=env))


def controller(jack: Jack, client: str, port: str, **kwargs) -> MidiSender:
    """A controller process in `jack`: a virtual output `client:port`, or connected to `connect_to`."""
    try:
        return jack.start(MidiSender(client, port, **kwargs))  # type: ignore[return-value]
    except JackError as exc:
        pytest.fail(str(exc))


def until_heard(send: Callable[[], None], heard: Callable[[], bool], what: str, *,
                bridge: ChildProcess, osc: Osc, timeout_s: float = HEARD_WITHIN_S) -> None:
    """send(), and again after each RESEND_S without heard() (JACK may drop a message); fail after timeout_s.

    heard() is checked on every OSC message received (and once more at each resend: it may also read the
    bridge's output, which does not wake this wait)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        send()
        if osc.changes.wait_until(heard, min(RESEND_S, max(0.0, deadline - time.monotonic()))):
            return
        if not bridge.alive():
            pytest.fail(f"the bridge exited ({bridge.proc.returncode}) waiting for {what}:\n{bridge.tail()}")
    pytest.fail(f"{what}: not heard on OSC within {timeout_s:g} s; OSC received {osc.received[-8:]}\n"
                f"bridge output:\n{bridge.tail()}")


def move(keys: MidiSender, bridge: ChildProcess, osc: Osc, message: mido.Message,
         heard: Callable[[], bool]) -> None:
    until_heard(lambda: keys.send(message), heard, f"{message} (from {keys.connected_to})", bridge=bridge, osc=osc)


def errors(bridge: ChildProcess) -> list[str]:
    return [line for line in bridge.output() if line.startswith(("ERROR", "CRITICAL", "Traceback"))]
