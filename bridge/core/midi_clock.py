"""Following incoming MIDI clock (pure): the tempo and phase of 24-ppqn timing clock ticks from their arrival times.

A sequencer sends a timing clock message (0xF8) 24 times per quarter note. `ClockFollower.tick(t_ms)` takes the
arrival time of each one (ms on any steady clock) and returns a `ClockFit`: the tick's number and the straight
line `at_ms(n) = at_ms + (n - tick) * ms_per_tick` fitted by least squares through the last `window` ticks. The
fit smooths arrival jitter (a MIDI interface's, or a JACK period's: every tick of one period arrives at once),
and its slope is the tempo.

Ticks are numbered by counting, which is right whatever the jitter as long as none is lost. A lost tick shows as
`LOST_RUN` ticks in a row arriving about one tick (or k ticks) later than the line predicts, all by nearly the same
amount, after a gap of k + 1 ticks and then a tick apart (a stall, ticks held up and handed over at once, arrives
in a burst instead): those ticks are renumbered (k added) and the count goes on from them. A loss that a late tick
hides from every such run is found later, when most of the newest TAIL_TICKS sit k ticks late, evenly. A tempo
change shows as `LOST_RUN` residuals of one sign growing by steady steps, the last beyond a quarter tick and beyond
three times the usual residual (batched ticks make a bounded sawtooth of residuals, a stall one big step; a tempo change
grows steadily without bound): the window restarts
from those ticks, so the new tempo is taken within a few ticks rather than a whole window. Both are looked for
once the window holds SETTLED_TICKS. A clock that stops for `RESET_GAP_MS` or runs backwards (a restarted clock)
starts a new fit; the count goes on.

Loss detection assumes arrival jitter below a quarter of a tick (4.5 ms at 140 bpm); with coarser jitter ticks
are still counted and fitted, and only a lost tick may go unnoticed.
"""

from __future__ import annotations

import itertools
import statistics
from collections import deque
from dataclasses import dataclass

PPQN = 24  # MIDI timing clocks per quarter note
CLOCKS_PER_SONG_BEAT = 6  # a song position pointer counts sixteenth notes ("MIDI beats")
WINDOW_TICKS = 96  # a bar of 4/4: the fit's memory (tempo changes restart it)
MIN_TICKS = 3  # a fit needs this many ticks of one run
LOST_RUN = 4  # ticks in a row that reveal a lost tick or a tempo change
RESET_GAP_MS = 1000.0  # a silence this long (or a clock that runs backwards) starts a new fit
SETTLED_TICKS = 2 * LOST_RUN + MIN_TICKS  # a window this long is checked for lost ticks and tempo changes
REFITS = 3  # fits a tick takes at most, each without the ticks far off the one before
TAIL_TICKS = 16  # the newest ticks looked at, against the line of those before, for a lost tick
MAD_TO_SIGMA = 1.4826  # the median absolute residual times this: the usual residual, whatever a few stalls add


@dataclass(frozen=True)
class ClockFit:
    """The fitted clock at the newest tick: its number, its time on the fitted line, and the line's slope."""

    tick: int
    at_ms: float
    ms_per_tick: float

    @property
    def bpm(self) -> float:
        return 60_000.0 / (PPQN * self.ms_per_tick)

    def time_of(self, tick: float) -> float:
        """When tick number `tick` (fractional allowed) falls on the fitted line."""
        return self.at_ms + (tick - self.tick) * self.ms_per_tick


class ClockFollower:
    """Tempo and phase of an incoming MIDI clock; feed it every tick's arrival time in order."""

    def __init__(self, *, window: int = WINDOW_TICKS) -> None:
        if window < LOST_RUN + MIN_TICKS:
            raise ValueError(f"window: expected at least {LOST_RUN + MIN_TICKS} ticks, got {window}")
        self._points: deque[tuple[int, float]] = deque(maxlen=window)  # (tick number, arrival ms)
        self._residuals: deque[float] = deque(maxlen=LOST_RUN)  # of the newest ticks against the fit before them
        self.last_tick = -1  # the newest tick's number (-1: none yet)
        self.fit: ClockFit | None = None
        self._spread = 0.0  # the usual residual of the window's ticks against its fit: the arrival jitter
        self.lost = 0  # ticks found missing
        self.renumbered: tuple[int, int] | None = None  # the latest renumbering: (first tick's old number, steps)
        self.tempo_jumps = 0  # tempo changes that restarted the window

    def tick(self, t_ms: float) -> ClockFit | None:
        """Take one tick arriving at t_ms; the fit through it (None until MIN_TICKS ticks of one run)."""
        n = self.last_tick + 1
        if self._points and not 0.0 <= t_ms - self._points[-1][1] < RESET_GAP_MS:
            self._restart()
        if self.fit is not None:
            self._residuals.append(t_ms - self.fit.time_of(n))
        self._points.append((n, t_ms))
        self.last_tick = n
        if self.fit is not None and len(self._residuals) == LOST_RUN and len(self._points) >= SETTLED_TICKS:
            self._check_run(self.fit.ms_per_tick)
        if self.fit is not None:
            self._check_tail(self.fit.ms_per_tick)
        self.fit = self._fitted()
        return self.fit

    @property
    def settled(self) -> bool:
        """Whether the fit runs through SETTLED_TICKS ticks of one run (its tempo is steady enough to report)."""
        return self.fit is not None and len(self._points) >= SETTLED_TICKS

    def next_tick_ms(self) -> float | None:
        """When the next tick is due on the fitted line (None without a fit)."""
        return None if self.fit is None else self.fit.time_of(self.last_tick + 1)

    def _restart(self) -> None:
        self._points.clear()
        self._residuals.clear()
        self.fit = None
        self._spread = 0.0

    def _check_run(self, period: float) -> None:
        """The newest LOST_RUN residuals: a lost tick (renumber them) or a tempo change (restart from them)."""
        run = list(self._residuals)
        steps = round(statistics.median(run) / period)
        if steps >= 1 and self._skipped(run, steps, period):
            self._renumber(len(self._points) - LOST_RUN, steps)
        elif _growing(run, max(0.25 * period, 3.0 * self._spread)):
            recent = [self._points.pop() for _ in range(LOST_RUN)][::-1]
            self._points.clear()
            self._points.extend(recent)
            self.tempo_jumps += 1
            self._residuals.clear()

    def _skipped(self, run: list[float], steps: int, period: float) -> bool:
        """Whether `steps` ticks went missing just before the run: its ticks all late by about that many ticks,
        reached after a gap of about steps + 1 ticks and then a tick apart on average (a stall hands its ticks over
        at once)."""
        times = [t for _, t in list(self._points)[-LOST_RUN - 1:]]
        apart = (times[-1] - times[1]) / (LOST_RUN - 1)
        return (max(run) - min(run) < 0.5 * period and all(r > 0.5 * period for r in run)
                and abs(times[1] - times[0] - (steps + 1) * period) < 0.5 * period
                and abs(apart - period) < 0.25 * period)

    def _fitted(self) -> ClockFit | None:
        """The robust line through the window (`_robust_line`) at the newest tick."""
        line = _robust_line(list(self._points))
        if line is None:
            return None
        at, slope, self._spread = line
        return ClockFit(self.last_tick, at + self.last_tick * slope, slope)

    def _check_tail(self, period: float) -> None:
        """A lost tick the run check missed (a late tick in every run of LOST_RUN): the newest TAIL_TICKS against
        the line of the ticks before them. When more than half of them, the newest ones in a row, sit a whole
        number of ticks late, as late at the start of that stretch as at its end and a tick apart on average (a
        stall's ticks catch up, a tempo change's drift away), those are renumbered."""
        points = list(self._points)
        if len(points) < SETTLED_TICKS + TAIL_TICKS:
            return
        line = _robust_line(points[:-TAIL_TICKS])
        if line is None:
            return
        at, slope, _ = line
        residuals = [t - at - n * slope for n, t in points[-TAIL_TICKS:]]
        late = [i for i, r in enumerate(residuals) if r > 0.5 * period]
        if len(late) <= TAIL_TICKS // 2 or late != list(range(late[0], TAIL_TICKS)):
            return
        stretch = residuals[late[0]:]
        steps = round(statistics.median(stretch) / period)
        half = len(stretch) // 2
        keep = len(points) - len(stretch)
        apart = (points[-1][1] - points[keep][1]) / (len(stretch) - 1)
        if (steps < 1 or abs(statistics.median(stretch) - steps * period) > 0.3 * period
                or abs(statistics.median(stretch[:half]) - statistics.median(stretch[half:])) > 0.2 * period
                or abs(apart - period) > 0.1 * period):
            return
        self._renumber(keep, steps)

    def _renumber(self, first: int, steps: int) -> None:
        """`steps` ticks went missing before the window's tick at index `first`: it and the later ones move on."""
        points = list(self._points)
        self.renumbered = (points[first][0], steps)
        moved = ((n + steps, t) for n, t in points[first:])
        self._points = deque([*points[:first], *moved], maxlen=self._points.maxlen)
        self.last_tick += steps
        self.lost += steps
        self._residuals.clear()


def _robust_line(points: list[tuple[int, float]]) -> tuple[float, float, float] | None:
    """(time at tick 0, ms per tick, the usual residual) of the least-squares line through (tick, ms) points, fitted
    again (REFITS times) without the ticks far off the line before (held up by a stall: beyond a quarter tick and
    four times the usual residual, the median one scaled to a standard deviation); None without a slope."""
    line = _line(points)
    if line is None:
        return None
    usual = 0.0
    for round_ in range(REFITS):
        at, slope = line
        residuals = [t - at - n * slope for n, t in points]
        spread = MAD_TO_SIGMA * statistics.median(abs(r) for r in residuals)
        usual = spread if round_ == 0 else usual
        limit = max(0.25 * slope, 4.0 * spread)
        kept = [point for point, r in zip(points, residuals, strict=True) if abs(r) <= limit]
        if len(kept) == len(points) or len(kept) < MIN_TICKS:
            break
        line = _line(kept) or line
    return (*line, usual)


def _line(points: list[tuple[int, float]]) -> tuple[float, float] | None:
    """(time at tick 0, ms per tick) of the least-squares line through (tick, ms) points; None without a slope."""
    if len(points) < MIN_TICKS:
        return None
    mean_n = statistics.fmean(n for n, _ in points)
    mean_t = statistics.fmean(t for _, t in points)
    spread = sum((n - mean_n) ** 2 for n, _ in points)
    slope = sum((n - mean_n) * (t - mean_t) for n, t in points) / spread
    if not slope > 0:  # every tick at once (a burst): no tempo to take from them yet
        return None
    return mean_t - mean_n * slope, slope


def _growing(run: list[float], floor: float) -> bool:
    """Residuals of one sign growing by steady steps (each at least half their mean), the last beyond `floor`:
    the tempo moved. A stall (ticks held up, then handed over at once) is one big step, not steady ones."""
    sizes = [abs(r) for r in run]
    one_sign = all(r > 0 for r in run) or all(r < 0 for r in run)
    steps = [b - a for a, b in itertools.pairwise(sizes)]
    return one_sign and sizes[-1] > floor and min(steps) > 0.5 * statistics.fmean(steps) > 0
