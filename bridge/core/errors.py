"""One root error for everything the bridge reports to a user, with a few kinds under it."""

from __future__ import annotations


class BridgeError(Exception):
    """Something a user can fix; the message says what was expected, what arrived and the fix."""


class LabelError(BridgeError, ValueError):
    """A value outside the label space of SPEC §1."""


class DrawingError(BridgeError, ValueError):
    """A saved drawing that does not follow the schema; `where` names the field."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}" if where else problem)


class ModelError(BridgeError):
    """A model that is missing or does not fit this code; the message says how to retrain."""


class SoundBankError(BridgeError):
    """A sound bank or index that cannot be used."""


class ConfigError(BridgeError):
    """A bad command-line option or config file entry."""
