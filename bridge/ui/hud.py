"""The heads-up display: labels with confidences, the matched sample, overrides, OSC, latency, errors.

`hud_lines(state)` is pure (tests read it); `draw_hud` paints those lines in the right-hand panel.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import pygame

from bridge.core.bank import register_name
from bridge.core.labels import HEADS, note_name
from bridge.ui.layout import DESIGN_SIZE, HUD_X, TOOLBAR_H, Layout
from bridge.ui.text import ACCENT, ERROR, INK, MUTED, TextCache

HEADING, TEXT, DIM, BAD, BAR = "heading", "text", "dim", "bad", "bar"
TROUBLE = ("no device", "no session", "not opened", "lost, retrying")  # shown in red: the performer must know


@dataclass(frozen=True)
class HudState:
    """A read-only snapshot of what the HUD shows (taken on the UI thread once per frame)."""

    status: str  # "loading", "ready" or "offline"
    prediction: Any = None  # bridge.core.labels.Prediction
    match: Any = None  # bridge.core.bank.Match
    overrides: dict[str, object] = field(default_factory=dict)
    osc_targets: tuple[tuple[str, int], ...] = ()
    bundles_sent: int | None = None
    audio: str = "off (--audio none)"  # bridge.ui.status.audio_status
    latency: tuple[float, float, int] | None = None  # (median ms, max ms, count) of events sent while live
    errors: tuple[str, ...] = ()
    message: str | None = None
    midi: str = "off"  # bridge.ui.status.midi_status
    oscquery: str = "off"  # oscquery_status: the URL of the OSC namespace (OSCQuery), or "off"
    register: int | None = None  # the register (octave) matching prefers (bridge.core.bank); None: no session
    language: str = ""  # the taught language in use (its file name), "" for none
    gesture: Any = None  # the shape the latest stroke completed (bridge.core.language.Gesture), or None


def _value(head: str, value: object) -> str:
    return f"{note_name(value)} ({value})" if head == "pitch" else str(value)  # type: ignore[arg-type]


def hud_lines(state: HudState) -> list[tuple[str, str, float | None]]:
    """(text, style, bar fraction or None) rows, top to bottom."""
    status = {"loading": "loading model and sound bank...", "ready": "live", "offline": "offline (no session)"}
    rows: list[tuple[str, str, float | None]] = [(f"Session: {status.get(state.status, state.status)}",
                                                  BAD if state.status == "offline" else HEADING, None)]
    rows.append(("Labels", HEADING, None))
    if state.prediction is None:
        rows.append(("draw to classify", DIM, None))
    else:
        for head in HEADS:
            value = getattr(state.prediction.labels, head)
            conf = state.prediction.confidence(head)
            forced = state.overrides.get(head)
            shown = f"{head:<7} {_value(head, value)}  {conf:.0%}"
            if forced is not None:
                shown += f"  (override: {_value(head, forced)})"
            rows.append((shown, BAR, conf))
    rows.append(("Matched sample", HEADING, None))
    if state.match is None:
        rows.append(("none yet", DIM, None))
    else:
        lab = state.match.sample.labels
        rows.append((os.path.basename(state.match.sample.path), TEXT, None))
        detail = f"{note_name(lab.pitch)} · {lab.volume} · {lab.timbre} · score {state.match.score:.2f}"
        rows.append((detail, DIM, None))
    active = ", ".join(f"{h}={_value(h, v)}" for h, v in state.overrides.items())
    rows.append((f"Overrides: {active or 'none'}", TEXT, None))
    if state.register is not None:
        rows.append((f"Register: {state.register} ({register_name(state.register)})", TEXT, None))
    if state.language:
        rows.append(_shape_row(state.gesture, state.language))
    targets = ", ".join(f"{h}:{p}" for h, p in state.osc_targets) or "none"
    sent = "" if state.bundles_sent is None else f"  ({state.bundles_sent} bundles sent)"
    rows.append((f"OSC out: {targets}{sent}", TEXT, None))
    rows.append((f"OSCQuery: {state.oscquery}", TEXT, None))
    rows.append(_io_row(f"Audio: {state.audio}"))
    rows.append(_io_row(f"MIDI in: {state.midi}"))
    if state.latency is None:
        rows.append(("Pen-to-OSC: -", TEXT, None))
    else:
        median, worst, count = state.latency
        rows.append((f"Pen-to-OSC: {median:.1f} ms median, {worst:.1f} ms max (last {count})", TEXT, None))
    if state.errors:
        rows.append(("Errors (contained: drawing goes on)", HEADING, None))
        rows.extend((e, BAD, None) for e in state.errors[-3:])
    return rows


def _shape_row(gesture: Any, language: str) -> tuple[str, str, float | None]:
    """The taught shape the latest stroke completed, or none (the fixed rules label it)."""
    if gesture is None:
        return f"Shape: none · {language}", TEXT, None
    strokes = f", {gesture.strokes} strokes" if gesture.strokes > 1 else ""
    return f"Shape: {gesture.name}  {gesture.confidence:.0%}{strokes}", BAR, gesture.confidence


def language_status(parts: Any) -> str:
    """The Shape row's language: the taught language's file name, or "" (none in this session)."""
    language = getattr(parts, "language", None)
    return "" if language is None else language.path.name


def oscquery_status(parts: Any) -> str:
    """The OSCQuery row: the URL the session serves its OSC namespace at, or "off" (none, or not yet)."""
    server = getattr(parts, "oscquery", None)
    return server.url if server is not None and server.port else "off"


def _io_row(text: str) -> tuple[str, str, float | None]:
    return text, BAD if any(word in text for word in TROUBLE) else TEXT, None


def draw_hud(target: pygame.Surface, layout: Layout, text: TextCache, state: HudState) -> None:
    x0, width = HUD_X, DESIGN_SIZE[0] - HUD_X - 14
    y = TOOLBAR_H + 20.0
    max_w = layout.px(width)
    for line, style, fraction in hud_lines(state):
        if style == HEADING:
            y += 6
            text.blit(target, line, layout.pt(x0, y), layout.px(19), ACCENT, bold=True, max_width=max_w)
            y += 22
            continue
        color = {DIM: MUTED, BAD: ERROR}.get(style, INK)
        for part in text.wrap(line, layout.px(18), max_w) if style == BAD else [line]:
            text.blit(target, part, layout.pt(x0, y), layout.px(18), color, max_width=max_w)
            y += 20
        if fraction is not None:
            bar = layout.rect(x0, y, width * 0.8, 5)
            pygame.draw.rect(target, (225, 225, 232), bar, border_radius=2)
            fraction = min(max(fraction, 0.0), 1.0) if math.isfinite(fraction) else 0.0  # a NaN from a bad model
            bar.width = max(round(bar.width * fraction), 1)
            pygame.draw.rect(target, ACCENT, bar, border_radius=2)
            y += 10
    if state.message:
        _draw_message(target, layout, text, state.message)


def _draw_message(target: pygame.Surface, layout: Layout, text: TextCache, message: str) -> None:
    """The transient message in a box at the bottom: up to two lines, broken and elided at words."""
    x0, width = HUD_X, DESIGN_SIZE[0] - HUD_X - 14
    lines = text.wrap(message, layout.px(18), layout.px(width) - layout.px(8), max_lines=2)
    height = 12 + 20 * len(lines)
    box = layout.rect(x0 - 6, DESIGN_SIZE[1] - 12 - height, width + 6, height)
    pygame.draw.rect(target, (255, 248, 214), box, border_radius=layout.px(6))
    for i, line in enumerate(lines):
        y = DESIGN_SIZE[1] - 12 - height + 16 + 20 * i
        text.blit(target, line, layout.pt(x0 + 2, y), layout.px(18), INK, anchor="midleft")
