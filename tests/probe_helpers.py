"""Purpose-made loopback servers for the probe's fault matrix (byte-level misbehaviour).

``RawServer(script)`` listens on 127.0.0.1 (or another loopback address) and runs
``script(conn, request)`` in a thread for each connection, after reading the request head.
Scripts below build the usual faults: ``answer(...)``, ``trickle_headers``, ``trickle_body``,
``truncated``, ``endless_body``. ``stop()`` closes everything and joins the threads (bounded),
and every script ends by itself within ``SCRIPT_LIMIT`` seconds even if nobody stops it.

``self_signed_cert(dir)`` makes a certificate for 127.0.0.1/localhost with the ``openssl`` CLI
(None when it is not installed).

``one(url)`` / ``run_probe(targets)`` probe in this process and check what every result must
hold (returned in time, a known reason, one line); ``serve(raw, script)`` starts a RawServer
that the ``raw`` fixture (tests/probe/conftest.py) stops.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, NamedTuple
from urllib.parse import quote

from pipnexus import probe, urls
from pipnexus.probe import REASONS, Result, Target
from testbed.httpbase import POLL

HOST = "127.0.0.1"
SCRIPT_LIMIT = 30.0
JOIN_TIMEOUT = 5.0
TLS_HANDSHAKE = b"\x16\x03"  # a TLS record: handshake, protocol 3.x

Script = Callable[["RawServer", socket.socket, bytes], None]

PIP_PAGE = (
    b"<!DOCTYPE html><html><head><title>Links for pip</title></head><body>"
    b'<a href="../../packages/pip/24.0/pip-24.0-py3-none-any.whl#sha256=00">'
    b"pip-24.0-py3-none-any.whl</a><br/>"
    b'<a href="../../packages/pip/24.0/pip-24.0.tar.gz#sha256=01">pip-24.0.tar.gz</a><br/>'
    b"</body></html>\n"
)


def head(status: int, reason: str, headers: list[tuple[str, str]] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{k}: {v}" for k, v in headers or []]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def response(
    status: int,
    reason: str,
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
) -> bytes:
    all_headers = [("Content-Type", "text/html"), ("Content-Length", str(len(body)))]
    all_headers += headers or []
    return head(status, reason, all_headers) + body


class RawServer:
    def __init__(
        self,
        script: Script,
        host: str = HOST,
        tls: ssl.SSLContext | None = None,
        port: int = 0,
        read_request: bool = True,
    ) -> None:
        self.script = script
        self.read_request = read_request
        self.tls = tls
        self.requests: list[bytes] = []  # request heads, in arrival order
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(16)
        self._sock.settimeout(POLL)  # how soon stop() ends the accept loop
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        scheme = "https" if tls else "http"
        self.base_url = f"{scheme}://{host}:{self.port}"
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def url(self, path: str = "/repository/pypi-proxy/simple/") -> str:
        return self.base_url + path

    def _accept_loop(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            with self._lock:
                self._conns.append(conn)
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._threads.append(worker)
            worker.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5.0)
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
                with self._lock:
                    self._conns.append(conn)
            data = b"" if self.read_request else b"\r\n\r\n"
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
                if self.tls is None and data.startswith(TLS_HANDSHAKE):
                    # a TLS ClientHello on this plain port: hang up at once, as a server
                    # that cannot parse it does (rather than wait for a head that never comes)
                    return
            request = data.split(b"\r\n\r\n", 1)[0] or b"GET / HTTP/1.1"
            with self._lock:
                self.requests.append(request)
            self.script(self, conn, request)
        except (OSError, ssl.SSLError):
            pass  # the client hung up or rejected the certificate: expected in fault tests
        finally:
            conn.close()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False once the server is stopped (scripts then end)."""
        return not self.stopped.wait(seconds)

    def stop(self) -> None:
        self.stopped.set()
        self._thread.join(JOIN_TIMEOUT)
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.close()
        for t in threads:
            t.join(JOIN_TIMEOUT)
        self._sock.close()

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- scripts ----------------------------------------------------------------------------------


def answer(
    status: int,
    reason: str,
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    status_ok: bool = True,
) -> Script:
    """Answer every request the same; with ``status_ok`` the Nexus status path answers 200."""

    def script(server: RawServer, conn: socket.socket, request: bytes) -> None:
        if status_ok and b" /service/rest/v1/status " in request:
            conn.sendall(response(200, "OK"))
        else:
            conn.sendall(response(status, reason, body, headers))

    return script


def routes(table: dict[str, bytes], default: bytes = b"") -> Script:
    """Answer the raw bytes for the request path (first line's target); else ``default``."""

    def script(server: RawServer, conn: socket.socket, request: bytes) -> None:
        target = request.split(b" ", 2)[1].decode()
        if target == "/service/rest/v1/status" and target not in table:
            conn.sendall(response(200, "OK"))
            return
        conn.sendall(table.get(target, default or response(404, "Not Found")))

    return script


def _slowly(server: RawServer, conn: socket.socket, prefix: bytes, drip: bytes) -> None:
    conn.sendall(prefix)
    end = time.monotonic() + SCRIPT_LIMIT
    while time.monotonic() < end and server.wait(0.2):
        conn.sendall(drip)


def trickle_headers(server: RawServer, conn: socket.socket, request: bytes) -> None:
    """One header byte every 0.2 s, forever (a header that never ends)."""
    _slowly(server, conn, b"HTTP/1.1 200 OK\r\nX-Slow: ", b"a")


def trickle_body(server: RawServer, conn: socket.socket, request: bytes) -> None:
    if b" /service/rest/v1/status " in request:
        conn.sendall(response(200, "OK"))
        return
    prefix = head(200, "OK", [("Content-Type", "text/html"), ("Content-Length", "1000000")])
    _slowly(server, conn, prefix + b"<html><body>", b" ")


def truncated(server: RawServer, conn: socket.socket, request: bytes) -> None:
    if b" /service/rest/v1/status " in request:
        conn.sendall(response(200, "OK"))
        return
    headers = [("Content-Type", "text/html"), ("Content-Length", str(len(PIP_PAGE) + 5000))]
    conn.sendall(head(200, "OK", headers) + PIP_PAGE)
    # then close: the body is 5000 bytes short


def endless_body(framing: str) -> Script:
    """A body far larger than any index page: ``length`` (declared 64 MiB), ``chunked`` or
    ``close`` (no length, until the connection closes); sends until the client hangs up."""

    def script(server: RawServer, conn: socket.socket, request: bytes) -> None:
        if b" /service/rest/v1/status " in request:
            conn.sendall(response(200, "OK"))
            return
        headers = [("Content-Type", "text/html")]
        if framing == "length":
            headers.append(("Content-Length", str(64 * 1024 * 1024)))
        elif framing == "chunked":
            headers.append(("Transfer-Encoding", "chunked"))
        conn.sendall(head(200, "OK", headers))
        block = PIP_PAGE * (65536 // len(PIP_PAGE))
        if framing == "chunked":
            block = f"{len(block):x}\r\n".encode() + block + b"\r\n"
        end = time.monotonic() + SCRIPT_LIMIT
        sent = 0
        while time.monotonic() < end and not server.stopped.is_set() and sent < 256 * 2**20:
            conn.sendall(block)
            sent += len(block)

    return script


def close_at_once(server: RawServer, conn: socket.socket, request: bytes) -> None:
    """Read the request, answer nothing, close."""


def _pipe(server: RawServer, a: socket.socket, b: socket.socket) -> None:
    import select

    end = time.monotonic() + SCRIPT_LIMIT
    while time.monotonic() < end and not server.stopped.is_set():
        ready, _, _ = select.select([a, b], [], [], 0.1)
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            (b if sock is a else a).sendall(data)


def forward_proxy(proxy_auth: str | None = None) -> Script:
    """An http forward proxy (absolute-form GET and CONNECT) to loopback targets only.

    ``proxy_auth``: the ``Proxy-Authorization`` value it demands (407 otherwise).
    """

    def script(server: RawServer, conn: socket.socket, request: bytes) -> None:
        method, target = request.split(b" ", 2)[:2]
        if proxy_auth and f"Proxy-Authorization: {proxy_auth}".encode() not in request:
            conn.sendall(response(407, "Proxy Authentication Required"))
            return
        if method == b"CONNECT":
            host, _, port = target.decode().rpartition(":")
        else:
            netloc = target.decode().split("://", 1)[1].split("/", 1)[0]
            host, _, port = netloc.rpartition(":")
        if host not in (HOST, "localhost"):
            conn.sendall(response(403, "Forbidden"))  # never any traffic off loopback
            return
        upstream = socket.create_connection((host, int(port or 80)), timeout=5)
        try:
            if method == b"CONNECT":
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                upstream.sendall(request + b"\r\n\r\n")
            _pipe(server, conn, upstream)
        finally:
            upstream.close()

    return script


# -- TLS -------------------------------------------------------------------------------------


@contextlib.contextmanager
def never_accepts() -> Iterator[str]:
    """``http://HOST:PORT`` of a listener with backlog 0 whose accept queue is full and that
    nobody accepts from: new connections stall (no refusal, no answer)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind((HOST, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(4):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            filler.connect_ex((HOST, port))
            fillers.append(filler)
        yield f"http://{HOST}:{port}"
    finally:
        for s in fillers:
            s.close()
        listener.close()


class Cert(NamedTuple):
    cert: Path
    key: Path


def self_signed_cert(directory: Path) -> Cert | None:
    """A self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI, as
    ``cert.pem`` and ``key.pem`` in ``directory``. One key pair per test session, copied to
    each caller: an RSA key takes openssl about 0.2 s of CPU."""
    made = _made_cert()
    if made is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    cert.write_bytes(made[0])
    key.write_bytes(made[1])
    return Cert(cert, key)


@functools.cache
def _made_cert() -> tuple[bytes, bytes] | None:
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    with tempfile.TemporaryDirectory(prefix="pipnexus-cert-") as tmp:
        cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        proc = subprocess.run(
            [
                openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout", str(key), "-out", str(cert),
            ],
            capture_output=True,
            timeout=60,
        )  # fmt: skip
        if proc.returncode != 0:
            return None
        return cert.read_bytes(), key.read_bytes()


def server_context(cert: Cert) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert.cert), str(cert.key))
    return ctx


# --- calling the probe ------------------------------------------------------------------------


HANG_SLACK = 5.0  # seconds over the deadline that count as "returned", not "hung"


REPO = Path(__file__).resolve().parents[1]


def target_for(index_url: str) -> Target:
    return probe.target_for(urls.parse_url(index_url))


def run_probe(targets: list[Target], timeout: float = 2.0, **kwargs: Any) -> list[Result]:
    kwargs.setdefault("environ", {})  # no proxy settings of this machine
    start = time.monotonic()
    results = probe.probe(targets, timeout=timeout, **kwargs)
    elapsed = time.monotonic() - start
    assert elapsed < timeout + HANG_SLACK, f"probe hung: {elapsed:.1f} s"
    assert len(results) == len(targets)
    for r in results:
        assert r.reason in (("",) if r.healthy else REASONS), r
        assert "\n" not in r.detail and "\r" not in r.detail
    return results


def one(target: Target | str, timeout: float = 2.0, **kwargs: Any) -> Result:
    if isinstance(target, str):
        target = target_for(target)
    return run_probe([target], timeout, **kwargs)[0]


def serve(raw: list[RawServer], script: Script, **kwargs: Any) -> RawServer:
    server = RawServer(script, **kwargs)
    raw.append(server)
    return server


def with_userinfo(url: str, user: str, password: str) -> str:
    return url.replace("http://", f"http://{quote(user, safe='')}:{quote(password, safe='')}@")


def mirror(url: str) -> Target:
    return probe.mirror_target(urls.parse_url(url))
