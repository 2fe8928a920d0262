"""``nexus status --docker-url``: can an anonymous ``docker pull`` get an image through the mirror?

Three steps, as a Docker client takes them, anonymously (no credentials are ever sent to the
connector or its token realm):

1. ``GET /v2/``, the Docker Registry HTTP API V2 "API Version Check"
   (https://distribution.github.io/distribution/spec/api/): a registry answers 200 or 401 and
   sends ``Docker-Distribution-API-Version: registry/2.0``; a 200 without that header is not a
   registry (a token server or a catch-all answers ``{}`` too).
2. On a Bearer challenge, the anonymous token flow
   (https://distribution.github.io/distribution/spec/auth/token/): the realm with the
   challenge's ``service``/``scope``, then ``/v2/`` with the token.
3. ``HEAD /v2/<name>/manifests/<tag>`` of a small public image (the canary), with the Accept
   header containerd's resolver sends (containerd/containerd: ``core/remotes/docker/resolver.go``,
   ``NewResolver``). ``/v2/`` alone proves nothing about the remote: Nexus and a
   ``distribution`` pull-through cache answer it whether or not Docker Hub is reachable; only a
   manifest fetched through the proxy does. A 404 or 5xx there is ``docker-remote-down``.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any, NamedTuple

from pipnexus.diagnostics import Diagnostic
from pipnexus.errors import InputError

DOCKER_API_HEADER = "Docker-Distribution-API-Version"
MANIFEST_ACCEPT = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "*/*",
    )
)
DEFAULT_CANARY = "library/hello-world:latest"

# the distribution reference grammar (distribution/reference: regexp.go), path only: the image
# is pulled through the connector, so a registry host has no place here
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")


class Canary(NamedTuple):
    name: str  # e.g. library/hello-world
    tag: str

    def __str__(self) -> str:
        return f"{self.name}:{self.tag}"


def parse_canary(value: str | None) -> Canary:
    """``NAME[:TAG]`` (tag ``latest`` when absent); a one-part name gets ``library/`` as
    ``docker pull`` gives Docker Hub's official images."""
    text = (value or DEFAULT_CANARY).strip()
    name, colon, tag = text.rpartition(":") if ":" in text.rsplit("/", 1)[-1] else (text, "", "")
    tag = tag if colon else "latest"
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        raise InputError(
            "--docker-canary must be an image path without a registry host, e.g. "
            f"{DEFAULT_CANARY}: it is pulled through --docker-url"
        )
    if not (_NAME.fullmatch(name) and _TAG.fullmatch(tag)) or len(name) > 255:
        raise InputError(f"--docker-canary must be NAME[:TAG], e.g. {DEFAULT_CANARY}")
    return Canary(name if "/" in name else f"library/{name}", tag)


_PARAM = re.compile(r'\s*([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def parse_challenge(header: str | None) -> tuple[str, dict[str, str]]:
    """The scheme (lower case, "" when none) and parameters of a ``WWW-Authenticate`` header
    with one challenge (RFC 7235 section 4.1), e.g. ``Bearer realm="...",service="..."``."""
    text = (header or "").strip()
    scheme, _, rest = text.partition(" ")
    params: dict[str, str] = {}
    for m in _PARAM.finditer(rest):
        value = m.group(2) if m.group(2) is not None else m.group(3)
        params.setdefault(m.group(1).lower(), re.sub(r"\\(.)", r"\1", value))
    return scheme.lower(), params


def _is_registry(resp: Any) -> bool:
    return (resp.headers.get(DOCKER_API_HEADER) or "").strip().startswith("registry/2")


def _json_of(resp: Any) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def docker_check(conn: Any, canary: Canary) -> Diagnostic:
    """What an anonymous ``docker pull`` of ``canary`` meets at the connector ``conn.url``."""
    from pipnexus.nexus.client import NexusError, SchemeError, client_for

    label = f"docker {conn.url}/v2/"
    client = client_for(conn)
    try:
        return _pull(client, conn, label, canary)
    except SchemeError as e:
        return Diagnostic(
            "error", f"{label}: {e.summary}: use --docker-url {e.fix}", "docker-wrong-scheme"
        )
    except NexusError as e:
        if e.refused:
            return Diagnostic(
                "error",
                f"{label}: connection refused: nothing listens on that port (expose the "
                "connector's docker.httpPort in the Service's additionalPorts)",
                "docker-unreachable",
            )
        return Diagnostic("error", f"{label}: {e.summary}", "docker-unreachable")
    finally:
        client.close()


class _Failed(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def _pull(client: Any, conn: Any, label: str, canary: Canary) -> Diagnostic:
    try:
        token, how = _version_check(client, conn, label)
        return _manifest(client, conn, label, canary, token, how)
    except _Failed as e:
        return e.diagnostic


def _server_error(label: str, resp: Any, where: str = "") -> _Failed:
    from pipnexus.nexus.answers import answer_text

    return _Failed(
        Diagnostic(
            "error",
            f"{label}: {where}{answer_text(resp)}: Nexus failed to answer (see its log)",
            "docker-server-error",
        )
    )


def _version_check(client: Any, conn: Any, label: str) -> tuple[str | None, str]:
    """``GET /v2/`` (and the token flow): the anonymous token, if any, and what happened."""
    from pipnexus.nexus.answers import answer_text

    resp = client.request("GET", "/v2/")
    status = resp.status_code
    if status >= 500:
        raise _server_error(label, resp)
    if status == 400 and client.speaks_tls_instead():
        raise client.scheme_error()
    if status == 200 and _is_registry(resp):
        return None, "200 without authentication"
    scheme, params = parse_challenge(resp.headers.get("WWW-Authenticate"))
    if status == 401 and scheme == "basic":
        raise _Failed(
            Diagnostic(
                "error",
                f"{label}: 401 with a Basic challenge: anonymous docker pulls fail; on Nexus, "
                "forceBasicAuth is on: set docker.forceBasicAuth: false on the repository",
                "docker-force-basic-auth",
            )
        )
    if status == 401 and scheme == "bearer":
        token = _token(conn, label, params)
        again = client.request("GET", "/v2/", headers={"Authorization": f"Bearer {token}"})
        if again.status_code != 200:
            still = answer_text(again).replace(token, "***")  # the token is never shown
            raise _Failed(
                Diagnostic(
                    "error",
                    f"{label}: anonymous token granted but /v2/ still answers {still}: "
                    f"{_TOKEN_REFUSED}",
                    "docker-token-refused",
                )
            )
        return token, "401 Bearer, anonymous token granted, then 200"
    if status == 404:
        what = "404: not a Docker connector (Nexus's main port answers this; use the port in "
        raise _Failed(
            Diagnostic(
                "error",
                f"{label}: {what}the repository's docker.httpPort, e.g. 8082)",
                "docker-not-registry",
            )
        )
    raise _Failed(
        Diagnostic(
            "error",
            f"{label}: {answer_text(resp)} is not a Docker Registry V2 answer (no "
            f"{DOCKER_API_HEADER}: registry/2.0 header or Bearer challenge): not a Docker "
            "connector",
            "docker-not-registry",
        )
    )


_TOKEN_REFUSED = (
    "anonymous docker pulls fail; activate the Docker Bearer Token Realm (DockerToken in "
    "config.realms) and enable anonymous access"
)


def _token(conn: Any, label: str, params: dict[str, str]) -> str:
    """An anonymous token from the challenge's realm, or _Failed."""
    from pipnexus import urls
    from pipnexus.nexus.answers import answer_text
    from pipnexus.nexus.client import NexusError, client_for

    try:
        realm = urls.parse_url(params.get("realm", ""), "realm")
    except InputError:
        raise _Failed(
            Diagnostic(
                "error",
                f"{label}: 401 with a Bearer challenge whose realm is not an http(s) URL",
                "docker-token-refused",
            )
        ) from None
    query = {k: params[k] for k in ("service", "scope") if params.get(k)}
    target = realm.target or "/"
    if query:
        target += ("&" if "?" in target else "?") + urllib.parse.urlencode(query)
    where = f"token realm {urls.redact(realm.bare)}"
    tokens = client_for(conn._replace(url=f"{realm.scheme}://{realm.netloc}"))
    try:
        resp = tokens.request("GET", target)
    except NexusError as e:
        raise _Failed(
            Diagnostic("error", f"{label}: {where}: {e.summary}", "docker-unreachable")
        ) from None
    finally:
        tokens.close()
    if resp.status_code >= 500:
        raise _server_error(label, resp, f"{where}: ")
    token: object = None
    if resp.status_code == 200:
        answer = _json_of(resp)
        if isinstance(answer, dict):
            token = answer.get("token") or answer.get("access_token")
    if not isinstance(token, str) or not token:
        got = "200 without a token" if resp.status_code == 200 else answer_text(resp)
        raise _Failed(
            Diagnostic(
                "error",
                f"{label}: {where} refused an anonymous token ({got}): {_TOKEN_REFUSED}",
                "docker-token-refused",
            )
        )
    return token


def _manifest(
    client: Any, conn: Any, label: str, canary: Canary, token: str | None, how: str
) -> Diagnostic:
    """HEAD the canary's manifest through the connector, as ``docker pull`` resolves a tag."""
    from pipnexus.nexus.answers import answer_text

    path = (
        f"/v2/{urllib.parse.quote(canary.name)}/manifests/{urllib.parse.quote(canary.tag)}"
    )
    resp = _head(client, path, token)
    scheme, params = parse_challenge(resp.headers.get("WWW-Authenticate"))
    if resp.status_code == 401 and scheme == "bearer" and params.get("scope"):
        # registries that scope tokens per repository (Docker Hub, distribution's token auth)
        # challenge the manifest again with the scope it needs
        token = _token(conn, label, params)
        resp = _head(client, path, token)
    status = resp.status_code
    answer = answer_text(resp)
    if token:
        answer = answer.replace(token, "***")
    if status == 200:
        return Diagnostic("note", f"{label}: {how}; manifest of {canary}: 200", "docker-pull")
    if status == 404 or status >= 500:
        return Diagnostic(
            "error",
            f"{label}: {how}, but HEAD {path} answers {answer}: the mirror cannot get "
            f"{canary} (its remote is down, unreachable or blocked, or has no such image; "
            "--docker-canary names another)",
            "docker-remote-down",
        )
    if status in (401, 403):
        return Diagnostic(
            "error",
            f"{label}: {how}, but HEAD {path} answers {answer}: anonymous pulls of {canary} "
            f"are refused; {_TOKEN_REFUSED}",
            "docker-token-refused",
        )
    return Diagnostic(
        "error",
        f"{label}: {how}, but HEAD {path} answers {answer}: not a Docker registry answer",
        "docker-not-registry",
    )


def _head(client: Any, path: str, token: str | None) -> Any:
    headers = {"Accept": MANIFEST_ACCEPT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.request("HEAD", path, headers=headers)
