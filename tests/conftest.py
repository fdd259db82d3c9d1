"""Shared test helpers: the repo root, the reference data beside it, and a clean environment."""

from __future__ import annotations

import gc
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; a test that needs it fails (never skips) when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"reference data not found at {SHARED_DATA} (the repo must sit beside shared/)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's real config."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "xdg-config"))


@pytest.fixture(autouse=True)
def _collector_back_on() -> Iterator[None]:
    """A canvas turns automatic garbage collection off while it runs (bridge/app/garbage.py): every test leaves
    it on again, so no test runs the rest of the suite without a collector."""
    yield
    if not gc.isenabled():
        gc.enable()
        pytest.fail("the test left automatic garbage collection off (a canvas not closed?)")


@pytest.fixture
def jack(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A private JACK server of its own for each test (tests/jack_rig.py's Jack; 0.3 s to start): a test's dead
    clients never stall the next one. Its period is 1024 frames (slack on a busy machine), or what the test
    gives with `@pytest.mark.parametrize("jack", [frames], indirect=True)`."""
    from jack_rig import jack_server

    with jack_server(period_frames=getattr(request, "param", 1024)) as server:
        yield server


@pytest.fixture
def osc() -> Iterator[Any]:
    """tests/jack_rig.py's OSC listener on loopback, collecting everything the bridge sends."""
    from jack_rig import Osc

    listener = Osc()
    yield listener
    listener.close()


@pytest.fixture
def udp_receiver() -> Iterator[socket.socket]:
    """A UDP socket on a free loopback port; a read waits at most 3 s (then raises TimeoutError)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(3.0)
    yield sock
    sock.close()
