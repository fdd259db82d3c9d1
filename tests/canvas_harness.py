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


def tiny_bank() -> SoundBank:
    samples = tuple(Sample(f"/bank/keyboard-{p}-med.wav", Labels(p, "med", "keyboard")) for p in PITCHES)
    return SoundBank(samples, version="test-tiny-bank")


def make_parts(osc_port: int, *, classifier: InkClassifier | None = None, extra_sinks=()) -> SessionParts:
    """A real session like build_session makes, with the stand-in classifier and a 12-sample bank."""
    from bridge.adapters.osc_out import OscSender

    classifier = classifier or InkClassifier()
    bank = tiny_bank()
    engine = build_engine(classifier, bank)
    sender = OscSender([("127.0.0.1", osc_port)])
    session = LiveSession(engine, [sender, *extra_sinks])
    config = Config(osc_targets=(("127.0.0.1", osc_port),), audio="none")
    return SessionParts(config, classifier, bank, engine._match, engine, session, sender).start()


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
