"""The bridge's OSC namespace as OSCQuery JSON (github.com/Vidvox/OSCQueryProposal), built from protocol's tables.

Every path of `protocol.ADDRESSES` (what the bridge sends) is readable: ACCESS 1. Every path of
`protocol.CONTROL_ADDRESSES` (what it listens to, only when control input is on) is writable: ACCESS 2.
A path in both tables (`/pict2audio/clear`, `/pict2audio/override`) is 3.

The standard attributes describe what a client sends to a writable node, else what the bridge sends there
(OSCQuery gives a node one TYPE; the two directions differ at those two paths):

- TYPE: one OSC type tag string. A control argument that accepts several types ('i/f/s') is advertised as
  's' (a string carries every value: a numeric string for a pitch); an argument-less control has no TYPE.
- RANGE: one entry per tag: {"MIN", "MAX"}, {"VALS": [...]}, or null (any value, e.g. a file path).
- DESCRIPTION: when it is sent and/or what it does, with every argument.

Both directions are given exactly, argument by argument, in two attributes of this namespace (a client
that does not know them ignores them):

- PICT2AUDIO_SENDS: {"TYPE", "ARGUMENTS": [{"NAME", "TYPE", "RANGE"}...], "WHEN"}
- PICT2AUDIO_ACCEPTS: {"TYPES": every accepted type tag string, "ARGUMENTS": [{"NAME", "TYPE" ('i/f/s' for
  alternatives), "RANGE"}...], "EFFECT"}

`answer(...)` resolves one HTTP GET (path and query string) to a status and a JSON body, so the HTTP
adapter (bridge/adapters/oscquery_http.py) only moves bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bridge.core.bank import REGISTERS
from bridge.core.events import SCORE_STATES, TRANSPORT_ACTIONS
from bridge.core.labels import CLASSES, HEADS, PITCHES, TIMBRES, VOLUMES, Overrides
from bridge.core.protocol import ADDRESSES, CONTROL_ADDRESSES, Address, ControlAddress, override_message
from bridge.core.score import BPM_RANGE

Json = dict[str, Any]

NAME = "Pict2Audio Bridge"
SERVICE_TYPE = "_oscjson._tcp.local."
READ, WRITE = 1, 2  # OSCQuery ACCESS bits: the value can be retrieved (the bridge sends it) / set (it listens)
ATTRIBUTES = ("FULL_PATH", "CONTENTS", "TYPE", "ACCESS", "RANGE", "DESCRIPTION", "PICT2AUDIO_SENDS",
              "PICT2AUDIO_ACCEPTS")
# The optional parts of OSCQuery this server implements (HOST_INFO's EXTENSIONS): no values, no streaming.
EXTENSIONS = {"ACCESS": True, "RANGE": True, "DESCRIPTION": True, "VALUE": False, "TAGS": False,
              "EXTENDED_TYPE": False, "UNIT": False, "CRITICAL": False, "CLIPMODE": False, "LISTEN": False,
              "PATH_CHANGED": False, "PATH_RENAMED": False, "PATH_ADDED": False, "PATH_REMOVED": False}
# An argument-less control also accepts one number, a button's press or release (see CONTROL_ADDRESSES).
BUTTON_TAGS = ("i", "f")
CONTAINER_DESCRIPTIONS = {"/": NAME, "/pict2audio": "drawing-to-sound instrument: labels, matches, voices, "
                          "controls", "/pict2audio/voice": "voices", "/pict2audio/stroke": "pen strokes"}


# -- value ranges, from the label space ------------------------------------------------------------


def _not_overridden() -> dict[str, object]:
    """What /pict2audio/override sends for a head that is not overridden (-1, 'none'): from the protocol."""
    return dict(zip(HEADS, override_message(Overrides()).args))


def _vals(values: Iterable[object]) -> Json:
    return {"VALS": list(values)}


def sent_range(address: str, name: str) -> Json | None:
    """The values the bridge sends for one argument of one address of ADDRESSES (None: any value)."""
    if address == "override":
        return _vals([_not_overridden()[name], *CLASSES[name]])
    ranges: dict[str, Json | None] = {
        "pitch": {"MIN": PITCHES[0], "MAX": PITCHES[-1]},
        "volume": _vals(VOLUMES),
        "timbre": _vals(TIMBRES),
        "score": {"MIN": 0.0, "MAX": 1.0},
        "stroke_id": {"MIN": 0},  # 0: a trigger; strokes count from 1
        "stroke_count": {"MIN": 0},
        "path": None,
        "position": {"MIN": 0.0, "MAX": 1.0},  # the score's playhead across the canvas
        "state": _vals(SCORE_STATES),
        "bpm": {"MIN": BPM_RANGE[0], "MAX": BPM_RANGE[1]},
    }
    if name.startswith("p_"):
        return {"MIN": 0.0, "MAX": 1.0}  # the classifier's probability of the label it sent
    return ranges[name]


def accepted_range(name: str, path: str = "") -> Json:
    """The values a control argument takes (as strings where it accepts several types)."""
    if path == CONTROL_ADDRESSES["transport"].path:  # an action, and the number tempo, position and loop take
        return _vals(TRANSPORT_ACTIONS) if name == "action" else {"MIN": 0.0, "MAX": BPM_RANGE[1]}
    release = str(_not_overridden()["volume"])
    ranges = {
        "head": _vals(HEADS),
        "value": _vals([release, *(str(v) for head in HEADS for v in CLASSES[head])]),
        "register": {"MIN": REGISTERS[0], "MAX": REGISTERS[-1]},
    }
    return ranges[name]


# -- one node per address ----------------------------------------------------------------------------


def _sends(name: str, spec: Address) -> Json:
    arguments = [{"NAME": arg, "TYPE": tag, "RANGE": sent_range(name, arg)} for arg, tag in spec.args]
    return {"TYPE": spec.typetags, "ARGUMENTS": arguments, "WHEN": spec.when}


def _accepted_types(spec: ControlAddress) -> list[str]:
    """Every type tag string the control accepts, e.g. ['si', 'sf', 'ss'] or ['', 'i', 'f']."""
    if not spec.args:
        return ["", *BUTTON_TAGS]
    forms = [""]
    for _, tags in spec.args:
        forms = [form + tag for form in forms for tag in tags.split("/")]
    return forms


def _accepts(spec: ControlAddress) -> Json:
    arguments = [{"NAME": arg, "TYPE": tags, "RANGE": accepted_range(arg, spec.path)} for arg, tags in spec.args]
    return {"TYPES": _accepted_types(spec), "ARGUMENTS": arguments, "EFFECT": spec.effect}


def _advertised_tag(tags: str) -> str:
    """The one tag TYPE shows for an argument: 's' when strings are among its alternatives."""
    options = tags.split("/")
    return "s" if "s" in options else options[0]


def _signature(arguments: list[Json]) -> str:
    return ", ".join(f"{a['TYPE']} {a['NAME']}" for a in arguments) or "no argument"


def _description(sends: Json | None, accepts: Json | None) -> str:
    parts = []
    if sends is not None:
        parts.append(f"sent: {sends['WHEN']} ({_signature(sends['ARGUMENTS'])})")
    if accepts is not None:
        button = " or one number: acts when it is not 0" if not accepts["ARGUMENTS"] else ""
        parts.append(f"accepted: {accepts['EFFECT']} ({_signature(accepts['ARGUMENTS'])}{button})")
    return "; ".join(parts)


def method_node(path: str, sends: Json | None, accepts: Json | None) -> Json:
    """One OSC method: standard attributes for the writable side if any, else the sent side."""
    access = (READ if sends is not None else 0) | (WRITE if accepts is not None else 0)
    node: Json = {"FULL_PATH": path, "ACCESS": access, "DESCRIPTION": _description(sends, accepts)}
    if accepts is not None:
        if accepts["ARGUMENTS"]:
            node["TYPE"] = "".join(_advertised_tag(a["TYPE"]) for a in accepts["ARGUMENTS"])
            node["RANGE"] = [a["RANGE"] for a in accepts["ARGUMENTS"]]
    elif sends is not None:
        node["TYPE"] = sends["TYPE"]
        node["RANGE"] = [a["RANGE"] for a in sends["ARGUMENTS"]]
    if sends is not None:
        node["PICT2AUDIO_SENDS"] = sends
    if accepts is not None:
        node["PICT2AUDIO_ACCEPTS"] = accepts
    return node


def methods(*, listening: bool) -> dict[str, Json]:
    """path -> method node, for every address sent, and every control when the bridge listens."""
    sent = {spec.path: _sends(name, spec) for name, spec in ADDRESSES.items()}
    accepted = {spec.path: _accepts(spec) for spec in CONTROL_ADDRESSES.values()} if listening else {}
    return {path: method_node(path, sent.get(path), accepted.get(path)) for path in sorted(sent | accepted)}


# -- the tree ----------------------------------------------------------------------------------------


def _container(path: str) -> Json:
    return {"FULL_PATH": path, "ACCESS": 0, "DESCRIPTION": CONTAINER_DESCRIPTIONS.get(path, ""), "CONTENTS": {}}


def namespace(*, listening: bool) -> Json:
    """The root node ('/') with every container and method below it in CONTENTS."""
    root = _container("/")
    for path, node in methods(listening=listening).items():
        parent = root
        parts = path.strip("/").split("/")
        for depth, part in enumerate(parts[:-1], start=1):
            parent = parent["CONTENTS"].setdefault(part, _container("/" + "/".join(parts[:depth])))
        parent["CONTENTS"][parts[-1]] = node
    return root


def find_node(root: Json, path: str) -> Json | None:
    """The node at an OSC path ('/' or '/a/b', a trailing '/' allowed), or None."""
    if path == "/":
        return root
    if not path.startswith("/"):
        return None
    node: Json | None = root
    for part in path.removesuffix("/").split("/")[1:]:
        node = (node or {}).get("CONTENTS", {}).get(part)
        if node is None:
            return None
    return node


# -- host info and requests --------------------------------------------------------------------------


@dataclass(frozen=True)
class HostInfo:
    """Where OSC to the bridge goes: osc_port None when it does not listen; osc_ip None when it listens on
    every interface (a client then uses the address it reached the HTTP server at)."""

    osc_ip: str | None
    osc_port: int | None
    name: str = NAME

    def as_json(self) -> Json:
        info: Json = {"NAME": self.name, "EXTENSIONS": dict(EXTENSIONS), "OSC_TRANSPORT": "UDP"}
        if self.osc_ip is not None:
            info["OSC_IP"] = self.osc_ip
        if self.osc_port is not None:
            info["OSC_PORT"] = self.osc_port
        return info


def host_info(control_host: str, control_port: int | None) -> HostInfo:
    """HOST_INFO for a bridge that listens for OSC control on control_host:control_port (None: it does not)."""
    wildcard = control_host in ("", "0.0.0.0", "::")
    return HostInfo(None if wildcard or control_port is None else control_host, control_port)


@dataclass(frozen=True)
class Answer:
    status: int  # HTTP status: 200, 204 (the node has no such attribute), 400 (bad query), 404 (no such path)
    body: Json | None
    reason: str = ""


def answer(root: Json, info: HostInfo, path: str, query: str) -> Answer:
    """The answer to `GET path?query`: path is the decoded URL path, query the raw query string."""
    if query == "HOST_INFO":
        return Answer(200, info.as_json())
    if query and query not in ATTRIBUTES:
        served = ", ".join(("HOST_INFO", *ATTRIBUTES))
        return Answer(400, None, f"attribute {query[:40]!r} is not served; these are: {served}")
    node = find_node(root, path)
    if node is None:
        return Answer(404, None, f"no OSC container or method at {path[:200]!r}")
    if not query:
        return Answer(200, node)
    if query not in node:
        return Answer(204, None)
    return Answer(200, {query: node[query]})
