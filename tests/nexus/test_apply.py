"""``pipnexus nexus apply`` against the Nexus double with its admin API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipnexus.cli import main
from pipnexus.nexus import schema, values
from pipnexus.nexus.answers import error_lines
from pipnexus.nexus.client import Client, NexusError
from testbed.httpbase import QuietHandler, Response, closed_url
from testbed.nexus_admin import install
from testbed.nexus_double import NexusDouble, empty_response
from tests.nexus.conftest import ADMIN_PASSWORD, READER_PASSWORD, Admin

SECRETS = (ADMIN_PASSWORD, READER_PASSWORD)


def apply(
    capsys: pytest.CaptureFixture[str],
    url: str,
    *argv: str,
    password_env: str | None = "NEXUS_PW",
    python_mirror: bool = False,
) -> tuple[int, str, str]:
    """``nexus apply``; without the interpreter mirror unless asked (--values aside), so each
    test sees the repositories it is about."""
    args = ["nexus", "apply", "--url", url, *argv]
    if not python_mirror and "--values" not in argv:
        args.append("--no-python-mirror")
    if password_env:
        args += ["--password-env", password_env]
    rc = main(args)
    out, err = capsys.readouterr()
    for secret in SECRETS:  # the password never shows up, whatever happens
        assert secret not in out and secret not in err
    return rc, out, err


def writes(admin: Admin) -> list[tuple[str, str]]:
    return [r for r in admin.api.requests if r[0] in ("POST", "PUT")]


def test_create_then_nothing_to_do(admin: Admin, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("--remote-url", admin.upstream_url)
    rc, out, err = apply(capsys, admin.url, *argv, python_mirror=True)
    assert (rc, err) == (0, "")
    assert out.splitlines() == [
        "pypi-proxy (pypi proxy): create",
        "python-build-standalone (raw proxy): create",
        "created pypi-proxy",
        "created python-build-standalone",
    ]
    repo = admin.double.repositories["pypi-proxy"]
    assert repo["proxy"] == {
        "remoteUrl": admin.upstream_url,
        "contentMaxAge": -1,
        "metadataMaxAge": 60,
    }
    mirror = admin.double.repositories["python-build-standalone"]
    assert mirror["proxy"] == {
        "remoteUrl": values.PYTHON_MIRROR_REMOTE,
        "contentMaxAge": -1,
        "metadataMaxAge": -1,
    }
    assert mirror["raw"] == {"contentDisposition": "ATTACHMENT"}
    assert writes(admin) == [
        ("POST", "/repositories/pypi/proxy"),
        ("POST", "/repositories/raw/proxy"),
    ]

    admin.api.requests.clear()
    rc, out, _ = apply(capsys, admin.url, *argv, python_mirror=True)
    assert rc == 0
    assert out.splitlines() == [
        "pypi-proxy (pypi proxy): unchanged",
        "python-build-standalone (raw proxy): unchanged",
        "nothing to do",
    ]
    assert writes(admin) == []


def test_update_shows_the_differences_and_puts(
    admin: Admin, capsys: pytest.CaptureFixture[str]
) -> None:
    assert apply(capsys, admin.url, "--remote-url", admin.upstream_url)[0] == 0
    admin.double.repositories["pypi-proxy"]["proxy"]["metadataMaxAge"] = 1440
    admin.double.repositories["pypi-proxy"]["cleanup"] = {"policyNames": ["old"]}
    admin.api.requests.clear()
    rc, out, _ = apply(capsys, admin.url, "--remote-url", admin.upstream_url)
    assert rc == 0
    assert out.splitlines() == [
        "pypi-proxy (pypi proxy): update",
        "  proxy.metadataMaxAge: 1440 -> 60",
        '  cleanup: {"policyNames": ["old"]} -> (removed: PUT replaces the whole repository)',
        "updated pypi-proxy",
    ]
    assert writes(admin) == [("PUT", "/repositories/pypi/proxy/pypi-proxy")]
    assert admin.double.repositories["pypi-proxy"]["proxy"]["metadataMaxAge"] == 60
    assert apply(capsys, admin.url, "--remote-url", admin.upstream_url)[1].endswith(
        "nothing to do\n"
    )


def test_dry_run_changes_nothing(admin: Admin, capsys: pytest.CaptureFixture[str]) -> None:
    admin.double.anonymous_enabled = False
    rc, out, _ = apply(capsys, admin.url, "--dry-run", "--anonymous", "--docker-hub")
    assert rc == 0
    assert out.splitlines() == [
        "pypi-proxy (pypi proxy): create",
        "docker-hub (docker proxy): create",
        "anonymous access: enable",
        "dry run: nothing changed",
    ]
    assert writes(admin) == []
    assert admin.double.repositories == {}
    assert admin.double.anonymous_enabled is False


def test_values_file_repositories_and_anonymous(
    admin: Admin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "values.yaml"
    assert (
        main(
            ["nexus", "values", "--docker-hub", "--no-python-mirror", "--remote-url",
             admin.upstream_url, "-o", str(path)]
        )
        == 0
    )
    capsys.readouterr()
    admin.double.anonymous_enabled = False
    rc, out, err = apply(capsys, admin.url, "--values", str(path))
    assert (rc, err) == (0, "")
    assert out.splitlines() == [
        "pypi-proxy (pypi proxy): create",
        "docker-hub (docker proxy): create",
        "anonymous access: enable",
        "created pypi-proxy",
        "created docker-hub",
        "enabled anonymous access",
    ]
    assert admin.double.anonymous_enabled is True
    docker = admin.double.repositories["docker-hub"]
    assert docker["dockerProxy"]["indexType"] == "HUB"
    rc, out, _ = apply(capsys, admin.url, "--values", str(path))
    assert rc == 0 and out.splitlines()[-1] == "nothing to do"
    assert "anonymous access: unchanged" in out


def test_values_file_with_lint_errors_is_refused(
    admin: Admin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(
        values.render(values.Options()).replace("        strictContentTypeValidation: true\n", "")
    )
    rc, out, err = apply(capsys, admin.url, "--values", str(path))
    assert rc == 2 and out == ""
    assert "storage.strictContentTypeValidation: must not be null" in err
    assert "lint error" in err
    assert admin.api.requests == []


def test_values_and_repository_options_conflict(
    admin: Admin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = apply(capsys, admin.url, "--values", "x.yaml", "--repository", "y")
    assert rc == 2 and "cannot be combined" in err


@pytest.mark.parametrize(
    "argv, env, message",
    [
        ([], "NEXUS_PW_MISSING", "is not set"),
        (["--url", "https://admin:pw@nexus.example"], None, "must not contain credentials"),
        (["--ca-cert", "/nonexistent/ca.pem"], "NEXUS_PW", "does not name a readable file"),
        (["--retries", "-1"], "NEXUS_PW", "--retries"),
    ],
)
def test_input_errors_exit_2(
    admin: Admin, capsys: pytest.CaptureFixture[str], argv: list[str], env: str | None, message: str
) -> None:
    rc, out, err = apply(capsys, admin.url, *argv, password_env=env)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and message in err
    assert "pw@" not in err


def test_password_given_as_password_env_is_not_echoed(
    admin: Admin, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = apply(capsys, admin.url, password_env="hunter2 secret!")
    assert rc == 2 and out == ""
    assert "takes the NAME of an environment variable" in err
    assert "hunter2" not in err


def test_wrong_password_is_a_clear_auth_message(
    admin: Admin, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WRONG_PW", "not-" + ADMIN_PASSWORD)
    rc, out, err = apply(capsys, admin.url, password_env="WRONG_PW")
    assert rc == 1 and out == ""
    assert err.splitlines() == [
        "pipnexus nexus apply: error: authentication failed while reading repository "
        "pypi-proxy: Nexus answered 401 for user 'admin'; check --username and the password in "
        "--password-env [nexus-auth]"
    ]
    assert "not-" + ADMIN_PASSWORD not in err


def test_no_credentials_and_not_allowed(admin: Admin, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = apply(capsys, admin.url, password_env=None)
    assert rc == 1 and "401" in err and "give --username and --password-env" in err
    rc, _, err = apply(capsys, admin.url, "--username", "reader", password_env="READER_PW")
    assert rc == 1 and "answered 403 for user 'reader'" in err
    assert admin.double.repositories == {}


def test_refusals_name_every_problem_in_both_body_shapes(
    admin: Admin, capsys: pytest.CaptureFixture[str]
) -> None:
    # the name is taken by a docker repository: GET pypi/proxy -> 404, POST -> 400 message
    admin.double.repositories["pypi-proxy"] = {
        "name": "pypi-proxy",
        "format": "docker",
        "type": "proxy",
        "url": "",
    }
    expected = [
        "pipnexus nexus apply: error: Nexus refused to create repository pypi-proxy (HTTP 400): "
        "Failed to create repository pypi-proxy: name is already used [nexus-refused]",
        "pipnexus nexus apply: error: 1 change(s) failed [nexus-refused]",
    ]
    rc, out, err = apply(capsys, admin.url)
    assert rc == 1 and err.splitlines() == expected
    assert out.splitlines() == ["pypi-proxy (pypi proxy): create"]
    admin.api.legacy_errors = True  # before 3.49: a bare JSON string
    rc, _, err = apply(capsys, admin.url)
    assert rc == 1 and err.splitlines() == expected
    # a validation array: changing the blob store of an existing repository
    admin.api.legacy_errors = False
    assert apply(capsys, admin.url, "--repository", "pip2")[0] == 0
    rc, out, err = apply(capsys, admin.url, "--repository", "pip2", "--blob-store", "other")
    assert rc == 1
    assert out.splitlines() == [
        "blob store other (file): create",
        "pip2 (pypi proxy): update",
        '  storage.blobStoreName: "default" -> "other"',
        "created blob store other",
    ]
    assert err.splitlines() == [
        "pipnexus nexus apply: error: Nexus refused to update repository pip2 (HTTP 400): "
        "BlobStoreName: You cannot change a repository’s blob store through the API "
        "[nexus-refused]",
        "pipnexus nexus apply: error: 1 change(s) failed [nexus-refused]",
    ]


def test_custom_blob_store_is_created_first(
    admin: Admin, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = apply(capsys, admin.url, "--blob-store", "pypi-blobs")
    assert (rc, err) == (0, "")
    assert out.splitlines() == [
        "blob store pypi-blobs (file): create",
        "pypi-proxy (pypi proxy): create",
        "created blob store pypi-blobs",
        "created pypi-proxy",
    ]
    assert writes(admin) == [("POST", "/blobstores/file"), ("POST", "/repositories/pypi/proxy")]
    assert admin.double.repositories["pypi-proxy"]["storage"]["blobStoreName"] == "pypi-blobs"
    rc, out, _ = apply(capsys, admin.url, "--blob-store", "pypi-blobs")
    assert rc == 0
    assert out.splitlines() == [
        "blob store pypi-blobs (file): unchanged",
        "pypi-proxy (pypi proxy): unchanged",
        "nothing to do",
    ]


def test_secret_references_are_left_out_with_a_note(
    admin: Admin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "values.yaml"
    text = values.render(values.Options()).replace(
        "      format: pypi\n",
        "      format: pypi\n      password:\n        secret: s\n        key: k\n",
    )
    path.write_text(text)
    rc, _out, err = apply(capsys, admin.url, "--values", str(path))
    assert rc == 0
    assert "refer to a Kubernetes Secret" in err and err.count("\n") == 1
    assert "password" not in admin.double.repositories["pypi-proxy"]


@pytest.mark.parametrize(
    "status, text, lines",
    [
        (
            400,
            '[ {\n  "id" : "PARAMETER strictContentTypeValidation",\n  "message" : '
            '"must not be null"\n}, {\n  "id" : "PARAMETER negativeCache",\n  "message" : '
            '"must not be null"\n} ]',
            [
                "storage.strictContentTypeValidation: must not be null",
                "negativeCache: must not be null",
            ],
        ),
        (
            400,
            '[{"id":"PARAMETER timeToLive","message":"must not be null"}]',
            ["negativeCache.timeToLive: must not be null"],
        ),
        (
            400,
            '[{"id":"PARAMETER enabled","message":"must not be null"}]',
            ["enabled: must not be null"],
        ),  # not a repository request: left as Nexus named it
        (
            404,
            '{\n  "id" : "*",\n  "message" : "\\"Repository not found\\""\n}',
            ["Repository not found"],
        ),
        (404, '"Repository not found"', ["Repository not found"]),
        (
            400,
            '{"id":"*","message":"Could not process the input: Unexpected character"}',
            ["Could not process the input: Unexpected character"],
        ),
        (
            400,
            '[{"id":"name","message":"Renaming a repository is not supported"}]',
            ["name: Renaming a repository is not supported"],
        ),
        (500, "<html><body>Error</body></html>", ["HTTP 500"]),
        (502, "", ["HTTP 502"]),
        (400, "plain words", ["HTTP 400: plain words"]),
    ],
)
def test_error_lines(status: int, text: str, lines: list[str]) -> None:
    assert error_lines(status, text, repository="enabled" not in text) == lines


class FlakyNexus(NexusDouble):
    """Answers the first ``failures`` requests with ``status`` (0: drop the connection)."""

    def __init__(self, upstream_url: str, failures: int, status: int = 503) -> None:
        super().__init__(upstream_url, repository=None)
        self.failures = failures
        self.status = status
        self.answers: list[tuple[str, int]] = []

    def handle(self, handler: QuietHandler) -> Response | None:
        with self.lock:
            fail = self.failures > 0
            self.failures -= 1 if fail else 0
        if fail:
            handler.read_body()
            resp: Response | None = empty_response(self.status)
        else:
            resp = super().handle(handler)
        with self.lock:
            self.answers.append((handler.command, resp.status if resp else 0))
        return resp


@pytest.fixture
def flaky(admin: Admin) -> Iterator[FlakyNexus]:
    server = FlakyNexus(admin.upstream_url, failures=2)
    server.users["admin"] = ADMIN_PASSWORD
    install(server)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow
def test_retries_5xx_then_succeeds(flaky: FlakyNexus, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = apply(capsys, flaky.base_url, "--retries", "2")
    assert (rc, err) == (0, "")
    assert out.splitlines()[-1] == "created pypi-proxy"
    assert "pypi-proxy" in flaky.repositories
    # the status endpoint (two failures, then 200), the GET that answered 404, the POST
    assert flaky.answers == [("GET", 503), ("GET", 503), ("GET", 200), ("GET", 404), ("POST", 201)]


@pytest.mark.slow
def test_retries_are_bounded(flaky: FlakyNexus, capsys: pytest.CaptureFixture[str]) -> None:
    flaky.failures = 1000
    flaky.status = 502
    rc, out, err = apply(capsys, flaky.base_url, "--retries", "2")
    assert rc == 1 and out == ""
    # the status endpoint is asked first; apply goes no further than its last 502
    assert err.splitlines() == [
        f"pipnexus nexus apply: error: {flaky.base_url} is not ready: GET "
        "/service/rest/v1/status answered 502 Bad Gateway [nexus-unreachable]",
    ]
    assert len(flaky.answers) == 3


def test_connection_refused_is_bounded(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXUS_PW", ADMIN_PASSWORD)
    rc, out, err = apply(capsys, closed_url(), "--retries", "1")
    assert rc == 1 and out == ""
    assert err.count("\n") == 1
    assert "cannot reach http://127.0.0.1:" in err and "tried 2 times" in err


def test_client_retries_connection_errors_with_backoff() -> None:
    slept: list[float] = []
    client = Client(closed_url(), attempts=4, backoff=0.25, sleep=slept.append)
    with pytest.raises(NexusError) as exc:
        client.request("GET", "/service/rest/v1/status")
    assert slept == [0.25, 0.5, 1.0]
    assert "tried 4 times" in exc.value.summary


def test_client_sends_basic_auth_and_verifies_tls_by_default(admin: Admin) -> None:
    client = Client(admin.url, "admin", ADMIN_PASSWORD)
    assert client.session.verify is True
    resp: Any = client.request("GET", "/service/rest/v1/security/anonymous")
    assert resp.status_code == 200
    client.close()


def test_validation_refusal_becomes_one_line_per_field(admin: Admin) -> None:
    admin.double.version = "3.90.1"  # the rules of 3.67-3.90: httpClient is required
    client = Client(admin.url, "admin", ADMIN_PASSWORD)
    body = {"name": "x", "online": True, "storage": {"blobStoreName": "default"}}
    resp = client.request("POST", "/service/rest/v1/repositories/pypi/proxy", body)
    err = client.refused(resp, "to create repository x", repository=True)
    client.close()
    assert err.summary == "Nexus refused to create repository x (HTTP 400)"
    assert err.lines == [
        "httpClient: must not be null",
        "negativeCache: must not be null",
        "proxy: must not be null",
        "storage.strictContentTypeValidation: must not be null",
    ]


def test_fields_this_nexus_does_not_return_are_not_differences() -> None:
    from pipnexus.nexus.apply import differences

    want = {
        "name": "p",
        "pypi": {"removeQuarantined": False},
        "proxy": {"contentMaxAge": "1440"},
        "dockerProxy": {"indexType": "hub"},
    }
    have: dict[str, Any] = {
        "name": "p",
        "pypi": {"indexPath": "/simple"},
        "proxy": {"contentMaxAge": 1440},
        "dockerProxy": {"indexType": "HUB"},
        "cleanup": None,
    }
    assert differences(want, have) == []
    have["proxy"]["contentMaxAge"] = 60
    have["pypi"]["removeQuarantined"] = True
    have["cleanup"] = {"policyNames": ["x"]}
    assert differences(want, have) == [
        "pypi.removeQuarantined: true -> false",
        'proxy.contentMaxAge: 60 -> "1440"',
        'cleanup: {"policyNames": ["x"]} -> (removed: PUT replaces the whole repository)',
    ]


def test_values_are_linted_for_the_version_the_server_names(
    admin: Admin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pypi proxy without httpClient is right for Nexus 3.95+, wrong for 3.90: apply finds
    that out from the Server header, before it writes anything."""
    from tests.nexus.test_lint import CURRENT_CHART

    NEXUS_VERSION = "3.90.1"
    admin.double.version = NEXUS_VERSION
    path = tmp_path / "values.yaml"
    path.write_text(CURRENT_CHART.replace("https://pypi.org", admin.upstream_url))
    rc, out, err = apply(capsys, admin.url, "--values", str(path))
    version = schema.parse_version(NEXUS_VERSION)
    assert rc == 2 and out == ""
    assert "httpClient: must not be null" in err
    assert f"lint error(s) for Nexus {version}" in err
    assert writes(admin) == []


def test_lint_of_values_follows_the_version() -> None:
    from pipnexus.errors import InputError
    from pipnexus.nexus.apply import ValuesFile, lint_values
    from tests.nexus.test_lint import CURRENT_CHART

    source = ValuesFile("values.yaml", CURRENT_CHART)
    lint_values(source, None)  # before the version is known: what every version requires
    lint_values(source, schema.parse_version("3.95.1"))
    with pytest.raises(InputError, match=r"for Nexus 3\.90\.1"):
        lint_values(source, schema.parse_version("3.90.1"))


@pytest.mark.parametrize(
    "current, version, body",
    [
        ({"enabled": False}, "3.70.1", {"enabled": True}),
        (
            {"enabled": False},
            "3.94.0",
            {"enabled": True, "realmName": "NexusAuthorizingRealm", "userId": "anonymous"},
        ),
        (
            {"enabled": False, "userId": "guest", "realmName": "LdapRealm"},
            "3.70.1",
            {"enabled": True, "realmName": "LdapRealm", "userId": "guest"},
        ),
    ],
)
def test_anonymous_body_keeps_user_and_realm(
    current: dict[str, Any], version: str, body: dict[str, Any]
) -> None:
    from pipnexus.nexus.apply import anonymous_body

    assert anonymous_body(True, current, schema.parse_version(version)) == body
