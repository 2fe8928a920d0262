"""One GET of the probe under the attempt's deadline, on the standard library's ``http.client``.

``http.client`` speaks HTTP/1.1: the request, the status line and headers (with its own
bounds: 64 KiB a line, 100 headers), chunked bodies, ``set_tunnel`` for CONNECT through an
http proxy. Plain http through a proxy is an absolute-form request to the proxy. What it
cannot guarantee is kept by the small adapters below, each naming its test:

- :class:`_DeadlineFile`: every read waits at most the time left before the deadline, and
  the response head is bounded and never silently cut short;
- :class:`_Connection`: the stage of the connection (connecting, tunnel, TLS handshake) is
  known for the failure's classification, and the socket is registered for the watchdog;
- :func:`_read_body`: bodies are read in bounded steps (MAX_BODY, MAX_ERROR_BODY), an error
  page gets at most ERROR_BODY_SECONDS;
- :func:`_decode_content`: gzip/deflate decoded by zlib with an output bound;
- :meth:`pipnexus.probe.attempt.Attempt.abort`: the watchdog, called at the deadline, shuts
  the socket down.

Requests carry ``Accept-Encoding: gzip`` and ``Connection: close``; redirects are followed
only within the same origin (:func:`get_following`).
"""

from __future__ import annotations

import http.client
import io
import socket
import time
from collections.abc import Mapping

from pipnexus import __version__, urls
from pipnexus._nt import NamedTuple
from pipnexus.errors import InputError
from pipnexus.probe.attempt import Attempt, Deadline
from pipnexus.probe.classify import (
    MAX_ERROR_BODY,
    Answer,
    Failure,
    clean,
    echo_forms,
    scheme_mixup,
    scrub,
    scrub_text,
    tunnel_failure,
)
from pipnexus.probe.proxies import Proxy, ascii_host, parse_proxy, proxy_for

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (pipnexus/_nt.py)

if TYPE_CHECKING:
    import ssl
    from typing import ClassVar

MAX_BODY = 2 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
MAX_REDIRECTS = 3
READ_SIZE = 64 * 1024
# An error page only refines the reason; never wait long for one.
ERROR_BODY_SECONDS = 0.5
USER_AGENT = f"pipnexus/{__version__}"
_REDIRECTS = (301, 302, 303, 307, 308)


class Endpoint(NamedTuple):
    scheme: str
    host: str  # ASCII (IDNA) host without brackets
    port: int
    host_header: str
    target: str  # request target: path and query

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port

    @property
    def display(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def endpoint(url: urls.URL) -> Endpoint:
    """Where a GET of ``url`` goes (its userinfo is not used)."""
    from urllib.parse import quote

    host = ascii_host(url.host)
    shown = f"[{host}]" if ":" in host else host
    port = url.effective_port
    header = shown if port == (443 if url.scheme == "https" else 80) else f"{shown}:{port}"
    path, q, query = url.target.partition("?")
    target = quote(path or "/", safe="/%:@!$&'()*+,;=~")
    if q and query:
        target += "?" + quote(query, safe="/%:@!$&'()*+,;=~?")
    return Endpoint(url.scheme, host, port, header, target)


class _DeadlineFile(io.BufferedReader):
    """The response's socket file. Before every read the socket timeout is set to the time
    left (tests/probe/test_transport.py::test_listener_that_never_answers,
    tests/probe/test_classify.py::test_nexus_hangs). While the
    head is read, a line cut by the end of the connection is a bad response, not a shorter
    head, and the head is at most MAX_HEADER_BYTES (test_malformed_answers[cut-headers,
    huge-header])."""

    def __init__(self, raw: io.RawIOBase, sock: socket.socket, attempt: Attempt) -> None:
        super().__init__(raw)
        self._sock = sock
        self._attempt = attempt
        self.head_bytes = 0
        self.in_head = True

    def _arm(self) -> None:
        try:
            self._sock.settimeout(self._attempt.remaining())
        except OSError:
            raise Deadline() from None  # the watchdog closed the socket

    def readline(self, size: int | None = -1, /) -> bytes:
        self._arm()
        line = super().readline(size)
        if self.in_head:
            self.head_bytes += len(line)
            if self.head_bytes > MAX_HEADER_BYTES:
                raise Failure("bad-response", "the response head is larger than 64 KiB")
            cut = size is None or size < 0 or len(line) < size
            if self.head_bytes == len(line) and line.startswith((b"\x15\x03", b"\x16\x03")):
                # a TLS record instead of a status line: http.client's own error for it, which
                # classify.scheme_mixup recognises
                raise http.client.BadStatusLine(line.decode("latin-1"))
            if line and not line.endswith(b"\n") and cut:
                raise Failure("bad-response", "the connection closed inside the response head")
        return line

    def read(self, size: int | None = -1, /) -> bytes:
        self._arm()
        return super().read(size)

    def read1(self, size: int = -1, /) -> bytes:
        self._arm()
        return super().read1(size)

    def readinto(self, buffer: memoryview | bytearray, /) -> int:  # type: ignore[override]
        self._arm()
        return super().readinto(buffer)


class _Response(http.client.HTTPResponse):
    """http.client's response reading through a :class:`_DeadlineFile`."""

    connection: ClassVar[_Connection]  # set on the class made for each connection

    def __init__(
        self,
        sock: socket.socket,
        debuglevel: int = 0,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(sock, debuglevel, method, url)
        attempt = self.connection.attempt
        attempt.sock = sock
        if self.connection.connecting:  # the CONNECT answer of the proxy
            attempt.stage = self.connection.tunnel_stage
        # nothing was read yet: hand the raw socket stream over to the adapter
        self.fp = _DeadlineFile(self.fp.detach(), sock, attempt)


def _create_connection(
    address: tuple[str, int], *args: object, **kwargs: object
) -> socket.socket:
    """socket.create_connection with the host as bytes: the host is already ASCII (ascii_host),
    and a str host makes getaddrinfo import the idna codec (encodings.idna, stringprep and
    unicodedata) on the action's hot path."""
    host, port = address
    hop = (host.encode("ascii") if host.isascii() else host, port)
    return socket.create_connection(hop, *args, **kwargs)  # type: ignore[arg-type]


class _Connection(http.client.HTTPConnection):
    """An HTTP connection (to the server or to the proxy) whose ``connect`` tracks the stage,
    registers the socket for the watchdog and does the TLS handshake under the deadline
    (tests/probe/test_transport.py::test_tls_handshake_failure,
    tests/probe/test_proxies.py::test_proxy_that_refuses, test_https_tunnel_through_proxy)."""

    def __init__(
        self,
        server: Endpoint,
        attempt: Attempt,
        tls: ssl.SSLContext | None,
        proxy: Proxy | None,
    ) -> None:
        hop = (proxy.host, proxy.port) if proxy is not None else (server.host, server.port)
        super().__init__(hop[0], hop[1], timeout=attempt.remaining())
        self._create_connection = _create_connection
        self.server = server
        self.attempt = attempt
        self.tls = tls
        self.proxy = proxy
        self.connecting = False
        self.hop_display = f"the proxy {proxy.display}" if proxy is not None else server.display
        self.tunnel_stage = ""
        self.response_class = type("_BoundResponse", (_Response,), {"connection": self})
        if proxy is not None and server.scheme == "https":
            tunnel_host = f"[{server.host}]" if ":" in server.host else server.host
            headers = {"Proxy-Authorization": proxy.auth} if proxy.auth else None
            self.set_tunnel(tunnel_host, server.port, headers=headers)
            self.tunnel_stage = (
                f"opening a tunnel to {server.display} through the proxy {proxy.display}"
            )

    def connect(self) -> None:
        attempt = self.attempt
        attempt.where = self.hop_display
        attempt.stage = f"connecting to {self.hop_display}"
        self.timeout = attempt.remaining()
        self.connecting = True
        try:
            super().connect()  # TCP, then CONNECT through the proxy after set_tunnel
        except OSError as e:
            failure = self._tunnel_failure(e)
            if failure is None:
                raise
            raise failure from None
        finally:
            self.connecting = False
        attempt.sock = self.sock
        attempt.where = self.server.display
        if self.tls is not None:
            attempt.stage = f"TLS handshake with {self.server.display}"
            self.sock.settimeout(attempt.remaining())
            self.sock = self.tls.wrap_socket(self.sock, server_hostname=self.server.host)
            attempt.sock = self.sock

    def _tunnel_failure(self, error: OSError) -> Failure | None:
        """http.client reports a refused CONNECT as ``OSError("Tunnel connection failed:
        <status> <reason>")`` (Lib/http/client.py, ``HTTPConnection._tunnel``)."""
        text = str(error)
        prefix = "Tunnel connection failed: "
        if self.proxy is None or not text.startswith(prefix):
            return None
        status_text, _, reason = text[len(prefix) :].partition(" ")
        if not status_text.isdigit():
            return None
        reason = scrub_text(reason, echo_forms([self.proxy.auth]))
        return tunnel_failure(
            int(status_text), reason, self.proxy.display, self.server.display, bool(self.proxy.auth)
        )


def _headers_of(resp: http.client.HTTPResponse) -> dict[str, str]:
    """Headers by lower-case name. http.client parses a header line without a colon as the
    start of the body, silently: here it is a bad response
    (tests/probe/test_transport.py::test_malformed_answers[bad-header])."""
    if resp.msg.defects:
        raise Failure("bad-response", "the response has a malformed header line")
    headers: dict[str, str] = {}
    for name, value in resp.getheaders():
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value.strip()
    return headers


def _declared_length(resp: http.client.HTTPResponse, headers: Mapping[str, str]) -> int | None:
    """Content-Length, checked: http.client takes an invalid one for "read to the end"
    (tests/probe/test_transport.py::test_malformed_answers[bad-length])."""
    if resp.chunked or "content-length" not in headers:
        return None
    try:
        length = int(headers["content-length"].split(",")[0].strip())
    except ValueError:
        raise Failure("bad-response", "the response has an invalid Content-Length") from None
    if length < 0:
        raise Failure("bad-response", "the response has an invalid Content-Length")
    return length


def _read_body(
    resp: http.client.HTTPResponse, length: int | None, limit: int, body: bytearray
) -> bool:
    """Read the body into ``body`` in steps of one socket read at most (``read1``), so that a
    trickling body meets the deadline check between reads; True when it is over ``limit``
    (tests/probe/test_transport.py::test_body_far_larger_than_an_index_page, test_body_trickles,
    test_error_body_that_trickles_does_not_cost_the_deadline)."""
    if length is not None and length > limit:
        return True
    while len(body) <= limit:
        data = resp.read1(READ_SIZE)
        if not data:
            break
        body += data
    if len(body) > limit:
        del body[limit:]
        return True
    if length is not None and len(body) < length:
        raise Failure(
            "bad-response",
            f"the body is truncated: the connection closed after {len(body)} of {length} bytes",
        )
    return False


def _decode_content(body: bytes, encoding: str, limit: int) -> tuple[bytes, bool]:
    """Undo gzip/deflate with zlib, never producing more than ``limit`` bytes (a small
    compressed body may inflate to gigabytes):
    tests/probe/test_transport.py::test_chunked_and_gzip_pages,
    test_malformed_answers[brotli, bad-gzip]."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body, False
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise Failure("bad-response", f"unsupported Content-Encoding {clean(encoding, 40)!r}")
    import zlib

    # gzip or zlib header; "deflate" is sometimes sent raw, without the zlib header
    for wbits in (47,) if "gzip" in encoding else (47, -15):
        decoder = zlib.decompressobj(wbits)
        try:
            out = decoder.decompress(body, limit + 1)
        except zlib.error:
            continue
        if len(out) > limit:
            return out[:limit], True
        if decoder.eof:
            return out, False
    raise Failure("bad-response", "the compressed body is malformed")


def get(
    attempt: Attempt,
    ep: Endpoint,
    auth: str | None,
    tls: ssl.SSLContext | None,
    want_body: bool,
    proxy: Proxy | None = None,
    max_body: int = MAX_BODY,
) -> Answer:
    """One GET with ``Connection: close``; the body is read only when asked or on an error,
    ``max_body`` bytes at most (MAX_ERROR_BODY for an error page)."""
    conn = _Connection(ep, attempt, tls if ep.scheme == "https" else None, proxy)
    resp: http.client.HTTPResponse | None = None
    try:
        conn.connect()
        forward = proxy is not None and ep.scheme == "http"
        target = f"http://{ep.host_header}{ep.target}" if forward else ep.target
        conn.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", ep.host_header)
        conn.putheader("User-Agent", USER_AGENT)
        conn.putheader("Accept", "text/html")
        conn.putheader("Accept-Encoding", "gzip, identity")
        conn.putheader("Connection", "close")
        if auth:
            conn.putheader("Authorization", auth)
        if forward and proxy is not None and proxy.auth:
            conn.putheader("Proxy-Authorization", proxy.auth)
        attempt.stage = f"sending the request to {ep.display}"
        conn.sock.settimeout(attempt.remaining())
        conn.endheaders()
        attempt.stage = f"waiting for the response headers from {ep.display}"
        resp = conn.getresponse()
        if isinstance(resp.fp, _DeadlineFile):
            resp.fp.in_head = False
        # a server may echo the credentials back (reason phrase, error page): they must not
        # reach a message, not even cut short
        echoes = echo_forms([auth, proxy.auth if proxy is not None else None])
        status, reason = resp.status, scrub_text(resp.reason, echoes)
        headers = _headers_of(resp)
        length = _declared_length(resp, headers)
        if status in (204, 304) or not ((want_body and status < 300) or status >= 400):
            return Answer(status, reason, headers, b"", False)
        lenient = status >= 400
        limit = MAX_ERROR_BODY if lenient else max_body
        if lenient:
            attempt.until = time.monotonic() + ERROR_BODY_SECONDS
        attempt.stage = f"reading the response body from {ep.display}"
        body = bytearray()
        try:
            too_large = _read_body(resp, length, limit, body)
        except (Failure, Deadline, OSError, http.client.HTTPException):
            if not lenient or attempt.cancelled:
                raise
            too_large = False  # an error page only adds detail: keep what came
        finally:
            attempt.until = None
        if lenient:
            return Answer(status, reason, headers, scrub(bytes(body), echoes), too_large)
        if too_large:
            return Answer(status, reason, headers, bytes(body), True)
        data, too_large = _decode_content(
            bytes(body), headers.get("content-encoding", ""), limit
        )
        return Answer(status, reason, headers, data, too_large)
    finally:
        attempt.sock = None
        if resp is not None:
            resp.close()
        conn.close()


def select_proxy(ep: Endpoint, environ: Mapping[str, str]) -> Proxy | None:
    shown = f"[{ep.host}]" if ":" in ep.host else ep.host
    proxy_url = proxy_for(f"{ep.scheme}://{shown}:{ep.port}/", environ)
    return parse_proxy(proxy_url) if proxy_url else None


def get_following(
    attempt: Attempt,
    url: urls.URL,
    auth: str | None,
    tls: ssl.SSLContext | None,
    want_body: bool,
    environ: Mapping[str, str],
    max_body: int = MAX_BODY,
) -> Answer:
    """GET, following at most MAX_REDIRECTS redirects, and only within the same origin."""
    from urllib.parse import urljoin

    ep = endpoint(url)
    current = url.bare
    for _ in range(MAX_REDIRECTS + 1):
        attempt.url = current
        resp = get(attempt, ep, auth, tls, want_body, select_proxy(ep, environ), max_body)
        if resp.status == 400:
            said_bytes = resp.reason.encode("latin-1", "replace") + b" " + resp.body
            hint = scheme_mixup(current, said_bytes)
            if hint is not None:
                said = clean(f"{resp.status} {resp.reason}", 80)
                raise Failure("bad-response", f"the {attempt.what} answered {said}: {hint}")
        if resp.status not in _REDIRECTS:
            return resp
        location = resp.headers.get("location", "")
        if not location:
            raise Failure(
                "bad-response", f"the {attempt.what} answered {resp.status} without a Location"
            )
        current = urljoin(current, location)
        try:
            new = endpoint(urls.parse_url(current, "the redirect"))
        except (InputError, UnicodeError):
            raise Failure(
                "redirect", f"the {attempt.what} redirects ({resp.status}) to an invalid URL"
            ) from None
        if new.origin != ep.origin:
            kind = "mirror" if attempt.what == "interpreter mirror" else "index"
            raise Failure(
                "redirect",
                f"the {attempt.what} redirects ({resp.status}) to another host or scheme "
                f"({new.scheme}://{new.display}); redirects are not followed off-host, "
                f"use the final URL as the {kind} URL",
            )
        ep = new
        current = urls.split_credentials(current)[0]
    raise Failure("redirect", f"the {attempt.what} redirects more than {MAX_REDIRECTS} times")
