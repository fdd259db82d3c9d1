"""Overlapping voices in the real SuperCollider: patches/pict2audio.scd in sclang, its server scsynth on a
private JACK server (`jackd --no-realtime -d dummy`, benchmarks/jack_dummy.py).

sclang (Debian's supercollider-language, headless: Qt's offscreen platform, QtWebEngine without its
sandbox since CI runs as root) evaluates a small wrapper that points the patch at free ports and then
runs the patch file itself. Real WAV files with different frame counts are written to tmp; the bundles are
built with bridge.core.protocol and sent with OscSender. The patch posts one line per event:

    voice 2: playing /abs/b.wav (242550 frames)      <- the Buffer that voice loaded: its file, its length
    voice 2: released /abs/b.wav (retrigger)          <- retrigger, stop or clear: the synth fades out
    voice 2: ended /abs/b.wav, buffer freed           <- the synth is gone and so is its Buffer
    voice 1: stop ignored                             <- a stop for an id that no longer sounds

The test waits on those lines (a reader thread; no sleeping) and checks each step: every voice loaded its
own file, a retrigger released the old synth and started the new file, stop and clear released their
voices, and every Buffer was freed. A broken variant of the patch (no release on retrigger) must fail it.
Without sclang, scsynth or jackd these tests FAIL (never skip): `.ci/run` installs them.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from osc_peers import REPO, StepSender, free_udp_port, require_binary, write_voice_wavs
from osc_peers import VoiceWav as Wav
from pythonosc.udp_client import SimpleUDPClient
from waiting import LineLog

from benchmarks.jack_dummy import jack_dummy_server
from bridge.core import protocol
from bridge.core.labels import Overrides

pytestmark = pytest.mark.slow  # sclang compiles its class library and boots scsynth: ~5 s a test

SC_PATCH = REPO / "patches" / "pict2audio.scd"
READY_TIMEOUT_S = 60.0  # class library compile + server boot, on a loaded CI machine
STEP_TIMEOUT_S = 10.0
BROKEN_STEP_TIMEOUT_S = 3.0  # a broken patch never prints the missing line: fail it sooner
PROBLEMS = ("error", "failure", "exception", "cannot", "not found")


def write_wavs(folder: Path) -> dict[str, Wav]:
    return write_voice_wavs(folder, b_name="b 4.wav")


class Sclang:
    """sclang running a wrapper that sets the patch's ports, then the patch; its post window as lines.

    It runs in a session of its own, so that scsynth (its child) is ended with it: first `/quit` to the
    server (it closes its JACK client properly), then SIGTERM to the process group."""

    def __init__(self, patch: Path, folder: Path, *, osc_port: int, server_port: int) -> None:
        self.server_port = server_port
        wrapper = folder / "run_patch.scd"
        wrapper.write_text(f"~pict2audioPort = {osc_port};\n"
                           f'Server.default.addr = NetAddr("127.0.0.1", {server_port});\n'
                           f"thisProcess.interpreter.executeFile({_sc_string(str(patch))});\n")
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
        self.proc = subprocess.Popen([require_binary("sclang", "supercollider-language"), str(wrapper)],
                                     cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True)
        assert self.proc.stdout is not None
        self.log = LineLog(self.proc.stdout, name="sclang-output")

    def lines(self) -> list[str]:
        return self.log.lines()

    def voice_lines(self) -> list[str]:
        return [line for line in self.lines() if line.startswith("voice ")]

    def wait_ready(self, osc_port: int) -> None:
        ready = f"pict2audio: listening on UDP port {osc_port}"
        if not self.log.wait_for(lambda line: line == ready, timeout_s=READY_TIMEOUT_S):
            state = "exited" if self.proc.poll() is not None else "is running"
            self.stop()
            pytest.fail(f"sclang did not start the patch ({state}):\n" + "\n".join(self.lines()[-40:]))

    def stop(self) -> None:
        if self.proc.poll() is None:
            SimpleUDPClient("127.0.0.1", self.server_port).send_message("/quit", [])
            self.log.wait_for(lambda line: "exited with exit code" in line, timeout_s=5.0)
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.join(2)


def _sc_string(text: str) -> str:
    """A SuperCollider string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def running_patch(patch: Path, folder: Path) -> Iterator[tuple[Sclang, int]]:
    """The patch in sclang, its server on a private JACK server; yields (sclang, the patch's OSC port)."""
    require_binary("scsynth", "supercollider-server")
    require_binary("jackd", "jackd2")
    osc_port, server_port = free_udp_port(), free_udp_port()
    with jack_dummy_server():
        sclang = Sclang(patch, folder, osc_port=osc_port, server_port=server_port)
        try:
            sclang.wait_ready(osc_port)
            yield sclang, osc_port
        finally:
            sclang.stop()


class Console:
    """The voice lines the scenario expects, step by step."""

    def __init__(self, sclang: Sclang, step_timeout_s: float) -> None:
        self.sclang = sclang
        self.step_timeout_s = step_timeout_s
        self.expected: list[str] = []

    def expect(self, *lines: str) -> None:
        """Wait until every expected line so far is printed (or the step timeout), then check them as a set per
        step: lines of one step may come in any order (a Buffer loads while another voice fades out)."""
        self.expected += lines
        self.sclang.log.wait_for(lambda line: line.startswith("voice "), count=len(self.expected),
                                 timeout_s=self.step_timeout_s)
        printed = self.sclang.voice_lines()
        assert sorted(printed[: len(self.expected)]) == sorted(self.expected), "\n".join(printed)
        assert sorted(printed[len(self.expected) - len(lines): len(self.expected)]) == sorted(lines)


def play(wav: Wav, stroke_id: int) -> protocol.Message:
    return protocol.play_message(wav.match(), stroke_id)


def run_scenario(sclang: Sclang, port: int, wavs: dict[str, Wav], *, step_timeout_s: float = STEP_TIMEOUT_S) -> None:
    """Overlapping plays, a retrigger, a stop, a stale stop, a trigger (id 0), a file that plays to its end,
    an unreadable file, clear, then one more voice; every step checked against the posted lines."""
    console = Console(sclang, step_timeout_s)
    send = StepSender(port)  # each step's bundle 100 ms after the last

    def playing(wav: Wav, stroke_id: int) -> str:
        return f"voice {stroke_id}: playing {wav.path} ({wav.frames} frames)"

    def released(wav: Wav, stroke_id: int, why: str) -> str:
        return f"voice {stroke_id}: released {wav.path} ({why})"

    def ended(wav: Wav, stroke_id: int) -> str:
        return f"voice {stroke_id}: ended {wav.path}, buffer freed"

    a, b, c, d, e, short = (wavs[n] for n in ("a", "b", "c", "d", "e", "short"))
    try:
        # three strokes sound together, each with its own Buffer (other addresses of a bundle are ignored)
        send(protocol.stroke_begin_message(1), play(a, 1))
        console.expect(playing(a, 1))
        send(protocol.match_message(b.match(0.75), 2), play(b, 2))
        console.expect(playing(b, 2))
        send(play(c, 3))
        console.expect(playing(c, 3))
        # the same stroke again with another file: the old synth is released and its Buffer freed
        send(play(d, 2))
        console.expect(released(b, 2, "retrigger"), playing(d, 2), ended(b, 2))
        # stop one stroke: only its voice ends; a second stop for it finds nothing
        send(protocol.voice_stop_message(1))
        console.expect(released(a, 1, "stop"), ended(a, 1))
        send(protocol.voice_stop_message(1))
        console.expect("voice 1: stop ignored")
        # a trigger (stroke 0), and a short file that plays to its end on its own
        send(play(e, 0))
        console.expect(playing(e, 0))
        send(play(short, 5))
        console.expect(playing(short, 5), ended(short, 5))
        # a file that cannot be read takes no voice
        send(play(Wav(str(Path(a.path).with_name("missing.wav")), 0, a.labels), 9))
        console.expect(f"voice 9: cannot read {Path(a.path).with_name('missing.wav')}")
        # clear: every voice that still sounds (0, 2, 3), each with its own last file
        send(protocol.override_message(Overrides(pitch=72)), protocol.clear_message(3))
        console.expect(released(e, 0, "clear"), released(d, 2, "clear"), released(c, 3, "clear"),
                       ended(e, 0), ended(d, 2), ended(c, 3))
        # after the clear a new stroke plays again
        send(play(a, 7))
        console.expect(playing(a, 7))
        send(protocol.voice_stop_message(7))
        console.expect(released(a, 7, "stop"), ended(a, 7))
    finally:
        send.close()
    voice_lines = sclang.voice_lines()
    assert len(voice_lines) == len(console.expected), "\n".join(voice_lines)  # nothing more happened
    started = sorted(line.split(" (")[0].replace(": playing", ":") for line in voice_lines if ": playing " in line)
    freed = sorted(line.split(", buffer freed")[0].replace(": ended", ":") for line in voice_lines if "freed" in line)
    assert started == freed  # every Buffer that was loaded was freed
    expected_problems = [line for line in console.expected if "cannot read" in line]
    problems = [line for line in sclang.lines() if any(p in line.lower() for p in PROBLEMS)]
    assert problems == expected_problems, "\n".join(problems)


def test_each_stroke_plays_its_own_file_on_its_own_synth(tmp_path):
    wavs = write_wavs(tmp_path / "wavs")
    with running_patch(SC_PATCH, tmp_path) as (sclang, port):
        run_scenario(sclang, port, wavs)


BROKEN: dict[str, Callable[[str], str]] = {
    # a retrigger starts the new file but leaves the old synth sounding (and its Buffer allocated)
    "no release on retrigger": lambda text: text.replace('release.(id, "retrigger");', ""),
}


@pytest.mark.parametrize("name", BROKEN)
def test_the_scenario_fails_on_a_broken_patch(tmp_path, name):
    text = SC_PATCH.read_text()
    broken = BROKEN[name](text)
    assert broken != text
    patch = tmp_path / "broken.scd"
    patch.write_text(broken)
    wavs = write_wavs(tmp_path / "wavs")
    with running_patch(patch, tmp_path) as (sclang, port), pytest.raises(AssertionError):
        run_scenario(sclang, port, wavs, step_timeout_s=BROKEN_STEP_TIMEOUT_S)
