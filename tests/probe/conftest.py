"""Fixtures of the probe's tests: loopback servers made per test, a self-signed certificate."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests import probe_helpers as ph


@pytest.fixture
def raw() -> Iterator[list[ph.RawServer]]:
    """Collects RawServers made by a test and stops them afterwards."""
    servers: list[ph.RawServer] = []
    try:
        yield servers
    finally:
        for s in servers:
            s.stop()


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> ph.Cert:
    made = ph.self_signed_cert(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("the openssl CLI is not available to make a self-signed certificate")
    return made


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
