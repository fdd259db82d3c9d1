"""The README's OSC tables list exactly the addresses and arguments of protocol.ADDRESSES / CONTROL_ADDRESSES."""

from __future__ import annotations

import re

from osc_peers import REPO

from bridge.core.protocol import ADDRESSES, CONTROL_ADDRESSES

README_WITH_TABLES = REPO / "README.md"


def table_after(heading: str) -> list[list[str]]:
    """Rows (cells stripped) of the first markdown table after `heading`."""
    text = README_WITH_TABLES.read_text(encoding="utf-8")
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


def test_osc_out_table_matches_the_address_table():
    rows = table_after("## OSC out")
    got = [(row[0].strip("`"), args_cell(row[1]), row[2]) for row in rows]
    assert got == [(a.path, a.args, a.when) for a in ADDRESSES.values()]
    assert all(set(a.typetags) <= set("ifs") for a in ADDRESSES.values())


def test_control_in_table_matches_the_control_table():
    rows = table_after("## OSC control in")
    got = [(row[0].strip("`"), args_cell(row[1]), row[2]) for row in rows]
    assert got == [(a.path, a.args, a.effect) for a in CONTROL_ADDRESSES.values()]
