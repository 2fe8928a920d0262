"""A failure -> its reason and sentence (pipnexus/probe/classify.py): the Nexus double's faults,
status codes, error pages, and http/https mix-ups named as such.
"""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testbed.nexus_double import NexusDouble
from tests import probe_helpers as ph
from tests.probe_helpers import one, serve

# The Nexus double's faults, each: the fault, the reason, and what the detail must name.
NEXUS_FAULTS: dict[str, tuple[Callable[[NexusDouble], object], str, str]] = {
    "repository-offline": (lambda n: n.set_online(False), "unavailable", "Repository offline"),
    "not-readable-status-503": (
        lambda n: setattr(n, "readable", False), "unavailable", "status endpoint"
    ),
    "read-only-cache-miss": (lambda n: setattr(n, "read_only", True), "unavailable", ""),
    "remote-auto-blocked": (
        lambda n: n.block_remote(), "remote-blocked", "Remote Auto Blocked until"
    ),
    "remote-manually-blocked": (
        lambda n: n.set_blocked(True), "remote-blocked", "Remote Manually Blocked"
    ),
    "remote-unreachable": (
        lambda n: setattr(n, "remote_unreachable", True), "remote-unreachable", ""
    ),
    "login-page": (lambda n: setattr(n, "login_page", True), "not-an-index", ""),
    "anonymous-disabled": (
        lambda n: setattr(n, "anonymous_enabled", False), "auth", "credentials are needed"
    ),
}


@pytest.mark.parametrize(("fault", "reason", "named"), NEXUS_FAULTS.values(), ids=NEXUS_FAULTS)
def test_nexus_faults(
    nexus: NexusDouble, fault: Callable[[NexusDouble], object], reason: str, named: str
) -> None:
    fault(nexus)
    result = one(nexus.index_url())
    assert (result.healthy, result.reason) == (False, reason), result
    assert named in result.detail


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


def test_nexus_hangs(nexus: NexusDouble) -> None:
    nexus.hang = True
    result = one(nexus.index_url(), timeout=0.5)
    assert result.reason == "timeout"
    assert "within 0.5 s" in result.detail


def _nexus_shaped(raw: list[ph.RawServer], status: bytes) -> ph.RawServer:
    """A server at a Nexus-shaped URL whose status endpoint answers ``status``; the canary's
    page is fine."""
    page = ph.response(200, "OK", ph.PIP_PAGE)
    table = {"/service/rest/v1/status": status, "/repository/pypi-proxy/simple/pip/": page}
    return serve(raw, ph.routes(table))


def test_status_endpoint_missing_lets_the_canary_decide(raw: list[ph.RawServer]) -> None:
    # a Nexus-shaped URL on a server (or ingress) without /service/rest/v1/status
    server = _nexus_shaped(raw, ph.response(404, "Not Found"))
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
    server = _nexus_shaped(raw, ph.response(status, "Whatever"))
    result = one(server.url())
    assert result.reason == expected
    assert "status endpoint" in result.detail


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


@pytest.mark.slow
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
