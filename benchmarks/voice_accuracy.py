"""How often each stroke's last /play carries its own drawn labels, through the real engine.

    python benchmarks/voice_accuracy.py --drawings 200 --seed 3

Replays `tests/stroke_drawings.py`'s multi-stroke mouse drawings through `Engine.handle` with the committed
image model and the default bank, in stroke mode (both onsets) and in canvas mode, and prints per head the
share of strokes whose last play carries the stroke's own truth, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from stroke_drawings import multi_stroke_drawings, play_accuracy  # noqa: E402

from bridge.adapters.default_bank import default_bank  # noqa: E402
from bridge.adapters.image_classifier import load_image_classifier  # noqa: E402
from bridge.app.session import build_engine  # noqa: E402
from bridge.core.drawing import PlayMode  # noqa: E402
from bridge.core.engine import EngineConfig  # noqa: E402

MODES = (PlayMode("stroke", "down"), PlayMode("stroke", "up"), PlayMode("canvas", "up"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    classifier, bank = load_image_classifier(), default_bank()
    pairs = multi_stroke_drawings(args.seed, args.drawings)
    out: dict[str, object] = {"drawings": args.drawings, "seed": args.seed, "model": classifier.version}
    for mode in MODES:
        config = EngineConfig(mode=mode)
        started = time.perf_counter()
        accuracy = play_accuracy(lambda config=config: build_engine(classifier, bank, engine_config=config), pairs)
        name = f"{mode.label_by}/{mode.onset}"
        out[name] = {k: round(v, 4) if isinstance(v, float) else v for k, v in accuracy.items()}
        seconds = time.perf_counter() - started
        print(f"{name:12s} pitch {accuracy['pitch']:.2%}  volume {accuracy['volume']:.2%}  "
              f"timbre {accuracy['timbre']:.2%}  ({accuracy['strokes']} strokes, {seconds:.1f} s)")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
