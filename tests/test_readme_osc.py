"""The README's OSC tables list exactly the addresses and arguments of protocol.ADDRESSES / CONTROL_ADDRESSES."""

from __future__ import annotations

from readme_tables import args_cell, table_after

from bridge.core.protocol import ADDRESSES, CONTROL_ADDRESSES


def test_osc_out_table_matches_the_address_table():
    rows = table_after("## OSC out")
    got = [(row[0].strip("`"), args_cell(row[1]), row[2]) for row in rows]
    assert got == [(a.path, a.args, a.when) for a in ADDRESSES.values()]
    assert all(set(a.typetags) <= set("ifs") for a in ADDRESSES.values())


def test_control_in_table_matches_the_control_table():
    rows = table_after("## OSC control in")
    got = [(row[0].strip("`"), args_cell(row[1]), row[2]) for row in rows]
    assert got == [(a.path, a.args, a.effect) for a in CONTROL_ADDRESSES.values()]
