"""Audio files for the sound tests: tones of known pitch and level (as files or bytes), bad files of each kind,
file permissions that hold for root too, the peak memory of an action, and JSON read strictly (no NaN)."""

from __future__ import annotations

import ctypes
import io
import json
import os
import struct
import sys
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from bridge.core.audio_levels import midi_to_hz


def tone(midi_note: float, *, seconds: float = 1.5, rate: int = 16_000, peak_dbfs: float = -6.0,
         harmonics: int = 6, channels: int = 1) -> np.ndarray:
    """A decaying harmonic tone, (frames, channels) float32, peak at peak_dbfs."""
    t = np.arange(int(seconds * rate)) / rate
    f0 = midi_to_hz(midi_note)
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, harmonics + 1) if k * f0 < rate / 2)
    x = x * np.minimum(t / 0.01, 1) * np.exp(-t * 0.8)
    x = x / np.abs(x).max() * 10 ** (peak_dbfs / 20)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def write_tone(path: Path, midi_note: float, **kw) -> Path:
    import soundfile as sf

    fmt_kw = {k: kw.pop(k) for k in ("subtype", "format") if k in kw}
    rate = kw.get("rate", 16_000)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(midi_note, **kw), rate, **fmt_kw)
    return path


def make_bad_files(folder: Path) -> dict[str, str]:
    """One file of each bad kind -> {file name: a word its skip reason must contain}."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.wav").write_bytes(b"")
    (folder / "notes.wav").write_text("this is a text file, not audio\n" * 50)
    sf.write(folder / "silent.wav", np.zeros(16000, np.float32), 16000)
    sf.write(folder / "zero_frames.flac", np.zeros(0, np.float32), 16000)
    good = write_tone(folder / "whole.wav", 72).read_bytes()
    (folder / "truncated.wav").write_bytes(good[: len(good) // 2])
    (folder / "whole.wav").unlink()
    flac = write_tone(folder / "whole.flac", 72).read_bytes()
    (folder / "truncated.flac").write_bytes(flac[: len(flac) // 2])
    (folder / "whole.flac").unlink()
    # A WAV whose codec soundfile cannot decode (format tag 0x1234): unreadable.
    data = b"\x00\x01" * 8000
    fmt = struct.pack("<HHIIHH", 0x1234, 1, 16000, 32000, 2, 16)
    riff = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    (folder / "codec.wav").write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)
    return {"empty.wav": "empty", "notes.wav": "not an audio file", "silent.wav": "silent",
            "zero_frames.flac": "empty", "truncated.wav": "truncated", "truncated.flac": "unreadable",
            "codec.wav": "unreadable"}


# --- bad inputs as bytes (written under any name, UTF-8 or not) ---------------------------------------

def wav_bytes(audio: np.ndarray, *, rate: int = 16_000, subtype: str = "PCM_16", fmt: str = "WAV") -> bytes:
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def tone_bytes(midi_note: float = 72, *, seconds: float = 0.5) -> bytes:
    return wav_bytes(tone(midi_note, seconds=seconds))


def non_finite_wav_bytes(count: int = 1, *, value: float = float("nan"), seconds: float = 0.5) -> bytes:
    """A 32-bit float WAV tone with `count` samples (spread over the file) set to value (NaN or +-Inf)."""
    audio = tone(72, seconds=seconds)[:, 0]
    audio[np.linspace(0, audio.size - 1, max(count, 1)).astype(int)] = value
    return wav_bytes(audio, subtype="FLOAT")


def zero_frames_wav_bytes() -> bytes:
    """A complete WAV header with an empty data chunk."""
    return wav_bytes(np.zeros(0, np.float32))


def huge_claim_wav_bytes() -> bytes:
    """A WAV whose data chunk claims 4 GB while the file holds 0.5 s."""
    data = bytearray(tone_bytes())
    at = data.find(b"data")
    data[at + 4 : at + 8] = struct.pack("<I", 0xFFFFFFF0)
    return bytes(data)


def huge_claim_flac_bytes(claimed_frames: int = (1 << 36) - 1) -> bytes:
    """A FLAC whose STREAMINFO claims claimed_frames (36 bits) while the file holds 0.5 s: a reader that
    trusts the header allocates claimed_frames x 4 bytes (256 GiB for the default)."""
    data = bytearray(wav_bytes(tone(72, seconds=0.5), fmt="FLAC"))
    at = 8 + 10  # "fLaC", the metadata block header, then STREAMINFO bytes 10..17 end with the 36-bit total
    packed = int.from_bytes(data[at : at + 8], "big")
    packed = (packed & ~((1 << 36) - 1)) | (claimed_frames & ((1 << 36) - 1))
    data[at : at + 8] = packed.to_bytes(8, "big")
    return bytes(data)


def write_bytes(path: str | bytes | os.PathLike, data: bytes) -> None:
    """Write data at path (a bytes path can name a file that is not UTF-8), creating its folder."""
    os.makedirs(os.path.dirname(os.fsencode(path)), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


# --- file permissions that hold for root too ----------------------------------------------------------

class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


_CAPABILITY_VERSION_3 = 0x20080522
_DAC_CAPABILITIES = (1 << 1) | (1 << 2)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH


@contextmanager
def file_permissions_enforced() -> Iterator[None]:
    """Inside: a chmod 000 file is unreadable to this thread even when the tests run as root.

    Root reads any file through CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH; capabilities belong to a
    thread on Linux, so this thread drops both from its effective set and takes them back after (they
    stay in the permitted set). Without root (or off Linux) there is nothing to drop.
    """
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        yield
        return
    libc = ctypes.CDLL(None, use_errno=True)
    header, data = _CapHeader(_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    saved = data[0].effective
    data[0].effective = saved & ~_DAC_CAPABILITIES
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed: cannot drop CAP_DAC_OVERRIDE for the test")
    try:
        yield
    finally:
        data[0].effective = saved
        libc.capset(ctypes.byref(header), data)


def traced_peak_bytes(action) -> tuple[object, int]:
    """(action(), the peak of memory allocated through Python and numpy while it ran)."""
    tracemalloc.start()
    try:
        return action(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def refuse_non_finite(constant: str) -> float:
    raise AssertionError(f"non-finite JSON constant {constant} in the output")


def strict_json(text: str | bytes) -> object:
    """json.loads that refuses NaN and Infinity (which json.loads accepts by default): what the index writes."""
    return json.loads(text, parse_constant=refuse_non_finite)
