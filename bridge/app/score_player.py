"""The live score: a scheduler thread that sweeps the playhead over the canvas and posts its notes ahead of time.

Every due time comes from one anchor (an instant of the monotonic clock and the playhead position there, in
loops), never from the previous wake-up, so nothing drifts however many passes are played. Pending entries
sit in a heap ordered by when they must be posted; one condition variable wakes the thread when the next
entry falls due or the transport changes. A note due at T is posted at T - latency with t_ms = the session
clock's reading at T and `due_unix_s` = T in Unix time, so the OSC sender tags its bundle with T.

Each pass is planned shortly before it begins (`PASS_LEAD_S` plus the latency): the strokes finished by then
are that pass's notes (bridge.core.score.pass_notes), so a stroke drawn or undone while the score loops
takes effect on the next pass without a restart. Each note gets a key of its own; the engine gives it a fresh
voice id when it sounds and stops that voice at its ScoreNoteOff.

Transport (`control(TransportControl)`, from keys, OSC and MIDI): start (pass 0 from the left edge), stop
(sounding notes end: the engine cuts them at ScoreState stopped), continue (from where it stopped), tempo
(the position is kept, every pending entry re-timed), position (0..1: sounding notes end, the pass goes on
from there) and loop (off: the pass playing is the last). The playhead goes out at most `playhead_hz` times
a second while it plays.
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
from typing import Any

from bridge.core.drawing import Stroke
from bridge.core.events import Event, ScoreNoteOff, ScoreNoteOn, ScorePlayhead, ScoreState, TransportControl
from bridge.core.score import ScoreError, ScoreSettings, pass_notes, stroke_spans

log = logging.getLogger(__name__)

PASS_LEAD_S = 0.05  # a pass is planned this long (plus the OSC latency) before it begins
START_LEAD_S = 0.01  # start and continue begin this long after the command (plus the latency)
PLAYHEAD_HZ = 30.0


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
    an instant of `clock` (LiveSession.ms_at)."""

    def __init__(self, settings: ScoreSettings, *, post: Callable[[Event], None],
                 strokes: Callable[[], Sequence[Stroke]], session_ms: Callable[[float], float],
                 latency_ms: float = 0.0, playhead_hz: float = PLAYHEAD_HZ,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
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
        self._anchor_t = 0.0  # an instant of `clock` ...
        self._anchor_pos = 0.0  # ... and the playhead's position then (in loops)
        self._stopped_at = 0.0  # where continue resumes (a fraction of the canvas)
        self._next_playhead = math.inf
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
                self._stop()
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(2.0)

    # -- transport

    def control(self, event: TransportControl) -> None:
        """Apply a transport control; one that does not fit (a tempo out of range) is logged and ignored."""
        try:
            with self._cond:
                getattr(self, f"_do_{event.action}")(event.value)
                self._cond.notify_all()
        except ScoreError as exc:
            log.warning("transport %s ignored: %s", event.action, exc)

    def toggle(self) -> None:
        """Score mode on (start from the left edge) or off (stop): the canvas's S key."""
        with self._cond:
            if self.state == "playing":
                self._do_stop(None)
                self.enabled = False
            else:
                self._do_start(None)
            self._cond.notify_all()

    def position(self) -> float:
        """Where the playhead is now, 0..1 across the canvas."""
        with self._cond:
            if self.state != "playing":
                return self._stopped_at
            return _fraction(self._pos_at(self._clock()))

    def _do_start(self, value: float | None) -> None:
        self._play_from(0.0)

    def _do_continue(self, value: float | None) -> None:
        if self.state != "playing":  # playing already: nothing to continue
            self._play_from(self._stopped_at)

    def _do_stop(self, value: float | None) -> None:
        if self.state == "playing":
            self._stopped_at = _fraction(self._pos_at(self._clock()))
            self._stop()

    def _do_tempo(self, value: float | None) -> None:
        assert value is not None
        settings = self.settings.with_tempo(value)  # ScoreError when out of range
        if self.state == "playing":
            now = self._clock()
            self._anchor_pos, self._anchor_t = self._pos_at(now), now
            self.settings = settings
            for entry in self._heap:  # the same positions at the new tempo
                entry.send = self._instant(entry.pos) - entry.lead_s
            heapq.heapify(self._heap)
            self._post_event(ScoreState(t_ms=self._session_ms(now), state="playing", bpm=settings.bpm))
        else:
            self.settings = settings

    def _do_position(self, value: float | None) -> None:
        assert value is not None
        if not 0.0 <= value <= 1.0:
            raise ScoreError("position", f"expected 0..1 across the canvas, got {value!r}")
        if self.state != "playing":
            self._stopped_at = value
            return
        now = self._clock()
        k = math.floor(self._pos_at(now))
        self._end_sounding(now)
        self._heap.clear()
        self._anchor(k + value, now)
        self._push(k + value, PASS_LEAD_S, "pass", (k, value))

    def _do_loop(self, value: float | None) -> None:
        self.settings = replace(self.settings, loop=bool(value))

    def _play_from(self, fraction: float) -> None:
        if self.state == "playing":
            self._end_sounding(self._clock())
            self._heap.clear()
        now = self._clock()
        self.enabled = True
        self.state = "playing"
        self._anchor(fraction, now)
        self._post_event(ScoreState(t_ms=self._session_ms(now), state="playing", bpm=self.settings.bpm))
        self._push(fraction, PASS_LEAD_S, "pass", (0, fraction))
        self._next_playhead = now

    def _stop(self) -> None:
        """Stop: the engine cuts the score's sounding notes at ScoreState stopped; nothing pending stays."""
        self._heap.clear()
        self.state = "stopped"
        self._next_playhead = math.inf
        self._post_event(ScoreState(t_ms=self._session_ms(self._clock()), state="stopped", bpm=self.settings.bpm))

    def _end_sounding(self, now: float) -> None:
        """End the notes that sound now (their offs are pending), before the playhead jumps."""
        for entry in sorted(e for e in self._heap if e.kind == "off"):
            self._post_event(ScoreNoteOff(t_ms=self._session_ms(now), note=entry.payload))

    # -- time

    def _anchor(self, pos: float, now: float) -> None:
        """The playhead is at `pos` a short lead after now, so the first notes can still be sent on time."""
        self._anchor_pos = pos
        self._anchor_t = now + START_LEAD_S + PASS_LEAD_S + self._latency_s

    def _pos_at(self, instant: float) -> float:
        return self._anchor_pos + (instant - self._anchor_t) * 1000.0 / self.settings.loop_ms

    def _instant(self, pos: float) -> float:
        return self._anchor_t + (pos - self._anchor_pos) * self.settings.loop_ms / 1000.0

    def _push(self, pos: float, lead_s: float, kind: str, payload: Any) -> None:
        lead = lead_s + self._latency_s
        heapq.heappush(self._heap, _Entry(self._instant(pos) - lead, next(self._seq), pos, lead, kind, payload))

    # -- the scheduler thread

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                next_due = self.step()
                self._cond.wait(None if next_due == math.inf else max(next_due - self._clock(), 0.0))

    def step(self) -> float:
        """Post everything due by now (and the playhead, when due); returns when the next thing is due (an
        instant of `clock`, inf when nothing is). The thread calls it; a test with its own clock may too."""
        with self._cond:
            now = self._clock()
            while self._heap and self._heap[0].send <= now:
                self._fire(heapq.heappop(self._heap))
            if now >= self._next_playhead:
                self._playhead(now)
            return min(self._heap[0].send if self._heap else math.inf, self._next_playhead)

    def _fire(self, entry: _Entry) -> None:
        """Post one due entry (on the scheduler thread, under the lock)."""
        try:
            if entry.kind == "pass":
                self._plan_pass(entry)
            elif entry.kind == "end":
                self._stopped_at = 0.0
                self._stop()
            else:
                due = self._instant(entry.pos)
                t_ms, unix = self._session_ms(due), self._wall() + (due - self._clock())
                if entry.kind == "on":
                    stroke, note = entry.payload
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
        self._post_event(ScorePlayhead(t_ms=self._session_ms(now), position=_fraction(self._pos_at(now))))
        self._next_playhead += self._playhead_s
        if self._next_playhead <= now:  # fell behind: no burst to catch up
            self._next_playhead = now + self._playhead_s

    def _post_event(self, event: Event) -> None:
        self.posted += 1
        self._post(event)


def _fraction(pos: float) -> float:
    """A position in loops as 0..1 across the canvas (before the anchor: the start of the pass)."""
    return min(max(pos - math.floor(pos), 0.0), 1.0) if pos >= 0 else 0.0
