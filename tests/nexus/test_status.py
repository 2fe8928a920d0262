"""``pipnexus nexus status`` against the Nexus double."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from pipnexus.cli import main
from testbed.docker_connector import DockerConnector
from testbed.httpbase import QuietHandler, Response, closed_url
from testbed.nexus_double import NexusDouble
from tests.nexus.conftest import ADMIN_PASSWORD, Admin
from tests.nexus.conftest import LINT_VERSION as NEXUS_VERSION


def status(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> tuple[int, list[str], str]:
    rc = main(["nexus", "status", "--url", url, *argv])
    out, err = capsys.readouterr()
    assert ADMIN_PASSWORD not in out + err
    return rc, out.splitlines(), err


@pytest.fixture
def served(admin: Admin) -> Admin:
    admin.double.add_pypi_proxy("pypi-proxy", admin.upstream_url)
    return admin


def test_healthy(served: Admin, capsys: pytest.CaptureFixture[str]) -> None:
    rc, lines, err = status(capsys, served.url, "--repository", "pypi-proxy")
    assert (rc, err) == (0, "")
    assert lines == [
        "pipnexus nexus status: note: status: ok [nexus-status]",
        "pipnexus nexus status: note: writable: ok [nexus-writable]",
        f"pipnexus nexus status: note: version: Nexus {NEXUS_VERSION}-01 (OSS) [nexus-version]",
        "pipnexus nexus status: note: repository pypi-proxy: pypi proxy [repository-exists]",
        "pipnexus nexus status: "
        "note: canary /repository/pypi-proxy/simple/pip/: 200, 1 file link(s) [repository-serves]",
        "healthy",
    ]


def test_status_only(served: Admin, capsys: pytest.CaptureFixture[str]) -> None:
    assert status(capsys, served.url)[:2] == (
        0,
        [
            "pipnexus nexus status: note: status: ok [nexus-status]",
            "pipnexus nexus status: note: writable: ok [nexus-writable]",
            f"pipnexus nexus status: note: version: Nexus {NEXUS_VERSION}-01 (OSS) [nexus-version]",
            "healthy",
        ],
    )


def test_read_only(served: Admin, capsys: pytest.CaptureFixture[str]) -> None:
    served.double.read_only = True
    rc, lines, _ = status(capsys, served.url)
    assert rc == 1
    assert lines == [
        "pipnexus nexus status: note: status: ok [nexus-status]",
        "pipnexus nexus status: error: writable: read-only (503) [nexus-writable]",
        f"pipnexus nexus status: note: version: Nexus {NEXUS_VERSION}-01 (OSS) [nexus-version]",
        "unhealthy",
    ]


def test_not_ready(served: Admin, capsys: pytest.CaptureFixture[str]) -> None:
    served.double.readable = False
    rc, lines, _ = status(capsys, served.url, "--repository", "pypi-proxy", "--retries", "0")
    assert rc == 1
    assert lines[:2] == [
        "pipnexus nexus status: error: status: not ready (503) [nexus-status]",
        "pipnexus nexus status: error: writable: not ready (503) [nexus-writable]",
    ]
    assert lines[-1] == "unhealthy"


def test_missing_repository(served: Admin, capsys: pytest.CaptureFixture[str]) -> None:
    rc, lines, _ = status(capsys, served.url, "--repository", "nope")
    assert rc == 1
    assert (
        "pipnexus nexus status: "
        "error: repository nope: not found (or not visible to this user) [repository-exists]"
        in lines
    )
    assert any(line.startswith("pipnexus nexus status: "
                               "error: canary /repository/nope/simple/pip/: 404") for line in lines)


@pytest.mark.parametrize(
    ("fault", "answer"),
    [
        (lambda double: double.set_online(False, "pypi-proxy"), "503 Repository offline"),
        (lambda double: double.set_blocked(True, "pypi-proxy"), "404 Remote Manually Blocked"),
    ],
    ids=["offline", "remote-blocked"],
)
def test_repository_that_cannot_serve(
    served: Admin,
    fault: Callable[[NexusDouble], None],
    answer: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fault(served.double)
    rc, lines, _ = status(capsys, served.url, "--repository", "pypi-proxy")
    assert rc == 1
    canary = "/repository/pypi-proxy/simple/pip/"
    assert f"pipnexus nexus status: error: canary {canary}: {answer} [repository-serves]" in lines


def test_anonymous_off_needs_credentials(served: Admin, capsys: pytest.CaptureFixture[str]) -> None:
    served.double.anonymous_enabled = False
    rc, lines, _ = status(capsys, served.url, "--repository", "pypi-proxy")
    assert rc == 1
    assert any("cannot list repositories (401)" in line for line in lines)
    rc, lines, _ = status(
        capsys,
        served.url,
        "--repository",
        "pypi-proxy",
        "--username",
        "admin",
        "--password-env",
        "NEXUS_PW",
    )
    assert rc == 0 and lines[-1] == "healthy"


def test_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    rc, lines, err = status(capsys, closed_url(), "--retries", "0")
    assert rc == 1
    assert lines[-1] == "unhealthy" and len(lines) == 2
    assert lines[0].startswith("pipnexus nexus status: error: cannot reach ")
    assert lines[0].endswith(" [nexus-unreachable]")
    assert err == ""


class _Answer:
    def __init__(self, status_code: int, body: str = "", listing: object = None) -> None:
        self.status_code = status_code
        self.text = body
        self.content = body.encode()
        self.reason = "OK"
        self._listing = listing

    def json(self) -> object:
        return self._listing


class _Client:
    """Answers the repository listing and the canary page with fixed bodies."""

    def __init__(self, page: str) -> None:
        self.page = page

    def request(self, method: str, path: str) -> _Answer:
        if path.endswith("/repositories"):
            return _Answer(200, listing=[{"name": "pypi-proxy", "format": "pypi", "type": "proxy"}])
        return _Answer(200, self.page)


@pytest.mark.parametrize(
    "page, ok, detail",
    [
        (
            '<a href="../../packages/pip-24.0-py3-none-any.whl#sha256=0">pip-24.0</a>',
            True,
            "200, 1 file link(s)",
        ),
        # a login or portal page answers 200 with links too: none is a file of the canary
        (
            '<a href="/login">Sign in</a> <a href="/help">Help</a>',
            False,
            "200 but no file links: not a simple index page",
        ),
    ],
)
def test_canary_page_must_link_files_of_the_canary(page: str, ok: bool, detail: str) -> None:
    from pipnexus.diagnostics import Diagnostic
    from pipnexus.nexus.status import repository_checks

    checks = repository_checks(_Client(page), "pypi-proxy", "pip", "pip")
    assert checks[-1] == Diagnostic(
        "note" if ok else "error",
        f"canary /repository/pypi-proxy/simple/pip/: {detail}",
        "repository-serves",
    )


def test_bad_canary_is_an_input_error_before_any_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc = main(["nexus", "status", "--url", closed_url(), "--repository", "x", "--canary", "a b"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--canary must be a project name" in err and "cannot reach" not in err


@pytest.mark.parametrize(
    "url, fragment",
    [("http://127.0.0.1:1/\nx", "line feed"), ("http://[::1", "IPv6"), ("ftp://h", "scheme")],
)
def test_bad_url_is_one_line_exit_2(
    url: str, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["nexus", "status", "--url", url, "--retries", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err


def test_json_format(served: Admin, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from pipnexus.nexus import schema

    served.double.read_only = True
    rc, lines, _ = status(capsys, served.url, "--format", "json")
    assert rc == 1
    doc = json.loads("\n".join(lines))
    assert doc["healthy"] is False
    assert doc["nexus_version"] == str(schema.parse_version(NEXUS_VERSION))
    codes = [(d["code"], d["severity"]) for d in doc["diagnostics"]]
    assert codes == [
        ("nexus-status", "note"),
        ("nexus-writable", "error"),
        ("nexus-version", "note"),
    ]
    assert all(d["path"] is None for d in doc["diagnostics"])


def test_unreachable_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    rc, lines, _ = status(capsys, closed_url(), "--retries", "0", "--format", "json")
    assert rc == 1
    doc = json.loads("\n".join(lines))
    assert doc["healthy"] is False and doc["nexus_version"] is None
    (d,) = doc["diagnostics"]
    assert d["code"] == "nexus-unreachable" and "cannot reach" in d["message"]


def test_unset_password_env_is_the_option_layers_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc = main(["nexus", "status", "--url", closed_url(), "--password-env", "PIPNEXUS_UNSET_VAR"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not set or empty" in err
    assert "PIPNEXUS_UNSET_VAR" not in err


class _Server:
    def __init__(self, header: str | None) -> None:
        from pipnexus.nexus.answers import server_version

        self.server = server_version(header)


@pytest.mark.parametrize(
    "header, severity, fragment",
    [
        ("Nexus/3.95.1-01 (OSS)", "note", "version: Nexus 3.95.1-01 (OSS)"),
        ("Nexus/3.13.0-01 (OSS)", "note", "older than every version checked"),
        ("Nexus/4.1.0-01 (PRO)", "note", "newer than every version checked"),
        (None, "warning", "names no Nexus version"),
        ("nginx", "warning", "names no Nexus version"),
    ],
)
def test_version_check(header: str | None, severity: str, fragment: str) -> None:
    from pipnexus.nexus.status import version_check

    d = version_check(_Server(header))
    assert (d.severity, d.code) == (severity, "nexus-version")
    assert fragment in d.message


# --docker-url: the Docker connector as an anonymous docker pull meets it


@pytest.fixture
def connector() -> Iterator[DockerConnector]:
    with DockerConnector() as c:
        yield c


def docker_line(
    capsys: pytest.CaptureFixture[str], nexus: Admin, docker_url: str, *argv: str
) -> tuple[int, str]:
    rc, lines, err = status(
        capsys,
        nexus.url,
        "--docker-url",
        docker_url,
        "--retries",
        "0",
        "--username",
        "admin",
        "--password-env",
        "NEXUS_PW",
        *argv,
    )
    assert err == ""
    assert lines[-1] == ("healthy" if rc == 0 else "unhealthy")
    (line,) = [x for x in lines if " [docker-" in x]
    return rc, line


def test_docker_bearer_anonymous_token(
    served: Admin, connector: DockerConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    url = connector.base_url
    rc, line = docker_line(capsys, served, url + "/")
    assert (rc, line) == (
        0,
        "pipnexus nexus status: "
        f"note: docker {url}/v2/: 401 Bearer, anonymous token granted, then 200; manifest of "
        "library/hello-world:latest: 200 [docker-pull]",
    )
    # the realm got the challenge's service; only the anonymous token was ever sent
    assert connector.last_token_query == {"service": [f"{url}/v2/token"]}
    assert connector.authorizations and all(
        a.startswith("Bearer DockerToken.") for a in connector.authorizations
    )


def test_docker_open_registry(
    served: Admin, connector: DockerConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    connector.open_v2 = True
    rc, line = docker_line(capsys, served, connector.base_url)
    assert rc == 0
    assert line == (
        "pipnexus nexus status: "
        f"note: docker {connector.base_url}/v2/: 200 without authentication; manifest of "
        "library/hello-world:latest: 200 [docker-pull]"
    )
    assert connector.count("/v2/token") == 0


def test_docker_force_basic_auth(
    served: Admin, connector: DockerConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    connector.force_basic_auth = True
    rc, line = docker_line(capsys, served, connector.base_url)
    assert rc == 1
    assert line.startswith("pipnexus nexus status: "
                           f"error: docker {connector.base_url}/v2/: 401 with a Basic challenge")
    assert "forceBasicAuth: false" in line and line.endswith("[docker-force-basic-auth]")
    assert connector.authorizations == []


@pytest.mark.parametrize("switch", ["token_realm_active", "anonymous"])
def test_docker_token_refused(
    served: Admin, connector: DockerConnector, capsys: pytest.CaptureFixture[str], switch: str
) -> None:
    setattr(connector, switch, False)
    rc, line = docker_line(capsys, served, connector.base_url)
    assert rc == 1
    realm = f"{connector.base_url}/v2/token"
    assert line.startswith(
        "pipnexus nexus status: "
        f"error: docker {connector.base_url}/v2/: token realm {realm} refused an anonymous "
        "token (401"
    )
    assert "Docker Bearer Token Realm" in line and "anonymous access" in line
    assert line.endswith("[docker-token-refused]")


def test_docker_url_is_the_main_port(served: Admin, capsys: pytest.CaptureFixture[str]) -> None:
    rc, line = docker_line(capsys, served, served.url)
    assert rc == 1
    assert line.startswith("pipnexus nexus status: "
                           f"error: docker {served.url}/v2/: 404: not a Docker connector")
    assert line.endswith("[docker-not-registry]")


def test_docker_url_is_not_a_registry(
    served: Admin, connector: DockerConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    connector.not_registry = True
    rc, line = docker_line(capsys, served, connector.base_url)
    assert rc == 1
    assert "200 OK is not a Docker Registry V2 answer" in line
    assert line.endswith("[docker-not-registry]")


def test_docker_port_refused(served: Admin, capsys: pytest.CaptureFixture[str]) -> None:
    url = closed_url()
    rc, line = docker_line(capsys, served, url)
    assert rc == 1
    assert line == (
        "pipnexus nexus status: "
        f"error: docker {url}/v2/: connection refused: nothing listens on that port (expose the "
        "connector's docker.httpPort in the Service's additionalPorts) [docker-unreachable]"
    )


@pytest.mark.parametrize("where", ["/v2/", "/v2/token"])
def test_docker_server_error(
    served: Admin, connector: DockerConnector, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    if where == "/v2/":
        connector.fail_status = 503
        start = f"pipnexus nexus status: error: docker {connector.base_url}/v2/: 503"
    else:
        connector.token_fail_status = 500
        realm = f"{connector.base_url}/v2/token"
        start = ("pipnexus nexus status: "
                 f"error: docker {connector.base_url}/v2/: token realm {realm}: 500")
    rc, line = docker_line(capsys, served, connector.base_url)
    assert rc == 1
    assert line.startswith(start)
    assert line.endswith("Nexus failed to answer (see its log) [docker-server-error]")


def test_docker_check_runs_when_nexus_is_unreachable(
    connector: DockerConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    rc, lines, _ = status(
        capsys,
        closed_url(),
        "--retries",
        "0",
        "--docker-url",
        connector.base_url,
        "--format",
        "json",
    )
    assert rc == 1
    doc = json.loads("\n".join(lines))
    assert [(d["code"], d["severity"]) for d in doc["diagnostics"]] == [
        ("nexus-unreachable", "error"),
        ("docker-pull", "note"),
    ]


@pytest.mark.parametrize(
    "value, fragment",
    [("http://u:p@127.0.0.1:8082", "must not contain credentials"), ("ftp://h", "scheme")],
)
def test_bad_docker_url_is_one_line_exit_2(
    value: str, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["nexus", "status", "--url", closed_url(), "--docker-url", value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and "u:p" not in err


@pytest.mark.parametrize(
    "header, scheme, params",
    [
        (
            'Bearer realm="http://n:8082/v2/token",service="http://n:8082/v2/token"',
            "bearer",
            {"realm": "http://n:8082/v2/token", "service": "http://n:8082/v2/token"},
        ),
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:library/alpine:pull"',
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:library/alpine:pull",
            },
        ),
        (
            'BASIC realm="Sonatype Nexus Repository Manager"',
            "basic",
            {"realm": "Sonatype Nexus Repository Manager"},
        ),
        (None, "", {}),
    ],
)
def test_parse_challenge(header: str | None, scheme: str, params: dict[str, str]) -> None:
    from pipnexus.nexus.docker import parse_challenge

    assert parse_challenge(header) == (scheme, params)


class _ForgetfulConnector(DockerConnector):
    """Grants tokens that /v2/ then refuses."""

    def _token(self, query: dict[str, list[str]]) -> Response:
        resp = super()._token(query)
        self.tokens.clear()
        return resp


class _BadRealmConnector(DockerConnector):
    """Challenges with a realm that is no http(s) URL, or on a port where nothing listens."""

    realm = "ldap://n/token"

    def _version_check(self, handler: QuietHandler) -> Response:
        challenge = f'Bearer realm="{self.realm}"'
        return Response(401, [("WWW-Authenticate", challenge)], b"")


def test_docker_token_granted_but_refused(
    served: Admin, capsys: pytest.CaptureFixture[str]
) -> None:
    with _ForgetfulConnector() as connector:
        rc, line = docker_line(capsys, served, connector.base_url)
    assert rc == 1
    assert "anonymous token granted but /v2/ still answers 401" in line
    assert "DockerToken." not in line and line.endswith("[docker-token-refused]")


def test_docker_bad_realm(served: Admin, capsys: pytest.CaptureFixture[str]) -> None:
    with _BadRealmConnector() as connector:
        rc, line = docker_line(capsys, served, connector.base_url)
        assert rc == 1
        assert "realm is not an http(s) URL [docker-token-refused]" in line
        connector.realm = closed_url() + "/v2/token"
        rc, line = docker_line(capsys, served, connector.base_url)
    assert rc == 1
    assert f"token realm {connector.realm}: cannot reach" in line
    assert line.endswith("[docker-unreachable]")
