"""THE sound preprocessing (numpy + soxr + soundfile), shared by training and indexing.

`prepare(audio, sample_rate_hz=...)` turns any audio into `SoundFeatures`: level descriptors measured
on the audio as it is, then mono, resampled to 16 kHz, leading silence trimmed, a fixed-length log-mel
spectrogram for the CNN, a YIN f0 estimate for the DSP pitch and the evidence whether the sound has a
pitch at all (bridge.adapters.pitchedness). `features_for_file(path)` does the same for a file read with
soundfile and raises `UnusableAudio` (with a short reason) for files that cannot be used.

Both go through one streaming analysis, so memory stays bounded whatever the file's length: the audio is
decoded block by block, the level descriptors are accumulated and the mono mix is resampled as a stream
(soxr's stream gives the very samples its one-shot call gives). The 16 kHz mono audio is kept while it is
short (RETAIN_SECONDS); a longer file is read a second time, only up to the seconds the labels need after
its leading silence (the silence threshold depends on the whole file's peak, known after the first pass).

The spectrogram and YIN are computed here with numpy and scipy.fft (a precomputed mel filterbank, frames
as one matrix, YIN only on the frames that vote), reproducing librosa 0.11's `stft`/`filters.mel`/`yin`/
`feature.rms` as the models were trained on them (tests/test_sound_features.py compares them).
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from bridge.adapters.pitchedness import PitchEvidence, evidence
from bridge.core.audio_levels import FULL_SCALE, gain_to_db, hz_to_midi
from bridge.core.errors import SoundBankError

log = logging.getLogger(__name__)

# Bump PREPROCESSING_VERSION whenever anything below changes: models trained on another version are refused.
PREPROCESSING_VERSION = "logmel96-16k-2s-v1"
SAMPLE_RATE_HZ = 16_000
CLIP_SECONDS = 2.0
N_FFT = 1024
HOP_LENGTH = 320
N_MELS = 96
FMIN_HZ = 40.0
FMAX_HZ = 8_000.0
N_FRAMES = 1 + int(SAMPLE_RATE_HZ * CLIP_SECONDS) // HOP_LENGTH
INPUT_SHAPE: tuple[int, int, int] = (N_MELS, N_FRAMES, 1)
DB_FLOOR = -100.0  # log-mel floor in dB re a full-scale sine
DB_PER_UNIT = 50.0  # the log-mel is in dB divided by this
LOG_MEL_FLOOR = DB_FLOOR / DB_PER_UNIT  # the log-mel of silence: -2
TRIM_BELOW_PEAK_DB = 40.0  # leading audio quieter than this (re the peak) is dropped
TRIM_KEEP_S = 0.01  # audio kept before the first sample above the trim threshold
SILENT_BELOW_DBFS = -90.0  # a file whose peak is below this is "silent"
LOUDEST_DBFS = 120.0  # float samples above 10**6 x full scale are broken data (and overflow the spectrogram)
YIN_FMIN_HZ = 32.0
YIN_FMAX_HZ = 4_000.0
YIN_FRAME = 1024
YIN_HOP = YIN_FRAME // 4
YIN_SECONDS = 1.0  # f0 is estimated on the first second after the attack
YIN_SKIP_SECONDS = 0.05
YIN_TOP_DB = 25.0  # frames more than this below the loudest frame are not used for f0
YIN_TROUGH_THRESHOLD = 0.1  # YIN's absolute threshold (librosa's default)
RESAMPLE_QUALITY = "HQ"  # soxr's quality: what librosa.resample(res_type="soxr_hq") used for training

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".wav", ".wave", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".aifc")

READ_BLOCK_SAMPLES = 1 << 20  # decoded at a time (4 MiB of float32): memory follows the block, not the file
RETAIN_SECONDS = 60.0  # 16 kHz mono kept in the first pass (3.8 MB); a longer file is read twice
HEAD_SAMPLES = int(SAMPLE_RATE_HZ * max(CLIP_SECONDS, YIN_SKIP_SECONDS + YIN_SECONDS))  # what the labels use


class UnusableAudio(SoundBankError):
    """A file that cannot be labelled; `reason` is a short phrase for the skip summary. `retry` is True
    when the file system refused the file (permissions, I/O error) rather than its content being bad:
    the index tries such a file again on its next run instead of remembering it as bad."""

    def __init__(self, path: str, reason: str, *, retry: bool = False) -> None:
        self.path = path
        self.reason = reason
        self.retry = retry
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class SoundFeatures:
    """What the labellers need of one sound.

    log_mel: (N_MELS, N_FRAMES) float32, dB re a full-scale sine scaled by 1/50 (0 dB -> 0, floor -> -2).
    f0_hz / midi_note: YIN estimate (None when no f0 was found); pitch_stability: the winning pitch
    class's share of the frames' (RMS-weighted) votes.
    pitch_evidence: what `bridge.adapters.pitchedness` measured (None where a caller built the features
    without it); `pitched` is its verdict (None without evidence).
    """

    log_mel: np.ndarray
    f0_hz: float | None
    midi_note: float | None
    pitch_stability: float
    rms_dbfs: float
    peak_dbfs: float
    clip_fraction: float
    clipped_samples: int
    duration_s: float
    pitch_evidence: PitchEvidence | None = None

    @property
    def pitched(self) -> bool | None:
        return None if self.pitch_evidence is None else self.pitch_evidence.pitched

    def descriptors(self) -> dict[str, object]:
        out: dict[str, object] = {
            "f0_hz": None if self.f0_hz is None else round(self.f0_hz, 3),
            "midi_note": None if self.midi_note is None else round(self.midi_note, 3),
            "pitch_stability": round(self.pitch_stability, 4),
            "rms_dbfs": round(self.rms_dbfs, 3),
            "peak_dbfs": round(self.peak_dbfs, 3),
            "clip_fraction": round(self.clip_fraction, 6),
            "clipped_samples": self.clipped_samples,
            "duration_s": round(self.duration_s, 4),
        }
        if self.pitch_evidence is not None:
            out["pitched"] = self.pitch_evidence.pitched
            out["pitch_evidence"] = self.pitch_evidence.record()
        return out


# --- reading: blocks of a file or of an array ---------------------------------------------------------

_TRUNCATED_CHUNK = re.compile(r"^\s*(data|SSND)\s*:\s*(\d+)\s*\(should be\s*(\d+)\)", re.MULTILINE)
_STREAMING_SIZES = {0, 0xFFFFFFFF, 0x7FFFFFFF}

Blocks = Callable[[], Iterator[np.ndarray]]  # opens the sound (again): (frames, channels) float32 blocks


def file_blocks(path: str | os.PathLike) -> tuple[Blocks, int]:
    """(a function that decodes the file block by block, its sample rate). UnusableAudio for bad files.

    The file is opened by Python (so any file name works, UTF-8 or not, and an OS error such as a
    permission denied is told apart from bad content: `retry` is set) and decoded READ_BLOCK_SAMPLES at
    a time, whatever the header claims, so a header that claims more audio than the file holds costs no
    memory. The blocks end with an UnusableAudio when the file is shorter than its header says or empty.
    """
    path = os.fspath(path)
    with _open_sound(path) as sound:
        rate = int(sound.samplerate)

    def blocks() -> Iterator[np.ndarray]:
        with _open_sound(path) as sound:
            yield from _checked_blocks(sound, path)

    return blocks, rate


@contextmanager
def _open_sound(path: str) -> Iterator:
    """An open soundfile.SoundFile of path; soundfile's and the OS's errors (opening or reading) become
    UnusableAudio."""
    import soundfile as sf

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise UnusableAudio(path, f"unreadable ({exc.strerror or exc})", retry=True) from exc
    try:
        if os.fstat(fd).st_size == 0:
            raise UnusableAudio(path, "empty file (0 bytes)")
        with sf.SoundFile(fd, closefd=False) as sound:
            yield sound
    except UnusableAudio:
        raise
    except sf.LibsndfileError as exc:
        text = exc.error_string
        reason = "not an audio file soundfile can read" if "not recognised" in text else f"unreadable ({text})"
        raise UnusableAudio(path, reason) from exc
    except OSError as exc:
        raise UnusableAudio(path, f"unreadable ({exc.strerror or exc})", retry=True) from exc
    except (RuntimeError, ValueError) as exc:
        raise UnusableAudio(path, f"unreadable ({exc})") from exc
    finally:
        os.close(fd)


def _checked_blocks(sound, path: str) -> Iterator[np.ndarray]:
    """Every frame of an open soundfile.SoundFile, READ_BLOCK_SAMPLES at a time; then the checks that
    need the whole file read (truncated, no frames)."""
    declared_frames, extra_info = sound.frames, sound.extra_info
    frames_per_block = max(1, READ_BLOCK_SAMPLES // max(sound.channels, 1))
    total = 0
    while True:
        block = sound.read(frames_per_block, dtype="float32", always_2d=True)
        if block.shape[0] == 0:
            break
        total += block.shape[0]
        yield block
    match = _TRUNCATED_CHUNK.search(extra_info or "")
    declared_larger = match and int(match[2]) > int(match[3]) and int(match[2]) not in _STREAMING_SIZES
    if declared_larger or (declared_frames > 0 and total < declared_frames):
        raise UnusableAudio(path, "truncated (the file is shorter than its header says)")
    if total == 0:
        raise UnusableAudio(path, "empty audio (0 frames)")


def array_blocks(audio: np.ndarray) -> Blocks:
    """The blocks of audio already in memory ((frames,) or (frames, channels)): the array as one block."""
    block = np.asarray(audio, dtype=np.float32)
    block = block[:, None] if block.ndim == 1 else block

    def blocks() -> Iterator[np.ndarray]:
        if block.shape[0]:
            yield block

    return blocks


# --- the first pass: levels and the 16 kHz mono stream ------------------------------------------------

class _LevelDescriptors(TypedDict):
    """The SoundFeatures fields the first pass measures."""

    rms_dbfs: float
    peak_dbfs: float
    clip_fraction: float
    clipped_samples: int


class _Levels:
    """RMS and peak in dBFS and clipping, accumulated block by block: the figures of
    bridge.core.audio_levels.level_descriptors on the whole audio (sums in float64)."""

    def __init__(self) -> None:
        self.frames = 0
        self.samples = 0
        self.sum_squares = 0.0
        self.peak = 0.0
        self.clipped = 0
        self.non_finite = 0

    def add(self, block: np.ndarray) -> bool:
        """Count one (frames, channels) block; False when it holds NaN or infinite samples."""
        self.frames += block.shape[0]
        self.samples += block.size
        finite = np.isfinite(block)
        if not finite.all():
            self.non_finite += block.size - int(np.count_nonzero(finite))
        if self.non_finite:
            return False
        peak = max(float(block.max()), -float(block.min()))
        self.peak = max(self.peak, peak)
        if peak >= FULL_SCALE:  # only then can a frame be clipped
            self.clipped += int(np.count_nonzero((np.abs(block) >= FULL_SCALE).any(axis=1)))
        self.sum_squares += float(np.sum(np.square(block, dtype=np.float64)))
        return True

    @property
    def peak_dbfs(self) -> float:
        return float(gain_to_db(self.peak))

    def descriptors(self) -> _LevelDescriptors:
        rms = math.sqrt(self.sum_squares / self.samples) if self.samples else 0.0
        return {
            "rms_dbfs": float(gain_to_db(rms)),
            "peak_dbfs": self.peak_dbfs,
            "clip_fraction": self.clipped / self.frames if self.frames else 0.0,
            "clipped_samples": self.clipped,
        }


def mono_mix(block: np.ndarray) -> np.ndarray:
    """(frames,) float32 contiguous: the mean of the channels of a (frames, channels) float32 block, equal to
    block.mean(axis=1) (one or two channels without numpy's slow per-row reduction; the halving is exact)."""
    if block.shape[1] == 1:
        return np.ascontiguousarray(block[:, 0])
    if block.shape[1] == 2:
        mono = block[:, 0] + block[:, 1]
        mono *= np.float32(0.5)
        return mono
    return np.ascontiguousarray(block.mean(axis=1), dtype=np.float32)


class _Mono16k:
    """The mono mix (channel mean) resampled to 16 kHz as a stream: soxr HQ, the length then fixed to
    ceil(frames x 16000 / rate) (zero-padded or cut), as librosa.resample(res_type="soxr_hq") makes it."""

    def __init__(self, rate: int) -> None:
        import soxr

        self.rate = rate
        self.stream = None if rate == SAMPLE_RATE_HZ else soxr.ResampleStream(
            rate, SAMPLE_RATE_HZ, 1, dtype="float32", quality=RESAMPLE_QUALITY)
        self.frames_in = 0
        self.samples_out = 0

    def push(self, block: np.ndarray) -> np.ndarray:
        self.frames_in += block.shape[0]
        mono = mono_mix(block)
        return self._out(mono if self.stream is None else self.stream.resample_chunk(mono, last=False))

    def finish(self) -> np.ndarray:
        if self.stream is None:
            return np.zeros(0, np.float32)
        tail = self.stream.resample_chunk(np.zeros(0, np.float32), last=True)
        wanted = int(np.ceil(self.frames_in * (float(SAMPLE_RATE_HZ) / self.rate)))
        tail = self._out(tail)
        missing = wanted - self.samples_out
        if missing > 0:
            self.samples_out += missing
            return np.concatenate([tail, np.zeros(missing, np.float32)])
        return tail

    def _out(self, chunk: np.ndarray) -> np.ndarray:
        if self.stream is not None:  # the fixed length: cut what soxr gives beyond it
            room = int(np.ceil(self.frames_in * (float(SAMPLE_RATE_HZ) / self.rate))) - self.samples_out
            chunk = chunk[: max(room, 0)]
        self.samples_out += chunk.size
        return chunk


@dataclass
class _FirstPass:
    levels: _Levels
    peak_16k: float  # of the 16 kHz mono audio, which the trim threshold follows
    mono_16k: np.ndarray | None  # the whole 16 kHz mono audio, or None when longer than RETAIN_SECONDS


def _first_pass(blocks: Blocks, rate: int) -> _FirstPass:
    levels, mono = _Levels(), _Mono16k(rate)
    kept: list[np.ndarray] = []
    kept_samples, peak, retain = 0, 0.0, int(RETAIN_SECONDS * SAMPLE_RATE_HZ)
    usable = True
    for block in blocks():
        usable = levels.add(block) and usable and levels.peak_dbfs <= LOUDEST_DBFS
        if usable:
            peak, kept_samples = _keep(mono.push(block), kept, kept_samples, peak, retain)
    if usable:
        peak, kept_samples = _keep(mono.finish(), kept, kept_samples, peak, retain)
    whole = None
    if kept_samples <= retain:
        whole = np.concatenate(kept) if len(kept) > 1 else (kept[0] if kept else np.zeros(0, np.float32))
    return _FirstPass(levels, peak, whole)


def _keep(chunk: np.ndarray, kept: list[np.ndarray], kept_samples: int, peak: float,
          retain: int) -> tuple[float, int]:
    if chunk.size:
        peak = max(peak, float(np.abs(chunk).max()))
        kept_samples += chunk.size
        if kept_samples <= retain:
            kept.append(chunk)
        else:
            kept.clear()
    return peak, kept_samples


def _trim_threshold(peak: float) -> float:
    return peak * 10 ** (-TRIM_BELOW_PEAK_DB / 20)


def _trim_leading_silence(mono: np.ndarray, peak: float) -> np.ndarray:
    """mono from TRIM_KEEP_S before its first sample within TRIM_BELOW_PEAK_DB of the peak."""
    start = int(np.argmax(np.abs(mono) >= _trim_threshold(peak)))
    return mono[max(0, start - int(TRIM_KEEP_S * SAMPLE_RATE_HZ)) :]


def _head_after_silence(blocks: Blocks, rate: int, peak: float) -> np.ndarray:
    """The second pass over a long sound: its 16 kHz mono audio from where `_trim_leading_silence` starts
    it, HEAD_SAMPLES long (or up to its end); decoding stops there."""
    threshold, before = _trim_threshold(peak), int(TRIM_KEEP_S * SAMPLE_RATE_HZ)
    mono = _Mono16k(rate)
    previous = np.zeros(0, np.float32)  # the last `before` samples ahead of the current chunk
    head: list[np.ndarray] = []
    got = 0

    def chunks() -> Generator[np.ndarray, None, None]:
        for block in blocks():
            yield mono.push(block)
        yield mono.finish()

    stream = chunks()
    for chunk in stream:
        if head:
            head.append(chunk)
            got += chunk.size
        else:
            above = np.flatnonzero(np.abs(chunk) >= threshold)
            if not above.size:
                previous = np.concatenate([previous, chunk])[-before:]
                continue
            start = int(above[0])
            lead = previous[max(0, previous.size - max(0, before - start)):]
            head = [lead, chunk[max(0, start - before):]]
            got = sum(part.size for part in head)
        if got >= HEAD_SAMPLES:
            stream.close()  # stops decoding (and closes the file)
            break
    return np.concatenate(head)[:HEAD_SAMPLES] if head else np.zeros(0, np.float32)


# --- the labels' inputs: log-mel and YIN ----------------------------------------------------------------

def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, htk=False): linear below 1 kHz, logarithmic above."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    mels = hz / f_sp
    log_part = hz >= min_log_hz
    mels[log_part] = min_log_mel + np.log(hz[log_part] / min_log_hz) / logstep
    return mels


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    hz = f_sp * mels
    log_part = mels >= min_log_mel
    hz[log_part] = min_log_hz * np.exp(logstep * (mels[log_part] - min_log_mel))
    return hz


def mel_filterbank() -> np.ndarray:
    """(N_MELS, 1 + N_FFT // 2) float32 triangular filters on the Slaney mel scale, unnormalised: the
    matrix librosa.filters.mel(sr=16000, n_fft=1024, n_mels=96, fmin=40, fmax=8000, norm=None) gives."""
    fft_hz = np.fft.rfftfreq(n=N_FFT, d=1.0 / SAMPLE_RATE_HZ)
    edges = _mel_to_hz(np.linspace(hz_to_mel(np.array([FMIN_HZ]))[0], hz_to_mel(np.array([FMAX_HZ]))[0],
                                   N_MELS + 2))
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, fft_hz)
    weights = np.zeros((N_MELS, fft_hz.size), dtype=np.float32)
    for i in range(N_MELS):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / widths[i], ramps[i + 2] / widths[i + 1]))
    return weights


def hann_window(length: int) -> np.ndarray:
    """The periodic Hann window of scipy.signal.get_window('hann', length) (float64, same arithmetic)."""
    return (0.5 + 0.5 * np.cos(np.linspace(-np.pi, np.pi, length + 1)))[:length]


class _Tables:
    """Constants computed once per process: the mel filterbank and the STFT window."""

    _mel: np.ndarray | None = None
    _window: np.ndarray | None = None

    @classmethod
    def mel(cls) -> np.ndarray:
        if cls._mel is None:
            cls._mel = mel_filterbank()
        return cls._mel

    @classmethod
    def window(cls) -> np.ndarray:
        if cls._window is None:
            cls._window = hann_window(N_FFT)
        return cls._window


def _frames(signal: np.ndarray, length: int, hop: int) -> np.ndarray:
    """(n_frames, length) read-only view of signal zero-padded by length // 2 on each side (centred frames)."""
    padded = np.zeros(signal.size + length - length % 2, dtype=signal.dtype)
    padded[length // 2 : length // 2 + signal.size] = signal
    count = 1 + (padded.size - length) // hop
    return np.lib.stride_tricks.as_strided(padded, shape=(count, length), strides=(hop * padded.itemsize,
                                                                                   padded.itemsize), writeable=False)


def power_spectrogram(clip: np.ndarray) -> np.ndarray:
    """(N_FRAMES, 1 + N_FFT // 2) float32 |STFT|^2 of a (CLIP_SECONDS * 16 kHz,) clip (Hann, centred,
    zero-padded; computed in float64 and rounded to complex64 as librosa.stft does), scaled so a
    full-scale sine peaks at 1 (0 dB)."""
    import scipy.fft  # librosa's FFT library: the same numbers

    spectrum = scipy.fft.rfft(_frames(clip, N_FFT, HOP_LENGTH) * _Tables.window(), axis=-1).astype(np.complex64)
    power = np.abs(spectrum) ** 2
    power /= (N_FFT / 4) ** 2
    return power


def log_mel(power: np.ndarray) -> np.ndarray:
    """A power spectrogram (N_FRAMES, bins) -> (N_MELS, N_FRAMES) float32 log-mel: dB re a full-scale sine
    (floored at DB_FLOOR), divided by DB_PER_UNIT."""
    mel = _Tables.mel() @ power.T
    db = 10.0 * np.log10(np.maximum(mel, 10 ** (DB_FLOOR / 10)))
    return (db / DB_PER_UNIT).astype(np.float32)


@dataclass(frozen=True)
class PitchTrack:
    """YIN over the first second after the attack, on the frames that vote (within YIN_TOP_DB of the
    loudest): f0 in Hz, RMS and YIN's normalised difference at the chosen period (aperiodicity)."""

    f0_hz: np.ndarray
    rms: np.ndarray
    aperiodicity: np.ndarray


def yin_segment(mono: np.ndarray) -> np.ndarray:
    """The part of a note YIN reads: YIN_SECONDS from YIN_SKIP_SECONDS in (past the attack), else the start,
    padded to two frames at least."""
    start = int(YIN_SKIP_SECONDS * SAMPLE_RATE_HZ)
    seg = mono[start : start + int(YIN_SECONDS * SAMPLE_RATE_HZ)]
    if seg.size < YIN_FRAME * 2:
        seg = mono[: int(YIN_SECONDS * SAMPLE_RATE_HZ)]
    if seg.size < YIN_FRAME * 2:
        seg = np.pad(seg, (0, YIN_FRAME * 2 - seg.size))
    return seg


def pitch_track(mono: np.ndarray) -> PitchTrack:
    """librosa.yin (fmin 32 Hz, fmax 4 kHz, frame 1024, hop 256, threshold 0.1) and librosa.feature.rms
    over the same centred frames, computed only on the frames loud enough to vote."""
    frames = _frames(yin_segment(mono), YIN_FRAME, YIN_HOP)
    rms = np.sqrt(np.mean(np.square(frames), axis=-1))
    rms_db = 20 * np.log10(np.maximum(rms, 1e-9))
    loud = rms_db >= rms_db.max() - YIN_TOP_DB
    frames = frames[loud]
    min_period = int(np.floor(SAMPLE_RATE_HZ / YIN_FMAX_HZ))
    max_period = min(int(np.ceil(SAMPLE_RATE_HZ / YIN_FMIN_HZ)), YIN_FRAME - 1)
    cmnd = _cumulative_mean_normalized_difference(frames, min_period, max_period)
    lag = _yin_lag(cmnd)
    rows = np.arange(cmnd.shape[0])
    period = min_period + lag + _parabolic_shift(cmnd, lag)
    return PitchTrack(SAMPLE_RATE_HZ / period, rms[loud], cmnd[rows, lag])


def _cumulative_mean_normalized_difference(frames: np.ndarray, min_period: int, max_period: int) -> np.ndarray:
    """(n, max_period - min_period + 1) float64: YIN's d'(tau) per frame (librosa's arithmetic and dtypes)."""
    import scipy.fft  # librosa's FFT library: the same numbers

    n_fft = 2 * YIN_FRAME  # scipy.fft.next_fast_len(2 * YIN_FRAME - 1)
    spectrum = scipy.fft.rfft(frames, n=n_fft, axis=-1)
    acf = scipy.fft.irfft(spectrum.real ** 2 + spectrum.imag ** 2, n=n_fft, axis=-1)[:, : max_period + 1]
    energy = np.cumsum(np.square(frames[:, :max_period]), axis=-1)  # the prefix sums the difference uses
    energy[:, 0] = 0  # librosa zeroes d(0) in the energy array before subtracting it
    diff = np.empty((frames.shape[0], max_period + 1), dtype=energy.dtype)
    diff[:, 0] = 0
    diff[:, 1:] = 2 * (acf[:, :1] - acf[:, 1:]) - energy[:, :max_period]
    lags = np.arange(1, max_period + 1)
    mean = np.cumsum(diff[:, 1:], axis=-1) / lags
    denominator = mean[:, min_period - 1 : max_period]
    return diff[:, min_period:] / (denominator + np.finfo(denominator.dtype).tiny)


def _yin_lag(cmnd: np.ndarray) -> np.ndarray:
    """Per frame: the first local minimum below the threshold, else the global minimum (index into cmnd)."""
    trough = np.zeros(cmnd.shape, dtype=bool)
    trough[:, 1:-1] = (cmnd[:, 1:-1] < cmnd[:, :-2]) & (cmnd[:, 1:-1] <= cmnd[:, 2:])
    trough[:, -1] = cmnd[:, -1] < cmnd[:, -2]
    trough[:, 0] = cmnd[:, 0] < cmnd[:, 1]
    below = trough & (cmnd < YIN_TROUGH_THRESHOLD)
    return np.where(below.any(axis=1), np.argmax(below, axis=1), np.argmin(cmnd, axis=1))


def _parabolic_shift(cmnd: np.ndarray, lag: np.ndarray) -> np.ndarray:
    """The parabola's optimum around each chosen lag (0 at the edges and beyond one bin), as librosa's stencil."""
    inner = (lag > 0) & (lag < cmnd.shape[1] - 1)
    rows = np.arange(cmnd.shape[0])
    left = cmnd[rows, np.maximum(lag - 1, 0)]
    mid = cmnd[rows, lag]
    right = cmnd[rows, np.minimum(lag + 1, cmnd.shape[1] - 1)]
    a = right + left - 2 * mid
    b = (right - left) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(np.abs(b) >= np.abs(a), 0.0, -b / a)
    return np.where(inner, shift, 0.0)


def vote_f0(track: PitchTrack) -> tuple[float | None, float]:
    """(f0 in Hz or None, pitch stability 0..1) from a pitch track.

    Each loud frame votes, weighted by its RMS, for its pitch class (nearest semitone folded by octave,
    so YIN's octave jumps do not split the vote); f0 is the median of the frames of the winning class,
    stability the winning class's share of the vote.
    """
    if not track.rms.size or track.rms.sum() <= 0:
        return None, 0.0
    notes = 69.0 + 12.0 * np.log2(track.f0_hz / 440.0)
    classes = np.mod(np.round(notes).astype(np.int64), 12)
    votes = np.bincount(classes, weights=track.rms, minlength=12)
    winner = int(np.argmax(votes))
    median_note = float(np.median(notes[classes == winner]))
    return 440.0 * 2 ** ((median_note - 69.0) / 12.0), float(votes[winner] / votes.sum())


def _fixed_length(mono: np.ndarray) -> np.ndarray:
    n = int(SAMPLE_RATE_HZ * CLIP_SECONDS)
    return mono[:n] if mono.size >= n else np.pad(mono, (0, n - mono.size))


# --- the analysis ---------------------------------------------------------------------------------

def analyse(blocks: Blocks, sample_rate_hz: int) -> SoundFeatures:
    """THE preprocessing of a sound given as blocks (file_blocks or array_blocks); UnusableAudio (naming
    "<audio>") for audio that cannot be labelled."""
    first = _first_pass(blocks, sample_rate_hz)
    levels = first.levels
    if levels.non_finite:
        bad = levels.non_finite
        raise UnusableAudio("<audio>", f"not finite ({bad} NaN or infinite sample{'s' * (bad != 1)}; "
                                       "re-export the file)")
    if levels.peak_dbfs > LOUDEST_DBFS:
        raise UnusableAudio("<audio>", f"not audio (peak {levels.peak_dbfs:+.0f} dBFS; float samples belong "
                                       "near -1.0..1.0: re-export the file)")
    if levels.peak_dbfs < SILENT_BELOW_DBFS or first.peak_16k == 0:
        raise UnusableAudio("<audio>", f"silent (peak {levels.peak_dbfs:.0f} dBFS)")
    if first.mono_16k is not None:
        head = _trim_leading_silence(first.mono_16k, first.peak_16k)
    else:
        head = _head_after_silence(blocks, sample_rate_hz, first.peak_16k)
    track = pitch_track(head)
    f0_hz, stability = vote_f0(track)
    power = power_spectrogram(_fixed_length(head))
    return SoundFeatures(
        log_mel=log_mel(power),
        f0_hz=f0_hz,
        midi_note=None if f0_hz is None else hz_to_midi(f0_hz),
        pitch_stability=stability,
        duration_s=levels.frames / float(sample_rate_hz),
        pitch_evidence=evidence(f0_hz=f0_hz, frame_f0_hz=track.f0_hz, frame_rms=track.rms,
                                frame_aperiodicity=track.aperiodicity, f0_max_hz=YIN_FMAX_HZ, power=power,
                                bin_hz=SAMPLE_RATE_HZ / N_FFT, hop_s=HOP_LENGTH / SAMPLE_RATE_HZ),
        **levels.descriptors(),
    )


def trimmed_mono_16k(audio: np.ndarray, *, sample_rate_hz: int) -> np.ndarray:
    """The 16 kHz mono audio from its leading silence on: what YIN and the spectrogram of `prepare` see."""
    first = _first_pass(array_blocks(audio), sample_rate_hz)
    if first.mono_16k is None:
        return _head_after_silence(array_blocks(audio), sample_rate_hz, first.peak_16k)
    return _trim_leading_silence(first.mono_16k, first.peak_16k)


def prepare(audio: np.ndarray, *, sample_rate_hz: int) -> SoundFeatures:
    """THE preprocessing function. audio: (frames,) or (frames, channels) float, full scale 1.0."""
    return analyse(array_blocks(audio), sample_rate_hz)


def warm_up() -> None:
    """Import soxr and soundfile and compute the tables (once per process): done before forking
    workers, so they start warm. No JIT: nothing here is compiled at run time."""
    t = np.arange(SAMPLE_RATE_HZ // 2) / SAMPLE_RATE_HZ
    prepare(np.sin(2 * np.pi * 440.0 * t).astype(np.float32), sample_rate_hz=SAMPLE_RATE_HZ)
    prepare(np.zeros((441, 1), np.float32) + np.float32(0.1), sample_rate_hz=44_100)
    import soundfile  # noqa: F401


def features_for_file(path: str | os.PathLike) -> SoundFeatures:
    """The preprocessing of a file, decoded block by block; UnusableAudio names the file and the reason."""
    blocks, rate = file_blocks(path)
    try:
        return analyse(blocks, rate)
    except UnusableAudio as exc:
        raise UnusableAudio(os.fspath(path), exc.reason, retry=exc.retry) from None
