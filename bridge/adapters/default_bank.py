"""The default sound bank: 288 notes (12 pitches x 3 volumes x 8 families) synthesised by this module,
so the bridge plays something on a machine with no samples.

Generated deterministically on first use into `$PICT2AUDIO_CACHE/default_bank/<GENERATOR_VERSION>/`
(built in a temporary folder, then renamed into place) with a manifest; the labels come from how each
note was made. Each family has its own synthesis recipe (brass: brightening saw, guitar: plucked
partials, keyboard: inharmonic hammered partials, organ: drawbars, string: bowed saw with vibrato, vocal:
formant-shaped pulse, flute: breathy near-sine, reed: odd harmonics). Volumes follow SPEC §3: `med`
peaks at -3 dBFS, `low` = -22 dB, `high` = +10 dB clipped.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

from bridge.adapters.soundbank_index import cache_dir
from bridge.core.audio_levels import apply_gain_scheme, db_to_gain, midi_to_hz
from bridge.core.bank import Sample, SoundBank
from bridge.core.errors import SoundBankError
from bridge.core.labels import PITCHES, TIMBRES, VOLUMES, Labels

log = logging.getLogger(__name__)

GENERATOR_VERSION = "v1"
SAMPLE_RATE_HZ = 16_000
NOTE_SECONDS = 1.2
MED_PEAK_DBFS = -3.0
MANIFEST = "manifest.json"


def _time() -> np.ndarray:
    return np.arange(int(SAMPLE_RATE_HZ * NOTE_SECONDS)) / SAMPLE_RATE_HZ


def _envelope(t: np.ndarray, attack_s: float, release_s: float = 0.08, decay_per_s: float = 0.0) -> np.ndarray:
    """Linear attack, optional exponential decay, linear release at the end of the note."""
    env = np.minimum(t / attack_s, 1.0) * np.exp(-decay_per_s * t)
    return env * np.clip((t[-1] - t) / release_s, 0.0, 1.0)


def _partials(f0: float, t: np.ndarray, amps: np.ndarray, *, ratios: np.ndarray | None = None,
              vibrato_hz: float = 0.0, vibrato_depth: float = 0.0, decays: np.ndarray | None = None) -> np.ndarray:
    """Sum of partials k (ratios[k] * f0) with amplitudes amps[k], optional vibrato and per-partial decay."""
    ratios = np.arange(1, len(amps) + 1, dtype=np.float64) if ratios is None else ratios
    keep = ratios * f0 < SAMPLE_RATE_HZ / 2 * 0.95  # no aliasing
    freq = f0 * (1.0 + vibrato_depth * np.sin(2 * np.pi * vibrato_hz * t) * np.minimum(t / 0.3, 1.0))
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE_HZ
    out = np.zeros_like(t)
    for k in np.flatnonzero(keep):
        partial = amps[k] * np.sin(ratios[k] * phase)
        if decays is not None:
            partial *= np.exp(-decays[k] * t)
        out += partial
    return out


def brass(f0: float, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k = np.arange(1, 25)
    tone = np.zeros_like(t)
    for n, a in zip(k, 1.0 / k):  # higher partials open up later: the brass "blat"
        tone += a * np.minimum(t / (0.02 + 0.012 * n), 1.0) * np.sin(2 * np.pi * n * f0 * t) * (n * f0 < 7600)
    return tone * _envelope(t, 0.03)


def guitar(f0: float, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k = np.arange(1, 30)
    amps = np.abs(np.sin(k * np.pi * 0.18)) / k**1.2  # plucked at 18 % of the string
    return _partials(f0, t, amps, decays=1.5 + 0.5 * k**1.3) * _envelope(t, 0.003)


def keyboard(f0: float, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k = np.arange(1, 20)
    ratios = k * np.sqrt(1 + 0.0004 * k**2)  # piano string stiffness
    tone = _partials(f0, t, 1.0 / k**1.5, ratios=ratios, decays=2.0 + 0.6 * k)
    click = rng.standard_normal(t.size) * np.exp(-t / 0.004) * 0.3
    return (tone + click) * _envelope(t, 0.002)


def organ(f0: float, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ratios = np.array([0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0])  # drawbars 16' .. 1'
    amps = np.array([0.6, 1.0, 0.5, 0.7, 0.4, 0.5, 0.25, 0.3])
    click = rng.standard_normal(t.size) * np.exp(-t / 0.002) * 0.1
    return (_partials(f0, t, amps, ratios=ratios) + click) * _envelope(t, 0.008)


def string(f0: float, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k = np.arange(1, 30)
    tone = _partials(f0, t, 1.0 / k, vibrato_hz=5.5, vibrato_depth=0.006)
    bow = np.convolve(rng.standard_normal(t.size), np.ones(4) / 4, mode="same") * 0.03
    return (tone + bow) * _envelope(t, 0.15)


def vocal(f0: float, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k = np.arange(1, 40)
    formants = ((800, 80, 1.0), (1150, 90, 0.5), (2900, 120, 0.25))  # "aah"
    gain = sum(a * np.exp(-0.5 * ((k * f0 - f) / bw) ** 2) for f, bw, a in formants) + 0.02
    return _partials(f0, t, gain / k**0.5, vibrato_hz=5.0, vibrato_depth=0.01) * _envelope(t, 0.08)


def flute(f0: float, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    tone = _partials(f0, t, np.array([1.0, 0.12, 0.05]), vibrato_hz=4.5, vibrato_depth=0.003)
    breath = np.convolve(rng.standard_normal(t.size), np.hanning(9) / 4.5, mode="same") * 0.06
    return (tone + breath) * _envelope(t, 0.09)


def reed(f0: float, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k = np.arange(1, 26)
    amps = np.where(k % 2 == 1, 1.0 / k, 0.08 / k)  # clarinet-like: odd harmonics
    return _partials(f0, t, amps) * _envelope(t, 0.04)


RECIPES: dict[str, Callable[[float, np.ndarray, np.random.Generator], np.ndarray]] = {
    "brass": brass, "guitar": guitar, "keyboard": keyboard, "organ": organ,
    "string": string, "vocal": vocal, "flute": flute, "reed": reed,
}


def synthesise(labels: Labels) -> np.ndarray:
    """The note of one label combination: (NOTE_SECONDS * 16 kHz,) float32, deterministic."""
    seed = [PITCHES.index(labels.pitch), TIMBRES.index(labels.timbre)]
    med = RECIPES[labels.timbre](midi_to_hz(labels.pitch), _time(), np.random.default_rng(seed))
    med = med * (db_to_gain(MED_PEAK_DBFS) / np.max(np.abs(med)))
    return apply_gain_scheme(med, labels.volume)


def all_labels() -> list[Labels]:
    return [Labels(p, v, t) for t in TIMBRES for p in PITCHES for v in VOLUMES]


def file_name(labels: Labels) -> str:
    return f"{labels.timbre}_{labels.pitch}_{labels.volume}.wav"


def bank_dir() -> Path:
    return cache_dir() / "default_bank" / GENERATOR_VERSION


def generate(target: Path) -> None:
    """Write the 288 WAVs and the manifest into target (built beside it, then renamed into place)."""
    import soundfile as sf

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{target.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    records = []
    for labels in all_labels():
        sf.write(tmp / file_name(labels), synthesise(labels), SAMPLE_RATE_HZ, subtype="PCM_16")
        records.append({"file": file_name(labels), **labels.as_dict()})
    manifest = {"generator_version": GENERATOR_VERSION, "sample_rate_hz": SAMPLE_RATE_HZ, "samples": records}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=0))
    try:
        os.replace(tmp, target)
    except OSError:  # another process made it first (target exists and is not empty)
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / MANIFEST).exists():
            raise


def _read_manifest(folder: Path) -> SoundBank | None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    samples = tuple(
        Sample(path=str(folder / r["file"]), labels=Labels(r["pitch"], r["volume"], r["timbre"]),
               midi_note=float(r["pitch"]))
        for r in manifest.get("samples", [])
    )
    if len(samples) != len(all_labels()) or not all(os.path.exists(s.path) for s in samples):
        return None
    return SoundBank(samples, version=f"default-{GENERATOR_VERSION}")


def default_bank() -> SoundBank:
    """The default bank (generated on the first call on a machine, then read from the cache)."""
    return _bank_in(bank_dir())


@cache
def _bank_in(folder: Path) -> SoundBank:
    bank = _read_manifest(folder)
    if bank is None:
        log.info("generating the default sound bank in %s", folder)
        shutil.rmtree(folder, ignore_errors=True)
        try:
            generate(folder)
        except OSError as exc:
            raise SoundBankError(f"cannot write the default bank to {folder} ({exc}); set PICT2AUDIO_CACHE "
                                 "to a writable folder") from exc
        bank = _read_manifest(folder)
    if bank is None:
        raise SoundBankError(f"the default bank in {folder} is incomplete; delete that folder and retry")
    return bank
