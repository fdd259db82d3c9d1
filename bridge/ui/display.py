"""A window someone can see, or a clear refusal.

Without a display (no DISPLAY or WAYLAND_DISPLAY), or when SDL cannot open a window on the one named,
pygame falls back to SDL's "offscreen" driver and everything runs invisibly. A window command then
stops and says how to run it instead. A driver asked for by name (SDL_VIDEODRIVER=dummy in tests and
benchmarks, offscreen on purpose, kmsdrm on a console without a desktop) is taken as meant.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from bridge.core.errors import BridgeError

HEADLESS_DRIVERS = frozenset({"offscreen", "dummy"})
SCREEN_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY")
X_PLATFORMS = ("linux", "freebsd", "openbsd", "netbsd")  # where a desktop is reached through those variables


class NoDisplayError(BridgeError):
    """There is no screen to show a window on; the message says how to run the command."""


def how_to_run(command: str) -> str:
    return f"run it in a desktop session, or under a virtual X server: xvfb-run -a {command}"


def display_problem(driver: str, env: Mapping[str, str], command: str) -> str | None:
    """Why a window on SDL's `driver` would not be seen (with how to run `command`), or None if it would."""
    if env.get("SDL_VIDEODRIVER"):  # chosen on purpose (tests, benchmarks): never second-guessed
        return None
    if driver.lower() not in HEADLESS_DRIVERS:
        return None
    screens = [f"{name}={env[name]}" for name in SCREEN_VARIABLES if env.get(name)]
    if screens:
        why = f"SDL could not open a window on {' or '.join(screens)} (it fell back to its {driver} driver)"
    else:
        why = "there is no display to show the window on (DISPLAY and WAYLAND_DISPLAY are not set)"
    return f"{why}; {how_to_run(command)}"


def no_screen_named(env: Mapping[str, str], platform: str) -> str | None:
    """On X11/Wayland systems with neither DISPLAY nor WAYLAND_DISPLAY (nor a driver chosen by name), the
    reason to refuse before SDL probes (and prints its own errors); None elsewhere."""
    if env.get("SDL_VIDEODRIVER") or not platform.startswith(X_PLATFORMS):
        return None
    if any(env.get(name) for name in SCREEN_VARIABLES):
        return None
    return "there is no display to show the window on (DISPLAY and WAYLAND_DISPLAY are not set)"


def open_display(command: str) -> None:
    """Start pygame's display; NoDisplayError (and the display closed again) when no one could see it."""
    import pygame

    reason = no_screen_named(os.environ, sys.platform)
    if reason is not None:
        raise NoDisplayError(f"{reason}; {how_to_run(command)}")
    try:
        pygame.display.init()
    except pygame.error as exc:  # e.g. SDL_VIDEODRIVER=x11 with no X server
        raise NoDisplayError(f"cannot open a window ({exc}); {how_to_run(command)}") from exc
    problem = display_problem(pygame.display.get_driver(), os.environ, command)
    if problem is not None:
        pygame.display.quit()
        raise NoDisplayError(problem)
