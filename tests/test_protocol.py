"""The OSC contract as data (SPEC §4): fixed addresses and argument order, Pd-safe types only."""

from __future__ import annotations

import pytest

from bridge.core import protocol
from bridge.core.bank import Match, Sample
from bridge.core.labels import Labels, Overrides, Prediction

SPEC_TABLE = {  # SPEC §4: address -> argument type tags in order (a voice's messages end with its stroke id)
    "/pict2audio/labels": "issfffi",
    "/pict2audio/match": "sissfi",
    "/pict2audio/play": "sissi",
    "/pict2audio/stroke/begin": "i",
    "/pict2audio/stroke/end": "i",
    "/pict2audio/voice/stop": "i",
}


def test_spec_addresses_and_argument_order_are_kept():
    table = {a.path: a.typetags for a in protocol.ADDRESSES.values()}
    for path, tags in SPEC_TABLE.items():
        assert table[path] == tags


def test_only_types_pure_data_understands():
    for address in protocol.ADDRESSES.values():
        assert set(address.typetags) <= {"i", "f", "s"}, address.path


def test_messages_are_checked_against_the_table():
    with pytest.raises(ValueError, match="expected OSC type"):
        protocol.Message("/pict2audio/stroke/begin", (1.0,))
    with pytest.raises(ValueError, match="takes 1 arguments"):
        protocol.Message("/pict2audio/stroke/end", ())
    with pytest.raises(ValueError, match="unknown OSC address"):
        protocol.Message("/nope", ())


def test_constructors_follow_the_spec_argument_order():
    prediction = Prediction.from_probabilities([0.0] * 11 + [1.0], [0.2, 0.7, 0.1], [0.0] * 7 + [1.0])
    assert protocol.labels_message(prediction, 3).args == (80, "med", "reed", 1.0, 0.7, 1.0, 3)
    match = Match(Sample("/abs/a.wav", Labels(72, "low", "flute")), 0.5)
    assert protocol.match_message(match, 4).args == ("/abs/a.wav", 72, "low", "flute", 0.5, 4)
    assert protocol.play_message(match, 5).args == ("/abs/a.wav", 72, "low", "flute", 5)
    assert protocol.voice_stop_message(6).args == (6,)
    assert protocol.override_message(Overrides(pitch=70)).args == (70, "none", "none")
