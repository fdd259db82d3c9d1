"""OSC control input with python-osc: clear, overrides, release, trigger (protocol.CONTROL_ADDRESSES).

The server runs on its own thread and only posts events to the LiveSession, so it never touches the
engine directly. A malformed datagram, an unknown address or bad arguments are logged as a warning
and ignored: a stray message must never stop a performance.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_packet import OscPacket, ParseError
from pythonosc.osc_server import BlockingOSCUDPServer

from bridge.core.events import Clear, Event, ReleaseOverrides, SetOverride, Trigger
from bridge.core.labels import HEADS, check_class
from bridge.core.protocol import CONTROL_ADDRESSES
from bridge.errors import ConfigError, LabelError

log = logging.getLogger(__name__)


class Session(Protocol):
    """What the server needs of a LiveSession: queue an engine event from any thread."""

    def post(self, event: Event) -> None: ...


class _ControlError(ValueError):
    """A control message with arguments that do not fit its address."""


@dataclass(frozen=True)
class ControlOutcome:
    """What became of one control message, or of a datagram that never reached the dispatcher.

    Reported once its log line has been written, so an observer that sees it also finds the log record.
    """

    address: str | None  # None: the datagram was not OSC, or its handler raised
    accepted: bool
    reason: str = ""  # why it was ignored ("" when accepted)


Record = Callable[[ControlOutcome], None]


class _LoggingUDPServer(BlockingOSCUDPServer):
    """Logs (instead of silently dropping) datagrams that are not valid OSC, and handler errors;
    each is then reported to `record` as an ignored outcome."""

    def __init__(self, server_address: tuple[str, int], dispatcher: Dispatcher, *, record: Record) -> None:
        super().__init__(server_address, dispatcher)
        self.record = record

    def verify_request(self, request: Any, client_address: Any) -> bool:
        data = request[0]
        try:
            OscPacket(data)
        except ParseError as exc:
            log.warning("ignored a malformed OSC datagram from %s (%d bytes): %s", client_address, len(data), exc)
            self.record(ControlOutcome(None, False, f"malformed OSC datagram: {exc}"))
            return False
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("OSC control message from %s failed (ignored)", client_address)
        self.record(ControlOutcome(None, False, f"handler failed: {sys.exc_info()[1]!r}"))


def pitch_value(value: object) -> int:
    """A pitch override from OSC: i, a whole f (Pd sends floats) or a numeric string."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError as exc:
            raise _ControlError(f"pitch must be a MIDI note number, got {value!r}") from exc
    if isinstance(value, float):
        if not value.is_integer():
            raise _ControlError(f"pitch must be a whole MIDI note, got {value!r}")
        value = int(value)
    if not isinstance(value, int):
        raise _ControlError(f"pitch must be a MIDI note number, got {value!r}")
    return value


def parse_override(args: tuple[Any, ...]) -> tuple[str, object]:
    """(head, value) from `/pict2audio/override s head <value>`; value None means release that head."""
    if len(args) != 2 or not isinstance(args[0], str):
        raise _ControlError(f"expected 's head' and a value, got {args!r}")
    head, value = args
    if head not in HEADS:
        raise _ControlError(f"head must be one of {', '.join(HEADS)}, got {head!r}")
    if isinstance(value, str) and value.strip().lower() == "none":
        return head, None
    if head == "pitch":
        value = pitch_value(value)
    elif not isinstance(value, str):
        raise _ControlError(f"{head} must be a string class name, got {value!r}")
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
    raise _ControlError(f"expected no argument or one number, got {args!r}")


class OscControlServer:
    """Listens for control messages on UDP host:port (port 0 = any free port; see `.port`)."""

    def __init__(self, session: Session, *, host: str = "127.0.0.1", port: int,
                 on_outcome: Record | None = None) -> None:
        self.session = session
        self.host = host
        self.port = port
        self.handled = 0  # messages that took effect
        self.ignored = 0  # messages (and non-OSC datagrams) logged and dropped
        # Called on the server thread with each outcome, after its log line (tests wait on it).
        self.on_outcome = on_outcome
        self._server: _LoggingUDPServer | None = None
        self._thread: threading.Thread | None = None

    def _dispatcher(self) -> Dispatcher:
        dispatcher = Dispatcher(strict_timing=False)  # never sleep on a future timetag
        actions = {
            "clear": self._clear,
            "override": self._override,
            "release": self._release,
            "trigger": self._trigger,
        }
        for name, spec in CONTROL_ADDRESSES.items():
            dispatcher.map(spec.path, self._guarded(actions[name]))
        dispatcher.set_default_handler(self._unknown)
        return dispatcher

    def _guarded(self, action: Any) -> Any:
        def handler(address: str, *args: Any) -> None:
            try:
                action(args)
            except _ControlError as exc:
                log.warning("ignored OSC control %s: %s", address, exc)
                self._record(ControlOutcome(address, False, str(exc)))
            else:
                log.debug("OSC control %s %r", address, args)
                self._record(ControlOutcome(address, True))

        return handler

    def _unknown(self, address: str, *args: Any) -> None:
        known = ", ".join(spec.path for spec in CONTROL_ADDRESSES.values())
        log.warning("ignored unknown OSC control address %s %r (known: %s)", address, args, known)
        self._record(ControlOutcome(address, False, "unknown OSC control address"))

    def _record(self, outcome: ControlOutcome) -> None:
        """Count an outcome whose log line is written, then report it to `on_outcome` (server thread).

        An observer that raises is logged: it must not take the server thread down (an exception out
        of verify_request would end serve_forever)."""
        if outcome.accepted:
            self.handled += 1
        else:
            self.ignored += 1
        observer = self.on_outcome
        if observer is None:
            return
        try:
            observer(outcome)
        except Exception:
            log.exception("OSC control outcome observer %r failed", observer)

    def _clear(self, args: tuple[Any, ...]) -> None:
        if _fires(args):
            self.session.post(Clear())

    def _override(self, args: tuple[Any, ...]) -> None:
        head, value = parse_override(args)
        self.session.post(SetOverride(head=head, value=value))  # type: ignore[arg-type]

    def _release(self, args: tuple[Any, ...]) -> None:
        if _fires(args):
            self.session.post(ReleaseOverrides())

    def _trigger(self, args: tuple[Any, ...]) -> None:
        if _fires(args):
            self.session.post(Trigger())

    def start(self) -> OscControlServer:
        if self._server is not None:
            return self
        try:
            self._server = _LoggingUDPServer((self.host, self.port), self._dispatcher(), record=self._record)
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

    def stop(self) -> None:
        """Stop listening and release the port (idempotent)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(2.0)
        self._server = None
        self._thread = None
