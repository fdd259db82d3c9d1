"""Controller moves from a Standard MIDI File, as timed control events for `replay --midi-file`.

The file goes through the same `MidiMapper` as a live controller; times come from the file's tempo
map (mido converts ticks to seconds while iterating), so t_ms 0 is the start of the file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bridge.core.events import ControlEvent, TransportControl
from bridge.core.midi_mapping import MidiMapper, MidiMapping
from bridge.errors import BridgeError

log = logging.getLogger(__name__)


def midi_file_controls(path: Path | str, mapping: MidiMapping | None = None, *,
                       offset_ms: float = 0.0) -> tuple[ControlEvent, ...]:
    """Controls (override / release / trigger) caused by the file's messages, in time order."""
    import mido

    try:
        midi_file = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError) as exc:
        raise BridgeError(f"MIDI file {path} cannot be read ({exc}); expected a Standard MIDI File (.mid)") from exc
    if midi_file.type == 2:
        raise BridgeError(f"MIDI file {path} is type 2 (independent tracks); save it as type 0 or 1")
    mapper = MidiMapper(mapping or MidiMapping())
    controls: list[ControlEvent] = []
    t_s = 0.0
    for msg in midi_file:  # merged tracks; msg.time = seconds since the previous message
        t_s += msg.time
        if msg.is_meta:
            continue
        controls.extend(event.at(offset_ms + t_s * 1000.0) for event in mapper.handle(msg.dict())
                        if not isinstance(event, TransportControl))  # a file's transport is not a control
    log.info("MIDI file %s: %d controls over %.1f s", path, len(controls), t_s)
    return tuple(controls)

