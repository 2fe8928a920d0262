"""The linter's table (pipnexus.nexus.schema) and the Nexus double's validation agree."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests
import yaml

from pipnexus.nexus import lint, schema, values
from pipnexus.nexus.apply import rest_body
from tests.nexus.conftest import ADMIN_PASSWORD, Admin
from tests.nexus.conftest import LINT_VERSION as NEXUS_VERSION

# the double validates as the Nexus version it announces; the table is checked at that version
VERSION = schema.parse_version(NEXUS_VERSION)

OPTS = values.Options(docker_hub=True)
REPOS = {(r["format"], r["type"]): r for r in values.repositories(OPTS)}
CASES = [(key, field) for key in sorted(REPOS) for field in schema.required_fields(*key, VERSION)]


def post(admin: Admin, fmt: str, rtype: str, payload: Any) -> requests.Response:
    with requests.Session() as s:
        s.trust_env = False
        return s.post(
            f"{admin.url}/service/rest/v1/repositories/{fmt}/{rtype}",
            json=payload,
            auth=("admin", ADMIN_PASSWORD),
            timeout=10,
        )


def without(repo: dict[str, Any], path: str) -> dict[str, Any]:
    repo = copy.deepcopy(repo)
    node = repo
    *parents, leaf = path.split(".")
    for p in parents:
        node = node[p]
    del node[leaf]
    return repo


def lint_repo(repo: dict[str, Any]) -> list[str]:
    doc = values.values(OPTS)
    doc["config"]["repos"] = [repo]
    found = lint.lint_text(yaml.safe_dump(doc, sort_keys=False), VERSION)
    return [d.message for d in found if d.severity == "error"]


@pytest.mark.parametrize("key, field", CASES, ids=[f"{k[0]}-{k[1]}-{f.path}" for k, f in CASES])
def test_removing_a_required_field_fails_lint_and_nexus(
    admin: Admin, key: tuple[str, str], field: schema.Field
) -> None:
    repo = without(REPOS[key], field.path)
    assert any(f"{field.path}: {field.message}" in m for m in lint_repo(repo)), lint_repo(repo)
    resp = post(admin, *key, rest_body(repo))
    assert resp.status_code == 400
    assert resp.headers["Content-Type"] == "application/vnd.siesta-validation-errors-v1+json"
    assert {"id": f"PARAMETER {field.leaf}", "message": field.message} in resp.json()
    assert admin.double.repositories == {}


@pytest.mark.parametrize("key", sorted(REPOS))
def test_complete_body_passes_both(admin: Admin, key: tuple[str, str]) -> None:
    assert lint_repo(REPOS[key]) == []
    assert post(admin, *key, rest_body(REPOS[key])).status_code == 201


@pytest.mark.parametrize("key", sorted(REPOS))
def test_double_requires_nothing_the_table_lacks(admin: Admin, key: tuple[str, str]) -> None:
    # every object present but empty: the double must name exactly the table's fields
    fields = schema.required_fields(*key, VERSION)
    payload: dict[str, Any] = {}
    for f in fields:
        if "." not in f.path and any(g.parent == f.path for g in fields):
            payload[f.path] = {}
    payload["pypi"] = {}
    resp = post(admin, *key, payload)
    assert resp.status_code == 400
    got = {(e["id"], e["message"]) for e in resp.json()}
    table = {(f"PARAMETER {f.leaf}", f.message) for f in fields if f.path not in payload}
    if any(f.path == "pypi.removeQuarantined" for f in fields):  # pypi proxies up to 3.93
        assert ("PARAMETER removeQuarantined", "must not be null") in got
    else:  # the pypi block is ignored for other formats
        table.discard(("PARAMETER removeQuarantined", "must not be null"))
    assert got == table


@pytest.mark.parametrize("field", schema.BLOB_STORE_FIELDS, ids=lambda f: f.path)
def test_blob_store_without_a_required_field_fails_lint_and_nexus(
    admin: Admin, field: schema.Field
) -> None:
    store = {"name": "pypi-blobs", "type": "file", "path": "pypi-blobs"}
    del store[field.path]
    doc = values.values(values.Options(blob_store="pypi-blobs"))
    doc["config"]["blobStores"] = [store]
    found = lint.lint_text(yaml.safe_dump(doc, sort_keys=False), VERSION)
    assert any(f"config.blobStores[0].{field.path}: {field.message}" in d.message for d in found)
    with requests.Session() as s:
        s.trust_env = False
        resp = s.post(
            f"{admin.url}/service/rest/v1/blobstores/file",
            json={k: v for k, v in store.items() if k != "type"},
            auth=("admin", ADMIN_PASSWORD),
            timeout=10,
        )
    assert resp.status_code == 400
    assert resp.json() == [{"id": f"PARAMETER {field.leaf}", "message": field.message}]


def test_preserve_encoded_characters_set_over_rest_is_kept(admin: Admin) -> None:
    repo = copy.deepcopy(REPOS["raw", "proxy"])
    repo["proxy"]["preserveEncodedCharacters"] = True
    assert lint_repo(repo) == []
    assert post(admin, "raw", "proxy", rest_body(repo)).status_code == 201
    stored = admin.double.repositories[repo["name"]]
    assert stored["proxy"]["preserveEncodedCharacters"] is True
