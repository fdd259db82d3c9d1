"""MIDI controller input with mido (python-rtmidi backend by default): ports, reader, retry.

`MidiInput` opens a port by exact name, by part of a name, or as a virtual port `Pict2Audio`
(`spec="virtual"`), and turns each message into control events through a `MidiMapper`, posted to the
live session (`post(event)`, e.g. `LiveSession.post`) from the backend's callback thread.
A port missing at start is one clear error and no MIDI; a port that disappears later is retried
every `retry_s` until it comes back. Learning a mapping and saving it is bridge.app.midi_wiring's.

On Linux without an ALSA sequencer, use JACK: `jackd --no-realtime -d dummy` and the backend
`mido.backends.rtmidi/UNIX_JACK`.

JACK and python-rtmidi 1.5.8 (its bundled RtMidi): `MidiInJack::closePort()` unregisters the port
while the client is still active, i.e. while JACK's process thread may be running `jackProcessIn` on
that port and calling back into Python; now and then that crashes the process (a segfault in
`close_port()`) or hangs it (the process thread waits for the GIL that `close_port()` holds while JACK
waits for the process thread). The race is in RtMidi's JACK code (MidiInJack::closePort vs.
jackProcessIn in https://github.com/thestk/rtmidi/blob/master/RtMidi.cpp; see also
https://github.com/mido/mido/issues/368, "port.close() should remove the callback"). So on
JACK the port is closed only when a device vanished and has to be reopened, with the callback
cancelled in RtMidi first (`_release`), and never at exit (`MidiInput.close`): the process is ending,
and the JACK server drops a dead process's client by itself.
"""

from __future__ import annotations

import ast
import ctypes
import functools
import importlib.util
import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.core.errors import BridgeError, ConfigError
from bridge.core.events import ControlEvent
from bridge.core.midi_mapping import MidiMapper

log = logging.getLogger(__name__)

DEFAULT_BACKEND = "mido.backends.rtmidi"
VIRTUAL = "virtual"
VIRTUAL_PORT_NAME = "Pict2Audio"
# System messages a controller may send that never map to anything (checked before the mapper).
IGNORED_TYPES = frozenset({"sysex", "clock", "active_sensing", "songpos", "song_select", "tune_request", "reset",
                           "quarter_frame"})  # start, stop and continue drive the score's transport, and clock and
# songpos too when it follows MIDI clock (MidiMapper.transport_types)

Post = Callable[[ControlEvent], None]

# Creating and deleting backend clients (every port listing opens one) from several threads at once is
# not safe in libjack/rtmidi; every list/open/close in this process goes through this lock.
CLIENT_LOCK = threading.RLock()


class MidiError(BridgeError):
    """A MIDI port or backend that cannot be used; the message names what is available."""


BACKEND_PACKAGE = "mido.backends"
_API_NAME = re.compile(r"[A-Za-z0-9_]+")


@functools.cache
def mido_backend_names() -> tuple[str, ...]:
    """The backends mido ships (e.g. amidi, portmidi, pygame, rtmidi, rtmidi_python), read from its
    `backends` folder without importing any of them: a module there is a backend when it defines
    `get_devices` (helpers such as rtmidi_utils do not)."""
    spec = importlib.util.find_spec("mido")  # finds the package without importing it
    if spec is None or spec.origin is None:
        return ()
    names = []
    for source in sorted((Path(spec.origin).parent / "backends").glob("*.py")):
        if source.stem.startswith("_") or source.stem == "backend":
            continue
        try:
            tree = ast.parse(source.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            continue
        if any(isinstance(node, ast.FunctionDef) and node.name == "get_devices" for node in tree.body):
            names.append(source.stem)
    return tuple(names)


def check_backend_name(name: Any, where: str) -> str:
    """`name` when it is 'mido.backends.NAME' or 'mido.backends.NAME/API' with NAME a backend mido ships;
    else a ConfigError naming `where` and the valid names. mido imports whatever module it is given,
    so a name is checked before anything is imported (`--midi-backend antigravity` opens a browser)."""
    valid = mido_backend_names()
    if isinstance(name, str):
        module, sep, api = name.partition("/")
        package, _, short = module.rpartition(".")
        if package == BACKEND_PACKAGE and short in valid and (not sep or _API_NAME.fullmatch(api)):
            return name
    if not valid:
        raise ConfigError(f"{where}: got {name!r}, but mido is not installed; pip install -r requirements.txt")
    choices = ", ".join(f"{BACKEND_PACKAGE}.{short}" for short in valid)
    raise ConfigError(f"{where}: expected a mido backend, one of {choices}, optionally with /API "
                      f"(e.g. {DEFAULT_BACKEND}/UNIX_JACK); got {name!r}")


def load_backend(name: str = DEFAULT_BACKEND) -> Any:
    """mido.Backend for 'module' or 'module/API' (e.g. 'mido.backends.rtmidi/UNIX_JACK'); a name that is
    not one of mido's backends is a ConfigError (see check_backend_name)."""
    check_backend_name(name, "MIDI backend")
    import mido

    try:
        backend = mido.Backend(name, load=True)
        apis = getattr(backend.module, "get_api_names", None)
        if backend.api and apis is not None and backend.api not in apis():
            raise ValueError(f"API {backend.api!r} is not compiled in; available: {', '.join(apis())}")
        if apis is None or not backend.api:  # no cheap check: try a listing (opens a client)
            with CLIENT_LOCK:
                backend.get_input_names()
    except Exception as exc:  # ImportError, ValueError (unknown API), rtmidi's SystemError/RuntimeError, ...
        raise _backend_error(name, exc) from exc
    return backend


def _backend_error(name: str, exc: Exception) -> MidiError:
    return MidiError(f"MIDI backend {name!r} cannot be used ({exc}); on Linux without an ALSA sequencer "
                     f"start `jackd --no-realtime -d dummy` and use --midi-backend {DEFAULT_BACKEND}/UNIX_JACK")


def input_names(backend: Any) -> list[str]:
    """The backend's input port names (opens and closes a client); MidiError when it cannot list."""
    try:
        with CLIENT_LOCK:
            return list(backend.get_input_names())
    except Exception as exc:  # e.g. the JACK server is not running
        full = f"{backend.name}/{backend.api}" if getattr(backend, "api", None) else backend.name
        raise _backend_error(full, exc) from exc


def list_ports(backend_name: str = DEFAULT_BACKEND) -> dict[str, list[str]]:
    """{'inputs': [...], 'outputs': [...]} as the backend names them."""
    backend = load_backend(backend_name)
    inputs = input_names(backend)
    try:
        with CLIENT_LOCK:
            return {"inputs": inputs, "outputs": list(backend.get_output_names())}
    except Exception as exc:
        raise _backend_error(backend_name, exc) from exc


def find_port(spec: str, names: list[str], *, kind: str = "input") -> str | None:
    """The port named exactly `spec`, else the first whose name contains it (case-insensitive);
    `kind` ("input" or "output") names it in the warning about several matches."""
    if spec in names:
        return spec
    matches = [n for n in names if spec.casefold() in n.casefold()]
    if len(matches) > 1:
        log.warning("MIDI %s %r matches several ports %s; using %r", kind, spec, matches, matches[0])
    return matches[0] if matches else None


class MidiInput:
    """One MIDI input feeding the session; thread-safe `arm()` for MIDI learn."""

    def __init__(self, spec: str, *, post: Post, mapper: MidiMapper | None = None,
                 backend: str = DEFAULT_BACKEND, retry_s: float = 1.0) -> None:
        self.spec = spec
        self.mapper = mapper or MidiMapper()
        self.backend_name = backend
        self.retry_s = retry_s
        self.port: Any = None
        self.port_name: str | None = None
        self.received = 0  # messages that reached the mapper (for the HUD and tests)
        self.error: str | None = None  # why open() failed
        self._post = post
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._backend: Any = None
        self._watcher: threading.Thread | None = None
        self._ignored_seen: set[str] = set()

    @property
    def connected(self) -> bool:
        return self.port is not None

    def open(self) -> bool:
        """Open the port; on failure log one error line naming the available ports and return False."""
        try:
            self._backend = load_backend(self.backend_name)
            if self.spec == VIRTUAL:
                with CLIENT_LOCK:
                    self.port = self._backend.open_input(VIRTUAL_PORT_NAME, virtual=True,
                                                         client_name=VIRTUAL_PORT_NAME, callback=self._on_message)
                self.port_name = VIRTUAL_PORT_NAME
            else:
                self._connect(required=True)
        except Exception as exc:  # no port, no server, no virtual ports on this API: run without MIDI
            self.error = str(exc) if isinstance(exc, MidiError) else f"MIDI input {self.spec!r}: {exc}"
            log.error("%s; running without MIDI", self.error)
            self.port = None
            return False
        log.info("MIDI input: %s (%s)", self.port_name, self.backend_name)
        if self.spec != VIRTUAL:  # a virtual port cannot disappear; a device can
            self._watcher = threading.Thread(target=self._watch, name="pict2audio-midi-watch", daemon=True)
            self._watcher.start()
        return True

    def attach(self, port: Any, *, poll_s: float = 0.001) -> None:
        """Read an already-open mido input (e.g. an in-memory `mido.ports.BaseIOPort`) on a reader
        thread with iter_pending; for ports without callbacks (tests, the benchmark's fallback)."""
        self.port, self.port_name = port, getattr(port, "name", None) or repr(port)

        def read() -> None:
            while not self._stop.is_set() and not port.closed:
                for msg in port.iter_pending():
                    self._on_message(msg)
                self._stop.wait(poll_s)

        self._watcher = threading.Thread(target=read, name="pict2audio-midi-read", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        """Stop reading, as the program ends (the canvas and `midi-learn` call it on their way out).

        On JACK the port is left open (see the module's docstring): its callback is cancelled and the
        port kept alive to the very end, so that neither this call nor the interpreter's teardown runs
        RtMidi's racy closePort; the JACK server removes the client when the process is gone.
        """
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(2 * self.retry_s + 1)
        if _on_jack(self.port):
            port, self.port = self.port, None
            _cancel_callback(port)
            _keep_until_exit(port)
        else:
            self._close_port()

    def arm(self, target: str | None) -> None:
        with self._lock:
            self.mapper.arm(target)

    def _connect(self, *, required: bool, names: list[str] | None = None) -> bool:
        if names is None:
            names = input_names(self._backend)
        name = find_port(self.spec, names)
        if name is None:
            if required:
                available = ", ".join(repr(n) for n in names) or "none"
                raise MidiError(f"MIDI input {self.spec!r} not found; available inputs: {available} "
                                "(see `run_bridge.py midi-ports`, or use --midi-in virtual)")
            return False
        with CLIENT_LOCK:
            self.port = self._backend.open_input(name, callback=self._on_message)
        self.port_name = name
        return True

    def _close_port(self) -> None:
        port, self.port = self.port, None
        if port is not None:
            try:
                with CLIENT_LOCK:
                    _release(port)
            except Exception as exc:  # a vanished device may fail to close; it is gone either way
                log.debug("closing MIDI port %r: %s", self.port_name, exc)

    def _watch(self) -> None:
        """Every retry_s: notice a vanished port (log once, release held notes) and reopen it when back."""
        list_inputs = _Lister(self._backend)
        try:
            while not self._stop.wait(self.retry_s):
                try:
                    names = list_inputs()
                    if self.port is not None and self.port_name not in names:
                        log.warning("MIDI input %r disappeared; retrying every %g s", self.port_name, self.retry_s)
                        self._close_port()
                        with self._lock:
                            events = self.mapper.notes_off()
                        self._post_all(events)
                    elif self.port is None and self._connect(required=False, names=names):
                        log.warning("MIDI input %r is back", self.port_name)
                except Exception as exc:  # keep retrying whatever the backend throws
                    log.debug("MIDI retry failed: %s", exc)
                    self._close_port()
        finally:
            list_inputs.close()

    def _on_message(self, msg: Any) -> None:
        """Backend callback thread: mido message -> mapper -> session posts. Never raises."""
        kind = getattr(msg, "type", None)
        if kind is None or (kind in IGNORED_TYPES and kind not in self.mapper.transport_types):
            if kind not in self._ignored_seen:
                self._ignored_seen.add(str(kind))
                log.debug("ignoring MIDI %s messages", kind)
            return
        try:
            with self._lock:
                self.received += 1
                events = self.mapper.handle(msg.dict())
            self._post_all(events)
        except Exception as exc:
            log.warning("MIDI message %r ignored: %s", msg, exc)

    def _post_all(self, events: list[ControlEvent]) -> None:
        for event in events:
            log.debug("MIDI -> %s", event)
            self._post(event)


def _on_jack(port: Any) -> bool:
    """A python-rtmidi port on the JACK API (mido's rtmidi backend names it in `api`)."""
    return port is not None and getattr(port, "api", None) == "UNIX_JACK" and hasattr(port, "_rt")


def _cancel_callback(port: Any) -> None:
    """Stop RtMidi calling into Python for this port. mido's own `callback = None` is not enough: it
    cancels, then registers its queueing wrapper again, so the JACK thread keeps entering Python."""
    rt = getattr(port, "_rt", None)
    if rt is not None:
        with port._callback_lock:  # mido's lock for swapping callbacks
            rt.cancel_callback()
            port._callback = None


def _release(port: Any) -> None:
    """Close a port. An rtmidi input has its callback cancelled in RtMidi first, then its port closed and
    its client deleted directly (mido's close() would register its queueing wrapper again in between)."""
    rt = getattr(port, "_rt", None)
    if rt is None or not hasattr(rt, "cancel_callback") or port.closed:
        port.close()
        return
    _cancel_callback(port)
    rt.close_port()
    rt.delete()
    port.closed = True


_KEPT: list[Any] = []


def _keep_until_exit(port: Any) -> None:
    """Never deallocate `port`: a python-rtmidi object's destructor closes its port (RtMidi's racy
    closePort), and the interpreter's teardown would run it. The extra reference is never dropped."""
    _KEPT.append(port)
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(port))


class _Lister:
    """Lists input names through ONE long-lived client: opening a client per listing (as
    `backend.get_input_names()` does) makes JACK rebuild its graph every time, which can drop MIDI."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._rt: Any = None
        if getattr(getattr(backend, "module", None), "__name__", "") == "mido.backends.rtmidi":
            import rtmidi

            api = getattr(rtmidi, f"API_{backend.api}", None) if backend.api else rtmidi.API_UNSPECIFIED
            try:
                with CLIENT_LOCK:
                    self._rt = rtmidi.MidiIn(rtapi=api, name="Pict2Audio port watch")
            except Exception as exc:  # e.g. the JACK server is gone: list the slow way meanwhile
                log.debug("MIDI port watch client: %s", exc)

    def __call__(self) -> list[str]:
        with CLIENT_LOCK:
            return list(self._rt.get_ports() if self._rt is not None else self._backend.get_input_names())

    def close(self) -> None:
        if self._rt is not None:
            with CLIENT_LOCK:
                self._rt.delete()
            self._rt = None
