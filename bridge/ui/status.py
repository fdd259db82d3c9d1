"""The HUD's words for the state of the outputs and inputs, read from the real objects (pure; no pygame).

    audio_status("local", parts.audio, session="ready")   # "3 / 16 voices", "off (no device)", ...
    midi_status("nanoKONTROL", midi_input)               # "nanoKONTROL 1", "off", "nanoKONTROL 1 lost, retrying"
"""

from __future__ import annotations

from typing import Any


def audio_status(setting: str, audio: Any, *, session: str) -> str:
    """Local playback as it is: off by choice, off for want of a device, starting, or voices sounding.

    setting: the --audio choice ("local" or "none"); audio: the session's LocalAudio (None without one);
    session: "loading", "ready" or "offline" (the model or bank could not be loaded).
    """
    if setting != "local":
        return f"off (--audio {setting})"
    if session == "offline":
        return "off (no session)"
    if audio is None or audio.enabled is None:
        return "starting..." if session == "loading" or audio is not None else "off"
    if not audio.enabled:
        return "off (no device)"
    return f"{len(audio.sounding())} / {audio.voices} voices"


def midi_status(wanted: str | None, midi: Any) -> str:
    """The MIDI input: its port, "off" (none asked for, or it could not be opened), or lost and retrying.

    wanted: the --midi-in setting; midi: the running MidiInput, None when there is none.
    """
    if midi is None:
        return f"off ({wanted!r} not opened)" if wanted else "off"
    name = midi.port_name or midi.spec
    return name if midi.connected else f"{name} lost, retrying"
