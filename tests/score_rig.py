"""The score's test rigs: a stroke as a line, a clock the test sets, and a live Rig (engine, LiveSession and
ScorePlayer on the monotonic clock) that records every bundle with the session time it was delivered at."""

from __future__ import annotations

from stand_ins import InkClassifier, label_matcher
from waiting import Changes

from bridge.app.live_session import LiveSession
from bridge.app.score_player import ScorePlayer
from bridge.core.drawing import Point, Stroke
from bridge.core.engine import Engine
from bridge.core.events import PenDown, PenMove, PenUp
from bridge.core.score import ScoreSettings

ONE_SECOND = ScoreSettings(bpm=240, bars=1)  # a pass of 1000 ms: 2.5 ms per canvas px
WAIT_S = 20.0


def line(x0: float, x1: float, *, y: float = 200.0, width: float = 10.0, color: str = "#000000",
         tool: str = "pen", t_ms: float = 0.0) -> Stroke:
    """A horizontal stroke from x0 to x1 (its ink reaches width/2 beyond each end)."""
    return Stroke((Point(x0, y, t_ms), Point((x0 + x1) / 2, y, t_ms + 10), Point(x1, y, t_ms + 20)), color, width,
                  tool)


class Clock:
    """A clock that stands still until the test sets `t` (seconds)."""

    def __init__(self) -> None:
        self.t = 50.0

    def __call__(self) -> float:
        return self.t


class Rig:
    """Engine + LiveSession + ScorePlayer; every bundle recorded with the session time it was delivered at."""

    def __init__(self, settings: ScoreSettings, *, latency_ms: float = 0.0, sinks=()) -> None:
        self.engine = Engine(classify=InkClassifier().classify_raster, match=label_matcher)
        self.changes = Changes()
        self.delivered: list[tuple[float, object]] = []  # (session ms when delivered, bundle)
        self.session = LiveSession(self.engine, [*sinks, self._record])
        self.player = ScorePlayer(settings, post=self.session.post, strokes=self.engine.finished_strokes,
                                  session_ms=self.session.ms_at, latency_ms=latency_ms)
        self.session.on_transport = self.player.control

    def _record(self, bundle) -> None:
        now = self.session.now_ms()
        with self.changes:
            self.delivered.append((now, bundle))

    def start(self) -> Rig:
        self.session.start()
        self.player.start()
        return self

    def close(self) -> None:
        self.player.close()
        self.session.wait_idle(2.0)
        self.session.stop()

    def plays(self) -> list[tuple[float, object]]:
        """(delivered ms, bundle) of the bundles with a play, in order."""
        with self.changes:
            return [(t, b) for t, b in self.delivered if b.find("play") is not None]

    def wait_plays(self, count: int) -> list[tuple[float, object]]:
        assert self.changes.wait_until(lambda: len(self.plays()) >= count, WAIT_S), self.plays()
        return self.plays()

    def transports(self) -> list[tuple]:
        with self.changes:
            return [b.find("transport").args for _, b in self.delivered if b.find("transport") is not None]


def draw(rig: Rig, stroke: Stroke) -> None:
    """Draw a stroke on the live session as the canvas does (pen down, moves, pen up)."""
    first, *rest = stroke.points
    now = rig.session.now_ms()
    rig.session.post(PenDown(t_ms=now, x=first.x, y=first.y, color=stroke.color, width_px=stroke.width_px))
    for point in rest:
        rig.session.post(PenMove(t_ms=now, x=point.x, y=point.y))
    rig.session.post(PenUp(t_ms=now))
