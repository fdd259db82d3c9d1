"""OSCQuery: the bridge's OSC namespace over real HTTP (urllib, raw sockets) and mDNS (python-zeroconf).

The namespace fetched from a running session equals protocol.ADDRESSES and protocol.CONTROL_ADDRESSES:
every address, its argument names, types and order, its access, its ranges from the label space. HOST_INFO
names the control port. Bad requests get their error status and the server serves on. The mDNS test runs
in a network namespace of its own (`unshare --net`: loopback only, no network at all), where a second
zeroconf instance finds `_oscjson._tcp` and fetches HOST_INFO from the address it resolved.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from osc_peers import REPO, wav_bank
from pythonosc.udp_client import SimpleUDPClient
from stand_ins import InkClassifier
from waiting import next_item

from bridge.adapters.oscquery_http import MAX_CONNECTIONS, OscQueryServer
from bridge.adapters.oscquery_mdns import MdnsAdvert
from bridge.app.config import Config, add_session_options, load_config
from bridge.app.session import SessionParts, build_session
from bridge.core import oscquery
from bridge.core.errors import ConfigError
from bridge.core.labels import HEADS, PITCHES, TIMBRES, VOLUMES
from bridge.core.protocol import ADDRESSES, CONTROL_ADDRESSES
from bridge.ui.hud import HudState, hud_lines, oscquery_status

TIMEOUT_S = 5.0


def fetch(url: str) -> tuple[int, Any]:
    """(status, parsed JSON body or None) of GET url; an HTTP error status is returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            body = response.read()
            return response.status, json.loads(body) if body else None
    except urllib.error.HTTPError as exc:
        return exc.code, None


def method_nodes(node: dict) -> Iterator[dict]:
    """Every OSC method (a node without CONTENTS) below `node`."""
    for child in node.get("CONTENTS", {}).values():
        if "CONTENTS" in child:
            yield from method_nodes(child)
        else:
            yield child


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    return wav_bank(tmp_path_factory.mktemp("bank"), volumes=("med",))


@pytest.fixture
def live(bank) -> Iterator[tuple[SessionParts, queue.Queue]]:
    """A live session listening for control on a free port, serving OSCQuery on another; its bundles."""
    bundles: queue.Queue = queue.Queue()
    config = Config(osc_targets=(("127.0.0.1", 9),), audio="none", control_port=0)
    parts = build_session(config, classifier=InkClassifier(), bank=bank, extra_sinks=[bundles.put])
    try:
        yield parts, bundles
    finally:
        parts.close()


# -- the namespace equals the protocol tables ------------------------------------------------------


def test_the_namespace_over_http_is_the_protocol_tables(live):
    parts, _ = live
    status, root = fetch(parts.oscquery.url)
    assert status == 200 and root["FULL_PATH"] == "/" and root["ACCESS"] == 0
    nodes = {node["FULL_PATH"]: node for node in method_nodes(root)}
    sent = {spec.path: spec for spec in ADDRESSES.values()}
    accepted = {spec.path: spec for spec in CONTROL_ADDRESSES.values()}
    assert set(nodes) == set(sent) | set(accepted)
    for path, node in nodes.items():
        assert node["ACCESS"] == (1 if path in sent else 0) | (2 if path in accepted else 0), path
        assert fetch(parts.oscquery.url.rstrip("/") + path) == (200, node)  # each node at its own URL
        if path in sent:
            sends = node["PICT2AUDIO_SENDS"]
            assert [(a["NAME"], a["TYPE"]) for a in sends["ARGUMENTS"]] == list(sent[path].args), path
            assert sends["TYPE"] == sent[path].typetags and sends["WHEN"] == sent[path].when
            assert sent[path].when in node["DESCRIPTION"]
        if path in accepted:
            accepts = node["PICT2AUDIO_ACCEPTS"]
            assert [(a["NAME"], a["TYPE"]) for a in accepts["ARGUMENTS"]] == list(accepted[path].args), path
            assert accepts["EFFECT"] == accepted[path].effect and accepted[path].effect in node["DESCRIPTION"]
        else:  # read only: the standard TYPE and RANGE are what the bridge sends
            assert node["TYPE"] == sent[path].typetags
            assert node["RANGE"] == [a["RANGE"] for a in node["PICT2AUDIO_SENDS"]["ARGUMENTS"]]
        assert len(node.get("RANGE", [])) == len(node.get("TYPE", "")), path


def test_containers_hold_their_methods_by_name(live):
    parts, _ = live
    _, root = fetch(parts.oscquery.url)
    voice = root["CONTENTS"]["pict2audio"]["CONTENTS"]["voice"]
    assert voice["FULL_PATH"] == "/pict2audio/voice" and list(voice["CONTENTS"]) == ["stop"]
    assert fetch(parts.oscquery.url + "pict2audio/voice/") == (200, voice)  # a trailing slash is the same node
    for node in method_nodes(root):
        parent, name = node["FULL_PATH"].rsplit("/", 1)
        assert fetch(parts.oscquery.url + parent.lstrip("/"))[1]["CONTENTS"][name] == node


def test_ranges_come_from_the_label_space(live):
    parts, _ = live
    _, root = fetch(parts.oscquery.url)
    nodes = {node["FULL_PATH"]: node for node in method_nodes(root)}
    labels = nodes["/pict2audio/labels"]
    assert labels["TYPE"] == "issfffi"
    assert labels["RANGE"] == [{"MIN": 69, "MAX": 80}, {"VALS": list(VOLUMES)}, {"VALS": list(TIMBRES)},
                               *[{"MIN": 0.0, "MAX": 1.0}] * 3, {"MIN": 0}]
    assert nodes["/pict2audio/play"]["RANGE"][0] is None  # a file path: any string
    assert nodes["/pict2audio/match"]["RANGE"][4] == {"MIN": 0.0, "MAX": 1.0}  # the score
    sends = [a["RANGE"] for a in nodes["/pict2audio/override"]["PICT2AUDIO_SENDS"]["ARGUMENTS"]]
    assert sends == [{"VALS": [-1, *PITCHES]}, {"VALS": ["none", *VOLUMES]}, {"VALS": ["none", *TIMBRES]}]
    override = nodes["/pict2audio/override"]
    assert override["ACCESS"] == 3 and override["TYPE"] == "ss"  # what a client sends: head, value
    assert override["RANGE"][0] == {"VALS": list(HEADS)}
    assert {"none", "72", "med", "flute"} <= set(override["RANGE"][1]["VALS"])
    assert override["PICT2AUDIO_ACCEPTS"]["TYPES"] == ["si", "sf", "ss"]
    for button in ("/pict2audio/release", "/pict2audio/trigger", "/pict2audio/clear"):
        assert "TYPE" not in nodes[button] and nodes[button]["PICT2AUDIO_ACCEPTS"]["TYPES"] == ["", "i", "f"]


def test_host_info_names_the_control_port(live):
    parts, _ = live
    status, info = fetch(parts.oscquery.url + "?HOST_INFO")
    assert status == 200
    assert info["OSC_PORT"] == parts.control.port and info["OSC_IP"] == "127.0.0.1"
    assert info["OSC_TRANSPORT"] == "UDP" and info["NAME"] == oscquery.NAME
    assert info["EXTENSIONS"]["ACCESS"] is True and info["EXTENSIONS"]["VALUE"] is False


def test_what_it_advertises_for_writing_is_accepted(live):
    """The advertised TYPE and a value of its RANGE, sent to OSC_PORT, take effect."""
    parts, bundles = live
    _, info = fetch(parts.oscquery.url + "?HOST_INFO")
    _, override = fetch(parts.oscquery.url + "pict2audio/override")
    client = SimpleUDPClient(info["OSC_IP"], info["OSC_PORT"])
    assert override["TYPE"] == "ss"
    client.send_message("/pict2audio/override", ["pitch", "72"])
    effect = next_item(bundles, lambda b: b.find("override") is not None, timeout_s=TIMEOUT_S)
    assert effect is not None and effect.find("override").args == (72, "none", "none")
    client.send_message("/pict2audio/clear", [])  # no TYPE: a message without arguments
    assert next_item(bundles, lambda b: b.find("clear") is not None, timeout_s=TIMEOUT_S) is not None


def test_without_control_input_it_describes_what_it_sends_only():
    with OscQueryServer(control_port=None) as server:
        _, root = fetch(server.url)
        _, info = fetch(server.url + "?HOST_INFO")
    nodes = list(method_nodes(root))
    assert {n["FULL_PATH"] for n in nodes} == {a.path for a in ADDRESSES.values()}
    assert all(n["ACCESS"] == 1 and "PICT2AUDIO_ACCEPTS" not in n for n in nodes)
    assert "OSC_PORT" not in info and "OSC_IP" not in info


# -- attributes, errors, and bad requests -------------------------------------------------------------


def test_attribute_queries_and_errors():
    with OscQueryServer(control_port=9001) as server:
        url = server.url
        assert fetch(url + "pict2audio/play?TYPE") == (200, {"TYPE": ADDRESSES["play"].typetags})
        assert fetch(url + "pict2audio/voice/stop?ACCESS") == (200, {"ACCESS": 1})
        assert fetch(url + "pict2audio/release?TYPE") == (204, None)  # it takes no argument
        assert fetch(url + "pict2audio/play?VALUE") == (400, None)  # no values served (EXTENSIONS)
        assert fetch(url + "pict2audio/play?NOPE") == (400, None)
        assert fetch(url + "pict2audio/nope") == (404, None)
        assert fetch(url + "pict2audio//play") == (404, None)
        assert fetch(url + "%ff") == (400, None)  # not UTF-8 once decoded
        post = urllib.request.Request(url, data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(post, timeout=TIMEOUT_S)
        assert error.value.code == 501
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=TIMEOUT_S) as head:
            assert head.status == 200 and head.read() == b"" and int(head.headers["Content-Length"]) > 1000


def raw_request(port: int, data: bytes) -> bytes:
    """Send raw bytes, read the answer until the server closes the connection (or stops sending)."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered and closed while the request was still being sent
            pass
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_bad_requests_get_errors_and_the_server_keeps_serving():
    with OscQueryServer(control_port=9001) as server:
        port = server.port
        huge_header = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
        many_headers = b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n"
        cases = {
            "a 100 kB header line": (huge_header, 431),
            "200 headers": (many_headers, 431),
            "a 70 kB request line": (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
            "binary garbage": (bytes(range(256)) + b"\r\n\r\n", 400),
            "no HTTP version": (b"GET\r\n\r\n", 400),
            "an unknown method": (b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 501),
            "a bad percent escape": (b"GET /%C0%AF HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            "a path with CR LF escaped": (b"GET /a%0d%0aX-Injected:%201 HTTP/1.1\r\nHost: x\r\n\r\n", 404),
            "an absolute URL": (b"GET http://evil.example/pict2audio HTTP/1.1\r\nHost: x\r\n\r\n", 200),
        }
        for name, (request, expected) in cases.items():
            answer = raw_request(port, request)
            assert answer.startswith(b"HTTP/1."), name
            assert status_of(answer) == expected, (name, answer[:200])
            assert b"X-Injected" not in answer.split(b"\r\n\r\n")[0]
        # a connection that sends half a request and then nothing holds no one else up
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as stalled:
            stalled.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            assert fetch(server.url + "?HOST_INFO")[0] == 200
        assert fetch(server.url)[0] == 200


def test_connections_beyond_the_limit_get_503_and_the_server_recovers():
    with OscQueryServer(control_port=None) as server:
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT_S)
                for _ in range(MAX_CONNECTIONS)]
        try:
            idle[-1].sendall(b"GET /?HOST_INFO HTTP/1.1\r\nHost: x\r\n\r\n")  # the last one is served: all taken
            assert idle[-1].recv(65536).startswith(b"HTTP/1.1 200")
            assert status_of(raw_request(server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")) == 503
        finally:
            for sock in idle:
                sock.close()
        assert next_answer_is_200(server.url)


def next_answer_is_200(url: str) -> bool:
    """The slots of closed connections come back as their threads notice the close: try a few times."""
    for _ in range(50):
        status, _ = fetch(url + "?HOST_INFO")
        if status == 200:
            return True
    return False


# -- binding, flags, session wiring --------------------------------------------------------------------


def test_it_binds_127_0_0_1_by_default(live):
    parts, _ = live
    assert parts.config.control_host == "127.0.0.1"
    assert parts.oscquery.address == ("127.0.0.1", parts.oscquery.port)
    assert parts.oscquery.url == f"http://127.0.0.1:{parts.oscquery.port}/"


def test_control_host_moves_it_and_host_info_follows(bank):
    config = Config(osc_targets=(("127.0.0.1", 9),), audio="none", control_port=0, control_host="127.0.0.2")
    parts = build_session(config, classifier=InkClassifier(), bank=bank)
    try:
        assert parts.oscquery.address == ("127.0.0.2", parts.oscquery.port)
        _, info = fetch(parts.oscquery.url + "?HOST_INFO")
        assert (info["OSC_IP"], info["OSC_PORT"]) == ("127.0.0.2", parts.control.port)
    finally:
        parts.close()
    assert oscquery.host_info("0.0.0.0", 9001).as_json().get("OSC_IP") is None  # clients use the HTTP address


def test_no_oscquery_and_a_fixed_port(bank):
    parts = build_session(Config(audio="none", oscquery=False), classifier=InkClassifier(), bank=bank)
    try:
        assert parts.oscquery is None and parts.mdns is None
    finally:
        parts.close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    parts = build_session(Config(audio="none", oscquery_port=port), classifier=InkClassifier(), bank=bank)
    url = parts.oscquery.url
    try:
        assert url == f"http://127.0.0.1:{port}/" and fetch(url)[0] == 200
        assert oscquery_status(parts) == url
        assert f"OSCQuery: {url}" in [row for row, _, _ in hud_lines(HudState("ready", oscquery=url))]
    finally:
        parts.close()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=TIMEOUT_S)  # closed with the session


def test_a_busy_oscquery_port_is_a_clear_error(bank):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        config = Config(audio="none", control_port=0, oscquery_port=busy.getsockname()[1])
        with pytest.raises(ConfigError, match="--oscquery-port"):
            build_session(config, classifier=InkClassifier(), bank=bank)


def parse(*argv: str, config_text: str | None = None, tmp_path=None) -> Config:
    parser = argparse.ArgumentParser()
    add_session_options(parser)
    if config_text is not None:
        path = tmp_path / "config.toml"
        path.write_text(config_text)
        argv = ("--config", str(path), *argv)
    return load_config(parser.parse_args(argv))


def test_flags_and_config_keys(tmp_path):
    assert (parse().oscquery, parse().oscquery_port) == (True, 0)
    assert parse("--no-oscquery").oscquery is False
    assert parse("--oscquery-port", "8123").oscquery_port == 8123
    from_file = parse(config_text="[osc]\noscquery = false\noscquery_port = 8124\n", tmp_path=tmp_path)
    assert (from_file.oscquery, from_file.oscquery_port) == (False, 8124)
    with pytest.raises(ConfigError, match="--oscquery-port"):
        parse("--oscquery-port", "70000")
    with pytest.raises(ConfigError, match="oscquery"):
        parse(config_text='[osc]\noscquery = "yes"\n', tmp_path=tmp_path)


def test_the_session_logs_the_url(bank, caplog):
    caplog.set_level("INFO", logger="bridge.adapters.oscquery_http")
    parts = build_session(Config(audio="none"), classifier=InkClassifier(), bank=bank)
    try:
        assert any(parts.oscquery.url in record.getMessage() for record in caplog.records)
    finally:
        parts.close()


# -- mDNS -------------------------------------------------------------------------------------------------

# Run inside a fresh network namespace: the bridge's server and its advert on 127.0.0.1, then a browser that
# finds the service by its type, resolves it and fetches HOST_INFO from the address and port it resolved.
MDNS_SCRIPT = r"""
import json, sys, threading, urllib.request
from zeroconf import IPVersion, ServiceBrowser, Zeroconf
from bridge.adapters.oscquery_http import OscQueryServer
from bridge.adapters.oscquery_mdns import MdnsAdvert
from bridge.core.oscquery import SERVICE_TYPE

with OscQueryServer(control_port=9001) as server:
    advert = MdnsAdvert(host=server.host, port=server.port).start()
    if not advert.registered.wait(15):
        sys.exit(f"not registered: {advert.error}")
    browser_zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    found, seen = threading.Event(), []
    def on_change(zeroconf, service_type, name, state_change):
        seen.append(name)
        found.set()
    browser = ServiceBrowser(browser_zc, SERVICE_TYPE, handlers=[on_change])
    if not found.wait(15):
        sys.exit("the browser found no _oscjson._tcp service")
    info = browser_zc.get_service_info(SERVICE_TYPE, seen[0], timeout=5000)
    address = info.parsed_addresses()[0]
    host_info = json.load(urllib.request.urlopen(f"http://{address}:{info.port}/?HOST_INFO", timeout=5))
    browser.cancel()
    browser_zc.close()
    advert.stop(wait=True)
    print("RESULT " + json.dumps({"name": seen[0], "registered": advert.service_name, "address": address,
                                  "port": info.port, "http_port": server.port, "host_info": host_info}))
"""


def test_mdns_advertises_oscjson_on_loopback_in_a_namespace_without_network():
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if unshare is None or ip is None:
        pytest.fail("unshare (util-linux) and ip (iproute2) are needed for the mDNS test")
    user = [] if os.geteuid() == 0 else ["--map-root-user"]  # a user namespace where not root
    script = f'{ip} link set lo up && exec "{sys.executable}" -c "$0"'
    run = subprocess.run([unshare, "--net", *user, "sh", "-c", script, MDNS_SCRIPT], cwd=REPO, capture_output=True,
                         text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(REPO)))
    result = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert run.returncode == 0 and result, run.stdout + run.stderr
    found = json.loads(result[0].removeprefix("RESULT "))
    assert found["name"] == found["registered"] == f"{oscquery.NAME}.{oscquery.SERVICE_TYPE}"
    assert (found["address"], found["port"]) == ("127.0.0.1", found["http_port"])
    assert found["host_info"]["OSC_PORT"] == 9001 and found["host_info"]["NAME"] == oscquery.NAME


def test_without_zeroconf_the_advert_says_so_and_http_goes_on(monkeypatch):
    monkeypatch.setitem(sys.modules, "zeroconf", None)  # `import zeroconf` raises ImportError
    with OscQueryServer() as server:
        advert = MdnsAdvert(host=server.host, port=server.port).start()
        advert.stop(wait=True)
        assert advert.error == "zeroconf is not installed" and not advert.registered.is_set()
        assert fetch(server.url)[0] == 200
