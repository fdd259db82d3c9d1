"""Pict2Audio Bridge: draw on a canvas, hear the best-matching sample of your sound bank."""

__version__ = "0.1.0"
