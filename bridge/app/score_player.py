"""The live score: a scheduler thread that sweeps the playhead over the canvas and posts its notes ahead of time.

Every due time comes from one anchor (an instant of the monotonic clock and the playhead position there, in
loops), never from the previous wake-up, so nothing drifts however many passes are played. Pending entries
sit in a heap ordered by when they must be posted; one condition variable wakes the thread when the next
entry falls due or the transport changes. A note due at T is posted at T - latency with t_ms = the session
clock's reading at T and `due_unix_s` = T in Unix time, so the OSC sender tags its bundle with T.

Each pass is planned shortly before it begins (`PASS_LEAD_S` plus the latency): the strokes finished by then
are that pass's notes (bridge.core.score.pass_notes), so a stroke drawn while the score loops sounds from the
next pass without a restart, and a note whose stroke has left the page (undo, clear) by its time stays silent.
Each note gets a key of its own; the engine gives it a fresh voice id when it sounds and stops that voice at
its ScoreNoteOff.

Transport (`control(TransportControl)`, from keys, OSC and MIDI): start (pass 0 from the left edge), stop
(sounding notes end: the engine cuts them at ScoreState stopped), continue (from where it stopped), tempo
(the position is kept, every pending entry re-timed), position (0..1: sounding notes end, the pass goes on
from there) and loop (off: the pass playing is the last). A control takes effect at its t_ms (when it was
posted; now if it has none), and every control that took effect is posted as a ScoreTransport for the engine
to record, so `performance_events` replays the performance from the saved drawing.

With `follow_clock`, incoming MIDI clock (`clock` ticks, a `songpos` song position) drives the playhead: the
ticks' tempo and phase (bridge.core.midi_clock) place pass k's start on tick k * 96 * bars after the tick that
followed start (or continue, or a position), and the player re-aligns (`sync`, recorded too) whenever its
schedule and the clock's fitted line part by more than SYNC_MS or SYNC_TEMPO. While it is stopped the clock's
tempo becomes the score's (a recorded `tempo`), in steps of TEMPO_STEP_BPM. A tempo command is ignored then.

The playhead goes out on a grid of `playhead_hz` instants from the start, each with the position at its
instant; one the thread reaches more than a grid step late is skipped.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bridge.core.drawing import Stroke
from bridge.core.events import (
    ControlEvent,
    EditPage,
    Event,
    ScoreNoteOff,
    ScoreNoteOn,
    ScorePlayhead,
    ScoreState,
    ScoreTransport,
    TransportControl,
)
from bridge.core.midi_clock import CLOCKS_PER_SONG_BEAT, PPQN, RESET_GAP_MS, ClockFollower
from bridge.core.score import BEATS_PER_BAR, ScoreError, ScoreSettings, pass_notes, stroke_spans

if TYPE_CHECKING:
    from bridge.core.drawing import Drawing

log = logging.getLogger(__name__)

PASS_LEAD_S = 0.05  # a pass is planned this long (plus the OSC latency) before it begins
START_LEAD_S = 0.01  # start and continue begin this long after the command (plus the latency)
PLAYHEAD_HZ = 30.0
SYNC_MS = 1.0  # re-align to a followed clock when the schedule is this far from the clock's line ...
SYNC_TEMPO = 0.0005  # ... or the tempo differs by this fraction
TEMPO_STEP_BPM = 0.5  # a followed clock's tempo is reported (and becomes the score's) in steps of at least this
POSITION_DIGITS, BPM_DIGITS = 9, 6  # a recorded sync's position (passes) and tempo, rounded so the file stays short


@dataclass(order=True)
class _Entry:
    """One pending action: posted at `send` (monotonic s); `pos` is its place in loops (pass k: k..k+1)."""

    send: float
    seq: int
    pos: float = field(compare=False)
    lead_s: float = field(compare=False)  # how long before `pos` it is posted
    kind: str = field(compare=False)  # "pass", "on", "off", "end"
    payload: Any = field(compare=False)


class ScorePlayer:
    """Plays the page as a score: `post` takes the engine events it makes (LiveSession.post), `strokes()`
    gives the finished strokes (Engine.finished_strokes), `session_ms(instant)` the session clock's reading at
    an instant of `clock` (LiveSession.ms_at). `wall` gives Unix time for the timetags of notes scheduled
    ahead; None: the notes carry no due time (a replay's sender tags them as it sends them)."""

    def __init__(self, settings: ScoreSettings, *, post: Callable[[Event], None],
                 strokes: Callable[[], Sequence[Stroke]], session_ms: Callable[[float], float],
                 latency_ms: float = 0.0, playhead_hz: float = PLAYHEAD_HZ, follow_clock: bool = False,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] | None = time.time) -> None:
        self.settings = settings
        self.enabled = False  # score mode: on from start until a stop by the S key (recorded when saved)
        self.state = "stopped"
        self.posted = 0  # events posted (for tests and the HUD)
        self._post = post
        self._strokes = strokes
        self._session_ms = session_ms
        self._latency_s = max(latency_ms, 0.0) / 1000.0
        self._playhead_s = 1.0 / playhead_hz
        self._clock = clock
        self._wall = wall
        self._cond = threading.Condition()
        self._heap: list[_Entry] = []
        self._seq = itertools.count()
        self._notes = itertools.count(1)
        self._loop_ms = settings.loop_ms  # one pass now (a followed clock's tempo, unrounded)
        self._anchor_t = 0.0  # an instant of `clock` ...
        self._anchor_pos = 0.0  # ... and the playhead's position then (in loops)
        self._stopped_at = 0.0  # where continue resumes (a fraction of the canvas)
        self._playhead_origin = 0.0  # the playhead grid: origin + k / playhead_hz
        self._playhead_k = 0
        self._next_playhead = math.inf
        self._follower = ClockFollower() if follow_clock else None
        self._clock_ref: tuple[int, float] | None = None  # (tick number, position in loops) while following
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> ScorePlayer:
        """Start the scheduler thread (the transport stays stopped until told)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pict2audio-score", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop the transport (its notes end) and the thread (idempotent)."""
        with self._cond:
            if self._closed:
                return
            if self.state == "playing":
                self._stop(self._clock())
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(2.0)

    @property
    def following(self) -> bool:
        """Whether incoming MIDI clock drives the playhead."""
        return self._follower is not None

    @property
    def lost_ticks(self) -> int:
        """MIDI clock ticks found missing so far (0 when not following the clock)."""
        return 0 if self._follower is None else self._follower.lost

    # -- transport

    def control(self, event: TransportControl) -> None:
        """Apply a transport control at its t_ms (now if it has none); one that does not fit (a tempo out of
        range) is logged and ignored. Every control that takes effect is posted for the engine to record."""
        try:
            with self._cond:
                now = self._clock()
                t_ms = round(self._session_ms(now), 3) if event.t_ms is None else event.t_ms
                at = now + (t_ms - self._session_ms(now)) / 1000.0  # the instant whose session time is t_ms
                self._post_due(min(now, at), now)  # what was due before the control, on its schedule
                if event.action in ("clock", "songpos"):
                    self._clock_input(event, t_ms, at)
                elif event.action == "tempo" and self.following:
                    log.info("transport tempo %g ignored: the tempo follows MIDI clock", event.value)
                else:
                    was_playing = self.state == "playing"
                    self._apply(event.at(t_ms), at)
                    if self.following and _moved(event.action, was_playing):
                        self._align_to_clock(t_ms, at)
                self._cond.notify_all()
        except ScoreError as exc:
            log.warning("transport %s ignored: %s", event.action, exc)

    def toggle(self) -> None:
        """Score mode on (start from the left edge) or off (stop): the canvas's S key."""
        playing = self.state == "playing"
        self.control(TransportControl(action="stop" if playing else "start"))
        if playing:
            self.enabled = False

    def position(self) -> float:
        """Where the playhead is now, 0..1 across the canvas."""
        with self._cond:
            if self.state != "playing":
                return self._stopped_at
            return _fraction(self._pos_at(self._clock()))

    def _apply(self, control: TransportControl, at: float) -> None:
        """Apply one control at the instant `at` and post it for the engine to record (ScoreError: nothing done)."""
        before = self.settings
        getattr(self, f"_do_{control.action}")(control, at)
        self._post_event(ScoreTransport(t_ms=control.t_ms, control=control, settings=before))

    def _do_start(self, control: TransportControl, at: float) -> None:
        self._play_from(0.0, at)

    def _do_continue(self, control: TransportControl, at: float) -> None:
        if self.state != "playing":  # playing already: nothing to continue
            self._play_from(self._stopped_at, at)

    def _do_stop(self, control: TransportControl, at: float) -> None:
        if self.state == "playing":
            self._stopped_at = _fraction(self._pos_at(at))
            self._stop(at)

    def _do_tempo(self, control: TransportControl, at: float) -> None:
        assert control.value is not None
        settings = self.settings.with_tempo(control.value)  # ScoreError when out of range
        if self.state == "playing":
            self._retime(at, self._pos_at(at), settings.loop_ms)
            self.settings = settings
            self._post_event(ScoreState(t_ms=self._session_ms(at), state="playing", bpm=settings.bpm))
        else:
            self.settings, self._loop_ms = settings, settings.loop_ms

    def _do_position(self, control: TransportControl, at: float) -> None:
        value = control.value
        assert value is not None
        if not 0.0 <= value <= 1.0:
            raise ScoreError("position", f"expected 0..1 across the canvas, got {value!r}")
        if self.state != "playing":
            self._stopped_at = value
            return
        k = math.floor(self._pos_at(at))
        self._end_sounding(at)
        self._heap.clear()
        self._anchor(k + value, at)
        self._push(k + value, PASS_LEAD_S, "pass", (k, value))

    def _do_loop(self, control: TransportControl, at: float) -> None:
        self.settings = replace(self.settings, loop=bool(control.value))

    def _do_sync(self, control: TransportControl, at: float) -> None:
        """A followed clock's line: at `at` the playhead is at `value` (loops) and the tempo is `bpm`."""
        assert control.value is not None and control.bpm is not None
        exact = ScoreSettings(bpm=control.bpm, bars=self.settings.bars)  # ScoreError when out of range
        if self.state != "playing":
            return
        self._retime(at, control.value, exact.loop_ms)
        if abs(control.bpm - self.settings.bpm) >= TEMPO_STEP_BPM:
            self.settings = self.settings.with_tempo(round(control.bpm, 1))
            self._post_event(ScoreState(t_ms=self._session_ms(at), state="playing", bpm=self.settings.bpm))

    def _play_from(self, fraction: float, at: float) -> None:
        if self.state == "playing":
            self._end_sounding(at)
            self._heap.clear()
        self.enabled = True
        self.state = "playing"
        self._loop_ms = self.settings.loop_ms
        self._anchor(fraction, at)
        self._post_event(ScoreState(t_ms=self._session_ms(at), state="playing", bpm=self.settings.bpm))
        self._push(fraction, PASS_LEAD_S, "pass", (0, fraction))
        self._playhead_origin, self._playhead_k, self._next_playhead = at, 0, at

    def _stop(self, at: float) -> None:
        """Stop: the engine cuts the score's sounding notes at ScoreState stopped; nothing pending stays."""
        self._heap.clear()
        self.state = "stopped"
        self._next_playhead = math.inf
        self._post_event(ScoreState(t_ms=self._session_ms(at), state="stopped", bpm=self.settings.bpm))

    def _end_sounding(self, at: float) -> None:
        """End the notes that sound now (their offs are pending), before the playhead jumps."""
        for entry in sorted(e for e in self._heap if e.kind == "off"):
            self._post_event(ScoreNoteOff(t_ms=self._session_ms(at), note=entry.payload))

    # -- following MIDI clock

    def _clock_input(self, event: TransportControl, t_ms: float, at: float) -> None:
        if self._follower is None:
            return
        if event.action == "songpos":
            assert event.value is not None
            ticks_per_loop = PPQN * BEATS_PER_BAR * self.settings.bars
            fraction = (event.value * CLOCKS_PER_SONG_BEAT % ticks_per_loop) / ticks_per_loop
            was_playing = self.state == "playing"
            self._apply(TransportControl(t_ms=t_ms, action="position", value=fraction), at)
            if _moved("position", was_playing):
                self._align_to_clock(t_ms, at)
            return
        renumbered = self._follower.renumbered
        fit = self._follower.tick(t_ms)
        moved = self._follower.renumbered
        if moved is not renumbered and moved is not None and self._clock_ref is not None:
            first, steps = moved  # ticks found missing: the ones from `first` move on
            if self._clock_ref[0] >= first:
                self._clock_ref = (self._clock_ref[0] + steps, self._clock_ref[1])
        if fit is None:
            return
        if self.state != "playing":
            if not self._follower.settled:
                return
            bpm = round(fit.bpm, 1)
            if abs(bpm - self.settings.bpm) >= TEMPO_STEP_BPM:
                self._apply(TransportControl(t_ms=t_ms, action="tempo", value=bpm), at)
                log.info("score: following MIDI clock at %g bpm", bpm)
            return
        if self._clock_ref is None:
            return
        ref_tick, ref_pos = self._clock_ref
        ticks_per_loop = PPQN * BEATS_PER_BAR * self.settings.bars
        loop_ms = fit.ms_per_tick * ticks_per_loop
        value = ref_pos + (fit.tick - ref_tick) / ticks_per_loop + (t_ms - fit.at_ms) / loop_ms
        apart_ms = abs(self._pos_at(at) - value) * loop_ms
        if apart_ms > SYNC_MS or abs(loop_ms / self._loop_ms - 1.0) > SYNC_TEMPO:
            self._sync(t_ms, at, value, fit.bpm)

    def _align_to_clock(self, t_ms: float, at: float) -> None:
        """After start, continue or a position: the next tick of the followed clock is where the pass begins."""
        assert self._follower is not None
        start = self._anchor_pos  # the position the playhead (re)starts from
        self._clock_ref = (self._follower.last_tick + 1, start)
        fit, next_ms = self._follower.fit, self._follower.next_tick_ms()
        if fit is None or next_ms is None or not 0.0 <= next_ms - t_ms <= RESET_GAP_MS:
            return  # no running clock yet: the playhead starts on its own and aligns at the clock's ticks
        loop_ms = fit.ms_per_tick * PPQN * BEATS_PER_BAR * self.settings.bars
        self._sync(t_ms, at, start - (next_ms - t_ms) / loop_ms, fit.bpm)

    def _sync(self, t_ms: float, at: float, value: float, bpm: float) -> None:
        control = TransportControl(t_ms=t_ms, action="sync", value=round(value, POSITION_DIGITS),
                                   bpm=round(bpm, BPM_DIGITS))
        self._apply(control, at)

    # -- time

    def _anchor(self, pos: float, now: float) -> None:
        """The playhead is at `pos` a short lead after now, so the first notes can still be sent on time."""
        self._anchor_pos = pos
        self._anchor_t = now + START_LEAD_S + PASS_LEAD_S + self._latency_s

    def _retime(self, at: float, pos: float, loop_ms: float) -> None:
        """From `at` on the playhead is at `pos` and a pass lasts loop_ms: every pending entry keeps its position."""
        self._anchor_t, self._anchor_pos, self._loop_ms = at, pos, loop_ms
        for entry in self._heap:
            entry.send = self._instant(entry.pos) - entry.lead_s
        heapq.heapify(self._heap)

    def _pos_at(self, instant: float) -> float:
        return self._anchor_pos + (instant - self._anchor_t) * 1000.0 / self._loop_ms

    def _instant(self, pos: float) -> float:
        return self._anchor_t + (pos - self._anchor_pos) * self._loop_ms / 1000.0

    def _push(self, pos: float, lead_s: float, kind: str, payload: Any) -> None:
        lead = lead_s + self._latency_s
        heapq.heappush(self._heap, _Entry(self._instant(pos) - lead, next(self._seq), pos, lead, kind, payload))

    # -- the scheduler thread

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                next_due = self.step()
                self._cond.wait(None if next_due == math.inf else max(next_due - self._clock(), 0.0))

    def pass_end(self, instant: float) -> float:
        """The instant the pass playing at `instant` ends (the first pass, before the playhead starts)."""
        with self._cond:
            return self._instant(math.floor(max(self._pos_at(instant), self._anchor_pos)) + 1.0)

    def next_due(self) -> float:
        """When the next thing is due (an instant of `clock`; inf when nothing is)."""
        with self._cond:
            return min(self._heap[0].send if self._heap else math.inf, self._next_playhead)

    def step(self) -> float:
        """Post everything due by now (and the playhead, when due); returns when the next thing is due (an
        instant of `clock`, inf when nothing is). The thread calls it; a test with its own clock may too."""
        with self._cond:
            now = self._clock()
            self._post_due(now, now)
            return self.next_due()

    def _post_due(self, by: float, now: float) -> None:
        """Post the entries whose send instant is by `by`, and the playhead if its grid instant is (the scheduler
        thread's work, done also before a control takes effect, so a late thread does not move them past it)."""
        while self._heap and self._heap[0].send <= by:
            self._fire(heapq.heappop(self._heap), now)
        if by >= self._next_playhead:
            self._playhead(by)

    def _fire(self, entry: _Entry, now: float) -> None:
        """Post one due entry (on the scheduler thread, under the lock)."""
        try:
            if entry.kind == "pass":
                self._plan_pass(entry)
            elif entry.kind == "end":
                self._stopped_at = 0.0
                self._stop(self._instant(entry.pos))
            else:
                due = self._instant(entry.pos)
                t_ms = self._session_ms(due)
                unix = None if self._wall is None else self._wall() + (due - now)
                if entry.kind == "on":
                    stroke, note = entry.payload
                    if stroke in self._strokes():  # undone or cleared since the pass was planned: silent
                        self._post_event(ScoreNoteOn(t_ms=t_ms, stroke=stroke, note=note, due_unix_s=unix))
                else:
                    self._post_event(ScoreNoteOff(t_ms=t_ms, note=entry.payload, due_unix_s=unix))
        except Exception:  # the score must not die: this entry is lost, the next ones go on
            log.exception("score: %s entry failed", entry.kind)

    def _plan_pass(self, entry: _Entry) -> None:
        """Pass k's notes from the strokes finished now, and what follows it (the next pass, or the end)."""
        k, from_fraction = entry.payload
        if k > 0 and not self.settings.loop:
            self._push(k, 0.0, "end", None)
            return
        for note in pass_notes(stroke_spans(self._strokes()), k, from_fraction=from_fraction):
            key = next(self._notes)
            self._push(note.on, 0.0, "on", (note.stroke, key))
            self._push(note.off, 0.0, "off", key)
        self._push(k + 1, PASS_LEAD_S, "pass", (k + 1, 0.0))

    def _playhead(self, now: float) -> None:
        """The playhead at its grid instant; grid instants the thread is already past are skipped."""
        at = self._next_playhead
        self._post_event(ScorePlayhead(t_ms=self._session_ms(at), position=_fraction(self._pos_at(at))))
        past = math.floor((now - self._playhead_origin) / self._playhead_s) + 1
        self._playhead_k = max(self._playhead_k + 1, past)
        self._next_playhead = self._playhead_origin + self._playhead_k * self._playhead_s

    def _post_event(self, event: Event) -> None:
        self.posted += 1
        self._post(event)


def _moved(action: str, was_playing: bool) -> bool:
    """Whether a control (re)started the playhead somewhere: start, continue from stopped, position while playing."""
    return action == "start" or (action == "continue" and not was_playing) or (action == "position" and was_playing)


def _fraction(pos: float) -> float:
    """A position in loops as 0..1 across the canvas (before the anchor: the start of the pass)."""
    return min(max(pos - math.floor(pos), 0.0), 1.0) if pos >= 0 else 0.0


# -- a recorded performance, replayed ------------------------------------------------------------------


class _ReplayClock:
    """The replay's clock, in seconds; its session ms are those seconds times 1000."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    @property
    def ms(self) -> float:
        return round(self.t * 1000.0, 3)


def performance_events(drawing: Drawing, *, latency_ms: float = 0.0, playhead_hz: float = PLAYHEAD_HZ,
                       extra_controls: tuple[ControlEvent, ...] = ()) -> list[Event]:
    """A recorded score performance as the events the live session handled, in that order: the drawing's own
    (pen strokes, page edits and controls, each at its time) and what a ScorePlayer posts when the recorded transport
    controls are applied at their times, on a clock of its own. The player starts from the drawing's score
    settings (those its first transport control was applied to) and the OSC latency of the live session
    (`latency_ms`: it sets how early notes are posted, so the same value gives the same order). After the last
    recorded event it plays to the end of that pass and stops. `extra_controls` join the recorded ones
    (`replay --midi-file`)."""
    from bridge.core.replay import session_events

    clock = _ReplayClock()
    out: list[Event] = []
    drawn = sorted((*drawing.strokes, *drawing.undone), key=lambda stroke: stroke.points[-1].t_ms)
    edits = sorted((c for c in drawing.controls if isinstance(c, EditPage)), key=_edited_at)

    def finished() -> tuple[Stroke, ...]:
        """The page as the engine holds it now: the last page edit's strokes, then the strokes finished (at
        their pen-up) since."""
        now = clock.ms
        last = next((edit for edit in reversed(edits) if _edited_at(edit) <= now), None)
        since = -math.inf if last is None else _edited_at(last)
        return (*(last.strokes if last else ()), *(s for s in drawn if since < s.points[-1].t_ms <= now))

    player = ScorePlayer(drawing.score or ScoreSettings(), post=out.append, strokes=finished,
                         session_ms=lambda instant: instant * 1000.0, latency_ms=latency_ms,
                         playhead_hz=playhead_hz, clock=clock, wall=None)
    for event in session_events(drawing, extra_controls):
        assert event.t_ms is not None
        _advance(player, clock, event.t_ms / 1000.0)
        clock.t = max(clock.t, event.t_ms / 1000.0)
        if isinstance(event, TransportControl):
            player.control(event)
        else:
            out.append(event)
    if player.state == "playing":
        end = player.pass_end(clock())
        _advance(player, clock, end)
        clock.t = max(clock.t, end)
        if player.state == "playing":
            player.control(TransportControl(action="stop"))
    return out


def _edited_at(edit: EditPage) -> float:
    assert edit.t_ms is not None, "recorded controls carry their time"
    return edit.t_ms


def _advance(player: ScorePlayer, clock: _ReplayClock, until: float) -> None:
    """Step the player through everything due before the instant `until`, each at its own instant."""
    while (due := player.next_due()) < until:
        clock.t = max(clock.t, due)
        player.step()
