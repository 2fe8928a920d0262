"""TLS is verified by default; --ca-cert trusts a private CA."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pipnexus.cli import main
from tests.nexus.conftest import Admin
from tests.probe_helpers import Cert, RawServer, response, routes, self_signed_cert, server_context


@pytest.fixture
def https_nexus(tmp_path: Path):
    cert = self_signed_cert(tmp_path)
    if cert is None:
        pytest.skip("openssl CLI not available")
    ok = response(200, "OK")
    server = RawServer(
        routes({"/service/rest/v1/status": ok, "/service/rest/v1/status/writable": ok}),
        tls=server_context(cert),
    )
    try:
        yield server, cert.cert
    finally:
        server.stop()


def test_self_signed_certificate_is_refused_without_ca_cert(
    https_nexus, capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = https_nexus
    assert main(["nexus", "status", "--url", server.base_url]) == 1
    captured = capsys.readouterr()
    first, last = captured.out.splitlines()
    assert last == "unhealthy" and captured.err == ""
    assert first.startswith("pipnexus nexus status: "
                            f"error: TLS verification failed for {server.base_url}")
    assert "--ca-cert" in first and first.endswith(" [nexus-unreachable]")
    # OpenSSL's reason, whole: "(certificate verify failed: self-signed certificate)"
    assert "(certificate verify failed: " in first and first.count("(") == first.count(")")
    assert len(server.requests) == 0  # not retried, and nothing was sent in the clear


def test_ca_cert_is_used(https_nexus, capsys: pytest.CaptureFixture[str]) -> None:
    server, ca = https_nexus
    assert main(["nexus", "status", "--url", server.base_url, "--ca-cert", str(ca)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [lines[0], lines[1], lines[-1]] == [
        "pipnexus nexus status: note: status: ok [nexus-status]",
        "pipnexus nexus status: note: writable: ok [nexus-writable]",
        "healthy",
    ]


# scheme mix-ups: named, with the URL to use, and exit 2 (the URL is wrong, not Nexus)


def _input_error(
    capsys: pytest.CaptureFixture[str], command: str, url: str, *argv: str
) -> str:
    """``nexus COMMAND --url URL`` (apply as a dry run) exits 2 and prints nothing on stdout:
    its stderr."""
    dry_run = ["--dry-run"] if command == "apply" else []
    assert main(["nexus", command, "--url", url, *argv, *dry_run]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


@pytest.mark.parametrize("command", ["apply", "status"])
def test_https_for_a_plain_http_nexus(
    admin: Admin, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    https = admin.url.replace("http://", "https://")
    assert _input_error(capsys, command, https, "--password-env", "NEXUS_PW") == (
        f"pipnexus nexus {command}: error: {https} speaks plain HTTP, not TLS: use --url "
        f"{admin.url} [not-nexus]\n"
    )
    assert admin.double.requests == []  # the TLS hello is no HTTP request


@pytest.mark.parametrize("command", ["apply", "status"])
def test_http_for_a_tls_nexus(
    https_nexus, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = https_nexus
    http = server.base_url.replace("https://", "http://")
    assert _input_error(capsys, command, http, "--retries", "3") == (
        f"pipnexus nexus {command}: error: {http} speaks TLS, not plain HTTP: use --url "
        f"{server.base_url} [not-nexus]\n"
    )


def _tls_port_answering_plain_http_with_400(cert: Cert) -> RawServer:
    """A TLS port that answers a plain request with 400, as nginx and Go's servers do."""
    ctx = server_context(cert)

    def script(srv: RawServer, conn: socket.socket, request: bytes) -> None:
        if conn.recv(1, socket.MSG_PEEK) == b"\x16":  # a TLS handshake record
            tls = ctx.wrap_socket(conn, server_side=True)
            tls.recv(65536)
            tls.sendall(response(200, "OK"))
            tls.close()
            return
        conn.recv(65536)
        body = b"Client sent an HTTP request to an HTTPS server.\n"
        conn.sendall(response(400, "Bad Request", body))

    return RawServer(script, read_request=False)


def test_http_for_a_tls_port_that_answers_400(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cert = self_signed_cert(tmp_path)
    if cert is None:
        pytest.skip("openssl CLI not available")
    with _tls_port_answering_plain_http_with_400(cert) as server:
        assert main(["nexus", "status", "--url", server.base_url]) == 2
    https = server.base_url.replace("http://", "https://")
    assert capsys.readouterr().err == (
        f"pipnexus nexus status: error: {server.base_url} speaks TLS, not plain HTTP: use --url "
        f"{https} [not-nexus]\n"
    )
