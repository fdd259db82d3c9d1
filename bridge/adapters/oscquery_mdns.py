"""mDNS / DNS-SD advertisement of the OSCQuery HTTP server as `_oscjson._tcp` (python-zeroconf).

It advertises on the interface the HTTP server is bound to: 127.0.0.1 by default, so only clients on this
machine see it and no packet leaves it; every interface when the server is bound to 0.0.0.0 (`--control-host
0.0.0.0`). Everything runs on a thread of its own: mDNS probing takes ~1.7 s before the name is registered,
and a session must not wait for it, nor for the goodbye packets at the end (`stop()` returns at once).

Optional: without zeroconf installed, or where multicast does not work, it logs one line and the HTTP server
goes on alone (a client can always be given the URL).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from typing import Any

from bridge.core.oscquery import NAME, SERVICE_TYPE

log = logging.getLogger(__name__)

WILDCARDS = ("", "0.0.0.0", "::")


def _address(host: str) -> str:
    """The numeric address of a host name ('localhost' -> '127.0.0.1'); wildcards stay as they are."""
    if host in WILDCARDS:
        return host
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return str(socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][4][0])


class MdnsAdvert:
    """Advertises `name` (`_oscjson._tcp`) at host:port until stop(). `registered` is set once the name is
    registered (`.service_name` is then the name it got: another with the same name makes it `name (2)`)."""

    def __init__(self, *, host: str, port: int, name: str = NAME) -> None:
        self.host = host
        self.port = port
        self.name = name
        self.service_name: str | None = None
        self.error: str | None = None
        self.registered = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> MdnsAdvert:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pict2audio-mdns", daemon=True)
            self._thread.start()
        return self

    def stop(self, *, wait: bool = False) -> None:
        """Withdraw the advertisement (goodbye packets) on the advert's thread; wait=True waits for it."""
        self._stopping.set()
        if wait and self._thread is not None:
            self._thread.join(5.0)

    def _run(self) -> None:
        try:
            import zeroconf
        except ImportError:
            self.error = "zeroconf is not installed"
            log.info("OSCQuery: not advertised over mDNS (pip install zeroconf)")
            return
        try:
            zc = self._zeroconf(zeroconf)
        except (OSError, ValueError) as exc:
            self.error = f"mDNS unavailable: {exc}"
            log.warning("OSCQuery: not advertised over mDNS on %s (%s)", self.host or "0.0.0.0", exc)
            return
        try:
            self._advertise(zeroconf, zc)
        finally:
            zc.close()  # sends the goodbye packets of what is still registered

    def _zeroconf(self, zeroconf: Any) -> Any:
        address = _address(self.host)
        if address in WILDCARDS:
            version = zeroconf.IPVersion.V4Only if address == "0.0.0.0" else zeroconf.IPVersion.All
            return zeroconf.Zeroconf(interfaces=zeroconf.InterfaceChoice.All, ip_version=version)
        version = zeroconf.IPVersion.V6Only if ":" in address else zeroconf.IPVersion.V4Only
        return zeroconf.Zeroconf(interfaces=[address], ip_version=version)

    def _addresses(self, zeroconf: Any) -> list[str]:
        address = _address(self.host)
        if address in WILDCARDS:
            return list(zeroconf.get_all_addresses())
        return [address]

    def _advertise(self, zeroconf: Any, zc: Any) -> None:
        info = zeroconf.ServiceInfo(
            SERVICE_TYPE, f"{self.name}.{SERVICE_TYPE}", port=self.port, properties={"txtvers": "1"},
            server=f"pict2audio-{self.port}.local.", parsed_addresses=self._addresses(zeroconf),
        )
        try:
            zc.register_service(info, allow_name_change=True)
        except Exception as exc:  # zeroconf's own errors (a name conflict it could not resolve, a timeout)
            self.error = f"mDNS registration failed: {exc!r}"
            log.warning("OSCQuery: mDNS registration failed (%r); the HTTP server goes on", exc)
            return
        self.service_name = info.name
        self.registered.set()
        log.info("OSCQuery: advertised over mDNS as %r", info.name)
        self._stopping.wait()
