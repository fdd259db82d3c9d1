"""Helpers for the tests that talk to real OSC peers over loopback UDP: free ports, oscdump, Pd, WAVs."""

from __future__ import annotations

import shutil
import socket
import subprocess
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from waiting import LineLog

from bridge.core.bank import Match, Sample, SoundBank
from bridge.core.labels import PITCHES, TIMBRES, VOLUMES, Labels
from bridge.core.protocol import Bundle, Message

REPO = Path(__file__).resolve().parents[1]
PD_PATCH = REPO / "patches" / "pict2audio.pd"


def free_udp_port() -> int:
    """A UDP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_binary(name: str, package: str) -> str:
    """The path of a peer binary; FAILS (never skips) when it is missing: CI installs it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install the Debian package {package} (.ci/run does)")
    return path


class PeerProcess:
    """A subprocess whose output lines are collected on a thread (stdout and stderr merged)."""

    def __init__(self, argv: list[str], *, cwd: Path = REPO) -> None:
        self.argv = argv
        self.proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     bufsize=1)
        assert self.proc.stdout is not None
        self._log = LineLog(self.proc.stdout, name=f"{Path(argv[0]).name}-output")

    def output(self) -> list[str]:
        return self._log.lines()

    def wait_for(self, predicate: Callable[[str], bool], *, timeout_s: float = 10.0, count: int = 1,
                 poke: Callable[[], None] | None = None, poke_every_s: float = 0.2) -> list[str]:
        """Lines matching `predicate`, as soon as `count` of them are printed (or after timeout_s, or when
        the process closed its output); `poke()` is called at once and every poke_every_s meanwhile."""
        return self._log.wait_for(predicate, timeout_s=timeout_s, count=count, poke=poke, poke_every_s=poke_every_s)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.join(2)


def write_tone(path: Path, *, midi_note: float, amplitude: float = 0.3, duration_s: float = 0.25,
               sample_rate_hz: int = 16000) -> Path:
    """A mono 16-bit sine WAV at the frequency of `midi_note`."""
    t = np.arange(int(duration_s * sample_rate_hz)) / sample_rate_hz
    freq_hz = 440.0 * 2 ** ((midi_note - 69) / 12)
    data = (amplitude * np.sin(2 * np.pi * freq_hz * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate_hz)
        out.writeframes(data.tobytes())
    return path


def wav_bank(
    folder: Path, *, timbres: tuple[str, ...] = ("keyboard",), volumes: tuple[str, ...] = VOLUMES
) -> SoundBank:
    """A real bank: one small WAV per (pitch, volume, timbre), labels known from how it was made."""
    folder.mkdir(parents=True, exist_ok=True)
    amplitude = {"low": 0.03, "med": 0.3, "high": 0.9}
    samples = []
    for timbre in timbres:
        for volume in volumes:
            for pitch in PITCHES:
                path = write_tone(folder / f"{timbre}-{pitch}-{volume}.wav", midi_note=pitch,
                                  amplitude=amplitude[volume])
                samples.append(Sample(str(path.resolve()), Labels(pitch, volume, timbre)))
    assert set(timbres) <= set(TIMBRES)
    return SoundBank(tuple(samples), version="test-wav-bank")


@dataclass(frozen=True)
class VoiceWav:
    """A sample written for the voice tests: its absolute path, its length in frames and its labels."""

    path: str
    frames: int
    labels: Labels

    def match(self, score: float = 0.9) -> Match:
        """The match of this sample with `score`, as a play message carries it."""
        return Match(Sample(self.path, self.labels), score)


class StepSender:
    """Sends each call's messages as one bundle to 127.0.0.1:port, its t_ms `step_ms` after the previous one's."""

    def __init__(self, port: int, step_ms: float = 100.0) -> None:
        from bridge.adapters.osc_out import OscSender

        self._sender = OscSender([("127.0.0.1", port)])
        self._step_ms = step_ms
        self._t_ms = 0.0

    def __call__(self, *messages: Message) -> None:
        self._t_ms += self._step_ms
        self._sender(Bundle(messages, self._t_ms))

    def close(self) -> None:
        self._sender.close()


def write_voice_wavs(folder: Path, *, b_name: str = "b4.wav") -> dict[str, VoiceWav]:
    """Files of different lengths and rates (so a receiver's frame count names its file), long enough to
    still sound when a test cuts them, except `short`, which plays to its end. `b_name` lets a test put
    a space in one name."""
    specs = {  # name: (relative path, seconds, sample rate, labels)
        "a": ("keys/a4.wav", 20.0, 8000, Labels(69, "med", "keyboard")),
        "b": (f"flute/{b_name}", 22.0, 11025, Labels(71, "low", "flute")),
        "c": ("more/c5.wav", 24.0, 8000, Labels(72, "high", "string")),
        "d": ("keys/d5.wav", 26.0, 8000, Labels(74, "med", "keyboard")),
        "e": ("e/e5.wav", 21.0, 16000, Labels(76, "med", "organ")),
        "short": ("short.wav", 0.25, 8000, Labels(80, "low", "reed")),
    }
    wavs = {}
    for name, (relative, seconds, rate, labels) in specs.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_tone(path, midi_note=labels.pitch, duration_s=seconds, sample_rate_hz=rate)
        wavs[name] = VoiceWav(str(path.resolve()), int(seconds * rate), labels)
    assert len({w.frames for w in wavs.values()}) == len(wavs)  # a frame count names its file
    return wavs
