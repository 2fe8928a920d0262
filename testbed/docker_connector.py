"""A Docker connector double: ``/v2/`` and the token realm as a Nexus Docker repository answers.

Nexus's Docker plugin is not in sonatype/nexus-public, so this follows the Docker Registry
HTTP API V2 spec (https://distribution.github.io/distribution/spec/api/, "API Version Check"),
the token flow (https://distribution.github.io/distribution/spec/auth/token/), Nexus's docs
(https://help.sonatype.com/en/docker-repositories.html: anonymous pulls need the "Docker Bearer
Token Realm" and "Allow anonymous docker pull", i.e. ``forceBasicAuth: false``) and answers
seen in public reports (sonatype/nexus-public#921: ``forceBasicAuth: true`` gives
``WWW-Authenticate: BASIC realm="Sonatype Nexus Repository Manager"``, ``false`` a Bearer
challenge). Every shape taken from neither is marked ``# DEVIATION:``.

Switches (attributes, changeable while it runs):

``force_basic_auth``   ``/v2/`` answers 401 with the Basic challenge Nexus's other ports send
``token_realm_active`` False: the token realm refuses every anonymous token
``anonymous``          False: anonymous access is off; the token realm refuses anonymous tokens
``fail_status``        every answer is this status (a 5xx: Nexus failing)
``token_fail_status``  the token realm alone answers this status
``open_v2``            ``/v2/`` answers 200 without authentication (a registry with no auth)
``not_registry``       every path answers 200 with an HTML page (an ingress's default backend)
``remote_up``          False: the proxy's remote (Docker Hub) is unreachable; ``/v2/`` answers
                       as ever, manifests ``remote_down_status``
``remote_down_status`` what a manifest answers while the remote is down (404 or 502)
``images``             the ``name:tag`` references the remote has (``library/hello-world:latest``)

``manifest_accepts`` records the Accept header of every manifest request.
"""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.parse
import uuid

from testbed.httpbase import LoopbackServer, QuietHandler, Response

# On every /v2/ answer: docker clients require it to take a port for a V2 registry
# (distribution/distribution#99, moby/moby#15173), so a Nexus connector that docker pulls
# through sends it.
API_VERSION = ("Docker-Distribution-API-Version", "registry/2.0")
BASIC_CHALLENGE = 'BASIC realm="Sonatype Nexus Repository Manager"'
JSON = ("Content-Type", "application/json")
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"


def _errors(code: str, message: str) -> bytes:
    # The spec's error body: {"errors": [{"code", "message", "detail"}]}.
    return json.dumps({"errors": [{"code": code, "message": message, "detail": None}]}).encode()


class DockerConnector(LoopbackServer):
    def __init__(self) -> None:
        self.force_basic_auth = False
        self.token_realm_active = True
        self.anonymous = True
        self.fail_status: int | None = None
        self.token_fail_status: int | None = None
        self.open_v2 = False
        self.not_registry = False
        self.remote_up = True
        self.remote_down_status = 404
        self.images = {"library/hello-world:latest"}
        self.manifest_accepts: list[str] = []
        self.tokens: set[str] = set()
        self.last_token_query: dict[str, list[str]] | None = None  # the realm's last GET
        self.authorizations: list[str] = []  # every Authorization header received
        self._tokens_lock = threading.Lock()
        super().__init__()

    def handle(self, handler: QuietHandler) -> Response | None:
        path, _, query = handler.path.partition("?")
        if handler.headers.get("Authorization"):
            with self._tokens_lock:
                self.authorizations.append(handler.headers["Authorization"])
        if self.fail_status is not None:
            # DEVIATION: the body of a failing Nexus (Jetty's error page) is not modelled.
            return Response(self.fail_status, [("Content-Type", "text/html")], b"<html></html>")
        if self.not_registry:
            page = b"<html><body>default backend</body></html>"
            return Response(200, [("Content-Type", "text/html")], page)
        if path == "/v2/token" and self.token_fail_status is not None:
            return Response(self.token_fail_status, [("Content-Type", "text/html")], b"")
        if path == "/v2/token":
            return self._token(urllib.parse.parse_qs(query))
        if path in ("/v2", "/v2/"):
            return self._version_check(handler)
        name, sep, reference = path[len("/v2/") :].rpartition("/manifests/")
        if path.startswith("/v2/") and sep and handler.command in ("GET", "HEAD"):
            return self._manifest(handler, name, reference)
        # DEVIATION: only /v2/, manifests and the token realm are modelled; the rest is the
        # spec's 404.
        return Response(404, [API_VERSION, JSON], _errors("NAME_UNKNOWN", "not modelled"))

    def _granted(self, handler: QuietHandler) -> bool:
        auth = handler.headers.get("Authorization") or ""
        with self._tokens_lock:
            granted = auth.startswith("Bearer ") and auth[len("Bearer ") :] in self.tokens
        return self.open_v2 or (granted and not self.force_basic_auth)

    def _manifest(self, handler: QuietHandler, name: str, reference: str) -> Response:
        with self._tokens_lock:
            self.manifest_accepts.append(handler.headers.get("Accept") or "")
        if not self._granted(handler):
            return self._challenge(handler)
        if not self.remote_up:
            # DEVIATION: Nexus's Docker proxy answer for a manifest it cannot fetch (remote
            # unreachable, nothing cached) is not documented; a distribution pull-through cache
            # answers 404 MANIFEST_UNKNOWN (tests/nexus/test_docker_registry.py). Both 404 and
            # Nexus's other formats' 502 (ProxyHandler: IOException -> badGateway) are playable.
            status = self.remote_down_status
            if status == 404:
                body = _errors("MANIFEST_UNKNOWN", "manifest unknown")
                return Response(404, [API_VERSION, JSON], body)
            return Response(status, [("Content-Type", "text/html")], b"<html></html>")
        if f"{name}:{reference}" not in self.images:
            body = _errors("MANIFEST_UNKNOWN", "manifest unknown")
            return Response(404, [API_VERSION, JSON], body)
        # An OCI image index naming no manifests: clients here only resolve the tag.
        body = json.dumps(
            {"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": []}, sort_keys=True
        ).encode()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        headers = [API_VERSION, ("Content-Type", INDEX_TYPE), ("Docker-Content-Digest", digest)]
        return Response(200, headers, body)

    def _version_check(self, handler: QuietHandler) -> Response:
        if self._granted(handler):
            return Response(200, [API_VERSION, JSON], b"{}")
        return self._challenge(handler)

    def _challenge(self, handler: QuietHandler) -> Response:
        if self.force_basic_auth:
            # DEVIATION: the registry header and error body on this 401 are assumed.
            challenge = BASIC_CHALLENGE
        else:
            # DEVIATION: the realm and service values are assumed (the connector's own URL,
            # from the Host header, with /v2/token); no scope (sonatype/nexus-public#659).
            base = f"http://{handler.headers.get('Host') or self.base_url[len('http://') :]}"
            challenge = f'Bearer realm="{base}/v2/token",service="{base}/v2/token"'
        body = _errors("UNAUTHORIZED", "access to the requested resource is not authorized")
        return Response(401, [API_VERSION, JSON, ("WWW-Authenticate", challenge)], body)

    def _token(self, query: dict[str, list[str]]) -> Response:
        if not (self.token_realm_active and self.anonymous):
            # DEVIATION: how the token endpoint refuses (an inactive realm, anonymous off) is
            # assumed: a 401 with Nexus's Basic challenge, as its other resources answer.
            body = _errors("UNAUTHORIZED", "authentication required")
            return Response(401, [JSON, ("WWW-Authenticate", BASIC_CHALLENGE)], body)
        # DEVIATION: the answer's shape ({"token": ...}, the spec's) and the token's form
        # ("DockerToken.<uuid>") are assumed; clients only pass the token back.
        token = f"DockerToken.{uuid.uuid4()}"
        with self._tokens_lock:
            self.tokens.add(token)
        self.last_token_query = query
        return Response(200, [JSON], json.dumps({"token": token}).encode())
