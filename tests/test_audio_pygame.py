"""Local playback: pygame's dummy audio driver is a real code path; a missing device is one warning line.

Each case runs in its own Python process, because pygame.mixer is process-wide state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from osc_peers import REPO, write_tone

SCRIPT = """
import json, logging, sys
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
from bridge.adapters.audio_pygame import LocalAudio
from bridge.core.bank import Match, Sample
from bridge.core.labels import Labels
from bridge.core.protocol import Bundle, play_message, stroke_end_message
audio = LocalAudio()
for path in sys.argv[1:]:
    match = Match(Sample(path, Labels(72, "med", "keyboard")), 1.0)
    audio(Bundle((play_message(match), stroke_end_message(1)), 0.0))
print(json.dumps({"enabled": audio.enabled, "played": audio.played, "cached": len(audio._sounds)}))
audio.close()
audio.close()
"""


def run_audio(driver: str, *paths: str) -> tuple[dict, list[str]]:
    env = {**os.environ, "SDL_AUDIODRIVER": driver, "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *paths], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr.strip().splitlines()


def test_dummy_driver_plays_and_caches_each_sample(tmp_path):
    wav = str(write_tone(tmp_path / "a.wav", midi_note=72))
    result, log_lines = run_audio("dummy", wav, wav)
    assert result == {"enabled": True, "played": [wav, wav], "cached": 1}
    assert not [line for line in log_lines if line.startswith("WARNING")]


def test_no_audio_device_is_one_warning_line_and_a_no_op(tmp_path):
    wav = str(write_tone(tmp_path / "a.wav", midi_note=72))
    result, log_lines = run_audio("no-such-audio-driver", wav, wav, wav)
    assert result == {"enabled": False, "played": [], "cached": 0}
    warnings = [line for line in log_lines if line.startswith("WARNING")]
    assert len(warnings) == 1, log_lines
    assert warnings[0].startswith("WARNING bridge.adapters.audio_pygame: no audio device (")
    assert warnings[0].endswith("): local playback off, OSC goes on")


def test_an_unreadable_file_is_reported_once_and_playback_goes_on(tmp_path):
    bad = tmp_path / "not-audio.wav"
    bad.write_text("not a wav")
    good = str(write_tone(tmp_path / "b.wav", midi_note=70))
    result, log_lines = run_audio("dummy", str(bad), str(bad), good)
    assert result["played"] == [good]
    assert sum("cannot play" in line for line in log_lines) == 1
