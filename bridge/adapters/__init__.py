"""Adapters: one third-party library per module, at the edge of the core."""
