"""OSC output: one OSC bundle per engine Bundle, to every target over UDP (SPEC §4).

Arguments are written with the type tags of `protocol.ADDRESSES` (only `i`, `f`, `s`), never guessed
from the Python value, so Pure Data's `oscparse` can read everything. The bundle timetag is
"immediately" unless `latency_ms` > 0, then wall-clock now + latency (NTP time), so a peer that
schedules by timetag plays every event the same fixed delay later (less jitter). A bundle made ahead of its
time (a score note, `Bundle.due_unix_s`) is tagged with its own due time instead.

The datagram is written here in one pass (each address's name and type-tag string are encoded once, when
this module loads), because this runs between a pen event and its datagram: python-osc's builders parse
every message back after building it. The bytes are the ones python-osc builds (a test compares them).
"""

from __future__ import annotations

import logging
import socket
import struct
import time
from collections.abc import Sequence

from bridge.core.errors import ConfigError
from bridge.core.protocol import ADDRESSES, Bundle, Message

log = logging.getLogger(__name__)

IMMEDIATELY = 0  # as a timetag_s: the OSC timetag 1, "act at once" (python-osc's convention)
NTP_UNIX_OFFSET_S = 2_208_988_800  # 1900-01-01 (NTP epoch) to 1970-01-01 (Unix epoch)
_BUNDLE_TAG = b"#bundle\0"
_IMMEDIATELY_TIMETAG = struct.pack(">Q", 1)
_INT = struct.Struct(">i").pack
_FLOAT = struct.Struct(">f").pack


def osc_string(text: str) -> bytes:
    """An OSC string: UTF-8, NUL-terminated and padded with NULs to a multiple of 4 bytes."""
    data = text.encode("utf-8")
    return data + b"\0" * (4 - len(data) % 4)


# path -> (the encoded address and type-tag string, the type tags): the part of a message that never changes
_HEADS = {a.path: (osc_string(a.path) + osc_string("," + a.typetags), a.typetags) for a in ADDRESSES.values()}
_WRITE = {"i": _INT, "f": _FLOAT, "s": osc_string}


def encode_message(message: Message) -> bytes:
    """One OSC message with the table's type tags (i/f/s only); ValueError when it does not fit the table."""
    head = _HEADS.get(message.address)
    if head is None or len(head[1]) != len(message.args):
        raise ValueError(f"{message.address}: not in protocol.ADDRESSES with {len(message.args)} arguments")
    data, tags = head
    try:
        return data + b"".join([_WRITE[tag](value) for tag, value in zip(tags, message.args)])
    except (struct.error, OverflowError) as exc:  # an int beyond 32 bits, a float beyond float32
        raise ValueError(f"{message.address} {message.args!r}: cannot be written as OSC {tags!r} ({exc})") from exc


def timetag(timetag_s: float) -> bytes:
    """The 8-byte OSC timetag of a Unix time in s (IMMEDIATELY: the timetag 1)."""
    if timetag_s == IMMEDIATELY:
        return _IMMEDIATELY_TIMETAG
    return struct.pack(">Q", int((timetag_s + NTP_UNIX_OFFSET_S) * 2.0**32))


def encode_bundle(bundle: Bundle, *, timetag_s: float | None = None) -> bytes:
    """The OSC bundle datagram of one engine Bundle; timetag_s is Unix time in s or IMMEDIATELY (None: the
    bundle's own due time if it has one, else IMMEDIATELY)."""
    if timetag_s is None:
        timetag_s = IMMEDIATELY if bundle.due_unix_s is None else bundle.due_unix_s
    parts = [_BUNDLE_TAG, timetag(timetag_s)]
    for message in bundle.messages:
        data = encode_message(message)
        parts += (_INT(len(data)), data)
    return b"".join(parts)


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

    def close(self) -> None:
        """Close the sockets; later bundles are dropped (idempotent)."""
        self._closed = True
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()

    def __repr__(self) -> str:
        return f"OscSender({', '.join(f'{h}:{p}' for h, p in self.targets)})"
