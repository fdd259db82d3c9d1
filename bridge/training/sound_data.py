"""Training and test sounds for the sound models: the NSynth subset and notes rendered from a GM soundfont.

Rendered notes follow the NSynth recipe: 4 s at 16 kHz, the key held 3 s, MIDI notes 69..80; the
`med` copy is peak-normalised to a random level like NSynth's notes (-9..-0.5 dBFS peak) and SPEC §3's
gain scheme makes `low` (-22 dB) and `high` (+10 dB, clipped). Each family is heard through several GM
programs; `HELD_OUT_PROGRAMS` are never used for training and measure unseen instruments.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bridge.core.audio_levels import apply_gain_scheme, db_to_gain
from bridge.core.labels import PITCHES, TIMBRES, VOLUMES
from bridge.errors import SoundBankError

log = logging.getLogger(__name__)

RENDER_RATE_HZ = 16_000
NOTE_SECONDS = 4.0
HOLD_SECONDS = 3.0
SLOT_SECONDS = 5.0  # room for release and reverb tails between notes in one render
MED_PEAK_DBFS = (-9.0, -0.5)
DETUNE_CENTS = 20.0
DEFAULT_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
SECOND_SOUNDFONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"  # Debian timgm6mb-soundfont (evaluation only)

# GM programs (0-based) per family used for training ...
TRAIN_PROGRAMS: dict[str, tuple[int, ...]] = {
    "brass": (56, 57, 58, 59, 61, 62, 63),  # trumpet, trombone, tuba, muted trumpet, section, synth brass 1-2
    "guitar": (24, 25, 27, 28, 29, 30),  # nylon, steel, clean, muted, overdriven, distortion
    "keyboard": (0, 1, 3, 4, 6, 7),  # grand, bright, honky-tonk, EP 1, harpsichord, clavinet
    "organ": (16, 17, 19, 20),  # drawbar, percussive, church, reed organ
    "string": (40, 42, 43, 44, 48, 50, 51, 110),  # violin, cello, contrabass, tremolo, ensemble 1, synth 1-2, fiddle
    "vocal": (52, 54, 85, 91),  # choir aahs, synth voice, lead 6 (voice), pad 4 (choir)
    "flute": (72, 73, 75, 76, 77, 79),  # piccolo, flute, pan flute, blown bottle, shakuhachi, ocarina
    "reed": (64, 65, 67, 68, 70, 71, 109, 111),  # soprano, alto, baritone sax, oboe, bassoon, clarinet, bagpipe, shanai
}
# ... and held out of training: instruments the models have never heard.
HELD_OUT_PROGRAMS: dict[str, tuple[int, ...]] = {
    "brass": (60,),  # french horn
    "guitar": (26,),  # jazz guitar
    "keyboard": (2, 5),  # electric grand, EP 2
    "organ": (18,),  # rock organ
    "string": (41, 49),  # viola, string ensemble 2
    "vocal": (53,),  # voice oohs
    "flute": (74,),  # recorder
    "reed": (66, 69),  # tenor sax, english horn
}

_NSYNTH_NAME = re.compile(
    r"^(?P<family>[a-z]+)_[a-z]+_\d+-(?P<pitch>\d{3})-(?P<velocity>\d{3})-(?P<level>low|med|high)$"
)


@dataclass(frozen=True)
class LabelledSound:
    """One sound with the labels it was made with. audio: (frames,) float32 mono at sample_rate_hz."""

    audio: np.ndarray
    sample_rate_hz: int
    pitch: int
    volume: str
    timbre: str
    source: str  # file name, or "gm:{soundfont}:{program}:{note}:{velocity}"

    def label_indices(self) -> tuple[int, int, int]:
        return PITCHES.index(self.pitch), VOLUMES.index(self.volume), TIMBRES.index(self.timbre)


def parse_nsynth_name(file_name: str) -> tuple[str, int, str] | None:
    """'brass_acoustic_006-069-025-high.wav' -> ('brass', 69, 'high'); None if the name does not fit."""
    match = _NSYNTH_NAME.match(Path(file_name).stem)
    if not match or match["family"] not in TIMBRES or int(match["pitch"]) not in PITCHES:
        return None
    return match["family"], int(match["pitch"]), match["level"]


def load_nsynth(folder: str | os.PathLike) -> list[LabelledSound]:
    """All notes of an NSynth subset folder, labelled by file name (sorted by name)."""
    import soundfile as sf

    folder = Path(folder)
    if not folder.is_dir():
        raise SoundBankError(f"NSynth folder {folder} not found; expected ../shared/data/nsynth_subset/<split>")
    sounds = []
    for path in sorted(folder.glob("*.wav")):
        parsed = parse_nsynth_name(path.name)
        if parsed is None:
            log.warning("skipping %s: not an NSynth subset name", path.name)
            continue
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        family, pitch, level = parsed
        sounds.append(LabelledSound(audio.mean(axis=1), rate, pitch, level, family, path.name))
    if not sounds:
        raise SoundBankError(f"no NSynth notes in {folder}")
    return sounds


# --- soundfont rendering ---------------------------------------------------------------------------

@dataclass(frozen=True)
class NoteSpec:
    program: int
    note: int
    velocity: int
    detune_cents: float
    reverb_send: int  # MIDI CC 91, 0..127


def note_specs(program: int, *, velocities_per_note: int, seed: int) -> list[NoteSpec]:
    """The notes rendered for one program: every pitch class, a few random velocities, slight detune."""
    rng = np.random.default_rng([seed, program])
    specs = []
    for note in PITCHES:
        for velocity in rng.choice([30, 50, 70, 90, 110, 127], size=velocities_per_note, replace=False):
            detune = float(rng.uniform(-DETUNE_CENTS, DETUNE_CENTS))
            specs.append(NoteSpec(program, note, int(velocity), round(detune, 2), int(rng.integers(0, 50))))
    return specs


def _write_midi(specs: list[NoteSpec], path: Path) -> None:
    import mido

    ticks_per_s = 960  # 480 ticks per beat at 120 bpm
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))
    track.append(mido.Message("program_change", program=specs[0].program, channel=0, time=0))
    for spec in specs:
        bend = math.floor(spec.detune_cents / 200.0 * 8191 + 0.5)  # default bend range is +-2 semitones
        track.append(mido.Message("control_change", control=91, value=spec.reverb_send, time=0))
        track.append(mido.Message("control_change", control=93, value=0, time=0))
        track.append(mido.Message("pitchwheel", pitch=bend, time=0))
        track.append(mido.Message("note_on", note=spec.note, velocity=spec.velocity, time=1))
        track.append(mido.Message("note_off", note=spec.note, velocity=0, time=int(HOLD_SECONDS * ticks_per_s)))
        rest = int((SLOT_SECONDS - HOLD_SECONDS) * ticks_per_s) - 1
        track.append(mido.Message("control_change", control=123, value=0, time=rest))
    mid.save(path)


def render_program(
    program: int, *, soundfont: str, velocities_per_note: int = 3, seed: int = 0
) -> list[tuple[NoteSpec, np.ndarray]]:
    """Render the notes of one GM program with fluidsynth -> [(spec, (4 s * 16 kHz,) float32 mono)]."""
    if not shutil.which("fluidsynth"):
        raise SoundBankError("fluidsynth not found; install it with: apt-get install fluidsynth fluid-soundfont-gm")
    if not os.path.exists(soundfont):
        raise SoundBankError(f"soundfont {soundfont} not found; install it with: apt-get install fluid-soundfont-gm")
    import soundfile as sf

    specs = note_specs(program, velocities_per_note=velocities_per_note, seed=seed)
    with tempfile.TemporaryDirectory(prefix="p2a-render-") as tmp:
        midi_path, wav_path = Path(tmp) / "notes.mid", Path(tmp) / "notes.wav"
        _write_midi(specs, midi_path)
        cmd = ["fluidsynth", "-ni", "-q", "-R", "1", "-C", "0", "-g", "0.5", "-r", str(RENDER_RATE_HZ),
               "-F", str(wav_path), soundfont, str(midi_path)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)
        stereo, rate = sf.read(wav_path, dtype="float32", always_2d=True)
    mono = stereo.mean(axis=1)
    slot, length = int(SLOT_SECONDS * rate), int(NOTE_SECONDS * rate)
    out = []
    for i, spec in enumerate(specs):
        start = i * slot + int(rate / 960)  # the note starts one tick into its slot
        note = mono[start : start + length]
        out.append((spec, np.pad(note, (0, length - note.size))))
    return out


def _gain_variants(med: np.ndarray, rng: np.random.Generator) -> Iterator[tuple[str, np.ndarray]]:
    """Peak-normalise a rendered note to a random NSynth-like `med` level, then SPEC §3's three levels."""
    peak = float(np.abs(med).max())
    if peak <= 0:
        return
    med = med * np.float32(db_to_gain(float(rng.uniform(*MED_PEAK_DBFS))) / peak)
    for volume in VOLUMES:
        yield volume, apply_gain_scheme(med, volume)


def rendered_sounds(
    programs: dict[str, tuple[int, ...]], *, soundfont: str = DEFAULT_SOUNDFONT, velocities_per_note: int = 3,
    seed: int = 0, cache_dir: Path | None = None,
) -> list[LabelledSound]:
    """Rendered notes of the given programs (each note in the three gain levels), cached as .npz."""
    sounds = []
    for family, progs in programs.items():
        for program in progs:
            for spec, med in _cached_render(program, soundfont, velocities_per_note, seed, cache_dir):
                rng = np.random.default_rng([seed, program, spec.note, spec.velocity])
                source = f"gm:{Path(soundfont).stem}:{program}:{spec.note}:{spec.velocity}"
                for volume, audio in _gain_variants(med, rng):
                    sounds.append(LabelledSound(audio, RENDER_RATE_HZ, spec.note, volume, family, source))
    return sounds


def _cached_render(program: int, soundfont: str, velocities_per_note: int, seed: int, cache_dir: Path | None):
    if cache_dir is None:
        return render_program(program, soundfont=soundfont, velocities_per_note=velocities_per_note, seed=seed)
    key = json.dumps([Path(soundfont).name, os.path.getsize(soundfont), program, velocities_per_note, seed,
                      NOTE_SECONDS, HOLD_SECONDS, SLOT_SECONDS, DETUNE_CENTS, RENDER_RATE_HZ, "v1"])
    path = cache_dir / f"render-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"
    specs = note_specs(program, velocities_per_note=velocities_per_note, seed=seed)
    if path.exists():
        with np.load(path) as data:
            return list(zip(specs, data["audio"]))
    rendered = render_program(program, soundfont=soundfont, velocities_per_note=velocities_per_note, seed=seed)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, audio=np.stack([audio for _, audio in rendered]))
    os.replace(tmp, path)
    return rendered


def all_programs(programs: dict[str, tuple[int, ...]]) -> Iterable[int]:
    return (p for progs in programs.values() for p in progs)
