"""The markdown tables of the README (and docs/), read for the tests that check them against the code."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import REPO

README = REPO / "README.md"


def table_after(heading: str, document: Path = README) -> list[list[str]]:
    """Rows (cells stripped) of the first markdown table after `heading` in `document` (the README)."""
    text = document.read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    rows: list[list[str]] = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    assert len(rows) > 2 and set(rows[1][0]) <= set("-:"), f"no table under {heading}"
    return rows[2:]


def args_cell(cell: str) -> tuple[tuple[str, str], ...]:
    """'`i pitch`, `s volume`' -> (('pitch', 'i'), ('volume', 's')); '(none)' -> ()."""
    pairs = re.findall(r"`([a-z/]+) ([a-z_]+)`", cell)
    return tuple((name, tag) for tag, name in pairs)
