"""Overlapping voices in the real Pure Data: patches/pict2audio.pd plays every stroke on its own copy of
pict2audio-voice.pd ([clone pict2audio-voice 16], voice = stroke_id mod 16).

Pd runs headless (`pd -nogui -noaudio -stderr -open ...`) on a copy of the patch (and its voice abstraction
beside it) listening on a free port. Real WAV files of different lengths are written to tmp; the bundles are
built with bridge.core.protocol and sent with OscSender. Each voice prints what it does to Pd's console:

    voice 2: stroke 2 playing /abs/path.wav
    voice 2: stroke 2 stopped (208000 samples)     <- the length of that voice's own table when it stopped
    voice 3: stop 3 ignored                        <- a stop for a stroke the voice no longer plays
    voice 5: stroke 5 done (2000 samples)          <- the file played to its end

The test waits on those lines (a reader thread; no sleeping), and checks the whole sequence: every voice
loaded its own file, a retrigger replaced the file, a stop cut one voice only, clear cut all that sounded.
Two broken variants of the patches (all strokes on one voice; one table shared by every voice) must fail it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from osc_peers import PD_PATCH, PeerProcess, StepSender, free_udp_port, require_binary, write_voice_wavs
from osc_peers import VoiceWav as Wav

from bridge.core import protocol
from bridge.core.labels import Overrides, Prediction

PD_VOICE = PD_PATCH.with_name("pict2audio-voice.pd")
VOICES = 16
STEP_TIMEOUT_S = 10.0
PROBLEMS = ("error", "can't", "couldn't", "unknown-osc")


def patch_pair_on_port(folder: Path, port: int, *, edit_main: Callable[[str], str] = str,
                       edit_voice: Callable[[str], str] = str) -> Path:
    """Copies of the patch (listening on `port`) and of its voice abstraction, side by side in `folder`."""
    text = PD_PATCH.read_text()
    assert "netreceive -u -b 9000;" in text
    folder.mkdir(parents=True, exist_ok=True)
    main = folder / PD_PATCH.name
    main.write_text(edit_main(text.replace("netreceive -u -b 9000;", f"netreceive -u -b {port};")))
    (folder / PD_VOICE.name).write_text(edit_voice(PD_VOICE.read_text()))
    return main


def write_wavs(folder: Path) -> dict[str, Wav]:
    return write_voice_wavs(folder)


class PdConsole:
    """Pd's printed lines, and the voice lines the scenario expects so far."""

    def __init__(self, pd: PeerProcess) -> None:
        self.pd = pd
        self.expected_voice_lines: list[str] = []
        self.expected_play_lines: list[str] = []

    def voice_lines(self) -> list[str]:
        return [line for line in self.pd.output() if line.startswith("voice ")]

    def expect(self, *lines: str) -> None:
        """Wait until as many voice lines as expected so far are printed (or STEP_TIMEOUT_S), then check
        them all, in order: a wrong line fails at once, a missing one after the timeout."""
        self.expected_voice_lines += lines
        count = len(self.expected_voice_lines)
        self.pd.wait_for(lambda line: line.startswith("voice "), count=count, timeout_s=STEP_TIMEOUT_S)
        assert self.voice_lines()[:count] == self.expected_voice_lines

    def played(self, message: protocol.Message) -> str:
        """The line [print pict2audio-play] prints for a play message: its arguments as they are."""
        path, pitch, volume, timbre, stroke_id = message.args
        line = f"pict2audio-play: {path} {pitch} {volume} {timbre} {stroke_id}"
        self.expected_play_lines.append(line)
        return line


def run_scenario(pd: PeerProcess, port: int, wavs: dict[str, Wav]) -> None:
    """Overlapping plays, a retrigger, a stop, a stolen voice with a stale stop, a trigger, a file that ends,
    then clear; every step is checked against the voice lines Pd prints."""
    console = PdConsole(pd)
    send = StepSender(port)  # each step's bundle 100 ms after the last

    def play(name: str, stroke_id: int) -> protocol.Message:
        message = protocol.play_message(wavs[name].match(), stroke_id)
        console.played(message)
        return message

    def voice(stroke_id: int) -> int:
        return stroke_id % VOICES

    a, b, c, d, e, short = (wavs[n] for n in ("a", "b", "c", "d", "e", "short"))
    try:
        # three strokes sound together, each on its own voice with its own file
        send(protocol.stroke_begin_message(1), play("a", 1))
        console.expect(f"voice 1: stroke 1 playing {a.path}")
        prediction = Prediction.from_probabilities(np.eye(12)[2], [0.1, 0.8, 0.1], np.eye(8)[6])
        send(protocol.labels_message(prediction, 2), play("b", 2))
        console.expect(f"voice 2: stroke 2 playing {b.path}")
        send(protocol.match_message(c.match(0.75), 3), play("c", 3))
        console.expect(f"voice 3: stroke 3 playing {c.path}")
        # the same stroke again with another file: its voice plays the new one
        send(play("d", 2))
        console.expect(f"voice 2: stroke 2 playing {d.path}")
        # stop one stroke: only its voice stops; its table held its own file
        send(protocol.voice_stop_message(1))
        console.expect(f"voice 1: stroke 1 stopped ({a.frames} samples)")
        # a newer stroke takes voice 3 (19 mod 16); a late stop for stroke 3 leaves it sounding
        assert voice(19) == voice(3)
        send(protocol.stroke_begin_message(19), play("e", 19))
        console.expect(f"voice 3: stroke 19 playing {e.path}")
        send(protocol.voice_stop_message(3))
        console.expect("voice 3: stop 3 ignored")
        # a trigger (stroke 0) and a short file that plays to its end
        send(play("b", 0))
        console.expect(f"voice 0: stroke 0 playing {b.path}")
        send(play("short", 5))
        console.expect(f"voice 5: stroke 5 playing {short.path}", f"voice 5: stroke 5 done ({short.frames} samples)")
        # clear: every voice that still sounds stops (0, 2 and 3), each with its own last file
        send(protocol.override_message(Overrides(pitch=72)), protocol.stroke_end_message(19),
             protocol.clear_message(3))
        console.expect(f"voice 0: stroke 0 stopped ({b.frames} samples)",
                       f"voice 2: stroke 2 stopped ({d.frames} samples)",
                       f"voice 3: stroke 19 stopped ({e.frames} samples)")
        # after the clear nothing more stops; a new stroke plays again
        send(play("a", 7))
        console.expect(f"voice 7: stroke 7 playing {a.path}")
    finally:
        send.close()
    assert console.voice_lines() == console.expected_voice_lines
    assert [line for line in pd.output() if line.startswith("pict2audio-play:")] == console.expected_play_lines
    assert [line for line in pd.output() if any(p in line.lower() for p in PROBLEMS)] == []


def start_pd(patch: Path) -> PeerProcess:
    binary = require_binary("pd", "puredata-core")
    pd = PeerProcess([binary, "-nogui", "-noaudio", "-stderr", "-open", str(patch)])
    # [netreceive] binds its port when it is created; the patch prints this at load, after that
    if not pd.wait_for(lambda line: line == "pict2audio: ready", timeout_s=15):
        state = "exited" if pd.proc.poll() is not None else "is running"
        pd.stop()
        pytest.fail(f"pd did not load {patch} ({state}): {pd.output()}")
    return pd


def test_each_stroke_plays_its_own_file_on_its_own_voice(tmp_path):
    port = free_udp_port()
    wavs = write_wavs(tmp_path / "wavs")
    pd = start_pd(patch_pair_on_port(tmp_path / "pd", port))
    try:
        run_scenario(pd, port, wavs)
    finally:
        pd.stop()


BROKEN = {
    # every stroke on voice 0: the voices would not overlap
    "one voice for all": (lambda text: text.replace("mod 16", "mod 1"), str),
    # one table for every voice: each would play (and report) whatever file was loaded last
    "one shared table": (str, lambda text: text.replace("\\$0-sample", "pict2audio-shared-sample")),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_the_scenario_fails_on_a_broken_patch(tmp_path, name):
    edit_main, edit_voice = BROKEN[name]
    assert edit_main(PD_PATCH.read_text()) != PD_PATCH.read_text() or edit_voice(PD_VOICE.read_text()) != (
        PD_VOICE.read_text())
    port = free_udp_port()
    wavs = write_wavs(tmp_path / "wavs")
    pd = start_pd(patch_pair_on_port(tmp_path / "pd", port, edit_main=edit_main, edit_voice=edit_voice))
    try:
        with pytest.raises(AssertionError):
            run_scenario(pd, port, wavs)
    finally:
        pd.stop()
