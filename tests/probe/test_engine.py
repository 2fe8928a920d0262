"""The probe's fault matrix against the Nexus double and purpose-made servers.

Every probe call must return (a generous bound that only catches hangs), classify with the
expected reason code, and never raise. No test asserts speed.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipnexus import __version__, options, probe, urls
from pipnexus.errors import InputError
from pipnexus.options import Credentials
from pipnexus.probe import REASONS, Result, Target, resolve_candidates
from pipnexus.probe.engine import MIRROR_PROBE_PATH
from pipnexus.probe.proxies import proxy_for
from testbed.httpbase import HangingListener, closed_url
from testbed.nexus_double import NexusDouble
from tests import probe_helpers as ph
from tests.pythons import action_pythons

HANG_SLACK = 5.0  # seconds over the deadline that count as "returned", not "hung"
REPO = Path(__file__).resolve().parents[2]


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


@pytest.fixture
def raw() -> Iterator[list[ph.RawServer]]:
    """Collects RawServers made by a test and stops them afterwards."""
    servers: list[ph.RawServer] = []
    try:
        yield servers
    finally:
        for s in servers:
            s.stop()


def serve(raw: list[ph.RawServer], script: ph.Script, **kwargs: Any) -> ph.RawServer:
    server = ph.RawServer(script, **kwargs)
    raw.append(server)
    return server


# -- healthy ---------------------------------------------------------------------------------


def test_healthy_nexus_double(nexus: NexusDouble) -> None:
    result = one(nexus.index_url())
    assert result.healthy, result
    assert result.reason == ""
    assert "canary project 'pip'" in result.detail
    assert nexus.count("/service/rest/v1/status") == 1
    assert nexus.count("/repository/pypi-proxy/simple/pip/") == 1


def test_request_shape_and_user_agent(raw: list[ph.RawServer]) -> None:
    server = serve(
        raw, ph.routes({"/repository/pypi-proxy/simple/pip/": ph.response(200, "OK", ph.PIP_PAGE)})
    )
    result = one(server.url())
    assert result.healthy, result
    status_req, page_req = server.requests
    assert status_req.startswith(b"GET /service/rest/v1/status HTTP/1.1\r\n")
    assert page_req.startswith(b"GET /repository/pypi-proxy/simple/pip/ HTTP/1.1\r\n")
    assert f"User-Agent: pipnexus/{__version__}".encode() in page_req
    assert f"Host: 127.0.0.1:{server.port}".encode() in page_req
    assert b"Authorization" not in page_req
    head_lines = page_req.split(b"\r\n")
    assert b"Accept-Encoding: gzip, identity" in head_lines
    assert b"Connection: close" in head_lines
    assert sum(line.lower().startswith((b"host:", b"accept-encoding:")) for line in head_lines) == 2


def test_plain_simple_index_needs_no_status_endpoint(raw: list[ph.RawServer]) -> None:
    server = serve(raw, ph.routes({"/simple/pip/": ph.response(200, "OK", ph.PIP_PAGE)}))
    result = one(server.url("/simple/"))
    assert result.healthy, result
    assert [r.split(b" ")[1] for r in server.requests] == [b"/simple/pip/"]


def test_canary_name_is_normalized(raw: list[ph.RawServer]) -> None:
    page = b'<a href="typing_extensions-4.0.0-py3-none-any.whl">x</a>'
    server = serve(raw, ph.routes({"/simple/typing-extensions/": ph.response(200, "OK", page)}))
    assert one(server.url("/simple/"), canary="Typing_Extensions").healthy


def test_chunked_and_gzip_pages(raw: list[ph.RawServer]) -> None:
    import gzip

    chunked = ph.head(200, "OK", [("Transfer-Encoding", "chunked")])
    chunked += (
        b"".join(
            f"{len(part):x}\r\n".encode() + part + b"\r\n"
            for part in (ph.PIP_PAGE[:40], ph.PIP_PAGE[40:])
        )
        + b"0\r\n\r\n"
    )
    zipped = gzip.compress(ph.PIP_PAGE)
    gz = ph.response(200, "OK", zipped, [("Content-Encoding", "gzip")])
    server = serve(raw, ph.routes({"/a/simple/pip/": chunked, "/b/simple/pip/": gz}))
    assert one(server.url("/a/simple/")).healthy
    assert one(server.url("/b/simple/")).healthy


# -- Nexus double faults -----------------------------------------------------------------------


def test_repository_offline(nexus: NexusDouble) -> None:
    nexus.set_online(False)
    result = one(nexus.index_url())
    assert (result.healthy, result.reason) == (False, "unavailable")
    assert "Repository offline" in result.detail


def test_nexus_not_readable_status_503(nexus: NexusDouble) -> None:
    nexus.readable = False
    result = one(nexus.index_url())
    assert result.reason == "unavailable"
    assert "status endpoint" in result.detail


def test_read_only_cache_miss(nexus: NexusDouble) -> None:
    nexus.read_only = True
    assert one(nexus.index_url()).reason == "unavailable"


def test_remote_auto_blocked(nexus: NexusDouble) -> None:
    nexus.block_remote()
    result = one(nexus.index_url())
    assert result.reason == "remote-blocked"
    assert "Remote Auto Blocked until" in result.detail


def test_remote_manually_blocked(nexus: NexusDouble) -> None:
    nexus.set_blocked(True)
    result = one(nexus.index_url())
    assert result.reason == "remote-blocked"
    assert "Remote Manually Blocked" in result.detail


def test_remote_unreachable(nexus: NexusDouble) -> None:
    nexus.remote_unreachable = True
    assert one(nexus.index_url()).reason == "remote-unreachable"


def test_upstream_server_error_is_unavailable(nexus: NexusDouble, upstream: Any) -> None:
    upstream.fail_status = 500
    assert one(nexus.index_url()).reason == "unavailable"


def test_unknown_repository(nexus: NexusDouble) -> None:
    result = one(nexus.index_url("no-such-repo"))
    assert result.reason == "not-found"
    assert "repository does not exist" in result.detail


def test_canary_missing(nexus: NexusDouble) -> None:
    result = one(nexus.index_url(), canary="pipnexus-no-such-project")
    assert result.reason == "not-found"
    assert "pipnexus-no-such-project" in result.detail


def test_login_page(nexus: NexusDouble) -> None:
    nexus.login_page = True
    assert one(nexus.index_url()).reason == "not-an-index"


def test_nexus_hangs(nexus: NexusDouble) -> None:
    nexus.hang = True
    result = one(nexus.index_url(), timeout=1.0)
    assert result.reason == "timeout"
    assert "within 1 s" in result.detail


def test_status_endpoint_missing_lets_the_canary_decide(raw: list[ph.RawServer]) -> None:
    # a Nexus-shaped URL on a server (or ingress) without /service/rest/v1/status
    page = ph.response(200, "OK", ph.PIP_PAGE)
    server = serve(
        raw,
        ph.routes(
            {
                "/service/rest/v1/status": ph.response(404, "Not Found"),
                "/repository/pypi-proxy/simple/pip/": page,
            }
        ),
    )
    result = one(server.url())
    assert result.healthy, result
    assert "no Nexus status endpoint (404)" in result.detail
    result = one(server.url("/repository/other/simple/"))
    assert result.reason == "not-found"


@pytest.mark.parametrize(
    ("status", "expected"),
    [(503, "unavailable"), (502, "unavailable"), (401, "auth"), (500, "bad-response")],
)
def test_status_endpoint_failures(raw: list[ph.RawServer], status: int, expected: str) -> None:
    page = ph.response(200, "OK", ph.PIP_PAGE)
    server = serve(
        raw,
        ph.routes(
            {
                "/service/rest/v1/status": ph.response(status, "Whatever"),
                "/repository/pypi-proxy/simple/pip/": page,
            }
        ),
    )
    result = one(server.url())
    assert result.reason == expected
    assert "status endpoint" in result.detail


# -- credentials ---------------------------------------------------------------------------


def _with_userinfo(url: str, user: str, password: str) -> str:
    return url.replace("http://", f"http://{quote(user, safe='')}:{quote(password, safe='')}@")


def test_anonymous_disabled_needs_credentials(nexus: NexusDouble) -> None:
    nexus.anonymous_enabled = False
    result = one(nexus.index_url())
    assert result.reason == "auth"
    assert "credentials are needed" in result.detail


def test_credentials_in_url_and_as_arguments(nexus: NexusDouble) -> None:
    nexus.anonymous_enabled = False
    nexus.users["ci"] = "p@ss:w/rd%"
    in_url = _with_userinfo(nexus.index_url(), "ci", "p@ss:w/rd%")
    by_url = one(in_url)
    assert by_url.healthy, by_url
    assert by_url.url == in_url.replace(quote("p@ss:w/rd%", safe=""), "***")
    assert one(nexus.index_url(), credentials=Credentials("ci", "p@ss:w/rd%")).healthy


def test_wrong_password_never_leaks(nexus: NexusDouble) -> None:
    nexus.anonymous_enabled = False
    secret = "S3cr3t/p@ss"
    results = run_probe(
        [
            target_for(_with_userinfo(nexus.index_url(), "admin", secret)),
            target_for(nexus.index_url()),
        ],
        credentials=Credentials("admin", secret),
    )
    assert [r.reason for r in results] == ["auth", "auth"]
    assert all("rejected" in r.detail for r in results)
    text = json.dumps([r._asdict() for r in results])
    for form in (
        secret,
        quote(secret, safe=""),
        quote(secret),
        base64.b64encode(f"admin:{secret}".encode()).decode(),
    ):
        assert form not in text


def test_authenticated_without_permission(nexus: NexusDouble) -> None:
    nexus.users["ci"] = "x"
    nexus.readers = {"admin"}
    assert one(nexus.index_url(), credentials=Credentials("ci", "x")).reason == "auth"


# -- purpose-made servers: status codes and broken answers -----------------------------------


@pytest.mark.parametrize(
    ("status", "reason_phrase", "expected"),
    [
        (500, "Internal Server Error", "bad-response"),
        (502, "Bad Gateway", "remote-unreachable"),
        (503, "Service Unavailable", "unavailable"),
        (401, "Unauthorized", "auth"),
        (403, "Forbidden", "auth"),
        (404, "Not Found", "not-found"),
        (404, "Remote Auto Blocked until Fri Nov 27 14:00:00 UTC 2026", "remote-blocked"),
        (405, "Method Not Allowed", "bad-response"),
    ],
)
def test_status_codes(
    raw: list[ph.RawServer], status: int, reason_phrase: str, expected: str
) -> None:
    server = serve(raw, ph.answer(status, reason_phrase, b"<html>error</html>"))
    result = one(server.url())
    assert result.reason == expected, result
    assert str(status) in result.detail


def test_blocked_message_only_in_body(raw: list[ph.RawServer]) -> None:
    body = b"<html><div>Remote Manually Blocked</div></html>"
    server = serve(raw, ph.answer(404, "Not Found", body))
    assert one(server.url()).reason == "remote-blocked"


def test_error_body_that_trickles_does_not_cost_the_deadline(raw: list[ph.RawServer]) -> None:
    def script(server: ph.RawServer, conn: socket.socket, request: bytes) -> None:
        if b"/status" in request:
            conn.sendall(ph.response(200, "OK"))
            return
        prefix = ph.head(503, "Repository offline", [("Content-Length", "100000")])
        ph._slowly(server, conn, prefix, b" ")

    server = serve(raw, script)
    result = one(server.url(), timeout=10.0)
    assert result.reason == "unavailable"
    assert "Repository offline" in result.detail


def test_status_200_page_of_other_projects(raw: list[ph.RawServer]) -> None:
    page = (
        b'<a href="pipx-1.0-py3-none-any.whl">a</a><a href="pip_tools-7.0-py3-none-any.whl">'
        b'b</a><a href="pip-tools-7.0.tar.gz">c</a><a href="/login">sign in</a>'
    )
    server = serve(raw, ph.answer(200, "OK", page))
    assert one(server.url()).reason == "not-an-index"


def test_empty_project_page_of_a_group_is_not_found(raw: list[ph.RawServer]) -> None:
    page = b"<html><head><title>Links for pip</title></head><body><h1>Links for pip</h1></body>"
    server = serve(raw, ph.answer(200, "OK", page))
    result = one(server.url())
    assert result.reason == "not-found"
    assert "lists no files" in result.detail


@pytest.mark.parametrize(
    "raw_answer",
    [
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nContent-Len",
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n",
        b"",
    ],
    ids=[
        "not-http",
        "bad-header",
        "bad-length",
        "bad-chunk",
        "brotli",
        "bad-gzip",
        "cut-headers",
        "huge-header",
        "silent-close",
    ],
)
def test_malformed_answers(raw: list[ph.RawServer], raw_answer: bytes) -> None:
    script = ph.routes({}, default=raw_answer) if raw_answer else ph.close_at_once
    server = serve(raw, script)
    result = one(server.url("/simple/"))
    assert result.reason == "bad-response", result


def test_truncated_body(raw: list[ph.RawServer]) -> None:
    server = serve(raw, ph.truncated)
    result = one(server.url())
    assert result.reason == "bad-response"
    assert "truncated" in result.detail


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_body_far_larger_than_an_index_page(raw: list[ph.RawServer], framing: str) -> None:
    server = serve(raw, ph.endless_body(framing))
    result = one(server.url(), timeout=10.0)
    assert result.reason == "bad-response", result
    assert "larger than 2 MiB" in result.detail


# -- network-level faults ----------------------------------------------------------------------


def test_connection_refused() -> None:
    result = one(closed_url() + "/repository/pypi-proxy/simple/")
    assert result.reason == "refused"


def test_name_that_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    # A real lookup of a .invalid name would reach this machine's (non-loopback) DNS server,
    # so the resolver is replaced for that name only: no traffic leaves the machine.
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host).endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    result = one("http://nexus.pipnexus-test.invalid:8081/repository/pypi-proxy/simple/")
    assert result.reason == "dns"
    assert "nexus.pipnexus-test.invalid" in result.detail


def test_listener_that_never_answers(hanging_listener: HangingListener) -> None:
    result = one(hanging_listener.url + "/repository/pypi-proxy/simple/", timeout=1.0)
    assert result.reason == "timeout"
    assert "waiting for the response headers" in result.detail


def test_listener_that_never_accepts() -> None:
    # backlog 0 and nobody calling accept(): once the queue is full, new connections stall
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind((ph.HOST, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(4):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            filler.connect_ex((ph.HOST, port))
            fillers.append(filler)
        result = one(f"http://{ph.HOST}:{port}/simple/", timeout=1.0)
        assert result.reason == "timeout"
    finally:
        for s in fillers:
            s.close()
        listener.close()


def test_headers_trickle(raw: list[ph.RawServer]) -> None:
    server = serve(raw, ph.trickle_headers)
    result = one(server.url("/simple/"), timeout=1.5)
    assert result.reason == "timeout"


def test_body_trickles(raw: list[ph.RawServer]) -> None:
    server = serve(raw, ph.trickle_body)
    result = one(server.url(), timeout=1.5)
    assert result.reason == "timeout"
    assert "reading the response body" in result.detail


# -- redirects ----------------------------------------------------------------------------------


def test_redirect_to_another_host_is_not_followed(raw: list[ph.RawServer]) -> None:
    other = serve(raw, ph.answer(200, "OK", ph.PIP_PAGE), host="127.0.0.2")
    location = f"http://127.0.0.2:{other.port}/simple/pip/"
    server = serve(raw, ph.answer(302, "Found", headers=[("Location", location)]))
    result = one(server.url())
    assert result.reason == "redirect"
    assert "127.0.0.2" in result.detail
    assert other.requests == []


def test_redirect_to_https_on_same_host_is_not_followed(raw: list[ph.RawServer]) -> None:
    server = serve(raw, ph.answer(301, "Moved", headers=[("Location", "https://127.0.0.1/x/")]))
    assert one(server.url()).reason == "redirect"


def test_same_host_redirect_is_followed(raw: list[ph.RawServer]) -> None:
    server = serve(
        raw,
        ph.routes(
            {
                "/simple/pip/": ph.response(
                    301, "Moved", headers=[("Location", "/real/simple/pip/")]
                ),
                "/real/simple/pip/": ph.response(200, "OK", ph.PIP_PAGE),
            }
        ),
    )
    assert one(server.url("/simple/")).healthy


def test_redirect_loop(raw: list[ph.RawServer]) -> None:
    server = serve(raw, ph.answer(302, "Found", headers=[("Location", "/simple/pip/")]))
    result = one(server.url("/simple/"))
    assert result.reason == "redirect"
    assert "more than" in result.detail


# -- TLS --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> ph.Cert:
    made = ph.self_signed_cert(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("the openssl CLI is not available to make a self-signed certificate")
    return made


def test_tls_self_signed_is_rejected(raw: list[ph.RawServer], cert: ph.Cert) -> None:
    server = serve(raw, ph.answer(200, "OK", ph.PIP_PAGE), tls=ph.server_context(cert))
    result = one(server.url())
    assert result.reason == "tls"
    assert "not trusted" in result.detail
    assert len(server.requests) == 0


def test_tls_with_private_ca_is_healthy(raw: list[ph.RawServer], cert: ph.Cert) -> None:
    server = serve(raw, ph.answer(200, "OK", ph.PIP_PAGE), tls=ph.server_context(cert))
    result = one(server.url(), cafile=str(cert.cert))
    assert result.healthy, result


@pytest.mark.parametrize(
    "script",
    [ph.answer(200, "OK", ph.PIP_PAGE), ph.close_at_once],
    ids=["plain-http-answer", "close-on-hello"],
)
def test_tls_handshake_failure(raw: list[ph.RawServer], script: ph.Script) -> None:
    # the server does not wait for a request: it answers plain HTTP (or hangs up) at once
    server = serve(raw, script, read_request=False)
    result = one(server.url().replace("http://", "https://"))
    assert result.reason == "tls", result
    assert "TLS" in result.detail


# -- http/https mix-ups (classify.scheme_mixup) ------------------------------------------------


@pytest.fixture
def plain_http_server() -> Iterator[str]:
    """The standard library's http.server on loopback, plain HTTP only, answering every GET with
    a plain 404 (like an ingress in front of something else); its ``host:port``."""
    import http.server

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404, "Not Found")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_scheme_mixup_https_to_a_plain_http_server(plain_http_server: str) -> None:
    result = one(f"https://ci:pw@{plain_http_server}/repository/pypi-proxy/simple/")
    assert result.reason == "tls", result
    assert result.detail.endswith(f"the server speaks plain HTTP: use http://{plain_http_server}")
    assert "pw" not in result.detail and "ci:" not in result.detail


def test_scheme_mixup_keeps_the_port_it_was_reached_on() -> None:
    from pipnexus.probe.classify import scheme_mixup

    tls_alert = http.client.BadStatusLine("\x15\x03\x03\x00\x02\x02\n")
    assert scheme_mixup("http://u:s3cret@nexus.example/simple/", tls_alert) == (
        "the server speaks TLS: use https://nexus.example:80"
    )
    go = b"Bad Request Client sent an HTTP request to an HTTPS server.\n"
    assert scheme_mixup("http://nexus.example:8443/", go) == (
        "the server speaks TLS: use https://nexus.example:8443"
    )
    # OpenSSL 3.2+ as a CPython built with older headers reports it: no reason name, the text
    # only (cherrypy/cherrypy#2026: "[SSL] record layer failure (_ssl.c:1033)")
    import ssl

    record_layer = ssl.SSLError(1, "[SSL] record layer failure (_ssl.c:1033)")
    record_layer.reason = None  # type: ignore[assignment]  # as _ssl sets it for an unnamed code
    assert scheme_mixup("https://nexus.example/simple/", record_layer) == (
        "the server speaks plain HTTP: use http://nexus.example:443"
    )
    assert scheme_mixup("https://nexus.example/", ssl.SSLError(1, "[SSL] bad signature")) is None
    # the same problems with the scheme that fits them are no mix-up
    assert scheme_mixup("https://nexus.example/", tls_alert) is None
    assert scheme_mixup("http://nexus.example/", b"400 Bad Request") is None
    assert scheme_mixup("http://nexus.example/", ConnectionResetError()) is None


# JDK 17's SSLServerSocket (JSSE, which Jetty and so Nexus use for TLS) answers a plain-HTTP
# request with this fatal unexpected_message alert record, then closes: recorded from
# `SSLServerSocket.accept().startHandshake()` against http.client, which raises BadStatusLine
_JSSE_ALERT = b"\x15\x03\x03\x00\x02\x02\n"


@pytest.mark.parametrize(
    "answer",
    [
        _JSSE_ALERT,
        _JSSE_ALERT[:-1] + b"P",  # another alert (80, internal_error): no line end at all
        ph.response(400, "Bad Request", b"Client sent an HTTP request to an HTTPS server.\n"),
        ph.response(
            400, "Bad Request",
            b"<html><head><title>400 The plain HTTP request was sent to HTTPS port</title>"
            b"</head></html>",
        ),
    ],
    ids=["jsse-alert", "alert-without-newline", "go-net-http", "nginx"],
)
def test_scheme_mixup_http_to_a_tls_port(raw: list[ph.RawServer], answer: bytes) -> None:
    def script(server: ph.RawServer, conn: socket.socket, request: bytes) -> None:
        conn.sendall(answer)

    server = serve(raw, script)
    result = one(server.url())
    assert result.reason == "bad-response", result
    assert result.detail.endswith(f"the server speaks TLS: use https://127.0.0.1:{server.port}")


_JSSE_SERVER = """\
import java.io.FileInputStream;
import java.security.KeyStore;
import javax.net.ssl.*;

public class TlsPort {
    public static void main(String[] args) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(new FileInputStream(args[0]), "changeit".toCharArray());
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("SunX509");
        kmf.init(ks, "changeit".toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        SSLServerSocket server = (SSLServerSocket) ctx.getServerSocketFactory()
            .createServerSocket(0, 16, java.net.InetAddress.getByName("127.0.0.1"));
        System.out.println(server.getLocalPort());
        System.out.flush();
        while (true) {
            SSLSocket s = (SSLSocket) server.accept();
            try { s.startHandshake(); } catch (Exception e) { } finally { s.close(); }
        }
    }
}
"""


def test_scheme_mixup_http_to_a_real_jsse_tls_port(tmp_path: Path) -> None:
    # Java's TLS (JSSE) is what Jetty, and so Nexus, serves TLS with
    java, keytool = shutil.which("java"), shutil.which("keytool")
    if java is None or keytool is None:
        pytest.skip("no java/keytool to run a JSSE TLS server")
    store = tmp_path / "ks.p12"
    subprocess.run(
        [keytool, "-genkeypair", "-alias", "t", "-keyalg", "RSA", "-keystore", str(store),
         "-storetype", "PKCS12", "-storepass", "changeit", "-dname", "CN=localhost",
         "-validity", "2"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    source = tmp_path / "TlsPort.java"
    source.write_text(_JSSE_SERVER)
    proc = subprocess.Popen(
        [java, str(source), str(store)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        import select

        ready, _, _ = select.select([proc.stdout], [], [], 60)  # compiling takes a few seconds
        assert ready, "the JSSE server did not start"
        port = int(proc.stdout.readline())
        result = one(f"http://127.0.0.1:{port}/repository/pypi-proxy/simple/", timeout=5.0)
    finally:
        proc.kill()
        proc.wait(10)
    assert result.reason == "bad-response", result
    assert result.detail.endswith(f"the server speaks TLS: use https://127.0.0.1:{port}")


def test_scheme_mixup_not_claimed_for_a_tls_server_that_just_hangs_up(
    raw: list[ph.RawServer], cert: ph.Cert
) -> None:
    # an OpenSSL server (Python's ssl here) closes on a plain-HTTP request without a word:
    # nothing tells it from any other server that hangs up, so no hint is given
    server = serve(raw, ph.answer(200, "OK", ph.PIP_PAGE), tls=ph.server_context(cert))
    result = one(server.url().replace("https://", "http://"))
    assert not result.healthy
    assert "speaks TLS" not in result.detail, result


def test_unreadable_ca_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="CA certificate"):
        probe.probe([target_for("https://127.0.0.1:1/simple/")], cafile=str(tmp_path / "no.pem"))


# -- the deadline ----------------------------------------------------------------------------


def test_dead_candidates_cost_one_deadline_not_the_sum(
    hanging_listener: HangingListener, raw: list[ph.RawServer]
) -> None:
    slow = serve(raw, ph.trickle_headers)
    targets = [target_for(hanging_listener.url + "/repository/pypi-proxy/simple/")] * 6
    targets += [target_for(slow.url("/simple/"))] * 2
    start = time.monotonic()
    results = probe.probe(targets, timeout=1.0)
    elapsed = time.monotonic() - start
    # sequential probing would take 8 s; 4 s is a generous bound for "together"
    assert elapsed < 4.0, elapsed
    assert [r.reason for r in results] == ["timeout"] * 8


def test_result_order_is_input_order(nexus: NexusDouble, hanging_listener: HangingListener) -> None:
    targets = [
        target_for(hanging_listener.url + "/simple/"),
        target_for(closed_url() + "/simple/"),
        target_for(nexus.index_url()),
    ]
    results = run_probe(targets, timeout=1.0)
    assert [r.reason for r in results] == ["timeout", "refused", ""]
    assert results[2].healthy
    assert results[0].latency_ms >= results[1].latency_ms


# -- input handling ---------------------------------------------------------------------------


def test_bad_canary_and_timeout_are_input_errors() -> None:
    with pytest.raises(InputError):
        probe.probe([], canary="not a name")
    for bad in (0.0, -1.0, float("nan"), 10_000.0):
        with pytest.raises(InputError):
            probe.probe([], timeout=bad)


@pytest.mark.parametrize("name", ["p\u0131p", "\u017fix", "\u212aeras", "-pip", "pip.", "a" * 201])
def test_canary_must_be_an_ascii_project_name(name: str) -> None:
    # "\u0131", "\u017f" and the Kelvin sign match [a-z] under re.IGNORECASE
    assert not options.is_project_name(name)
    with pytest.raises(InputError, match="canary project name is invalid"):
        probe.probe([], canary=name)


def test_no_targets() -> None:
    assert probe.probe([]) == []


def _texts(target: Target) -> tuple[str, str | None]:
    return target.index.text, target.status.text if target.status is not None else None


def test_target_for() -> None:
    assert _texts(target_for("http://h:8081/repository/pypi-proxy/simple/")) == (
        "http://h:8081/repository/pypi-proxy/simple/", "http://h:8081/service/rest/v1/status"
    )
    assert _texts(target_for("https://h/nexus/repository/x/simple"))[1] == (
        "https://h/nexus/service/rest/v1/status"
    )
    assert target_for("https://pypi.org/simple/").status is None


def test_resolve_candidates_precedence() -> None:
    env = {
        "PIPNEXUS_INDEX_URL": "http://e1/simple/ http://e2/simple/",
        "PIPNEXUS_NEXUS_URL": "http://envnexus:8081",
        "PIPNEXUS_REPOSITORY": "env-repo",
    }

    def resolved(*args: Any) -> list[tuple[str, str | None]]:
        candidates = resolve_candidates(*args)
        assert candidates.notes == []
        return [_texts(t) for t in candidates.targets]

    explicit = resolved(["http://a/simple/", "", "http://b/simple/"], "http://n:8081", "r", env)
    assert [index for index, _ in explicit] == ["http://a/simple/", "http://b/simple/"]
    by_nexus = resolved([], "http://n:8081/", None, env)
    assert by_nexus == [
        ("http://n:8081/repository/pypi-proxy/simple/", "http://n:8081/service/rest/v1/status")
    ]
    assert resolved([], "http://n:8081", "mine", env)[0][0].endswith("/repository/mine/simple/")
    assert [index for index, _ in resolved([], None, None, env)] == [
        "http://e1/simple/",
        "http://e2/simple/",
    ]
    env_nexus = {k: v for k, v in env.items() if k != "PIPNEXUS_INDEX_URL"}
    assert resolved([], "", "", env_nexus) == [
        (
            "http://envnexus:8081/repository/env-repo/simple/",
            "http://envnexus:8081/service/rest/v1/status",
        )
    ]
    assert resolved([], None, "cli-repo", env_nexus)[0][0].endswith(
        "/repository/cli-repo/simple/"
    )
    no_repo = {"PIPNEXUS_NEXUS_URL": "http://envnexus:8081", "PIPNEXUS_INDEX_URL": "  "}
    assert resolved([], None, None, no_repo)[0][0].endswith("/repository/pypi-proxy/simple/")
    with pytest.raises(InputError, match="no package index"):
        resolve_candidates([], None, None, {"PIPNEXUS_INDEX_URL": " ", "PIPNEXUS_NEXUS_URL": ""})


WHOLE = "http://nexus3.ops.svc:8081/repository/pip-cache/simple"


@pytest.mark.parametrize(
    ("nexus_url", "repository", "env", "what"),
    [
        (WHOLE, None, {}, "--nexus-url"),
        (WHOLE + "/", "pip-cache", {}, "--nexus-url"),
        (None, None, {"PIPNEXUS_NEXUS_URL": WHOLE}, "PIPNEXUS_NEXUS_URL"),
        (None, None, {"PIPNEXUS_NEXUS_URL": WHOLE, "PIPNEXUS_REPOSITORY": "pip-cache"},
         "PIPNEXUS_NEXUS_URL"),
        ("https://h/nexus/repository/pip-cache/simple/", None, {}, "--nexus-url"),
    ],
)
def test_nexus_url_that_is_a_whole_index_url(
    nexus_url: str | None, repository: str | None, env: dict[str, str], what: str
) -> None:
    # never the doubled path .../simple/repository/pypi-proxy/simple/
    candidates = resolve_candidates([], nexus_url, repository, env)
    (target,) = candidates.targets
    given = nexus_url or env["PIPNEXUS_NEXUS_URL"]
    assert target.index.text == given
    assert target.status is not None
    assert target.status.text == given.split("/repository/")[0] + "/service/rest/v1/status"
    (note,) = candidates.notes
    assert note.startswith(f"{what} is a whole index URL: using it as the index URL")
    assert "--repository pip-cache" in note and "/simple" not in note.split("(", 1)[1]


@pytest.mark.parametrize(
    ("nexus_url", "repository", "env", "fix"),
    [
        (WHOLE, "pypi-proxy", {}, "--nexus-url http://nexus3.ops.svc:8081 --repository pypi-proxy"),
        (None, None, {"PIPNEXUS_NEXUS_URL": WHOLE, "PIPNEXUS_REPOSITORY": "pypi-proxy"},
         "PIPNEXUS_NEXUS_URL=http://nexus3.ops.svc:8081"),
        (None, "other", {"PIPNEXUS_NEXUS_URL": WHOLE}, "PIPNEXUS_NEXUS_URL=http://nexus3"),
    ],
)
def test_nexus_url_of_another_repository_is_an_input_error(
    nexus_url: str | None, repository: str | None, env: dict[str, str], fix: str
) -> None:
    with pytest.raises(InputError) as info:
        resolve_candidates([], nexus_url, repository, env)
    message = str(info.value)
    assert "'pip-cache'" in message and fix in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "nexus_url",
    [
        "http://nexus3.ops.svc:8081/repository/pip-cache",
        "http://nexus3.ops.svc:8081/repository/pip-cache/",
        "http://nexus3.ops.svc:8081/repository/pip-cache/simple/pip/",
    ],
)
def test_nexus_url_inside_a_repository_is_an_input_error(nexus_url: str) -> None:
    with pytest.raises(InputError) as info:
        resolve_candidates([], nexus_url, None, {})
    assert "--nexus-url http://nexus3.ops.svc:8081 --repository pip-cache" in str(info.value)


def test_whole_index_note_hides_the_password() -> None:
    url = "http://ci:s3cret@nexus:8081/repository/pip-cache/simple/"
    candidates = resolve_candidates([], url, None, {})
    assert "s3cret" not in candidates.notes[0]
    assert candidates.targets[0].index.password == "s3cret"
    with pytest.raises(InputError) as info:
        resolve_candidates([], url, "pypi-proxy", {})
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize(
    ("index_urls", "nexus_url", "repository", "env"),
    [
        (["http://a/simple/\nLD_PRELOAD=/x"], None, None, {}),
        ([], "javascript:alert(1)", None, {}),
        ([], "http://n:8081", "../etc", {}),
        ([], None, None, {"PIPNEXUS_INDEX_URL": "http://a/simple/ LD_PRELOAD=/tmp/x"}),
        ([], None, None, {"PIPNEXUS_NEXUS_URL": "file:///etc/passwd"}),
        ([], None, None, {"PIPNEXUS_NEXUS_URL": "http://n", "PIPNEXUS_REPOSITORY": "a b"}),
        ([f"http://h{i}/simple/" for i in range(17)], None, None, {}),
    ],
)
def test_resolve_candidates_rejects(
    index_urls: list[str], nexus_url: str | None, repository: str | None, env: dict[str, str]
) -> None:
    with pytest.raises(InputError) as info:
        resolve_candidates(index_urls, nexus_url, repository, env)
    assert "\n" not in str(info.value)


def test_count_project_files() -> None:
    page = (
        b'<a href="../../packages/pip/24.0/pip-24.0-py3-none-any.whl#sha256=1">x</a>'
        b'<a href="https://files.example/pip-23.0.tar.gz?x=1">y</a>'
        b'<a href="pip-1.0.zip">z</a><a>no href</a><a href="pip-1.0.exe">exe</a>'
        b'<a href="pipx-1.0-py3-none-any.whl">pipx</a><a href="pip-tools-1.0.tar.gz">t</a>'
    )
    assert probe.count_project_files(page, "pip") == 3
    assert probe.count_project_files(b"<html>Sign in</html>", "pip") == 0
    assert probe.count_project_files(b'<a href="Foo.Bar-1.0.tar.gz">', "foo-bar") == 1


@pytest.mark.parametrize(
    ("html", "hrefs"),
    [
        (b'<a href="pip-1.0.whl#sha256=1">', ["pip-1.0.whl#sha256=1"]),
        (b"<a href='pip-1.0.zip?x=1'>", ["pip-1.0.zip?x=1"]),
        (b"<a href=pip-1.0.zip>", ["pip-1.0.zip"]),
        (b'<A HREF="Q">', ["Q"]),
        (b'<a class="c" href = "r&amp;s&lt;&gt;&quot;&#65;&#x42;t">', ['r&s<>"ABt']),
        (b"<a href=u&amp;v>", ["u&v"]),
        (b'<a href="a&unknown;b">', ["a&unknown;b"]),
        (b'<a data-href="no" href="yes">', ["yes"]),
        (b'<a title=" href=no" href="yes">', ["yes"]),
        (b'<a title="a>b" href="tricky">', ["tricky"]),
        (b'<a title="x"href="glued">', ["glued"]),
        (b'<a\nhref="nl">', ["nl"]),
        (b'<abbr href="no"><a>none</a><a href="">', []),
        (b'<a href="p"><a href="q">', ["p", "q"]),
    ],
)
def test_page_links_as_html_parser_reads_them(html: bytes, hrefs: list[str]) -> None:
    from html.parser import HTMLParser

    from pipnexus.probe.page import hrefs as page_hrefs

    found: list[str] = []

    class Links(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                found.extend(value for name, value in attrs if name == "href" and value)

    parser = Links()
    parser.feed(html.decode())
    parser.close()
    assert found == hrefs  # the reference reading
    assert page_hrefs(html.decode()) == hrefs


def test_count_project_files_entities_and_suffixes() -> None:
    page = (
        b'<a href="../../packages/a&amp;b/1.0/pip-1.0.tar.gz#sha256=1">1</a>'
        b"<a href=pip-2.0-py3-none-any.whl?x=1&amp;y=2>2</a>"
        b'<a href="pip&#45;3.0.zip">3</a><a href="pip&#x2D;4.0.tar.bz2">4</a>'
        b'<a href="pip%2D5.0.tgz">5</a><a title="pip-9.0.zip" href="other-1.0.zip">no</a>'
    )
    assert probe.count_project_files(page, "pip") == 5


# -- the command, as the action runs it -----------------------------------------------------


def run_cli(
    *args: str,
    python: str = sys.executable,
    env_extra: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIPNEXUS_", "PYTHON")) and not k.lower().endswith("_proxy")
    }
    env["PYTHONPATH"] = str(REPO)
    env.update(env_extra or {})
    proc = subprocess.run(
        [python, "-S", "-m", "pipnexus", "probe", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=str(REPO),
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.mark.parametrize("python", action_pythons())
def test_cli_healthy_and_unhealthy(python: str, nexus: NexusDouble) -> None:
    proc = run_cli("--index-url", nexus.index_url(), "--format", "json", python=python)
    assert proc.returncode == 0, proc.stderr
    decision = json.loads(proc.stdout)
    assert decision["healthy"] is True
    assert decision["candidates"][0]["url"] == nexus.index_url()

    nexus.set_online(False)
    proc = run_cli("--nexus-url", nexus.base_url, python=python)
    assert proc.returncode == 1
    (line,) = proc.stdout.splitlines()
    assert line.startswith("unhealthy") and "unavailable" in line and " ms " in line


@pytest.mark.parametrize("python", action_pythons())
def test_cli_reads_the_environment(python: str, nexus: NexusDouble) -> None:
    proc = run_cli(
        python=python,
        env_extra={"PIPNEXUS_NEXUS_URL": nexus.base_url, "PIPNEXUS_REPOSITORY": "pypi-proxy"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("healthy")


def test_cli_returns_at_the_deadline_when_a_socket_hangs(hanging_listener: HangingListener) -> None:
    start = time.monotonic()
    proc = run_cli("--index-url", hanging_listener.url + "/simple/", "--timeout", "1")
    assert time.monotonic() - start < 1 + HANG_SLACK + 5  # + interpreter start-up
    assert proc.returncode == 1
    assert "timeout" in proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--index-url", "http://h/simple/\r\nX=1"],
        ["--index-url", "file:///etc/passwd"],
        ["--index-url", "http://h/" + "a" * 120_000],  # near the kernel's limit per argument
        ["--nexus-url", "http://h:99999"],
        ["--nexus-url", "http://h", "--repository", "bad name"],
        ["--index-url", "http://h/simple/", "--timeout", "0"],
        ["--index-url", "http://h/simple/", "--timeout", "soon"],
        ["--index-url", "http://h/simple/", "--canary", "not valid!"],
        ["--index-url", "http://h/simple/", "--password-env", "PIPNEXUS_TEST_UNSET_VAR"],
        ["--index-url", "https://h/simple/", "--ca-cert", "/nonexistent/ca.pem"],
        ["--index-url", "http://h/simple/", "--password", "hunter2"],
        [],
    ],
    ids=[
        "crlf",
        "file",
        "megabyte",
        "port",
        "repo",
        "timeout0",
        "timeout-nan",
        "canary",
        "password-env",
        "ca-cert",
        "password-on-cli",
        "nothing",
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args: list[str]) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert lines and "error" in lines[-1]
    assert "hunter2" not in proc.stderr
    assert len(lines) == 1, proc.stderr


def test_cli_password_from_env_never_printed(nexus: NexusDouble) -> None:
    nexus.anonymous_enabled = False
    nexus.users["ci"] = "t0p/s3cret@"
    secret = "t0p/s3cret@"
    ok = run_cli(
        "--nexus-url",
        nexus.base_url,
        "--username",
        "ci",
        "--password-env",
        "PNX_PW",
        "--format",
        "json",
        env_extra={"PNX_PW": secret},
    )
    assert ok.returncode == 0, ok.stdout
    bad = run_cli(
        "--index-url", _with_userinfo(nexus.index_url(), "ci", secret + "x"), env_extra={}
    )
    assert bad.returncode == 1
    assert "auth" in bad.stdout
    for proc in (ok, bad):
        for form in (secret, quote(secret, safe=""), quote(secret + "x", safe="")):
            assert form not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (ph.trickle_headers, "timeout"),
        (ph.trickle_body, "timeout"),
        (ph.truncated, "bad-response"),
        (ph.endless_body("close"), "bad-response"),
        (ph.answer(302, "Found", headers=[("Location", "http://127.0.0.2:1/")]), "redirect"),
        (ph.answer(200, "OK", b"<html><form>Sign in</form></html>"), "not-an-index"),
    ],
    ids=["trickle-headers", "trickle-body", "truncated", "huge", "redirect", "login"],
)
@pytest.mark.parametrize("python", action_pythons())
def test_cli_fault_matrix(
    raw: list[ph.RawServer], script: ph.Script, expected: str, python: str
) -> None:
    server = serve(raw, script)
    start = time.monotonic()
    proc = run_cli(
        "--index-url", server.url(), "--timeout", "1.5", "--format", "json", python=python
    )
    assert time.monotonic() - start < 1.5 + HANG_SLACK + 5  # + interpreter start-up
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr == ""
    (candidate,) = json.loads(proc.stdout)["candidates"]
    assert candidate["reason"] == expected


# -- proxies from the environment, as pip and uv use them ----------------------------------


def test_http_through_proxy(nexus: NexusDouble, raw: list[ph.RawServer]) -> None:
    proxy = serve(raw, ph.forward_proxy())
    env = {"HTTP_PROXY": f"http://{ph.HOST}:{proxy.port}", "NO_PROXY": "example.com"}
    result = one(nexus.index_url(), environ=env)
    assert result.healthy, result
    assert f"through the proxy {ph.HOST}:{proxy.port}" in result.detail
    lines = [r.split(b"\r\n", 1)[0] for r in proxy.requests]
    assert lines == [
        f"GET {nexus.base_url}/service/rest/v1/status HTTP/1.1".encode(),
        f"GET {nexus.index_url()}pip/ HTTP/1.1".encode(),
    ]


def test_no_proxy_bypasses_the_proxy(nexus: NexusDouble, raw: list[ph.RawServer]) -> None:
    proxy = serve(raw, ph.forward_proxy())
    env = {"http_proxy": proxy.base_url, "no_proxy": "localhost, 127.0.0.0/8"}
    result = one(nexus.index_url(), environ=env)
    assert result.healthy and "proxy" not in result.detail
    assert proxy.requests == []


def test_proxy_credentials(nexus: NexusDouble, raw: list[ph.RawServer]) -> None:
    auth = "Basic " + base64.b64encode(b"px:pr0xy-secret").decode()
    proxy = serve(raw, ph.forward_proxy(proxy_auth=auth))
    with_creds = {"http_proxy": f"http://px:pr0xy-secret@{ph.HOST}:{proxy.port}"}
    assert one(nexus.index_url(), environ=with_creds).healthy
    wrong = {"http_proxy": f"http://px:wr0ng-secret@{ph.HOST}:{proxy.port}"}
    result = one(nexus.index_url(), environ=wrong)
    assert result.reason == "auth"
    assert "wr0ng-secret" not in result.detail + result.url


def test_https_tunnel_through_proxy(raw: list[ph.RawServer], cert: ph.Cert) -> None:
    server = serve(raw, ph.answer(200, "OK", ph.PIP_PAGE), tls=ph.server_context(cert))
    proxy = serve(raw, ph.forward_proxy())
    env = {"HTTPS_PROXY": f"{ph.HOST}:{proxy.port}"}  # no scheme: http:// is assumed
    result = one(server.url(), cafile=str(cert.cert), environ=env)
    assert result.healthy, result
    # http.client's set_tunnel sends CONNECT as HTTP/1.0 before Python 3.12, HTTP/1.1 since
    assert proxy.requests[0].startswith(f"CONNECT {ph.HOST}:{server.port} HTTP/1.".encode())
    # with 407 from the proxy for the tunnel
    strict = serve(raw, ph.forward_proxy(proxy_auth="Basic eDp5"))
    env = {"all_proxy": strict.base_url}
    assert one(server.url(), cafile=str(cert.cert), environ=env).reason == "auth"


def test_proxy_that_refuses(nexus: NexusDouble) -> None:
    result = one(nexus.index_url(), environ={"HTTP_PROXY": closed_url()})
    assert result.reason == "refused"
    assert "the proxy" in result.detail


def test_unsupported_proxy_scheme_is_input_error(nexus: NexusDouble) -> None:
    with pytest.raises(InputError, match="socks5"):
        probe.probe([target_for(nexus.index_url())], environ={"HTTP_PROXY": "socks5://p:1080"})


@pytest.mark.parametrize(
    ("url", "env", "expected"),
    [
        ("http://h/simple/", {}, None),
        ("http://h/simple/", {"HTTP_PROXY": "http://P:1"}, "http://P:1"),
        (
            "http://h/simple/",
            {"http_proxy": "http://p:1", "HTTP_PROXY": "http://P:1"},
            "http://p:1",
        ),
        ("https://h/simple/", {"HTTP_PROXY": "http://P:1"}, None),
        ("https://h/simple/", {"ALL_PROXY": "http://A:1"}, "http://A:1"),
        ("http://h/simple/", {"http_proxy": "http://p:1", "no_proxy": "*"}, None),
        (
            "http://nexus.svc.cluster.local:8081/",
            {"http_proxy": "p:1", "no_proxy": ".svc.cluster.local"},
            None,
        ),
        ("http://nexus.svc:8081/", {"http_proxy": "p:1", "no_proxy": "svc"}, None),
        ("http://nexus.svc:8081/", {"http_proxy": "p:1", "no_proxy": "nexus.svc:8081"}, None),
        ("http://nexus.svc:8081/", {"http_proxy": "p:1", "no_proxy": "nexus.svc:9"}, "p:1"),
        ("http://notsvc:8081/", {"http_proxy": "p:1", "no_proxy": "svc"}, "p:1"),
        ("http://10.1.2.3/", {"http_proxy": "p:1", "no_proxy": "10.0.0.0/8"}, None),
        ("http://11.1.2.3/", {"http_proxy": "p:1", "no_proxy": "10.0.0.0/8,bad/cidr"}, "p:1"),
        ("http://[::1]:8081/", {"http_proxy": "p:1", "no_proxy": "::1"}, None),
    ],
)
def test_proxy_for(url: str, env: dict[str, str], expected: str | None) -> None:
    assert proxy_for(url, env) == expected


@pytest.mark.parametrize("python", action_pythons())
def test_cli_tls(python: str, raw: list[ph.RawServer], cert: ph.Cert) -> None:
    server = serve(raw, ph.answer(200, "OK", ph.PIP_PAGE), tls=ph.server_context(cert))
    untrusted = run_cli("--index-url", server.url(), python=python)
    assert untrusted.returncode == 1
    assert " tls " in untrusted.stdout
    trusted = run_cli("--index-url", server.url(), "--ca-cert", str(cert.cert), python=python)
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr


def test_worker_threads_are_daemons_and_end(hanging_listener: HangingListener) -> None:
    one(hanging_listener.url + "/simple/", timeout=0.5)
    workers = [t for t in threading.enumerate() if t.name.startswith("pipnexus-probe-")]
    assert all(t.daemon for t in workers)
    for t in workers:  # the deadline shut their sockets: they end on their own
        t.join(HANG_SLACK)
    assert not any(t.is_alive() for t in workers)


_HTTPISH = st.lists(
    st.sampled_from(
        [
            b"HTTP/1.1 200 OK\r\n",
            b"HTTP/1.0 404 Remote Auto Blocked\r\n",
            b"HTTP/1.1 301 Moved\r\nLocation: /simple/pip/\r\n",
            b"Location: http://127.0.0.2:1/\r\n",
            b"Content-Length: 10\r\n",
            b"Content-Length: -1\r\n",
            b"Transfer-Encoding: chunked\r\n",
            b"Content-Encoding: gzip\r\n",
            b"\r\n",
            b"5\r\nabcde\r\n",
            b"0\r\n\r\n",
            ph.PIP_PAGE,
            b"\x00\xff\xfe",
        ]
    )
    | st.binary(max_size=40),
    max_size=8,
)


def test_random_answers_never_raise(raw: list[ph.RawServer]) -> None:
    current = [b""]

    def script(server: ph.RawServer, conn: socket.socket, request: bytes) -> None:
        conn.sendall(current[0])

    server = serve(raw, script)

    @settings(max_examples=60, deadline=None)
    @given(parts=_HTTPISH)
    def check(parts: list[bytes]) -> None:
        current[0] = b"".join(parts)
        result = one(server.url("/simple/"), timeout=0.5)
        assert result.healthy or result.reason in REASONS

    check()


def test_cli_nexus_url_that_is_a_whole_index_url(nexus: NexusDouble) -> None:
    proc = run_cli("--nexus-url", nexus.index_url(), "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (note,) = proc.stderr.splitlines()
    assert note.startswith("pipnexus probe: note: --nexus-url is a whole index URL")
    assert f"--nexus-url {nexus.base_url} --repository pypi-proxy" in note
    (candidate,) = json.loads(proc.stdout)["candidates"]
    assert candidate["url"] == nexus.index_url()
    assert nexus.count("/repository/pypi-proxy/simple/pip/") == 1
    mismatch = run_cli("--nexus-url", nexus.index_url(), "--repository", "other")
    assert mismatch.returncode == 2 and mismatch.stdout == ""
    (line,) = mismatch.stderr.splitlines()
    assert f"--nexus-url {nexus.base_url} --repository other" in line


def test_cli_credentials_from_the_runner_environment(nexus: NexusDouble) -> None:
    nexus.anonymous_enabled = False
    nexus.users["ci"] = "runner-s3cret"
    env = {"PIPNEXUS_USERNAME": "ci", "PIPNEXUS_PASSWORD": "runner-s3cret"}
    proc = run_cli("--index-url", nexus.index_url(), env_extra=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "runner-s3cret" not in proc.stdout + proc.stderr


def test_cgi_ignores_the_upper_case_http_proxy() -> None:
    # urllib.request.getproxies_environment: HTTP_PROXY may come from a request header
    cgi = {"REQUEST_METHOD": "GET", "HTTP_PROXY": "http://P:1"}
    assert proxy_for("http://h/simple/", cgi) is None
    assert proxy_for("http://h/simple/", {**cgi, "http_proxy": "http://p:1"}) == "http://p:1"
    # an empty lower-case variable unsets the upper-case one
    assert proxy_for("http://h/simple/", {"HTTP_PROXY": "http://P:1", "http_proxy": ""}) is None


@pytest.mark.parametrize("python", action_pythons())
def test_urllib_request_is_imported_only_for_a_proxy_list(
    python: str, raw: list[ph.RawServer]
) -> None:
    # start-up of the action: urllib.request is slow to import and rarely needed
    server = serve(raw, ph.answer(200, "OK", ph.PIP_PAGE))
    code = (
        "import sys; from pipnexus import probe, urls; "
        "t = probe.target_for(urls.parse_url(sys.argv[1])); "
        "env = dict(a.split('=', 1) for a in sys.argv[2:]); "
        "r = probe.probe([t], timeout=5, environ=env); "
        "print(r[0].healthy, 'urllib.request' in sys.modules)"
    )
    env = {"PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", "")}

    def imported(*variables: str) -> str:
        proc = subprocess.run(
            [python, "-S", "-c", code, server.url(), *variables],
            capture_output=True, text=True, env=env, timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    assert imported() == "True False"
    assert imported("no_proxy=example.com") == "True False"
    assert imported("http_proxy=http://127.0.0.1:1", "no_proxy=127.0.0.1") == "True True"


# -- uv's interpreter mirror (a raw proxy's root) -------------------------------------------------


def mirror(url: str) -> Target:
    return probe.mirror_target(urls.parse_url(url))


def test_mirror_target_has_the_status_endpoint_of_its_nexus() -> None:
    t = mirror("http://n.example:8081/nexus/repository/pbs")
    assert t.kind == "mirror"
    assert t.status is not None
    assert t.status.text == "http://n.example:8081/nexus/service/rest/v1/status"
    assert mirror("http://files.example/pbs").status is None


def test_mirror_probe_follows_nexus(nexus: NexusDouble) -> None:
    from testbed.pbs import Releases

    with Releases({}) as github:
        nexus.add_raw_proxy("pbs", github.base_url)
        healthy, missing = run_probe(
            [mirror(nexus.base_url + "/repository/pbs"), mirror(nexus.base_url + "/repository/x")]
        )
        assert healthy.healthy, healthy
        assert healthy.detail.endswith(f"serves {MIRROR_PROBE_PATH} of python-build-standalone")
        assert (missing.healthy, missing.reason) == (False, "not-found")
        assert "the repository does not exist" in missing.detail
        # the checksum list is fetched from GitHub once, then served from Nexus's cache
        assert one(mirror(nexus.base_url + "/repository/pbs")).healthy
        assert [p for _, p, _ in github.requests] == ["/" + MIRROR_PROBE_PATH]
        nexus.set_online(False, "pbs")
        assert one(mirror(nexus.base_url + "/repository/pbs")).reason == "unavailable"
        nexus.set_online(True, "pbs")
        nexus.anonymous_enabled = False
        assert one(mirror(nexus.base_url + "/repository/pbs")).reason == "auth"
        nexus.users["ci"] = "pw"
        creds = Credentials("ci", "pw")
        assert one(mirror(nexus.base_url + "/repository/pbs"), credentials=creds).healthy
        nexus.anonymous_enabled = True
        nexus.forget_cache("pbs")
        nexus.block_remote("pbs")
        assert one(mirror(nexus.base_url + "/repository/pbs")).reason == "remote-blocked"
    nexus.unblock_remote("pbs")
    assert one(mirror(nexus.base_url + "/repository/pbs")).reason == "remote-unreachable"


def test_mirror_probe_of_another_server() -> None:
    with ph.RawServer(ph.routes({}, ph.response(403, "Forbidden", b""))) as server:
        assert one(mirror(server.base_url + "/pbs")).reason == "auth"
    # a 2xx proves nothing: only the file itself does
    with ph.RawServer(ph.routes({}, ph.response(204, "No Content", b""))) as server:
        r = one(mirror(server.base_url + "/pbs"))
        assert (r.healthy, r.reason) == (False, "bad-response"), r


CHECKSUMS = (
    b"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0  "
    b"cpython-3.10.3+20220318-x86_64-unknown-linux-gnu-install_only.tar.gz\n"
)


def test_mirror_proven_by_the_checksum_list_of_a_release() -> None:
    served = {"/pbs/" + MIRROR_PROBE_PATH: ph.response(200, "OK", CHECKSUMS)}
    with ph.RawServer(ph.routes(served)) as server:
        r = one(mirror(server.base_url + "/pbs"))
        assert r.healthy, r
        (request,) = server.requests
        assert request.startswith(f"GET /pbs/{MIRROR_PROBE_PATH} HTTP/1.1".encode())


def test_mirror_not_set_for_a_server_answering_404_everywhere(plain_http_server: str) -> None:
    # an ingress or nginx in front of something else: a plain 404 for every path
    r = one(mirror(f"http://{plain_http_server}/repository/python-build-standalone"))
    assert (r.healthy, r.reason) == (False, "not-found"), r
    assert f"404 Not Found for {MIRROR_PROBE_PATH}, which every mirror" in r.detail


@pytest.mark.parametrize(
    "answer, reason, says",
    [
        (ph.response(200, "OK", b"<html><form action=/login>Sign in</form></html>"),
         "not-an-index", "not with python-build-standalone's checksum list"),
        (ph.response(200, "OK", CHECKSUMS + b"<html>"), "not-an-index", "checksum list"),
        (ph.response(200, "OK", b""), "not-an-index", "checksum list"),
        (ph.response(200, "OK", CHECKSUMS * 2000), "not-an-index", "checksum list"),
        (ph.response(302, "Found", headers=[("Location", "http://elsewhere.invalid/x")]),
         "redirect", "use the final URL as the mirror URL"),
        (ph.response(404, "Not Found", b"<html>404</html>"), "not-found", "every mirror"),
    ],
    ids=["login-page", "trailing-garbage", "empty", "too-large", "redirect-away", "plain-404"],
)
def test_mirror_not_set_on_anything_but_the_file(answer: bytes, reason: str, says: str) -> None:
    with ph.RawServer(ph.routes({}, answer)) as server:
        r = one(mirror(server.base_url + "/pbs"))
    assert (r.healthy, r.reason) == (False, reason), r
    assert says in r.detail, r


def test_mirror_and_index_share_one_deadline(
    nexus: NexusDouble, hanging_listener: HangingListener
) -> None:
    start = time.monotonic()
    index, hung = run_probe(
        [target_for(nexus.index_url()), mirror(hanging_listener.base_url + "/pbs")], timeout=1.0
    )
    assert index.healthy and (hung.healthy, hung.reason) == (False, "timeout")
    assert time.monotonic() - start < 1.0 + HANG_SLACK
