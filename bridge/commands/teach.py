"""`teach`: a language of taught shapes from folders of example drawings.

    run_bridge.py teach EXAMPLES_DIR -o LANGUAGE.json [--threshold D]

EXAMPLES_DIR holds one folder per class, named HEAD=VALUE (`timbre=brass`, `volume=high`, `pitch=72`), each
with a few saved drawings (*.json; the PNGs beside them are ignored) of the shape that means that label. All
the pen strokes of a drawing are one example (a cross may be two strokes). The language is written
atomically to LANGUAGE.json, with the distance beyond which a mark is no shape (`--threshold`, default the
measured DEFAULT_THRESHOLD; docs/language.md). Every problem (a folder not named HEAD=VALUE, a drawing that
cannot be read or is too small to be a shape) is one line naming the file; then nothing is written and the
exit code is 1. The summary says how many examples each class has and, for classes of two examples or more,
whether each example is recognised from the others (a check that the classes are told apart).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bridge.core.errors import BridgeError

if TYPE_CHECKING:
    from bridge.core.language import Example, Language


def register(subparsers: argparse._SubParsersAction) -> None:
    from bridge.core.language import DEFAULT_THRESHOLD

    parser = subparsers.add_parser("teach", help="learn taught shapes from folders of example drawings (HEAD=VALUE)")
    parser.add_argument("examples", type=Path, metavar="EXAMPLES_DIR",
                        help="one folder per class, named HEAD=VALUE, of example drawings (.json)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="LANGUAGE.json",
                        help="the language file to write (atomically)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, metavar="D",
                        help=f"distance beyond which a mark is no taught shape (default {DEFAULT_THRESHOLD})")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bridge.adapters.language_files import save_language
    from bridge.core.language import Language, LanguageError

    started = time.perf_counter()
    try:
        language = Language(threshold=args.threshold)
    except LanguageError as exc:
        raise BridgeError(f"--threshold: {exc.problem}") from None
    language, problems = _taught(args.examples, language)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problems: {args.output} was not written", file=sys.stderr)
        return 1
    save_language(language, args.output)
    seconds = time.perf_counter() - started
    for shape_class in language.classes:
        print(f"{shape_class.name}: {len(shape_class.examples)} examples")
    print(_self_check(language))
    print(f"wrote {args.output} ({len(language.classes)} classes, {language.example_count} examples, "
          f"threshold {language.threshold:g}, {language.hash[:19]}...) in {seconds:.2f} s")
    return 0


def _taught(folder: Path, language: Language) -> tuple[Language, list[str]]:
    """The language with every example of `folder`, and the problems found (one line each)."""
    from bridge.core.language import LanguageError, parse_class_name

    if not folder.is_dir():
        raise BridgeError(f"{folder}: not a folder (expected one folder per class, named HEAD=VALUE)")
    problems: list[str] = []
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise BridgeError(f"{folder}: no class folders (expected folders named HEAD=VALUE, e.g. timbre=brass)")
    for class_dir in classes:
        try:
            parse_class_name(class_dir.name)
        except LanguageError as exc:
            problems.append(f"{class_dir}: not a class folder name: {exc.problem}")
            continue
        files = sorted(class_dir.glob("*.json"), key=_natural_key)
        if not files:
            problems.append(f"{class_dir}: no example drawings (*.json)")
        for path in files:
            try:
                language = language.with_example(class_dir.name, _example(path, f"{class_dir.name}/{path.name}"))
            except BridgeError as exc:
                problems.append(f"{path}: {exc}")
    return language, problems


def _example(path: Path, source: str) -> Example:
    """The example a drawing file teaches: all its pen strokes, on the 400 px canvas."""
    from bridge.adapters.drawing_files import read_drawing
    from bridge.core.language import LanguageError, example_from_strokes

    try:
        drawing = read_drawing(path)
    except BridgeError as exc:
        raise BridgeError(f"not a valid drawing: {exc}") from exc
    pens = [s for s in drawing.strokes if s.tool == "pen"]
    if not pens:
        raise BridgeError("no pen strokes: nothing to learn")
    try:
        return example_from_strokes(pens, source)
    except LanguageError as exc:
        raise BridgeError(exc.problem) from None


def _self_check(language: Language) -> str:
    """Each example of a class with others, recognised by a language of all the other examples."""
    from dataclasses import replace

    from bridge.core.language import Recogniser

    tried, missed = 0, []
    for i, shape_class in enumerate(language.classes):
        if len(shape_class.examples) < 2:
            continue
        for j, example in enumerate(shape_class.examples):
            rest = replace(shape_class, examples=shape_class.examples[:j] + shape_class.examples[j + 1:])
            others = replace(language, classes=(*language.classes[:i], rest, *language.classes[i + 1:]))
            found = Recogniser(others).match_outline(example.outline)
            tried += 1
            if found is None or found.name != shape_class.name:
                missed.append(f"{example.source} -> {'no shape' if found is None else found.name}")
    if not tried:
        return "self-check: teach two examples or more per class to check that the classes are told apart"
    line = f"self-check: {tried - len(missed)} of {tried} examples recognised from the others"
    return line + ("" if not missed else " (missed: " + "; ".join(missed) + ")")


def _natural_key(path: Path) -> list:
    import re

    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]
