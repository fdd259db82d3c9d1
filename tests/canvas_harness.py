"""Test support for the canvas: a real session (engine, matcher, OSC sender, LiveSession) with a stand-in
image classifier, a loopback OSC receiver, and helpers that post mouse/key events into the real loop."""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from stand_ins import InkClassifier
from waiting import Changes

from bridge.app.config import Config
from bridge.app.live_session import LiveSession
from bridge.app.session import SessionParts, build_engine
from bridge.core.bank import Sample, SoundBank
from bridge.core.labels import PITCHES, Labels
from bridge.core.matching import Matcher


def tiny_bank() -> SoundBank:
    samples = tuple(Sample(f"/bank/keyboard-{p}-med.wav", Labels(p, "med", "keyboard")) for p in PITCHES)
    return SoundBank(samples, version="test-tiny-bank")


def make_parts(osc_port: int, *, classifier: InkClassifier | None = None, extra_sinks=(), bank: SoundBank | None = None,
               audio=None, control_port: int | None = None) -> SessionParts:
    """A real session like build_session makes, with the stand-in classifier and a 12-sample bank.

    audio: a LocalAudio to play through (sinks: OSC, audio, extras, as build_session orders them);
    control_port: also listen for OSC control there (0 = any free port: see parts.control.port)."""
    from bridge.adapters.osc_control import OscControlServer
    from bridge.adapters.osc_out import OscSender

    classifier = classifier or InkClassifier()
    bank = bank or tiny_bank()
    matcher = Matcher(bank)
    engine = build_engine(classifier, bank, matcher=matcher)
    sender = OscSender([("127.0.0.1", osc_port)])
    session = LiveSession(engine, [sender, *([audio] if audio is not None else []), *extra_sinks])
    config = Config(osc_targets=(("127.0.0.1", osc_port),), audio="none" if audio is None else "local",
                    control_port=control_port)
    control = None if control_port is None else OscControlServer(session, port=control_port)
    return SessionParts(config, classifier, bank, matcher, engine, session, sender, audio=audio,
                        control=control).start()


class OscReceiver:
    """A loopback UDP socket; every datagram is kept as (perf_counter at receipt, [(address, args), ...])."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.datagrams: list[tuple[float, list[tuple[str, tuple]]]] = []
        self._changes = Changes()  # wakes wait_until on every datagram
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except (TimeoutError, OSError):
                continue
            with self._changes:
                self.datagrams.append((time.perf_counter(), parse_datagram(data)))

    def wait_until(self, predicate: Callable[[], bool], *, timeout_s: float = 5.0) -> bool:
        """True as soon as predicate() holds, checked now and on every datagram; False after timeout_s."""
        return self._changes.wait_until(predicate, timeout_s)

    def addresses(self) -> list[str]:
        return [address for _, messages in list(self.datagrams) for address, _ in messages]

    def messages(self, address: str) -> list[tuple]:
        return [args for _, messages in list(self.datagrams) for a, args in messages if a == address]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1)
        self.sock.close()


def parse_datagram(data: bytes) -> list[tuple[str, tuple]]:
    if OscBundle.dgram_is_bundle(data):
        bundle = OscBundle(data)
        return [(m.address, tuple(m.params)) for m in bundle]
    message = OscMessage(data)
    return [(message.address, tuple(message.params))]


def post_mouse(kind: int, pos: tuple[int, int], *, button: int = 1) -> None:
    if kind == pygame.MOUSEMOTION:
        pygame.event.post(pygame.event.Event(kind, pos=pos, rel=(0, 0), buttons=(1, 0, 0)))
    else:
        pygame.event.post(pygame.event.Event(kind, pos=pos, button=button))


def post_key(key: int, mod: int = 0) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=mod, unicode="", scancode=0))
    pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key, mod=mod, unicode="", scancode=0))


def post_text(text: str) -> None:
    pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text=text))


def watch_saves(monkeypatch) -> queue.Queue[Path]:
    """The target of every save the canvas finishes (written or failed), in order: `save_as` saves on a
    thread of its own, and this wraps the save function that thread calls."""
    from bridge.ui import canvas_app

    finished: queue.Queue[Path] = queue.Queue()
    save = canvas_app.save_drawing

    def save_and_tell(drawing, target: Path):
        try:
            return save(drawing, target)
        finally:
            finished.put(target)

    monkeypatch.setattr(canvas_app, "save_drawing", save_and_tell)
    return finished


END = "/pict2audio/stroke/end"
HUD_REFRESH_S = 0.25  # the canvas refreshes the HUD's figures (latency, bundles sent, voices) 4 times a second


class Rig:
    """The canvas on a real session (built on this thread, so it is live after the first frame), with a
    loopback OSC receiver; every bundle is kept in `bundles`. make_parts options pass through (`audio`,
    `bank`, `control_port`); `options` adds CanvasOptions fields."""

    def __init__(self, tmp_path: Path, *, sinks=(), options: dict | None = None, **parts_options) -> None:
        from bridge.ui.canvas_app import CanvasApp, CanvasOptions
        from bridge.ui.latency import LatencyProbe
        from bridge.ui.notices import SessionNotices
        from bridge.ui.session_link import SessionLink

        self.rx = OscReceiver()
        self.classifier = InkClassifier()
        self.bundles: list = []
        self.probe = LatencyProbe()
        self.notices = SessionNotices()
        extra = (self.probe, self.notices, self.bundles.append, *sinks)
        self.link = SessionLink(lambda: make_parts(self.rx.port, classifier=self.classifier, extra_sinks=extra,
                                                   **parts_options), background=False)
        chosen = {"osc_targets": (("127.0.0.1", self.rx.port),), "save_folder": tmp_path, **(options or {})}
        self.app = CanvasApp(self.link, CanvasOptions(**chosen), probe=self.probe, notices=self.notices)
        self.link.start()
        self.app.open()
        self.app.pump(frames=1)

    def window_pos(self, x: float, y: float) -> tuple[int, int]:
        return self.app.layout().from_canvas(x, y)

    def draw(self, points: list[tuple[float, float]], *, button: int = 1, pump_each: bool = False) -> None:
        """A stroke through canvas points, posted as window mouse events."""
        ends = len(self.rx.messages(END))
        post_mouse(pygame.MOUSEBUTTONDOWN, self.window_pos(*points[0]), button=button)
        for p in points[1:]:
            post_mouse(pygame.MOUSEMOTION, self.window_pos(*p))
            if pump_each:
                self.app.pump(frames=1)
        post_mouse(pygame.MOUSEBUTTONUP, self.window_pos(*points[-1]), button=button)
        self.settle(lambda: len(self.rx.messages(END)) > ends)

    def open_prompt(self, key: int) -> Any:
        """Press Ctrl+key; the prompt it opens."""
        post_key(key, pygame.KMOD_CTRL)
        self.app.pump(frames=1)
        assert self.app.prompt is not None, "no prompt opened"
        return self.app.prompt

    def answer_prompt(self, text: str) -> None:
        """Type `text` over what the open prompt holds, then Enter."""
        self.app.prompt.text = ""
        post_text(text)
        post_key(pygame.K_RETURN)

    def settle(self, until=lambda: True) -> None:
        self.app.pump(frames=2)
        assert self.link.idle(5.0)
        assert self.rx.wait_until(until), f"OSC received only {self.rx.addresses()}"
        self.app.pump(frames=1)

    def close(self) -> None:
        self.app.close()
        self.rx.close()


def line(y: float, *, x0: float = 40, x1: float = 360, n: int = 25) -> list[tuple[float, float]]:
    return [(x0 + (x1 - x0) * i / (n - 1), y) for i in range(n)]
