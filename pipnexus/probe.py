"""Probe package indexes (a Nexus PyPI proxy or any PEP 503 simple index) in parallel.

``probe()`` checks every candidate at once under one total deadline and classifies each
failure with a stable reason code (``REASONS``). It is on the action's hot path, so it uses
the standard library only and a small HTTP/1.1 client on raw sockets instead of
``http.client`` (which pulls in the ``email`` package): that also gives every read a timeout
derived from the remaining time, so a server that trickles bytes cannot outlive the deadline.
``ssl`` is imported only when an https URL is probed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from pipnexus import __version__, gha, urls
from pipnexus.errors import InputError

if TYPE_CHECKING:
    import ssl

REASONS: tuple[str, ...] = (
    "dns",
    "refused",
    "timeout",
    "tls",
    "auth",
    "not-found",
    "remote-blocked",
    "remote-unreachable",
    "unavailable",
    "not-an-index",
    "redirect",
    "bad-response",
)
DEFAULT_REPOSITORY = "pypi-proxy"
DEFAULT_CANARY = "pip"
DEFAULT_TIMEOUT = 3.0
MAX_TIMEOUT = 600.0
MAX_CANDIDATES = 16
STATUS_PATH = "/service/rest/v1/status"
MAX_BODY = 2 * 1024 * 1024
MAX_ERROR_BODY = 64 * 1024
MAX_HEADER_BYTES = 64 * 1024
MAX_REDIRECTS = 3
# An error page only refines the reason; never wait long for one.
ERROR_BODY_SECONDS = 0.5
USER_AGENT = f"pipnexus/{__version__}"

# ASCII only: with re.IGNORECASE, [A-Z] would also match "ı", "ſ" and the Kelvin sign
_PROJECT_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?\Z")
_DIST_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar", ".egg")
_BLOCKED = re.compile(r"Remote (?:Auto|Manually) Blocked[^<>\r\n]{0,80}", re.IGNORECASE)


class Target(NamedTuple):
    index_url: str  # full simple index URL, may contain userinfo
    status_url: str | None = None  # Nexus "<base>/service/rest/v1/status", None to skip


class Result(NamedTuple):
    url: str  # index URL, credentials redacted
    healthy: bool
    reason: str  # "" when healthy, else one of REASONS
    detail: str  # one human sentence, redacted
    latency_ms: int


class _Failure(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class _Deadline(Exception):
    """The total deadline passed."""


class _Response(NamedTuple):
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    too_large: bool


def target_for(index_url: str) -> Target:
    """A Target for ``index_url``; with a status URL when it has the shape of a Nexus index."""
    base = urls.nexus_base_from_index(index_url)
    return Target(index_url, base + STATUS_PATH if base is not None else None)


def _env(environ: Mapping[str, str], name: str) -> str:
    return (environ.get(name) or "").strip()


def _nexus_target(nexus_url: str, repository: str, what: str) -> Target:
    index = urls.index_from_nexus(nexus_url, repository, what)
    return Target(index, nexus_url.rstrip("/") + STATUS_PATH)


def resolve_candidates(
    index_urls: Sequence[str] = (),
    nexus_url: str | None = None,
    repository: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[Target]:
    """Where the index comes from; the first source that is set wins.

    1. ``index_urls`` (explicit, ordered candidates; empty strings are ignored),
    2. ``nexus_url`` + ``repository`` (default ``pypi-proxy``),
    3. ``PIPNEXUS_INDEX_URL`` in ``environ`` (space-separated candidates),
    4. ``PIPNEXUS_NEXUS_URL`` + (``repository`` or ``PIPNEXUS_REPOSITORY`` or ``pypi-proxy``).

    Empty or blank values count as unset (Actions passes unset inputs as ""). Raises
    InputError when nothing is set or a value is invalid.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    explicit = [u for u in index_urls if u != ""]
    if repository is not None and repository.strip() == "":
        repository = None
    targets: list[Target]
    if explicit:
        whats = (
            ["index URL"]
            if len(explicit) == 1
            else [f"index URL #{i + 1}" for i in range(len(explicit))]
        )
        targets = [target_for(urls.validate_url(u, w)) for u, w in zip(explicit, whats)]
    elif nexus_url:
        targets = [_nexus_target(nexus_url, repository or DEFAULT_REPOSITORY, "Nexus URL")]
    elif _env(env, "PIPNEXUS_INDEX_URL"):
        items = _env(env, "PIPNEXUS_INDEX_URL").split()
        targets = [
            target_for(urls.validate_url(u, f"PIPNEXUS_INDEX_URL entry #{i + 1}"))
            for i, u in enumerate(items)
        ]
    elif _env(env, "PIPNEXUS_NEXUS_URL"):
        repo = repository or _env(env, "PIPNEXUS_REPOSITORY") or DEFAULT_REPOSITORY
        targets = [_nexus_target(_env(env, "PIPNEXUS_NEXUS_URL"), repo, "PIPNEXUS_NEXUS_URL")]
    else:
        raise InputError(
            "no package index given: set an index URL or a Nexus URL "
            "(--index-url / --nexus-url, or PIPNEXUS_INDEX_URL / PIPNEXUS_NEXUS_URL)"
        )
    if len(targets) > MAX_CANDIDATES:
        raise InputError(f"too many index candidates ({len(targets)}; at most {MAX_CANDIDATES})")
    return targets


def is_project_name(name: str) -> bool:
    """Whether ``name`` is a valid project name (PEP 508), at most 200 characters."""
    return isinstance(name, str) and len(name) <= 200 and bool(_PROJECT_NAME.match(name))


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def normalize_project(name: str) -> str:
    """PEP 503 normalized project name; InputError if ``name`` is not a valid project name."""
    if not is_project_name(name):
        raise InputError("canary project name is invalid (letters, digits, '-', '_', '.')")
    return _normalize(name)


def _clean(text: str, limit: int = 160) -> str:
    """Server-supplied text made safe for one line of output: printable, bounded."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Attempt:
    """State of one candidate's probe, shared with the thread that enforces the deadline."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.what = "request"
        self.stage = "starting"
        self.where = ""
        self.sock: socket.socket | None = None
        self.cancelled = False

    def remaining(self, until: float | None = None) -> float:
        left = min(self.deadline, until or self.deadline) - time.monotonic()
        if left <= 0 or self.cancelled:
            raise _Deadline()
        return left

    def abort(self) -> None:
        """Called by the waiting thread at the deadline: wake a read blocked in this probe."""
        self.cancelled = True
        sock = self.sock
        if sock is not None:
            # the plain socket method also works on an SSLSocket without touching TLS state
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Reader:
    """Buffered reads from a socket, each bounded by the attempt's remaining time."""

    def __init__(self, sock: socket.socket, attempt: _Attempt) -> None:
        self.sock = sock
        self.attempt = attempt
        self.buf = b""
        self.eof = False
        self.until: float | None = None

    def fill(self) -> bool:
        if self.eof:
            return False
        self.sock.settimeout(self.attempt.remaining(self.until))
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise _Deadline() from None
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def readline(self, limit: int) -> bytes | None:
        """One line without its end; None at EOF before a line end."""
        while True:
            idx = self.buf.find(b"\n")
            if idx != -1:
                line, self.buf = self.buf[:idx], self.buf[idx + 1 :]
                return line.rstrip(b"\r")
            if len(self.buf) > limit:
                raise _Failure("bad-response", "the response has a line longer than 64 KiB")
            if not self.fill():
                return None

    def read(self, n: int) -> bytes:
        """Exactly n bytes, or fewer at EOF."""
        while len(self.buf) < n and self.fill():
            pass
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_to_eof(self, limit: int) -> tuple[bytes, bool]:
        while len(self.buf) <= limit and self.fill():
            pass
        data = self.buf
        return data[:limit], len(data) > limit


def _read_chunked(reader: _Reader, limit: int) -> tuple[bytes, bool]:
    body = b""
    while True:
        line = reader.readline(1024)
        if line is None:
            raise _Failure("bad-response", "the chunked body ended early (truncated)")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _Failure("bad-response", "the chunked body is malformed") from None
        if size < 0:
            raise _Failure("bad-response", "the chunked body is malformed")
        if size == 0:
            return body, False
        if len(body) + size > limit:
            return body + reader.read(limit - len(body)), True
        data = reader.read(size)
        if len(data) < size:
            raise _Failure("bad-response", "the chunked body ended early (truncated)")
        body += data
        reader.read(2)


def _decode_content(body: bytes, encoding: str, limit: int) -> tuple[bytes, bool]:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body, False
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise _Failure("bad-response", f"unsupported Content-Encoding {_clean(encoding, 40)!r}")
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
    raise _Failure("bad-response", "the compressed body is malformed")


def _parse_head(reader: _Reader) -> tuple[int, str, dict[str, str]]:
    first = reader.readline(MAX_HEADER_BYTES)
    if first is None:
        if reader.buf:
            raise _Failure("bad-response", "the connection closed inside the status line")
        raise _Failure("bad-response", "the server closed the connection without answering")
    match = re.match(rb"HTTP/1\.[01] +([0-9]{3})(?: +(.*))?\Z", first)
    if not match:
        raise _Failure("bad-response", "the answer is not an HTTP/1.x response")
    status = int(match.group(1))
    reason = (match.group(2) or b"").decode("latin-1")
    headers: dict[str, str] = {}
    size = len(first)
    while True:
        line = reader.readline(MAX_HEADER_BYTES)
        if line is None:
            raise _Failure("bad-response", "the connection closed inside the response headers")
        size += len(line) + 2
        if size > MAX_HEADER_BYTES:
            raise _Failure("bad-response", "the response headers are larger than 64 KiB")
        if not line:
            return status, reason, headers
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon:
            raise _Failure("bad-response", "the response has a malformed header line")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value


class _Endpoint(NamedTuple):
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


def _endpoint(url: str) -> _Endpoint:
    """Split a credential-free http(s) URL (ValueError if it is not one)."""
    from urllib.parse import quote, urlsplit

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(url)
    host = parts.hostname
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    default = 443 if scheme == "https" else 80
    port = parts.port or default
    shown = f"[{host}]" if ":" in host else host
    header = shown if port == default else f"{shown}:{port}"
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~")
    query = quote(parts.query, safe="/%:@!$&'()*+,;=~?")
    return _Endpoint(scheme, host, port, header, path + ("?" + query if query else ""))


def _echo_forms(auths: Sequence[str | None]) -> list[bytes]:
    """What a server echoing our ``Authorization`` header or its password would send back."""
    import binascii

    forms: set[bytes] = set()
    for auth in auths:
        if not auth:
            continue
        token = auth.split(" ", 1)[1]
        forms.add(token.encode("ascii"))
        password = binascii.a2b_base64(token).decode("utf-8", "replace").partition(":")[2]
        if password:
            forms.update(form.encode("utf-8") for form in urls.secret_encodings(password))
    return sorted(forms, key=len, reverse=True)


def _scrub(data: bytes, forms: Sequence[bytes]) -> bytes:
    """``data`` without the credentials we sent (before any text of it is cut short)."""
    for form in forms:
        data = data.replace(form, b"***")
    return data


def _scrub_reason(reason: str, forms: Sequence[bytes]) -> str:
    return _scrub(reason.encode("latin-1"), forms).decode("latin-1") if forms else reason


def _basic_auth(username: str | None, password: str | None) -> str | None:
    if username is None and password is None:
        return None
    import binascii

    raw = f"{username or ''}:{password or ''}".encode()
    return "Basic " + binascii.b2a_base64(raw, newline=False).decode("ascii")


class _Proxy(NamedTuple):
    host: str
    port: int
    display: str  # host:port, no credentials
    auth: str | None  # Proxy-Authorization value


def _bypass_proxy(host: str, port: int, no_proxy: str) -> bool:
    """Whether ``no_proxy`` exempts the host, matched the way requests (pip) matches it."""
    entries = [e for e in no_proxy.replace(" ", "").lower().split(",") if e]
    if "*" in entries:
        return True
    host = host.lower()
    if re.match(r"[0-9]+(\.[0-9]+){3}\Z", host):
        import ipaddress  # only for IPv4 hosts with a no_proxy list

        for entry in entries:
            if entry == host:
                return True
            if "/" in entry:
                try:
                    if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                        return True
                except ValueError:
                    continue
        return False
    names = {host, f"[{host}]"} if ":" in host else {host}
    for name in names:
        with_port = f"{name}:{port}"
        for entry in entries:
            entry = entry.lstrip(".")
            if entry in (name, with_port) or name.endswith("." + entry):
                return True
            if with_port.endswith("." + entry):
                return True
    return False


def proxy_for(url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The proxy URL that pip (requests) and uv take from the environment for ``url``.

    ``<scheme>_proxy`` then ``all_proxy`` (lower case first, then upper case), unless
    ``no_proxy`` exempts the host. None for a direct connection.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ

    def get(name: str) -> str:
        return (env.get(name) or env.get(name.upper()) or "").strip()

    try:
        ep = _endpoint(urls.split_credentials(url)[0])
    except ValueError:
        return None
    if _bypass_proxy(ep.host, ep.port, get("no_proxy")):
        return None
    return get(f"{ep.scheme}_proxy") or get("all_proxy") or None


def _parse_proxy(proxy_url: str) -> _Proxy:
    """An http:// proxy URL (scheme optional) -> _Proxy; InputError for anything else."""
    if "://" not in proxy_url:
        proxy_url = "http://" + proxy_url
    scheme = proxy_url.partition("://")[0].lower()
    if scheme != "http":
        raise InputError(
            f"proxy scheme {scheme[:20]!r} from the environment is not supported by the probe "
            "(only http:// proxies; unset it or add the index host to NO_PROXY)"
        )
    urls.validate_url(proxy_url, "the proxy URL from the environment")
    bare, user, password = urls.split_credentials(proxy_url)
    ep = _endpoint(bare)
    return _Proxy(ep.host, ep.port, ep.display, _basic_auth(user, password))


def _select_proxy(ep: _Endpoint, environ: Mapping[str, str]) -> _Proxy | None:
    proxy_url = proxy_for(f"{ep.scheme}://{ep.host_header}/", environ)
    return _parse_proxy(proxy_url) if proxy_url else None


def _open(host: str, port: int, shown: str, attempt: _Attempt) -> socket.socket:
    attempt.where = shown
    attempt.stage = f"resolving {host}"
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    error: OSError | None = None
    for family, kind, proto, _name, addr in infos:
        attempt.stage = f"connecting to {shown}"
        sock = socket.socket(family, kind, proto)
        attempt.sock = sock
        try:
            sock.settimeout(attempt.remaining())
            sock.connect(addr)
        except socket.timeout:
            sock.close()
            raise _Deadline() from None
        except OSError as e:
            sock.close()
            error = error or e
            continue
        return sock
    raise error or OSError(f"no address for {host}")


def _tunnel(sock: socket.socket, ep: _Endpoint, proxy: _Proxy, attempt: _Attempt) -> None:
    """CONNECT through an http proxy to ``ep`` (for https)."""
    attempt.stage = f"opening a tunnel to {ep.display} through the proxy {proxy.display}"
    lines = [f"CONNECT {ep.display} HTTP/1.1", f"Host: {ep.display}", f"User-Agent: {USER_AGENT}"]
    if proxy.auth:
        lines.append(f"Proxy-Authorization: {proxy.auth}")
    sock.settimeout(attempt.remaining())
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
    reader = _Reader(sock, attempt)
    status, reason, _headers = _parse_head(reader)
    reason = _scrub_reason(reason, _echo_forms([proxy.auth]))
    said = _clean(f"{status} {reason}", 80)
    if status == 407:
        needed = "were rejected" if proxy.auth else "are needed (userinfo in the proxy URL)"
        raise _Failure("auth", f"the proxy {proxy.display} answered {said}: credentials {needed}")
    if not 200 <= status < 300:
        raise _Failure(
            "refused", f"the proxy {proxy.display} would not open a tunnel to {ep.display} ({said})"
        )
    if reader.buf:
        raise _Failure("bad-response", f"the proxy {proxy.display} sent data inside the tunnel")


def _connect(
    ep: _Endpoint, attempt: _Attempt, tls: ssl.SSLContext | None, proxy: _Proxy | None
) -> socket.socket:
    if proxy is None:
        sock = _open(ep.host, ep.port, ep.display, attempt)
    else:
        sock = _open(proxy.host, proxy.port, f"the proxy {proxy.display}", attempt)
    attempt.where = ep.display
    if ep.scheme != "https":
        return sock
    assert tls is not None
    try:
        if proxy is not None:
            _tunnel(sock, ep, proxy, attempt)
        attempt.stage = f"TLS handshake with {ep.display}"
        sock.settimeout(attempt.remaining())
        sock = tls.wrap_socket(sock, server_hostname=ep.host)
    except socket.timeout:
        sock.close()
        raise _Deadline() from None
    except BaseException:
        sock.close()
        raise
    attempt.sock = sock
    return sock


def _get(
    attempt: _Attempt,
    ep: _Endpoint,
    auth: str | None,
    tls: ssl.SSLContext | None,
    want_body: bool,
    proxy: _Proxy | None = None,
) -> _Response:
    """One GET with ``Connection: close``; the body is read only when asked or on an error."""
    sock = _connect(ep, attempt, tls, proxy)
    try:
        forward = proxy is not None and ep.scheme == "http"
        target = f"http://{ep.host_header}{ep.target}" if forward else ep.target
        lines = [
            f"GET {target} HTTP/1.1",
            f"Host: {ep.host_header}",
            f"User-Agent: {USER_AGENT}",
            "Accept: text/html",
            "Accept-Encoding: gzip, identity",
            "Connection: close",
        ]
        if auth:
            lines.append(f"Authorization: {auth}")
        if forward and proxy is not None and proxy.auth:
            lines.append(f"Proxy-Authorization: {proxy.auth}")
        attempt.stage = f"sending the request to {ep.display}"
        sock.settimeout(attempt.remaining())
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
        attempt.stage = f"waiting for the response headers from {ep.display}"
        reader = _Reader(sock, attempt)
        while True:
            status, reason, headers = _parse_head(reader)
            if not 100 <= status < 200:
                break
        # a server may echo the credentials back (reason phrase, error page): they must not
        # reach a message, not even cut short
        echoes = _echo_forms([auth, proxy.auth if proxy is not None else None])
        reason = _scrub_reason(reason, echoes)
        if status in (204, 304) or not ((want_body and status < 300) or status >= 400):
            return _Response(status, reason, headers, b"", False)
        lenient = status >= 400
        limit = MAX_ERROR_BODY if lenient else MAX_BODY
        if lenient:
            reader.until = time.monotonic() + ERROR_BODY_SECONDS
        attempt.stage = f"reading the response body from {ep.display}"
        try:
            body, too_large = _read_body(reader, headers, limit)
        except (_Failure, _Deadline, OSError):
            if not lenient or attempt.cancelled:
                raise
            body, too_large = reader.buf[:limit], False  # an error page only adds detail
        if lenient:
            body = _scrub(body, echoes)
        return _Response(status, reason, headers, body, too_large)
    finally:
        attempt.sock = None
        sock.close()


def _read_body(reader: _Reader, headers: Mapping[str, str], limit: int) -> tuple[bytes, bool]:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body, too_large = _read_chunked(reader, limit)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"].split(",")[0].strip())
        except ValueError:
            raise _Failure("bad-response", "the response has an invalid Content-Length") from None
        if length < 0:
            raise _Failure("bad-response", "the response has an invalid Content-Length")
        if length > limit:
            return reader.read(limit), True
        body = reader.read(length)
        if len(body) < length:
            raise _Failure(
                "bad-response",
                f"the body is truncated: the connection closed after {len(body)} of {length} bytes",
            )
        too_large = False
    else:
        body, too_large = reader.read_to_eof(limit)
    if too_large:
        return body, True
    return _decode_content(body, headers.get("content-encoding", ""), limit)


def _get_following(
    attempt: _Attempt,
    url: str,
    auth: str | None,
    tls: ssl.SSLContext | None,
    want_body: bool,
    environ: Mapping[str, str],
) -> _Response:
    """GET, following at most MAX_REDIRECTS redirects, and only within the same origin."""
    from urllib.parse import urljoin

    ep = _endpoint(url)
    for _ in range(MAX_REDIRECTS + 1):
        resp = _get(attempt, ep, auth, tls, want_body, _select_proxy(ep, environ))
        if resp.status not in (301, 302, 303, 307, 308):
            return resp
        location = resp.headers.get("location", "")
        if not location:
            raise _Failure(
                "bad-response", f"the {attempt.what} answered {resp.status} without a Location"
            )
        url = urljoin(url, location)
        try:
            if urls._describe_bad_char(url):
                raise ValueError(url)
            new = _endpoint(urls.split_credentials(url)[0])
        except ValueError:
            raise _Failure(
                "redirect", f"the {attempt.what} redirects ({resp.status}) to an invalid URL"
            ) from None
        if new.origin != ep.origin:
            raise _Failure(
                "redirect",
                f"the {attempt.what} redirects ({resp.status}) to another host or scheme "
                f"({new.scheme}://{new.display}); redirects are not followed off-host, "
                "use the final URL as the index URL",
            )
        ep = new
    raise _Failure("redirect", f"the {attempt.what} redirects more than {MAX_REDIRECTS} times")


def _text_of(resp: _Response) -> str:
    return resp.reason + " " + resp.body[:MAX_ERROR_BODY].decode("utf-8", "replace")


def _status_failure(resp: _Response, auth: str | None) -> _Failure:
    """Classify an unexpected answer from the Nexus status endpoint."""
    said = _clean(f"{resp.status} {resp.reason}", 80)
    if resp.status == 407:
        return _proxy_auth_failure("Nexus status endpoint", said)
    if resp.status in (401, 403):
        return _auth_failure("Nexus status endpoint", said, auth)
    if resp.status in (502, 503, 504):
        return _Failure(
            "unavailable",
            f"the Nexus status endpoint answered {said}: Nexus is starting, stopped or "
            "cannot serve reads",
        )
    return _Failure("bad-response", f"the Nexus status endpoint answered {said}")


def _proxy_auth_failure(what: str, said: str) -> _Failure:
    return _Failure(
        "auth",
        f"the {what} answered {said}: the proxy's credentials (userinfo in the proxy URL) "
        "are missing or were rejected",
    )


def _auth_failure(what: str, said: str, auth: str | None) -> _Failure:
    if auth:
        return _Failure("auth", f"the {what} answered {said}: the credentials were rejected")
    return _Failure(
        "auth",
        f"the {what} answered {said}: credentials are needed (username and password, "
        "or userinfo in the URL)",
    )


def _page_failure(resp: _Response, canary: str, auth: str | None) -> _Failure:
    """Classify an unexpected answer for the canary project page."""
    said = _clean(f"{resp.status} {resp.reason}", 120)
    text = _text_of(resp)
    subject = f"the canary project '{canary}'"
    if resp.status == 407:
        return _proxy_auth_failure(f"index page of {subject}", said)
    if resp.status in (401, 403):
        return _auth_failure(f"index page of {subject}", said, auth)
    if resp.status == 404:
        blocked = _BLOCKED.search(text)
        if blocked:
            return _Failure(
                "remote-blocked",
                f"Nexus answered 404 {_clean(blocked.group(0), 100)} for {subject}: the proxy "
                "has blocked its remote (pypi.org) and has no cached copy",
            )
        if "repository not found" in text.lower():
            return _Failure("not-found", f"Nexus answered {said}: the repository does not exist")
        return _Failure("not-found", f"the index answered {said} for {subject}")
    if resp.status == 502:
        return _Failure(
            "remote-unreachable",
            f"the index answered {said} for {subject}: the proxy cannot reach its remote "
            "and has no cached copy",
        )
    if resp.status in (503, 504):
        return _Failure(
            "unavailable", f"the index answered {said} for {subject} (offline or read-only?)"
        )
    return _Failure("bad-response", f"the index answered {said} for {subject}")


def _is_dist_of(filename: str, project: str) -> bool:
    lower = filename.lower()
    if not lower.endswith(_DIST_SUFFIXES):
        return False
    if lower.endswith(".whl"):
        return _normalize(lower.split("-", 1)[0]) == project
    normalized = _normalize(lower)
    rest = normalized[len(project) + 1 :]
    return normalized.startswith(project + "-") and rest[:1].isdigit()


def count_project_files(html: bytes, project: str) -> int:
    """Links in a PEP 503 project page whose file names are distributions of ``project``."""
    from html.parser import HTMLParser
    from urllib.parse import unquote

    hrefs: list[str] = []

    class _Links(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                hrefs.extend(value for name, value in attrs if name == "href" and value)

    parser = _Links()
    parser.feed(html.decode("utf-8", "replace"))
    parser.close()
    count = 0
    for href in hrefs:
        path = href.split("#", 1)[0].split("?", 1)[0]
        if _is_dist_of(unquote(path.rsplit("/", 1)[-1]), project):
            count += 1
    return count


def _check(
    target: Target,
    attempt: _Attempt,
    project: str,
    canary: str,
    tls: ssl.SSLContext | None,
    default_auth: str | None,
    environ: Mapping[str, str],
) -> str:
    """Probe one candidate; return the detail sentence when healthy, raise otherwise."""
    index, user, password = urls.split_credentials(target.index_url)
    auth = _basic_auth(user, password) if user is not None else default_auth
    index_origin = _endpoint(index).origin
    said_status = ""
    if target.status_url:
        status, s_user, s_password = urls.split_credentials(target.status_url)
        if s_user is not None:
            s_auth = _basic_auth(s_user, s_password)
        else:
            s_auth = auth if _endpoint(status).origin == index_origin else None
        attempt.what = "Nexus status endpoint"
        resp = _get_following(attempt, status, s_auth, tls, False, environ)
        if resp.status == 404:
            # The URL only looks like Nexus, or an ingress exposes /repository/ alone: the
            # canary page below is the stronger test, so it decides.
            said_status = "no Nexus status endpoint (404); "
        elif resp.status != 200:
            raise _status_failure(resp, s_auth)
        else:
            said_status = "Nexus status 200; "
    attempt.what = "canary page"
    page_url = urls.ensure_trailing_slash(index.split("?", 1)[0]) + project + "/"
    resp = _get_following(attempt, page_url, auth, tls, True, environ)
    if resp.status != 200:
        raise _page_failure(resp, canary, auth)
    if resp.too_large:
        raise _Failure(
            "bad-response",
            f"the page of the canary project '{canary}' is larger than {MAX_BODY // 1048576} MiB",
        )
    files = count_project_files(resp.body, project)
    if not files and b"links for" in resp.body[:4096].lower():
        # a PEP 503 project page without files: a Nexus group answers so for a project that
        # none of its members has
        raise _Failure(
            "not-found",
            f"the index page of the canary project '{canary}' lists no files of it (the "
            "project is missing, e.g. from every member of a Nexus group)",
        )
    if not files:
        raise _Failure(
            "not-an-index",
            f"the index answered 200 for the canary project '{canary}' but the page links no "
            "files of it (a login page, or not a PEP 503 simple index?)",
        )
    plural = "" if files == 1 else "s"
    proxy = _select_proxy(_endpoint(page_url), environ)
    via = f" (through the proxy {proxy.display})" if proxy else ""
    return f"{said_status}the page of the canary project '{canary}' lists {files} file{plural}{via}"


def _failure_of(error: BaseException, attempt: _Attempt, timeout: float) -> _Failure:
    ssl_module = sys.modules.get("ssl")
    where = attempt.where or "the server"
    if isinstance(error, _Failure):
        return error
    if isinstance(error, _Deadline):
        return _Failure(
            "timeout",
            f"no answer within {timeout:g} s (the {attempt.what}, {attempt.stage})",
        )
    if isinstance(error, socket.gaierror):
        return _Failure("dns", f"cannot resolve the host name of {where}: {error.strerror}")
    if isinstance(error, socket.timeout):
        return _Failure("timeout", f"{where} timed out ({attempt.stage})")
    if ssl_module is not None and isinstance(error, ssl_module.SSLCertVerificationError):
        return _Failure(
            "tls",
            f"the TLS certificate of {where} is not trusted ({error.verify_message}); "
            "give the CA certificate with ca-cert / --ca-cert",
        )
    if ssl_module is not None and isinstance(error, ssl_module.SSLError):
        return _Failure("tls", f"TLS with {where} failed ({error.reason or error})")
    if isinstance(error, ConnectionRefusedError):
        return _Failure("refused", f"{where} refused the connection (nothing listens there)")
    if isinstance(error, OSError):
        message = error.strerror or str(error) or type(error).__name__
        if attempt.stage.startswith("TLS"):
            return _Failure("tls", f"TLS handshake with {where} failed ({message})")
        if attempt.stage.startswith(("connecting", "resolving")):
            return _Failure("refused", f"cannot connect to {where} ({message})")
        return _Failure(
            "bad-response", f"the connection to {where} failed ({message}, {attempt.stage})"
        )
    return _Failure("bad-response", f"unexpected error talking to {where}: {type(error).__name__}")


def _tls_context(cafile: str | None) -> ssl.SSLContext:
    import ssl

    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ValueError) as e:
        message = getattr(e, "strerror", None) or str(e) or type(e).__name__
        raise InputError(f"cannot load the CA certificate file {cafile!r}: {message}") from None


def probe(
    targets: Sequence[Target],
    *,
    canary: str = DEFAULT_CANARY,
    timeout: float = DEFAULT_TIMEOUT,
    cafile: str | None = None,
    username: str | None = None,
    password: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[Result]:
    """Probe all targets in parallel under one total deadline of ``timeout`` seconds.

    Returns one Result per target, in input order; a target that has not finished by the
    deadline is ``timeout``. The call returns at the deadline even if a socket hangs (the
    worker threads are daemons and their sockets are shut down). Credentials in a URL's
    userinfo win over ``username``/``password``. Proxies come from ``environ`` (default
    ``os.environ``) as pip and uv take them: ``http_proxy``/``https_proxy``/``all_proxy`` and
    ``no_proxy`` (http:// proxies only). InputError for a bad canary, timeout, CA file or
    proxy setting.
    """
    project = normalize_project(canary)
    if not 0 < timeout <= MAX_TIMEOUT:  # also rejects NaN
        raise InputError(f"timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds")
    if not targets:
        return []
    urls_used = [t.index_url for t in targets] + [t.status_url or "" for t in targets]
    env: Mapping[str, str] = dict(os.environ if environ is None else environ)
    proxy_urls = [proxy_for(u, env) or "" for u in urls_used if u]
    for proxy_url in proxy_urls:
        if proxy_url:
            _parse_proxy(proxy_url)  # a bad setting is an input error, before any thread
    tls = _tls_context(cafile) if any(u.lower().startswith("https:") for u in urls_used) else None
    secrets = [password or ""]
    default_auth = _basic_auth(username, password)
    auths = [default_auth]
    for u in urls_used + proxy_urls:
        _, user, secret = urls.split_credentials(u)
        secrets.append(secret if secret is not None else user or "")
        if user is not None:
            auths.append(_basic_auth(user, secret))
    # the Basic-auth tokens too: a server may echo the Authorization header back
    secrets += [auth.split(" ", 1)[1] for auth in auths if auth]

    start = time.monotonic()
    deadline = start + timeout
    attempts = [_Attempt(deadline) for _ in targets]
    results: list[Result | None] = [None] * len(targets)
    done = threading.Condition()

    def finish(i: int, healthy: bool, reason: str, detail: str) -> None:
        shown = urls.redact(targets[i].index_url, secrets)
        latency = round((time.monotonic() - start) * 1000)
        with done:
            if results[i] is None:
                results[i] = Result(shown, healthy, reason, urls.redact(detail, secrets), latency)
                done.notify_all()

    def work(i: int) -> None:
        attempt = attempts[i]
        try:
            detail = _check(targets[i], attempt, project, canary, tls, default_auth, env)
        except BaseException as e:  # a probe never raises: every failure is a Result
            failure = _failure_of(e, attempt, timeout)
            finish(i, False, failure.reason, failure.detail)
        else:
            finish(i, True, "", detail)

    for i in range(len(targets)):
        threading.Thread(target=work, args=(i,), name=f"pipnexus-probe-{i}", daemon=True).start()
    with done:
        while any(r is None for r in results):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            done.wait(left)
    for i, attempt in enumerate(attempts):
        if results[i] is None:
            failure = _failure_of(_Deadline(), attempt, timeout)
            finish(i, False, failure.reason, failure.detail)
            attempt.abort()
    return [r for r in results if r is not None]


def _parse_timeout(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise InputError("--timeout must be a number of seconds") from None
    if not 0 < seconds <= MAX_TIMEOUT:  # also rejects NaN
        raise InputError(f"--timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds")
    return seconds


def read_password_env(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The password held by the environment variable ``name`` (``--password-env``)."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    if not gha.ENV_NAME.match(name):
        # never echo it: it may be a password given by mistake
        raise InputError("--password-env takes the NAME of an environment variable")
    password = env.get(name)
    if not password:
        raise InputError(f"the environment variable {name} (--password-env) is not set or empty")
    return password


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--index-url",
        action="append",
        default=[],
        metavar="URL",
        help="simple index URL to probe (repeatable: ordered candidates)",
    )
    parser.add_argument("--nexus-url", metavar="URL", help="Nexus base URL, e.g. http://nexus:8081")
    parser.add_argument(
        "--repository",
        metavar="NAME",
        help=f"Nexus PyPI repository (default: {DEFAULT_REPOSITORY}; with PIPNEXUS_NEXUS_URL: "
        f"PIPNEXUS_REPOSITORY, else {DEFAULT_REPOSITORY})",
    )
    parser.add_argument(
        "--canary",
        default=DEFAULT_CANARY,
        metavar="NAME",
        help=f"project whose index page must list files (default: {DEFAULT_CANARY})",
    )
    parser.add_argument(
        "--timeout",
        default=str(DEFAULT_TIMEOUT),
        metavar="SECONDS",
        help=f"one deadline for all candidates together (default: {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--ca-cert", metavar="FILE", help="CA certificate file for https")
    parser.add_argument("--username", help="username for HTTP basic auth")
    parser.add_argument(
        "--password-env",
        metavar="VAR",
        help="name of the environment variable holding the password (never on the command line)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    # "--password x" must not be taken as an abbreviation of --password-env, nor be echoed
    # by argparse as an unrecognised argument: accept it only to refuse it in run()
    parser.allow_abbrev = False
    parser.add_argument("--password", dest="password_on_cli", help=argparse.SUPPRESS)
    parser.epilog = (
        "Without --index-url/--nexus-url the candidates come from PIPNEXUS_INDEX_URL "
        "(space-separated) or PIPNEXUS_NEXUS_URL and PIPNEXUS_REPOSITORY. "
        "Exit status: 0 if a candidate is healthy, 1 if none is, 2 for bad input."
    )


def format_text(results: Sequence[Result]) -> str:
    lines = []
    for r in results:
        state = "healthy" if r.healthy else "unhealthy"
        lines.append(
            f"{state:<9}  {r.reason or '-':<18}  {r.latency_ms:>6} ms  {r.url}  {r.detail}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.password_on_cli is not None:
        raise InputError(
            "a password on the command line is refused (it shows in process lists and logs): "
            "use --password-env VAR"
        )
    timeout = _parse_timeout(args.timeout)
    password = read_password_env(args.password_env) if args.password_env is not None else None
    if args.ca_cert is not None and not os.path.isfile(args.ca_cert):
        raise InputError(f"CA certificate file {args.ca_cert!r} does not exist")
    targets = resolve_candidates(args.index_url, args.nexus_url, args.repository, os.environ)
    results = probe(
        targets,
        canary=args.canary,
        timeout=timeout,
        cafile=args.ca_cert,
        username=args.username,
        password=password,
    )
    healthy = any(r.healthy for r in results)
    if args.format == "json":
        import json

        payload = {"healthy": healthy, "candidates": [r._asdict() for r in results]}
        print(json.dumps(payload, indent=2))
    else:
        print(format_text(results))
    return 0 if healthy else 1
