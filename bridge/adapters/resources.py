"""Where the committed models are: `models/` beside the package in a source checkout, inside the package
(`bridge/models/`, put there by the wheel build) in an installed copy."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
CHECKOUT_MODELS = PACKAGE.parent / "models"
INSTALLED_MODELS = PACKAGE / "models"


def models_dir() -> Path:
    """The folder holding `image/` and `sound/`: the checkout's when there is one (training writes there)."""
    return CHECKOUT_MODELS if CHECKOUT_MODELS.is_dir() else INSTALLED_MODELS
