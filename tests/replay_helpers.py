"""Helpers for the replay tests: a loopback OSC recorder and the real session parts, loaded once."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pythonosc.osc_packet import OscPacket
from waiting import Changes

REPO = Path(__file__).resolve().parents[1]
# Linux's SO_TIMESTAMPNS (= SCM_TIMESTAMPNS): Python's socket module does not export it.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform.startswith("linux") else None)
EXAMPLES = REPO / "data" / "drawings"
# A datagram only the recorder itself sends; not OSC (that starts with '/' or '#bundle'), so never the bridge's.
MARKER_PREFIX = b"#pict2audio-test-marker "


@dataclass(frozen=True)
class Received:
    """One OSC datagram: its arrival in s and its messages as (address, args).

    The arrival is the kernel's receive timestamp (SO_TIMESTAMPNS, wall clock) where the platform has
    it, so the recorder's own thread scheduling does not blur the figures; else time.time() on receipt.
    """

    arrival_s: float
    messages: tuple[tuple[str, tuple], ...]
    kernel_stamped: bool = False


class OscRecorder:
    """A UDP socket on 127.0.0.1 (a free port) that records every datagram, on its own thread."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self._kernel_stamps = SO_TIMESTAMPNS is not None
        if self._kernel_stamps:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.port: int = self.sock.getsockname()[1]
        self.received: list[Received] = []
        self._markers: set[bytes] = set()  # markers read so far (see wait_quiet)
        self._changes = Changes()  # wakes wait_quiet when a marker is read
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="osc-recorder", daemon=True)

    def __enter__(self) -> OscRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self.sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, ancillary, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(16))
            except TimeoutError:
                continue
            except OSError:
                return
            if data.startswith(MARKER_PREFIX):
                with self._changes:
                    self._markers.add(data)
                continue
            arrival, stamped = time.time(), False
            for level, kind, payload in ancillary:
                if self._kernel_stamps and (level, kind) == (socket.SOL_SOCKET, SO_TIMESTAMPNS):
                    seconds, nanoseconds = struct.unpack("qq", payload[:16])
                    arrival, stamped = seconds + nanoseconds / 1e9, True
            packet = OscPacket(data)
            messages = tuple((m.message.address, tuple(m.message.params)) for m in packet.messages)
            self.received.append(Received(arrival, messages, stamped))

    def wait_quiet(self, *, timeout_s: float = 60.0) -> None:
        """Return once every datagram sent to the recorder before this call is in `received`.

        Call it when the senders are done (their process exited, their session is idle): a marker
        datagram sent now is queued on the socket behind everything they sent, and the recorder's
        thread reads the socket in order, so once it has read the marker it has recorded the rest.
        """
        marker = MARKER_PREFIX + uuid.uuid4().hex.encode()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as poke:
            poke.sendto(marker, ("127.0.0.1", self.port))
        if not self._changes.wait_until(lambda: marker in self._markers, timeout_s):
            raise AssertionError(f"the OSC recorder did not read its own marker within {timeout_s:g} s")

    def offsets_ms(self) -> list[float]:
        """Arrival of each datagram relative to the first one, in ms."""
        if not self.received:
            return []
        first = self.received[0].arrival_s
        return [(r.arrival_s - first) * 1000.0 for r in self.received]


def run_bridge(*args: str, timeout_s: float = 300.0) -> subprocess.CompletedProcess[str]:
    """`python run_bridge.py ARGS...` from the repo root; returns the finished process."""
    return subprocess.run(
        [sys.executable, str(REPO / "run_bridge.py"), *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout_s, check=False,
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else 0.0


def aligned_errors_ms(a_ms: list[float], b_ms: list[float]) -> list[float]:
    """|a_i - b_i - c| where c is the median of a_i - b_i: the error of the relative timing.

    Aligning on the median instead of on the first event keeps one slow event (a cold first
    classification, a scheduler stall) from shifting every other comparison."""
    diffs = [a - b for a, b in zip(a_ms, b_ms)]
    center = percentile(diffs, 0.5)
    return [abs(d - center) for d in diffs]


def record_live(drive: Callable[[Any], None], *, idle_s: float = 30.0, extra_sinks: Sequence[Any] = (),
                **config: Any) -> tuple[Any, list[Received], Any]:
    """A live session (build_session with these Config fields, no audio, OSC to a loopback OscRecorder) driven by
    `drive(parts)`; once it is idle and all it sent has arrived: (the drawing it recorded, the datagrams received,
    its parts, closed). Fails when the engine or a sink reported an error."""
    from bridge.app.config import Config
    from bridge.app.session import build_session

    with OscRecorder() as receiver:
        parts = build_session(Config(osc_targets=(("127.0.0.1", receiver.port),), audio="none", **config),
                              extra_sinks=list(extra_sinks))
        try:
            drive(parts)
            assert parts.session.wait_idle(idle_s)
            receiver.wait_quiet()
            drawing = parts.engine.drawing
            assert not parts.engine.errors and not parts.session.sink_errors
        finally:
            parts.close()
    return drawing, receiver.received, parts
