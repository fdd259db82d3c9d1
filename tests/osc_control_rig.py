"""The OSC control rig: an engine on its LiveSession, an OscControlServer on a free loopback port reporting
the outcome of every datagram, and a client."""

from __future__ import annotations

import queue
import socket
import time
from collections.abc import Callable
from typing import NamedTuple

import pytest
from osc_datagrams import raw_message
from pythonosc.udp_client import SimpleUDPClient
from stand_ins import InkClassifier
from waiting import next_item

from bridge.adapters.osc_control import ControlOutcome, OscControlServer
from bridge.app.live_session import LiveSession
from bridge.core.bank import Sample, SoundBank
from bridge.core.engine import Engine
from bridge.core.labels import PITCHES, VOLUMES, Labels
from bridge.core.matching import Matcher

SYNC_PREFIX = "/test/sync/"  # the address of `sync`'s probes: no control, an outcome all the same


class Recorder:
    def __init__(self) -> None:
        self.bundles = []

    def __call__(self, bundle) -> None:
        self.bundles.append(bundle)

    def addresses(self) -> list[str]:
        return [a for b in self.bundles for a in b.addresses()]


class FakeClock:
    """A clock the test moves by hand (read from the server thread too)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Rig(NamedTuple):
    engine: Engine
    session: LiveSession
    server: OscControlServer
    client: SimpleUDPClient
    outcomes: queue.Queue[ControlOutcome]  # what the server made of each datagram, once it is logged
    recorder: Recorder


def open_rig(*, sinks: tuple[Callable, ...] = (), clock: Callable[[], float] = time.monotonic) -> Rig:
    """An engine on its session, a control server on a free loopback port, and a client for it."""
    bank = SoundBank(tuple(Sample(f"/bank/{p}-{v}.wav", Labels(p, v, "keyboard")) for p in PITCHES for v in VOLUMES))
    engine = Engine(classify=InkClassifier().classify_raster, match=Matcher(bank))
    recorder = Recorder()
    session = LiveSession(engine, [recorder, *sinks]).start()
    outcomes: queue.Queue[ControlOutcome] = queue.Queue()
    server = OscControlServer(session, port=0, on_outcome=outcomes.put, clock=clock).start()
    client = SimpleUDPClient("127.0.0.1", server.port)
    return Rig(engine, session, server, client, outcomes, recorder)


def close_rig(rig: Rig) -> None:
    rig.server.stop()
    rig.session.stop()


def send_raw(rig: Rig, *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        for datagram in datagrams:
            raw.sendto(datagram, ("127.0.0.1", rig.server.port))


def next_outcome(rig: Rig, what: str, timeout_s: float = 5.0) -> ControlOutcome:
    """The server's next outcome (reported after its log line is written) other than a `sync` probe's (a
    probe re-sent on a busy machine is answered twice); fails after timeout_s."""
    outcome = next_item(rig.outcomes, lambda o: not (o.address or "").startswith(SYNC_PREFIX), timeout_s=timeout_s)
    if outcome is None:
        pytest.fail(f"no reaction to {what} within {timeout_s:g} s")
    return outcome


def send(rig: Rig, address: str, *args) -> ControlOutcome:
    """Send one control message, wait for the server's outcome of it, then until the engine is idle."""
    rig.client.send_message(address, list(args))
    outcome = next_outcome(rig, f"{address} {args}")
    assert outcome.address == address, outcome  # the reaction to this message, not to an earlier datagram
    assert rig.session.wait_idle(5)
    return outcome


def sync(rig: Rig, raw: socket.socket, name: str, timeout_s: float = 5.0) -> None:
    """Send a probe after what `raw` sent (re-sent if the kernel dropped it) and wait for the server's
    outcome of it: then the server has read every earlier datagram the kernel kept."""
    address = f"{SYNC_PREFIX}{name}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not rig.server.alive:
            pytest.fail("the OSC control server thread has died")
        raw.sendto(raw_message(address.encode()), ("127.0.0.1", rig.server.port))
        if next_item(rig.outcomes, lambda o: o.address == address, timeout_s=0.05) is not None:
            return
    pytest.fail(f"the server did not answer {address} within {timeout_s:g} s")
