"""The version table (pipnexus.nexus.schema) against every published Nexus REST API we have.

* the OpenAPI files of Nexus 3.67.1 ... 3.94.0 (``/service/rest/swagger.json`` as captured in
  ``sonatype-nexus-community/nexus-repo-api-client: spec/openapi.yaml``), from the optional
  third-party folder that ``testbed.thirdparty`` finds;
* the npm package ``@sonatype/nexus-repo-api-client`` 3.96.3 when installed in ``.tools``
  (``dist/models/<Schema>.js``: ``instanceOf<Schema>`` tests each required field).

Each test skips with the reason when its artifact is absent. A change of Nexus's published
``required`` lists makes these tests fail, so the table cannot drift silently.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pipnexus.nexus import schema
from testbed import thirdparty

# the Nexus whose API the npm models (package 3.96.3) were generated from: dist/runtime.js
NPM_VERSION = schema.parse_version("3.96.0")

# request schema -> (format, type) of the table
REQUESTS = {
    "PypiProxyRepositoryApiRequest": ("pypi", "proxy"),
    "DockerProxyRepositoryApiRequest": ("docker", "proxy"),
    "RawProxyRepositoryApiRequest": ("raw", "proxy"),
}
# attribute schema -> the object path it describes in a proxy request of that format
ATTRIBUTES = {
    "StorageAttributes": ("pypi", "storage"),
    "ProxyAttributes": ("pypi", "proxy"),
    "NegativeCacheAttributes": ("pypi", "negativeCache"),
    "HttpClientAttributes": ("raw", "httpClient"),
    "PyPiProxyAttributes": ("pypi", "pypi"),
    "DockerAttributes": ("docker", "docker"),
    "DockerProxyAttributes": ("docker", "dockerProxy"),
}
# Fields the table requires although a published spec does not list them. Each is enforced by
# Nexus's bean validation, which the specs do not always reflect:
# * proxy.remoteUrl: ``@NotEmpty`` in sonatype/nexus-public: components/nexus-repository-services/
#   src/main/java/org/sonatype/nexus/repository/rest/api/model/ProxyAttributes.java (3.94 and
#   3.96 then list it as required).
# (dockerProxy.indexType, whose Java source is not public, follows the files: required where
# they list it, a warning before, schema.UNPUBLISHED.)
SOURCE_ONLY = {"proxy.remoteUrl"}


def load_schemas(version: str) -> dict[str, Any]:
    doc = thirdparty.openapi(version)  # parsed once, shared with test_contract.py
    schemas = doc.get("components", {}).get("schemas") or doc.get("definitions") or {}
    assert schemas, f"{thirdparty.openapi_file(version)}: no schemas"
    return dict(schemas)


def table_children(fmt: str, rtype: str, parent: str, version: schema.Version) -> set[str]:
    """The leaves the table requires directly under ``parent`` ("" for the body)."""
    return {f.leaf for f in schema.required_fields(fmt, rtype, version) if f.parent == parent}


def check(name: str, required: set[str], version: schema.Version) -> None:
    if name in REQUESTS:
        fmt, rtype = REQUESTS[name]
        parent = ""
    else:
        fmt, parent = ATTRIBUTES[name]
        rtype = "proxy"
    table = table_children(fmt, rtype, parent, version)
    prefix = f"{parent}." if parent else ""
    extra = {leaf for leaf in table - required if f"{prefix}{leaf}" not in SOURCE_ONLY}
    assert required <= table, f"{name} @ {version}: the table misses {sorted(required - table)}"
    assert not extra, f"{name} @ {version}: the table requires {sorted(extra)}, Nexus does not"


@pytest.mark.parametrize("version", thirdparty.NEXUS_VERSIONS)
def test_repository_requests_match_the_openapi_file(version: str) -> None:
    schemas = load_schemas(version)
    v = schema.parse_version(version)
    for name in (*REQUESTS, *ATTRIBUTES):
        if name not in schemas:
            continue  # e.g. a format absent from that version
        check(name, set(schemas[name].get("required") or ()), v)


@pytest.mark.parametrize("version", thirdparty.NEXUS_VERSIONS)
def test_blob_store_and_anonymous_match_the_openapi_file(version: str) -> None:
    schemas = load_schemas(version)
    v = schema.parse_version(version)
    for name, fields in (
        ("FileBlobStoreApiCreateRequest", schema.BLOB_STORE_FIELDS),
        ("AnonymousAccessSettingsXO", schema.ANONYMOUS_FIELDS),
    ):
        required = set(schemas[name].get("required") or ())
        table = {f.path for f in schema.select(fields, v)}
        # a file blob store's name and path are @NotEmpty in the Java source of every version
        # (sonatype/nexus-public: components/nexus-blobstore-file/src/main/java/org/sonatype/
        # nexus/blobstore/file/rest/FileBlobStoreApiCreateRequest.java, FileBlobStoreApiModel
        # .java), which the OpenAPI generator lists only from 3.94
        source_only = {"name", "path"} if name == "FileBlobStoreApiCreateRequest" else set()
        assert required <= table and table - required <= source_only, (name, version)


@pytest.mark.parametrize("version", thirdparty.NEXUS_VERSIONS)
def test_versioned_keys_match_the_openapi_file(version: str) -> None:
    """A key the table says this version reads is in its schema, and the others are not."""
    schemas = load_schemas(version)
    v = schema.parse_version(version)
    objects = {
        "": schemas["PypiProxyRepositoryApiRequest"],
        "pypi": schemas["PyPiProxyAttributes"],
        "proxy": schemas["ProxyAttributes"],
        "docker": schemas["DockerAttributes"],
        "dockerProxy": schemas["DockerProxyAttributes"],
        "raw": schemas["RawAttributes"],
    }
    for vk in schema.VERSIONED_KEYS:
        properties = set(objects[vk.obj].get("properties") or ())
        assert (vk.key in properties) == vk.applies(v), (vk, version)
    # and every property of the objects we know completely is in the table's known keys
    for obj, spec in objects.items():
        if obj:
            known = set(schema.KNOWN_KEYS[obj])
            assert set(spec.get("properties") or ()) <= known, (obj, version)


@pytest.mark.parametrize("version", thirdparty.NEXUS_VERSIONS)
def test_routing_rule_field_name_is_the_documented_split(version: str) -> None:
    properties = set(load_schemas(version)["PypiProxyRepositoryApiRequest"]["properties"])
    assert properties & set(schema.ROUTING_RULE_KEYS), version
    if schema.parse_version(version) >= schema.V3_94:
        assert "routingRuleName" in properties
    else:
        assert "routingRule" in properties


def npm_required(models: Path, name: str) -> set[str] | None:
    path = models / f"{name}.js"
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    body = re.search(rf"function instanceOf{name}\(value\) \{{(.*?)\n\}}", text, re.DOTALL)
    assert body, f"{path}: no instanceOf{name}"
    return set(re.findall(r"!\('(\w+)' in value\)", body.group(1)))


def test_table_matches_the_npm_models() -> None:
    models = thirdparty.npm_models_dir()
    seen = 0
    for name in (*REQUESTS, *ATTRIBUTES):
        required = npm_required(models, name)
        if required is None:
            continue
        seen += 1
        check(name, required, NPM_VERSION)
    assert seen >= len(REQUESTS)
    for name, fields in (
        ("FileBlobStoreApiCreateRequest", schema.BLOB_STORE_FIELDS),
        ("AnonymousAccessSettingsXO", schema.ANONYMOUS_FIELDS),
    ):
        required = npm_required(models, name)
        assert required is not None, name
        assert required == {f.path for f in schema.select(fields, NPM_VERSION)}, name


def test_npm_models_are_the_newest_known_version() -> None:
    runtime = thirdparty.npm_models_dir().parent / "runtime.js"
    found = re.search(r"The version of the OpenAPI document: (\S+)", runtime.read_text("utf-8"))
    assert found, "dist/runtime.js names no OpenAPI document version"
    version = found.group(1)
    assert schema.parse_version(version) == NPM_VERSION
    assert schema.parse_version(version) <= schema.NEWEST, (
        f"npm models {version} are newer than schema.NEWEST: check the table against them "
        "and add the version to KNOWN_VERSIONS"
    )
    assert NPM_VERSION in schema.KNOWN_VERSIONS


def test_every_openapi_version_is_known() -> None:
    for version in thirdparty.NEXUS_VERSIONS:
        assert schema.parse_version(version) in schema.KNOWN_VERSIONS


@pytest.mark.parametrize("version", thirdparty.NEXUS_VERSIONS)
def test_preserve_encoded_characters_gate_is_the_published_one(version: str) -> None:
    prop = load_schemas(version)["ProxyAttributes"]["properties"].get("preserveEncodedCharacters")
    v = schema.parse_version(version)
    since, until = schema.URL_ENCODING_GATED
    if prop is None:
        assert v < since, version
        return
    gated = schema.URL_ENCODING_PROPERTY in prop.get("description", "")
    assert gated == (since <= v < until), version


def test_preserve_encoded_characters_is_not_gated_in_the_npm_models() -> None:
    text = (thirdparty.npm_models_dir() / "ProxyAttributes.d.ts").read_text(encoding="utf-8")
    assert "preserveEncodedCharacters" in text
    assert "urlEncodingMode" not in text
    assert schema.URL_ENCODING_GATED[1] <= NPM_VERSION


@pytest.mark.parametrize("version", thirdparty.NEXUS_VERSIONS)
def test_connection_settings_live_under_http_client_connection(version: str) -> None:
    """Where lint sends misplaced retries/timeout/useTrustStore: the same place in every
    version (so the misplaced-key rule needs no version range)."""
    schemas = load_schemas(version)
    connection = set(schemas["HttpClientConnectionAttributes"]["properties"])
    assert connection == set(schema.KNOWN_KEYS["httpClient.connection"]), version
    assert set(schemas["HttpClientAttributes"]["properties"]) == set(
        schema.KNOWN_KEYS["httpClient"]
    ), version
    for key in ("retries", "timeout", "useTrustStore"):
        for obj in ("", *schema.KNOWN_KEYS):
            if obj != "httpClient.connection":
                assert schema.misplaced(obj, key) == f"httpClient.connection.{key}", (obj, key)
