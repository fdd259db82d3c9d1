"""Following incoming MIDI clock, exactly (no wall clock): the follower's tempo and phase from jittered, batched and
lost ticks, and the score player driven by ticks on a clock of the test's own (notes on the clock's beats, tempo
reported, a recorded performance replayed to the same notes)."""

from __future__ import annotations

import math
import random

import pytest
from score_rig import Clock, line
from stand_ins import InkClassifier, label_matcher

from bridge.app.score_player import TEMPO_STEP_BPM, ScorePlayer, performance_events
from bridge.core.drawing import Drawing
from bridge.core.engine import Engine
from bridge.core.events import ScoreNoteOn, ScoreState, ScoreTransport, TransportControl
from bridge.core.midi_clock import PPQN, ClockFollower
from bridge.core.midi_mapping import MidiMapper
from bridge.core.score import ScoreSettings


def period_ms(bpm: float) -> float:
    return 60_000.0 / (PPQN * bpm)


def arrivals(bpm: float, count: int, *, start_ms: float = 0.0, jitter_ms: float = 0.0, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [start_ms + i * period_ms(bpm) + rng.uniform(-jitter_ms, jitter_ms) for i in range(count)]


def batched(times: list[float], cycle_ms: float) -> list[float]:
    """Every tick delivered at the end of the audio period it was sent in (as JACK hands MIDI over)."""
    return [(t // cycle_ms + 1) * cycle_ms for t in times]


def follow(times: list[float]) -> ClockFollower:
    follower = ClockFollower()
    for t in times:
        follower.tick(t)
    return follower


# -- the follower -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("bpm", [90.0, 120.0, 140.0])
def test_a_jittered_clock_gives_its_tempo_and_its_beats(bpm):
    follower = follow(arrivals(bpm, 96, jitter_ms=1.0))
    assert follower.fit.bpm == pytest.approx(bpm, abs=0.15)
    assert follower.fit.at_ms == pytest.approx(95 * period_ms(bpm), abs=0.6)  # the newest tick, on its beat grid
    assert (follower.last_tick, follower.lost, follower.tempo_jumps) == (95, 0, 0)


@pytest.mark.parametrize("bpm, cycle_ms", [(140.0, 256 / 48.0), (140.0, 1024 / 48.0), (90.0, 1024 / 48.0)])
def test_ticks_batched_by_audio_periods_are_counted_not_rounded(bpm, cycle_ms):
    follower = follow(batched(arrivals(bpm, 192), cycle_ms))
    assert follower.fit.bpm == pytest.approx(bpm, abs=0.5)
    assert follower.last_tick == 191 and follower.lost == 0
    assert abs(follower.fit.at_ms - 191 * period_ms(bpm) - cycle_ms / 2) < cycle_ms  # late by half a period


@pytest.mark.parametrize("missing", [[50], [50, 51], [30, 70]])
def test_a_lost_tick_is_found_and_the_count_stays_on_the_beat(missing):
    times = arrivals(140.0, 120, jitter_ms=0.5)
    follower = follow([t for i, t in enumerate(times) if i not in missing])
    assert follower.lost == len(missing) and follower.last_tick == 119  # numbered as sent
    assert follower.fit.bpm == pytest.approx(140.0, abs=0.2)


def test_a_lost_tick_hidden_by_late_ticks_from_every_short_run_is_found_a_little_later():
    times = arrivals(140.0, 160, jitter_ms=0.5)
    late = {i: t + 12.0 for i, t in enumerate(times) if 101 < i < 125 and i % 3 == 0}  # one in every run of 4
    follower = follow([late.get(i, t) for i, t in enumerate(times) if i != 100])
    assert follower.lost == 1 and follower.last_tick == 159 and follower.tempo_jumps == 0
    assert follower.fit.time_of(159) == pytest.approx(times[159], abs=1.0)


@pytest.mark.parametrize("first, second", [(90.0, 140.0), (140.0, 90.0)])
def test_a_tempo_change_is_taken_within_a_few_ticks_and_is_not_a_lost_tick(first, second):
    before = arrivals(first, 96, jitter_ms=0.5)
    after = arrivals(second, 12, start_ms=before[-1] + period_ms(second), jitter_ms=0.5, seed=2)
    follower = follow(before + after)
    assert follower.fit.bpm == pytest.approx(second, abs=1.0)
    assert follower.lost == 0 and follower.tempo_jumps >= 1 and follower.last_tick == 107


@pytest.mark.parametrize("bpm", [90.0, 140.0])
def test_stalls_are_neither_lost_ticks_nor_tempo_changes(bpm):
    """A sequencer that wakes late now and then (1 % of ticks, by 20..150 ms) sends the ticks it owes at once."""
    rng, sent, late_until = random.Random(4), [], -math.inf
    for i in range(800):
        late = rng.uniform(20, 150) if rng.random() < 0.01 else rng.uniform(0, 0.5)
        late_until = max(i * period_ms(bpm), late_until) + late
        sent.append(late_until)
    follower, errors = ClockFollower(), []
    for i, t in enumerate(batched(sent, 256 / 48.0)):
        fit = follower.tick(t)
        if i > 100:
            errors.append(abs(fit.bpm - bpm))
    assert (follower.lost, follower.tempo_jumps, follower.last_tick) == (0, 0, 799)
    assert sorted(errors)[int(0.95 * len(errors))] < 1.0  # 95 % of the time within 1 bpm


def test_a_silence_or_a_clock_that_runs_backwards_starts_a_new_fit_and_the_count_goes_on():
    follower = follow(arrivals(120.0, 10))
    assert follower.tick(10_000.0) is None and follower.fit is None  # after a silence: one tick is no tempo
    follower.tick(10_000.0 + period_ms(100.0))
    assert follower.tick(10_000.0 + 2 * period_ms(100.0)).bpm == pytest.approx(100.0)
    assert follower.tick(5.0) is None and follower.last_tick == 13


def test_clock_and_song_position_become_transport_controls_only_when_following():
    assert MidiMapper().handle({"type": "clock"}) == []
    follows = MidiMapper(follow_clock=True)
    assert follows.handle({"type": "clock"}) == [TransportControl(action="clock")]
    assert follows.handle({"type": "songpos", "pos": 8}) == [TransportControl(action="songpos", value=8.0)]
    assert follows.handle({"type": "songpos", "pos": 99999}) == []  # malformed: ignored
    assert follows.handle({"type": "start"}) == [TransportControl(action="start")]


# -- the player following a clock ---------------------------------------------------------------------------


class ClockedStepper:
    """A following ScorePlayer on the test's clock; `ticks` sends clock ticks (arrival times in session ms),
    stepping the player through everything due in between."""

    def __init__(self, settings: ScoreSettings, strokes: list) -> None:
        self.clock = Clock()
        self.posted: list = []
        self.player = ScorePlayer(settings, post=self.posted.append, strokes=lambda: tuple(strokes),
                                  session_ms=lambda instant: (instant - 50.0) * 1000.0, follow_clock=True,
                                  clock=self.clock, wall=None)

    def at(self, t_ms: float) -> None:
        """Step through every due time up to session time t_ms."""
        until = 50.0 + t_ms / 1000.0
        while (due := self.player.step()) <= until:
            self.clock.t = max(due, self.clock.t)
        self.clock.t = until

    def send(self, t_ms: float, action: str, value: float | None = None) -> None:
        self.at(t_ms)
        self.player.control(TransportControl(t_ms=t_ms, action=action, value=value))

    def ticks(self, times: list[float]) -> None:
        for t in times:
            self.send(t, "clock")

    def notes(self) -> list[ScoreNoteOn]:
        return [e for e in self.posted if isinstance(e, ScoreNoteOn)]

    def recorded(self) -> tuple[TransportControl, ...]:
        return tuple(e.control for e in self.posted if isinstance(e, ScoreTransport))


BAR = 4 * PPQN  # ticks in one bar of 4/4


def test_notes_fall_on_the_clocks_ticks_and_follow_its_tempo():
    stroke = line(105, 195, width=10)  # ink from 100 to 200 px: beat 2 (tick 24) to beat 3 (tick 48) of the bar
    stepper = ClockedStepper(ScoreSettings(bpm=120, bars=1), [stroke])
    slow = arrivals(90.0, 48, start_ms=1000.0, jitter_ms=1.0)
    stepper.ticks(slow)  # the clock runs while stopped: its tempo becomes the score's
    assert stepper.player.settings.bpm == pytest.approx(90.0, abs=TEMPO_STEP_BPM)
    stepper.send(slow[-1] + 5.0, "start")  # the next tick is the first beat
    more = arrivals(90.0, 3 * BAR, start_ms=slow[-1] + period_ms(90.0), jitter_ms=1.0, seed=3)
    stepper.ticks(more)
    ons = [note.t_ms for note in stepper.notes()]
    assert ons == pytest.approx([more[24], more[BAR + 24], more[2 * BAR + 24]], abs=1.5)
    assert [e.bpm for e in stepper.posted if isinstance(e, ScoreState)] == [pytest.approx(90.0, abs=0.5)]
    fast = arrivals(140.0, 2 * BAR, start_ms=more[-1] + period_ms(140.0), jitter_ms=1.0, seed=4)
    stepper.ticks(fast)  # the tempo changes on the bar line: pass 3 starts on fast[0]
    ons = [note.t_ms for note in stepper.notes()][3:]
    assert ons == pytest.approx([fast[24], fast[BAR + 24]], abs=2.0)
    states = [e for e in stepper.posted if isinstance(e, ScoreState)]
    assert states[-1].bpm == pytest.approx(140.0, abs=0.5)
    assert {c.action for c in stepper.recorded()} == {"tempo", "start", "sync"}  # never a raw clock tick


def test_a_song_position_and_continue_start_the_pass_there_on_the_next_tick():
    stroke = line(205, 295, width=10)  # from 200 px: the second half of the bar, tick 48
    stepper = ClockedStepper(ScoreSettings(bpm=120, bars=1), [stroke])
    clock = arrivals(120.0, 48, start_ms=500.0)
    stepper.ticks(clock)
    stepper.send(clock[-1] + 2.0, "songpos", 4.0)  # four sixteenths: the second beat (tick 24)
    stepper.send(clock[-1] + 3.0, "continue")
    more = arrivals(120.0, 48, start_ms=clock[-1] + period_ms(120.0))
    stepper.ticks(more)
    assert [note.t_ms for note in stepper.notes()] == pytest.approx([more[24]], abs=0.5)  # tick 48 of the bar
    assert stepper.recorded()[0] == TransportControl(t_ms=clock[-1] + 2.0, action="position", value=0.25)


def test_a_followed_performance_replays_from_what_was_recorded():
    stroke = line(105, 195, width=10)
    stepper = ClockedStepper(ScoreSettings(bpm=120, bars=1), [stroke])
    clock = arrivals(100.0, 48, start_ms=0.0, jitter_ms=1.0)
    stepper.ticks(clock)
    stepper.send(clock[-1] + 3.0, "start")
    more = arrivals(100.0, 2 * BAR + 30, start_ms=clock[-1] + period_ms(100.0), jitter_ms=1.0, seed=5)
    stepper.ticks(more)
    stepper.send(more[-1] + 1.0, "stop")
    drawing = Drawing(strokes=(stroke,), controls=stepper.recorded(), score=ScoreSettings(bpm=120, bars=1))
    replay = performance_events(drawing)
    assert [(e.t_ms, e.stroke) for e in replay if isinstance(e, ScoreNoteOn)] == [
        (e.t_ms, e.stroke) for e in stepper.notes()]
    engine = Engine(classify=InkClassifier().classify_raster, match=label_matcher)
    assert sum(bool(b and b.find("play")) for b in map(engine.handle, replay)) == 1 + 3  # its own voice, 3 notes


@pytest.mark.parametrize("lost", [BAR + 60, -3])  # in pass 1; or just before start, found only after it
def test_a_lost_tick_leaves_the_notes_on_their_ticks(lost):
    stroke = line(105, 195, width=10)  # tick 24 of each bar
    stepper = ClockedStepper(ScoreSettings(bpm=140, bars=1), [stroke])
    before = arrivals(140.0, 60, start_ms=0.0, jitter_ms=0.5)
    after = arrivals(140.0, 3 * BAR, start_ms=before[-1] + period_ms(140.0), jitter_ms=0.5, seed=6)
    if lost < 0:
        before = before[:lost] + before[lost + 1:]
        stepper.ticks(before)
        stepper.send(before[-1] + 1.0, "start")  # the next tick is the first beat; the lost one was before it
        stepper.ticks(after)
    else:
        stepper.ticks(before)
        stepper.send(before[-1] + 1.0, "start")
        stepper.ticks(after[:lost] + after[lost + 1:])
    assert stepper.player.lost_ticks == 1
    ons = [note.t_ms for note in stepper.notes()]
    assert ons == pytest.approx([after[24], after[BAR + 24], after[2 * BAR + 24]], abs=1.5)
