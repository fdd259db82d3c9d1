"""The session's MIDI ports from the config: controller input with MIDI learn, and MIDI out.

`MidiLearn` binds the next control moved to an armed target and saves the mapping as the config's
`[midi.mapping]` table (bridge.adapters.config_file: atomic, other tables kept).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from bridge.adapters.midi_mido import MidiInput, Post
from bridge.adapters.midi_out_mido import MidiOutput
from bridge.app.config import Config, default_config_path
from bridge.core.bank import SoundBank
from bridge.core.midi_mapping import Binding, MidiMapper, MidiMapping
from bridge.core.midi_out import MidiOutMapping, sample_notes

log = logging.getLogger(__name__)


def save_mapping(path: Path, mapping: MidiMapping) -> None:
    """Write `[midi.mapping]` into the TOML config atomically, keeping every other table
    (bridge.adapters.config_file: symlinks followed, permissions kept, errors name the folder)."""
    from bridge.adapters.config_file import save_config_table

    save_config_table(path, "midi.mapping", mapping.to_dict(), what="the MIDI mapping")


class MidiLearn:
    """Arm a target, move a control: the mapping is bound and saved to the config file.

    `notify(text)` shows a short message (the canvas HUD); it is called from the MIDI thread.
    """

    def __init__(self, midi: MidiInput, config_path: Path, *, notify: Callable[[str], None] | None = None) -> None:
        self.midi = midi
        self.config_path = config_path
        self.notify = notify or (lambda text: log.info("%s", text))
        midi.mapper.on_learned = self._learned

    def arm(self, target: str) -> None:
        self.midi.arm(target)
        self.notify(f"MIDI learn: move a control for {target}")

    def cancel(self) -> None:
        self.midi.arm(None)
        self.notify("MIDI learn cancelled")

    def _learned(self, target: str, binding: Binding, mapping: MidiMapping) -> None:
        """The binding is in use already; saving it must not fail the MIDI thread, only say why not."""
        try:
            save_mapping(self.config_path, mapping)
        except Exception as exc:  # whatever the write throws: the HUD says so and the session goes on
            log.error("MIDI learn: %s = %s in use but not saved: %s", target, binding, exc)
            self.notify(f"MIDI learn: {target} = {binding} in use, NOT saved: {exc}")
            return
        self.notify(f"MIDI learn: {target} = {binding}, saved to {self.config_path}")


def start_midi(config: Config, post: Post, *, notify: Callable[[str], None] | None = None
               ) -> tuple[MidiInput | None, MidiLearn | None]:
    """The session's MIDI input from a Config (None when config.midi_in is unset or the port is missing).

    A bad `[midi.mapping]` is a ConfigError (strict: the user fixes the file).
    """
    if not config.midi_in:
        return None, None
    mapper = MidiMapper(MidiMapping.from_dict(config.midi_mapping), follow_clock=config.midi_clock)
    midi = MidiInput(config.midi_in, post=post, mapper=mapper, backend=config.midi_backend)
    if not midi.open():
        if notify is not None:
            notify(f"MIDI off: {midi.error}")
        return None, None
    return midi, MidiLearn(midi, config.config_path or default_config_path(), notify=notify)


def start_midi_output(config: Config, bank: SoundBank) -> MidiOutput | None:
    """The session's MIDI output from a Config (None when config.midi_out is unset or the port cannot be
    opened: one error line). A bad `[midi.out]` table is a ConfigError."""
    if not config.midi_out:
        return None
    from bridge.adapters.sample_info import SampleLengths

    mapping = MidiOutMapping.from_dict(config.midi_out_options)
    output = MidiOutput(config.midi_out, mapping=mapping, backend=config.midi_backend,
                        sample_note=sample_notes(bank) if mapping.note == "sample" else None,
                        sample_length_ms=SampleLengths())
    return output if output.open() else None
