"""The Pd and Max patches agree with the OSC table (spec as data): every routed address exists, with its arguments."""

from __future__ import annotations

import json
import re

from osc_peers import REPO

from bridge.core.protocol import ADDRESSES

PD_PATCH = REPO / "patches" / "pict2audio.pd"
MAX_PATCH = REPO / "patches" / "pict2audio.maxpat"
TABLE_PATHS = {a.path: a for a in ADDRESSES.values()}

# Objects of Pd vanilla 0.53 that the patch may use (no externals).
PD_VANILLA = {
    "netreceive", "oscparse", "list", "route", "unpack", "pack", "print", "soundfiler", "t", "trigger", "*", "/",
    "+", "-", "f", "float", "s", "symbol", "vline~", "line~", "tabread4~", "tabplay~", "readsf~", "*~", "dac~",
    "table", "loadbang", "inlet", "outlet", "r", "receive", "send", "sel", "select", "moses", "spigot",
}


def parse_pd(text: str) -> tuple[list[tuple[str, list[str]]], dict[tuple[int, int], list[int]]]:
    """Boxes as (kind, atoms) in creation order, and connections (box, outlet) -> [boxes]."""
    boxes: list[tuple[str, list[str]]] = []
    wires: dict[tuple[int, int], list[int]] = {}
    for record in re.split(r"(?<!\\);\s*\n", text):
        atoms = record.split()
        if len(atoms) < 2 or atoms[0] != "#X":
            continue
        kind = atoms[1]
        if kind == "connect":
            src, outlet, dst, _ = map(int, atoms[2:6])
            wires.setdefault((src, outlet), []).append(dst)
        elif kind in ("obj", "msg", "text", "floatatom", "symbolatom", "restore"):
            boxes.append((kind, atoms[4:] if kind in ("obj", "msg", "text") else atoms[2:]))
    return boxes, wires


def pd_routed_addresses(boxes, wires) -> dict[str, list[int]]:
    """Follow oscparse -> list trim -> route ... : each route outlet's OSC address -> the boxes it feeds."""
    start = next(i for i, (kind, atoms) in enumerate(boxes) if kind == "obj" and atoms[:1] == ["oscparse"])
    routed: dict[str, list[int]] = {}

    def walk(index: int, prefix: str) -> None:
        atoms = boxes[index][1]
        if atoms[:2] == ["list", "trim"] or atoms[:1] == ["oscparse"]:
            for dst in wires.get((index, 0), []):
                walk(dst, prefix)
        elif atoms[:1] == ["route"]:
            for outlet, name in enumerate(atoms[1:]):
                address = f"{prefix}/{name}"
                targets = wires.get((index, outlet), [])
                deeper = [d for d in targets if boxes[d][1][:1] == ["route"]]
                for dst in deeper:
                    walk(dst, address)
                if not deeper:
                    routed[address] = targets

    walk(start, "")
    return routed


def test_pd_patch_listens_on_9000_with_vanilla_objects_only():
    boxes, _ = parse_pd(PD_PATCH.read_text())
    objects = [atoms for kind, atoms in boxes if kind == "obj"]
    assert ["netreceive", "-u", "-b", "9000"] in objects
    assert {atoms[0] for atoms in objects} <= PD_VANILLA


def test_every_address_the_pd_patch_routes_is_in_the_table_with_its_arguments():
    boxes, wires = parse_pd(PD_PATCH.read_text())
    routed = pd_routed_addresses(boxes, wires)
    used = {address: targets for address, targets in routed.items() if targets}
    assert set(routed) <= set(TABLE_PATHS), set(routed) - set(TABLE_PATHS)
    assert {"/pict2audio/play", "/pict2audio/labels", "/pict2audio/match"} <= set(used)
    for address, targets in used.items():
        spec = TABLE_PATHS[address]
        for dst in targets:  # an unpack behind [list] must have one outlet per argument, of the right kind
            for nxt in [dst, *wires.get((dst, 0), [])]:
                atoms = boxes[nxt][1]
                if atoms[:1] == ["unpack"]:
                    assert atoms[1:] == ["s" if tag == "s" else "f" for tag in spec.typetags], (address, atoms)
    play = [boxes[d][1] for d in used["/pict2audio/play"]]
    assert ["print", "pict2audio-play"] in play


def test_max_patch_is_valid_json_and_routes_only_table_addresses():
    patcher = json.loads(MAX_PATCH.read_text())["patcher"]
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    texts = {bid: box.get("text", "") for bid, box in boxes.items()}
    assert "udpreceive 9000" in texts.values()
    assert any(t.startswith("sfplay~") for t in texts.values())
    for line in patcher["lines"]:
        (src, outlet), (dst, inlet) = line["patchline"]["source"], line["patchline"]["destination"]
        assert outlet < boxes[src]["numoutlets"] and inlet < boxes[dst]["numinlets"], line
    routes = [(bid, t.split()[1:]) for bid, t in texts.items() if t.startswith("route ")]
    assert routes
    for route_id, addresses in routes:
        assert set(addresses) <= set(TABLE_PATHS), set(addresses) - set(TABLE_PATHS)
        for line in patcher["lines"]:
            (src, outlet), (dst, _) = line["patchline"]["source"], line["patchline"]["destination"]
            if src == route_id and outlet < len(addresses) and texts[dst].startswith("unpack"):
                spec = TABLE_PATHS[addresses[outlet]]
                assert texts[dst].split()[1:] == list(spec.typetags), (addresses[outlet], texts[dst])
    assert "/pict2audio/play" in routes[0][1]
