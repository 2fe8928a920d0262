"""TLS is verified by default; --ca-cert trusts a private CA."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipnexus.cli import main
from tests.probe_helpers import RawServer, response, routes, self_signed_cert, server_context


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
    assert first.startswith(f"error: TLS verification failed for {server.base_url}")
    assert "--ca-cert" in first and first.endswith(" [nexus-unreachable]")
    assert len(server.requests) == 0  # not retried, and nothing was sent in the clear


def test_ca_cert_is_used(https_nexus, capsys: pytest.CaptureFixture[str]) -> None:
    server, ca = https_nexus
    assert main(["nexus", "status", "--url", server.base_url, "--ca-cert", str(ca)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [lines[0], lines[1], lines[-1]] == [
        "note: status: ok [nexus-status]",
        "note: writable: ok [nexus-writable]",
        "healthy",
    ]
