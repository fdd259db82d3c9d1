"""Local playback with pygame.mixer: a LiveSession sink that plays each /pict2audio/play sample.

Without an audio device (a server, CI, a laptop with the sound off) the mixer cannot start: the sink
logs exactly one warning line and becomes a no-op, so the OSC output goes on.
"""

from __future__ import annotations

import logging
from typing import Any

from bridge.core.protocol import ADDRESSES, Bundle

log = logging.getLogger(__name__)

PLAY_ADDRESS = ADDRESSES["play"].path


class LocalAudio:
    """Plays the sample of every play message; Sounds are cached by path (decoded once)."""

    def __init__(self, *, frequency_hz: int = 44100, buffer_frames: int = 512, max_cached: int = 256) -> None:
        self.frequency_hz = frequency_hz
        self.buffer_frames = buffer_frames
        self.max_cached = max_cached
        self.enabled: bool | None = None  # None until the first play tries the mixer
        self.played: list[str] = []  # paths started, most recent last (bounded)
        self._mixer: Any = None
        self._sounds: dict[str, Any] = {}
        self._bad_paths: set[str] = set()

    def open(self) -> bool:
        """Start the mixer now (else the first play does); False when there is no audio device."""
        return self._init_mixer()

    def _init_mixer(self) -> bool:
        if self.enabled is not None:
            return self.enabled
        try:
            import pygame

            pygame.mixer.init(frequency=self.frequency_hz, buffer=self.buffer_frames)
            pygame.mixer.set_num_channels(16)
        except Exception as exc:  # pygame.error, ImportError, driver failures: all mean "no audio here"
            log.warning("no audio device (%s): local playback off, OSC goes on", str(exc).strip() or type(exc).__name__)
            self.enabled = False
            return False
        self._mixer = pygame.mixer
        self.enabled = True
        return True

    def __call__(self, bundle: Bundle) -> None:
        for message in bundle.messages:
            if message.address == PLAY_ADDRESS:
                self.play(str(message.args[0]))

    def play(self, path: str) -> None:
        if not self._init_mixer() or path in self._bad_paths:
            return
        sound = self._sounds.get(path)
        if sound is None:
            try:
                sound = self._mixer.Sound(path)
            except Exception as exc:  # unreadable file: say so once per path, keep going
                log.warning("cannot play %s locally: %s", path, exc)
                self._bad_paths.add(path)
                return
            if len(self._sounds) >= self.max_cached:
                self._sounds.pop(next(iter(self._sounds)))
            self._sounds[path] = sound
        sound.play()
        self.played.append(path)
        del self.played[:-100]

    def close(self) -> None:
        """Stop and release the mixer (idempotent)."""
        if self.enabled and self._mixer is not None:
            self._mixer.quit()
        self._mixer = None
        self._sounds.clear()
        self.enabled = False  # closed: later play messages are ignored

    def __repr__(self) -> str:
        return "LocalAudio()"
