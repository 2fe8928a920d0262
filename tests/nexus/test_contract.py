"""Contract tests: pipnexus's Nexus requests and the Nexus double's answers against Nexus's own
published contracts.

* The OpenAPI document of each Nexus version (``/service/rest/swagger.json`` of a live 3.67.1,
  3.81.1, 3.90.1, 3.93.2 and 3.94.0 server, as kept by
  sonatype-nexus-community/nexus-repo-api-client-go ``api/openapi.yaml``), pinned by commit
  and checksum in ``testbed/thirdparty.json``.
* The npm package ``@sonatype/nexus-repo-api-client`` 3.96.3 (Sonatype's generated client for
  Nexus 3.96.0): ``dist/models/*.js`` ``instanceOf…`` functions list the required fields.
  ``.ci/run`` installs it into ``.tools/``.

Both are generated from Swagger annotations; Nexus decides with Jackson and bean validation.
Known differences, each asserted below: before 3.94 the generator listed only ``@NotNull``
fields as required, not ``@NotEmpty`` ones (``proxy.remoteUrl``, ``dockerProxy.indexType``);
``AnonymousAccessSettingsXO.userId``/``realmName`` are "required" from 3.94 but have defaults
in the Java class, so ``{"enabled": true}`` (what the chart's configure.sh sends) is complete;
the proxy request's routing rule field is ``routingRule`` in the Java source up to 3.77
(sonatype/nexus-public: components/nexus-repository-services/src/main/java/org/sonatype/nexus/
repository/rest/api/model/ProxyRepositoryApiRequest.java) and in the OpenAPI up to 3.93, but
``routingRuleName`` in the 3.94 OpenAPI.

Tests skip with the reason when those files or the npm package are absent.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from pipnexus.cli import main
from pipnexus.nexus import schema, values
from pipnexus.nexus.apply import rest_body
from testbed import thirdparty
from testbed.nexus_admin import install, required_fields
from testbed.nexus_double import NexusDouble
from testbed.nexus_double import version_tuple as V
from testbed.upstream import Upstream
from tests.nexus.conftest import ADMIN_PASSWORD

# jsonschema comes with check-jsonschema (the test extra) and has no type stubs installed
jsonschema: Any = importlib.import_module("jsonschema")
VERSIONS = thirdparty.NEXUS_VERSIONS
NPM_VERSION = "3.96.0"
API = "/service/rest/v1"
AUTH = ("admin", ADMIN_PASSWORD)
REPO = Path(__file__).resolve().parents[2]

# Fields the OpenAPI calls required that Nexus fills in itself (Java field initializers in
# sonatype/nexus-public: components/nexus-security/src/main/java/org/sonatype/nexus/security/
# anonymous/rest/AnonymousAccessSettingsXO.java)
DEFAULTED = {"AnonymousAccessSettingsXO": {"userId", "realmName"}}
# @NotEmpty fields the pre-3.94 OpenAPI generator did not list as required
NOT_EMPTY_UNLISTED = {"proxy.remoteUrl", "dockerProxy.indexType", "httpClient.authentication.type"}

# apply's variants: the defaults, Docker Hub with anonymous on, a custom file blob store with
# anonymous off, and the example values file
VARIANTS = {
    "default": [],
    "docker-hub": ["--docker-hub", "--anonymous"],
    "blob-store": ["--blob-store", "pypi-blobs", "--no-anonymous"],
    "example-values": ["--values", str(REPO / "examples" / "nexus" / "values.yaml")],
}


# -- the OpenAPI documents ------------------------------------------------------------------


def openapi(version: str) -> dict[str, Any]:
    return thirdparty.openapi(version)  # parsed once, shared with test_schema_published.py


def schema_name(node: dict[str, Any]) -> str | None:
    ref = node.get("$ref")
    return str(ref).rsplit("/", 1)[1] if ref else None


def to_json_schema(
    spec: dict[str, Any], node: dict[str, Any], response: bool, seen: tuple[str, ...] = ()
) -> dict[str, Any]:
    """An OpenAPI 3.0 schema with every ``$ref`` inlined, as plain JSON Schema.

    ``response``: Jackson writes unset optional fields as null, which the Swagger annotations
    never declare (``nullable``), so optional properties also accept null. Requests are checked
    as sent (pipnexus never sends null). ``DEFAULTED`` fields are not required in requests.
    """
    name = schema_name(node)
    if name is not None:
        if name in seen:
            return {}
        target = spec["components"]["schemas"][name]
        inlined = to_json_schema(spec, target, response, (*seen, name))
        if not response and name in DEFAULTED and "required" in inlined:
            inlined["required"] = [r for r in inlined["required"] if r not in DEFAULTED[name]]
        return inlined
    out: dict[str, Any] = {}
    for key in ("type", "enum", "minimum", "maximum", "required"):
        if key in node:
            out[key] = node[key]
    for key in ("allOf", "anyOf", "oneOf"):
        if key in node:
            out[key] = [to_json_schema(spec, n, response, seen) for n in node[key]]
    if "items" in node:
        out["items"] = to_json_schema(spec, node["items"], response, seen)
    if "properties" in node:
        props = {}
        for prop, sub in node["properties"].items():
            converted = to_json_schema(spec, sub, response, seen)
            if response and prop not in node.get("required", ()):
                converted = {"anyOf": [converted, {"type": "null"}]}
            props[prop] = converted
        out["properties"] = props
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = to_json_schema(
            spec, node["additionalProperties"], response, seen
        )
    return out


def operation(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """The OpenAPI operation for ``method`` on ``path`` (relative to /service/rest/v1)."""
    for template, ops in spec["paths"].items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, "/v1" + path.split("?", 1)[0]) and method.lower() in ops:
            op: dict[str, Any] = ops[method.lower()]
            return op
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def request_schema(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    body = operation(spec, method, path)["requestBody"]["content"]
    node = next(iter(body.values()))["schema"]
    return to_json_schema(spec, node, response=False)


def response_schema(spec: dict[str, Any], method: str, path: str, status: int) -> Any:
    """The documented schema of that answer, or None when the OpenAPI documents none."""
    responses = operation(spec, method, path).get("responses", {})
    answer = responses.get(str(status)) or responses.get("default") or {}
    for content in (answer.get("content") or {}).values():
        if "schema" in content:
            return to_json_schema(spec, content["schema"], response=True)
    return None


def problems(schema: dict[str, Any], instance: Any) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    found = []
    for error in validator.iter_errors(instance):
        where = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = re.match(r"'([^']+)'", error.message)
            leaf = missing.group(1) if missing else "?"
            found.append(f"required {where + '.' if where else ''}{leaf}")
        else:
            found.append(f"{where}: {error.message}")
    return sorted(found)


def required_paths(spec: dict[str, Any], name: str, prefix: str = "") -> set[str]:
    """Dotted paths required when their parent object is present (bean validation)."""
    node = spec["components"]["schemas"][name]
    out = {prefix + r for r in node.get("required", ())}
    for prop, sub in node.get("properties", {}).items():
        child = schema_name(sub)
        if child is not None and prefix.count(".") < 3:
            out |= required_paths(spec, child, f"{prefix}{prop}.")
    return out


# -- the npm 3.96 models ---------------------------------------------------------------------


def npm_required(models: Path, name: str, prefix: str = "") -> set[str]:
    """Like ``required_paths`` for a TypeScript model of the npm client."""
    text = (models / f"{name}.js").read_text(encoding="utf-8")
    check = re.search(r"function instanceOf\w+\(value\) \{(.*?)\n\}", text, re.S)
    assert check is not None, name
    out = {prefix + p for p in re.findall(r"if \(!\('(\w+)' in value\)", check.group(1))}
    nested = re.findall(
        r"'(\w+)': (?:json\['\w+'\] == null \? undefined : )?\(0, (\w+)_1\.\w+FromJSON\)", text
    )
    for prop, child in nested:
        if prefix.count(".") < 3:
            out |= npm_required(models, child, f"{prefix}{prop}.")
    return out


NPM_MODELS = {
    "/repositories/pypi/proxy": "PypiProxyRepositoryApiRequest",
    "/repositories/docker/proxy": "DockerProxyRepositoryApiRequest",
    "/repositories/raw/proxy": "RawProxyRepositoryApiRequest",
    "/blobstores/file": "FileBlobStoreApiCreateRequest",
    "/security/anonymous": "AnonymousAccessSettingsXO",
}


def npm_missing(models: Path, model: str, body: dict[str, Any]) -> list[str]:
    missing = []
    for path in sorted(npm_required(models, model) - DEFAULTED.get(model, set())):
        *parents, leaf = path.split(".")
        node: Any = body
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict) and node.get(leaf) is None:
            missing.append(path)
    return missing


# -- running apply against a double of one version -------------------------------------------


def apply_bodies(
    upstream: Upstream, version: str, argv: list[str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> list[tuple[str, str, Any]]:
    monkeypatch.setenv("NEXUS_PW", ADMIN_PASSWORD)
    with NexusDouble(upstream.base_url, repository=None, version=version) as double:
        double.users["admin"] = ADMIN_PASSWORD
        api = install(double)
        rc = main(["nexus", "apply", "--url", double.base_url, "--password-env", "NEXUS_PW",
                   *argv])
        out, err = capsys.readouterr()
        assert rc == 0, (version, out, err)
        assert api.bodies, "apply sent nothing"
        return list(api.bodies)


def lint_output(path: Path, version: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(["nexus", "lint", "--nexus-version", version, str(path)])
    out, err = capsys.readouterr()
    return rc, out + err


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_body_apply_sends_matches_the_openapi(
    upstream: Upstream,
    version: str,
    variant: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    bodies = apply_bodies(upstream, version, VARIANTS[variant], monkeypatch, capsys)
    for method, path, body in bodies:
        assert_valid_or_predicted(version, method, path, body, tmp_path, capsys)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_interpreter_mirror_body_fits_every_published_contract_as_it_is(
    upstream: Upstream,
    version: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bodies = apply_bodies(upstream, version, [], monkeypatch, capsys)
    raw = [body for method, path, body in bodies if path == "/repositories/raw/proxy"]
    assert len(raw) == 1 and raw[0]["name"] == values.PYTHON_MIRROR_REPOSITORY
    # no version needs more than the newest-version values send (nothing for lint to predict)
    spec = request_schema(openapi(version), "POST", "/repositories/raw/proxy")
    assert problems(spec, raw[0]) == [], version
    assert raw[0]["proxy"]["contentMaxAge"] == raw[0]["proxy"]["metadataMaxAge"] == -1


def assert_valid_or_predicted(
    version: str,
    method: str,
    path: str,
    body: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``body`` fits ``version``'s request schema, except for required fields an older version
    wants and the newest-version values omit: those `nexus lint --nexus-version` must name
    before anyone applies the values there."""
    found = problems(request_schema(openapi(version), method, path), body)
    missing = [p[len("required ") :] for p in found if p.startswith("required ")]
    assert [p for p in found if not p.startswith("required ")] == [], (method, path)
    if not missing:
        return
    assert path.startswith("/repositories/"), (path, missing)
    doc = values.values(values.Options())
    doc["config"]["repos"] = [{**body, "format": path.split("/")[2], "type": "proxy"}]
    file = tmp_path / "predicted-values.yaml"
    file.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    rc, said = lint_output(file, version, capsys)
    assert rc == 1, said
    for field in missing:
        assert field in said, (field, said)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_body_apply_sends_has_the_npm_396_required_fields(
    upstream: Upstream,
    variant: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    models = thirdparty.npm_models_dir()
    for method, path, body in apply_bodies(
        upstream, NPM_VERSION, VARIANTS[variant], monkeypatch, capsys
    ):
        if method == "POST":
            assert npm_missing(models, NPM_MODELS[path], body) == [], path
        else:  # PUT of an existing repository takes the same request model
            base = path.rsplit("/", 1)[0] if path.count("/") == 4 else path
            assert npm_missing(models, NPM_MODELS[base], body) == [], path


# `nexus lint --nexus-version` comes with the version-aware pipnexus.nexus.schema, built on
# another branch; until it is merged these tests are expected to fail (strict: once it is there
# they run normally).
lint_knows_versions = pytest.mark.xfail(
    not hasattr(schema, "KNOWN_VERSIONS"),
    strict=True,
    reason="needs `pipnexus nexus lint --nexus-version` (version-aware pipnexus.nexus.schema)",
)


@lint_knows_versions
@pytest.mark.parametrize("version", VERSIONS)
def test_lint_predicts_what_each_version_requires_of_values_without_http_client(
    version: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = values.values(values.Options(python_mirror=None))
    (repo,) = doc["config"]["repos"]
    repo.pop("httpClient", None)
    found = problems(request_schema(openapi(version), "POST", "/repositories/pypi/proxy"),
                     rest_body(repo))
    # every published OpenAPI up to 3.94.0 requires the object (only blocked/autoBlock inside
    # it stopped being required after 3.90)
    assert found == ["required httpClient"]
    file = tmp_path / "values.yaml"
    file.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    rc, said = lint_output(file, version, capsys)
    assert rc == 1, said
    assert "httpClient" in said, said
    for other in ("negativeCache", "strictContentTypeValidation", "metadataMaxAge", "blocked"):
        assert other not in said, said


# -- the double's table against the contracts ------------------------------------------------

REQUEST_MODELS = {
    "pypi": "PypiProxyRepositoryApiRequest",
    "docker": "DockerProxyRepositoryApiRequest",
    "raw": "RawProxyRepositoryApiRequest",
}


def double_paths(fmt: str, version: str) -> set[str]:
    return {path for path, _ in required_fields(fmt, version)}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("fmt", sorted(REQUEST_MODELS))
def test_double_requires_what_the_openapi_requires(fmt: str, version: str) -> None:
    published = required_paths(openapi(version), REQUEST_MODELS[fmt])
    ours = double_paths(fmt, version)
    if V(version) < (3, 94):
        # @NotEmpty fields the generator did not list yet (all listed from 3.94 on)
        assert ours - published == {p for p in NOT_EMPTY_UNLISTED if p.split(".")[0] in ours}
    else:
        assert ours == published, (sorted(ours ^ published), version)
    assert published <= ours


@pytest.mark.parametrize("fmt", sorted(REQUEST_MODELS))
def test_double_requires_what_the_npm_396_models_require(fmt: str) -> None:
    models = thirdparty.npm_models_dir()
    assert double_paths(fmt, NPM_VERSION) == npm_required(models, REQUEST_MODELS[fmt])


def test_version_changes_are_where_the_contracts_put_them() -> None:
    def pypi(version: str) -> set[str]:
        return required_paths(openapi(version), "PypiProxyRepositoryApiRequest")

    for version in VERSIONS:
        # top-level httpClient is required in every published OpenAPI up to 3.94.0 ...
        assert "httpClient" in pypi(version), version
        blocked = {"httpClient.blocked", "httpClient.autoBlock"} <= pypi(version)
        assert blocked == (V(version) < (3, 91)), version
        assert ("pypi.removeQuarantined" in pypi(version)) == (V(version) < (3, 94)), version



def test_pypi_proxy_http_client_is_optional_in_the_npm_396_models() -> None:
    # the double's default (newest) version follows this
    models = thirdparty.npm_models_dir()
    assert "httpClient" not in npm_required(models, "PypiProxyRepositoryApiRequest")
    assert "httpClient" in npm_required(models, "DockerProxyRepositoryApiRequest")


def test_routing_rule_field_names_are_documented_both_ways(upstream: Upstream) -> None:
    for version in VERSIONS:
        props = openapi(version)["components"]["schemas"]["PypiProxyRepositoryApiRequest"][
            "properties"
        ]
        name = "routingRuleName" if V(version) >= (3, 94) else "routingRule"
        assert name in props and ({"routingRule", "routingRuleName"} - {name}).isdisjoint(props)
    # the double follows the Java source (routingRule) always and the OpenAPI from 3.94 on
    body = rest_body(values.pypi_repository(values.Options(remote_url=upstream.base_url)))
    for version, field, kept in (
        ("3.90.1", "routingRule", True),
        ("3.90.1", "routingRuleName", False),
        ("3.94.0", "routingRuleName", True),
    ):
        with NexusDouble(upstream.base_url, repository=None, version=version) as double:
            double.users["admin"] = ADMIN_PASSWORD
            install(double)
            with requests.Session() as s:
                s.trust_env = False
                url = f"{double.base_url}{API}/repositories/pypi/proxy"
                resp = s.post(url, json={**body, field: "r"}, auth=AUTH, timeout=10)
                assert resp.status_code == 201
                got = s.get(f"{url}/pypi-proxy", auth=AUTH, timeout=10).json()
        assert (got["routingRuleName"] == "r") is kept, (version, field)


# -- the double's answers against the response schemas ---------------------------------------


def raw_body(remote: str) -> dict[str, Any]:
    body = rest_body(values.pypi_repository(values.Options(repository="gh", remote_url=remote)))
    del body["pypi"]
    body["raw"] = {"contentDisposition": "ATTACHMENT"}
    return body


@contextmanager
def admin_session(
    upstream: Upstream, version: str
) -> Iterator[tuple[NexusDouble, requests.Session, dict[str, dict[str, Any]]]]:
    """A Nexus double of ``version`` with the admin API installed, a session logged in as admin,
    and the REST bodies of every repository pipnexus writes (docker hub included) by format."""
    opts = values.Options(remote_url=upstream.base_url, docker_hub=True)
    repos = {r["format"]: rest_body(r) for r in values.repositories(opts)}
    with NexusDouble(upstream.base_url, repository=None, version=version) as double:
        double.users["admin"] = ADMIN_PASSWORD
        install(double)
        with requests.Session() as s:
            s.trust_env = False
            s.auth = AUTH
            yield double, s, repos


@pytest.mark.parametrize("version", VERSIONS)
def test_every_answer_of_the_double_matches_the_openapi(
    upstream: Upstream, version: str
) -> None:
    spec = openapi(version)
    with admin_session(upstream, version) as (double, s, repos):

        def call(method: str, path: str, body: Any = None) -> requests.Response:
            return s.request(method, double.base_url + API + path, json=body, timeout=10)

        writes = [
            ("POST", "/repositories/pypi/proxy", repos["pypi"], 201),
            ("POST", "/repositories/docker/proxy", repos["docker"], 201),
            ("POST", "/repositories/raw/proxy", raw_body(upstream.base_url), 201),
            ("POST", "/blobstores/file", {"name": "b", "path": "b"}, 204),
            ("PUT", "/security/anonymous", {"enabled": True}, 200),
        ]
        for method, path, body, status in writes:
            assert call(method, path, body).status_code == status, path
        reads = [
            "/repositories",
            "/repositories/pypi-proxy",
            "/repositories/pypi/proxy/pypi-proxy",
            "/repositories/docker/proxy/docker-hub",
            "/repositories/raw/proxy/gh",
            "/blobstores/file/b",
            "/security/anonymous",
            "/security/realms/active",
            "/security/realms/available",
            "/security/roles",
            "/security/roles/nx-anonymous",
            "/security/users?userId=anonymous&source=default",
        ]
        checked = []
        for path in reads:
            resp = call("GET", path)
            assert resp.status_code == 200, path
            assert resp.headers["Server"] == f"Nexus/{version}-01 (OSS)"
            schema = response_schema(spec, "GET", path, 200)
            if schema is None:
                continue  # the OpenAPI documents no body for this answer
            assert problems(schema, resp.json()) == [], (version, path, resp.json())
            checked.append(path)
        # the PUT answer of anonymous access is documented from some versions on
        resp = call("PUT", "/security/anonymous", {"enabled": False})
        schema = response_schema(spec, "PUT", "/security/anonymous", 200)
        if schema is not None:
            assert problems(schema, resp.json()) == []
    # the repository and blob store reads are documented in every version
    assert {
        "/repositories",
        "/repositories/pypi/proxy/pypi-proxy",
        "/repositories/docker/proxy/docker-hub",
        "/repositories/raw/proxy/gh",
        "/blobstores/file/b",
    } <= set(checked), checked


def test_the_double_knows_every_published_version() -> None:
    from testbed.nexus_double import DEFAULT_VERSION, KNOWN_VERSIONS

    assert set(VERSIONS) <= set(KNOWN_VERSIONS)
    assert NPM_VERSION == DEFAULT_VERSION  # the newest contract is the double's default


def test_answers_of_the_default_double_have_the_npm_396_required_fields(
    upstream: Upstream,
) -> None:
    models = thirdparty.npm_models_dir()
    with admin_session(upstream, NPM_VERSION) as (double, s, repos):
        base = double.base_url + API
        for fmt, body in (*repos.items(), ("raw", raw_body(upstream.base_url))):
            assert s.post(f"{base}/repositories/{fmt}/proxy", json=body, timeout=10).ok
        assert s.post(f"{base}/blobstores/file", json={"name": "b", "path": "b"}, timeout=10).ok
        answers = {
            "PyPiProxyApiRepository": "/repositories/pypi/proxy/pypi-proxy",
            "DockerProxyApiRepository": "/repositories/docker/proxy/docker-hub",
            "RawProxyApiRepository": "/repositories/raw/proxy/gh",
            "FileBlobStoreApiModel": "/blobstores/file/b",
            "ApiUser": "/security/users?userId=anonymous",
        }
        for model, path in answers.items():
            got = s.get(base + path, timeout=10).json()
            for answer in got if isinstance(got, list) else [got]:
                assert npm_missing(models, model, answer) == [], (model, answer)
