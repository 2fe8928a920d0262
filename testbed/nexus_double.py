"""An in-process HTTP server that behaves like a Nexus 3 PyPI proxy.

Sources: sonatype/nexus-public (``components/nexus-core/.../internal/status/StatusResource.java``,
``components/nexus-base/.../internal/web/EnvironmentFilter.java`` and ``ErrorPageServlet.java``,
``components/nexus-repository-services/.../proxy/ProxyFacetSupport.java``; the PyPI format plugin
as last published, tag ``release-3.30.1-01``, ``plugins/nexus-repository-pypi``).

Usage::

    with NexusDouble(upstream.base_url) as nexus:          # repository "pypi-proxy"
        nexus.index_url()      # http://127.0.0.1:PORT/repository/pypi-proxy/simple/
        nexus.upstream_fetches # [(method, url, status)], status 0 = I/O error
        nexus.set_online(False)  # -> 503 "Repository offline"

``NexusDouble(..., version="3.95.1")`` plays that Nexus version (default: the newest known,
``DEFAULT_VERSION``): every response has ``Server: Nexus/<version>-01 (OSS)`` and
``X-Content-Type-Options``, and the admin API (testbed/nexus_admin.py) enforces that version's
required fields. Served:

* ``GET /service/rest/v1/status`` and ``/status/writable``: 200 / 503, empty body, no auth.
  ``/status/check``: 401 without credentials, 200 JSON map with them.
* ``/repository/<name>/simple/`` (exact), ``/simple/<project>`` with or without ``/``,
  ``/packages/<project>/<version>/<file>``: GET and HEAD, pull-through from
  ``proxy.remoteUrl`` (normalised to end in ``/``; pages are fetched from
  ``remoteUrl + "simple/<project>/"``), pages re-rendered with relative
  ``../../packages/<project-as-requested>/<version>/<file>#sha256=...`` links, only
  ``data-requires-python`` kept, HTML only (PEP 691 ``Accept`` ignored, no PEP 658).
  Extra headers on ``/repository/**``: ``Content-Security-Policy``, ``X-XSS-Protection``;
  content has ``ETag``/``Last-Modified`` and answers conditional requests with 304.
* Raw proxies (``add_raw_proxy(name, remote)``, or POST ``/v1/repositories/raw/proxy``):
  any path is pulled through from ``<remoteUrl>/<path>`` once and cached for
  ``contentMaxAge`` (-1: for ever); a GET of ``.../`` (the root too) asks for
  ``index.html`` and ``index.htm`` there, 404 when neither exists; ``upstream_bytes``
  counts what every remote sent.
* Concurrent cache misses for one page or file wait for one upstream fetch and are all answered
  from it (Nexus' proxy cooperation, testbed/cooperation.py; ``double.cooperation``); misses
  for different assets are fetched concurrently.
* Errors on ``/repository/**`` use Nexus' HTML error page; the message is also the HTTP reason
  phrase (e.g. ``404 Repository not found``).

Fault switches (plain attributes or methods; safe to flip from the test thread at any time):

=============================  ===========================================================
``set_online(False, repo)``    503 "Repository offline"
``remote_unreachable = True``  upstream fetches fail with an I/O error: 502 when nothing is
                               cached, stale copy otherwise (also: point ``remoteUrl`` at
                               ``httpbase.closed_url()``). Triggers auto-block when the
                               repository has ``httpClient.autoBlock`` (see DEVIATION below).
``block_remote(repo, secs)``   404 "Remote Auto Blocked until <time>" (stale copy if cached)
``set_blocked(True, repo)``    ``httpClient.blocked``: 404 "Remote Manually Blocked"
``anonymous_enabled = False``  401 + ``WWW-Authenticate: BASIC realm="Sonatype Nexus
                               Repository Manager"``; Basic auth with ``users`` still works;
                               users outside ``readers`` (when not None) get 403
``read_only = True``           ``/status/writable`` 503; cache misses on repositories 503
                               "Nexus Repository Manager is in read-only mode"
``readable = False``           ``/status`` and ``/status/writable`` 503, every other path 503
``delay = seconds``            sleep before sending headers (every path)
``hang = True``                accept, read the request, never answer (until ``stop()``)
``login_page = True``          200 HTML sign-in page on every ``/repository/**`` URL
=============================  ===========================================================

``set_fault(name=value, ...)`` sets several attributes at once (unknown names raise);
``clear_faults()`` restores a healthy double. ``HangingListener`` (testbed/httpbase.py) is a
separate listener that never answers at all.

Extension API (used by testbed/nexus_admin.py for the REST admin endpoints)
-----------------------------------------------------------------------------
* State, all guarded by ``double.lock`` (an RLock):
  ``repositories: dict[str, dict]`` name -> config in the Nexus REST JSON shape (see
  ``pypi_proxy_config``); a config added here (``"format": "pypi", "type": "proxy"``) serves
  PyPI pages at once, any other format answers 404 on ``/repository/<name>/**``.
  ``anonymous_enabled: bool``, ``users: dict[str, str]`` (name -> password, default
  ``{"admin": "admin123"}``), ``readers: Optional[set[str]]``, ``blob_stores: set[str]``
  (contains ``"default"``). Call ``double.forget_cache(name)`` after deleting/replacing a
  repository to drop its cached content (``remoteUrl`` changes clear the negative cache
  automatically, as in Nexus).
* Handlers: ``double.rest_handlers`` is a list of callables
  ``handler(double, request: Request) -> Optional[Response]``, tried in order for every path
  under ``/service/rest/`` that is not a status endpoint; the first non-None answer wins, no
  answer -> 404 with an empty body. ``REST_HANDLERS`` (module level) is copied into every new
  double, so ``REST_HANDLERS.append(fn)`` at import time plugs a handler into all doubles.
  ``Request`` has ``method, path, query, headers, body, user`` (authenticated user name or
  None for anonymous). Bad credentials never reach handlers (401 first).
* Response helpers (all add the Nexus headers): ``json_response(status, obj)`` (Jackson-style
  pretty JSON ``"k" : v``), ``empty_response(status)``, ``siesta_error(status, obj,
  validation=False)`` (adds ``X-Siesta-FaultId``; ``validation=True`` uses
  ``application/vnd.siesta-validation-errors-v1+json``), ``validation_errors([(id, msg)])``,
  ``html_error(status, message)``, ``unauthorized()`` (401 + challenge), ``forbidden()``,
  ``jackson_dumps(obj)``, ``parse_json(request)`` (None when malformed).
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import html
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from html.parser import HTMLParser
from typing import Any, Callable, NamedTuple, Optional

from pipnexus.nexus import schema
from testbed import nexus_raw
from testbed.cooperation import Cooperation
from testbed.httpbase import LoopbackServer, QuietHandler, Response
from testbed.wheels import normalize

# Nexus versions whose REST contract the double knows (testbed/nexus_admin.py has the per-version
# required fields): those of pipnexus.nexus.schema (the published OpenAPI files and the npm
# models) and the chart's appVersion, oldest first.
KNOWN_VERSIONS = tuple(
    str(v) for v in sorted({*schema.KNOWN_VERSIONS, schema.CHART_NEXUS_VERSION})
)
DEFAULT_VERSION = KNOWN_VERSIONS[-1]
# The version whose answer is being built, per serving thread (every response names it).
_serving = threading.local()


def version_tuple(version: str) -> tuple[int, ...]:
    """``"3.95.1"`` or ``"3.95.1-01"`` -> ``(3, 95, 1)``; ValueError for anything else."""
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)(?:-\d+)?", version)
    if m is None:
        raise ValueError(f"not a Nexus version: {version!r}")
    return tuple(int(g) for g in m.groups())


def server_version() -> str:
    """The full version the current answer names, e.g. ``3.95.1-01``."""
    return f"{getattr(_serving, 'version', DEFAULT_VERSION)}-01"
REALM = "Sonatype Nexus Repository Manager"
CSP = (
    "sandbox allow-forms allow-modals allow-popups allow-presentation allow-scripts "
    "allow-top-navigation"
)
READ_ONLY_MESSAGE = "Nexus Repository Manager is in read-only mode"
UPSTREAM_TIMEOUT = 10.0
AUTO_BLOCK_SECONDS = 40.0
HANG_LIMIT = 120.0

_PROJECT_RE = re.compile(r"^/simple/([0-9a-zA-z\._-]+)/?$")
_PACKAGE_RE = re.compile(r"^/packages/([^/].+)/([^/]+)/([^/]+)$")


def pypi_proxy_config(name: str, remote_url: str, **overrides: Any) -> dict[str, Any]:
    """A PyPI proxy repository config in the REST GET shape (``PyPiProxyApiRepository``).

    Top-level keys in ``overrides`` replace the defaults.
    """
    config: dict[str, Any] = {
        "name": name,
        "format": "pypi",
        "type": "proxy",
        "url": "",
        "online": True,
        "storage": {"blobStoreName": "default", "strictContentTypeValidation": True},
        "cleanup": None,
        "proxy": {"remoteUrl": remote_url, "contentMaxAge": 1440, "metadataMaxAge": 1440},
        "negativeCache": {"enabled": True, "timeToLive": 1440},
        "httpClient": {
            "blocked": False,
            "autoBlock": True,
            "connection": None,
            "authentication": None,
        },
        "routingRuleName": None,
        "pypi": {"removeQuarantined": False},
    }
    config.update(overrides)
    return config


def raw_proxy_config(name: str, remote_url: str, **overrides: Any) -> dict[str, Any]:
    """A raw proxy repository config in the REST GET shape (``RawProxyApiRepository``),
    content and metadata cached for ever as ``nexus values`` makes it."""
    config = pypi_proxy_config(name, remote_url, format="raw", **overrides)
    del config["pypi"]
    config["proxy"] = {"remoteUrl": remote_url, "contentMaxAge": -1, "metadataMaxAge": -1}
    config["storage"] = {"blobStoreName": "default", "strictContentTypeValidation": False}
    config["raw"] = {"contentDisposition": "ATTACHMENT"}
    config.update(overrides)
    return config


# -- JSON / responses ------------------------------------------------------------------------


def jackson_dumps(obj: Any, _level: int = 0) -> str:
    """JSON like Jackson's DefaultPrettyPrinter: ``{\\n  "k" : v\\n}``, arrays ``[ a, b ]``."""
    if isinstance(obj, dict):
        if not obj:
            return "{ }"
        pad = "  " * (_level + 1)
        items = [f"{pad}{json.dumps(str(k))} : {jackson_dumps(v, _level + 1)}" for k, v in
                 obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * _level + "}"
    if isinstance(obj, (list, tuple)):
        if not obj:
            return "[ ]"
        return "[ " + ", ".join(jackson_dumps(v, _level) for v in obj) + " ]"
    return json.dumps(obj)


def _http_date(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


def base_headers() -> list[tuple[str, str]]:
    return [
        ("Date", _http_date(time.time())),
        ("Server", f"Nexus/{server_version()} (OSS)"),
        ("X-Content-Type-Options", "nosniff"),
    ]


def _no_cache() -> list[tuple[str, str]]:
    return [
        ("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"),
        ("Pragma", "no-cache"),
        ("Expires", "0"),
    ]


def json_response(
    status: int, obj: Any, content_type: str = "application/json", reason: str | None = None
) -> Response:
    body = jackson_dumps(obj).encode()
    return Response(status, [*base_headers(), ("Content-Type", content_type)], body, reason)


def empty_response(status: int) -> Response:
    return Response(status, base_headers(), b"")


def siesta_error(status: int, obj: Any, validation: bool = False) -> Response:
    ctype = "application/vnd.siesta-validation-errors-v1+json" if validation else "application/json"
    resp = json_response(status, obj, ctype)
    return resp._replace(headers=[*resp.headers, ("X-Siesta-FaultId", str(uuid.uuid4()))])


def validation_errors(errors: list[tuple[str, str]], status: int = 400) -> Response:
    return siesta_error(status, [{"id": i, "message": m} for i, m in errors], validation=True)


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    416: "Range Not Satisfiable",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

ERROR_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
  <title>{code} - Sonatype Nexus Repository</title>
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8"/>


  <link rel="icon" type="image/png" href="{rel}/static/rapture/resources/safari-favicon-32x32.png?{suffix}" sizes="32x32">
  <link rel="mask-icon" href="{rel}/static/rapture/resources/favicon-white.svg?{suffix}" color="#00bb6c">
  <link rel="icon" type="image/png" href="{rel}/static/rapture/resources/favicon.svg?{suffix}" sizes="16x16">

  <link rel="stylesheet" type="text/css" href="{rel}/static/css/nexus-content.css?{suffix}"/>
</head>
<body>
<div class="nexus-header">
  <a href="{rel}">
    <div class="product-logo">
      <img src="{rel}/static/rapture/resources/nxrm-reverse-icon.png?{suffix}" alt="Product logo"/>
    </div>
    <div class="product-id">
      <div class="product-id__line-1">
        <span class="product-name">Sonatype Nexus Repository</span>
      </div>
      <div class="product-id__line-2">
        <span class="product-spec">OSS {version}</span>
      </div>
    </div>
  </a>
</div>

<div class="nexus-body">
  <div class="content-header">
    <img src="{rel}/static/rapture/resources/icons/x32/exclamation.png?{suffix}" alt="Exclamation point" aria-role="presentation"/>
    <span class="title">Error {code}</span>
    <span class="description">{name}</span>
  </div>
  <div class="content-body">
    <div class="content-section">
      {description}
    </div>
  </div>
</div>
</body>
</html>
"""  # noqa: E501  (errorPageHtml.vm, NP-main components/nexus-base/.../internal/web/)


def html_error(status: int, message: str | None = None, repository: bool = True) -> Response:
    """Nexus' HTML error page (ErrorPageServlet); ``message`` is also the reason phrase.

    Without a message Jetty substitutes the standard reason phrase.
    """
    name = _REASONS.get(status, "Error")
    msg = message if message is not None else name
    # DEVIATION: $relativePath is the path back to Nexus' root; the double uses "" (the page's
    # links are never followed by clients).
    body = ERROR_PAGE.format(
        code=status,
        rel="",
        suffix=f"_v={server_version()}",
        version=server_version(),
        name=name,
        description=html.escape(msg, quote=False),
    ).encode()
    headers = [*base_headers(), *(_repo_headers() if repository else [])]
    headers += [*_no_cache(), ("X-Frame-Options", "DENY"), ("Content-Type", "text/html")]
    return Response(status, headers, body + b"\n", msg)


def _repo_headers() -> list[tuple[str, str]]:
    return [("Content-Security-Policy", CSP), ("X-XSS-Protection", "1; mode=block")]


def challenge_headers() -> list[tuple[str, str]]:
    return [("WWW-Authenticate", f'BASIC realm="{REALM}"')]


def unauthorized(repository: bool = False) -> Response:
    # DEVIATION: body of a 401. Nexus' Shiro filter answers 401 with the challenge; for
    # /repository/** the double renders the HTML error page, for REST paths an empty body.
    resp = html_error(401, None, repository=True) if repository else empty_response(401)
    return resp._replace(headers=[*resp.headers, *challenge_headers()])


def forbidden(repository: bool = False) -> Response:
    return html_error(403, None, repository=True) if repository else empty_response(403)


LOGIN_PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head><title>Sign in</title></head>
<body>
<h1>Sign in to continue</h1>
<form method="post" action="/login">
  <input name="username"/> <input name="password" type="password"/>
  <button type="submit">Sign in</button>
</form>
</body>
</html>
"""


# -- requests ---------------------------------------------------------------------------------


class Request(NamedTuple):
    method: str
    path: str  # without query string
    query: dict[str, list[str]]
    headers: Any  # http.client.HTTPMessage (case-insensitive .get)
    body: bytes
    user: str | None  # authenticated user; None = anonymous
    raw_path: str = ""  # the path as the client sent it, still percent-encoded


RestHandler = Callable[["NexusDouble", Request], Optional[Response]]

REST_HANDLERS: list[RestHandler] = []


def parse_json(request: Request) -> Any:
    """The request body as JSON, or None when it is not valid JSON."""
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


# -- upstream page parsing ----------------------------------------------------------------


class Link(NamedTuple):
    filename: str
    url: str  # absolute upstream URL, fragment removed
    fragment: str  # e.g. "sha256=..." or ""
    requires_python: str | None


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[dict[str, str | None], str]] = []
        self._current: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._current = dict(attrs)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._current is not None:
            if self._current.get("href"):
                self.links.append((self._current, "".join(self._text).strip()))
            self._current = None


def parse_links(page: bytes, page_url: str) -> list[tuple[dict[str, str | None], str, str]]:
    """``(attrs, text, absolute_href)`` for every ``<a href>``, first occurrence of a text wins."""
    parser = _LinkParser()
    parser.feed(page.decode("utf-8", "replace"))
    seen: set[str] = set()
    out = []
    for attrs, text in parser.links:
        if text in seen:
            continue
        seen.add(text)
        out.append((attrs, text, urllib.parse.urljoin(page_url, attrs.get("href") or "")))
    return out


def version_of(filename: str, project: str) -> str:
    if filename.endswith(".whl") or filename.endswith(".egg"):
        parts = filename.split("-")
        return parts[1] if len(parts) > 1 else "unknown"
    for ext in (".tar.gz", ".tar.bz2", ".tgz", ".zip", ".tar"):
        if filename.endswith(ext):
            stem = filename[: -len(ext)]
            if "-" in stem:
                return stem.rsplit("-", 1)[1]
    return "unknown"


# -- cache state --------------------------------------------------------------------------


class ProxySettings(NamedTuple):
    """A proxy repository's settings as the pull-through uses them (minutes for ages)."""

    remote: str  # proxy.remoteUrl, with a trailing slash
    metadata_max_age: float
    content_max_age: float
    negative_cache: bool
    negative_cache_ttl: float
    blocked: bool  # httpClient.blocked
    auto_block: bool  # httpClient.autoBlock


class Cached(NamedTuple):
    body: bytes  # pages: the upstream page; files: the file
    fetched_at: float
    etag: str
    content_type: str
    links: tuple[Link, ...] = ()


class RepoCache:
    def __init__(self) -> None:
        self.pages: dict[str, Cached] = {}  # normalized project -> upstream page
        self.root: Cached | None = None
        self.files: dict[str, Cached] = {}  # filename -> file
        self.nfc: dict[str, float] = {}  # key -> expiry
        self.remote_url: str | None = None
        self.blocked_until: float | None = None
        self.block_forced = False  # set by block_remote(): no automatic re-check


class _Fail(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class _Upstream404(Exception):
    pass


class _UpstreamService(Exception):
    """Upstream 401/402/407/>=500: Nexus' ProxyServiceException."""


FAULT_DEFAULTS: dict[str, Any] = {
    "readable": True,
    "read_only": False,
    "remote_unreachable": False,
    "delay": 0.0,
    "hang": False,
    "login_page": False,
    "anonymous_enabled": True,
}


class NexusDouble(LoopbackServer):
    def __init__(
        self,
        upstream_url: str | None = None,
        repository: str | None = "pypi-proxy",
        version: str = DEFAULT_VERSION,
    ) -> None:
        version_tuple(version)  # ValueError early for a malformed version
        self.version = version.split("-", 1)[0]
        self.repositories: dict[str, dict[str, Any]] = {}
        if repository and upstream_url is not None:
            self.repositories[repository] = pypi_proxy_config(repository, upstream_url)
        self.default_repository = repository or "pypi-proxy"
        self.anonymous_enabled = True
        self.users: dict[str, str] = {"admin": "admin123"}
        self.readers: set[str] | None = None
        self.blob_stores: set[str] = {"default"}
        self.rest_handlers: list[RestHandler] = list(REST_HANDLERS)
        # faults
        self.readable = True
        self.read_only = False
        self.remote_unreachable = False
        self.delay = 0.0
        self.hang = False
        self.login_page = False
        self.upstream_fetches: list[tuple[str, str, int]] = []
        # the system property nexus.proxy.urlEncodingMode.enabled, which 3.82-3.93 need for
        # proxy.preserveEncodedCharacters (testbed/nexus_raw.py)
        self.url_encoding_mode = False
        self.upstream_bytes = 0  # bodies received from remotes, every repository
        self._caches: dict[str, RepoCache] = {}
        # ProxyFacetSupport's proxyCooperation: concurrent misses for one (repo, asset) share
        # one upstream fetch (testbed/cooperation.py); ``cooperation.enabled = False`` as
        # nexus.proxy.cooperation.enabled=false.
        self.cooperation: Cooperation[Cached] = Cooperation()
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        super().__init__()
        for name, cfg in self.repositories.items():
            cfg["url"] = f"{self.base_url}/repository/{name}"

    # -- convenience ------------------------------------------------------------------------

    def index_url(self, repo: str | None = None) -> str:
        return f"{self.base_url}/repository/{repo or self.default_repository}/simple/"

    def repo_url(self, repo: str | None = None) -> str:
        return f"{self.base_url}/repository/{repo or self.default_repository}/"

    @property
    def status_url(self) -> str:
        return f"{self.base_url}/service/rest/v1/status"

    def add_pypi_proxy(self, name: str, remote_url: str, **overrides: Any) -> dict[str, Any]:
        return self._add(name, pypi_proxy_config(name, remote_url, **overrides))

    def add_raw_proxy(self, name: str, remote_url: str, **overrides: Any) -> dict[str, Any]:
        return self._add(name, raw_proxy_config(name, remote_url, **overrides))

    def _add(self, name: str, cfg: dict[str, Any]) -> dict[str, Any]:
        cfg["url"] = f"{self.base_url}/repository/{name}"
        with self.lock:
            self.repositories[name] = cfg
        return cfg

    def _repo(self, repo: str | None) -> dict[str, Any]:
        return self.repositories[repo or self.default_repository]

    def set_fault(self, **faults: Any) -> None:
        """Set several fault attributes at once (names from ``FAULT_DEFAULTS``)."""
        unknown = set(faults) - set(FAULT_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown fault(s): {sorted(unknown)}")
        with self.lock:
            for name, value in faults.items():
                setattr(self, name, value)

    def clear_faults(self) -> None:
        """Back to healthy: fault attributes reset, every repository online and unblocked."""
        with self.lock:
            self.set_fault(**FAULT_DEFAULTS)
            for name, cfg in self.repositories.items():
                cfg["online"] = True
                if isinstance(cfg.get("httpClient"), dict):
                    cfg["httpClient"]["blocked"] = False
                self.unblock_remote(name)

    def set_online(self, online: bool, repo: str | None = None) -> None:
        with self.lock:
            self._repo(repo)["online"] = online

    def set_blocked(self, blocked: bool, repo: str | None = None) -> None:
        with self.lock:
            self._repo(repo)["httpClient"]["blocked"] = blocked

    def set_remote(self, remote_url: str, repo: str | None = None) -> None:
        with self.lock:
            self._repo(repo)["proxy"]["remoteUrl"] = remote_url

    def block_remote(self, repo: str | None = None, seconds: float = AUTO_BLOCK_SECONDS) -> str:
        """Auto-block the remote for ``seconds``; returns the "until" text used in messages."""
        with self.lock:
            cache = self._cache(repo or self.default_repository)
            cache.blocked_until = time.time() + seconds
            cache.block_forced = True
            return _block_text(cache.blocked_until)

    def unblock_remote(self, repo: str | None = None) -> None:
        with self.lock:
            cache = self._cache(repo or self.default_repository)
            cache.blocked_until = None
            cache.block_forced = False

    def forget_cache(self, repo: str | None = None) -> None:
        """Drop everything cached for ``repo`` (Nexus' "invalidate cache" plus content)."""
        with self.lock:
            self._caches.pop(repo or self.default_repository, None)

    def invalidate_cache(self, repo: str | None = None) -> None:
        """Mark cached pages stale and clear the negative cache (keeps content for stale use)."""
        with self.lock:
            cache = self._cache(repo or self.default_repository)
            cache.nfc.clear()
            cache.pages = {k: v._replace(fetched_at=0.0) for k, v in cache.pages.items()}
            if cache.root is not None:
                cache.root = cache.root._replace(fetched_at=0.0)

    def fetch_count(self, contains: str = "") -> int:
        """Upstream fetches (GET) so far whose URL contains ``contains``."""
        with self.lock:
            return sum(1 for m, u, _ in self.upstream_fetches if m == "GET" and contains in u)

    def _cache(self, repo: str) -> RepoCache:
        cache = self._caches.get(repo)
        if cache is None:
            cache = self._caches[repo] = RepoCache()
        return cache

    # -- dispatch -------------------------------------------------------------------------

    def handle(self, handler: QuietHandler) -> Response | None:
        _serving.version = self.version
        if self.hang:
            # Read the request (already done by http.server), then never answer.
            self.stopped.wait(HANG_LIMIT)
            return None
        if self.delay:
            self.stopped.wait(self.delay)
        split = urllib.parse.urlsplit(handler.path)
        path = urllib.parse.unquote(split.path)
        user, bad_credentials = self._authenticate(handler.headers.get("Authorization"))
        req = Request(
            handler.command,
            path,
            urllib.parse.parse_qs(split.query),
            handler.headers,
            handler.read_body(),
            user,
            split.path,
        )
        is_repo = path.startswith("/repository/")
        if bad_credentials:
            return unauthorized(repository=is_repo)
        if path in ("/service/rest/v1/status", "/service/rest/v1/status/writable"):
            return self._status(req)
        if not self.readable:
            # DEVIATION: a Nexus that is starting/stopping answers 503 from Jetty with its
            # own body; the double uses the Nexus error page.
            return html_error(503, None, repository=is_repo)
        if path == "/service/rest/v1/status/check":
            return self._status_check(req)
        if path.startswith("/service/rest/"):
            for rest_handler in list(self.rest_handlers):
                resp = rest_handler(self, req)
                if resp is not None:
                    return resp
            # DEVIATION: unknown REST resources: RESTEasy's 404, body left empty here.
            return empty_response(404)
        if is_repo:
            return self._repository(req, handler)
        if path in ("/", "/index.html"):
            body = b"<!DOCTYPE html><html><head><title>Sonatype Nexus Repository</title></head>"
            body += b"<body></body></html>\n"
            # DEVIATION: the real UI is a large single-page app; only the title is copied.
            return Response(200, [*base_headers(), ("Content-Type", "text/html")], body)
        return html_error(404, None, repository=False)

    def _authenticate(self, header: str | None) -> tuple[str | None, bool]:
        """``(user, bad_credentials)``; empty credentials (``Basic Og==``) are anonymous."""
        if not header:
            return None, False
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None, True
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, True
        name, _, password = decoded.partition(":")
        if not name and not password:
            return None, False
        with self.lock:
            ok = name in self.users and self.users[name] == password
        return (name, False) if ok else (None, True)

    def _status(self, req: Request) -> Response:
        if req.method not in ("GET", "HEAD"):
            return empty_response(405)
        ok = self.readable
        if req.path.endswith("/writable"):
            ok = ok and not self.read_only
        return empty_response(200 if ok else 503)

    def _status_check(self, req: Request) -> Response:
        if req.user is None:
            return unauthorized()
        now = int(time.time() * 1000)
        checks = {}
        for check, healthy, message in (
            ("Available CPUs", True, "The host system is allocating a maximum of 4 cores to "
             "the application."),
            ("Read-Only Detector", not self.read_only,
             "Nexus is in read-only mode" if self.read_only else "Nexus is not in read-only mode"),
        ):
            checks[check] = {
                "healthy": healthy,
                "message": message,
                "error": None,
                "details": None,
                "time": now,
                "duration": 0,
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime()),
            }
        return json_response(200, checks)

    # -- /repository/** ----------------------------------------------------------------------

    def _repository(self, req: Request, handler: QuietHandler) -> Response:
        rest = req.path[len("/repository/") :]
        name, slash, sub = rest.partition("/")
        sub = "/" + sub if slash else ""
        if self.login_page:
            # DEVIATION: not Nexus itself: an SSO/auth proxy in front of it answering 200.
            return Response(200, [("Content-Type", "text/html; charset=utf-8")], LOGIN_PAGE)
        with self.lock:
            cfg = self.repositories.get(name)
            online = bool(cfg and cfg.get("online", True))
        if cfg is None:
            return html_error(404, "Repository not found")
        if not online:
            return html_error(503, "Repository offline")
        if req.user is None and not self.anonymous_enabled:
            return unauthorized(repository=True)
        if req.user is not None and self.readers is not None and req.user not in self.readers:
            return forbidden(repository=True)
        if (cfg.get("format"), cfg.get("type")) == ("raw", "proxy"):
            return self._raw(name, sub, req)
        if (cfg.get("format"), cfg.get("type")) != ("pypi", "proxy"):
            # DEVIATION: only PyPI and raw proxies are modelled; other formats/types answer 404.
            return html_error(404, None)
        if req.method not in ("GET", "HEAD"):
            # DEVIATION: POST /pypi (XML-RPC search) is not modelled; it gets 405 too.
            return html_error(405, None)
        try:
            if sub == "/simple/":
                return self._root(name, req)
            m = _PROJECT_RE.match(sub)
            if m:
                return self._project(name, m.group(1), req)
            m = _PACKAGE_RE.match(sub)
            if m:
                return self._package(name, m.group(1), m.group(3), req)
        except _Fail as fail:
            return fail.response
        return html_error(404, None)

    def _raw(self, repo: str, sub: str, req: Request) -> Response:
        """A raw proxy (RawProxyRecipe of the raw format in sonatype/nexus-public): any path is
        ``<remoteUrl>/<path>``, fetched once and then served from the cache for contentMaxAge
        minutes (-1: for ever). A remote 404 is 404 (negatively cached), a remote 5xx/401 503
        and an I/O error 502, as for the PyPI proxy (ProxyHandler). A GET of a path ending in
        ``/`` (the root too) goes to IndexHtmlForwardHandler
        (org.sonatype.nexus.repository.view.handlers): ``<path>index.html``, then
        ``<path>index.htm``, through the same proxy; the first answer other than 404 wins, and
        when both are 404 the answer is 404 with the requested path as its message."""
        if req.method not in ("GET", "HEAD"):
            # DEVIATION: a proxy takes no uploads; the recipe's default handler is notFound(),
            # which the double answers with its plain 404 page.
            return html_error(404, None)
        if sub == "":
            # DEVIATION: /repository/<name> without the slash is answered like the root.
            sub = "/"
        if sub.endswith("/") and req.method == "GET":
            for index in ("index.html", "index.htm"):
                resp = self._raw_file(repo, sub + index, req)
                if resp.status != 404:
                    return resp
            return html_error(404, sub)
        return self._raw_file(repo, sub, req)

    def _raw_file(self, repo: str, sub: str, req: Request) -> Response:
        settings = self._settings(repo)
        remote, content_age = settings.remote, settings.content_max_age
        with self.lock:
            proxy = dict(self.repositories[repo]["proxy"])
        raw = req.raw_path.split("/", 3)[3] if req.raw_path.count("/") >= 3 else ""
        if raw.endswith("/") or not raw:
            raw += sub.rsplit("/", 1)[1]  # IndexHtmlForwardHandler's index.html / index.htm
        v = version_tuple(self.version)
        preserve = nexus_raw.preserves_encoding(proxy, v, self.url_encoding_mode)
        try:
            url = remote + nexus_raw.remote_path(sub, raw, v, preserve)
        except nexus_raw.InvalidPath:
            return html_error(400, "Invalid repository path")
        def store(got: Cached) -> Cached:
            self._cache(repo).files[sub] = got
            return got

        try:
            got = self._get(
                repo, "file:" + sub, url, lambda: self._cache(repo).files.get(sub),
                content_age, "file", store,
            )
        except _Fail as fail:
            return fail.response
        return self._content(req, got.body, got.content_type, got.fetched_at, etag=got.etag)

    def _settings(self, repo: str) -> ProxySettings:
        with self.lock:
            cfg = self.repositories[repo]
            remote = str(cfg["proxy"]["remoteUrl"])
            if not remote.endswith("/"):
                remote += "/"
            nfc = cfg.get("negativeCache") or {}
            client = cfg.get("httpClient") or {}
            return ProxySettings(
                remote=remote,
                metadata_max_age=float(cfg["proxy"].get("metadataMaxAge", 1440)),
                content_max_age=float(cfg["proxy"].get("contentMaxAge", 1440)),
                negative_cache=bool(nfc.get("enabled", True)),
                negative_cache_ttl=float(nfc.get("timeToLive", 1440)),
                blocked=bool(client.get("blocked", False)),
                auto_block=bool(client.get("autoBlock", False)),
            )

    def _get(
        self,
        repo: str,
        key: str,
        url: str,
        lookup: Callable[[], Cached | None],
        max_age_minutes: float,
        kind: str,
        store: Callable[[Cached], Cached],
    ) -> Cached:
        """Pull-through, called without ``self.lock``; raises _Fail with the client's answer.

        ``lookup()`` (called under the lock) is what is cached now (maybe stale); ``store(got)``
        (under the lock) keeps a fresh fetch and returns what to serve. ``kind`` is "page" or
        "file". Concurrent misses for one key cooperate: one fetch, every waiter served by it.
        """

        def fresh() -> Cached | None:
            with self.lock:
                current = lookup()
            if current is not None and (
                max_age_minutes < 0 or time.time() - current.fetched_at < max_age_minutes * 60
            ):
                return current
            return None

        hit = fresh()
        if hit is not None:
            return hit
        return self.cooperation.cooperate(
            (repo, key), lambda: self._pull(repo, key, url, lookup, kind, store), fresh
        )

    def _pull(
        self,
        repo: str,
        key: str,
        url: str,
        lookup: Callable[[], Cached | None],
        kind: str,
        store: Callable[[Cached], Cached],
    ) -> Cached:
        """The cooperation leader's work (ProxyFacetSupport.doGet): checks, fetch, store."""
        settings = self._settings(repo)
        remote, blocked, auto_block = settings.remote, settings.blocked, settings.auto_block
        nfc_on, nfc_ttl = settings.negative_cache, settings.negative_cache_ttl
        with self.lock:
            current = lookup()
            now = time.time()
            cache = self._cache(repo)
            if cache.remote_url != remote:
                cache.remote_url = remote
                cache.nfc.clear()  # as Nexus: the NFC is cleared when remoteUrl changes
            if current is None and cache.nfc.get(key, 0) > now:
                raise _Fail(html_error(404, None))
            if blocked:
                if current is not None:
                    return current
                raise _Fail(html_error(404, "Remote Manually Blocked"))
            if cache.blocked_until is not None:
                still = cache.blocked_until > now
                if still and not cache.block_forced:
                    # DEVIATION: Nexus re-checks a blocked remote in the background (Fibonacci
                    # back-off from 40 s); the double re-checks inline on the next request, so
                    # a cleared fault unblocks at once.
                    still = not self._remote_alive(remote)
                if still:
                    if current is not None:
                        return current
                    until = _block_text(cache.blocked_until)
                    raise _Fail(html_error(404, f"Remote Auto Blocked until {until}"))
                cache.blocked_until = None
                cache.block_forced = False
            if self.read_only:
                # DEVIATION (interpretation): a frozen Nexus cannot store fetched content; the
                # double serves what is cached (even stale) and answers misses with 503.
                if current is not None:
                    return current
                raise _Fail(html_error(503, READ_ONLY_MESSAGE))
        try:
            body, ctype = self._fetch(url)
        except _Upstream404:
            with self.lock:
                if current is not None:
                    return current
                if nfc_on:
                    self._cache(repo).nfc[key] = now + nfc_ttl * 60
            raise _Fail(html_error(404, None)) from None
        except (_UpstreamService, OSError) as e:
            # the remote answered an error (503) or could not be reached (502)
            with self.lock:
                if auto_block:
                    self._cache(repo).blocked_until = now + AUTO_BLOCK_SECONDS
            if current is not None:
                return current
            status = 503 if isinstance(e, _UpstreamService) else 502
            raise _Fail(html_error(status, None)) from None
        etag = hashlib.sha1(body).hexdigest()
        if kind == "file":
            ctype = _file_content_type(key)
        with self.lock:
            self._cache(repo).nfc.pop(key, None)
            return store(Cached(body, now, etag, ctype))

    # Upstream fetches run outside ``self.lock``: different assets are fetched concurrently, one
    # asset once (cooperation, see _get). DEVIATION: the upstream timeout is UPSTREAM_TIMEOUT
    # (Nexus: httpClient.connection.timeout, default 60 s); retries are not modelled.
    def _fetch(self, url: str) -> tuple[bytes, str]:
        if self.remote_unreachable:
            with self.lock:
                self.upstream_fetches.append(("GET", url, 0))
            raise ConnectionRefusedError(f"remote unreachable (fault): {url}")
        request = urllib.request.Request(
            url,
            headers={"User-Agent": f"Nexus/{server_version()} (OSS; Linux; test double)"},
        )
        try:
            with self._opener.open(request, timeout=UPSTREAM_TIMEOUT) as resp:
                body = resp.read()
                ctype = resp.headers.get("Content-Type", "application/octet-stream")
                status = resp.status
        except urllib.error.HTTPError as err:
            with self.lock:
                self.upstream_fetches.append(("GET", url, err.code))
            err.close()
            if err.code in (401, 402, 407) or err.code >= 500:
                raise _UpstreamService(err.code) from None
            raise _Upstream404(err.code) from None
        except (OSError, ValueError) as exc:
            with self.lock:
                self.upstream_fetches.append(("GET", url, 0))
            raise OSError(str(exc)) from None
        with self.lock:
            self.upstream_fetches.append(("GET", url, status))
            self.upstream_bytes += len(body)
        return body, ctype

    def _remote_alive(self, remote: str) -> bool:
        if self.remote_unreachable:
            return False
        request = urllib.request.Request(remote, method="HEAD")
        try:
            with self._opener.open(request, timeout=UPSTREAM_TIMEOUT) as resp:
                status = resp.status
        except urllib.error.HTTPError as err:
            status = err.code
            err.close()
        except (OSError, ValueError):
            status = 0
        with self.lock:
            self.upstream_fetches.append(("HEAD", remote, status))
        return 0 < status < 500 and status not in (401, 407)

    def _project_links(self, repo: str, requested: str) -> tuple[Cached, str]:
        """The (validated) cached upstream page for ``requested``; raises _Fail."""
        key = normalize(requested)
        settings = self._settings(repo)
        remote, meta_age = settings.remote, settings.metadata_max_age
        url = f"{remote}simple/{requested}/"

        def store(got: Cached) -> Cached:
            links = []
            for attrs, text, absolute in parse_links(got.body, url):
                target, _, fragment = absolute.partition("#")
                links.append(Link(text, target, fragment, attrs.get("data-requires-python")))
            # Nexus stores a page only if a file name starts with the normalized name.
            if not any(normalize(lk.filename).startswith(key) for lk in links):
                raise _Fail(html_error(404, None))
            got = got._replace(links=tuple(links))
            self._cache(repo).pages[key] = got
            return got

        got = self._get(
            repo, "page:" + key, url, lambda: self._cache(repo).pages.get(key), meta_age, "page",
            store,
        )
        return got, url

    def _project(self, repo: str, requested: str, req: Request) -> Response:
        page, _ = self._project_links(repo, requested)
        rows = []
        for link in page.links:
            href = f"../../packages/{requested}/{version_of(link.filename, requested)}/"
            href += link.filename + (f"#{link.fragment}" if link.fragment else "")
            attr = ""
            if link.requires_python:
                attr = f' data-requires-python="{html.escape(link.requires_python)}"'
            rows.append(
                f'    <a href="{html.escape(href)}" rel="internal"{attr}>'
                f"{html.escape(link.filename)}</a><br/>"
            )
        body = (
            '<html lang="en">\n<head><title>Links for '
            + html.escape(requested)
            + '</title>\n  <meta name="api-version" value="2"/>\n</head>\n<body><h1>Links for '
            + html.escape(requested)
            + "</h1>\n"
            + "\n".join(rows)
            + "\n</body>\n</html>\n"
        ).encode()
        # DEVIATION: ETag/Last-Modified of a rendered page: Nexus uses the stored index
        # asset's; the double uses the upstream page's fetch time and a hash of the page.
        return self._content(req, body, "text/html", page.fetched_at)

    def _root(self, repo: str, req: Request) -> Response:
        settings = self._settings(repo)
        remote, meta_age = settings.remote, settings.metadata_max_age
        url = f"{remote}simple/"

        def store(got: Cached) -> Cached:
            self._cache(repo).root = got
            return got

        got = self._get(repo, "root", url, lambda: self._cache(repo).root, meta_age, "page", store)
        rows = []
        for _, text, absolute in parse_links(got.body, url):
            href = absolute.split("/simple/", 1)[1] if "/simple/" in absolute else absolute
            rows.append(f'  <a href="{html.escape(href)}">{html.escape(text)}</a><br/>')
        # DEVIATION: pypi-root-index.vm is not quoted in our sources; the shape mirrors the
        # project template (title "Simple index", one link per project, href "<project>/").
        body = (
            '<html lang="en">\n<head><title>Simple index</title>\n'
            '  <meta name="api-version" value="2"/>\n</head>\n<body>\n'
            + "\n".join(rows)
            + "\n</body>\n</html>\n"
        ).encode()
        return self._content(req, body, "text/html", got.fetched_at)

    def _package(self, repo: str, project: str, filename: str, req: Request) -> Response:
        content_age = self._settings(repo).content_max_age

        def lookup() -> Cached | None:
            return self._cache(repo).files.get(filename)

        def store(got: Cached) -> Cached:
            self._cache(repo).files[filename] = got
            return got

        with self.lock:
            current = lookup()
        fresh_enough = current is not None and (
            content_age < 0 or time.time() - current.fetched_at < content_age * 60
        )
        if not fresh_enough:
            page, _ = self._project_links(repo, project)
            link = next((lk for lk in page.links if lk.filename == filename), None)
            if link is None:
                # NonResolvablePackageException -> 404
                raise _Fail(html_error(404, None))
            current = self._get(
                repo, "file:" + filename, link.url, lookup, content_age, "file", store
            )
        assert current is not None
        return self._content(req, current.body, current.content_type, current.fetched_at,
                             etag=current.etag)

    def _content(
        self,
        req: Request,
        body: bytes,
        ctype: str,
        modified: float,
        etag: str | None = None,
    ) -> Response:
        tag = '"' + (etag or hashlib.sha1(body).hexdigest()) + '"'
        last_modified = _http_date(int(modified))
        inm = req.headers.get("If-None-Match")
        ims = req.headers.get("If-Modified-Since")
        not_modified = False
        if inm is not None:
            not_modified = tag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        elif ims is not None:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
                not_modified = int(modified) <= since
            except (TypeError, ValueError):
                not_modified = False
        headers = [*base_headers(), *_repo_headers()]
        if not_modified:
            # 304 carries only ETag (ConditionalRequestHandler); no Last-Modified.
            return Response(304, [*headers, ("ETag", tag)], b"")
        headers += [("Content-Type", ctype), ("Last-Modified", last_modified), ("ETag", tag)]
        return _partial(req, body, headers) or Response(200, headers, body)


_BYTE_RANGE = re.compile(r"\s*(\d*)-(\d*)\s*")


def _partial(req: Request, body: bytes, headers: list[tuple[str, str]]) -> Response | None:
    """Range requests, as PyPI's routes answer them with Nexus's PartialFetchHandler
    (sonatype/nexus-public: components/nexus-repository-services/src/main/java/org/sonatype/
    nexus/repository/http/PartialFetchHandler.java, injected by PyPiRecipeSupport): GET only,
    one range (several: 501), an unparsable header is ignored (200), one that starts past the
    end is 416. Content-Range is written as ``<first>-<last>/<size>``, without the ``bytes``
    unit, exactly as that source builds it."""
    spec = req.headers.get("Range")
    if req.method != "GET" or spec is None or not spec.strip().startswith("bytes="):
        return None
    size = len(body)
    ranges: list[tuple[int, int]] = []
    for part in spec.strip()[len("bytes=") :].split(","):
        m = _BYTE_RANGE.fullmatch(part)
        if m is None or m.group(1) == m.group(2) == "":
            return None
        if m.group(1) == "":  # the last N bytes
            first, last = max(size - int(m.group(2)), 0), size - 1
        else:
            first = int(m.group(1))
            if m.group(2) and int(m.group(2)) < first:
                return None  # not a range: ignored like any unparsable header
            last = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
        ranges.append((first, last))
    if len(ranges) > 1:
        return html_error(501, "Multiple ranges not supported.")
    first, last = ranges[0]
    if first >= size:
        # DEVIATION: the headers of HttpResponses.rangeNotSatisfiable are not quoted here
        resp = html_error(416, None)
        return resp._replace(headers=[*resp.headers, ("Content-Range", f"bytes */{size}")])
    return Response(206, [*headers, ("Content-Range", f"{first}-{last}/{size}")],
                    body[first : last + 1])


def _file_content_type(key: str) -> str:
    name = key.split(":", 1)[-1]
    if name.endswith((".whl", ".zip", ".egg")):
        return "application/zip"
    if name.endswith((".tar.gz", ".tgz")):
        return "application/x-gzip"
    if name.endswith(".tar.bz2"):
        return "application/x-bzip2"
    return "application/octet-stream"


def _block_text(until: float) -> str:
    # "Remote Auto Blocked until " + a Joda DateTime (sonatype/nexus-public: .../repository/
    # httpclient/internal/BlockingHttpClient.java), whose toString() is ISO-8601 with millis in
    # the server's zone: "2026-10-08T19:44:33.989Z" on a UTC server, as the double plays.
    ms = int((until % 1) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(until)) + f".{ms:03d}Z"

