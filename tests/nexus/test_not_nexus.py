"""``nexus apply`` and ``nexus status`` make sure they talk to Nexus before anything else.

Nexus answers ``GET /service/rest/v1/status`` to anyone with 200 and an empty body, and puts
``Server: Nexus/<version> (<edition>)`` on every answer; whatever else answers gets exit 2 and
one line naming what answered, and never the password.
"""

from __future__ import annotations

import functools
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipnexus.cli import main
from tests.nexus.conftest import ADMIN_PASSWORD
from tests.probe_helpers import RawServer, response

STATUS = "/service/rest/v1/status"


class _Handler(http.server.SimpleHTTPRequestHandler):
    """``python3 -m http.server``'s handler, recording requests instead of logging them."""

    seen: list[tuple[str, str, str | None]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_head(self) -> Any:
        self.seen.append((self.command, self.path, self.headers.get("Authorization")))
        return super().send_head()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if code == 501:  # http.server answers POST/PUT with 501 before any send_head
            self.seen.append((self.command, self.path, self.headers.get("Authorization")))
        super().send_error(code, message, explain)


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[tuple[str, list[tuple[str, str, str | None]]]]:
    """``python3 -m http.server`` (the standard library's server, on 127.0.0.1)."""
    seen: list[tuple[str, str, str | None]] = []
    handler = type("Handler", (_Handler,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(tmp_path))
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def everything(status: int, reason: str, body: bytes = b"", server: str = "nginx") -> RawServer:
    """A server answering every path alike (an ingress's default backend)."""
    answer = response(status, reason, body, [("Server", server)])

    def script(srv: RawServer, conn: socket.socket, request: bytes) -> None:
        conn.sendall(answer)

    return RawServer(script)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["nexus", *argv])
    out, err = capsys.readouterr()
    assert ADMIN_PASSWORD not in out + err
    return rc, out, err


def apply_argv(url: str, *extra: str) -> list[str]:
    return ["apply", "--url", url, "--password-env", "NEXUS_PW", "--retries", "0", *extra]


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXUS_PW", ADMIN_PASSWORD)


@pytest.mark.parametrize("dry_run", [True, False])
def test_apply_against_http_server(
    file_server: tuple[str, list[tuple[str, str, str | None]]],
    capsys: pytest.CaptureFixture[str],
    dry_run: bool,
) -> None:
    url, seen = file_server
    rc, out, err = run(capsys, *apply_argv(url, *(["--dry-run"] if dry_run else [])))
    assert (rc, out) == (2, "")
    (line,) = err.splitlines()
    assert line.startswith(
        f"pipnexus nexus apply: error: {url} is not a Nexus Repository Manager (GET {STATUS} "
        "answered 404 File not found, Server: SimpleHTTP/"
    )
    assert line.endswith(
        "; Nexus answers 200 there, with a 'Server: Nexus/...' header; if it runs under a "
        "path, put the path in --url) [not-nexus]"
    )
    # one anonymous GET, then nothing: no plan, no POST, and the password never went out
    assert seen == [("GET", STATUS, None)]


def test_status_against_http_server(
    file_server: tuple[str, list[tuple[str, str, str | None]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, seen = file_server
    argv = ["status", "--url", url, "--username", "admin", "--password-env", "NEXUS_PW"]
    rc, out, err = run(capsys, *argv, "--repository", "pypi-proxy")
    assert (rc, out) == (2, "")
    assert err.count("\n") == 1 and f"{url} is not a Nexus Repository Manager" in err
    assert seen == [("GET", STATUS, None)]


@pytest.mark.parametrize(
    "status, reason, body, answered",
    [
        (404, "Not Found", b"<html><body>404 page not found</body></html>", "404 Not Found"),
        # a catch-all that answers 200 with a page: Nexus's answer has no body
        (200, "OK", b"<html><body>default backend</body></html>", "200 OK"),
        (401, "Unauthorized", b"", "401 Unauthorized"),
    ],
)
@pytest.mark.parametrize("command", ["apply", "status"])
def test_anything_else_answering_is_not_nexus(
    capsys: pytest.CaptureFixture[str],
    command: str,
    status: int,
    reason: str,
    body: bytes,
    answered: str,
) -> None:
    with everything(status, reason, body) as server:
        if command == "apply":
            argv = apply_argv(server.base_url, "--dry-run")
        else:
            argv = ["status", "--url", server.base_url, "--retries", "0"]
        rc, out, err = run(capsys, *argv)
        requests = list(server.requests)
    assert (rc, out) == (2, "")
    (line,) = err.splitlines()
    assert (
        f"{server.base_url} is not a Nexus Repository Manager (GET {STATUS} answered "
        f"{answered}, Server: nginx; " in line
    )
    assert ("put the path in --url" in line) == (status == 404)
    assert len(requests) == 1 and b"authorization" not in requests[0].lower()


def test_a_proxy_that_drops_the_server_header_is_accepted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # nginx passes no upstream Server header by default: the empty 200 counts alone
    with everything(200, "OK") as server:
        rc, out, _ = run(capsys, "status", "--url", server.base_url, "--retries", "0")
    assert rc == 0
    assert out.splitlines()[0] == "pipnexus nexus status: note: status: ok [nexus-status]"
    assert "names no Nexus version" in out


def test_a_gateway_error_is_not_ready_not_input(capsys: pytest.CaptureFixture[str]) -> None:
    with everything(502, "Bad Gateway", b"<html>502</html>") as server:
        rc, out, err = run(capsys, *apply_argv(server.base_url, "--dry-run"))
    assert (rc, out) == (1, "")
    assert err == (
        f"pipnexus nexus apply: error: {server.base_url} is not ready: GET {STATUS} answered "
        "502 Bad Gateway [nexus-unreachable]\n"
    )


def test_redirect_to_https_names_the_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    def script(srv: RawServer, conn: socket.socket, request: bytes) -> None:
        location = srv.base_url.replace("http://", "https://") + STATUS
        conn.sendall(response(308, "Permanent Redirect", b"", [("Location", location)]))

    with RawServer(script) as server:
        rc, out, err = run(capsys, *apply_argv(server.base_url))
    https = server.base_url.replace("http://", "https://")
    assert (rc, out) == (2, "")
    assert err == (
        f"pipnexus nexus apply: error: {server.base_url} redirects to HTTPS: use --url {https} "
        "[not-nexus]\n"
    )
