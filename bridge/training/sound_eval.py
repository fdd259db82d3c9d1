"""How well the sound labels match the truth on a test set: the CNN, YIN alone, the DSP (YIN checked
against the spectrum; the level rule), and the labels as the index gives them (the default methods,
with the pitch's second opinion); per family inside and outside 69..80, per recording condition, and
the octave errors of the unfolded note (they vanish in the folded pitch class but matter for the
register the index keeps)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bridge.adapters.atomic_write import write_atomically
from bridge.adapters.sound_classifier import TIME_SHIFTS, LiteRTModel, combine, dsp_pitch, dsp_volume
from bridge.core.audio_levels import fold_pitch
from bridge.core.labels import CLASSES, HEADS, PITCHES, TIMBRES, VOLUMES
from bridge.training.sound_features import FeatureSet

CONDITIONS = ("stereo", "reverb", "slow_attack", "untrimmed", "trimmed", "short")


def predict_tflite(path: Path, x: np.ndarray, time_shifts: tuple[int, ...] = TIME_SHIFTS) -> dict[str, np.ndarray]:
    """Probabilities of the exported model, through the same LiteRT code as indexing."""
    return LiteRTModel(path.read_bytes(), num_threads=2, time_shifts=time_shifts).predict_proba(x)


def predictions(fs: FeatureSet, probs: dict[str, np.ndarray], defaults: dict[str, str]) -> dict[str, dict]:
    """{method: {head: class indices (-1: no answer)}} and {method: unfolded notes (nan: none)}."""
    yin_notes = np.array([np.nan if f.midi_note is None else f.midi_note for f in fs.features])
    yin = np.array([-1 if np.isnan(m) else PITCHES.index(fold_pitch(m)) for m in yin_notes])
    dsp = np.array([PITCHES.index(p[0]) if (p := dsp_pitch(f)) else -1 for f in fs.features])
    labels = [combine(f, {h: probs[h][i] for h in HEADS}, defaults) for i, f in enumerate(fs.features)]
    return {
        "classes": {
            "cnn": {h: np.argmax(p, axis=1) for h, p in probs.items()},
            "yin": {"pitch": yin},
            "dsp": {"pitch": dsp, "volume": np.array([VOLUMES.index(dsp_volume(f)[0]) for f in fs.features])},
            "index": {h: np.array([CLASSES[h].index(getattr(lab, h)) for lab in labels]) for h in HEADS},
        },
        "notes": {
            "yin": yin_notes,
            "index": np.array([np.nan if lab.midi_note is None else lab.midi_note for lab in labels]),
        },
    }


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        if p >= 0:
            m[t, p] += 1
    return m


def _accuracies(fs: FeatureSet, classes: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, float | int]:
    out: dict[str, float | int] = {h: round(float(np.mean(pred[mask] == fs.y[h][mask])), 4)
                                   for h, pred in classes.items()} if mask.any() else {}
    out["n"] = int(mask.sum())
    return out


def octave_errors(fs: FeatureSet, pitch: np.ndarray, notes: np.ndarray) -> dict[str, float | int]:
    """Among the sounds whose pitch class is right: the share whose rounded note is another octave."""
    right = (pitch == fs.y["pitch"]) & np.isfinite(notes)
    off = right & (np.round(np.nan_to_num(notes)) != fs.notes)
    return {"octave_errors": round(float(off.sum() / max(right.sum(), 1)), 4), "n": int(right.sum()),
            "octave_errors_n": int(off.sum())}


def evaluate(fs: FeatureSet, probs: dict[str, np.ndarray], defaults: dict[str, str]) -> dict:
    """Everything measured on one test set (JSON-ready)."""
    pred = predictions(fs, probs, defaults)
    every = np.ones(len(fs), bool)
    accuracy = {m: {h: _accuracies(fs, {h: c[h]}, every)[h] for h in c} for m, c in pred["classes"].items()}
    index = pred["classes"]["index"]
    in_range = (fs.notes >= PITCHES[0]) & (fs.notes <= PITCHES[-1])
    by_family = {}
    for t, family in enumerate(TIMBRES):
        is_family = fs.y["timbre"] == t
        if is_family.any():
            by_family[family] = {"in_range": _accuracies(fs, index, is_family & in_range),
                                 "out_of_range": _accuracies(fs, index, is_family & ~in_range)}
    tags = [set(t.split(",")) for t in fs.tags]
    by_condition = {c: _accuracies(fs, index, np.array([c in t for t in tags])) for c in CONDITIONS}
    return {
        "n": len(fs),
        "accuracy": accuracy,
        "in_range": _accuracies(fs, index, in_range),
        "out_of_range": _accuracies(fs, index, ~in_range),
        "by_family": by_family,
        "by_condition": {c: r for c, r in by_condition.items() if r["n"]},
        "octave": {m: octave_errors(fs, pred["classes"][m]["pitch"], notes) for m, notes in pred["notes"].items()},
        "confusion": {m: {h: confusion(fs.y[h], c[h], len(CLASSES[h])).tolist() for h in c}
                      for m, c in pred["classes"].items() if m in ("cnn", "dsp")},
    }


def choose_defaults(accuracies: dict[str, dict[str, dict[str, float]]]) -> dict[str, str]:
    """Per head, the method (CNN or DSP) with the higher mean accuracy over the test sets (ties go to
    the DSP: it is cheaper and needs no model). accuracies: {test set: {method: {head: accuracy}}}."""
    defaults = {}
    for head in HEADS:
        scores = {}
        for method in ("cnn", "dsp"):
            accs = [by_method[method][head] for by_method in accuracies.values() if head in by_method.get(method, {})]
            if accs:
                scores[method] = float(np.mean(accs))
        defaults[head] = max(scores, key=lambda m: (scores[m], m == "dsp"))
    return defaults


def evaluate_all(tests: dict[str, FeatureSet], probs: dict[str, dict[str, np.ndarray]]) -> tuple[dict, dict]:
    """(default methods, {test set: evaluate(...)}): the defaults are chosen first (CNN vs DSP), then
    every set is measured with them."""
    first = {name: evaluate(fs, probs[name], {h: "cnn" for h in HEADS}) for name, fs in tests.items()}
    defaults = choose_defaults({name: r["accuracy"] for name, r in first.items()})
    return defaults, {name: evaluate(fs, probs[name], defaults) for name, fs in tests.items()}


def format_report(results: dict) -> str:
    """The measured accuracies as Markdown tables (what docs/soundbank.md shows)."""
    lines = ["| test set | notes | pitch (index) | pitch YIN | pitch CNN | octave errors YIN / index | volume (index) "
             "| volume CNN | timbre |", "|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        a, o = r["accuracy"], r["octave"]
        lines.append(f"| {name} | {r['n']} | {a['index']['pitch']:.1%} | {a['yin']['pitch']:.1%} | "
                     f"{a['cnn']['pitch']:.1%} | {o['yin']['octave_errors']:.1%} / {o['index']['octave_errors']:.1%} | "
                     f"{a['index']['volume']:.1%} | {a['cnn']['volume']:.1%} | {a['index']['timbre']:.1%} |")
    lines += ["", "| test set | range | notes | pitch | volume | timbre |", "|---|---|---|---|---|---|"]
    for name, r in results.items():
        for part in ("in_range", "out_of_range"):
            p = r[part]
            if p["n"]:
                lines.append(f"| {name} | {part.replace('_', ' ')} | {p['n']} | {p['pitch']:.1%} | {p['volume']:.1%} | "
                             f"{p['timbre']:.1%} |")
    for name, r in results.items():
        lines += ["", f"{name}, per family (index labels; in range 69..80 / out of range):", "",
                  "| family | notes | pitch | volume | timbre |", "|---|---|---|---|---|"]
        for family, parts in r["by_family"].items():
            cells = [" / ".join(f"{parts[p][h]:.0%}" if parts[p]["n"] else "-" for p in ("in_range", "out_of_range"))
                     for h in HEADS]
            n = f"{parts['in_range']['n']} / {parts['out_of_range']['n']}"
            lines.append(f"| {family} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def save_confusion_png(result: dict, path: Path, *, title: str, cell_px: int = 24) -> None:
    """One PNG per test set: a row per method, a confusion matrix per head (rows true, columns predicted)."""
    from PIL import Image, ImageDraw

    matrices = result["confusion"]
    margin, gap, head_px = 34, 20, 34
    block_h = head_px + len(PITCHES) * cell_px + 24
    width = gap + sum(margin + len(CLASSES[h]) * cell_px + gap for h in HEADS)
    img = Image.new("RGB", (width, 26 + len(matrices) * block_h), "white")
    draw = ImageDraw.Draw(img)
    draw.text((8, 6), f"{title}: confusion matrices (rows = true class, columns = predicted)", fill="black")
    for r, (method, by_head) in enumerate(matrices.items()):
        top = 26 + r * block_h
        left = gap
        for head in HEADS:
            names = [str(c)[:3] for c in CLASSES[head]]
            x0, y0 = left + margin, top + head_px
            if head in by_head:
                m = np.array(by_head[head])
                accuracy = result["accuracy"][method][head]
                draw.text((left, top), f"{method.upper()} {head}: {accuracy:.1%}", fill="black")
                norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
                for i, name in enumerate(names):
                    draw.text((left + 2, y0 + i * cell_px + 6), name, fill="black")
                    draw.text((x0 + i * cell_px + 2, y0 - 14), name, fill="black")
                    for j in range(len(names)):
                        shade = int(255 * (1 - norm[i, j]))
                        color = (shade, shade, 255) if i == j else (255, shade, shade)
                        box = (x0 + j * cell_px, y0 + i * cell_px)
                        draw.rectangle([*box, box[0] + cell_px - 1, box[1] + cell_px - 1], fill=color, outline="#ccc")
                        if m[i, j]:
                            ink = "white" if norm[i, j] > 0.6 else "black"
                            draw.text((box[0] + 3, box[1] + 6), str(m[i, j]), fill=ink)
            left += margin + len(names) * cell_px + gap
    write_atomically(path, lambda handle: img.save(handle, format="PNG"))
