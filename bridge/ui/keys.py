"""Keyboard commands: 'ctrl+z'-style chords mapped to callbacks, each with a line for the help sheet.

Other modules (e.g. MIDI learn) add theirs with `CanvasApp.add_key_command("l", "MIDI learn", fn)`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import pygame

from bridge.core.errors import ConfigError

_MODS = {"ctrl": pygame.KMOD_CTRL, "shift": pygame.KMOD_SHIFT, "alt": pygame.KMOD_ALT}


@dataclass(frozen=True)
class KeyCommand:
    chord: str  # as written, e.g. "ctrl+shift+z"
    key: int
    mods: int  # pygame.KMOD_* flags that must be held (and no others of ctrl/shift/alt)
    description: str
    callback: Callable[[], None]
    show_in_help: bool = True


def parse_chord(chord: str) -> tuple[int, int]:
    """'ctrl+z' -> (pygame.K_z, KMOD_CTRL); key names as pygame.key.key_code() knows them."""
    *mod_names, key_name = [part.strip() for part in chord.lower().split("+")]
    mods = 0
    for name in mod_names:
        if name not in _MODS:
            raise ConfigError(f"unknown modifier {name!r} in key {chord!r}; use ctrl, shift or alt")
        mods |= _MODS[name]
    try:
        with warnings.catch_warnings():  # SDL names keys without pygame.init(); pygame warns anyway
            warnings.simplefilter("ignore")
            key = pygame.key.key_code(key_name)
    except ValueError as exc:
        raise ConfigError(f"unknown key {key_name!r} in {chord!r} (e.g. 'l', 'f2', 'space', 'ctrl+z')") from exc
    return key, mods


def _held(mod_state: int) -> int:
    """The ctrl/shift/alt flags of an event, either side counting as the generic flag."""
    return sum(flag for flag in _MODS.values() if mod_state & flag)


class KeyMap:
    def __init__(self) -> None:
        self._commands: list[KeyCommand] = []

    def add(self, chord: str, description: str, callback: Callable[[], None], *, show_in_help: bool = True) -> None:
        """Bind a chord; a later binding of the same chord replaces the earlier one."""
        key, mods = parse_chord(chord)
        self._commands = [c for c in self._commands if (c.key, c.mods) != (key, mods)]
        self._commands.append(KeyCommand(chord, key, mods, description, callback, show_in_help))

    def find(self, key: int, mod_state: int) -> KeyCommand | None:
        held = _held(mod_state)
        return next((c for c in self._commands if c.key == key and c.mods == held), None)

    def help_rows(self) -> list[tuple[str, str]]:
        """(keys, description), chords with the same description joined ('ctrl+y / ctrl+shift+z')."""
        rows: dict[str, list[str]] = {}
        for c in self._commands:
            if c.show_in_help:
                rows.setdefault(c.description, []).append(c.chord)
        return [(" / ".join(chords), description) for description, chords in rows.items()]
