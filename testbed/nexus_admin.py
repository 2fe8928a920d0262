"""The Nexus REST admin API on top of the Nexus double.

Sources: sonatype/nexus-public ``components/nexus-repository-services/src/main/java/org/
sonatype/nexus/repository/rest/api/`` (``AbstractRepositoriesApiResource.java``,
``AbstractProxyRepositoriesApiResource.java``, ``model/*.java``), ``components/nexus-siesta/``
(``ResteasyViolationExceptionMapper.java``), and the published OpenAPI of each version
(``/service/rest/swagger.json``, as kept by sonatype-nexus-community/nexus-repo-api-client-go).

Usage::

    with NexusDouble(upstream.base_url, repository=None) as nexus:
        admin = install(nexus)            # plugs a REST handler into this double only
        admin.admins                      # users allowed to administer ({"admin"})
        admin.legacy_errors = True        # pre-3.49 bodies: "Repository not found" as a bare string
        admin.requests                    # [(method, path)] handled so far
        admin.bodies                      # [(method, path, JSON body)] of the writes so far

Endpoints (all JSON pretty-printed like Jackson, unknown fields ignored):

* ``GET /service/rest/v1/repositories`` and ``/repositories/{name}``: ``RepositoryXO`` objects.
* ``GET/PUT /service/rest/v1/repositories/{format}/{type}/{name}`` and
  ``POST /service/rest/v1/repositories/{format}/{type}`` for pypi, docker and raw proxies:
  201 / 204 / 200, validation errors as a siesta array with leaf-name ids
  (``PARAMETER strictContentTypeValidation``) following the double's Nexus version
  (``required_fields(fmt, version)``), ``Blob store not found``, rename refused, blob store
  change refused, 404 for a missing repository or another format/type.
  A PyPI proxy created here serves ``/repository/<name>/simple/`` at once.
* ``GET/PUT /service/rest/v1/security/anonymous``.
* ``GET/PUT /service/rest/v1/blobstores/file/{name}``, ``POST /service/rest/v1/blobstores/file``
  (204; adds the name to ``double.blob_stores``).
* ``GET/POST /service/rest/v1/script``, ``GET/PUT /script/{name}``, ``POST
  /script/{name}/run`` (``admin.scripts``, ``admin.script_runs``; Groovy is not run).
* realms, roles and users under ``/service/rest/v1/security/`` (testbed/nexus_security.py,
  ``admin.security``).

Authentication: anonymous -> 401 with the Basic challenge; a user outside ``admins`` -> 403.

The validation below is written from the Java constraint annotations of the request models,
on purpose independently of ``pipnexus.nexus.schema``, so that tests comparing the
linter with this double compare two readings of the sources, not one table with itself.
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from typing import Any, Optional

from testbed.httpbase import Response
from testbed.nexus_double import (
    NexusDouble,
    Request,
    empty_response,
    json_response,
    parse_json,
    siesta_error,
    unauthorized,
    validation_errors,
    version_tuple,
)
from testbed.nexus_security import Security

API = "/service/rest/v1"
NULL = "must not be null"
EMPTY = "must not be empty"
# Nexus checks the whole value (Java String.matches), so no trailing line break gets through
NAME_PATTERN = re.compile(r"[a-zA-Z0-9\-]{1}[a-zA-Z0-9_\-\.]*")
NAME_TEXT = (
    "Only letters, digits, underscores(_), hyphens(-), and dots(.) are allowed and may not "
    "start with underscore or dot."
)
URI_TEXT = "URI should be in the format 'scheme:[//authority][/path][?query][#fragment]'"

# Required fields of the repository requests per version, written from the Java constraint
# annotations (sonatype/nexus-public: .../repository/rest/api/model/*.java) and the published
# contracts (OpenAPI per version, npm @sonatype/nexus-repo-api-client 3.96.3), on purpose
# independently of ``pipnexus.nexus.schema``: tests comparing the linter with this double then
# compare two readings of the sources, not one table with itself. tests/nexus/test_contract.py
# checks this table against every published OpenAPI file and the npm 3.96 models.
#
# (path, message, formats or None for all, first version, first version without it)
# A nested field is checked only when its parent object is present: bean validation does not
# descend into null. Before 3.94 the OpenAPI generator listed only @NotNull fields as required,
# not @NotEmpty ones (remoteUrl, indexType, a blob store's name/path), which the Java source
# has enforced all along.
Version = tuple[int, ...]
ALWAYS: tuple[Version, Version] = ((0,), (999,))
Rule = tuple[str, str, Optional[frozenset[str]], Version, Version]
RULES: tuple[Rule, ...] = (
    ("name", EMPTY, None, *ALWAYS),
    ("online", NULL, None, *ALWAYS),
    ("storage", NULL, None, *ALWAYS),
    ("storage.blobStoreName", EMPTY, None, *ALWAYS),
    ("storage.strictContentTypeValidation", NULL, None, *ALWAYS),
    ("proxy", NULL, None, *ALWAYS),
    ("proxy.remoteUrl", EMPTY, None, *ALWAYS),
    ("proxy.contentMaxAge", NULL, None, *ALWAYS),
    ("proxy.metadataMaxAge", NULL, None, *ALWAYS),
    ("negativeCache", NULL, None, *ALWAYS),
    ("negativeCache.enabled", NULL, None, *ALWAYS),
    ("negativeCache.timeToLive", NULL, None, *ALWAYS),
    # pypi proxy: required in every OpenAPI file up to 3.94.0, optional in the 3.96 models;
    # 3.95 has no published contract here and keeps the 3.94 rule (the stricter reading)
    ("httpClient", NULL, frozenset({"pypi"}), (0,), (3, 96)),
    ("httpClient", NULL, frozenset({"docker", "raw"}), *ALWAYS),
    # required in the 3.90.1 OpenAPI, not in 3.93.2; the double puts the change at 3.91.0
    ("httpClient.blocked", NULL, None, (0,), (3, 91)),
    ("httpClient.autoBlock", NULL, None, (0,), (3, 91)),
    ("httpClient.authentication.type", EMPTY, None, *ALWAYS),
    ("replication.preemptivePullEnabled", NULL, None, *ALWAYS),
    # inside the optional pypi block; 3.94 replaced it with indexPath
    ("pypi.removeQuarantined", NULL, frozenset({"pypi"}), (0,), (3, 94)),
    ("docker", NULL, frozenset({"docker"}), *ALWAYS),
    ("docker.v1Enabled", NULL, frozenset({"docker"}), *ALWAYS),
    ("docker.forceBasicAuth", NULL, frozenset({"docker"}), *ALWAYS),
    ("dockerProxy", NULL, frozenset({"docker"}), *ALWAYS),
    # listed as required only from the 3.94 OpenAPI, but a Nexus of early 2022 refused a body
    # without it with exactly this answer (datadrivers/go-nexus-client#83); the linter warns
    # for the versions whose published API is silent
    ("dockerProxy.indexType", EMPTY, frozenset({"docker"}), *ALWAYS),
)
FORMATS = frozenset({"pypi", "docker", "raw"})  # proxy repositories of these formats
# @NotEmpty with their own messages in every version, sonatype/nexus-public: components/
# nexus-blobstore-file/src/main/java/org/sonatype/nexus/blobstore/file/rest/
# FileBlobStoreApiCreateRequest.java (name) and FileBlobStoreApiModel.java (path; also the
# update request's parent), checked by FileBlobStoreResource's @Valid parameters
BLOB_STORE_MESSAGES = {"name": "Name is required", "path": "Path is required"}
RANGES = {("connection", "retries"): (0, 10), ("connection", "timeout"): (1, 3600)}


def required_fields(fmt: str, version: str) -> list[tuple[str, str]]:
    """``[(path, message)]`` a ``fmt`` proxy request must carry on Nexus ``version``."""
    v = version_tuple(version)
    return [
        (path, message)
        for path, message, formats, since, until in RULES
        if (formats is None or fmt in formats) and since <= v < until
    ]


def _missing(value: Any, message: str) -> bool:
    return value is None or (message == EMPTY and value in ("", [], {}))


def _violations(fmt: str, version: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for path, message in required_fields(fmt, version):
        *parents, leaf = path.split(".")
        node: Any = body
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue  # the parent is absent (reported itself when required) or not an object
        if _missing(node.get(leaf), message):
            # ResteasyViolationExceptionMapper: "<type> <last path segment>"
            out.append((f"PARAMETER {leaf}", message))
    name = body.get("name")
    if isinstance(name, str) and name and not NAME_PATTERN.fullmatch(name):
        out.append(("PARAMETER name", NAME_TEXT))
    proxy = body.get("proxy")
    remote = proxy.get("remoteUrl") if isinstance(proxy, dict) else None
    if isinstance(remote, str) and remote and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", remote):
        out.append(("PARAMETER remoteUrl", URI_TEXT))
    return out


def _all_violations(fmt: str, version: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    found = _violations(fmt, version, body)
    http = body.get("httpClient")
    conn = http.get("connection") if isinstance(http, dict) else None
    if isinstance(conn, dict):
        for key in ("retries", "timeout"):
            v = conn.get(key)
            lo, hi = RANGES["connection", key]
            if isinstance(v, int) and not isinstance(v, bool):
                if v < lo:
                    found.append((f"PARAMETER {key}", f"must be greater than or equal to {lo}"))
                elif v > hi:
                    found.append((f"PARAMETER {key}", f"must be less than or equal to {hi}"))
    # Hibernate Validator reports a set; sort for stable answers
    return sorted(set(found))


def _stored(
    fmt: str, rtype: str, body: dict[str, Any], url: str, version: str
) -> dict[str, Any]:
    """The GET shape of a repository created from ``body`` (SimpleApiRepositoryAdapter)."""
    v = version_tuple(version)
    storage = body["storage"]
    # DEVIATION: the defaults Nexus 3.96 fills in for an omitted httpClient are not published;
    # the double uses the UI's (not blocked, auto-block on)
    given = body.get("httpClient")
    http: dict[str, Any] = given if isinstance(given, dict) else {}
    auth = http.get("authentication")
    if isinstance(auth, dict):
        auth = {k: v for k, v in auth.items() if k not in ("password", "bearerToken")}
    preserve = body["proxy"].get("preserveEncodedCharacters")
    cfg: dict[str, Any] = {
        "name": body["name"],
        "format": fmt,
        "type": rtype,
        "url": url,
        "online": bool(body["online"]),
        "storage": {
            "blobStoreName": storage["blobStoreName"],
            "strictContentTypeValidation": bool(storage["strictContentTypeValidation"]),
        },
        "cleanup": body.get("cleanup") or None,
        "proxy": {
            "remoteUrl": body["proxy"]["remoteUrl"],
            "contentMaxAge": body["proxy"]["contentMaxAge"],
            "metadataMaxAge": body["proxy"]["metadataMaxAge"],
            # ProxyAttributes has it from 3.82 (absent in the 3.81.1 OpenAPI, in 3.90.1's).
            # DEVIATION: whether Nexus answers false or nothing when the request left it out is
            # not published; the double answers it only when it was sent
            **(
                {"preserveEncodedCharacters": preserve is True}
                if v >= (3, 82) and preserve is not None
                else {}
            ),
        },
        "negativeCache": {
            "enabled": bool(body["negativeCache"]["enabled"]),
            "timeToLive": body["negativeCache"]["timeToLive"],
        },
        "httpClient": {
            "blocked": bool(http.get("blocked", False)),
            "autoBlock": bool(http.get("autoBlock", True)),
            "connection": _connection(http.get("connection")),
            "authentication": auth or None,
        },
        # The open source up to 3.77 reads the request field routingRule
        # (sonatype/nexus-public: components/nexus-repository-services/src/main/java/org/
        # sonatype/nexus/repository/rest/api/model/ProxyRepositoryApiRequest.java) and answers
        # routingRuleName; the 3.94 OpenAPI names routingRuleName in requests too. The double
        # reads routingRule always and routingRuleName from 3.94 on.
        "routingRuleName": body.get("routingRule")
        or (body.get("routingRuleName") if v >= (3, 94) else None),
    }
    if fmt == "pypi":
        pypi = body.get("pypi")
        pypi = pypi if isinstance(pypi, dict) else {}
        attrs: dict[str, Any] = {}
        if v < (3, 94):
            attrs["removeQuarantined"] = bool(pypi.get("removeQuarantined", False))
        if v >= (3, 91) and isinstance(pypi.get("indexPath"), str):
            attrs["indexPath"] = pypi["indexPath"]
        cfg["pypi"] = attrs
    if fmt == "raw":
        raw = body.get("raw")
        raw = raw if isinstance(raw, dict) else {}
        cfg["raw"] = {"contentDisposition": str(raw.get("contentDisposition") or "ATTACHMENT")}
    if fmt == "docker":
        docker = dict(body["docker"])
        cfg["docker"] = {
            "v1Enabled": bool(docker["v1Enabled"]),
            "forceBasicAuth": bool(docker["forceBasicAuth"]),
            "httpPort": docker.get("httpPort"),
            "httpsPort": docker.get("httpsPort"),
            "subdomain": docker.get("subdomain"),
        }
        dp = body["dockerProxy"]
        cfg["dockerProxy"] = {
            # Jackson reads enums case-insensitively; Nexus answers the constant's name
            "indexType": str(dp["indexType"]).upper(),
            "indexUrl": dp.get("indexUrl"),
            "cacheForeignLayers": bool(dp.get("cacheForeignLayers", False)),
            "foreignLayerUrlWhitelist": list(dp.get("foreignLayerUrlWhitelist") or []),
        }
    return cfg


CONNECTION_FIELDS = (
    "retries",
    "userAgentSuffix",
    "timeout",
    "enableCircularRedirects",
    "enableCookies",
    "useTrustStore",
)


def _connection(given: Any) -> dict[str, Any] | None:
    """HttpClientConnectionAttributes as answered: every field, null when unset (final fields,
    no @JsonInclude: sonatype/nexus-public: components/nexus-repository-services/src/main/java/
    org/sonatype/nexus/repository/rest/api/model/HttpClientConnectionAttributes.java)."""
    if not isinstance(given, dict) or not given:
        return None
    return {k: given.get(k) for k in CONNECTION_FIELDS}


def _summary(cfg: dict[str, Any]) -> dict[str, Any]:
    """RepositoryXO as listed by GET /v1/repositories."""
    attributes: dict[str, Any] = {}
    if cfg.get("type") == "proxy" and isinstance(cfg.get("proxy"), dict):
        attributes = {"proxy": {"remoteUrl": cfg["proxy"].get("remoteUrl")}}
    return {
        "name": cfg["name"],
        "format": cfg.get("format"),
        "type": cfg.get("type"),
        "url": cfg.get("url"),
        "attributes": attributes,
    }


class AdminApi:
    """The REST admin endpoints of one double; see the module docstring."""

    def __init__(self, double: NexusDouble) -> None:
        self.double = double
        self.admins: set[str] = {"admin"}
        self.legacy_errors = False
        self.requests: list[tuple[str, str]] = []
        self.bodies: list[tuple[str, str, Any]] = []
        self.blob_store_paths: dict[str, str] = {}
        self.security = Security(self)
        self.scripts: dict[str, dict[str, Any]] = {}  # name -> ScriptXO
        self.script_runs: list[tuple[str, Any]] = []
        self._lock = threading.Lock()

    # -- responses ----------------------------------------------------------------------------

    def message_error(self, status: int, message: str) -> Response:
        """WebApplicationMessageException: ``{"id":"*","message":"\\"...\\""}`` since 3.49."""
        if self.legacy_errors or version_tuple(self.double.version) < (3, 49):
            # legacy_errors: the old body on a newer double, for tests of the fallback
            return siesta_error(status, message)
        return siesta_error(status, {"id": "*", "message": f'"{message}"'})

    def _auth(self, req: Request) -> Response | None:
        if req.user is None:
            # @RequiresAuthentication: Shiro challenges an anonymous subject
            return unauthorized()
        if req.user not in self.admins:
            # DEVIATION: Nexus checks a privilege per action and repository
            # (nx-repository-admin-<format>-<name>-<action>); the double has one admin set.
            return empty_response(403)
        return None

    # -- dispatch -----------------------------------------------------------------------------

    def __call__(self, double: NexusDouble, req: Request) -> Response | None:
        if not req.path.startswith(API + "/"):
            return None
        rest = req.path[len(API) :]
        with self._lock:
            self.requests.append((req.method, rest))
            if req.method in ("POST", "PUT"):
                self.bodies.append((req.method, rest, parse_json(req)))
        if rest == "/security/anonymous":
            return self.anonymous(req)
        if rest.startswith("/security/"):
            return self.security.handle(req, rest[len("/security/") :])
        if rest == "/script" or rest.startswith("/script/"):
            return self.script(req, [urllib.parse.unquote(p) for p in rest.split("/")[2:]])
        if rest == "/blobstores/file" or rest.startswith("/blobstores/file/"):
            return self.file_blob_store(req, urllib.parse.unquote(rest[len("/blobstores/file/") :]))
        if rest == "/repositories" or rest == "/repositories/":
            return self.list_repositories(req)
        if not rest.startswith("/repositories/"):
            return None
        parts = [urllib.parse.unquote(p) for p in rest[len("/repositories/") :].split("/")]
        if len(parts) == 1:
            return self.get_summary(req, parts[0])
        if len(parts) in (2, 3) and all(parts):
            fmt, rtype = parts[0], parts[1]
            if rtype != "proxy" or fmt not in FORMATS:
                # DEVIATION: only pypi, docker and raw proxies are modelled; RESTEasy answers
                # 404 for formats whose plugin is absent, and 405 for unmodelled verbs.
                return empty_response(404)
            name = parts[2] if len(parts) == 3 else None
            if name is None:
                if req.method != "POST":
                    return empty_response(405)
                return self.create(req, fmt, rtype)
            if req.method == "GET":
                return self.get(req, fmt, rtype, name)
            if req.method == "PUT":
                return self.update(req, fmt, rtype, name)
            return empty_response(405)
        return None

    # -- repositories ---------------------------------------------------------------------------

    def list_repositories(self, req: Request) -> Response:
        if req.method != "GET":
            return empty_response(405)
        if req.user is None and not self.double.anonymous_enabled:
            # DEVIATION (not verified against a source): anonymous callers with anonymous
            # access off are challenged here rather than answered with an empty list.
            return unauthorized()
        with self.double.lock:
            listing = [_summary(cfg) for cfg in self.double.repositories.values()]
        return json_response(200, listing)

    def get_summary(self, req: Request, name: str) -> Response:
        if req.method != "GET":
            return empty_response(405)
        with self.double.lock:
            cfg = self.double.repositories.get(name)
        if cfg is None:
            return self.message_error(404, f"Unable to locate repository with id {name}")
        return json_response(200, _summary(cfg))

    def get(self, req: Request, fmt: str, rtype: str, name: str) -> Response:
        denied = self._auth(req)
        if denied:
            return denied
        with self.double.lock:
            cfg = self._repository(fmt, rtype, name)
            if cfg is None:
                return self.message_error(404, "Repository not found")
            return json_response(200, cfg)

    def _repository(self, fmt: str, rtype: str, name: str) -> dict[str, Any] | None:
        """Repository ``name`` if it has this format and type, as the endpoint's path says (the
        caller holds the double's lock)."""
        cfg = self.double.repositories.get(name)
        if cfg is None or (cfg.get("format"), cfg.get("type")) != (fmt, rtype):
            return None
        return cfg

    def _validated(
        self, req: Request, fmt: str, rtype: str
    ) -> tuple[dict[str, Any] | None, Response | None]:
        body = parse_json(req)
        if not isinstance(body, dict):
            return None, _not_json()
        problems = _all_violations(fmt, self.double.version, body)
        if problems:
            return None, validation_errors(problems)
        return body, None

    def create(self, req: Request, fmt: str, rtype: str) -> Response:
        denied = self._auth(req)
        if denied:
            return denied
        body, error = self._validated(req, fmt, rtype)
        if error:
            return error
        assert body is not None
        name = body["name"]
        with self.double.lock:
            if body["storage"]["blobStoreName"] not in self.double.blob_stores:
                return validation_errors([("BlobStoreName", "Blob store not found")])
            if any(n.lower() == name.lower() for n in self.double.repositories):
                # DEVIATION: the exact text for a duplicate name is not pinned by any source
                # in the public sources; a 400 WebApplicationMessage is what the code path gives.
                return self.message_error(
                    400, f"Failed to create repository {name}: name is already used"
                )
            url = f"{self.double.base_url}/repository/{name}"
            self.double.repositories[name] = _stored(fmt, rtype, body, url, self.double.version)
        return empty_response(201)

    def update(self, req: Request, fmt: str, rtype: str, name: str) -> Response:
        denied = self._auth(req)
        if denied:
            return denied
        with self.double.lock:
            current = self._repository(fmt, rtype, name)
        if current is None:
            return empty_response(404)  # update() returned false -> 404 without a body
        body, error = self._validated(req, fmt, rtype)
        if error:
            return error
        assert body is not None
        if body["name"] != name:
            return validation_errors([("name", "Renaming a repository is not supported")])
        with self.double.lock:
            if body["storage"]["blobStoreName"] not in self.double.blob_stores:
                return validation_errors([("BlobStoreName", "Blob store not found")])
            if body["storage"]["blobStoreName"] != current["storage"]["blobStoreName"]:
                return validation_errors(
                    [
                        (
                            "BlobStoreName",
                            "You cannot change a repository’s blob store through the API",
                        )
                    ]
                )
            # a full replacement of online and attributes, not a merge
            self.double.repositories[name] = _stored(
                fmt, rtype, body, current["url"], self.double.version
            )
        return empty_response(204)

    # -- blob stores ----------------------------------------------------------------------------

    def file_blob_store(self, req: Request, name: str) -> Response:
        denied = self._auth(req)
        if denied:
            return denied
        if name:
            with self.double.lock:
                if name not in self.double.blob_stores:
                    return empty_response(404)
                if req.method == "PUT":
                    body = parse_json(req)
                    if not isinstance(body, dict):
                        return _not_json()
                    if not body.get("path"):
                        return validation_errors([("PARAMETER path", BLOB_STORE_MESSAGES["path"])])
                    self.blob_store_paths[name] = str(body["path"])
                    return empty_response(204)
                if req.method != "GET":
                    return empty_response(405)
                path = self.blob_store_paths.get(name, name)
            return json_response(200, {"path": path, "softQuota": None})
        if req.method != "POST":
            return empty_response(405)
        body = parse_json(req)
        if not isinstance(body, dict):
            return _not_json()
        missing = [(f"PARAMETER {k}", m) for k, m in BLOB_STORE_MESSAGES.items() if not body.get(k)]
        if missing:
            return validation_errors(missing)
        with self.double.lock:
            if any(n.lower() == str(body["name"]).lower() for n in self.double.blob_stores):
                return validation_errors(
                    [("name", "Name is already used, must be unique (ignoring case)")]
                )
            self.double.blob_stores.add(str(body["name"]))
            self.blob_store_paths[str(body["name"])] = str(body["path"])
        return empty_response(204)  # a void JAX-RS method

    # -- scripts (ScriptResource; the chart turns nexus.scripts.allowCreation on) ------------

    def script(self, req: Request, parts: list[str]) -> Response:
        denied = self._auth(req)
        if denied:
            return denied
        body = parse_json(req) if req.method in ("POST", "PUT") else None
        with self._lock:
            if not parts:
                if req.method == "GET":
                    return json_response(200, list(self.scripts.values()))
                if req.method != "POST":
                    return empty_response(405)
                if not isinstance(body, dict) or not body.get("name"):
                    return _not_json()
                self.scripts[str(body["name"])] = {
                    "name": str(body["name"]),
                    "content": str(body.get("content") or ""),
                    "type": str(body.get("type") or "groovy"),
                }
                return empty_response(204)
            name = parts[0]
            if name not in self.scripts:
                # DEVIATION: the 404 body of a missing script is not pinned by a source
                return empty_response(404)
            if len(parts) == 2 and parts[1] == "run" and req.method == "POST":
                # DEVIATION: the double does not run Groovy; it records the call and answers
                # like a script returning nothing
                self.script_runs.append((name, parse_json(req)))
                return json_response(200, {"name": name, "result": "null"})
            if len(parts) != 1:
                return empty_response(404)
            if req.method == "GET":
                return json_response(200, self.scripts[name])
            if req.method != "PUT":
                return empty_response(405)
            if not isinstance(body, dict):
                return _not_json()
            self.scripts[name] = {**self.scripts[name], "content": str(body.get("content") or "")}
            return empty_response(204)

    # -- anonymous access -----------------------------------------------------------------

    def anonymous(self, req: Request) -> Response:
        denied = self._auth(req)
        if denied:
            return denied
        if req.method == "GET":
            return json_response(200, self._anonymous_settings())
        if req.method != "PUT":
            return empty_response(405)
        body = parse_json(req)
        if not isinstance(body, dict):
            return _not_json()
        # AnonymousAccessSettingsXO (sonatype/nexus-public: components/nexus-security/src/main/
        # java/org/sonatype/nexus/security/anonymous/rest/AnonymousAccessSettingsXO.java):
        # a primitive "enabled" defaulting to false, @NotBlank userId/realmName defaulting to
        # anonymous / NexusAuthorizingRealm, so the chart's {"enabled":true} is complete.
        realm = body.get("realmName", "NexusAuthorizingRealm")
        user = body.get("userId", "anonymous")
        blank = [(f"PARAMETER {k}", "must not be blank") for k, v in
                 (("realmName", realm), ("userId", user)) if v is None or not str(v).strip()]
        if blank:
            return validation_errors(blank)
        if realm != "NexusAuthorizingRealm":
            # DEVIATION: the text for an unknown realm is not pinned by a source
            return validation_errors([("realmName", "Realm does not exist")])
        enabled = body.get("enabled", False)
        if not isinstance(enabled, bool):
            return _not_json()
        with self.double.lock:
            self.double.anonymous_enabled = enabled
        return json_response(200, self._anonymous_settings())

    def _anonymous_settings(self) -> dict[str, Any]:
        return {
            "enabled": self.double.anonymous_enabled,
            "userId": "anonymous",
            "realmName": "NexusAuthorizingRealm",
        }


def _not_json() -> Response:
    # DEVIATION: Nexus puts Jackson's exception text after "Could not process the input: "; the
    # double has its own text. Jackson also refuses values of the wrong JSON type (e.g.
    # "online": [1]); the double only checks presence.
    message = "Could not process the input: not a JSON object"
    return siesta_error(400, {"id": "*", "message": message})


def install(double: NexusDouble) -> AdminApi:
    """Add the admin REST API to ``double`` (before its own handlers) and return it."""
    api = AdminApi(double)
    double.rest_handlers.insert(0, api)
    return api
