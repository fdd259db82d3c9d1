"""Offline bounce with soundfile + soxr: every /pict2audio/play sample mixed in at its onset, one WAV.

Each voice's sample sounds from its onset at unity gain until it ends or its voice is cut (a new play
under the same stroke id, `/pict2audio/voice/stop`, or `/pict2audio/clear`), with a short fade-out,
as local playback does; overlapping voices add up. Files are decoded once, mixed down to mono, or
kept as stereo when any used sample is stereo (mono samples then go to both channels), and resampled
to one rate with soxr. The mix is scaled down only if its peak would exceed full scale (to
PEAK_CEILING_DBFS); otherwise it is written untouched. The WAV is written atomically
(bridge.adapters.atomic_write).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bridge.adapters.atomic_write import write_atomically
from bridge.core.errors import BridgeError
from bridge.core.protocol import ADDRESSES, Bundle

log = logging.getLogger(__name__)

PLAY_ADDRESS = ADDRESSES["play"].path
STOP_ADDRESS = ADDRESSES["voice_stop"].path
CLEAR_ADDRESS = ADDRESSES["clear"].path
CUT_FADE_MS = 10.0  # the fade-out of a voice that is cut
DEFAULT_RATE_HZ = 44100
PEAK_CEILING_DBFS = -0.1  # where a mix that would clip is normalised to
SUBTYPES = {"pcm16": "PCM_16", "float": "FLOAT"}


@dataclass(frozen=True)
class Onset:
    """One sample to mix: its file, its time in ms from the start of the bounce and, if its voice is cut
    before the sample ends, when (None: it sounds in full)."""

    t_ms: float
    path: str
    cut_ms: float | None = None


@dataclass(frozen=True)
class RenderReport:
    """What was written: duration, peak (after any gain) and the gain applied (0 dB = untouched)."""

    path: Path
    duration_s: float
    sample_rate_hz: int
    channels: int
    onsets: int
    peak_dbfs: float
    gain_db: float
    render_s: float
    missing: tuple[str, ...] = ()

    def summary(self) -> str:
        gain = "no gain applied" if self.gain_db == 0 else f"normalised by {self.gain_db:+.1f} dB to avoid clipping"
        speed = self.duration_s / self.render_s if self.render_s > 0 else float("inf")
        return (f"{self.path}: {self.duration_s:.2f} s, {self.sample_rate_hz} Hz, "
                f"{'stereo' if self.channels == 2 else 'mono'}, {self.onsets} notes, "
                f"peak {self.peak_dbfs:.1f} dBFS ({gain}), rendered {speed:.0f}x faster than real time")


def play_onsets(bundles: Iterable[tuple[float, Bundle]], *, offset_ms: float = 0.0) -> list[Onset]:
    """The play messages of (t_ms, bundle) pairs as onsets at t_ms + offset_ms, each cut where its voice is."""
    onsets: list[Onset] = []
    sounding: dict[int, int] = {}  # voice id -> index of its onset
    for t_ms, bundle in bundles:
        at_ms = t_ms + offset_ms
        for message in bundle.messages:
            if message.address == PLAY_ADDRESS:
                voice_id = int(message.args[-1])
                _cut(onsets, sounding.pop(voice_id, None), at_ms)
                sounding[voice_id] = len(onsets)
                onsets.append(Onset(at_ms, str(message.args[0])))
            elif message.address == STOP_ADDRESS:
                _cut(onsets, sounding.pop(int(message.args[0]), None), at_ms)
            elif message.address == CLEAR_ADDRESS:
                for index in sounding.values():
                    _cut(onsets, index, at_ms)
                sounding.clear()
    return onsets


def _cut(onsets: list[Onset], index: int | None, at_ms: float) -> None:
    if index is not None:
        onsets[index] = replace(onsets[index], cut_ms=at_ms)


def load_sample(path: str, *, sample_rate_hz: int) -> np.ndarray:
    """A file as float32 of shape (frames, channels) at `sample_rate_hz`; channels 1 or 2."""
    import soundfile
    import soxr

    try:
        audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as exc:
        raise BridgeError(f"sample {path} cannot be read ({exc})") from exc
    if audio.shape[1] > 2:
        audio = audio.mean(axis=1, keepdims=True)
    if rate != sample_rate_hz and len(audio):
        audio = soxr.resample(audio, rate, sample_rate_hz, quality="HQ").astype(np.float32, copy=False)
    return audio


def mix(onsets: Sequence[Onset], *, sample_rate_hz: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Mix every onset's sample at its position; returns (float32 (frames, channels), unreadable paths)."""
    cache: dict[str, np.ndarray] = {}
    missing: list[str] = []
    for path in dict.fromkeys(o.path for o in onsets):
        try:
            cache[path] = load_sample(path, sample_rate_hz=sample_rate_hz)
        except BridgeError as exc:
            log.warning("%s: left out of the bounce", exc)
            missing.append(path)
    channels = max((a.shape[1] for a in cache.values()), default=1)
    placed = [(round(o.t_ms * sample_rate_hz / 1000.0), _until_cut(cache[o.path], o, sample_rate_hz))
              for o in onsets if o.path in cache]
    frames = max((start + len(audio) for start, audio in placed), default=0)
    out = np.zeros((frames, channels), dtype=np.float64)  # float64: many overlapping notes add exactly
    for start, audio in placed:
        out[start : start + len(audio)] += audio  # a mono sample broadcasts to both channels
    return out.astype(np.float32), tuple(missing)


def _until_cut(audio: np.ndarray, onset: Onset, sample_rate_hz: int) -> np.ndarray:
    """The part of a sample that sounds before its voice is cut, faded out over CUT_FADE_MS."""
    if onset.cut_ms is None:
        return audio
    fade = round(CUT_FADE_MS * sample_rate_hz / 1000.0)
    end = min(round((onset.cut_ms - onset.t_ms) * sample_rate_hz / 1000.0) + fade, len(audio))
    if end >= len(audio):
        return audio
    out = audio[:end].copy()
    tail = min(fade, end)
    out[end - tail:] *= np.linspace(1.0, 0.0, tail, dtype=np.float32)[:, None]
    return out


def render_wav(
    onsets: Sequence[Onset],
    path: Path,
    *,
    sample_rate_hz: int = DEFAULT_RATE_HZ,
    subtype: str = "pcm16",
) -> RenderReport:
    """Bounce `onsets` to a WAV at `path`; returns the report the command prints."""
    import soundfile

    if subtype not in SUBTYPES:
        raise BridgeError(f"WAV format must be one of {', '.join(SUBTYPES)}, got {subtype!r}")
    started = time.perf_counter()
    audio, missing = mix(onsets, sample_rate_hz=sample_rate_hz)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    gain = 1.0
    if peak > 1.0 or (subtype == "pcm16" and peak > 32767 / 32768):
        gain = 10 ** (PEAK_CEILING_DBFS / 20) / peak
        audio *= np.float32(gain)
        peak *= gain
    path = Path(path)
    write_atomically(path, lambda handle: soundfile.write(handle, audio, sample_rate_hz,
                                                          subtype=SUBTYPES[subtype], format="WAV"))
    return RenderReport(
        path=path,
        duration_s=len(audio) / sample_rate_hz,
        sample_rate_hz=sample_rate_hz,
        channels=audio.shape[1],
        onsets=len(onsets) - sum(1 for o in onsets if o.path in missing),
        peak_dbfs=20 * np.log10(peak) if peak > 0 else float("-inf"),
        gain_db=0.0 if gain == 1.0 else 20 * float(np.log10(gain)),
        render_s=time.perf_counter() - started,
        missing=missing,
    )
