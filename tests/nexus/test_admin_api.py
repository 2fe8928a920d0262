"""The admin REST API of the Nexus double behaves as documented (nexus-facts.md §1)."""

from __future__ import annotations

import json
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
    resp = call(admin, "POST", "/blobstores/file", {"name": "x"})
    assert resp.json() == [{"id": "PARAMETER path", "message": "must not be empty"}]


def test_repository_names_are_checked_whole(admin: Admin) -> None:
    # Nexus matches the whole name: a trailing line break or space is refused like any other
    for bad in ("pypi\n", "pypi ", "_pypi", ".pypi"):
        payload = body()
        payload["name"] = bad
        resp = call(admin, "POST", "/repositories/pypi/proxy", payload)
        assert resp.status_code == 400, bad
        assert "Only letters" in resp.text
    assert admin.double.repositories == {}
