"""Local playback: pygame's dummy audio driver is a real code path; a missing device is one warning line.

The start-up cases (device or not, the log lines) run in their own Python process, because pygame.mixer is
process-wide state. The voice cases run here on the real mixer with SDL's dummy driver, which plays in real
time: they wait for a channel's end (pygame's Channel.set_endevent, read with a timeout), never sleep.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pygame
import pytest
from osc_peers import REPO, write_tone

from bridge.adapters.audio_pygame import LocalAudio
from bridge.core.bank import Match, Sample
from bridge.core.labels import Labels
from bridge.core.protocol import Bundle, clear_message, play_message, voice_stop_message

SCRIPT = """
import json, logging, sys
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
from bridge.adapters.audio_pygame import LocalAudio
from bridge.core.bank import Match, Sample
from bridge.core.labels import Labels
from bridge.core.protocol import Bundle, clear_message, play_message, stroke_end_message, voice_stop_message
audio = LocalAudio()
for stroke_id, path in enumerate(sys.argv[1:], start=1):
    match = Match(Sample(path, Labels(72, "med", "keyboard")), 1.0)
    audio(Bundle((play_message(match, stroke_id), stroke_end_message(stroke_id)), 0.0))
sounding = audio.sounding()
audio(Bundle((voice_stop_message(1), clear_message(2)), 0.0))
print(json.dumps({"enabled": audio.enabled, "played": audio.played, "cached": len(audio.cached_paths),
                  "sounding": len(sounding)}))
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
    assert result == {"enabled": True, "played": [wav, wav], "cached": 1, "sounding": 2}
    assert not [line for line in log_lines if line.startswith("WARNING")]


def test_no_audio_device_is_one_warning_line_and_a_no_op(tmp_path):
    wav = str(write_tone(tmp_path / "a.wav", midi_note=72))
    result, log_lines = run_audio("no-such-audio-driver", wav, wav, wav)
    assert result == {"enabled": False, "played": [], "cached": 0, "sounding": 0}
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


# -- voices on the real mixer (dummy driver, this process) ------------------------------------------------------

CHANNEL_END = pygame.USEREVENT + 5
WAIT_S = 10.0  # an upper bound only: the events come within a few ms of the sound's end
LONG_S = (20.0, 20.5, 21.0, 21.5)  # outlast any test; distinct lengths tell which file a channel plays
SHORT_S = 0.05


def play(audio: LocalAudio, path: str, stroke_id: int) -> None:
    audio(Bundle((play_message(Match(Sample(path, Labels(72, "med", "keyboard")), 1.0), stroke_id),), 0.0))


def play_voices(audio: LocalAudio, tones: dict[str, str], *names: str) -> None:
    """Play tones[names[0]] as voice 1, tones[names[1]] as voice 2, and so on."""
    for stroke_id, name in enumerate(names, start=1):
        play(audio, tones[name], stroke_id)


class ChannelEnds:
    """Collects the mixer's channel-end events; `wait(n)` blocks (bounded) until channel n has ended."""

    def __init__(self, channels: int) -> None:
        self.seen: Counter[int] = Counter()
        for number in range(channels):
            pygame.mixer.Channel(number).set_endevent(CHANNEL_END)

    def _collect(self, timeout_ms: int) -> None:
        event = pygame.event.wait(max(1, timeout_ms))
        while event.type != pygame.NOEVENT:
            if event.type == CHANNEL_END:
                self.seen[event.code] += 1
            event = pygame.event.poll()

    def wait(self, number: int, timeout_s: float = WAIT_S) -> bool:
        """True once channel `number` has ended (that end is consumed); False after timeout_s."""
        deadline = time.monotonic() + timeout_s
        while not self.seen[number]:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._collect(int(left * 1000))
        self.seen[number] -= 1
        return True

    def ended_now(self) -> set[int]:
        """The channels whose end events have arrived so far (none consumed)."""
        self._collect(1)
        return {number for number, count in self.seen.items() if count}


@pytest.fixture
def tones(tmp_path: Path) -> dict[str, str]:
    """Real WAVs of known lengths: long0..long3 (20 s and more) and short (50 ms)."""
    paths = {f"long{i}": str(write_tone(tmp_path / f"long{i}.wav", midi_note=69 + i, duration_s=seconds,
                                        sample_rate_hz=8000)) for i, seconds in enumerate(LONG_S)}
    paths["short"] = str(write_tone(tmp_path / "short.wav", midi_note=80, duration_s=SHORT_S, sample_rate_hz=8000))
    return paths


@pytest.fixture
def mixer() -> Iterator[None]:
    """A fresh mixer for the test (closed after it) and the video subsystem that channel-end events need."""
    if pygame.mixer.get_init():
        pygame.mixer.quit()
    had_display = pygame.display.get_init()
    pygame.display.init()
    pygame.event.clear()
    yield
    pygame.mixer.quit()
    pygame.event.clear()
    if not had_display:
        pygame.display.quit()


def open_audio(voices: int = 4, fade_ms: int = 30) -> tuple[LocalAudio, ChannelEnds]:
    audio = LocalAudio(voices=voices, fade_ms=fade_ms)
    assert audio.open()
    return audio, ChannelEnds(2 * voices)


def length_on(number: int | None) -> float | None:
    """The length (s) of the Sound channel `number` plays, to tell the files apart."""
    assert number is not None
    sound = pygame.mixer.Channel(number).get_sound()
    return None if sound is None else round(sound.get_length(), 1)


def busy(number: int | None) -> bool:
    assert number is not None
    return bool(pygame.mixer.Channel(number).get_busy())


def test_three_overlapping_voices_sound_at_once_on_their_own_channels(mixer, tones):
    audio, _ = open_audio(voices=4)
    play_voices(audio, tones, "long1", "long2", "long3")
    assert audio.sounding() == {1: tones["long1"], 2: tones["long2"], 3: tones["long3"]}
    channels = [audio.channel_of(stroke_id) for stroke_id in (1, 2, 3)]
    assert len(set(channels)) == 3
    assert all(busy(number) for number in channels)
    assert [length_on(number) for number in channels] == [LONG_S[1], LONG_S[2], LONG_S[3]]
    assert audio.played == [tones["long1"], tones["long2"], tones["long3"]]
    audio.close()


def test_a_play_with_a_sounding_id_retriggers_it_and_fades_the_old_sound(mixer, tones):
    audio, ends = open_audio(voices=4)
    play_voices(audio, tones, "long0", "long2")
    before = audio.channel_of(1)
    play(audio, tones["long1"], 1)
    after = audio.channel_of(1)
    assert audio.sounding() == {1: tones["long1"], 2: tones["long2"]}
    assert after != before
    assert length_on(after) == LONG_S[1]
    assert ends.wait(before), "the replaced sound did not fade out"
    assert busy(after) and busy(audio.channel_of(2))
    assert ends.ended_now() == set()  # nothing else ended: the new sound started on its own channel
    audio.close()


def test_a_retriggered_sound_fades_out_while_the_new_one_starts(mixer, tones):
    audio, _ = open_audio(voices=1, fade_ms=5000)  # a fade long enough to be seen under way
    play(audio, tones["long0"], 1)
    before = audio.channel_of(1)
    play(audio, tones["long1"], 1)
    after = audio.channel_of(1)
    assert after != before
    assert busy(before) and length_on(before) == LONG_S[0]  # fading, not cut
    assert busy(after) and length_on(after) == LONG_S[1]
    assert audio.sounding() == {1: tones["long1"]}
    audio.close()


def test_trigger_id_0_is_a_voice_like_any_other(mixer, tones):
    audio, ends = open_audio(voices=4)
    play(audio, tones["long0"], 0)
    first = audio.channel_of(0)
    play(audio, tones["long1"], 0)
    assert audio.sounding() == {0: tones["long1"]}
    assert ends.wait(first)
    audio.close()


def test_voice_stop_fades_only_that_voice(mixer, tones):
    audio, ends = open_audio(voices=4)
    play_voices(audio, tones, "long1", "long2", "long3")
    channels = {stroke_id: audio.channel_of(stroke_id) for stroke_id in (1, 2, 3)}
    audio(Bundle((voice_stop_message(2),), 0.0))
    assert audio.sounding() == {1: tones["long1"], 3: tones["long3"]}
    assert ends.wait(channels[2])
    assert busy(channels[1]) and busy(channels[3])
    assert ends.ended_now() == set()
    audio(Bundle((voice_stop_message(2), voice_stop_message(99)), 0.0))  # not sounding: nothing happens
    assert audio.sounding() == {1: tones["long1"], 3: tones["long3"]}
    audio.close()


def test_clear_fades_every_voice(mixer, tones):
    audio, ends = open_audio(voices=4)
    play_voices(audio, tones, "long1", "long2", "long3")
    channels = [audio.channel_of(stroke_id) for stroke_id in (1, 2, 3)]
    audio(Bundle((clear_message(3),), 0.0))
    assert audio.sounding() == {}
    assert all(ends.wait(number) for number in channels)
    assert not any(busy(number) for number in range(2 * audio.voices))
    play(audio, tones["long0"], 1)  # after a clear the ids start afresh
    assert audio.sounding() == {1: tones["long0"]}
    audio.close()


def test_beyond_the_voice_limit_the_oldest_voice_is_stolen(mixer, tones):
    audio, ends = open_audio(voices=2)
    play_voices(audio, tones, "long1", "long2")
    stolen = audio.channel_of(1)
    play(audio, tones["long3"], 3)
    assert audio.sounding() == {2: tones["long2"], 3: tones["long3"]}
    assert audio.channel_of(1) is None
    assert ends.wait(stolen), "the stolen voice did not fade out"
    assert busy(audio.channel_of(2)) and busy(audio.channel_of(3))
    assert length_on(audio.channel_of(3)) == LONG_S[3]
    audio(Bundle((voice_stop_message(1),), 0.0))  # the stolen id has no voice any more: nothing happens
    assert audio.sounding() == {2: tones["long2"], 3: tones["long3"]}
    audio.close()


def test_a_retriggered_voice_counts_as_young_when_stealing(mixer, tones):
    audio, _ = open_audio(voices=2)
    play_voices(audio, tones, "long1", "long2")
    play(audio, tones["long0"], 1)  # voice 1 starts again: voice 2 is now the one that sounded longest
    play(audio, tones["long3"], 3)
    assert audio.sounding() == {1: tones["long0"], 3: tones["long3"]}
    audio.close()


def test_a_finished_sample_frees_its_slot(mixer, tones):
    audio, ends = open_audio(voices=2)
    play_voices(audio, tones, "long1", "short")
    short = audio.channel_of(2)
    assert ends.wait(short), "the 50 ms sample did not end"
    assert audio.sounding() == {1: tones["long1"]}
    assert audio.channel_of(2) is None
    play(audio, tones["long3"], 3)  # takes the freed slot: voice 1, the oldest, is not stolen
    assert audio.sounding() == {1: tones["long1"], 3: tones["long3"]}
    assert ends.ended_now() == set()
    assert busy(audio.channel_of(1))
    audio.close()


def test_a_fade_cut_short_by_a_new_sound_leaves_the_channel_at_full_volume(mixer, tones):
    audio, ends = open_audio(voices=2, fade_ms=5000)
    play(audio, tones["long0"], 1)
    fading = audio.channel_of(1)
    play(audio, tones["long1"], 1)  # long0 now fades over 5 s on `fading`
    play(audio, tones["short"], 2)
    assert ends.wait(audio.channel_of(2)), "the 50 ms sample did not end"  # so the fade has begun
    assert pygame.mixer.Channel(fading).get_volume() < 1.0
    play(audio, tones["long2"], 1)  # retrigger again: back on `fading`, cutting the fade short
    assert audio.channel_of(1) == fading
    assert length_on(fading) == LONG_S[2]
    assert pygame.mixer.Channel(fading).get_volume() == 1.0
    audio.close()


def test_a_bad_message_is_skipped_with_one_warning_and_never_raises(mixer, tones, caplog):
    audio, _ = open_audio(voices=2)
    bad_play = SimpleNamespace(address="/pict2audio/play", args=(tones["long0"], 72, "med", "keyboard"))
    bad_stop = SimpleNamespace(address="/pict2audio/voice/stop", args=("one",))
    not_a_message = object()
    with caplog.at_level(logging.WARNING, logger="bridge.adapters.audio_pygame"):
        for _ in range(3):
            audio(Bundle((bad_play, bad_stop, not_a_message), 0.0))  # type: ignore[arg-type]
        play(audio, tones["long1"], 1)
    assert audio.sounding() == {1: tones["long1"]}
    assert len(caplog.records) == 2, caplog.text
    assert "skipped a /pict2audio/play message" in caplog.records[0].getMessage()
    audio.close()


def test_sounds_are_decoded_once_per_path_and_the_cache_is_bounded(mixer, tones):
    audio = LocalAudio(voices=4, max_cached=2)
    assert audio.open()
    for stroke_id, name in enumerate(("long0", "long1", "long0", "long2", "long0"), start=1):
        play(audio, tones[name], stroke_id)
    assert audio.cached_paths == (tones["long2"], tones["long0"])  # long0 kept: the most recently used
    audio.close()


def test_preloading_decodes_ahead_of_the_first_play_within_its_limits(mixer, tones, tmp_path):
    """preload(paths) fills the cache in order, skips (and names once) an unreadable file, stops at max_cached
    and at its byte budget, and a preloaded sound plays from the cache without being decoded again."""
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    audio = LocalAudio(voices=4, max_cached=3)
    assert audio.open()
    decoded = audio.preload([tones["short"], str(broken), tones["long0"], tones["long1"], tones["long2"]])
    assert audio.preloaded.is_set() and decoded == 3
    assert audio.cached_paths == (tones["short"], tones["long0"], tones["long1"])
    os.remove(tones["long0"])  # a preloaded sound plays from the cache: its file is not read again
    play(audio, tones["long0"], 1)
    assert length_on(audio.channel_of(1)) == LONG_S[0] and audio.cached_paths[-1] == tones["long0"]
    audio.close()
    one_second = 44100 * 2 * 2  # bytes of one second in the mixer's default format
    small = LocalAudio(voices=4)
    assert small.open()
    assert small.preload([tones["short"], tones["long1"], tones["long2"]], budget_bytes=one_second) == 2
    assert small.cached_paths == (tones["short"], tones["long1"])  # the budget was spent by long1
    small.close()


@pytest.mark.parametrize("kwargs", [{"voices": 0}, {"voices": 65}, {"voices": True}, {"voices": 2.0},
                                    {"voices": "4"}, {"fade_ms": -1}, {"fade_ms": 0.5}])
def test_bad_settings_are_a_clear_error(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"LocalAudio {name} must be an integer"):
        LocalAudio(**kwargs)


def test_the_default_and_the_limits_of_voices():
    assert LocalAudio().voices == 16
    assert LocalAudio(voices=1).voices == 1
    assert LocalAudio(voices=64, fade_ms=0).fade_ms == 0
