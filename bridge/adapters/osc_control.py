"""OSC control input: clear, overrides, release, trigger, the score's transport (protocol.CONTROL_ADDRESSES), from
anyone who can send UDP. Transport controls go to the score player through the session, like every event.

The server runs on its own thread and only offers events to the LiveSession (its bounded queue drops
them when the engine is behind), so it never touches the engine directly. Every datagram is contained:
whatever is wrong with it (not OSC, truncated, a non-UTF-8 address, bundles nested too deep, an address
pattern, an unknown address, bad arguments) is logged, counted and ignored, and the next datagram is
read as usual; a stray message must never stop a performance. Warnings are rate-limited (a flood gives a
few lines, then one summary per period), and text from the datagram is logged escaped and cut short.

Datagrams are parsed here, not by python-osc's Dispatcher: its bundle parser recurses (a bundle nested a
few hundred deep raises RecursionError), its address decoding raises UnicodeDecodeError where its server
catches only ParseError, and its dispatcher matches incoming address patterns, so `/pict2audio/*` would
fire every control at once. python-osc still decodes each message's arguments.
"""

from __future__ import annotations

import logging
import math
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pythonosc.osc_message import OscMessage

from bridge.core.errors import ConfigError, LabelError
from bridge.core.events import (
    TRANSPORT_ACTIONS,
    Clear,
    Event,
    ReleaseOverrides,
    SessionInput,
    SetOverride,
    SetRegister,
    TransportControl,
    Trigger,
)
from bridge.core.labels import HEADS, check_class
from bridge.core.log_limit import Clock, LogLimiter, printable, shown
from bridge.core.protocol import CONTROL_ADDRESSES
from bridge.core.score import BPM_RANGE

log = logging.getLogger(__name__)

BUNDLE_PREFIX = b"#bundle\x00"
BUNDLE_HEADER = len(BUNDLE_PREFIX) + 8  # the prefix and a time tag
MAX_BUNDLE_DEPTH = 8  # bundles inside bundles; no controller nests them at all
ARG_TYPE_TAGS = frozenset("ifsbhdrmtTFN")  # what python-osc decodes; arrays and unknown tags are refused
PATTERN_CHARS = frozenset("*?[]{}")  # OSC address-pattern syntax: an incoming address must be exact
KNOWN = ", ".join(spec.path for spec in CONTROL_ADDRESSES.values())


class Session(Protocol):
    """What the server needs of a LiveSession: queue an engine event from any thread unless the engine is behind."""

    def offer(self, event: SessionInput) -> bool: ...


class _ControlError(ValueError):
    """A control message with arguments that do not fit its address."""


class MalformedDatagram(ValueError):
    """A datagram that is not a well-formed OSC message or bundle this server accepts."""


@dataclass(frozen=True)
class ControlOutcome:
    """What became of one control message, or of a datagram that never reached a control.

    Reported after its log line (when the rate limit let one through), so an observer that sees it also
    finds any log record it made.
    """

    address: str | None  # None: the datagram was not well-formed OSC
    accepted: bool
    reason: str = ""  # why it was ignored ("" when accepted)


Record = Callable[[ControlOutcome], None]


def split_packet(data: bytes, *, max_depth: int = MAX_BUNDLE_DEPTH) -> list[bytes]:
    """The messages in one datagram, in order: the datagram itself, or the elements of its bundles.

    Nested bundles are walked with an explicit stack and a depth limit, so no datagram can exhaust the
    interpreter's recursion limit. Raises MalformedDatagram."""
    messages: list[bytes] = []
    stack = [(data, 0)]
    while stack:
        dgram, depth = stack.pop()
        if dgram.startswith(b"/"):
            messages.append(dgram)
        elif not dgram.startswith(BUNDLE_PREFIX):
            raise MalformedDatagram("neither an OSC message (/...) nor a bundle (#bundle)")
        elif depth >= max_depth:
            raise MalformedDatagram(f"bundles nested deeper than {max_depth}")
        else:
            stack.extend((element, depth + 1) for element in reversed(bundle_elements(dgram)))
    return messages


def bundle_elements(dgram: bytes) -> list[bytes]:
    """The elements of one bundle (its time tag is ignored: every control acts on arrival)."""
    if len(dgram) < BUNDLE_HEADER:
        raise MalformedDatagram("a bundle without its time tag")
    elements: list[bytes] = []
    index = BUNDLE_HEADER
    while index < len(dgram):
        if index + 4 > len(dgram):
            raise MalformedDatagram("a bundle element's size is cut short")
        (size,) = struct.unpack_from(">i", dgram, index)
        index += 4
        if size <= 0 or size % 4 or index + size > len(dgram):
            raise MalformedDatagram(f"a bundle element of size {size} with {len(dgram) - index} bytes left")
        elements.append(dgram[index:index + size])
        index += size
    return elements


def _after_string(nul: int) -> int:
    """The index after an OSC string whose terminating NUL is at `nul` (strings are padded to 4 bytes)."""
    return (nul // 4 + 1) * 4


def message_address(dgram: bytes) -> tuple[str, int]:
    """(address, index of what follows it) of one message; the address must be UTF-8."""
    nul = dgram.find(b"\x00")
    if nul < 0:
        raise MalformedDatagram("an address without its terminating NUL")
    try:
        address = dgram[:nul].decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedDatagram(f"an address that is not UTF-8: {shown(dgram[:nul], 60)}") from None
    return address, _after_string(nul)


def check_type_tags(dgram: bytes, index: int) -> None:
    """The type tag string at `index` (if any) starts with ',' and names only types python-osc decodes."""
    if index >= len(dgram):
        return  # no type tags: no arguments
    nul = dgram.find(b"\x00", index)
    if nul < 0:
        raise MalformedDatagram("type tags without their terminating NUL")
    tags = dgram[index:nul].decode("latin-1")
    if not tags.startswith(","):
        raise MalformedDatagram(f"type tags must start with ',', got {shown(tags, 40)}")
    unsupported = set(tags[1:]) - ARG_TYPE_TAGS
    if unsupported:
        raise MalformedDatagram(f"unsupported type tags {shown(''.join(sorted(unsupported)), 40)}")


def parse_message(dgram: bytes) -> tuple[str, tuple[Any, ...]]:
    """(address, arguments) of one OSC message. Raises MalformedDatagram, or python-osc's errors."""
    address, index = message_address(dgram)
    check_type_tags(dgram, index)
    return address, tuple(OscMessage(dgram).params)


def parse_datagram(data: bytes) -> list[tuple[str, tuple[Any, ...]]]:
    """Every message of one datagram; one bad message makes the whole datagram malformed."""
    return [parse_message(message) for message in split_packet(data)]


def _address_family(host: str, port: int) -> socket.AddressFamily:
    """The family to bind `host` with (AF_INET6 for '::1'), inferred as python-osc's servers infer it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except socket.gaierror:
        return socket.AF_INET
    return infos[0][0] if infos else socket.AF_INET


class _DatagramServer(socketserver.UDPServer):
    """Hands every datagram to `receive`, which contains whatever goes wrong (socketserver does not
    catch exceptions from verify_request, so nothing is done there), and calls `tick` between
    datagrams and at every poll, when a rate-limited log's summary may fall due."""

    def __init__(self, address: tuple[str, int], *, receive: Callable[[bytes, Any], None],
                 tick: Callable[[], None]) -> None:
        self.address_family = _address_family(*address)
        self._receive = receive
        self._tick = tick
        super().__init__(address, socketserver.BaseRequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._receive(request[0], client_address)

    def service_actions(self) -> None:
        self._tick()


def pitch_value(value: object, *, name: str = "pitch", unit: str = "MIDI note") -> int:
    """A pitch override (or another whole number: `name`, counted in `unit`) from OSC: i, a whole f (Pd sends
    floats) or a numeric string."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError as exc:
            raise _ControlError(f"{name} must be a {unit} number, got {shown(value, 60)}") from exc
    if isinstance(value, float):
        if not value.is_integer():
            raise _ControlError(f"{name} must be a whole {unit}, got {shown(value, 60)}")
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _ControlError(f"{name} must be a {unit} number, got {shown(value, 60)}")
    return value


def parse_register(args: tuple[Any, ...]) -> SetRegister:
    """`/pict2audio/register i register` (a whole f or a numeric s too): the register matching prefers."""
    if len(args) != 1:
        raise _ControlError(f"expected one register number, got {shown(args, 80)}")
    try:
        return SetRegister(register=pitch_value(args[0], name="register", unit="octave"))
    except LabelError as exc:
        raise _ControlError(str(exc)) from exc


def parse_override(args: tuple[Any, ...]) -> tuple[str, object]:
    """(head, value) from `/pict2audio/override s head <value>`; value None means release that head."""
    if len(args) != 2 or not isinstance(args[0], str):
        raise _ControlError(f"expected 's head' and a value, got {shown(args, 80)}")
    head, value = args
    if head not in HEADS:
        raise _ControlError(f"head must be one of {', '.join(HEADS)}, got {shown(head, 60)}")
    if isinstance(value, str) and value.strip().lower() == "none":
        return head, None
    if head == "pitch":
        value = pitch_value(value)
    elif not isinstance(value, str):
        raise _ControlError(f"{head} must be a string class name, got {shown(value, 60)}")
    try:
        check_class(head, value)
    except LabelError as exc:
        raise _ControlError(str(exc)) from exc
    return head, value


def _fires(args: tuple[Any, ...]) -> bool:
    """No argument, or one number that is not 0 (a button sends 1 on press and 0 on release)."""
    if not args:
        return True
    if len(args) == 1 and isinstance(args[0], int | float) and not isinstance(args[0], bool):
        return args[0] != 0
    raise _ControlError(f"expected no argument or one number, got {shown(args, 80)}")


def parse_transport(args: tuple[Any, ...]) -> TransportControl:
    """`/pict2audio/transport s action [i/f value]`: start, stop, continue (no value), tempo, position, loop."""
    if not args or not isinstance(args[0], str) or args[0] not in TRANSPORT_ACTIONS:
        raise _ControlError(f"expected an action ({', '.join(TRANSPORT_ACTIONS)}), got {shown(args, 80)}")
    action, rest = args[0], args[1:]
    if action in ("start", "stop", "continue"):
        if rest:
            raise _ControlError(f"transport {action} takes no value, got {shown(rest, 60)}")
        return TransportControl(action=action)
    if len(rest) != 1 or not isinstance(rest[0], int | float) or isinstance(rest[0], bool) or rest[0] != rest[0]:
        raise _ControlError(f"transport {action} needs one number, got {shown(rest, 60)}")
    value = float(rest[0])
    low, high = {"tempo": BPM_RANGE, "position": (0.0, 1.0)}.get(action, (-math.inf, math.inf))
    if not low <= value <= high:
        raise _ControlError(f"transport {action}: expected {low:g}..{high:g}, got {shown(rest[0], 40)}")
    return TransportControl(action=action, value=value)


class OscControlServer:
    """Listens for control messages on UDP host:port (port 0 = any free port; see `.port`)."""

    def __init__(self, session: Session, *, host: str = "127.0.0.1", port: int,
                 on_outcome: Record | None = None, clock: Clock = time.monotonic) -> None:
        self.session = session
        self.host = host
        self.port = port
        self.handled = 0  # messages that took effect
        self.ignored = 0  # messages and datagrams logged and dropped (including those below)
        self.malformed = 0  # datagrams that were not well-formed OSC
        self.failed = 0  # datagrams whose handling raised unexpectedly
        # Called on the server thread with each outcome, after its log line (tests wait on it).
        self.on_outcome = on_outcome
        self._logs = {
            "malformed": LogLimiter(log, "ignored %d more malformed OSC datagrams in the last %.1f s", clock=clock),
            "ignored": LogLimiter(
                log, "ignored %d more OSC control messages (unknown address, pattern or bad arguments) "
                "in the last %.1f s", clock=clock),
            "failed": LogLimiter(log, "%d more OSC control datagrams failed (ignored) in the last %.1f s",
                                 level=logging.ERROR, clock=clock),
        }
        self._actions: dict[str, Callable[[tuple[Any, ...]], SessionInput | None]] = {
            CONTROL_ADDRESSES["clear"].path: self._clear,
            CONTROL_ADDRESSES["override"].path: self._override,
            CONTROL_ADDRESSES["release"].path: self._release,
            CONTROL_ADDRESSES["trigger"].path: self._trigger,
            CONTROL_ADDRESSES["transport"].path: parse_transport,
            CONTROL_ADDRESSES["register"].path: parse_register,
        }
        self._server: _DatagramServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        """The server thread is running (it only ends with stop())."""
        return self._thread is not None and self._thread.is_alive()

    # -- the server thread ------------------------------------------------------------------

    def receive(self, data: bytes, sender: Any) -> None:
        """One datagram, whatever it holds: its controls take effect, anything wrong is logged and
        counted. Never raises, so the server thread outlives any datagram."""
        try:
            messages = parse_datagram(data)
        except Exception as exc:  # MalformedDatagram, python-osc's ParseError, UnicodeDecodeError, ...
            self._malformed(data, sender, exc)
            return
        for address, args in messages:
            try:
                self._control(address, args)
            except Exception as exc:  # a bug, not bad input: logged with its traceback, the next still runs
                self.failed += 1
                self.ignored += 1
                self._logs["failed"].log("OSC control %s from %s failed (ignored): %s", shown(address), sender,
                                         printable(repr(exc)), exc_info=True)
                self._record(ControlOutcome(address, False, f"handler failed: {printable(repr(exc))}"))

    def _malformed(self, data: bytes, sender: Any, exc: Exception) -> None:
        reason = printable(str(exc) if isinstance(exc, MalformedDatagram) else f"{type(exc).__name__}: {exc}")
        self.malformed += 1
        self.ignored += 1
        self._logs["malformed"].log("ignored a malformed OSC datagram from %s (%d bytes): %s", sender, len(data),
                                    reason)
        self._record(ControlOutcome(None, False, f"malformed OSC datagram: {reason}"))

    def _control(self, address: str, args: tuple[Any, ...]) -> None:
        """One message, matched by its exact address."""
        if PATTERN_CHARS.intersection(address):
            self._ignore(address, args, "OSC address patterns are not accepted; send one exact address")
            return
        action = self._actions.get(address)
        if action is None:
            self._ignore(address, args, "unknown OSC control address")
            return
        try:
            event = action(args)
        except _ControlError as exc:
            self._ignore(address, args, printable(str(exc)))
            return
        if event is not None and not self.session.offer(event):
            self.ignored += 1  # the session logged the drop (rate-limited)
            self._record(ControlOutcome(address, False, "engine busy: dropped"))
            return
        if log.isEnabledFor(logging.DEBUG):  # skips shown() in a flood
            log.debug("OSC control %s %s", address, shown(args))
        self.handled += 1
        self._record(ControlOutcome(address, True))

    def _ignore(self, address: str, args: tuple[Any, ...], reason: str) -> None:
        self.ignored += 1
        self._logs["ignored"].log("ignored OSC control %s %s: %s (known: %s)", shown(address), shown(args),
                                  reason, KNOWN)
        self._record(ControlOutcome(address, False, reason))

    def _record(self, outcome: ControlOutcome) -> None:
        """Report an outcome, counted and logged already, to `on_outcome` (server thread).

        An observer that raises is logged: it must not take the server thread down."""
        observer = self.on_outcome
        if observer is None:
            return
        try:
            observer(outcome)
        except Exception:
            log.exception("OSC control outcome observer %r failed", observer)

    def _tick(self) -> None:
        for limiter in self._logs.values():
            limiter.tick()

    def _clear(self, args: tuple[Any, ...]) -> Event | None:
        return Clear() if _fires(args) else None

    def _override(self, args: tuple[Any, ...]) -> Event | None:
        head, value = parse_override(args)
        return SetOverride(head=head, value=value)  # type: ignore[arg-type]

    def _release(self, args: tuple[Any, ...]) -> Event | None:
        return ReleaseOverrides() if _fires(args) else None

    def _trigger(self, args: tuple[Any, ...]) -> Event | None:
        return Trigger() if _fires(args) else None

    # -- starting and stopping --------------------------------------------------------------

    def start(self) -> OscControlServer:
        if self._server is not None:
            return self
        try:
            self._server = _DatagramServer((self.host, self.port), receive=self.receive, tick=self._tick)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen for OSC control on {self.host}:{self.port} ({exc}); "
                "choose another --control-port or stop the program using it"
            ) from exc
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="pict2audio-osc-control",
            daemon=True,
        )
        self._thread.start()
        log.info("listening for OSC control on %s:%d", self.host, self.port)
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop listening and release the port (idempotent); counts still held back by the rate limit are logged.

        Waits at most timeout_s for the server thread: socketserver's shutdown() waits without a limit, so
        it runs on a helper thread, and quitting never hangs on a thread stuck in a handler."""
        if self._server is None:
            return
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if thread is not None and thread.is_alive():
            stopper = threading.Thread(target=server.shutdown, name="pict2audio-osc-control-stop", daemon=True)
            stopper.start()
            stopper.join(timeout_s)
            if stopper.is_alive():
                log.error("the OSC control thread did not stop within %g s; leaving it behind", timeout_s)
        server.server_close()
        for limiter in self._logs.values():
            limiter.flush()
