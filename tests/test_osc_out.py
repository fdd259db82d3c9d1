"""OSC out over real loopback UDP: python-osc decodes the bundles, and so does liblo's oscdump."""

from __future__ import annotations

import logging
import shlex
import socket
import time

import pytest
from osc_peers import PeerProcess, free_udp_port, require_binary
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.parsing import ntp, osc_types

from bridge.adapters.osc_out import IMMEDIATELY, OscSender, encode_bundle, encode_message
from bridge.core.errors import ConfigError
from bridge.core.protocol import ADDRESSES, Address, Bundle, Message

NTP_UNIX_OFFSET_S = 2208988800


def example_args(spec: Address, k: int = 0) -> tuple[int | float | str, ...]:
    """Arguments of the right OSC types for one table entry (values from the arguments' names)."""
    values: list[int | float | str] = []
    for i, (name, tag) in enumerate(spec.args):
        if tag == "i":
            values.append(69 + (i + k) % 12)
        elif tag == "f":
            values.append(0.125 * (i + 1))
        else:
            values.append(f"/tmp/pict2audio test/{name}-{k}.wav" if name == "path" else f"{name}-{k}")
    return tuple(values)


def every_address_bundles() -> list[Bundle]:
    """One bundle per table entry, plus one bundle holding every address at once."""
    singles = [Bundle((Message(spec.path, example_args(spec, k)),), float(k))
               for k, spec in enumerate(ADDRESSES.values())]
    combined = Bundle(tuple(m for b in singles for m in b.messages), 99.0)
    return [*singles, combined]


def typetags(message_dgram: bytes) -> str:
    _, index = osc_types.get_string(message_dgram, 0)
    tags, _ = osc_types.get_string(message_dgram, index)
    return tags.lstrip(",")


def test_one_osc_bundle_per_event_with_the_tables_types(udp_receiver):
    sender = OscSender([udp_receiver.getsockname()])
    bundles = every_address_bundles()
    for bundle in bundles:
        sender(bundle)
    for bundle in bundles:
        dgram = udp_receiver.recv(65536)
        assert OscBundle.dgram_is_bundle(dgram)
        osc = OscBundle(dgram)
        assert osc.num_contents == len(bundle.messages)
        for sent, got in zip(bundle.messages, osc):
            spec = next(a for a in ADDRESSES.values() if a.path == sent.address)
            assert got.address == sent.address
            assert typetags(got.dgram) == spec.typetags
            assert set(typetags(got.dgram)) <= set("ifs")
            assert got.params == pytest.approx(list(sent.args))
    assert sender.sent == len(bundles)
    sender.close()


def test_timetag_is_immediately_without_latency_and_now_plus_latency_with_it(udp_receiver):
    bundle = every_address_bundles()[0]
    OscSender([udp_receiver.getsockname()])(bundle)
    assert udp_receiver.recv(65536)[8:16] == ntp.IMMEDIATELY
    before = time.time()
    OscSender([udp_receiver.getsockname()], latency_ms=250)(bundle)
    timetag_s = OscBundle(udp_receiver.recv(65536)).timestamp
    assert before + 0.25 - 0.01 <= timetag_s <= time.time() + 0.25 + 0.01


def test_several_targets_and_a_failing_one_is_logged_once(caplog):
    socks = []
    for _ in range(2):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(2.0)
        socks.append(sock)
    caplog.set_level(logging.WARNING, logger="bridge.adapters.osc_out")
    targets = [socks[0].getsockname(), ("no-such-host.invalid", 9000), ("127.0.0.1", 0), socks[1].getsockname()]
    sender = OscSender(targets)
    for bundle in every_address_bundles()[:3]:
        sender(bundle)
    for sock in socks:
        assert [OscBundle(sock.recv(65536)).num_contents for _ in range(3)] == [1, 1, 1]
        sock.close()
    warnings = [r.getMessage() for r in caplog.records]
    assert sum("no-such-host.invalid" in w for w in warnings) == 1
    assert sum("127.0.0.1:0" in w for w in warnings) == 1
    sender.close()
    sender(every_address_bundles()[0])  # after close: dropped, no error


def test_a_negative_latency_is_a_config_error():
    with pytest.raises(ConfigError, match="--osc-latency-ms"):
        OscSender([("127.0.0.1", 9000)], latency_ms=-5)


def python_osc_bundle(bundle: Bundle, timetag_s: float) -> bytes:
    """The same bundle as python-osc's builders make it, with the table's type tags."""
    builder = OscBundleBuilder(timetag_s)
    for message in bundle.messages:
        spec = next(a for a in ADDRESSES.values() if a.path == message.address)
        one = OscMessageBuilder(address=message.address)
        for tag, value in zip(spec.typetags, message.args):
            one.add_arg(value, tag)
        builder.add_content(one.build())
    return builder.build().dgram


@pytest.mark.parametrize("timetag_s", [IMMEDIATELY, 1_767_225_600.123456, 2_000_000_000.5])
def test_the_datagrams_are_byte_for_byte_what_python_osc_builds(timetag_s):
    odd = Bundle((Message(ADDRESSES["match"].path, ("/tmp/été 🎵/a.wav", -(2**31), "", "x" * 7, -0.0, 2**31 - 1)),
                  Message(ADDRESSES["playhead"].path, (1e-40,))), 1.0)
    for bundle in [*every_address_bundles(), odd]:
        assert encode_bundle(bundle, timetag_s=timetag_s) == python_osc_bundle(bundle, timetag_s)


def test_a_value_osc_cannot_carry_is_a_value_error_naming_the_address():
    with pytest.raises(ValueError, match="/pict2audio/stroke/begin"):
        encode_message(Message(ADDRESSES["stroke_begin"].path, (2**31,)))
    with pytest.raises(ValueError, match="/pict2audio/playhead"):
        encode_message(Message(ADDRESSES["playhead"].path, (1e39,)))


def test_encode_refuses_types_outside_the_table():
    with pytest.raises(ValueError):
        Message(ADDRESSES["play"].path, ("/a.wav", 72.0, "med", "keyboard"))  # f where the table says i
    dgram = encode_bundle(Bundle((Message(ADDRESSES["stroke_begin"].path, (2**31 - 1,)),), 0.0))
    assert typetags(OscBundle(dgram).content(0).dgram) == "i"  # never widened to h


def parse_oscdump(line: str) -> tuple[float, str, str, list[str]]:
    """'eeafc6ba.81372a38 /addr sif "text" 1 0.5' -> (unix time s, address, types, [args])."""
    stamp, address, types, *rest = line.split(" ", 3)
    seconds, fraction = stamp.split(".")
    unix_s = int(seconds, 16) - NTP_UNIX_OFFSET_S + int(fraction, 16) / 2**32
    return unix_s, address, types, shlex.split(rest[0]) if rest else []


def start_oscdump() -> tuple[PeerProcess, int]:
    """oscdump on a free port, probed until it prints what it receives."""
    binary = require_binary("oscdump", "liblo-tools")
    port = free_udp_port()
    dump = PeerProcess([binary, "-L", str(port)])
    probe = OscSender([("127.0.0.1", port)])
    ready = dump.wait_for(lambda line: " /pict2audio/stroke/begin i -7" in line, timeout_s=10,
                          poke=lambda: probe(Bundle((Message(ADDRESSES["stroke_begin"].path, (-7,)),), 0.0)))
    probe.close()
    if not ready:
        dump.stop()
        pytest.fail(f"oscdump did not start on port {port}: {dump.output()}")
    return dump, port


def test_oscdump_decodes_every_address_and_bundle_the_bridge_sends():
    dump, port = start_oscdump()
    try:
        bundles = every_address_bundles()
        sender = OscSender([("127.0.0.1", port)])
        for bundle in bundles:
            sender(bundle)
        expected = sum(len(b.messages) for b in bundles)
        lines = dump.wait_for(lambda line: "/pict2audio/" in line and " i -7" not in line, count=expected,
                              timeout_s=10)
        sender.close()
    finally:
        dump.stop()
    assert len(lines) == expected, lines
    decoded = [parse_oscdump(line) for line in lines]
    sent = [m for b in bundles for m in b.messages]
    for message, (_, address, types, args) in zip(sent, decoded):
        spec = next(a for a in ADDRESSES.values() if a.path == message.address)
        assert (address, types) == (spec.path, spec.typetags)
        for (_, tag), value, text in zip(spec.args, message.args, args):
            assert (float(text) == pytest.approx(value, abs=1e-6)) if tag != "s" else text == value
    assert {d[1] for d in decoded} == {a.path for a in ADDRESSES.values()}
    # The messages of the all-in-one bundle arrive together: one timetag for all of them.
    combined = decoded[-len(bundles[-1].messages):]
    assert len({round(d[0], 6) for d in combined}) == 1


def test_oscdump_sees_the_latency_timetag():
    dump, port = start_oscdump()
    try:
        sender = OscSender([("127.0.0.1", port)], latency_ms=300)
        sent_at = time.time()
        sender(Bundle((Message(ADDRESSES["stroke_end"].path, (42,)),), 0.0))
        lines = dump.wait_for(lambda line: "/pict2audio/stroke/end i 42" in line, timeout_s=5)
        sender.close()
    finally:
        dump.stop()
    assert lines, dump.output()
    unix_s, *_ = parse_oscdump(lines[0])
    assert unix_s == pytest.approx(sent_at + 0.3, abs=0.05)
