"""The Pd and Max patches agree with the OSC table (spec as data): every address of protocol.ADDRESSES is
routed, with its arguments; the Pd patch uses vanilla objects only and no two of its boxes overlap; both
play every stroke as its own voice ([clone] in Pd, [poly~] in Max)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from osc_peers import REPO

from bridge.core.protocol import ADDRESSES

PATCHES = REPO / "patches"
PD_PATCH = PATCHES / "pict2audio.pd"
PD_VOICE = PATCHES / "pict2audio-voice.pd"
MAX_PATCH = PATCHES / "pict2audio.maxpat"
MAX_VOICE = PATCHES / "pict2audio_voice.maxpat"
TABLE_PATHS = {a.path: a for a in ADDRESSES.values()}

# Objects of Pd vanilla 0.53 that the patches may use (no externals).
PD_VANILLA = {
    "netreceive", "oscparse", "list", "route", "unpack", "pack", "print", "soundfiler", "t", "trigger", "*", "/",
    "+", "-", "f", "float", "s", "symbol", "vline~", "line~", "tabread4~", "tabplay~", "readsf~", "*~", "dac~",
    "table", "loadbang", "inlet", "outlet", "inlet~", "outlet~", "r", "receive", "send", "sel", "select", "moses",
    "spigot", "clone", "mod", "v", "value", "array", "delay", "del", "tgl", "bng",
}

# Pd's font metrics (zoom 1): font size -> (character width, line height) in px.
PD_FONTS = {8: (5, 11), 10: (6, 13), 12: (7, 16), 16: (10, 19)}
PD_WRAP = 60  # a box without its own width wraps its text at 60 characters


# -- Pure Data ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PdBox:
    kind: str  # obj, msg, text, floatatom, symbolatom
    x: int
    y: int
    atoms: list[str]  # obj/msg/text: the box text; atoms: [width, min, max, label_pos, label, receive, send, ...]
    width: int | None  # chars, from a trailing ", f N" (obj, msg, text)

    @property
    def name(self) -> str:
        return self.atoms[0] if self.kind == "obj" and self.atoms else ""

    @property
    def described(self) -> str:
        if self.kind in ("floatatom", "symbolatom", "listbox"):
            return f"{self.kind} {self.atoms[4]}"
        return self.shown

    @property
    def shown(self) -> str:
        """The text as Pd draws it."""
        return " ".join(self.atoms).replace("\\$", "$").replace(" \\,", ",").replace("\\;", ";").replace("\\,", ",")


def parse_pd(text: str) -> tuple[list[PdBox], dict[tuple[int, int], list[tuple[int, int]]], int]:
    """Boxes in creation order, connections (box, outlet) -> [(box, inlet)], and the canvas font size."""
    boxes: list[PdBox] = []
    wires: dict[tuple[int, int], list[tuple[int, int]]] = {}
    font = 12
    for record in re.split(r"(?<!\\);\s*\n", text):
        record = record.strip()
        atoms = record.split()
        if atoms[:2] == ["#N", "canvas"] and not boxes:
            font = int(atoms[6])
        if len(atoms) < 2 or atoms[0] != "#X":
            continue
        kind = atoms[1]
        if kind == "connect":
            src, outlet, dst, inlet = map(int, atoms[2:6])
            wires.setdefault((src, outlet), []).append((dst, inlet))
        elif kind in ("obj", "msg", "text", "floatatom", "symbolatom", "listbox"):
            width = None
            found = re.search(r"(?<!\\),\s*f\s+(\d+)$", record)
            if found:
                width = int(found.group(1))
                record = record[: found.start()]
            atoms = record.split()
            boxes.append(PdBox(kind, int(atoms[2]), int(atoms[3]), atoms[4:], width))
        elif kind == "restore":  # a subpatch's box in its parent: counted as an object
            boxes.append(PdBox("obj", int(atoms[2]), int(atoms[3]), atoms[4:], None))
    return boxes, wires, font


def wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for chunk in text.split("\n"):
        line = ""
        for word in chunk.split(" "):
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines


def pd_rects(box: PdBox, font: int) -> list[tuple[float, float, float, float]]:
    """Estimated screen rectangles (x0, y0, x1, y1) of a box and of its label, if any."""
    cw, lh = PD_FONTS[font]
    if box.kind in ("floatatom", "symbolatom", "listbox"):
        width = int(box.atoms[0]) * cw + 4
        rects = [(box.x, box.y, box.x + width, box.y + lh + 5)]
        pos, label = int(box.atoms[3]), box.atoms[4]
        if label != "-":
            lw = len(label) * cw
            rects.append({
                0: (box.x - lw - 4, box.y, box.x - 1, box.y + lh + 5),
                1: (box.x + width + 1, box.y, box.x + width + lw + 4, box.y + lh + 5),
                2: (box.x, box.y - lh - 2, box.x + lw, box.y - 1),
                3: (box.x, box.y + lh + 6, box.x + lw, box.y + 2 * lh + 8),
            }[pos])
        return rects
    shown = box.shown
    if box.kind == "msg":
        shown = shown.replace("; ", ";\n")
    lines = wrap(shown, box.width or PD_WRAP)
    chars = box.width if box.width and box.kind != "text" else max(len(line) for line in lines)
    width = max(chars, 3) * cw + 4 + (5 if box.kind == "msg" else 0)
    return [(box.x, box.y, box.x + width, box.y + len(lines) * lh + 5)]


def pd_overlaps(boxes: list[PdBox], font: int, *, margin: float = 2) -> list[tuple[str, str]]:
    rects = [(i, r) for i, box in enumerate(boxes) for r in pd_rects(box, font)]
    found = []
    for k, (i, a) in enumerate(rects):
        for j, b in rects[k + 1:]:
            apart = a[2] + margin <= b[0] or b[2] + margin <= a[0] or a[3] + margin <= b[1] or b[3] + margin <= a[1]
            if i != j and not apart:
                found.append((boxes[i].described, boxes[j].described))
    return found


def pd_targets(boxes: list[PdBox], wires, index: int, outlet: int) -> list[int]:
    """The boxes an outlet feeds; a [s NAME] stands for what every [r NAME] feeds."""
    found = []
    for dst, _ in wires.get((index, outlet), []):
        atoms = boxes[dst].atoms if boxes[dst].kind == "obj" else []
        if atoms[:1] in (["s"], ["send"]) and len(atoms) == 2:
            for r, box in enumerate(boxes):
                if box.kind == "obj" and box.atoms[:1] in (["r"], ["receive"]) and box.atoms[1:] == atoms[1:]:
                    found += pd_targets(boxes, wires, r, 0)
        else:
            found.append(dst)
    return found


def pd_routed_addresses(boxes: list[PdBox], wires) -> dict[str, list[int]]:
    """Follow oscparse -> list trim -> route ... (through send/receive pairs): each OSC address a route
    outlet stands for -> the boxes it feeds."""
    start = next(i for i, box in enumerate(boxes) if box.name == "oscparse")
    routed: dict[str, list[int]] = {}

    def walk(index: int, prefix: str) -> None:
        atoms = boxes[index].atoms
        if atoms[:2] == ["list", "trim"] or atoms[:1] == ["oscparse"]:
            for dst in pd_targets(boxes, wires, index, 0):
                walk(dst, prefix)
        elif atoms[:1] == ["route"]:
            for outlet, name in enumerate(atoms[1:]):
                address = f"{prefix}/{name}"
                targets = pd_targets(boxes, wires, index, outlet)
                deeper = [d for d in targets if boxes[d].atoms[:1] == ["route"]]
                for dst in deeper:
                    walk(dst, address)
                if not deeper:
                    routed[address] = targets

    walk(start, "")
    return routed


def pd_reached(boxes: list[PdBox], wires, targets: list[int]) -> list[int]:
    """The boxes that get a routed message's arguments: its targets and what they feed through [list],
    [list trim] and [t a ...] (which pass the message on unchanged)."""
    seen: list[int] = []
    todo = list(targets)
    while todo:
        index = todo.pop(0)
        if index in seen:
            continue
        seen.append(index)
        box = boxes[index]
        passes = box.kind == "obj" and (
            box.atoms in (["list"], ["list", "trim"])
            or (box.atoms[0] in ("t", "trigger") and set(box.atoms[1:]) == {"a"})
        )
        if passes:
            n_out = len(box.atoms) - 1 if box.atoms[0] in ("t", "trigger") else 1
            for outlet in range(n_out):
                todo += pd_targets(boxes, wires, index, outlet)
    return seen


def pd_unpack_types(typetags: str) -> list[str]:
    return ["s" if tag == "s" else "f" for tag in typetags]


def test_pd_patches_listen_on_9000_with_vanilla_objects_only():
    boxes, _, _ = parse_pd(PD_PATCH.read_text())
    objects = [box.atoms for box in boxes if box.kind == "obj"]
    assert ["netreceive", "-u", "-b", "9000"] in objects
    assert PD_VOICE.exists(), "the voice abstraction must sit beside the patch"
    voice_objects = [box.atoms for box in parse_pd(PD_VOICE.read_text())[0] if box.kind == "obj"]
    assert {atoms[0] for atoms in objects + voice_objects} <= PD_VANILLA, (
        {atoms[0] for atoms in objects + voice_objects} - PD_VANILLA)


def test_pd_patch_routes_every_address_of_the_table_with_its_arguments():
    boxes, wires, _ = parse_pd(PD_PATCH.read_text())
    routed = pd_routed_addresses(boxes, wires)
    assert set(routed) == set(TABLE_PATHS), (set(TABLE_PATHS) - set(routed), set(routed) - set(TABLE_PATHS))
    for address, targets in routed.items():
        spec = TABLE_PATHS[address]
        assert targets, f"{address} is routed to nothing"
        reached = pd_reached(boxes, wires, targets)
        unpacks = [boxes[i].atoms[1:] for i in reached if boxes[i].atoms[:1] == ["unpack"]]
        for types in unpacks:  # one outlet per argument, each of the right kind
            assert types == pd_unpack_types(spec.typetags), (address, types)
        if len(spec.args) > 1:
            assert unpacks, f"{address}: its {len(spec.args)} arguments are never unpacked"
        else:  # one number: shown in a number box
            assert any(boxes[i].kind == "floatatom" for i in targets), f"{address}: its number is not shown"
    printed = [boxes[i].atoms for i in pd_reached(boxes, wires, routed["/pict2audio/play"])]
    assert ["print", "pict2audio-play"] in printed


def test_pd_patch_labels_the_argument_boxes():
    boxes, _, _ = parse_pd(PD_PATCH.read_text())
    atoms = [box for box in boxes if box.kind in ("floatatom", "symbolatom")]
    assert len(atoms) >= sum(len(a.args) for a in ADDRESSES.values()) - 2  # nearly every argument has a box
    assert all(box.atoms[4] != "-" for box in atoms), [box for box in atoms if box.atoms[4] == "-"]


@pytest.mark.parametrize("path", [PD_PATCH, PD_VOICE], ids=lambda p: p.name)
def test_no_two_boxes_of_a_pd_patch_overlap(path: Path):
    boxes, wires, font = parse_pd(path.read_text())
    assert font in PD_FONTS
    assert pd_overlaps(boxes, font) == []
    for (src, outlet), dsts in wires.items():
        assert 0 <= src < len(boxes) and outlet >= 0
        assert all(0 <= dst < len(boxes) and boxes[dst].kind != "text" for dst, _ in dsts)


def test_the_overlap_check_sees_overlapping_boxes():
    text = "#N canvas 0 0 400 300 12;\n#X obj 20 20 route labels match play;\n#X obj 100 30 print x;\n"
    boxes, _, font = parse_pd(text)
    assert pd_overlaps(boxes, font) == [("route labels match play", "print x")]
    text = "#N canvas 0 0 400 300 12;\n#X floatatom 20 50 5 0 0 3 pitch - - 0;\n#X obj 20 76 print x;\n"
    boxes, _, font = parse_pd(text)
    assert pd_overlaps(boxes, font) == [("floatatom pitch", "print x")]  # the label below the number box


def test_pd_patch_plays_each_stroke_on_its_own_clone_voice():
    boxes, _, _ = parse_pd(PD_PATCH.read_text())
    clones = [box.atoms for box in boxes if box.name == "clone"]
    assert clones == [["clone", PD_VOICE.stem, "16"]]
    assert any(box.atoms == ["mod", "16"] for box in boxes)  # voice = stroke_id mod 16
    voice, _, _ = parse_pd(PD_VOICE.read_text())
    objects = [box.atoms for box in voice if box.kind == "obj"]
    assert ["inlet"] in objects and ["outlet~"] in objects
    assert ["route", "play", "stop", "cut"] in objects
    tables = [atoms[1] for atoms in objects if atoms[0] == "table"]
    assert tables and all("\\$0" in name for name in tables), tables  # one table per copy
    readers = [atoms for atoms in objects if atoms[0] in ("tabread4~", "tabplay~", "soundfiler", "array")]
    assert all(atoms[1:] == [] or atoms[-1] in tables for atoms in readers), readers


# -- Max ----------------------------------------------------------------------------------------------


def max_patcher(path: Path) -> tuple[dict[str, dict], list[tuple[str, int, str, int]]]:
    patcher = json.loads(path.read_text())["patcher"]
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    lines = [(*line["patchline"]["source"], *line["patchline"]["destination"]) for line in patcher["lines"]]
    return boxes, lines


@pytest.mark.parametrize("path", [MAX_PATCH, MAX_VOICE], ids=lambda p: p.name)
def test_max_patches_are_valid_json_with_valid_lines_and_no_overlaps(path: Path):
    boxes, lines = max_patcher(path)
    for box in boxes.values():
        assert len(box["outlettype"]) == box["numoutlets"], box
    for src, outlet, dst, inlet in lines:
        assert src in boxes and dst in boxes, (src, dst)
        assert outlet < boxes[src]["numoutlets"] and inlet < boxes[dst]["numinlets"], (src, outlet, dst, inlet)
    rects = [(bid, box["patching_rect"]) for bid, box in boxes.items()]
    for k, (ia, a) in enumerate(rects):
        for ib, b in rects[k + 1:]:
            overlap = a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]
            assert not overlap, (boxes[ia].get("text"), boxes[ib].get("text"))


def max_fed(boxes, lines, src: str, outlet: int) -> list[str]:
    """What an outlet feeds, and further through [t ...] objects (every outlet)."""
    found: list[str] = []
    todo = [dst for s, o, dst, _ in lines if (s, o) == (src, outlet)]
    while todo:
        dst = todo.pop(0)
        if dst in found:
            continue
        found.append(dst)
        if boxes[dst].get("text", "").split()[:1] in (["t"], ["trigger"]):
            todo += [d for s, _, d, _ in lines if s == dst]
    return found


def test_max_patch_routes_every_address_of_the_table_with_its_arguments():
    boxes, lines = max_patcher(MAX_PATCH)
    texts = {bid: box.get("text", "") for bid, box in boxes.items()}
    assert "udpreceive 9000" in texts.values()
    routes = [(bid, t.split()[1:]) for bid, t in texts.items() if t.startswith("route ")]
    assert {a for _, addresses in routes for a in addresses} == set(TABLE_PATHS)
    for route_id, addresses in routes:
        for outlet, address in enumerate(addresses):
            spec = TABLE_PATHS[address]
            fed = max_fed(boxes, lines, route_id, outlet)
            assert fed, f"{address} is routed to nothing"
            unpacks = [texts[d].split()[1:] for d in fed if texts[d].startswith("unpack ")]
            for types in unpacks:
                assert types == list(spec.typetags), (address, types)
            if len(spec.args) > 1:
                assert unpacks, f"{address}: its arguments are never unpacked"
            else:
                shown = ("number", "flonum") if spec.typetags == "f" else ("number",)  # a float in a float box
                assert any(boxes[d]["maxclass"] in shown for d in fed), f"{address}: its number is not shown"
    play_outlet = next((bid, a.index("/pict2audio/play")) for bid, a in routes if "/pict2audio/play" in a)
    assert "print pict2audio-play" in [texts[d] for d in max_fed(boxes, lines, *play_outlet)]


def test_max_patch_plays_each_stroke_on_its_own_poly_voice():
    boxes, lines = max_patcher(MAX_PATCH)
    texts = {bid: box.get("text", "") for bid, box in boxes.items()}
    poly = [bid for bid, t in texts.items() if t == f"poly~ {MAX_VOICE.stem} 16"]
    assert len(poly) == 1
    into_poly = {texts[src] for src, _, dst, _ in lines if dst == poly[0]}
    assert {"prepend target", "prepend play", "prepend stop"} <= into_poly
    assert any("cut" in t.split(", ")[-1].split() for t in into_poly), into_poly  # clear: every voice
    feeds = {(texts[s], texts[d]) for s, _, d, _ in lines}
    assert ("% 16", "+ 1") in feeds and ("+ 1", "prepend target") in feeds  # voice = stroke_id % 16 + 1
    voice, _ = max_patcher(MAX_VOICE)
    vtexts = [box.get("text", "") for box in voice.values()]
    assert "in 1" in vtexts and "out~ 1" in vtexts and "route play stop cut" in vtexts
    buffers = [t.split()[1] for t in vtexts if t.startswith("buffer~ ")]
    assert buffers and all(name.startswith("#0") for name in buffers)  # one buffer~ per voice
    players = [t.split()[1] for t in vtexts if t.split()[:1] in (["play~"], ["groove~"])]
    assert players and set(players) <= set(buffers)
