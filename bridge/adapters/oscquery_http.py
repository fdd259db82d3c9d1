"""The OSCQuery HTTP server (standard library http.server): the namespace of bridge/core/oscquery.py as JSON.

    GET /                       the whole namespace (every container and method, nested in CONTENTS)
    GET /pict2audio/labels      one node
    GET /pict2audio/play?TYPE   one attribute of a node: {"TYPE": "sisi"}; 204 if the node has none
    GET /?HOST_INFO             name, OSC_IP / OSC_PORT / OSC_TRANSPORT of the control input, EXTENSIONS

An unknown path is 404, an unknown attribute 400, any other method 501. It serves on its own thread
(ThreadingHTTPServer: one thread per connection, at most MAX_CONNECTIONS at once, each dropped after
TIMEOUT_S of silence). A malformed request gets its error status and is logged; nothing a client sends
stops the server. It binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from bridge import __version__
from bridge.core import oscquery
from bridge.core.errors import ConfigError

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 32  # connections served at once; more are answered 503 and closed
TIMEOUT_S = 5.0  # a connection silent this long (a half-sent request, an idle keep-alive) is closed


class _Handler(BaseHTTPRequestHandler):
    """One connection. http.server itself answers what it cannot parse (400, 414 request line too long,
    431 too many headers, 501 unknown method); this class answers GET and HEAD."""

    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, with a Content-Length on every answer
    default_request_version = "HTTP/1.0"  # an error before the version is read still gets a status line
    server_version = f"Pict2Audio-OSCQuery/{__version__}"
    timeout = TIMEOUT_S

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, *, with_body: bool) -> None:
        try:
            url = urlsplit(self.path)
            path = unquote(url.path, errors="strict") or "/"
        except (ValueError, UnicodeDecodeError):
            self.send_error(400, "malformed URL")
            return
        result = oscquery.answer(self.server.namespace, self.server.host_info, path, url.query)
        if result.status >= 400:
            self.send_error(result.status, explain=result.reason)
            return
        body = b"" if result.body is None else json.dumps(result.body, ensure_ascii=False).encode()
        self.send_response(result.status)
        if result.status != 204:
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body and result.status != 204:
            self.wfile.write(body)

    def log_message(self, fmt: str, *args: Any) -> None:
        log.debug("OSCQuery %s: " + fmt, self.address_string(), *args)

    def log_error(self, fmt: str, *args: Any) -> None:
        log.debug("OSCQuery %s: " + fmt, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 2 * MAX_CONNECTIONS  # the listen backlog (socketserver's default is 5)

    def __init__(self, address: tuple[str, int], family: int, namespace: dict, host_info: oscquery.HostInfo) -> None:
        self.address_family = family
        self.namespace = namespace
        self.host_info = host_info
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve on a new thread while fewer than MAX_CONNECTIONS are open; else answer 503 and close."""
        if not self._slots.acquire(blocking=False):
            with contextlib.suppress(OSError):  # the client is gone already: nothing to tell it
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A request that failed inside the handler (a reset connection, a bug): log it, serve on."""
        log.warning("OSCQuery request from %s failed (ignored)", client_address, exc_info=True)


def _family(host: str, port: int) -> int:
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"cannot serve OSCQuery on {host!r}: {exc}") from exc


class OscQueryServer:
    """Serves the namespace on HTTP host:port (port 0 = any free port; see `.port` and `.url` once started).

    control_port: where the bridge listens for OSC control (None: it does not; the namespace then has
    only what it sends)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, control_port: int | None = None) -> None:
        if not 0 <= port < 65536:
            raise ConfigError(f"the OSCQuery port (--oscquery-port) must be 0..65535, got {port}")
        self.host = host
        self.port = port
        self.control_port = control_port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int] | None:
        """The (host, port) the listening socket is bound to; None when not serving."""
        server = self._server
        return None if server is None else tuple(server.socket.getsockname()[:2])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> OscQueryServer:
        if self._server is not None:
            return self
        namespace = oscquery.namespace(listening=self.control_port is not None)
        info = oscquery.host_info(self.host, self.control_port)
        try:
            self._server = _Server((self.host, self.port), _family(self.host, self.port), namespace, info)
        except OSError as exc:
            raise ConfigError(f"cannot serve OSCQuery on {self.host}:{self.port} ({exc}); choose another "
                              "--oscquery-port, or --no-oscquery") from exc
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="pict2audio-oscquery", daemon=True)
        self._thread.start()
        log.info("OSCQuery: the OSC namespace at %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent); open connections end with their threads."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(2.0)

    def __enter__(self) -> OscQueryServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"OscQueryServer({self.url})"
