"""Native libraries' banners are silenced on fd 2, but the bridge's own log lines still get through."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

SCRIPT = """
import logging, os
from bridge.adapters.native_stderr import log_stream, native_stderr_silenced
logging.basicConfig(level=logging.INFO, format="%(message)s", stream=log_stream())
with native_stderr_silenced():
    os.write(2, b"native banner\\n")             # what LiteRT or ALSA print from C
    logging.getLogger("x").info("log line while silenced")  # e.g. the MIDI thread, at the same moment
logging.getLogger("x").info("log line after")
"""


def test_log_lines_survive_while_native_output_is_silenced():
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["log line while silenced", "log line after"]
