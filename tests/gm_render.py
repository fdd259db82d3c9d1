"""Real notes for the sound bank tests: General MIDI notes (any channel; channel 10 is the drum kit) rendered
with fluidsynth from Debian's GM soundfonts, one WAV per note."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import NamedTuple

import numpy as np
from osc_peers import require_binary

FLUIDR3 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"  # Debian fluid-soundfont-gm
TIMGM6MB = "/usr/share/sounds/sf2/TimGM6mb.sf2"  # Debian timgm6mb-soundfont
DRUMS = 9  # MIDI channel 10, counted from 0
TICKS_PER_S = 960  # 480 ticks a beat at 120 bpm


class Note(NamedTuple):
    channel: int  # 0..15
    program: int
    note: int
    velocity: int = 100


def render_notes(folder: Path, notes: list[Note], *, soundfont: str = TIMGM6MB, rate: int = 44_100,
                 hold_s: float = 1.0, slot_s: float = 2.5) -> list[Path]:
    """Render notes one after the other (each held hold_s, in a slot of slot_s) and cut them into stereo
    24-bit WAVs named after the note: folder/ch{channel}_p{program}_n{note}.wav."""
    import mido
    import soundfile as sf

    require_binary("fluidsynth", "fluidsynth")
    folder.mkdir(parents=True, exist_ok=True)
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    for n in notes:
        track.append(mido.Message("program_change", program=n.program, channel=n.channel, time=0))
        track.append(mido.Message("note_on", note=n.note, velocity=n.velocity, channel=n.channel, time=1))
        track.append(mido.Message("note_off", note=n.note, channel=n.channel, time=round(hold_s * TICKS_PER_S)))
        track.append(mido.Message("control_change", control=120, value=0, channel=n.channel,  # all sound off
                                  time=round((slot_s - hold_s) * TICKS_PER_S) - 1))
    midi_path, wav_path = folder / "notes.mid", folder / "notes.raw.wav"
    midi.save(midi_path)
    subprocess.run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-r", str(rate), "-F",
                    str(wav_path), soundfont, str(midi_path)], check=True, capture_output=True, timeout=120)
    audio, got_rate = sf.read(wav_path, dtype="float32", always_2d=True)
    midi_path.unlink()
    wav_path.unlink()
    slot = round(slot_s * got_rate)
    paths = []
    for i, n in enumerate(notes):
        part = audio[i * slot + got_rate // TICKS_PER_S : (i + 1) * slot]
        path = folder / f"ch{n.channel + 1}_p{n.program}_n{n.note}.wav"
        sf.write(path, part if part.size else np.zeros((1, 2), np.float32), got_rate, subtype="PCM_24")
        paths.append(path)
    return paths
