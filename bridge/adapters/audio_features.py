"""THE sound preprocessing (librosa + soundfile), shared by training and indexing.

`prepare(audio, sample_rate_hz=...)` turns any audio into `SoundFeatures`: level descriptors measured
on the audio as it is, then mono, resampled to 16 kHz, leading silence trimmed, a fixed-length log-mel
spectrogram for the CNN and a YIN f0 estimate for the DSP pitch. `features_for_file(path)` reads a
file with soundfile first and raises `UnusableAudio` (with a short reason) for files that cannot be used.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

import numpy as np

from bridge.core.audio_levels import hz_to_midi, level_descriptors
from bridge.errors import SoundBankError

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
TRIM_BELOW_PEAK_DB = 40.0  # leading audio quieter than this (re the peak) is dropped
SILENT_BELOW_DBFS = -90.0  # a file whose peak is below this is "silent"
LOUDEST_DBFS = 120.0  # float samples above 10**6 x full scale are broken data (and overflow the spectrogram)
YIN_FMIN_HZ = 32.0
YIN_FMAX_HZ = 4_000.0
YIN_FRAME = 1024
YIN_SECONDS = 1.0  # f0 is estimated on the first second after the attack
YIN_SKIP_SECONDS = 0.05
YIN_TOP_DB = 25.0  # frames more than this below the loudest frame are not used for f0

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".wav", ".wave", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".aifc")


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

    def descriptors(self) -> dict[str, float | None]:
        return {
            "f0_hz": None if self.f0_hz is None else round(self.f0_hz, 3),
            "midi_note": None if self.midi_note is None else round(self.midi_note, 3),
            "pitch_stability": round(self.pitch_stability, 4),
            "rms_dbfs": round(self.rms_dbfs, 3),
            "peak_dbfs": round(self.peak_dbfs, 3),
            "clip_fraction": round(self.clip_fraction, 6),
            "clipped_samples": self.clipped_samples,
            "duration_s": round(self.duration_s, 4),
        }


_TRUNCATED_CHUNK = re.compile(r"^\s*(data|SSND)\s*:\s*(\d+)\s*\(should be\s*(\d+)\)", re.MULTILINE)
_STREAMING_SIZES = {0, 0xFFFFFFFF, 0x7FFFFFFF}
READ_BLOCK_SAMPLES = 1 << 20  # decoded at a time (4 MiB): memory follows the audio really in the file
MAX_DECODED_SAMPLES = 1 << 26  # 256 MiB of float32 (11.6 min of 48 kHz stereo): longer files are refused


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """(frames, channels) float32 at the file's own rate; UnusableAudio for bad files.

    The file is opened by Python (so any file name works, UTF-8 or not, and an OS error such as a
    permission denied is told apart from bad content: `retry` is set) and decoded block by block, so a
    header that claims more audio than the file holds costs no memory.
    """
    import soundfile as sf

    path = os.fspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise UnusableAudio(path, f"unreadable ({exc.strerror or exc})", retry=True) from exc
    try:
        if os.fstat(fd).st_size == 0:
            raise UnusableAudio(path, "empty file (0 bytes)")
        with sf.SoundFile(fd, closefd=False) as sound:
            declared_frames, rate, extra_info = sound.frames, sound.samplerate, sound.extra_info
            audio = _read_blocks(sound, path)
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
    match = _TRUNCATED_CHUNK.search(extra_info or "")
    declared_larger = match and int(match[2]) > int(match[3]) and int(match[2]) not in _STREAMING_SIZES
    if declared_larger or (declared_frames > 0 and audio.shape[0] < declared_frames):
        raise UnusableAudio(path, "truncated (the file is shorter than its header says)")
    if audio.shape[0] == 0:
        raise UnusableAudio(path, "empty audio (0 frames)")
    return audio, int(rate)


def _read_blocks(sound, path: str) -> np.ndarray:
    """Every frame of an open soundfile.SoundFile, decoded READ_BLOCK_SAMPLES at a time (whatever the
    header claims: frames or channels), up to MAX_DECODED_SAMPLES; one block is returned as it is."""
    blocks: list[np.ndarray] = []
    total = 0
    frames_per_block = max(1, READ_BLOCK_SAMPLES // max(sound.channels, 1))
    while True:
        block = sound.read(frames_per_block, dtype="float32", always_2d=True)
        if block.shape[0] == 0:
            break
        blocks.append(block)
        total += block.size
        if total > MAX_DECODED_SAMPLES:
            raise UnusableAudio(path, f"too long (over {MAX_DECODED_SAMPLES // 2**20} M samples decoded, "
                                      "e.g. 11 min of 48 kHz stereo; cut out the part to be played)")
    if not blocks:
        return np.zeros((0, sound.channels), np.float32)
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


def _to_mono_16k(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    import librosa

    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    if sample_rate_hz != SAMPLE_RATE_HZ:
        mono = librosa.resample(mono, orig_sr=sample_rate_hz, target_sr=SAMPLE_RATE_HZ, res_type="soxr_hq")
    return mono


def _trim_leading_silence(mono: np.ndarray) -> np.ndarray:
    mags = np.abs(mono)
    threshold = mags.max() * 10 ** (-TRIM_BELOW_PEAK_DB / 20)
    start = int(np.argmax(mags >= threshold))
    return mono[max(0, start - int(0.01 * SAMPLE_RATE_HZ)) :]


def _fixed_length(mono: np.ndarray) -> np.ndarray:
    n = int(SAMPLE_RATE_HZ * CLIP_SECONDS)
    return mono[:n] if mono.size >= n else np.pad(mono, (0, n - mono.size))


_MEL_BASIS: np.ndarray | None = None


def log_mel(clip: np.ndarray) -> np.ndarray:
    """(CLIP_SECONDS * 16 kHz,) float32 -> (N_MELS, N_FRAMES) float32 scaled log-mel."""
    global _MEL_BASIS
    import librosa

    if _MEL_BASIS is None:
        _MEL_BASIS = librosa.filters.mel(
            sr=SAMPLE_RATE_HZ, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN_HZ, fmax=FMAX_HZ, norm=None
        ).astype(np.float32)
    spec = np.abs(librosa.stft(clip, n_fft=N_FFT, hop_length=HOP_LENGTH, window="hann", center=True)) ** 2
    spec /= (N_FFT / 4) ** 2  # a full-scale sine peaks at 0 dB
    mel = _MEL_BASIS @ spec
    db = 10.0 * np.log10(np.maximum(mel, 10 ** (DB_FLOOR / 10)))
    return (db / 50.0).astype(np.float32)


def estimate_f0(mono: np.ndarray) -> tuple[float | None, float]:
    """YIN f0 over the first second after the attack -> (f0 in Hz or None, pitch stability 0..1).

    Each loud frame votes, weighted by its RMS, for its pitch class (nearest semitone folded by octave,
    so YIN's octave jumps do not split the vote); f0 is the median of the frames of the winning class,
    stability the winning class's share of the vote.
    """
    import librosa

    start = int(YIN_SKIP_SECONDS * SAMPLE_RATE_HZ)
    seg = mono[start : start + int(YIN_SECONDS * SAMPLE_RATE_HZ)]
    if seg.size < YIN_FRAME * 2:
        seg = mono[: int(YIN_SECONDS * SAMPLE_RATE_HZ)]
    if seg.size < YIN_FRAME * 2:
        seg = np.pad(seg, (0, YIN_FRAME * 2 - seg.size))
    hop = YIN_FRAME // 4
    f0 = librosa.yin(
        seg, fmin=YIN_FMIN_HZ, fmax=YIN_FMAX_HZ, sr=SAMPLE_RATE_HZ, frame_length=YIN_FRAME, hop_length=hop
    )
    rms = librosa.feature.rms(y=seg, frame_length=YIN_FRAME, hop_length=hop)[0]
    n = min(f0.size, rms.size)
    f0, rms = f0[:n], rms[:n]
    rms_db = 20 * np.log10(np.maximum(rms, 1e-9))
    keep = (rms_db >= rms_db.max() - YIN_TOP_DB) & np.isfinite(f0) & (f0 > 0)
    if not keep.any() or rms[keep].sum() <= 0:
        return None, 0.0
    notes = 69.0 + 12.0 * np.log2(f0[keep] / 440.0)
    classes = np.mod(np.round(notes).astype(np.int64), 12)
    votes = np.bincount(classes, weights=rms[keep], minlength=12)
    winner = int(np.argmax(votes))
    median_note = float(np.median(notes[classes == winner]))
    return 440.0 * 2 ** ((median_note - 69.0) / 12.0), float(votes[winner] / votes.sum())


def _require_finite(audio: np.ndarray) -> None:
    """NaN or infinite samples (possible in float WAV/AIFF files) would poison every feature: refused."""
    finite = np.isfinite(audio)
    if not finite.all():
        bad = audio.size - int(np.count_nonzero(finite))
        raise UnusableAudio("<audio>", f"not finite ({bad} NaN or infinite sample{'s' * (bad != 1)}; "
                                       "re-export the file)")


def prepare(audio: np.ndarray, *, sample_rate_hz: int) -> SoundFeatures:
    """THE preprocessing function. audio: (frames,) or (frames, channels) float, full scale 1.0."""
    audio = np.asarray(audio, dtype=np.float32)
    _require_finite(audio)
    levels = level_descriptors(audio)
    if levels["peak_dbfs"] > LOUDEST_DBFS:
        raise UnusableAudio("<audio>", f"not audio (peak {levels['peak_dbfs']:+.0f} dBFS; float samples belong "
                                       "near -1.0..1.0: re-export the file)")
    duration_s = audio.shape[0] / float(sample_rate_hz)
    mono = _to_mono_16k(audio, sample_rate_hz)
    if levels["peak_dbfs"] < SILENT_BELOW_DBFS or not np.any(mono):
        raise UnusableAudio("<audio>", f"silent (peak {levels['peak_dbfs']:.0f} dBFS)")
    mono = _trim_leading_silence(mono)
    f0_hz, stability = estimate_f0(mono)
    return SoundFeatures(
        log_mel=log_mel(_fixed_length(mono)),
        f0_hz=f0_hz,
        midi_note=None if f0_hz is None else hz_to_midi(f0_hz),
        pitch_stability=stability,
        duration_s=duration_s,
        **levels,
    )


def warm_up() -> None:
    """Load librosa's lazily imported parts and numba caches (slow, once per process): done before
    forking workers, so they start warm."""
    t = np.arange(SAMPLE_RATE_HZ // 2) / SAMPLE_RATE_HZ
    prepare(np.sin(2 * np.pi * 440.0 * t).astype(np.float32), sample_rate_hz=SAMPLE_RATE_HZ)
    _to_mono_16k(np.zeros((441, 1), np.float32), 44_100)


def features_for_file(path: str | os.PathLike) -> SoundFeatures:
    """read_audio + prepare; UnusableAudio names the file and the reason."""
    audio, rate = read_audio(path)
    try:
        return prepare(audio, sample_rate_hz=rate)
    except UnusableAudio as exc:
        raise UnusableAudio(os.fspath(path), exc.reason, retry=exc.retry) from None
