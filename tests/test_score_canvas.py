"""Score mode in the real canvas loop (SDL's dummy driver): key S starts and stops the playhead, the strokes drawn
sound as score notes over OSC, the playhead is drawn on the canvas, key L toggles the loop, and a drawing saved
in score mode records its settings and the transport as it was played."""

from __future__ import annotations

import pygame
from canvas_harness import Rig, line, post_key, watch_saves

from bridge.app.session import attach_score
from bridge.commands.play import _score_keys
from bridge.core.drawing import drawing_from_json
from bridge.core.score import ScoreSettings
from bridge.ui.text import ACCENT

PLAY, TRANSPORT = "/pict2audio/play", "/pict2audio/transport"
SETTINGS = ScoreSettings(bpm=240, bars=1)  # a pass of 1 s


def test_key_s_plays_the_page_as_a_score_and_a_save_records_it(tmp_path, monkeypatch):
    rig = Rig(tmp_path)
    try:
        player = attach_score(rig.link.parts, SETTINGS)
        _score_keys(rig.app, rig.link)
        rig.draw(line(100.0, x0=40, x1=120))  # its own voice: id 1
        post_key(pygame.K_s)
        rig.app.pump(frames=2)
        assert player.state == "playing" and player.enabled
        assert rig.rx.wait_until(lambda: [m[-1] for m in rig.rx.messages(PLAY)][:2] == [1, 2], timeout_s=10)
        assert rig.rx.messages(TRANSPORT)[0] == ("playing", 240.0)
        rig.app.pump(frames=2)
        position = rig.app.playhead()
        assert position is not None and 0.0 <= position <= 1.0
        rect, screen = rig.app.layout().canvas_rect, pygame.display.get_surface()
        row = [screen.get_at((x, rig.window_pos(0, 350)[1]))[:3] for x in range(rect.left, rect.right)]
        assert ACCENT in row  # the playhead crosses the empty part of the canvas
        post_key(pygame.K_l)
        rig.app.pump(frames=1)
        assert player.settings.loop is False
        post_key(pygame.K_l)
        rig.app.pump(frames=1)
        saves = watch_saves(monkeypatch)
        rig.app.save_as(tmp_path / "take")
        saves.get(timeout=5)
        assert drawing_from_json((tmp_path / "take.json").read_text()).score == SETTINGS
        post_key(pygame.K_s)
        rig.app.pump(frames=2)
        assert rig.rx.wait_until(lambda: rig.rx.messages(TRANSPORT)[-1:] == [("stopped", 240.0)], timeout_s=10)
        assert rig.app.playhead() is None and not player.enabled
        rig.app.save_as(tmp_path / "after")
        saves.get(timeout=5)
        after = drawing_from_json((tmp_path / "after.json").read_text())
        assert after.score == SETTINGS  # out of score mode, the take keeps the performance it recorded
        assert [c.action for c in after.controls] == ["start", "loop", "loop", "stop"]
        post_key(pygame.K_DELETE)  # a clear starts a new take
        rig.settle(lambda: "/pict2audio/clear" in rig.rx.addresses())
        rig.app.save_as(tmp_path / "plain")
        saves.get(timeout=5)
        assert drawing_from_json((tmp_path / "plain.json").read_text()).score is None  # out of score mode
    finally:
        rig.close()
