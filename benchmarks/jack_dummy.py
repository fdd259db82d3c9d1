"""A private JACK server on the dummy driver, for real MIDI ports where there is no ALSA sequencer.

Used by the MIDI benchmark and tests (and handy by hand): inside the context, JACK clients of this
process and of its children (python-rtmidi with the UNIX_JACK API) talk to the new server only.

The benchmark and tests open no JACK port in their own process: the bridge and the controller
(`MidiSender`) are child processes, ended with SIGKILL. python-rtmidi 1.5.8's RtMidi can crash when a
JACK input port is closed while JACK runs the client's process callback (see bridge/adapters/midi_mido.py);
a crash there fails one check instead of killing the whole test or benchmark run, and a killed
process never closes a port: the server drops its client.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from bridge.core.errors import BridgeError

log = logging.getLogger(__name__)

JACK_BACKEND = "mido.backends.rtmidi/UNIX_JACK"
CLIENT_TIMEOUT_MS = 500  # jackd -t
SERVER_NAMES = 8  # pict2audio-0 .. pict2audio-7 (JACK's server registry has room for 8 servers)


class JackError(BridgeError):
    """jackd is missing or did not start."""


@contextmanager
def jack_dummy_server(*, period_frames: int = 128, rate_hz: int = 48_000,
                      timeout_s: float = 10.0) -> Iterator[str]:
    """Start `jackd --no-realtime --sync -t 500 -d dummy` under a server name of its own; yield the name; stop it.

    Synchronous mode (`--sync`): every cycle waits until each client has run (JACK2 waits up to 10 client
    timeouts, 5 s), so a busy machine delays MIDI instead of dropping it. In JACK2's default asynchronous
    mode the next cycle starts without a client that is late, and MIDI crossing a late client's port in
    those cycles is lost: on a loaded 2-core machine the non-realtime server reports hundreds of late
    clients a minute ("JackEngine::XRun: client = ... was not finished") and note-ons go missing.

    The client timeout (CLIENT_TIMEOUT_MS) also bounds how long the server stalls removing the clients of a
    process that is gone while two or more of them were open (`midi-learn` ends so, see midi_mido.py):
    about 10 timeouts, and about 12 a client when it is stopped meanwhile. At 500 ms that is seconds.

    Sets JACK_DEFAULT_SERVER (and JACK_NO_START_SERVER) in os.environ for the duration, so that
    clients opened in this process and its children connect to this server and never start another.

    Leave the context while the server's clients are still alive, then kill them: jackd stops at once.
    The other way round, jackd first removes the clients of the killed processes (above), and if it is
    stopped meanwhile it dies writing to their sockets (SIGPIPE) or is killed here after 10 s. Either way
    its entry stays in JACK's server registry (/dev/shm/jack-shm-registry, room for 8 servers) until a
    server of the same name starts: hence a small set of names, reused (`_server_name`).
    """
    jackd, jack_wait = shutil.which("jackd"), shutil.which("jack_wait")
    if jackd is None or jack_wait is None:
        raise JackError("jackd / jack_wait not found; install Debian's jackd2 (apt-get install jackd2)")
    env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1", JACK_NO_START_SERVER="1")
    with _server_name() as name, tempfile.TemporaryFile() as errors:
        _remove_stale_files(name)  # of a server of this name that was killed
        argv = [jackd, "--no-realtime", "--sync", "-t", str(CLIENT_TIMEOUT_MS), "-n", name, "-d", "dummy",
                "-r", str(rate_hz), "-p", str(period_frames)]
        proc = _start_jackd(argv, env, errors)
        saved = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
        try:
            running = _wait_running(jack_wait, name, env, proc, timeout_s)
            if not running and _registry_full(errors) and _clear_registry_of_dead_servers():
                proc.wait(5)
                proc = _start_jackd(argv, env, errors)
                running = _wait_running(jack_wait, name, env, proc, timeout_s)
            if not running:
                raise JackError(_start_failure(errors, timeout_s))
            os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
            log.info("JACK dummy server %r up (synchronous, %d frames at %d Hz)", name, period_frames, rate_hz)
            yield name
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            _remove_stale_files(name)


@contextmanager
def _server_name() -> Iterator[str]:
    """A server name that no other jack_dummy_server on this machine holds, until the context ends.

    The names are reused, so that JACK reclaims the registry entry a server of the same name may have left
    (it does when that server's process is gone); unique names would fill the registry with such entries
    until every JACK server on the machine had stopped. A name is held by an exclusive lock on a file in the
    temporary folder, which the system releases when the process ends, however it ends."""
    folder = Path(tempfile.gettempdir())
    for index in range(SERVER_NAMES):
        handle = (folder / f"pict2audio-jack-{index}.lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by another server
            handle.close()
            continue
        try:
            yield f"pict2audio-{index}"
        finally:
            handle.close()
        return
    raise JackError(f"all {SERVER_NAMES} JACK dummy server names (pict2audio-0..{SERVER_NAMES - 1}) are in use")


def _start_jackd(argv: list[str], env: dict[str, str], errors: IO[bytes]) -> subprocess.Popen:
    errors.seek(0)
    errors.truncate()
    return subprocess.Popen(argv, env=env, stdout=errors, stderr=subprocess.STDOUT,
                            preexec_fn=_parent_death_signal())


def _registry_full(errors: IO[bytes]) -> bool:
    errors.seek(0)
    return b"Too many servers" in errors.read()


def _clear_registry_of_dead_servers() -> bool:
    """JACK keeps killed servers in its registry (/dev/shm) until every server on the machine has stopped,
    and refuses new ones once it is full. With no jackd alive, those entries are dead: remove them."""
    if "jackd" in _process_names():
        return False
    for path in Path("/dev/shm").glob("jack*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    log.warning("JACK's server registry was full of killed servers and none is running: cleared it")
    return True


def _process_names() -> set[str]:
    names = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with suppress(OSError):  # the process ended meanwhile
                names.add(Path(entry.path, "comm").read_text().strip())
    return names


def _start_failure(errors: IO[bytes], timeout_s: float) -> str:
    errors.seek(0)
    text = errors.read().decode(errors="replace")
    tail = text.strip().splitlines()[-3:]
    hint = (" (JACK's server registry is full of servers that were killed while another jackd runs: stop "
            "every jackd, then remove /dev/shm/jack*)") if "Too many servers" in text else ""
    return f"jackd did not start within {timeout_s:g} s: {' / '.join(tail) or 'no output'}{hint}"


def _wait_running(jack_wait: str, name: str, env: dict[str, str], proc: subprocess.Popen, timeout_s: float) -> bool:
    """Poll `jack_wait -c` (`-w` polls only once a second) until the server answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        check = subprocess.run([jack_wait, "-s", name, "-c"], env=env, capture_output=True, text=True, timeout=10)
        if check.stdout.strip() == "running":
            return True
        time.sleep(0.05)
    return False


def _parent_death_signal(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """For the child (Linux): get `sig` when the parent dies, so a crashed run leaves no process behind.
    Resolved here in the parent, so the child only makes one C call (no imports after fork)."""
    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, int(sig))  # 1 = PR_SET_PDEATHSIG


def _remove_stale_files(name: str) -> None:
    """jackd normally cleans up; after a kill its socket and semaphores stay in /dev/shm."""
    for pattern in (f"jack_{name}_*", f"jack_sem.*_{name}_*"):
        for path in Path("/dev/shm").glob(pattern):
            path.unlink(missing_ok=True)


class ChildProcess:
    """A child process whose output lines (stdout and stderr merged) are collected on a thread, with a
    line-oriented stdin; `kill()` ends it with SIGKILL, never gracefully (and so does the parent's death)."""

    def __init__(self, argv: list[str], *, cwd: str | os.PathLike | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.argv = argv
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1,
                                     preexec_fn=_parent_death_signal(signal.SIGKILL))
        self._reader = threading.Thread(target=self._read, name="child-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                with self._changed:
                    self.lines.append(line.rstrip("\n"))
                    self._changed.notify_all()
        except (OSError, ValueError):  # the pipe was closed by kill()
            pass
        with self._changed:
            self._changed.notify_all()

    def output(self) -> list[str]:
        with self._changed:
            return list(self.lines)

    def tail(self, n: int = 15) -> str:
        return "\n".join(self.output()[-n:])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_line(self, predicate: Callable[[str], bool], timeout_s: float, *,
                  start: int = 0) -> tuple[int, str] | None:
        """(index, line) of the first output line from index `start` on that passes `predicate`, waiting up
        to timeout_s for it; None on timeout or when the output ended without one."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            checked = start
            while True:
                for i in range(checked, len(self.lines)):
                    if predicate(self.lines[i]):
                        return i, self.lines[i]
                checked = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or not self._reader.is_alive():
                    return None
                self._changed.wait(min(left, 0.1))

    def write_line(self, text: str) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(text + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):  # it died: the caller's check reports it
            pass

    def kill(self) -> int | None:
        """SIGKILL (no graceful close of its JACK ports), then reap; the exit code (-9 when killed)."""
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            code = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            code = None
        self._reader.join(2)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        return code

    def __enter__(self) -> ChildProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


# The controller: python-rtmidi on JACK, one output port. argv: client name, port name, the bridge's input
# to connect to (part of its name; "" = a virtual port that the bridge opens as a device) and a timeout.
# stdin: one message a line as hex bytes; after each send it prints "sent <CLOCK_MONOTONIC seconds taken
# just before the send>". It never closes its port: it is killed.
SENDER_SCRIPT = r"""
import sys, time
import rtmidi
client, port, target, timeout_s = sys.argv[1:5]
out = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name=client)
if target:
    deadline = time.monotonic() + float(timeout_s)
    while True:
        names = out.get_ports()
        hits = [i for i, n in enumerate(names) if target.casefold() in n.casefold()]
        if hits:
            break
        if time.monotonic() > deadline:
            sys.exit(f"no JACK MIDI input matching {target!r}; inputs: {names}")
        time.sleep(0.05)
    out.open_port(hits[0], port)
    print("ready", names[hits[0]], flush=True)
else:
    out.open_virtual_port(port)
    print("ready", f"{client}:{port}", flush=True)
for line in sys.stdin:
    data = list(bytes.fromhex(line.strip()))
    if data:
        t0 = time.clock_gettime(time.CLOCK_MONOTONIC)
        out.send_message(data)
        print("sent", repr(t0), flush=True)
"""


class _PortProcess(ChildProcess):
    """A child process running `script` (argv: client, port, the port to connect to or "", timeout_s) that
    prints "ready <port it connected to>" once its JACK MIDI port is open; JackError when it does not."""

    def __init__(self, what: str, script: str, client: str, port: str, connect_to: str | None,
                 timeout_s: float) -> None:
        super().__init__([sys.executable, "-c", script, client, port, connect_to or "", str(timeout_s)])
        found = self.wait_line(lambda text: text.startswith("ready "), timeout_s + 10)
        if found is None:
            self.kill()
            raise JackError(f"the MIDI {what} {client}:{port} did not start: {self.tail() or 'no output'}")
        self.connected_to = found[1].split(" ", 1)[1]
        self.ready_line = found[0]  # the index of the "ready" line in the output


class MidiSender(_PortProcess):
    """A MIDI controller in a child process (a python-rtmidi output in the JACK server named by
    JACK_DEFAULT_SERVER): a virtual port `client:port`, or with `connect_to` a port connected to the first
    JACK MIDI input whose name contains it (waiting up to timeout_s for that input to appear)."""

    def __init__(self, client: str, port: str, *, connect_to: str | None = None, timeout_s: float = 20.0) -> None:
        super().__init__("sender", SENDER_SCRIPT, client, port, connect_to, timeout_s)
        self._acks = self.ready_line + 1

    def send(self, message: object) -> None:
        """Send a mido Message (or raw bytes); it returns at once (see `sent_at`)."""
        data = message.bytes() if hasattr(message, "bytes") else message  # type: ignore[attr-defined]
        self.write_line(bytes(data).hex(" "))

    def sent_at(self, timeout_s: float = 5.0) -> float | None:
        """CLOCK_MONOTONIC seconds just before the oldest send not yet accounted for; None if it died."""
        found = self.wait_line(lambda text: text.startswith("sent "), timeout_s, start=self._acks)
        if found is None:
            return None
        self._acks = found[0] + 1
        return float(found[1].split()[1])


# The receiver: a mido input (python-rtmidi on JACK). argv: client name, port name, the output to connect to
# (part of its name; "" = a virtual input that the bridge opens as a device) and a timeout. It prints
# "recv <CLOCK_MONOTONIC seconds taken as the callback starts> <the message as hex bytes>" for every message,
# from RtMidi's JACK thread. It never closes its port: it is killed.
RECEIVER_SCRIPT = r"""
import sys, threading, time
import mido, rtmidi
client, port, source, timeout_s = sys.argv[1:5]
backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK", load=True)

def received(message):
    print("recv", repr(time.clock_gettime(time.CLOCK_MONOTONIC)), message.hex(), flush=True)

if source:
    lister = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name=client + " watch")  # one client for every listing
    deadline = time.monotonic() + float(timeout_s)
    while True:
        hits = [n for n in lister.get_ports() if source.casefold() in n.casefold()]
        if hits:
            break
        if time.monotonic() > deadline:
            sys.exit(f"no JACK MIDI output matching {source!r}; outputs: {lister.get_ports()}")
        time.sleep(0.05)
    keep = backend.open_input(hits[0], callback=received)
    print("ready", hits[0], flush=True)
else:
    keep = backend.open_input(port, virtual=True, client_name=client, callback=received)
    print("ready", f"{client}:{port}", flush=True)
threading.Event().wait()
"""


class MidiReceiver(_PortProcess):
    """A MIDI receiver in a child process (a mido input on JACK, in the server named by JACK_DEFAULT_SERVER):
    a virtual input `client:port`, or with `connect_to` connected to the first JACK MIDI output whose name
    contains it (waiting up to timeout_s for it to appear). `received()` lists what arrived, in order."""

    def __init__(self, client: str, port: str, *, connect_to: str | None = None, timeout_s: float = 20.0) -> None:
        super().__init__("receiver", RECEIVER_SCRIPT, client, port, connect_to, timeout_s)

    def received(self) -> list[tuple[float, bytes]]:
        """(CLOCK_MONOTONIC seconds at arrival, the message's bytes) of every message so far, in order."""
        out = []
        for line in self.output():
            if line.startswith("recv "):
                _, stamp, data = line.split(" ", 2)
                out.append((float(stamp), bytes.fromhex(data)))
        return out

    def wait_received(self, done: Callable[[list[tuple[float, bytes]]], bool], timeout_s: float) -> bool:
        """Block until done(received()) holds (checked on every line the receiver prints); False on timeout."""
        found = self.wait_line(lambda line: line.startswith("recv ") and done(self.received()), timeout_s)
        return found is not None or done(self.received())
