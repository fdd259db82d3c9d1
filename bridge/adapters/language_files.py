"""Taught-shape languages on disk (bridge.core.language): read, written atomically, and named in drawings.

A drawing played with a language records it in its meta as {"path": the file, "hash": its content hash}
(`language_record`), so a replay can load the same file and tell when the file has changed since.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from bridge.adapters.atomic_write import write_atomically
from bridge.core.errors import BridgeError
from bridge.core.language import MAX_LANGUAGE_BYTES, Language, LanguageError, Recogniser, language_from_json

log = logging.getLogger(__name__)

META_KEY = "language"


def read_language(path: str | os.PathLike[str]) -> Language:
    """The language in `path`; BridgeError naming the file and what is wrong."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_LANGUAGE_BYTES + 1)
    except FileNotFoundError as exc:
        raise BridgeError(f"{path}: no such language file (write one with `run_bridge.py teach`)") from exc
    except OSError as exc:
        raise BridgeError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        return language_from_json(data)
    except LanguageError as exc:
        raise BridgeError(f"{path}: not a usable language: {exc}") from exc


def save_language(language: Language, path: str | os.PathLike[str]) -> None:
    """Write `language` to `path` atomically (a reader sees the old file or the new one)."""
    path = Path(path)
    try:
        write_atomically(path, lambda f: f.write(language.to_json().encode("utf-8")))
    except OSError as exc:
        raise BridgeError(f"could not save the language to {path}: {exc.strerror or exc}") from exc
    log.info("saved %s (%d classes, %d examples)", path, len(language.classes), language.example_count)


def language_record(path: str | os.PathLike[str], language: Language) -> dict[str, str]:
    """What a drawing keeps of the language it was played with."""
    return {"path": str(Path(path).expanduser().resolve()), "hash": language.hash}


def recorded_language(meta: dict[str, Any]) -> dict[str, str] | None:
    """The language a drawing's meta names ({"path", "hash"}), or None (none, or not in that form)."""
    record = meta.get(META_KEY)
    if isinstance(record, dict) and isinstance(record.get("path"), str) and isinstance(record.get("hash"), str):
        return {"path": record["path"], "hash": record["hash"]}
    return None


class SessionLanguage:
    """The language a live session plays with and teaches into: its file, its content and its recogniser.

    A file that does not exist yet starts an empty language, written when the first shape is taught. `use`
    (UI thread) changes it at once; `save` (any thread) writes the latest one, one save at a time, so the file
    ends with the last language used however the saves interleave."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.language = read_language(self.path) if self.path.exists() else Language()
        self.recogniser = Recogniser(self.language)
        self._saving = threading.Lock()

    def record(self) -> dict[str, str]:
        return language_record(self.path, self.language)

    def use(self, language: Language) -> Recogniser:
        """Play with `language` from now on (not saved yet); its recogniser."""
        self.language = language
        self.recogniser = Recogniser(language)
        return self.recogniser

    def save(self) -> Language:
        """Write the language in use now to the file (atomically); returns what was written."""
        with self._saving:
            language = self.language
            save_language(language, self.path)
            return language


def replay_language(meta: dict[str, Any], given: Path | None,
                    fallback: Path | None = None) -> tuple[Recogniser | None, list[str]]:
    """The recogniser a replay of a drawing uses and the warnings to print: the `given` file (--language), else
    the file the drawing recorded, else `fallback` (the config file's). A file that is missing, unreadable or
    changed since the drawing was played (another hash) is said so; the drawing then replays with what there
    is (no language: the fixed rules)."""
    recorded = recorded_language(meta)
    path = given or (Path(recorded["path"]) if recorded else None) or fallback
    if path is None:
        return None, []
    try:
        language = read_language(path)
    except BridgeError as exc:
        return None, [f"{exc}; replaying without a language (shapes take the fixed rules), so it may differ "
                      "from how it was played"]
    warnings = []
    if recorded is None:
        warnings.append(f"drawn without a taught language, replaying with {path}: its shapes are recognised")
    elif recorded["hash"] != language.hash:
        warnings.append(f"drawn with language {recorded['path']} ({recorded['hash'][:19]}...), replaying with "
                        f"{path} ({language.hash[:19]}...), which differs: gestures may differ")
    return Recogniser(language), warnings
