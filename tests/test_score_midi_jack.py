"""The score's transport from a MIDI controller, end to end with real ports: a controller process -> JACK (the
dummy driver) -> the bridge process (`play --midi-in virtual`, headless) -> OSC on loopback.

MIDI start, stop and continue (system real-time messages) start, stop and continue the score; the bridge
answers with /pict2audio/transport and, while it plays, /pict2audio/playhead. The helpers and fixtures are
those of test_midi_rtmidi_jack.py (a private JACK server per test, every message re-sent until heard: the
non-realtime dummy server may drop one on a busy machine; start, stop and continue are idempotent once heard).
"""

from __future__ import annotations

import mido
from test_midi_rtmidi_jack import controller, errors, jack, move, osc, play  # noqa: F401  (fixtures)

from bridge.adapters.jack_dummy import JACK_BACKEND


def transports(received) -> list[tuple]:
    return received.args("/pict2audio/transport")


def test_midi_start_stop_and_continue_drive_the_score(jack, osc):  # noqa: F811  (the fixtures)
    bridge = play(jack, osc, "--midi-in", "virtual", "--midi-backend", JACK_BACKEND, "--bpm", "180", "--bars", "1")
    keys = controller(jack, "Sequencer", "out", connect_to="Pict2Audio:Pict2Audio")
    move(keys, bridge, osc, mido.Message("start"), lambda: transports(osc)[-1:] == [("playing", 180.0)])
    move(keys, bridge, osc, mido.Message("stop"), lambda: transports(osc)[-1:] == [("stopped", 180.0)])
    heard_playhead = len(osc.args("/pict2audio/playhead"))
    assert heard_playhead > 0  # it went out while the score played
    move(keys, bridge, osc, mido.Message("continue"), lambda: transports(osc)[-1:] == [("playing", 180.0)]
         and len(osc.args("/pict2audio/playhead")) > heard_playhead)
    assert all(0.0 <= args[0] <= 1.0 for args in osc.args("/pict2audio/playhead"))
    assert bridge.alive() and errors(bridge) == [], bridge.tail()
