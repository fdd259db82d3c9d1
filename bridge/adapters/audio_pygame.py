"""Local playback with pygame.mixer: a LiveSession sink that mixes the engine's voices.

Every pen stroke is a voice with an integer id (`/pict2audio/play` ends with its stroke_id; 0 is a trigger of
no stroke and behaves like any other id). Up to `voices` voices sound at once, each in its own slot:

- play with a new id: the voice takes a free slot (its sound ended, or it was stopped); when every slot is
  sounding, the one (re)triggered longest ago is stolen: its sound fades out in `fade_ms`.
- play with the id of a voice that still has its slot: retrigger; the old sound fades out in `fade_ms` while
  the new one starts at once.
- `/pict2audio/voice/stop`: that voice fades out; `/pict2audio/clear`: every voice fades out.

Samples are decoded once and cached (least recently used dropped first); `preload(paths)`, run on a thread of
its own when the session starts, decodes the bank's samples ahead of their first play (up to `max_cached`
sounds or PRELOAD_BYTES of decoded audio), as a sampler loads its instruments before the show.

A slot is a PAIR of mixer channels: one pygame Channel cannot fade one sound out while it plays the next, so a
retriggered or stolen voice's new sound starts on the slot's other channel and the cut one fades on its own.

Without an audio device (a server, CI, a laptop with the sound off) the mixer cannot start: the sink logs
exactly one warning line and becomes a no-op, so the OSC output goes on. A bad message or an unreadable file is
one warning (per address, per path) and is skipped: a sink runs on the engine's thread and must never raise.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bridge.adapters.native_stderr import native_stderr_silenced
from bridge.core.protocol import ADDRESSES, Bundle

log = logging.getLogger(__name__)

PLAY_ADDRESS = ADDRESSES["play"].path
VOICE_STOP_ADDRESS = ADDRESSES["voice_stop"].path
CLEAR_ADDRESS = ADDRESSES["clear"].path

MAX_VOICES = 64  # two mixer channels each: SDL_mixer handles 128 channels without trouble
DEFAULT_VOICES = 16
DEFAULT_FADE_MS = 30  # long enough to avoid a click, short enough that a cut voice stops at once to the ear
MAX_FADE_MS = 10_000
PLAYED_KEPT = 100
PRELOAD_BYTES = 128 * 1024 * 1024  # decoded audio preloaded at the start: about 12 minutes at 44.1 kHz stereo


@dataclass
class _Slot:
    """One voice's place in the mixer: a pair of channels, the one carrying the voice is `channels[active]`."""

    channels: tuple[Any, Any]
    numbers: tuple[int, int]  # the channels' mixer indices
    active: int = 0
    voice: int | None = None  # None: free (never used, or its voice was stopped)
    path: str = ""
    started: int = 0  # trigger order: the lowest is the voice (re)triggered longest ago

    def sounding(self) -> bool:
        """Its voice is still playing (a voice whose sound ended frees the slot without a message)."""
        return self.voice is not None and bool(self.channels[self.active].get_busy())


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"LocalAudio {name} must be an integer from {low} to {high}, got {value!r}")
    return value


def _int_arg(args: tuple[Any, ...], index: int) -> int:
    value = args[index]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"argument {index} must be an int, got {value!r}")
    return value


def _decoded_bytes(mixer: Any, sound: Any) -> int:
    """The memory a decoded Sound takes in the mixer's format."""
    frequency, sample_format, channels = mixer.get_init() or (44100, -16, 2)
    return int(sound.get_length() * frequency * channels * abs(sample_format) // 8)


class LocalAudio:
    """Plays the engine's voices on pygame.mixer; Sounds are cached by path (each file decoded once).

    voices: how many voices sound at once (1..64). fade_ms: the fade of a stopped, cleared, retriggered or
    stolen voice (0 cuts at once). Call it with each Bundle; `sounding()` and `channel_of()` show the state.
    """

    def __init__(self, *, voices: int = DEFAULT_VOICES, fade_ms: int = DEFAULT_FADE_MS, frequency_hz: int = 44100,
                 buffer_frames: int = 512, max_cached: int = 256) -> None:
        self._voices = _check_int("voices", voices, 1, MAX_VOICES)
        self._fade_ms = _check_int("fade_ms", fade_ms, 0, MAX_FADE_MS)
        self.frequency_hz = frequency_hz
        self.buffer_frames = buffer_frames
        self.max_cached = max_cached
        self.enabled: bool | None = None  # None until open() or the first play tries the mixer
        self.played: list[str] = []  # paths started, most recent last (bounded)
        self._mixer: Any = None
        self._sounds: dict[str, Any] = {}  # path -> Sound, least recently used first
        self._bad_paths: set[str] = set()
        self._warned: set[str] = set()
        self._slots: list[_Slot] = []
        self._by_voice: dict[int, int] = {}  # voice id -> slot index
        self._triggers = 0
        self._lock = threading.Lock()  # the engine thread plays; a HUD may read sounding() from another thread
        self._cache_lock = threading.Lock()  # the decoded sounds: played on the playback thread, preloaded on another
        self._preload_lock = threading.Lock()  # held while preload() decodes a file
        self.preloaded = threading.Event()  # set when preload() has finished
        self._handlers: dict[str, Callable[[tuple[Any, ...]], None]] = {
            PLAY_ADDRESS: self._on_play,
            VOICE_STOP_ADDRESS: self._on_voice_stop,
            CLEAR_ADDRESS: self._on_clear,
        }

    @property
    def voices(self) -> int:
        """How many voices can sound at once."""
        return self._voices

    @property
    def fade_ms(self) -> int:
        """The fade-out of a cut voice, in ms."""
        return self._fade_ms

    @property
    def cached_paths(self) -> tuple[str, ...]:
        """The paths whose decoded sound is kept (at most max_cached), least recently used first."""
        return tuple(self._sounds)

    # -- mixer -------------------------------------------------------------------------------------------------

    def open(self) -> bool:
        """Start the mixer now (else the first play does); False when there is no audio device."""
        return self._init_mixer()

    def _init_mixer(self) -> bool:
        if self.enabled is not None:
            return self.enabled
        try:
            import pygame

            with native_stderr_silenced():  # ALSA prints its probing of absent devices from C
                pygame.mixer.init(frequency=self.frequency_hz, buffer=self.buffer_frames)
            channels = 2 * self._voices
            pygame.mixer.set_num_channels(max(channels, pygame.mixer.get_num_channels()))
            pygame.mixer.set_reserved(channels)  # a plain Sound.play() elsewhere never lands on a voice's channel
            self._slots = [_Slot((pygame.mixer.Channel(2 * i), pygame.mixer.Channel(2 * i + 1)), (2 * i, 2 * i + 1))
                           for i in range(self._voices)]
        except Exception as exc:  # pygame.error, ImportError, driver failures: all mean "no audio here"
            log.warning("no audio device (%s): local playback off, OSC goes on", str(exc).strip() or type(exc).__name__)
            self._slots = []
            self.enabled = False
            return False
        self._mixer = pygame.mixer
        self.enabled = True
        return True

    # -- the sink ----------------------------------------------------------------------------------------------

    def __call__(self, bundle: Bundle) -> None:
        """Act on the bundle's play, voice/stop and clear messages; never raises (a bad message is skipped)."""
        for message in bundle.messages:
            handler = self._handlers.get(getattr(message, "address", ""))  # a sink may be handed anything
            if handler is None:
                continue
            try:
                handler(tuple(message.args))
            except Exception as exc:
                self._warn_once(message.address, "skipped a %s message %r: %s", message.address,
                                getattr(message, "args", None), exc)

    def _on_play(self, args: tuple[Any, ...]) -> None:
        path = args[0]
        if not isinstance(path, str):
            raise ValueError(f"path must be a string, got {path!r}")
        self.play(path, _int_arg(args, 4))

    def _on_voice_stop(self, args: tuple[Any, ...]) -> None:
        self.stop_voice(_int_arg(args, 0))

    def _on_clear(self, args: tuple[Any, ...]) -> None:
        self.stop_all()

    def _warn_once(self, key: str, fmt: str, *args: Any) -> None:
        """One warning line per key: a bad message repeated on every stroke must not flood the log."""
        if key not in self._warned:
            self._warned.add(key)
            log.warning(fmt + " (further ones are not logged)", *args)

    # -- voices ------------------------------------------------------------------------------------------------

    def play(self, path: str, voice: int = 0) -> bool:
        """Sound `path` as voice `voice` (a retrigger when that voice still has its slot); False when it cannot."""
        if not self._init_mixer() or path in self._bad_paths:
            return False
        sound = self._sound(path)  # decoded outside the lock: a reader never waits for a file
        if sound is None:
            return False
        with self._lock:
            if not self._slots:  # closed meanwhile
                return False
            index = self._slot_for(voice)
            self._start(index, voice, path, sound)
        self.played.append(path)
        del self.played[:-PLAYED_KEPT]
        return True

    def stop_voice(self, voice: int) -> None:
        """Fade out voice `voice` and free its slot (nothing happens for a voice that has none)."""
        with self._lock:
            index = self._by_voice.pop(voice, None)
            if index is not None:
                slot = self._slots[index]
                self._fade(slot.channels[slot.active])
                slot.voice = None

    def stop_all(self) -> None:
        """Fade out every voice (and every fading tail) and free all slots."""
        with self._lock:
            for slot in self._slots:
                for channel in slot.channels:
                    self._fade(channel)
                slot.voice = None
            self._by_voice.clear()

    def _slot_for(self, voice: int) -> int:
        """The voice's own slot, else a free one, else the one (re)triggered longest ago (stolen)."""
        index = self._by_voice.get(voice)
        if index is not None:
            return index
        index = min(range(len(self._slots)), key=lambda i: (self._slots[i].sounding(), self._slots[i].started))
        previous = self._slots[index].voice
        if previous is not None:  # its sound ended, or it is being stolen
            self._by_voice.pop(previous, None)
        return index

    def _start(self, index: int, voice: int, path: str, sound: Any) -> None:
        """Fade the slot's current sound and start `sound` at once on the slot's other channel."""
        slot = self._slots[index]
        self._fade(slot.channels[slot.active])
        slot.active ^= 1
        channel = slot.channels[slot.active]
        channel.set_volume(1.0)  # a fade cut short by a new play leaves the channel's volume lowered
        channel.play(sound)
        self._triggers += 1
        slot.voice, slot.path, slot.started = voice, path, self._triggers
        self._by_voice[voice] = index

    def _fade(self, channel: Any) -> None:
        if self._fade_ms > 0:
            channel.fadeout(self._fade_ms)  # no-op on an idle or already fading channel
        else:
            channel.stop()

    def preload(self, paths: Iterable[str], *, budget_bytes: int = PRELOAD_BYTES) -> int:
        """Decode `paths` into the cache ahead of their first play, in order, until the cache holds max_cached
        sounds or the preloaded ones `budget_bytes` of decoded audio, so that a first play mid-performance does
        not decode a file (milliseconds of a core each). For a thread of its own: the cache is shared with
        the playback thread. Sets `preloaded` when done (also when there is no mixer); returns how many it
        decoded."""
        decoded = used = 0
        try:
            if not self._init_mixer():
                return 0
            for path in paths:
                with self._cache_lock:
                    full = len(self._sounds) >= self.max_cached
                    known = path in self._sounds or path in self._bad_paths
                if full or used >= budget_bytes:
                    break
                if known:
                    continue
                with self._preload_lock:  # close() waits for this file, then stops the mixer
                    mixer = self._mixer
                    if mixer is None:
                        break
                    sound = self._decode(mixer, path)
                    if sound is not None:
                        with self._cache_lock:
                            self._sounds.setdefault(path, sound)
                        decoded += 1
                        used += _decoded_bytes(mixer, sound)
            return decoded
        finally:
            self.preloaded.set()

    def _sound(self, path: str) -> Any:
        """The decoded Sound of `path` (cached, least recently used dropped first), or None: warned once."""
        with self._cache_lock:
            sound = self._sounds.pop(path, None)
        mixer = self._mixer
        if sound is None and mixer is None:  # closed meanwhile
            return None
        if sound is None:
            sound = self._decode(mixer, path)
            if sound is None:
                return None
        with self._cache_lock:
            while len(self._sounds) >= self.max_cached:
                self._sounds.pop(next(iter(self._sounds)))
            self._sounds[path] = sound  # (re)inserted last: the most recently used
        return sound

    def _decode(self, mixer: Any, path: str) -> Any:
        """The file decoded for the mixer, or None (an unreadable file: said once per path, never tried again)."""
        try:
            return mixer.Sound(path)
        except Exception as exc:
            log.warning("cannot play %s locally: %s", path, exc)
            self._bad_paths.add(path)
            return None

    # -- read-only view (HUD, tests) ---------------------------------------------------------------------------

    def sounding(self) -> dict[int, str]:
        """Voice id -> path of every voice sounding now (not the cut ones fading out)."""
        with self._lock:
            return {slot.voice: slot.path for slot in self._slots if slot.voice is not None and slot.sounding()}

    def channel_of(self, voice: int) -> int | None:
        """The mixer channel index carrying voice `voice` now, or None when it is not sounding."""
        with self._lock:
            index = self._by_voice.get(voice)
            if index is None or not self._slots[index].sounding():
                return None
            slot = self._slots[index]
            return slot.numbers[slot.active]

    def close(self) -> None:
        """Stop and release the mixer (idempotent); a preload in progress stops after its current file."""
        with self._preload_lock, self._lock:
            if self.enabled and self._mixer is not None:
                self._mixer.quit()
            self._mixer = None
            with self._cache_lock:
                self._sounds.clear()
            self._slots = []
            self._by_voice.clear()
            self.enabled = False  # closed: later play messages are ignored

    def __repr__(self) -> str:
        return f"LocalAudio(voices={self._voices}, fade_ms={self._fade_ms})"
