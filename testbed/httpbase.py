"""Shared plumbing for the bed's loopback HTTP servers (threads in this process).

``LoopbackServer`` runs a ``ThreadingHTTPServer`` on 127.0.0.1 with a free port in a daemon
thread; every connection has a socket timeout; ``stop()`` always shuts down, closes the listening
socket and joins the thread (bounded). ``HangingListener`` accepts connections and never answers.
"""

from __future__ import annotations

import http.client
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, TypeVar

HOST = "127.0.0.1"
SOCKET_TIMEOUT = 15.0
JOIN_TIMEOUT = 10.0
# how often a server's accept loop looks whether it was stopped: stop() waits for that, and the
# tests stop a server or more each (a wake-up costs microseconds)
POLL = 0.01


MAX_BODY = 10 * 1024 * 1024
_S = TypeVar("_S", bound="LoopbackServer")


class Response(NamedTuple):
    """What a server answers. ``reason`` overrides the HTTP reason phrase."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    reason: str | None = None

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


class QuietHandler(BaseHTTPRequestHandler):
    """Request handler with a socket timeout and no stderr logging.

    Every method is dispatched to ``self.server.owner.handle(self) -> Optional[Response]``
    (``None`` = close the connection without answering). HEAD answers carry the headers,
    including Content-Length, but no body.
    """

    timeout = SOCKET_TIMEOUT
    protocol_version = "HTTP/1.1"
    # The headers and the body are two writes: with Nagle's algorithm the body waits for the
    # client's delayed ACK of the headers (40 ms on Linux) on every small answer.
    disable_nagle_algorithm = True
    _body: bytes | None = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def read_body(self) -> bytes:
        """The request body (read once, bounded)."""
        if self._body is None:
            length = int(self.headers.get("Content-Length") or 0)
            self._body = self.rfile.read(min(length, MAX_BODY)) if length > 0 else b""
        return self._body

    def _dispatch(self) -> None:
        self._body = None
        owner = self.server.owner  # type: ignore[attr-defined]
        try:
            resp = owner.handle(self)
        except Exception as exc:  # a bug in the bed: answer 500 instead of hanging the client
            body = f"test bed error: {type(exc).__name__}: {exc}".encode()
            resp = Response(500, [("Content-Type", "text/plain")], body)
        self.read_body()  # drain an unread body so keep-alive stays in sync
        if resp is None:
            self.close_connection = True
            owner.log_request_done(self.command, self.path, 0, 0)
            return
        # Log before writing, so a client that has its answer always finds it counted.
        owner.log_request_done(self.command, self.path, resp.status, self._body_size(resp))
        self.send(resp)

    def _body_size(self, resp: Response) -> int:
        if self.command == "HEAD" or resp.status in (204, 304) or resp.status < 200:
            return 0
        return len(resp.body)

    def send(self, resp: Response) -> int:
        """Write ``resp``; returns the number of body bytes sent."""
        self.send_response(resp.status, resp.reason)
        names = {k.lower() for k, _ in resp.headers}
        for k, v in resp.headers:
            self.send_header(k, v)
        no_body = self._body_size(resp) == 0
        if "content-length" not in names and resp.status not in (204, 304):
            self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if no_body:
            return 0
        self.wfile.write(resp.body)
        return len(resp.body)

    def send_response(self, code: int, message: str | None = None) -> None:
        # Like the base class but without its own Server/Date headers: servers set their own.
        self.log_request(code)
        self.send_response_only(code, message)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # socketserver's listen backlog is 5: with more clients connecting at once, the kernel
    # drops their SYNs and they try again a second later. Nexus leaves Jetty's acceptQueueSize
    # at 0 (sonatype/nexus-public: assemblies/nexus-base-template/src/main/resources/overlay/
    # etc/jetty/jetty-http.xml), which Java's ServerSocketChannel.bind makes 50 (openjdk/jdk:
    # src/java.base/share/classes/sun/nio/ch/ServerSocketChannelImpl.java)
    request_queue_size = 50
    owner: Any = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        # pip and uv hang up mid-answer routinely (HEAD probes, range requests, cancelled
        # downloads): not worth a traceback. Anything else is a bug in the bed: show it.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class LoopbackServer:
    """Base class for the bed's servers: subclasses implement ``handle(handler)``.

    ``requests`` is a list of ``(method, path, status)`` (status 0 = not answered) and
    ``bytes_served`` the total of body bytes sent; both are guarded by ``lock``.
    """

    handler_class: type[QuietHandler] = QuietHandler

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.requests: list[tuple[str, str, int]] = []
        self.bytes_served = 0
        self._httpd = _Server((HOST, 0), self.handler_class)
        self._httpd.owner = self
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"http://{HOST}:{self.port}"
        self.stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": POLL},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def handle(self, handler: QuietHandler) -> Response | None:
        raise NotImplementedError

    def log_request_done(self, method: str, path: str, status: int, nbytes: int) -> None:
        with self.lock:
            self.requests.append((method, path, status))
            self.bytes_served += nbytes

    def count(self, path: str | None = None, method: str | None = None) -> int:
        """Requests so far whose path starts with ``path`` (and have ``method``)."""
        with self.lock:
            return sum(
                1
                for m, p, _ in self.requests
                if (path is None or p.startswith(path)) and (method is None or m == method)
            )

    def reset_counters(self) -> None:
        with self.lock:
            self.requests.clear()
            self.bytes_served = 0

    def stop(self) -> None:
        if self.stopped.is_set():
            return
        self.stopped.set()
        try:
            self._httpd.shutdown()
        finally:
            self._httpd.server_close()
            self._thread.join(JOIN_TIMEOUT)

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class HangingListener:
    """A TCP listener on 127.0.0.1 that accepts connections and never sends a byte.

    ``url`` is ``http://127.0.0.1:PORT``; ``accepted`` counts connections. ``stop()`` closes
    every held connection and the listener.
    """

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((HOST, 0))
        self._sock.listen(64)
        self._sock.settimeout(POLL)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://{HOST}:{self.port}"
        self.base_url = self.url
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"hang:{self.port}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self._held.append(conn)
            self.accepted += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(JOIN_TIMEOUT)
        for conn in self._held:
            conn.close()
        self._sock.close()

    def __enter__(self) -> HangingListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    """A port that was free a moment ago (nothing listens on it): for "connection refused"."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
    return port


def closed_url() -> str:
    return f"http://{HOST}:{free_port()}"


def port_is_open(port: int, host: str = HOST, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class Fetched(NamedTuple):
    status: int
    reason: str
    headers: Any  # http.client.HTTPMessage: case-insensitive .get(), .get_all()
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def fetch(
    url: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 10.0,
) -> Fetched:
    """One plain HTTP request with ``http.client`` (no redirects followed, no proxies).

    Raises ``OSError`` (e.g. ``TimeoutError``, ``ConnectionRefusedError``) on transport errors.
    """
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or HOST, parts.port or 80, timeout=timeout)
    try:
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        conn.request(method, target, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return Fetched(resp.status, resp.reason, resp.headers, data)
    finally:
        conn.close()
