"""The live canvas: pen event -> OSC datagram, frame time while drawing, and time to the first frame.

`stroke_to_osc_ms`: mouse events are posted into the real pygame event loop (SDL dummy video driver)
by a driver thread, as a composer draws: pen down, moves every 4 ms, pen up, the strokes in turn about 20,
60, 120 and 240 px long (ten moves of 2 to 24 px), so the image model's narrow bands and its whole width all
run (bridge.core.column_bands; noted as `model_calls_by_width`). The latency of an event
is from `pygame.event.post` to the arrival of the OSC datagram it causes in a loopback UDP socket
(pen down -> the bundle with /stroke/begin and the voice's /play, a move that is due for
classification -> /labels, pen up -> /stroke/end). It covers the canvas loop noticing the event, the UI
handling it, the hand-over to the engine thread, the engine (the stroke rasterised and classified,
matched), the OSC encoding and the send. Arrival is the kernel's receive timestamp of the datagram
(SO_TIMESTAMPNS on Linux), so the figure does not include this process's receiving thread waiting for
the GIL (a receiver such as Pd runs in its own process); that wait is noted beside it.
On a virtual machine, `host_stolen_percent` notes the share of CPU time the hypervisor took while it measured.
The session is the real one (model, matcher, OSC sender, local playback on SDL's dummy audio driver)
with the default bank's notes played BENCH_NOTE_REPEATS times over, so 16 voices (the voice limit)
sound while it measures: once the session has preloaded the bank's samples (waited for up to a minute; the
note `preloaded` says whether it had), unmeasured strokes bring the mixer to 16 sounding voices (and warm
every path), then each stroke's pen down steals the oldest voice, as it does when a composer draws fast.
`pen_down_to_play_ms`: the pen-down events of that run alone (onset down: the voice sounds at once).
`frame_ms`: the time to build and present each frame during the measured strokes (60 fps needs
<= 16.7 ms); the frame-to-frame interval is noted beside it, and how many voices the local mixer was
playing (sampled after every measured event: min and median).
`startup_s`: a fresh `run_bridge.py play --exit-after-first-frame` process, from launch to the marker it
prints after its first drawable frame (the model and bank still loading in the background).
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.figures import Figure, cpu_ticks, percentiles_ms, stolen_percent

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
PEN_MOVE_EVERY_S = 0.004
MOVE_PX = (2.0, 6.0, 12.0, 24.0)  # per move, stroke by stroke in turn: strokes of about 20 to 240 px
UNMEASURED_UNTIL_S = 0.020  # see _Driver._stroke
MEASURED_AFTER_S = 0.031
ADDRESS_FOR = {"down": b"/pict2audio/play", "move": b"/pict2audio/labels", "up": b"/pict2audio/stroke/end"}
BENCH_NOTE_REPEATS = 4  # 4.8 s notes: at a stroke about every 90 ms, 16 voices sound at once
WARM_UP_STROKES = 60  # at most, before measuring: until the mixer plays as many voices as it can
PRELOAD_WAIT_S = 60.0  # at most, for the session to preload the bank (a busy machine: measured anyway, noted)
# The kernel's receive timestamp of a datagram (struct timespec, CLOCK_REALTIME); Linux only, and the
# socket module does not name it.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35) if sys.platform.startswith("linux") else None


def measure(*, quick: bool) -> list[Figure]:
    events = 200 if quick else 1000
    latency, frames, notes = _stroke_to_osc(events=events)
    startup = _startup_s(runs=2 if quick else 5)
    voices = {"voices_sounding_min": min(frames["voices"]), "voices_sounding_p50": float(np.median(frames["voices"])),
              "voice_limit": notes.pop("voice_limit")}
    return [
        Figure("stroke_to_osc_ms", "pen event -> OSC datagram arrival (canvas loop)", "ms",
               percentiles_ms(latency["all"]), notes={**notes, **voices}),
        Figure("pen_down_to_play_ms", "pen down -> the voice's /play datagram (onset down)", "ms",
               percentiles_ms(latency["down"])),
        Figure("frame_ms", "canvas frame time while drawing + classifying, 16 voices sounding", "ms",
               percentiles_ms(frames["work"]),
               notes={"interval_p50": float(np.percentile(frames["interval"], 50)),
                      "interval_p99": float(np.percentile(frames["interval"], 99)), **voices}),
        Figure("startup_s", "launch -> first drawable canvas frame", "s",
               {"p50": float(np.median(startup)), "p99": float(np.max(startup)), "n": len(startup)}),
    ]


# -- stroke_to_osc_ms and frame_ms -------------------------------------------------------------


def long_note_bank(folder: Path):
    """The default bank with every note played BENCH_NOTE_REPEATS times over (same labels), written to `folder`."""
    import soundfile as sf

    from bridge.adapters.default_bank import default_bank
    from bridge.core.bank import SoundBank

    bank = default_bank()
    samples = []
    for sample in bank.samples:
        audio, rate = sf.read(sample.path, dtype="int16")
        path = folder / Path(sample.path).name
        sf.write(path, np.tile(audio, BENCH_NOTE_REPEATS), rate, subtype="PCM_16")
        samples.append(replace(sample, path=str(path)))
    return SoundBank(tuple(samples), version=f"{bank.version}-x{BENCH_NOTE_REPEATS}")


def _session_connect(port: int, probe, used: list[str], bank_folder: Path):
    """Builds the real session (committed model, the default bank's notes made longer) with OSC to `port`;
    if the model or bank cannot be loaded here, the same loop with a stand-in classifier (and `used` says so)."""
    from bridge.app.config import Config
    from bridge.app.session import build_session

    config = Config(osc_targets=(("127.0.0.1", port),), audio="local")

    def connect():
        try:
            parts = build_session(config, extra_sinks=(probe,), bank=long_note_bank(bank_folder))
            used.append(f"committed model + default bank, notes x{BENCH_NOTE_REPEATS}")
            return parts
        except Exception as exc:  # measured anyway, and said so in the output
            log.warning("bench canvas: no real session (%s); using a stand-in classifier", exc)
            used.append(f"stand-in classifier ({type(exc).__name__}: {exc})")
            return _stand_in_session(config, probe)

    return connect


def _stand_in_session(config, probe):
    from bridge.adapters.osc_out import OscSender
    from bridge.app.live_session import LiveSession
    from bridge.app.session import SessionParts, build_engine
    from bridge.core.bank import Sample, SoundBank
    from bridge.core.engine import uniform_prediction
    from bridge.core.labels import PITCHES, Labels
    from bridge.core.matching import Matcher

    class Uniform:
        version = "bench-stand-in"

        def classify_raster(self, raster):
            raster.pixels().mean()  # touch the pixels like a model's preprocessing would
            return uniform_prediction()

    bank = SoundBank(tuple(Sample(f"/bench/{p}.wav", Labels(p, "med", "keyboard")) for p in PITCHES))
    classifier = Uniform()
    matcher = Matcher(bank)
    engine = build_engine(classifier, bank, matcher=matcher)
    sender = OscSender(config.osc_targets)
    session = LiveSession(engine, [sender, probe])
    return SessionParts(config, classifier, bank, matcher, engine, session, sender).start()


class _Driver:
    """Posts mouse events from its own thread and times each one to its datagram's arrival."""

    def __init__(self, app, sock: socket.socket, events: int) -> None:
        self.app = app
        self.sock = sock
        self.events = events
        self.latency_ms: dict[str, list[float]] = {"all": [], "down": []}
        self.receiver_wait_ms: list[float] = []  # arrival -> this thread holding the datagram
        self.voices_sounding: list[int] = []  # after every measured event
        self.voice_limit = 0
        self.measuring = False
        self.preloaded = False  # whether the bank's samples were preloaded before measuring
        self.first_measured_frame = 0
        self.stolen_percent: float | None = None  # of the machine's CPU time while measuring
        self.model_calls_by_width: dict[int, int] = {}  # the image model's bands that ran while measuring
        self.missed = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        import pygame

        try:
            if not self.app.link.wait_ready(60.0):
                raise RuntimeError(f"the session did not start: {self.app.link.error}")
            audio = self.app.link.parts.audio
            self.voice_limit = audio.voices if audio is not None and audio.enabled else 0
            self.preloaded = audio is None or audio.preloaded.wait(PRELOAD_WAIT_S)
            stroke = 0
            while stroke < WARM_UP_STROKES and self._sounding() < self.voice_limit:
                self._stroke(stroke)
                stroke += 1
            self.measuring, self.first_measured_frame, self.missed = True, self.app.frames, 0
            ticks, calls = cpu_ticks(), self._model_calls()
            while len(self.latency_ms["all"]) < self.events:
                if self.missed > self.events // 10:
                    raise RuntimeError(f"{self.missed} pen events sent no OSC within 0.5 s")
                self._stroke(stroke)
                stroke += 1
            self.stolen_percent = stolen_percent(ticks)
            self.model_calls_by_width = {width: n - calls[width] for width, n in self._model_calls().items()}
        except BaseException as exc:
            self.error = exc
        finally:
            pygame.event.post(pygame.event.Event(pygame.QUIT))

    def _model_calls(self) -> dict[int, int]:
        return dict(getattr(self.app.link.parts.classifier, "calls_by_width", {}))

    def _sounding(self) -> int:
        audio = self.app.link.parts.audio
        return len(audio.sounding()) if audio is not None else 0

    def _stroke(self, index: int) -> None:
        """Pen down, moves every 4 ms with two measured ones, pen up.

        The classification an event causes happens between its post and its datagram's receipt; so the
        unmeasured moves stop 20 ms after the last measured post (never due for classification), and the
        next measured move goes 31 ms after the last receipt (always due, classify_interval_ms = 30).
        """
        import pygame

        layout = self.app.layout()
        y = 20 + (index * 37) % 360
        x, step = 30.0, MOVE_PX[index % len(MOVE_PX)]
        posted, received = self._timed("down", pygame.MOUSEBUTTONDOWN, layout.from_canvas(x, y))
        for _ in range(2):
            while time.perf_counter() + PEN_MOVE_EVERY_S < posted + UNMEASURED_UNTIL_S:
                time.sleep(PEN_MOVE_EVERY_S)
                x += step
                self._post(pygame.MOUSEMOTION, layout.from_canvas(x, y))
            time.sleep(max(received + MEASURED_AFTER_S - time.perf_counter(), 0.0))
            x += step
            posted, received = self._timed("move", pygame.MOUSEMOTION, layout.from_canvas(x, y))
        time.sleep(PEN_MOVE_EVERY_S)
        self._timed("up", pygame.MOUSEBUTTONUP, layout.from_canvas(x, y))
        time.sleep(0.01)

    @staticmethod
    def _post(kind: int, pos: tuple[int, int]) -> None:
        import pygame

        if kind == pygame.MOUSEMOTION:
            pygame.event.post(pygame.event.Event(kind, pos=pos, rel=(0, 0), buttons=(1, 0, 0)))
        else:
            pygame.event.post(pygame.event.Event(kind, pos=pos, button=1))

    def _timed(self, what: str, kind: int, pos: tuple[int, int]) -> tuple[float, float]:
        """Post one event and wait for its datagram; (posted, arrived) perf_counter times."""
        self._drain()
        posted = time.perf_counter()
        self._post(kind, pos)
        deadline = posted + 0.5
        while True:
            self.sock.settimeout(max(deadline - time.perf_counter(), 0.001))
            try:
                data, arrived, received = receive_timed(self.sock)
            except TimeoutError:
                self.missed += 1
                return posted, time.perf_counter()
            if ADDRESS_FOR[what] in data:
                if self.measuring:
                    self._record(what, (arrived - posted) * 1000.0, (received - arrived) * 1000.0)
                return posted, arrived

    def _record(self, what: str, latency_ms: float, receiver_wait_ms: float) -> None:
        if len(self.latency_ms["all"]) >= self.events:
            return  # the last stroke's events after the count is reached
        self.latency_ms["all"].append(latency_ms)
        if what == "down":
            self.latency_ms["down"].append(latency_ms)
        self.receiver_wait_ms.append(receiver_wait_ms)
        self.voices_sounding.append(self._sounding())

    def _drain(self) -> None:
        self.sock.setblocking(False)
        try:
            while True:
                self.sock.recv(65536)
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)


def timed_receiver() -> tuple[socket.socket, str]:
    """A loopback UDP socket with kernel receive timestamps where the platform has them, and what times
    a datagram's arrival."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    if SO_TIMESTAMPNS is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            return sock, "kernel receive timestamp"
        except OSError as exc:
            log.warning("bench canvas: no kernel receive timestamps (%s); timing at receipt", exc)
    return sock, "receipt by the bench's thread"


def receive_timed(sock: socket.socket) -> tuple[bytes, float, float]:
    """One datagram, when it arrived and when this thread got it (perf_counter s). Arrival is the kernel's
    timestamp moved onto perf_counter's clock by the wall-clock time elapsed since it; receipt without one."""
    data, ancillary, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(16))
    received, wall_ns = time.perf_counter(), time.time_ns()
    for level, kind, stamp in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(stamp) >= 16:
            seconds, nanoseconds = struct.unpack("qq", stamp[:16])
            return data, received - (wall_ns - seconds * 1_000_000_000 - nanoseconds) / 1e9, received
    return data, received, received


def _stroke_to_osc(*, events: int) -> tuple[dict[str, list[float]], dict[str, list], dict[str, object]]:
    saved_env = {k: os.environ.get(k) for k in ("SDL_VIDEODRIVER", "SDL_AUDIODRIVER", "PYGAME_HIDE_SUPPORT_PROMPT")}
    os.environ.update(SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")
    from bridge.ui.canvas_app import CanvasApp, CanvasOptions
    from bridge.ui.latency import LatencyProbe
    from bridge.ui.session_link import SessionLink

    sock, arrival = timed_receiver()
    port = sock.getsockname()[1]
    probe = LatencyProbe()
    used: list[str] = []
    bank_folder = tempfile.TemporaryDirectory(prefix="pict2audio-bench-bank-")
    link = SessionLink(_session_connect(port, probe, used, Path(bank_folder.name)))
    app = CanvasApp(link, CanvasOptions(osc_targets=(("127.0.0.1", port),), audio="local"), probe=probe)
    driver = _Driver(app, sock, events)
    try:
        link.start()
        app.open()
        thread = threading.Thread(target=driver.run, name="bench-driver", daemon=True)
        thread.start()
        app.pump()
        thread.join(5.0)
        first = driver.first_measured_frame
        frames = {"work": list(app.frame_ms)[first:], "interval": list(app.frame_interval_ms)[first:],
                  "voices": driver.voices_sounding or [0]}
    finally:
        app.close()
        sock.close()
        bank_folder.cleanup()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if driver.error is not None:
        raise RuntimeError(f"canvas bench failed: {driver.error}") from driver.error
    hud = probe.summary()
    wait = driver.receiver_wait_ms or [0.0]
    notes = {"session": used[0] if used else "none", "arrival": arrival, "missed": driver.missed,
             "preloaded": driver.preloaded,
             "load_avg_1min": round(os.getloadavg()[0], 2), "host_stolen_percent": driver.stolen_percent,
             "model_calls_by_width": {str(width): n for width, n in driver.model_calls_by_width.items()},
             "hud_p50_ms": hud and hud[0], "receiver_wait_p50_ms": float(np.percentile(wait, 50)),
             "receiver_wait_p99_ms": float(np.percentile(wait, 99)), "voice_limit": driver.voice_limit}
    return driver.latency_ms, frames, notes


# -- startup_s ---------------------------------------------------------------------------------


def _startup_s(*, runs: int) -> list[float]:
    from bridge.commands.play import FIRST_FRAME_MARKER

    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    argv = [sys.executable, str(REPO / "run_bridge.py"), "play", "--exit-after-first-frame", "--audio", "none",
            "--osc", "127.0.0.1:9"]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(FIRST_FRAME_MARKER):
                times.append(time.perf_counter() - start)
                break
        else:
            proc.wait(30)
            raise RuntimeError(f"the canvas showed no first frame: {proc.stderr.read()[-800:] if proc.stderr else ''}")
        proc.wait(30)
    return times
