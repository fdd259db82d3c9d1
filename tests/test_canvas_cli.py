"""`run_bridge.py` with no arguments is the canvas; its flags and [canvas] config; the canvas path's imports."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from conftest import REPO

from bridge.commands.play import FIRST_FRAME_MARKER

ENV = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}


def run_bridge(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run_bridge.py", *args], cwd=REPO, env=env or ENV, capture_output=True,
                          text=True, timeout=120)


def test_no_subcommand_opens_the_canvas_and_shows_a_frame():
    done = run_bridge("--audio", "none", "--osc", "127.0.0.1:9", "--exit-after-first-frame")
    assert done.returncode == 0, done.stderr
    assert FIRST_FRAME_MARKER in done.stdout


def test_canvas_options_come_from_the_config_file_and_bad_ones_are_explained(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[osc]\ntargets = ["127.0.0.1:9"]\n[audio]\noutput = "none"\n'
                      '[canvas]\nwindow = "1200x744"\npen_width = 25\n')
    done = run_bridge("play", "--config", str(config), "--exit-after-first-frame")
    assert done.returncode == 0 and FIRST_FRAME_MARKER in done.stdout, done.stderr
    config.write_text('[canvas]\npen_width = 99\n')
    done = run_bridge("play", "--config", str(config), "--exit-after-first-frame")
    assert done.returncode == 2 and "pen width must be 1..30" in done.stderr  # a config error: the usage code
    done = run_bridge("play", "--window", "huge", "--exit-after-first-frame")
    assert done.returncode == 2 and "WIDTHxHEIGHT" in done.stderr


@pytest.mark.slow
def test_the_canvas_path_never_imports_tensorflow():
    """The full live session (committed model via LiteRT, default bank, OSC) with the canvas window."""
    probe = textwrap.dedent("""
        import sys
        from bridge.app.config import Config
        from bridge.commands.play import _build
        from bridge.ui.canvas_app import CanvasApp, CanvasOptions
        from bridge.ui.latency import LatencyProbe
        from bridge.ui.session_link import SessionLink
        config = Config(osc_targets=(("127.0.0.1", 9),), audio="none")
        probe = LatencyProbe()
        link = SessionLink(lambda: _build(config, probe))
        app = CanvasApp(link, CanvasOptions()).open()
        link.start()
        assert link.wait_ready(60), link.error
        app.pump(frames=2)
        app.close()
        print("tensorflow" in sys.modules, "keras" in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=ENV, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False"]
