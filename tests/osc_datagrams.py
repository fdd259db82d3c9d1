"""OSC datagrams built byte by byte, so they can be anything (python-osc's builder refuses bad ones)."""

from __future__ import annotations

import struct


def osc_string(raw: bytes) -> bytes:
    """An OSC string: the bytes, a NUL, padded with NULs to a multiple of 4."""
    return raw + b"\x00" * (4 - len(raw) % 4)


def raw_message(address: bytes, tags: bytes = b"", payload: bytes = b"") -> bytes:
    """An OSC message built byte by byte, so it can be anything (python-osc's builder refuses bad ones)."""
    return osc_string(address) + (osc_string(b"," + tags) if tags or payload else b"") + payload


def raw_bundle(*elements: bytes, sizes: tuple[int, ...] | None = None) -> bytes:
    """An OSC bundle (time tag 'immediately'); `sizes` replaces the element sizes it declares."""
    declared = sizes if sizes is not None else tuple(len(e) for e in elements)
    body = b"".join(struct.pack(">i", size) + element for size, element in zip(declared, elements))
    return b"#bundle\x00" + struct.pack(">Q", 1) + body


def nested_bundle(depth: int, message: bytes) -> bytes:
    """`message` inside `depth` bundles, each the only element of the next."""
    for _ in range(depth):
        message = raw_bundle(message)
    return message
