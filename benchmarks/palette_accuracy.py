"""Timbre accuracy of the composer's palette (bridge/core/palette.py) on generated mouse strokes, and its cost.

    python benchmarks/palette_accuracy.py --drawings 40 --seed 1

The strokes of `tests/stroke_drawings.py`'s drawings (dabs, short marks, long, wavy and diagonal lines, pen
widths 1..30 px) are recoloured with the colours of three palettes, each stroke's truth being its colour's
timbre in that palette:

- `far`: eight colours far from the default eight (ΔE00 >= 10.9 to each) and from each other;
- `close`: four close pairs (ΔE00 6.7..9.8 apart) and black with mid grey (the same ray from white);
- `many`: sixteen colours, the default eight and the `far` eight, two per timbre.

Three ways the timbre is read:

- `voice`: the live path. The drawing is played through the engine with the real image model and the palette
  (`EngineConfig.palette`); the timbre of each voice's last `/play` against its truth.
- `rgb N` / `lab N`: a colour near a palette colour (picked by eye, read from a scan): every channel moved
  by up to +-N (uniform in RGB), or moved anywhere within N CIE76 units (uniform in CIELAB, in gamut); its
  nearest palette colour by CIEDE2000 (the palette's rule) and, for comparison, by RGB distance (the rule of
  the default eight), against the colour it came from. Each rule is at home in its own noise: RGB noise
  favours the RGB rule, perceptual noise (a colour that looks N away) the perceptual one.
- `picture`: the canvas-mode path. Each stroke rendered alone (the one rasteriser, grid on) and read from its
  pixels (`ink_probabilities`), split by pen width: below 5 px a stroke covers no 4 px block fully.

Prints a table, then one JSON line with every figure and the time per call (thread CPU, p50 / p99) of the
stroke path and the picture path.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from stroke_drawings import multi_stroke_drawings  # noqa: E402

from bridge.adapters.image_classifier import load_image_classifier  # noqa: E402
from bridge.core.drawing import Drawing, Stroke  # noqa: E402
from bridge.core.engine import Engine, EngineConfig  # noqa: E402
from bridge.core.labels import PALETTE_HEX, TIMBRES, format_hex_color, parse_hex_color  # noqa: E402
from bridge.core.palette import Palette, delta_e, srgb_to_lab  # noqa: E402
from bridge.core.raster import rasterise  # noqa: E402
from bridge.core.replay import session_events  # noqa: E402

FAR = {"keyboard": "#2F4F4F", "organ": "#808000", "flute": "#20B2AA", "string": "#FF7F50", "brass": "#9ACD32",
       "guitar": "#D2B48C", "vocal": "#DA70D6", "reed": "#000080"}
CLOSE = {"keyboard": "#000000", "organ": "#808080", "string": "#D00000", "brass": "#B22222", "vocal": "#FF69B4",
         "guitar": "#FF1493", "reed": "#228B22", "flute": "#2E8B57"}
PALETTES = {
    "far": Palette.from_dict(FAR),
    "close": Palette.from_dict(CLOSE),
    "many": Palette.from_dict({t: [PALETTE_HEX[t], FAR[t]] for t in TIMBRES}),
}
JITTERS = (("rgb", 16), ("rgb", 32), ("lab", 10), ("lab", 20))
THIN_BELOW_PX = 5.0


def recoloured(drawing: Drawing, palette: Palette, rng: np.random.Generator) -> tuple[Drawing, list[str]]:
    """The drawing with every stroke in a random palette colour, and each stroke's true timbre."""
    picks = [palette.entries[int(i)] for i in rng.integers(0, len(palette.entries), len(drawing.strokes))]
    strokes = tuple(Stroke(s.points, color, s.width_px, s.tool) for s, (color, _) in zip(drawing.strokes, picks))
    return Drawing(strokes), [timbre for _, timbre in picks]


def voice_accuracy(classifier, palette: Palette, pairs: list[tuple[Drawing, list[str]]]) -> float:
    """The live path: each voice's last /play timbre through the engine with the real model."""
    from stand_ins import label_matcher

    right = total = 0
    for drawing, truths in pairs:
        engine = Engine(classify=classifier.classify_raster, match=label_matcher, config=EngineConfig(palette=palette))
        played: dict[int, str] = {}
        for event in session_events(drawing):
            bundle = engine.handle(event)
            for play in bundle.find_all("play") if bundle is not None else ():
                played[int(play.args[-1])] = str(play.args[3])
        right += sum(played.get(i) == truth for i, truth in enumerate(truths, start=1))
        total += len(truths)
    return right / total


def jitter_accuracy(palette: Palette, noise: str, size: float, rng: np.random.Generator,
                    count: int) -> tuple[float, float]:
    """(CIELAB nearest, RGB nearest) accuracy on `count` palette colours moved by noise of `size`: "rgb", each
    channel by up to +-size; "lab", anywhere within `size` CIE76 units of the colour (kept in the sRGB gamut)."""
    rgbs = np.array([parse_hex_color(color) for color in palette.colors], dtype=np.float64)
    lab_right = rgb_right = done = 0
    while done < count:
        k = int(rng.integers(len(palette.entries)))
        if noise == "rgb":
            moved = rgbs[k] + rng.integers(-int(size), int(size) + 1, 3)
        else:
            step = rng.normal(size=3)
            moved = lab_to_srgb(srgb_to_lab(rgbs[k]) + step / np.linalg.norm(step) * size * rng.random() ** (1 / 3))
        if not np.all((moved >= 0) & (moved <= 255)):
            continue
        moved = np.rint(moved)
        timbre = palette.entries[k][1]
        lab_right += palette.timbre_of(format_hex_color(tuple(int(v) for v in moved))) == timbre
        rgb_right += palette.entries[int(np.argmin(((rgbs - moved) ** 2).sum(axis=1)))][1] == timbre
        done += 1
    return lab_right / count, rgb_right / count


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) -> sRGB 0..255 (unclipped), the inverse of bridge.core.palette.srgb_to_lab."""
    from bridge.core.palette import _SRGB_TO_XYZ, _WHITE_D65

    fy = (lab[0] + 16.0) / 116.0
    f = np.array([fy + lab[1] / 500.0, fy, fy - lab[2] / 200.0])
    xyz = np.where(f > 6.0 / 29.0, f**3, 3 * (6.0 / 29.0) ** 2 * (f - 4.0 / 29.0)) * _WHITE_D65
    linear = np.linalg.solve(_SRGB_TO_XYZ, xyz)
    encoded = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.abs(linear) ** (1 / 2.4) - 0.055)
    return encoded * 255.0


def picture_accuracy(palette: Palette, pairs: list[tuple[Drawing, list[str]]]) -> dict[str, float]:
    """Each stroke alone, read from its pixels; by pen width."""
    right = {"thin": 0, "wide": 0}
    total = {"thin": 0, "wide": 0}
    for drawing, truths in pairs:
        for stroke, truth in zip(drawing.strokes, truths):
            probs = palette.ink_probabilities(rasterise(Drawing((stroke,))))
            key = "thin" if stroke.width_px < THIN_BELOW_PX else "wide"
            total[key] += 1
            right[key] += probs is not None and TIMBRES[int(np.argmax(probs))] == truth
    out = {key: right[key] / total[key] for key in total if total[key]}
    out["all"] = sum(right.values()) / sum(total.values())
    out["strokes"] = sum(total.values())
    return out


def cpu_ms(call, count: int) -> dict[str, float]:
    for _ in range(20):
        call()
    times = []
    for _ in range(count):
        start = time.thread_time()
        call()
        times.append((time.thread_time() - start) * 1000.0)
    return {"p50": round(float(np.percentile(times, 50)), 4), "p99": round(float(np.percentile(times, 99)), 4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jitter-samples", type=int, default=4000)
    args = parser.parse_args()

    classifier = load_image_classifier()
    drawings = [drawing for drawing, _ in multi_stroke_drawings(args.seed, args.drawings)]
    results: dict[str, dict] = {}
    for name, palette in PALETTES.items():
        rng = np.random.default_rng((args.seed, len(name)))
        pairs = [recoloured(d, palette, rng) for d in drawings]
        result = {"voice": voice_accuracy(classifier, palette, pairs), "picture": picture_accuracy(palette, pairs)}
        for noise, size in JITTERS:
            lab, rgb = jitter_accuracy(palette, noise, size, rng, args.jitter_samples)
            result[f"{noise}{size:g}"] = {"cielab": lab, "rgb": rgb}
        nearest = [min(delta_e(c, d) for d, _ in palette.entries if d != c) for c, _ in palette.entries]
        result["closest_pair_de00"] = round(min(nearest), 1)
        results[name] = result

    palette = PALETTES["many"]
    image = rasterise(drawings[0])
    colors = [parse_hex_color(c) for c in palette.colors]
    turn = iter(range(10**9))
    prediction = classifier.classify(image)
    timing = {
        "stroke_ms": cpu_ms(lambda: palette.relabel(prediction, palette.probabilities(
            colors[next(turn) % len(colors)])), 5000),
        "picture_ms": cpu_ms(lambda: palette.ink_probabilities(image), 300),
        "model_ms": cpu_ms(lambda: classifier.classify(image), 300),
    }

    print(f"{'palette':<7} {'closest':>7} {'voice':>7} {'picture':>8} {'<5 px':>7} {'>=5 px':>7}  "
          + "  ".join(f"{noise} {size:g}: lab / rgb" for noise, size in JITTERS))
    for name, r in results.items():
        pic = r["picture"]
        jit = "  ".join(f"{r[f'{n}{z:g}']['cielab']:>8.1%} / {r[f'{n}{z:g}']['rgb']:<6.1%}" for n, z in JITTERS)
        print(f"{name:<7} {r['closest_pair_de00']:>7} {r['voice']:>7.1%} {pic['all']:>8.1%} {pic.get('thin', 0):>7.1%} "
              f"{pic.get('wide', 0):>7.1%}  {jit}")
    print(f"strokes per palette: {results['far']['picture']['strokes']}; time per call (thread CPU) "
          + ", ".join(f"{k} p50 {v['p50']:.4f} / p99 {v['p99']:.4f}" for k, v in timing.items()))
    print(json.dumps({"results": results, "timing": timing, "drawings": args.drawings, "seed": args.seed}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
