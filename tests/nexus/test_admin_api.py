"""The admin REST API of the Nexus double behaves like Nexus's REST resources."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from pipnexus.nexus import values
from pipnexus.nexus.apply import rest_body
from tests.nexus.conftest import ADMIN_PASSWORD, READER_PASSWORD, Admin

API = "/service/rest/v1"
AUTH = ("admin", ADMIN_PASSWORD)
SIESTA = "application/vnd.siesta-validation-errors-v1+json"


def body(**opts: Any) -> dict[str, Any]:
    return rest_body(values.pypi_repository(values.Options(**opts)))


def call(
    admin: Admin, method: str, path: str, payload: Any = None, auth: Any = AUTH
) -> requests.Response:
    with requests.Session() as s:
        s.trust_env = False
        return s.request(method, admin.url + API + path, json=payload, auth=auth, timeout=10)


def test_create_get_list_and_serve(admin: Admin) -> None:
    resp = call(admin, "POST", "/repositories/pypi/proxy", body())
    assert (resp.status_code, resp.content) == (201, b"")
    got = call(admin, "GET", "/repositories/pypi/proxy/pypi-proxy")
    assert got.status_code == 200
    assert '"name" : "pypi-proxy"' in got.text  # Jackson's pretty printer
    data = got.json()
    assert (data["format"], data["type"]) == ("pypi", "proxy")
    assert data["url"] == f"{admin.url}/repository/pypi-proxy"
    assert data["proxy"]["metadataMaxAge"] == 60
    assert data["routingRuleName"] is None and data["cleanup"] is None
    # every connection field is answered, null when unset
    assert data["httpClient"]["connection"] == {
        "retries": 2,
        "userAgentSuffix": None,
        "timeout": 60,
        "enableCircularRedirects": None,
        "enableCookies": None,
        "useTrustStore": False,
    }
    listing = call(admin, "GET", "/repositories", auth=None).json()
    assert listing == [
        {
            "name": "pypi-proxy",
            "format": "pypi",
            "type": "proxy",
            "url": f"{admin.url}/repository/pypi-proxy",
            "attributes": {
                "proxy": {
                    "remoteUrl": admin.double.repositories["pypi-proxy"]["proxy"]["remoteUrl"]
                }
            },
        }
    ]
    assert call(admin, "GET", "/repositories/pypi-proxy", auth=None).json() == listing[0]


def test_created_repository_serves_pypi_pages(admin: Admin) -> None:
    assert admin.double.repositories == {}
    payload = body(remote_url=admin.upstream_url)
    assert call(admin, "POST", "/repositories/pypi/proxy", payload).status_code == 201
    page = requests.get(admin.double.index_url("pypi-proxy") + "pip/", timeout=10)
    assert page.status_code == 200
    assert "../../packages/pip/99.0/pip-99.0-py3-none-any.whl#sha256=" in page.text


def test_unauthenticated_gets_challenge_and_non_admin_403(admin: Admin) -> None:
    resp = call(admin, "POST", "/repositories/pypi/proxy", body(), auth=None)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'BASIC realm="Sonatype Nexus Repository Manager"'
    resp = call(admin, "POST", "/repositories/pypi/proxy", body(), auth=("admin", "wrong"))
    assert resp.status_code == 401
    resp = call(admin, "POST", "/repositories/pypi/proxy", body(), auth=("reader", READER_PASSWORD))
    assert resp.status_code == 403
    assert admin.double.repositories == {}


def test_validation_errors_shape(admin: Admin) -> None:
    payload = body()
    del payload["negativeCache"]
    del payload["storage"]["strictContentTypeValidation"]
    payload["proxy"]["remoteUrl"] = ""
    resp = call(admin, "POST", "/repositories/pypi/proxy", payload)
    assert resp.status_code == 400
    assert resp.headers["Content-Type"] == SIESTA
    assert resp.headers["X-Siesta-FaultId"]
    assert '"id" : "PARAMETER negativeCache"' in resp.text
    assert sorted(map(json.dumps, resp.json())) == sorted(
        map(
            json.dumps,
            [
                {"id": "PARAMETER negativeCache", "message": "must not be null"},
                {"id": "PARAMETER remoteUrl", "message": "must not be empty"},
                {"id": "PARAMETER strictContentTypeValidation", "message": "must not be null"},
            ],
        )
    )


def test_blob_store_rename_and_wrong_format(admin: Admin) -> None:
    resp = call(admin, "POST", "/repositories/pypi/proxy", body(blob_store="nope"))
    assert resp.status_code == 400
    assert resp.json() == [{"id": "BlobStoreName", "message": "Blob store not found"}]
    assert call(admin, "POST", "/repositories/pypi/proxy", body()).status_code == 201
    renamed = body(repository="other")
    resp = call(admin, "PUT", "/repositories/pypi/proxy/pypi-proxy", renamed)
    assert resp.status_code == 400
    assert resp.json() == [{"id": "name", "message": "Renaming a repository is not supported"}]
    # missing, or the name exists with another format/type
    resp = call(admin, "GET", "/repositories/docker/proxy/pypi-proxy")
    assert resp.status_code == 404
    assert resp.json() == {"id": "*", "message": '"Repository not found"'}
    assert call(admin, "GET", "/repositories/pypi/proxy/missing").status_code == 404
    assert (
        call(
            admin, "PUT", "/repositories/pypi/proxy/missing", body(repository="missing")
        ).status_code
        == 404
    )
    assert call(admin, "GET", "/repositories/maven2/proxy/pypi-proxy").status_code == 404
    admin.api.legacy_errors = True
    resp = call(admin, "GET", "/repositories/pypi/proxy/missing")
    assert (resp.status_code, resp.json()) == (404, "Repository not found")


def test_put_is_a_full_replacement(admin: Admin) -> None:
    first = body()
    first["cleanup"] = {"policyNames": ["weekly"]}
    assert call(admin, "POST", "/repositories/pypi/proxy", first).status_code == 201
    second = body(metadata_max_age=5)
    resp = call(admin, "PUT", "/repositories/pypi/proxy/pypi-proxy", second)
    assert (resp.status_code, resp.content) == (204, b"")
    data = call(admin, "GET", "/repositories/pypi/proxy/pypi-proxy").json()
    assert data["proxy"]["metadataMaxAge"] == 5
    assert data["cleanup"] is None


def test_anonymous_access(admin: Admin) -> None:
    assert (
        call(admin, "PUT", "/security/anonymous", {"enabled": False}, auth=None).status_code == 401
    )
    resp = call(admin, "PUT", "/security/anonymous", {"enabled": False})
    assert resp.status_code == 200
    assert resp.json() == {
        "enabled": False,
        "userId": "anonymous",
        "realmName": "NexusAuthorizingRealm",
    }
    assert admin.double.anonymous_enabled is False
    assert call(admin, "GET", "/security/anonymous").json()["enabled"] is False
    resp = call(admin, "PUT", "/security/anonymous", {"enabled": True, "realmName": "Nope"})
    assert resp.json() == [{"id": "realmName", "message": "Realm does not exist"}]


def test_file_blob_stores(admin: Admin) -> None:
    assert call(admin, "GET", "/blobstores/file/pypi").status_code == 404
    assert (
        call(
            admin, "POST", "/blobstores/file", {"name": "pypi", "path": "pypi"}, auth=None
        ).status_code
        == 401
    )
    resp = call(admin, "POST", "/blobstores/file", {"name": "pypi", "path": "pypi"})
    assert (resp.status_code, resp.content) == (204, b"")
    assert "pypi" in admin.double.blob_stores
    assert call(admin, "GET", "/blobstores/file/pypi").json() == {"path": "pypi", "softQuota": None}
    resp = call(admin, "POST", "/blobstores/file", {"name": "PyPI", "path": "x"})
    assert resp.json() == [
        {"id": "name", "message": "Name is already used, must be unique (ignoring case)"}
    ]
    # FileBlobStoreApiModel: @NotEmpty(message = "Path is required") path, in every version
    resp = call(admin, "POST", "/blobstores/file", {"name": "x"})
    assert resp.json() == [{"id": "PARAMETER path", "message": "Path is required"}]
    resp = call(admin, "PUT", "/blobstores/file/pypi", {})
    assert resp.json() == [{"id": "PARAMETER path", "message": "Path is required"}]


def test_repository_names_are_checked_whole(admin: Admin) -> None:
    # Nexus matches the whole name: a trailing line break or space is refused like any other
    for bad in ("pypi\n", "pypi ", "_pypi", ".pypi"):
        payload = body()
        payload["name"] = bad
        resp = call(admin, "POST", "/repositories/pypi/proxy", payload)
        assert resp.status_code == 400, bad
        assert "Only letters" in resp.text
    assert admin.double.repositories == {}


def test_anonymous_body_of_the_chart_is_complete(admin: Admin) -> None:
    # AnonymousAccessSettingsXO: enabled defaults to false, userId/realmName to the defaults
    resp = call(admin, "PUT", "/security/anonymous", {"enabled": True})
    assert resp.status_code == 200 and admin.double.anonymous_enabled is True
    resp = call(admin, "PUT", "/security/anonymous", {})
    assert (resp.status_code, resp.json()["enabled"]) == (200, False)
    resp = call(admin, "PUT", "/security/anonymous", {"enabled": True, "userId": " "})
    assert resp.json() == [{"id": "PARAMETER userId", "message": "must not be blank"}]


def test_file_blob_store_update(admin: Admin) -> None:
    assert call(admin, "PUT", "/blobstores/file/missing", {"path": "x"}).status_code == 404
    resp = call(admin, "PUT", "/blobstores/file/default", {"path": "elsewhere"})
    assert (resp.status_code, resp.content) == (204, b"")
    assert call(admin, "GET", "/blobstores/file/default").json()["path"] == "elsewhere"


def test_realms(admin: Admin) -> None:
    assert call(admin, "GET", "/security/realms/active", auth=None).status_code == 401
    assert call(admin, "GET", "/security/realms/active").json() == ["NexusAuthenticatingRealm"]
    wanted = ["NexusAuthenticatingRealm", "DockerToken"]
    resp = call(admin, "PUT", "/security/realms/active", wanted)
    assert (resp.status_code, resp.content) == (204, b"")
    assert call(admin, "GET", "/security/realms/active").json() == wanted
    assert call(admin, "PUT", "/security/realms/active", ["Nope"]).status_code == 400
    ids = {r["id"] for r in call(admin, "GET", "/security/realms/available").json()}
    assert set(wanted) <= ids


def test_roles_and_users(admin: Admin) -> None:
    assert call(admin, "GET", "/security/roles/nx-metrics?source=default").status_code == 404
    role = {"id": "nx-metrics", "name": "nx-metrics", "privileges": ["nx-metrics-all"]}
    resp = call(admin, "POST", "/security/roles", role)
    assert resp.status_code == 200 and resp.json()["id"] == "nx-metrics"
    assert call(admin, "GET", "/security/roles/nx-metrics").json()["privileges"] == [
        "nx-metrics-all"
    ]
    resp = call(admin, "PUT", "/security/roles/nx-metrics", {**role, "description": "d"})
    assert resp.status_code == 204
    assert call(admin, "POST", "/security/roles", {"id": "x"}).json() == [
        {"id": "PARAMETER name", "message": "must not be empty"}
    ]
    found = call(admin, "GET", "/security/users/?userId=anonymous&source=default").json()
    assert [u["userId"] for u in found] == ["anonymous"]
    anon = {**found[0], "roles": ["nx-anonymous", "nx-metrics"]}
    assert call(admin, "PUT", "/security/users/anonymous", anon).status_code == 204
    unknown_role = {**anon, "roles": ["nope"]}
    assert call(admin, "PUT", "/security/users/anonymous", unknown_role).status_code == 400
    user = {
        "userId": "ci",
        "firstName": "C",
        "lastName": "I",
        "emailAddress": "ci@example.org",
        "status": "active",
        "roles": ["nx-anonymous"],
    }
    assert call(admin, "POST", "/security/users", user).json() == [
        {"id": "PARAMETER password", "message": "must not be empty"}
    ]
    resp = call(admin, "POST", "/security/users", {**user, "password": "pw-1"})
    assert resp.status_code == 200 and "password" not in resp.json()
    assert admin.double.users["ci"] == "pw-1"  # the new user can sign in


@contextmanager
def playing(upstream: Any, version: str) -> Iterator[tuple[str, requests.Session]]:
    """A Nexus double playing ``version`` with the admin API (no repositories): the API's base
    URL and a session that ignores the environment's proxies."""
    from testbed.nexus_admin import install
    from testbed.nexus_double import NexusDouble

    with NexusDouble(upstream.base_url, repository=None, version=version) as double:
        install(double)
        double.users["admin"] = ADMIN_PASSWORD
        with requests.Session() as s:
            s.trust_env = False
            yield double.base_url + API, s


def test_required_fields_follow_the_version(upstream: Any) -> None:
    payload = body()
    del payload["httpClient"]["blocked"]
    payload["pypi"] = {}
    expected = {
        "3.90.1": {"PARAMETER blocked", "PARAMETER removeQuarantined"},
        "3.93.2": {"PARAMETER removeQuarantined"},
        "3.94.0": set(),
    }
    for version, ids in expected.items():
        with playing(upstream, version) as (api, s):
            resp = s.post(f"{api}/repositories/pypi/proxy", json=payload, auth=AUTH, timeout=10)
            got = {e["id"] for e in resp.json()} if resp.status_code == 400 else set()
            assert got == ids, version
            assert resp.headers["Server"] == f"Nexus/{version}-01 (OSS)"
    # 3.96 no longer requires httpClient in a pypi proxy request (npm models 3.96.3)
    del payload["httpClient"]
    with playing(upstream, "3.96.0") as (api, s):
        url = f"{api}/repositories/pypi/proxy"
        assert s.post(url, json=payload, auth=AUTH, timeout=10).status_code == 201
        got = s.get(f"{url}/pypi-proxy", auth=AUTH, timeout=10).json()
    assert got["httpClient"]["blocked"] is False and got["pypi"] == {}


def test_versions_before_349_answer_bare_messages(upstream: Any) -> None:
    with playing(upstream, "3.48.0") as (api, s):
        resp = s.get(f"{api}/repositories/pypi/proxy/missing", auth=AUTH, timeout=10)
    assert (resp.status_code, resp.json()) == (404, "Repository not found")
    assert resp.headers["Server"] == "Nexus/3.48.0-01 (OSS)"
