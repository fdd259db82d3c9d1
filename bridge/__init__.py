"""Pict2Audio Bridge: draw on a canvas, hear the best-matching sample of your sound bank.

"SPEC §n" in the code is section n of docs/spec.md, the project's contract.
"""

__version__ = "0.1.0"
