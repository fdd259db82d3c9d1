"""A real window on a real X server (Xvfb): draw a stroke, grab the screen, find the grid and the stroke."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import REPO
from PIL import Image

from bridge.core.labels import GRID_RGB, PALETTE_RGB

DRAW_AND_GRAB = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, "tests")
    import pygame
    from PIL import ImageGrab
    from canvas_harness import OscReceiver, make_parts, post_key, post_mouse
    from bridge.ui.canvas_app import CanvasApp, CanvasOptions
    from bridge.ui.session_link import SessionLink

    rx = OscReceiver()
    link = SessionLink(lambda: make_parts(rx.port), background=False)
    app = CanvasApp(link, CanvasOptions(osc_targets=(("127.0.0.1", rx.port),)))
    link.start()
    app.open()
    app.pump(frames=2)
    post_key(pygame.K_5)  # string (red)
    layout = app.layout()
    post_mouse(pygame.MOUSEBUTTONDOWN, layout.from_canvas(60, 200))
    for i in range(1, 30):
        post_mouse(pygame.MOUSEMOTION, layout.from_canvas(60 + 10 * i, 200 - 3 * i))
        app.pump(frames=1)
    post_mouse(pygame.MOUSEBUTTONUP, layout.from_canvas(350, 113))
    app.pump(frames=10)
    link.idle(5)
    app.pump(frames=5)
    ImageGrab.grab().save(sys.argv[1])
    app.close()
    rx.close()
""")


def take_screenshot(path) -> None:
    if not os.path.exists("/usr/bin/xvfb-run"):
        pytest.fail("xvfb-run not found: install the Debian package xvfb")
    env = {**os.environ, "SDL_VIDEODRIVER": "x11", "SDL_AUDIODRIVER": "dummy", "PYTHONPATH": str(REPO)}
    subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", sys.executable, "-c", DRAW_AND_GRAB, str(path)],
        cwd=REPO, env=env, check=True, timeout=120, capture_output=True,
    )


def test_a_screenshot_under_xvfb_shows_the_grid_and_the_stroke(tmp_path):
    path = tmp_path / "canvas.png"
    take_screenshot(path)
    image = np.asarray(Image.open(path).convert("RGB")).astype(int)
    grid = np.all(image == GRID_RGB, axis=2)
    long_rows = np.flatnonzero(grid.sum(axis=1) >= 300)  # horizontal grid lines across the 400 px canvas
    long_cols = np.flatnonzero(grid.sum(axis=0) >= 300)
    assert len(long_rows) >= 10 and len(long_cols) >= 10, (len(long_rows), len(long_cols))
    assert np.all(np.diff(long_rows[:11]) == 33)  # every 33 px (SPEC §2)
    red = np.all(image == PALETTE_RGB["string"], axis=2)
    assert red.sum() > 2000  # a 12 px stroke about 300 px long, plus the palette swatch
    xs = np.nonzero(red)[1]
    assert xs.max() - xs.min() > 250  # it spans the canvas, not just the swatch
