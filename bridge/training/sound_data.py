"""Training and test sounds for the sound models: the NSynth subset and notes rendered from GM soundfonts.

Rendered notes cover MIDI 36..96 and vary like a real sample library: sample rates 22.05..96 kHz, stereo
or mono, 16-bit or float, with and without a reverb tail, fast and slow attacks, trimmed and untrimmed
starts, short and long notes. The labels are SPEC §1's: the pitch class folded into 69..80, the family,
and the volume from SPEC §3's gain scheme (the `med` copy peak-normalised to a random level like
NSynth's notes, -9..-0.5 dBFS; `low` -22 dB, `high` +10 dB clipped).

Each family is heard through several GM programs and several soundfonts (every soundfont samples its
own instruments). `HELD_OUT_PROGRAMS` and `HELD_OUT_SOUNDFONT` are never used for training: they
measure instruments the models have never heard.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bridge.adapters.audio_features import SILENT_BELOW_DBFS
from bridge.core.audio_levels import apply_gain_scheme, db_to_gain, fold_pitch
from bridge.core.errors import SoundBankError
from bridge.core.labels import PITCHES, TIMBRES, VOLUMES

log = logging.getLogger(__name__)

NOTES: tuple[int, ...] = tuple(range(36, 97))  # C2..C7: the range the models are trained and measured on
MED_PEAK_DBFS = (-9.0, -0.5)
DETUNE_CENTS = 20.0
SLOT_GAP_S = 2.5  # silence after each note's release in one render, so reverb tails do not overlap
TICKS_PER_S = 960  # 480 ticks per beat at 120 bpm


@dataclass(frozen=True)
class Soundfont:
    path: str
    package: str  # the Debian package that installs it

    @property
    def name(self) -> str:
        return Path(self.path).stem


FLUIDR3 = Soundfont("/usr/share/sounds/sf2/FluidR3_GM.sf2", "fluid-soundfont-gm")
MUSESCORE_LITE = Soundfont("/usr/share/sounds/sf3/MuseScore_General_Lite.sf3", "musescore-general-soundfont-small")
CSOUND_GM = Soundfont("/usr/share/sounds/sf2/sf_GMbank.sf2", "csound-soundfont")
TIMGM6MB = Soundfont("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont")
TRAIN_SOUNDFONTS: tuple[Soundfont, ...] = (FLUIDR3, MUSESCORE_LITE, CSOUND_GM)
HELD_OUT_SOUNDFONT = TIMGM6MB  # never used for training: every instrument in it is unheard

# GM programs (0-based) per family used for training ...
TRAIN_PROGRAMS: dict[str, tuple[int, ...]] = {
    "brass": (56, 57, 58, 59, 61, 62, 63),  # trumpet, trombone, tuba, muted trumpet, section, synth brass 1-2
    "guitar": (24, 25, 27, 28, 29, 30, 105),  # nylon, steel, clean, muted, overdriven, distortion, banjo
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


@dataclass(frozen=True)
class Variety:
    """How the rendered notes vary (shares are probabilities per note, ranges are drawn uniformly)."""

    sample_rates_hz: tuple[int, ...] = (22_050, 44_100, 48_000, 96_000)  # one per render (fluidsynth -r)
    sample_rate_weights: tuple[float, ...] = (0.15, 0.4, 0.3, 0.15)
    reverb_share: float = 0.5  # notes with a reverb send (CC 91 20..110); the others are dry
    room_size: tuple[float, float] = (0.2, 0.95)  # fluidsynth reverb room size, one per render
    chorus_share: float = 0.2
    stereo_share: float = 0.7  # the others are mixed down to one channel
    pcm16_share: float = 0.5  # rounded to 16-bit samples like a WAV file; the others stay float
    hold_s: tuple[float, float] = (0.25, 3.5)  # key held, drawn log-uniformly
    tail_s: tuple[float, float] = (0.05, 2.0)  # audio kept after the key is released
    slow_attack_share: float = 0.3
    slow_attack_s: tuple[float, float] = (0.08, 0.6)  # a fade-in over the note's start
    untrimmed_share: float = 0.35
    untrimmed_lead_s: tuple[float, float] = (0.02, 0.6)  # silence before the note
    trimmed_share: float = 0.15
    trimmed_cut_s: tuple[float, float] = (0.005, 0.06)  # cut off the note's start


VARIETY = Variety()

_NSYNTH_NAME = re.compile(
    r"^(?P<family>[a-z]+)_[a-z]+_\d+-(?P<pitch>\d{3})-(?P<velocity>\d{3})-(?P<level>low|med|high)$"
)


@dataclass(frozen=True)
class LabelledSound:
    """One sound with the labels it was made with. audio: (frames,) or (frames, channels) float32 at
    sample_rate_hz; note: the MIDI note played (unfolded; pitch is its folded class)."""

    audio: np.ndarray
    sample_rate_hz: int
    pitch: int
    volume: str
    timbre: str
    source: str  # file name, or "gm:{soundfont}:{program}:{note}:{velocity}"
    note: int
    tags: tuple[str, ...] = ()  # how it was rendered: "stereo", "reverb", "slow_attack", "untrimmed", ...

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
        sounds.append(LabelledSound(audio.mean(axis=1), rate, pitch, level, family, path.name, pitch))
    if not sounds:
        raise SoundBankError(f"no NSynth notes in {folder}")
    return sounds


# --- soundfont rendering ---------------------------------------------------------------------------

@dataclass(frozen=True)
class NoteSpec:
    """One rendered note and how it is turned into a library sample."""

    note: int
    velocity: int
    detune_cents: float
    reverb_send: int  # MIDI CC 91, 0..127 (0: dry)
    chorus_send: int  # MIDI CC 93
    pan: int  # MIDI CC 10
    hold_s: float
    tail_s: float
    attack_s: float  # fade-in length (0: the attack as rendered)
    lead_s: float  # > 0: silence before the note; < 0: that much of the note's start cut off
    stereo: bool
    pcm16: bool
    med_peak_dbfs: float
    volumes: tuple[str, ...]  # the gain-scheme levels made from this note

    def tags(self) -> tuple[str, ...]:
        return tuple(name for name, on in (
            ("stereo", self.stereo), ("reverb", self.reverb_send > 0), ("slow_attack", self.attack_s > 0),
            ("untrimmed", self.lead_s > 0), ("trimmed", self.lead_s < 0), ("short", self.hold_s < 1.0),
        ) if on)


@dataclass(frozen=True)
class RenderRun:
    """One fluidsynth run: every note of NOTES of one program through one soundfont."""

    soundfont: Soundfont
    program: int
    family: str
    seed: int
    sample_rate_hz: int
    room_size: float
    specs: tuple[NoteSpec, ...]


def plan_run(soundfont: Soundfont, program: int, family: str, *, seed: int, all_volumes: bool,
             variety: Variety = VARIETY) -> RenderRun:
    """The notes of one run, drawn from a generator seeded by (seed, soundfont, program): reproducible.
    all_volumes: every note in the three levels (test sets); else one level drawn per note (training)."""
    rng = np.random.default_rng([seed, zlib.crc32(soundfont.name.encode()), program])
    rate = int(rng.choice(variety.sample_rates_hz, p=variety.sample_rate_weights))
    room = round(float(rng.uniform(*variety.room_size)), 3)
    specs = []
    for note in NOTES:
        where = rng.uniform()
        if where < variety.untrimmed_share:
            lead = rng.uniform(*variety.untrimmed_lead_s)
        elif where < variety.untrimmed_share + variety.trimmed_share:
            lead = -rng.uniform(*variety.trimmed_cut_s)
        else:
            lead = 0.0
        specs.append(NoteSpec(
            note=note,
            velocity=int(rng.integers(20, 128)),
            detune_cents=round(float(rng.uniform(-DETUNE_CENTS, DETUNE_CENTS)), 2),
            reverb_send=int(rng.integers(20, 111)) if rng.uniform() < variety.reverb_share else 0,
            chorus_send=int(rng.integers(20, 101)) if rng.uniform() < variety.chorus_share else 0,
            pan=int(rng.integers(24, 105)),
            hold_s=round(float(math.exp(rng.uniform(*np.log(variety.hold_s)))), 3),
            tail_s=round(float(rng.uniform(*variety.tail_s)), 3),
            attack_s=round(float(rng.uniform(*variety.slow_attack_s)), 3)
            if rng.uniform() < variety.slow_attack_share else 0.0,
            lead_s=round(float(lead), 3),
            stereo=bool(rng.uniform() < variety.stereo_share),
            pcm16=bool(rng.uniform() < variety.pcm16_share),
            med_peak_dbfs=round(float(rng.uniform(*MED_PEAK_DBFS)), 2),
            volumes=VOLUMES if all_volumes else (VOLUMES[int(rng.integers(len(VOLUMES)))],),
        ))
    return RenderRun(soundfont, program, family, seed, rate, room, tuple(specs))


def _slot_ticks(spec: NoteSpec) -> tuple[int, int]:
    """(ticks the key is held, ticks of the whole slot)."""
    hold = max(1, round(spec.hold_s * TICKS_PER_S))
    return hold, hold + round(SLOT_GAP_S * TICKS_PER_S)


def _write_midi(run: RenderRun, path: Path) -> list[int]:
    """The run as a MIDI file; returns each note's start in ticks."""
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))
    track.append(mido.Message("program_change", program=run.program, channel=0, time=0))
    starts, now = [], 0
    for spec in run.specs:
        hold, slot = _slot_ticks(spec)
        bend = math.floor(spec.detune_cents / 200.0 * 8191 + 0.5)  # default bend range is +-2 semitones
        for control, value in ((91, spec.reverb_send), (93, spec.chorus_send), (10, spec.pan)):
            track.append(mido.Message("control_change", control=control, value=value, time=0))
        track.append(mido.Message("pitchwheel", pitch=bend, time=0))
        track.append(mido.Message("note_on", note=spec.note, velocity=spec.velocity, time=1))
        track.append(mido.Message("note_off", note=spec.note, velocity=0, time=hold))
        track.append(mido.Message("control_change", control=123, value=0, time=slot - hold - 1))
        starts.append(now + 1)
        now += slot
    mid.save(path)
    return starts


def fluidsynth_version() -> str:
    if not shutil.which("fluidsynth"):
        raise SoundBankError("fluidsynth not found; install it with: apt-get install fluidsynth fluid-soundfont-gm")
    out = subprocess.run(["fluidsynth", "--version"], capture_output=True, text=True, timeout=30).stdout
    return out.splitlines()[0].strip() if out else "unknown"


def check_soundfont(soundfont: Soundfont) -> None:
    if not os.path.exists(soundfont.path):
        raise SoundBankError(f"soundfont {soundfont.path} not found; install it with: "
                             f"apt-get install {soundfont.package}")


def _render(run: RenderRun) -> tuple[np.ndarray, list[int]]:
    """fluidsynth renders the run -> ((frames, 2) float32 at run.sample_rate_hz, note starts in frames)."""
    import soundfile as sf

    fluidsynth_version()
    check_soundfont(run.soundfont)
    with tempfile.TemporaryDirectory(prefix="p2a-render-") as tmp:
        midi_path, wav_path = Path(tmp) / "notes.mid", Path(tmp) / "notes.wav"
        starts = _write_midi(run, midi_path)
        cmd = ["fluidsynth", "-ni", "-q", "-R", "1", "-C", "1", "-g", "0.5", "-r", str(run.sample_rate_hz),
               "-o", f"synth.reverb.room-size={run.room_size}", "-o", "synth.dynamic-sample-loading=1",
               "-F", str(wav_path), run.soundfont.path, str(midi_path)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=600)
        stereo, rate = sf.read(wav_path, dtype="float32", always_2d=True)
    return stereo, [round(s * rate / TICKS_PER_S) for s in starts]


def shape_note(raw: np.ndarray, rate: int, spec: NoteSpec) -> np.ndarray | None:
    """A rendered note (frames, 2) -> the library sample at `med` level (before the gain scheme):
    cut to hold + tail, faded out, slow attack, leading silence or a trimmed start, mono or stereo,
    peak-normalised. None when the soundfont made no sound for this note."""
    note = raw[: round((spec.hold_s + spec.tail_s) * rate)].copy()
    peak = float(np.abs(note).max()) if note.size else 0.0
    if peak < db_to_gain(SILENT_BELOW_DBFS + 30.0):  # no sample for this key in the soundfont
        return None
    fade = min(note.shape[0], round(0.01 * rate))
    note[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    if spec.attack_s > 0:
        ramp = min(note.shape[0], round(spec.attack_s * rate))
        note[:ramp] *= (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, ramp, dtype=np.float32)))[:, None]
    if spec.lead_s < 0:
        note = note[round(-spec.lead_s * rate) :]
    elif spec.lead_s > 0:
        note = np.concatenate([np.zeros((round(spec.lead_s * rate), note.shape[1]), np.float32), note])
    if not spec.stereo:
        note = note.mean(axis=1)
    peak = float(np.abs(note).max())
    if peak <= 0:
        return None
    return (note * np.float32(db_to_gain(spec.med_peak_dbfs) / peak)).astype(np.float32)


def as_stored(audio: np.ndarray, pcm16: bool) -> np.ndarray:
    """The samples as a 16-bit file holds them (what soundfile reads back), or float as they are."""
    if not pcm16:
        return audio
    return (np.clip(np.round(audio * 32768.0), -32768, 32767) / 32768.0).astype(np.float32)


def iter_run(run: RenderRun) -> Iterator[LabelledSound]:
    """Render one run and yield its notes, each in its levels (silent notes are left out)."""
    stereo, starts = _render(run)
    rate = run.sample_rate_hz
    silent = 0
    for spec, start in zip(run.specs, starts):
        med = shape_note(stereo[start:], rate, spec)
        if med is None:
            silent += 1
            continue
        source = f"gm:{run.soundfont.name}:{run.program}:{spec.note}:{spec.velocity}"
        for volume in spec.volumes:
            audio = as_stored(apply_gain_scheme(med, volume), spec.pcm16)
            yield LabelledSound(audio, rate, fold_pitch(spec.note), volume, run.family, source, spec.note,
                                spec.tags())
    if silent:
        log.info("%s program %d: %d of %d notes silent (no sample for those keys), left out",
                 run.soundfont.name, run.program, silent, len(run.specs))


def plan_runs(programs: dict[str, tuple[int, ...]], soundfonts: tuple[Soundfont, ...], *, seed: int,
              passes: int = 1, all_volumes: bool) -> list[RenderRun]:
    """Every (soundfont, program, pass) run; passes > 1 renders each program again with new draws."""
    return [plan_run(sf, program, family, seed=seed + 1000 * p, all_volumes=all_volumes)
            for sf in soundfonts for family, progs in programs.items() for program in progs for p in range(passes)]


def rendered_sounds(programs: dict[str, tuple[int, ...]], *, soundfont: Soundfont = FLUIDR3, seed: int = 0,
                    all_volumes: bool = True) -> list[LabelledSound]:
    """Rendered notes of the given programs through one soundfont (every note of NOTES)."""
    runs = plan_runs(programs, (soundfont,), seed=seed, all_volumes=all_volumes)
    return [sound for run in runs for sound in iter_run(run)]


def variety_record(variety: Variety = VARIETY) -> dict:
    """The rendering recipe for the model's metadata."""
    return {**asdict(variety), "notes": [NOTES[0], NOTES[-1]], "med_peak_dbfs": list(MED_PEAK_DBFS),
            "detune_cents": DETUNE_CENTS, "velocity": [20, 127]}
