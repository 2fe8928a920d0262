"""``nexus status --docker-url`` proves a pull: the canary's manifest through the connector."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipnexus.cli import main
from pipnexus.nexus.docker import Canary, parse_canary
from testbed.docker_connector import DockerConnector
from testbed.httpbase import QuietHandler, Response
from tests.nexus.conftest import Admin
from tests.nexus.test_status import docker_line
from tests.probe_helpers import RawServer, response, self_signed_cert, server_context

# what containerd's resolver asks for (containerd/containerd: core/remotes/docker/resolver.go)
CONTAINERD_ACCEPT = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "*/*",
]


@pytest.fixture
def served(admin: Admin) -> Admin:
    admin.double.add_pypi_proxy("pypi-proxy", admin.upstream_url)
    return admin


@pytest.fixture
def connector() -> Iterator[DockerConnector]:
    with DockerConnector() as c:
        yield c


def test_the_manifest_is_asked_as_containerd_asks(
    served: Admin, connector: DockerConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, line = docker_line(capsys, served, connector.base_url)
    assert rc == 0 and line.endswith("manifest of library/hello-world:latest: 200 [docker-pull]")
    (accept,) = connector.manifest_accepts
    assert [a.strip() for a in accept.split(",")] == CONTAINERD_ACCEPT
    methods = [(m, p) for m, p, _ in connector.requests if "/manifests/" in p]
    assert methods == [("HEAD", "/v2/library/hello-world/manifests/latest")]


@pytest.mark.parametrize("down_status", [404, 502])
@pytest.mark.parametrize("open_v2", [False, True])
def test_remote_down_is_unhealthy_although_v2_answers(
    served: Admin,
    connector: DockerConnector,
    capsys: pytest.CaptureFixture[str],
    down_status: int,
    open_v2: bool,
) -> None:
    connector.remote_up = False
    connector.remote_down_status = down_status
    connector.open_v2 = open_v2
    rc, line = docker_line(capsys, served, connector.base_url)
    how = "200 without authentication" if open_v2 else "401 Bearer, anonymous token granted"
    assert rc == 1
    assert line.startswith(f"pipnexus nexus status: error: docker {connector.base_url}/v2/: {how}")
    assert f"but HEAD /v2/library/hello-world/manifests/latest answers {down_status}" in line
    assert "the mirror cannot get library/hello-world:latest" in line
    assert line.endswith("[docker-remote-down]")
    assert connector.count("/v2/", "GET") >= 1  # /v2/ itself answered as ever


def test_docker_canary_names_the_image(
    served: Admin, connector: DockerConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, line = docker_line(capsys, served, connector.base_url, "--docker-canary", "tiny:1.0")
    assert rc == 1 and "HEAD /v2/library/tiny/manifests/1.0 answers 404" in line
    connector.images.add("library/tiny:1.0")
    rc, line = docker_line(capsys, served, connector.base_url, "--docker-canary", "tiny:1.0")
    assert rc == 0 and line.endswith("manifest of library/tiny:1.0: 200 [docker-pull]")


@pytest.mark.parametrize(
    "value, canary",
    [
        (None, Canary("library/hello-world", "latest")),
        ("busybox", Canary("library/busybox", "latest")),
        ("library/python:3.12-slim", Canary("library/python", "3.12-slim")),
        ("bitnami/redis", Canary("bitnami/redis", "latest")),
    ],
)
def test_parse_canary(value: str | None, canary: Canary) -> None:
    assert parse_canary(value) == canary


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("quay.io/prometheus/node-exporter:v1", "without a registry host"),
        ("localhost:5000/x:1", "without a registry host"),
        ("Upper/case", "NAME[:TAG]"),
        ("x:bad tag", "NAME[:TAG]"),
    ],
)
def test_bad_docker_canary_is_one_line_exit_2(
    value: str, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["nexus", "status", "--url", "http://127.0.0.1:1", "--docker-canary", value]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err


def test_a_token_server_is_not_a_registry(
    served: Admin, capsys: pytest.CaptureFixture[str]
) -> None:
    # a JSON object on /v2/ without the API header: a token endpoint, not a registry
    body = json.dumps({"token": "t", "access_token": "t"}).encode()

    def script(srv: RawServer, conn: socket.socket, request: bytes) -> None:
        conn.sendall(response(200, "OK", body, [("Content-Type", "application/json")]))

    with RawServer(script) as server:
        rc, line = docker_line(capsys, served, server.base_url)
    assert rc == 1
    assert "200 OK is not a Docker Registry V2 answer (no Docker-Distribution-API-Version" in line
    assert line.endswith("[docker-not-registry]")


class _ScopedConnector(DockerConnector):
    """Like Docker Hub: /v2/ takes any anonymous token, a manifest wants one for its scope."""

    def __init__(self) -> None:
        self.scoped: set[str] = set()
        super().__init__()

    def _token(self, query: dict[str, list[str]]) -> Response:
        resp = super()._token(query)
        if query.get("scope"):
            self.scoped.add(json.loads(resp.body)["token"])
        return resp

    def _manifest(self, handler: QuietHandler, name: str, reference: str) -> Response:
        auth = handler.headers.get("Authorization") or ""
        if auth.removeprefix("Bearer ") not in self.scoped:
            base = self.base_url
            scope = f"repository:{name}:pull"
            challenge = f'Bearer realm="{base}/v2/token",service="hub",scope="{scope}"'
            return Response(401, [("WWW-Authenticate", challenge)], b"")
        return super()._manifest(handler, name, reference)


def test_a_scoped_challenge_on_the_manifest_gets_a_scoped_token(
    served: Admin, capsys: pytest.CaptureFixture[str]
) -> None:
    with _ScopedConnector() as connector:
        rc, line = docker_line(capsys, served, connector.base_url)
        query = connector.last_token_query
    assert rc == 0 and line.endswith("manifest of library/hello-world:latest: 200 [docker-pull]")
    assert query == {"service": ["hub"], "scope": ["repository:library/hello-world:pull"]}


def test_docker_url_https_for_plain_http(
    served: Admin, connector: DockerConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    https = connector.base_url.replace("http://", "https://")
    rc, line = docker_line(capsys, served, https)
    assert rc == 1
    assert line == (
        "pipnexus nexus status: "
        f"error: docker {https}/v2/: {https} speaks plain HTTP, not TLS: use --docker-url "
        f"{connector.base_url} [docker-wrong-scheme]"
    )


def test_docker_url_http_for_tls(
    served: Admin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cert = self_signed_cert(tmp_path)
    if cert is None:
        pytest.skip("openssl CLI not available")

    def script(srv: RawServer, conn: socket.socket, request: bytes) -> None:
        conn.sendall(response(200, "OK"))

    with RawServer(script, tls=server_context(cert)) as server:
        http = server.base_url.replace("https://", "http://")
        rc, line = docker_line(capsys, served, http)
    assert rc == 1
    assert line == (
        "pipnexus nexus status: "
        f"error: docker {http}/v2/: {http} speaks TLS, not plain HTTP: use --docker-url "
        f"{server.base_url} [docker-wrong-scheme]"
    )
