"""Undo/redo of the canvas as a stack of whole stroke lists (pure; no pygame)."""

from __future__ import annotations

from bridge.core.drawing import Stroke

Strokes = tuple[Stroke, ...]


class History:
    """Snapshots of the stroke list: `record(before)` before every change, then undo/redo."""

    def __init__(self, *, limit: int = 200) -> None:
        self._undo: list[Strokes] = []
        self._redo: list[Strokes] = []
        self._limit = limit

    def record(self, before: Strokes) -> None:
        """Remember the state before a change; a new change forgets what could be redone."""
        self._undo.append(before)
        del self._undo[: -self._limit]
        self._redo.clear()

    def undo(self, current: Strokes) -> Strokes | None:
        """The previous state (None if there is nothing to undo)."""
        if not self._undo:
            return None
        self._redo.append(current)
        return self._undo.pop()

    def redo(self, current: Strokes) -> Strokes | None:
        if not self._redo:
            return None
        self._undo.append(current)
        return self._redo.pop()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)
