"""Fuzzing the OSC control input: random and malformed datagrams, each sent to a real server on loopback.

After every example the server thread is alive, a valid control still takes effect, the engine's queue
is within its bound and the memory held by the server's code has not grown past a limit.
"""

from __future__ import annotations

import itertools
import socket
import struct
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from osc_control_rig import Rig, close_rig, next_outcome, open_rig, sync
from osc_datagrams import nested_bundle, osc_string, raw_bundle, raw_message

from bridge.app.live_session import MAX_WAITING
from bridge.core.labels import PITCHES
from bridge.core.protocol import CONTROL_ADDRESSES

MAX_UDP_PAYLOAD = 65_507  # the most one IPv4 datagram can carry
# Memory held by the bridge's and python-osc's code (tracemalloc, by allocating file), so neither hypothesis's
# own memory nor what earlier tests in the process left behind counts.
SERVER_GROWTH_LIMIT_BYTES = 4 * 1024 * 1024
SERVER_CODE = [tracemalloc.Filter(True, "*/bridge/*"), tracemalloc.Filter(True, "*/pythonosc/*")]
MEASURE_EVERY = 50  # examples between two memory measurements (a snapshot costs tens of ms)

CONTROL_PATHS = [spec.path.encode() for spec in CONTROL_ADDRESSES.values()]
PATTERNS = [b"/pict2audio/*", b"/pict2audio/{clear,trigger}", b"/*/*", b"/pict2audio/[ct]*", b"/pict2audio/?lear"]


def server_bytes() -> int:
    """Bytes currently allocated by the bridge's and python-osc's code."""
    snapshot = tracemalloc.take_snapshot().filter_traces(SERVER_CODE)
    return sum(stat.size for stat in snapshot.statistics("filename"))


# -- strategies: each draws one datagram ---------------------------------------------------------

def _no_nul(raw: bytes) -> bytes:
    return raw.replace(b"\x00", b"")


def osc_blob(raw: bytes) -> bytes:
    """An OSC blob: its size, the bytes, padded with NULs to a multiple of 4."""
    return struct.pack(">i", len(raw)) + raw + bytes(-len(raw) % 4)


addresses = st.one_of(
    st.sampled_from(CONTROL_PATHS + PATTERNS + [b"/", b"//", b"/pict2audio/trigger/", b"/pict2audio"]),
    st.binary(max_size=40).map(lambda raw: b"/" + _no_nul(raw)),  # often not UTF-8
    st.text(max_size=40).map(lambda text: _no_nul(("/" + text).encode())),
)

# (type tag, encoded argument) pairs, each well-formed on its own
arguments = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(lambda v: (b"i", struct.pack(">i", v))),
    st.integers(-(2**63), 2**63 - 1).map(lambda v: (b"h", struct.pack(">q", v))),
    st.floats(width=32).map(lambda v: (b"f", struct.pack(">f", v))),
    st.floats().map(lambda v: (b"d", struct.pack(">d", v))),
    st.sampled_from(["pitch", "volume", "timbre", "none", "72", "high", "flute", "seventy"]).map(
        lambda s: (b"s", osc_string(s.encode()))),
    st.text(max_size=30).map(lambda s: (b"s", osc_string(_no_nul(s.encode())))),
    st.binary(max_size=30).map(lambda raw: (b"s", osc_string(_no_nul(raw)))),  # often not UTF-8
    st.binary(min_size=1, max_size=64).map(lambda raw: (b"b", osc_blob(raw))),
    st.sampled_from([(b"T", b""), (b"F", b""), (b"N", b"")]),
    st.integers(1_000, 60_000).map(lambda n: (b"s", osc_string(b"x" * n))),  # huge strings
)


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """A message whose type tags match its arguments."""
    args = draw(st.lists(arguments, max_size=4))
    return raw_message(draw(addresses), b"".join(tag for tag, _ in args), b"".join(value for _, value in args))


def _override(head: str, value: str) -> bytes:
    return raw_message(b"/pict2audio/override", b"ss", osc_string(head.encode()) + osc_string(value.encode()))


valid_controls = st.one_of(  # controls that take effect, alone or inside bundles
    st.tuples(st.sampled_from([b"/pict2audio/clear", b"/pict2audio/release", b"/pict2audio/trigger"]),
              st.sampled_from([(b"", b""), (b"i", struct.pack(">i", 1)), (b"f", struct.pack(">f", 0.0))])).map(
        lambda pick: raw_message(pick[0], *pick[1])),
    st.sampled_from([("pitch", "72"), ("pitch", "none"), ("volume", "high"), ("timbre", "keyboard")]).map(
        lambda pick: _override(*pick)),
)


@st.composite
def mismatched_messages(draw: st.DrawFn) -> bytes:
    """A message with random type tags and a random payload."""
    tags = _no_nul(draw(st.binary(max_size=24)))
    return osc_string(draw(addresses)) + osc_string(b"," + tags) + draw(st.binary(max_size=64))


@st.composite
def truncated(draw: st.DrawFn) -> bytes:
    datagram = draw(st.one_of(messages(), bundles()))
    return datagram[: draw(st.integers(0, max(0, len(datagram) - 1)))]


@st.composite
def bundles(draw: st.DrawFn) -> bytes:
    """A bundle of messages, nested up to 450 deep (most beyond the server's limit)."""
    elements = draw(st.lists(st.one_of(messages(), mismatched_messages(), valid_controls), min_size=0, max_size=4))
    depth = draw(st.one_of(st.integers(0, 3), st.integers(4, 450)))
    return nested_bundle(depth, raw_bundle(*elements))


@st.composite
def badly_sized_bundles(draw: st.DrawFn) -> bytes:
    elements = draw(st.lists(messages(), min_size=1, max_size=3))
    sizes = tuple(draw(st.integers(-(2**31), 2**31 - 1)) for _ in elements)
    return raw_bundle(*elements, sizes=sizes)


random_bytes = st.one_of(
    st.binary(max_size=512),
    st.binary(max_size=512).map(lambda raw: b"/" + raw),
    st.binary(max_size=512).map(lambda raw: b"#bundle\x00" + raw),
)

non_utf8_addresses = st.binary(min_size=1, max_size=30).map(lambda raw: osc_string(b"/\xff" + _no_nul(raw)))

datagrams = st.one_of(
    random_bytes, messages(), valid_controls, mismatched_messages(), truncated(), bundles(), badly_sized_bundles(),
    non_utf8_addresses,
).map(lambda datagram: datagram[:MAX_UDP_PAYLOAD])


# -- the test ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rigs():
    """The module's rig; an example that killed its server gets it reopened (see live_rig)."""
    tracemalloc.start()
    holder = {"rig": open_rig()}
    yield holder
    close_rig(holder["rig"])
    tracemalloc.stop()


def live_rig(holder: dict[str, Rig]) -> Rig:
    """The shared rig, reopened if an earlier example killed its server, so that each example stands
    alone (a failure is then shrunk to the datagram that caused it)."""
    if not holder["rig"].server.alive:
        close_rig(holder["rig"])
        holder["rig"] = open_rig()
    return holder["rig"]


probes = itertools.count()


def assert_contained(rig: Rig, raw: socket.socket) -> None:
    """Everything sent so far is read, the server lives, the queue is bounded, a valid override acts and
    the server's memory stays within SERVER_GROWTH_LIMIT_BYTES of what it held after the first example."""
    n = next(probes)
    sync(rig, raw, str(n))  # the server has handled every earlier datagram (fails at once if its thread died)
    assert rig.server.alive
    assert rig.session.waiting <= MAX_WAITING
    assert rig.session.wait_idle(5)  # so the override below finds room in the queue
    pitch = PITCHES[n % len(PITCHES)]
    rig.client.send_message("/pict2audio/override", ["pitch", pitch])
    outcome = next_outcome(rig, "a valid override after fuzzed datagrams")
    assert (outcome.address, outcome.accepted) == ("/pict2audio/override", True), outcome
    assert rig.session.wait_idle(5)
    assert rig.engine.overrides.pitch == pitch
    rig.recorder.bundles.clear()  # the test's own record of every bundle is not the server's memory
    if n % MEASURE_EVERY == 0:
        held = server_bytes()
        baseline = server_baseline.setdefault("bytes", held)
        assert held - baseline < SERVER_GROWTH_LIMIT_BYTES, f"the server's memory grew by {held - baseline} bytes"


server_baseline: dict[str, int] = {}  # what the server's code held after the first example


@settings(derandomize=True, max_examples=600, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(batch=st.lists(datagrams, min_size=1, max_size=3))
def test_any_datagram_is_contained(rigs, batch):
    rig = live_rig(rigs)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        for datagram in batch:
            raw.sendto(datagram, ("127.0.0.1", rig.server.port))
        assert_contained(rig, raw)
