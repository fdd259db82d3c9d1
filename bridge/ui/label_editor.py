"""Ctrl+L in the canvas: correct the labels of the matched sample (the one the HUD shows), as `label` does.

The prompt is prefilled with the sample's labels (`timbre=organ volume=med pitch=C5`); the heads typed win
over the models (bridge.adapters.label_corrections), `clear` removes the sample's correction. On a
background thread the correction is saved beside the bank, the bank is read again from its index with the
corrections on top and the session matches with it from then on (`Engine.use_matcher`); the HUD says when.
Corrections apply to a bank folder (`--bank`); the built-in bank's labels are how its notes were made.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.core.errors import BridgeError
from bridge.core.labels import HEADS, note_name
from bridge.ui.overlays import Prompt

if TYPE_CHECKING:
    from bridge.ui.canvas_app import CanvasApp

log = logging.getLogger(__name__)

KEY = "ctrl+l"


def parse_labels(text: str) -> Any:
    """'timbre=brass pitch=C5' -> Correction; 'clear' -> None; ValueError with what is expected otherwise."""
    from bridge.adapters.label_corrections import correction_from_table

    if text.strip().lower() == "clear":
        return None
    values: dict[str, str] = {}
    for token in text.replace(",", " ").split():
        head, sep, value = token.partition("=")
        if not sep or head.lower() not in HEADS:
            raise ValueError(f"expected head=value pairs (timbre=brass volume=low pitch=C5) or 'clear', got {token!r}")
        values[head.lower()] = value.lower() if head.lower() != "pitch" else value
    return correction_from_table(values)


class SampleLabelEditor:
    """Corrects the matched sample of a session whose bank is the folder `bank_folder` (None: the built-in bank)."""

    def __init__(self, app: CanvasApp, bank_folder: Path | None) -> None:
        self.app = app
        self.bank_folder = None if bank_folder is None else Path(bank_folder).expanduser().resolve()
        self.applied = threading.Event()  # set when the last correction is in use (or failed): tests wait on it

    def bind(self) -> SampleLabelEditor:
        self.app.add_key_command(KEY, "correct the matched sample's labels (sound bank)", self.ask)
        return self

    def ask(self) -> None:
        engine = self.app.link.engine
        match = None if engine is None else engine.current_match
        if match is None:
            self.app.show_message("labels: no sample matched yet; draw, then press Ctrl+L to correct its labels")
            return
        if self.bank_folder is None:
            self.app.show_message("labels: the built-in bank's labels are how its notes were made; corrections "
                                  "apply to a bank folder (--bank FOLDER)", seconds=6.0)
            return
        sample, labels = match.sample, match.sample.labels
        shown = f"timbre={labels.timbre} volume={labels.volume} pitch={note_name(labels.pitch)}"
        note = "The labels you type win over the models (saved beside the bank); 'clear' removes the correction."
        self.app.open_prompt(Prompt(f"Labels of {os.path.basename(sample.path)}", shown,
                                    lambda text: self.apply(sample.path, text), note=note))

    def apply(self, sample_path: str, text: str) -> str | None:
        """One prompt entry; the error to show in the prompt, or None once the correction is on its way."""
        try:
            correction = parse_labels(text)
        except ValueError as exc:
            return str(exc)
        self.applied.clear()
        threading.Thread(target=self._correct, args=(Path(sample_path), correction), name="pict2audio-labels",
                         daemon=True).start()
        return None

    def _correct(self, sample: Path, correction: Any) -> None:
        """Save the correction, re-read the bank with it and hand the session a matcher over the new bank."""
        from bridge.adapters.label_corrections import relative_key, save_correction
        from bridge.adapters.soundbank_index import default_index_path, load_bank
        from bridge.core.matching import Matcher

        assert self.bank_folder is not None
        try:
            if not sample.is_relative_to(self.bank_folder):
                raise BridgeError(f"{sample} is not in the bank folder {self.bank_folder}")
            index_path = default_index_path(self.bank_folder)
            written = save_correction(self.bank_folder, index_path, relative_key(self.bank_folder, sample), correction)
            bank = load_bank(self.bank_folder, index_path=index_path, update=False)
            matcher = Matcher(bank)
            parts = self.app.link.parts
            if parts is not None:
                parts.engine.use_matcher(matcher)
                parts.bank, parts.matcher = bank, matcher
            done = "cleared" if correction is None else "saved"
            self.app.show_message(f"labels of {sample.name} {done} in {written}; the bank now plays them", seconds=5.0)
        except BridgeError as exc:
            log.error("label correction of %s failed: %s", sample, exc)
            self.app.show_message(f"labels NOT corrected: {exc}", seconds=8.0)
        finally:
            self.applied.set()
