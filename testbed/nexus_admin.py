"""The Nexus REST admin API on top of the Nexus double (nexus-facts.md §1.2-§1.7).

Usage::

    with NexusDouble(upstream.base_url, repository=None) as nexus:
        admin = install(nexus)            # plugs a REST handler into this double only
        admin.admins                      # users allowed to administer ({"admin"})
        admin.legacy_errors = True        # pre-3.49 bodies: "Repository not found" as a bare string
        admin.requests                    # [(method, path)] handled so far

Endpoints (all JSON pretty-printed like Jackson, unknown fields ignored):

* ``GET /service/rest/v1/repositories`` and ``/repositories/{name}``: ``RepositoryXO`` objects.
* ``GET/PUT /service/rest/v1/repositories/{format}/{type}/{name}`` and
  ``POST /service/rest/v1/repositories/{format}/{type}`` for pypi and docker proxies:
  201 / 204 / 200, validation errors as a siesta array with leaf-name ids
  (``PARAMETER strictContentTypeValidation``), ``Blob store not found``, rename refused, blob
  store change refused, 404 for a missing repository or another format/type.
  A PyPI proxy created here serves ``/repository/<name>/simple/`` at once.
* ``GET/PUT /service/rest/v1/security/anonymous``.
* ``GET /service/rest/v1/blobstores/file/{name}``, ``POST /service/rest/v1/blobstores/file``
  (204; adds the name to ``double.blob_stores``).

Authentication: anonymous -> 401 with the Basic challenge; a user outside ``admins`` -> 403.

The validation below is written from the Java constraint annotations in nexus-facts.md §1.4
and §1.5 on purpose independently of ``pipnexus.nexus.schema``, so that tests comparing the
linter with this double compare two readings of the sources, not one table with itself.
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from typing import Any

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
)

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

# Bean-validation constraints of the request models, as nested specs:
# key -> constraint, or key -> (constraint of the object or None when optional, {children}).
Spec = dict[str, Any]
_STORAGE: Spec = {"blobStoreName": EMPTY, "strictContentTypeValidation": NULL}
_PROXY_REQUEST: Spec = {
    "name": EMPTY,
    "online": NULL,
    "storage": (NULL, _STORAGE),
    "proxy": (NULL, {"remoteUrl": EMPTY, "contentMaxAge": NULL, "metadataMaxAge": NULL}),
    "negativeCache": (NULL, {"enabled": NULL, "timeToLive": NULL}),
    "httpClient": (
        NULL,
        {
            "blocked": NULL,
            "autoBlock": NULL,
            "connection": (None, {}),
            "authentication": (None, {"type": EMPTY}),
        },
    ),
    "replication": (None, {"preemptivePullEnabled": NULL}),
}
SPECS: dict[tuple[str, str], Spec] = {
    ("pypi", "proxy"): {**_PROXY_REQUEST, "pypi": (None, {"removeQuarantined": NULL})},
    ("docker", "proxy"): {
        **_PROXY_REQUEST,
        "docker": (NULL, {"v1Enabled": NULL, "forceBasicAuth": NULL}),
        "dockerProxy": (NULL, {"indexType": EMPTY}),
    },
}
RANGES = {("connection", "retries"): (0, 10), ("connection", "timeout"): (1, 3600)}


def _violations(spec: Spec, body: Any, parent: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, rule in spec.items():
        value = body.get(key) if isinstance(body, dict) else None
        constraint, children = rule if isinstance(rule, tuple) else (rule, None)
        missing = value is None or (constraint == EMPTY and value in ("", [], {}))
        if missing:
            if constraint is not None:
                # ResteasyViolationExceptionMapper: "<type> <last path segment>"
                out.append((f"PARAMETER {key}", constraint))
            continue
        if children is not None and isinstance(value, dict):
            out.extend(_violations(children, value, key))
    if parent == "" and isinstance(body, dict):
        name = body.get("name")
        if isinstance(name, str) and name and not NAME_PATTERN.fullmatch(name):
            out.append(("PARAMETER name", NAME_TEXT))
        remote = (
            (body.get("proxy") or {}).get("remoteUrl")
            if isinstance(body.get("proxy"), dict)
            else None
        )
        if (
            isinstance(remote, str)
            and remote
            and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", remote)
        ):
            out.append(("PARAMETER remoteUrl", URI_TEXT))
    return out


def _all_violations(spec: Spec, body: dict[str, Any]) -> list[tuple[str, str]]:
    found = _violations(spec, body)
    conn = (
        body.get("httpClient", {}).get("connection")
        if isinstance(body.get("httpClient"), dict)
        else None
    )
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


def _stored(fmt: str, rtype: str, body: dict[str, Any], url: str) -> dict[str, Any]:
    """The GET shape of a repository created from ``body`` (SimpleApiRepositoryAdapter)."""
    storage = body["storage"]
    http = body["httpClient"]
    auth = http.get("authentication")
    if isinstance(auth, dict):
        auth = {k: v for k, v in auth.items() if k not in ("password", "bearerToken")}
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
        },
        "negativeCache": {
            "enabled": bool(body["negativeCache"]["enabled"]),
            "timeToLive": body["negativeCache"]["timeToLive"],
        },
        "httpClient": {
            "blocked": bool(http["blocked"]),
            "autoBlock": bool(http["autoBlock"]),
            # DEVIATION: Nexus returns every connection field (null when unset); the double
            # returns the object as sent
            "connection": http.get("connection") or None,
            "authentication": auth or None,
        },
        # the request field is routingRule, the GET field routingRuleName (NEXUS-30973)
        "routingRuleName": body.get("routingRule"),
    }
    if fmt == "pypi":
        pypi = body.get("pypi")
        pypi = pypi if isinstance(pypi, dict) else {}
        cfg["pypi"] = {"removeQuarantined": bool(pypi.get("removeQuarantined", False))}
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
        self.blob_store_paths: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- responses ----------------------------------------------------------------------------

    def message_error(self, status: int, message: str) -> Response:
        """WebApplicationMessageException: ``{"id":"*","message":"\\"...\\""}`` since 3.49."""
        if self.legacy_errors:
            # DEVIATION: the Server header still names the double's 3.70 version
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
        if rest == "/security/anonymous":
            return self.anonymous(req)
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
            if (fmt, rtype) not in SPECS:
                # DEVIATION: only pypi and docker proxies are modelled; RESTEasy answers 404
                # for formats whose plugin is absent, and 405 for unmodelled verbs.
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
            # DEVIATION (nexus-facts §1.3: not verified): anonymous callers with anonymous
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
            cfg = self.double.repositories.get(name)
            if cfg is None or (cfg.get("format"), cfg.get("type")) != (fmt, rtype):
                return self.message_error(404, "Repository not found")
            return json_response(200, cfg)

    def _validated(
        self, req: Request, fmt: str, rtype: str
    ) -> tuple[dict[str, Any] | None, Response | None]:
        body = parse_json(req)
        if not isinstance(body, dict):
            # DEVIATION: Nexus puts Jackson's exception text after "Could not process the
            # input: "; the double has its own text. Jackson also refuses values of the wrong
            # JSON type (e.g. "online": [1]); the double only checks presence.
            return None, siesta_error(
                400,
                {"id": "*", "message": "Could not process the input: not a JSON object"},
            )
        problems = _all_violations(SPECS[fmt, rtype], body)
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
                # (nexus-facts §6); a 400 WebApplicationMessage is what the code path gives.
                return self.message_error(
                    400, f"Failed to create repository {name}: name is already used"
                )
            url = f"{self.double.base_url}/repository/{name}"
            self.double.repositories[name] = _stored(fmt, rtype, body, url)
        return empty_response(201)

    def update(self, req: Request, fmt: str, rtype: str, name: str) -> Response:
        denied = self._auth(req)
        if denied:
            return denied
        with self.double.lock:
            current = self.double.repositories.get(name)
        if current is None or (current.get("format"), current.get("type")) != (fmt, rtype):
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
            self.double.repositories[name] = _stored(fmt, rtype, body, current["url"])
        return empty_response(204)

    # -- blob stores ----------------------------------------------------------------------------

    def file_blob_store(self, req: Request, name: str) -> Response:
        denied = self._auth(req)
        if denied:
            return denied
        if name:
            if req.method != "GET":
                # DEVIATION: PUT (update path/quota) is not modelled
                return empty_response(405)
            with self.double.lock:
                if name not in self.double.blob_stores:
                    return empty_response(404)
                path = self.blob_store_paths.get(name, name)
            return json_response(200, {"path": path, "softQuota": None})
        if req.method != "POST":
            return empty_response(405)
        body = parse_json(req)
        if not isinstance(body, dict):
            return siesta_error(
                400, {"id": "*", "message": "Could not process the input: not a JSON object"}
            )
        # DEVIATION: name and path are required (nexus-facts §1.6); the exact ids/messages of
        # their violations are not pinned by a source
        missing = [(f"PARAMETER {k}", EMPTY) for k in ("name", "path") if not body.get(k)]
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
            return siesta_error(
                400, {"id": "*", "message": "Could not process the input: not a JSON object"}
            )
        realm = body.get("realmName", "NexusAuthorizingRealm")
        if realm not in (None, "NexusAuthorizingRealm"):
            return validation_errors([("realmName", "Realm does not exist")])
        enabled = body.get("enabled")
        if not isinstance(enabled, bool):
            # DEVIATION: AnonymousAccessSettingsXO's handling of a missing "enabled" is not
            # pinned by the sources; the double treats it like a @NotNull field.
            return validation_errors([("PARAMETER enabled", NULL)])
        with self.double.lock:
            self.double.anonymous_enabled = enabled
        return json_response(200, self._anonymous_settings())

    def _anonymous_settings(self) -> dict[str, Any]:
        return {
            "enabled": self.double.anonymous_enabled,
            "userId": "anonymous",
            "realmName": "NexusAuthorizingRealm",
        }


def install(double: NexusDouble) -> AdminApi:
    """Add the admin REST API to ``double`` (before its own handlers) and return it."""
    api = AdminApi(double)
    double.rest_handlers.insert(0, api)
    return api
