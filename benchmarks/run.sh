#!/usr/bin/env bash
# Every benchmark figure as a table; extra arguments go to `run_bridge.py bench` (e.g. --json).
set -euo pipefail
cd "$(dirname "$0")/.."
export SDL_VIDEODRIVER="${SDL_VIDEODRIVER:-dummy}" SDL_AUDIODRIVER="${SDL_AUDIODRIVER:-dummy}"
exec python run_bridge.py bench "$@"
