"""One GET under the deadline (pipnexus/probe/transport.py): broken and endless answers,
network-level faults, redirects, TLS, and random bytes that must never raise.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipnexus.probe import REASONS
from testbed.httpbase import HangingListener, closed_url
from tests import probe_helpers as ph
from tests.probe_helpers import one, serve


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
    result = one(hanging_listener.url + "/repository/pypi-proxy/simple/", timeout=0.5)
    assert result.reason == "timeout"
    assert "waiting for the response headers" in result.detail


def test_listener_that_never_accepts() -> None:
    with ph.never_accepts() as origin:
        result = one(f"{origin}/simple/", timeout=0.5)
        assert result.reason == "timeout"


def test_headers_trickle(raw: list[ph.RawServer]) -> None:
    server = serve(raw, ph.trickle_headers)
    result = one(server.url("/simple/"), timeout=0.5)  # two drips of 0.2 s, never the end
    assert result.reason == "timeout"


def test_body_trickles(raw: list[ph.RawServer]) -> None:
    server = serve(raw, ph.trickle_body)
    result = one(server.url(), timeout=0.5)
    assert result.reason == "timeout"
    assert "reading the response body" in result.detail


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
