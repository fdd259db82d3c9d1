"""OSC output with python-osc: one OSC bundle per engine Bundle, to every target (SPEC §4).

Arguments are written with the type tags of `protocol.ADDRESSES` (only `i`, `f`, `s`), never guessed
from the Python value, so Pure Data's `oscparse` can read everything. The bundle timetag is
"immediately" unless `latency_ms` > 0, then wall-clock now + latency (NTP time), so a peer that
schedules by timetag plays every event the same fixed delay later (less jitter). A bundle made ahead of its
time (a score note, `Bundle.due_unix_s`) is tagged with its own due time instead.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Sequence

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from bridge.core.protocol import ADDRESSES, OSC_TYPES, Bundle, Message
from bridge.errors import ConfigError

log = logging.getLogger(__name__)

_TYPETAGS = {a.path: a.typetags for a in ADDRESSES.values()}


def encode_message(message: Message) -> OscMessageBuilder:
    """A python-osc message builder with the table's type tags (i/f/s only)."""
    tags = _TYPETAGS.get(message.address)
    if tags is None or len(tags) != len(message.args):
        raise ValueError(f"{message.address}: not in protocol.ADDRESSES with {len(message.args)} arguments")
    builder = OscMessageBuilder(address=message.address)
    for tag, value in zip(tags, message.args):
        builder.add_arg(OSC_TYPES[tag](value), tag)
    return builder


def encode_bundle(bundle: Bundle, *, timetag_s: float | None = None) -> bytes:
    """The OSC bundle datagram of one engine Bundle; timetag_s is Unix time in s or IMMEDIATELY (None: the
    bundle's own due time if it has one, else IMMEDIATELY)."""
    if timetag_s is None:
        timetag_s = IMMEDIATELY if bundle.due_unix_s is None else bundle.due_unix_s
    builder = OscBundleBuilder(timetag_s)
    for message in bundle.messages:
        builder.add_content(encode_message(message).build())
    return builder.build().dgram


def check_targets(targets: object) -> tuple[tuple[str, int], ...]:
    """The (host, port) pairs to send to, checked before anything is sent; ConfigError otherwise.

    A string is refused rather than read one character at a time, and a port outside 0..65535 rather
    than failing on every bundle later (port 0 cannot be sent to: it is logged once, as any failing
    target; the config never gives it).
    """
    if isinstance(targets, str | bytes) or not isinstance(targets, Sequence):
        raise ConfigError(f"OSC targets: expected a list of (host, port) pairs, e.g. [('127.0.0.1', 9000)], "
                          f"got {targets!r}")
    return tuple(_target(target) for target in targets)


def _target(target: object) -> tuple[str, int]:
    if isinstance(target, tuple | list) and len(target) == 2:
        host, port = target
        good_host = isinstance(host, str) and host.strip() != "" and "\0" not in host
        good_port = isinstance(port, int) and not isinstance(port, bool) and 0 <= port < 65536
        if good_host and good_port:
            return host, port
    raise ConfigError(f"OSC target {target!r}: expected a (host, port) pair with a host name or address "
                      "and a port 0..65535, e.g. ('127.0.0.1', 9000)")


class OscSender:
    """A LiveSession sink: `sender(bundle)` sends one OSC bundle to each target over UDP.

    A target that cannot be resolved or sent to is logged once (a warning) and the others go on;
    it is retried on the next bundle unless its address could not be resolved at all.
    """

    def __init__(self, targets: Sequence[tuple[str, int]], *, latency_ms: float = 0.0) -> None:
        if not latency_ms >= 0:
            raise ConfigError(f"the OSC look-ahead (--osc-latency-ms) must be 0 or more ms, got {latency_ms!r}")
        self.targets = check_targets(targets)
        self.latency_ms = float(latency_ms)
        self.sent = 0  # bundles handed to the network, for the HUD and tests
        self._closed = False
        self._failing: set[tuple[str, int]] = set()
        self._sockets: dict[int, socket.socket] = {}  # one socket per address family
        self._resolved: dict[tuple[str, int], tuple[int, tuple]] = {}
        for target in self.targets:
            self._resolve(target)

    def _resolve(self, target: tuple[str, int]) -> None:
        host, port = target
        try:
            family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        except (OSError, UnicodeError) as exc:
            log.warning("OSC target %s:%d cannot be resolved (%s): not sending there", host, port, exc)
            return
        self._resolved[target] = (family, sockaddr)

    def _socket(self, family: int) -> socket.socket:
        sock = self._sockets.get(family)
        if sock is None:
            sock = self._sockets[family] = socket.socket(family, socket.SOCK_DGRAM)
        return sock

    def timetag_s(self, bundle: Bundle | None = None) -> float:
        """Unix time the receiver should act at, or IMMEDIATELY when there is no look-ahead. A bundle made
        ahead of its time (a score note, sent `latency_ms` early) is tagged with its own due time."""
        if self.latency_ms <= 0:
            return IMMEDIATELY
        if bundle is not None and bundle.due_unix_s is not None:
            return bundle.due_unix_s
        return time.time() + self.latency_ms / 1000.0

    def __call__(self, bundle: Bundle) -> None:
        if self._closed or not bundle.messages:
            return
        dgram = encode_bundle(bundle, timetag_s=self.timetag_s(bundle))
        for target, (family, sockaddr) in self._resolved.items():
            try:
                self._socket(family).sendto(dgram, sockaddr)
            except OSError as exc:
                if target not in self._failing:
                    log.warning("OSC target %s:%d failed (%s); other targets go on", *target, exc)
                    self._failing.add(target)
                continue
            if target in self._failing:
                log.info("OSC target %s:%d works again", *target)
                self._failing.discard(target)
        self.sent += 1
        log.debug("OSC bundle %s at t=%.1f ms", bundle.addresses(), bundle.t_ms)

    def close(self) -> None:
        """Close the sockets; later bundles are dropped (idempotent)."""
        self._closed = True
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()

    def __repr__(self) -> str:
        return f"OscSender({', '.join(f'{h}:{p}' for h, p in self.targets)})"
