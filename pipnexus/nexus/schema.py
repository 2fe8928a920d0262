"""What Nexus requires and accepts in a request body, per Nexus version.

One table for the linter, the values generator, ``apply`` and the test double. Sources:

* the published REST API of each version: ``/service/rest/swagger.json`` as captured in
  ``sonatype-nexus-community/nexus-repo-api-client: spec/openapi.yaml`` (3.67.1 ... 3.94.0) and
  the npm package ``@sonatype/nexus-repo-api-client`` 3.96.3, generated from the API of Nexus
  3.96.0 (its ``dist/runtime.js``: "The version of the OpenAPI document: 3.96.0-09";
  ``dist/models/*.js``: each ``instanceOf...`` function lists the required fields). A test
  checks this table against every one of them, so it cannot drift silently;
* the bean-validation annotations of the request models in ``sonatype/nexus-public:
  components/nexus-repository-services/src/main/java/org/sonatype/nexus/repository/rest/api/
  model/`` (e.g. ``ProxyAttributes.java``: ``@NotEmpty remoteUrl``, which the spec does not
  mark required): a missing ``@NotNull`` field is answered with 400 ``[{"id": "PARAMETER
  <leaf>", "message": "must not be null"}]``, a missing ``@NotEmpty`` one with ``"must not be
  empty"``. A nested field is only checked when its parent object is present (bean
  validation does not descend into null), so ``pypi.removeQuarantined`` is required only when
  a ``pypi`` block is sent.

Between two published versions the change is placed at the first version known to have it
(or, with no evidence in between, at the next minor after the last version without it).

Standard library only.
"""

from __future__ import annotations

import re
from typing import NamedTuple

NOT_NULL = "must not be null"
NOT_EMPTY = "must not be empty"

# the ValidationMessages text for NamePatternConstants.REGEX (urls.is_repository_name)
NAME_MESSAGE = (
    "Only letters, digits, underscores(_), hyphens(-), and dots(.) are allowed and may not "
    "start with underscore or dot."
)

FORMATS = ("pypi", "docker", "raw", "maven2", "npm", "nuget", "go", "helm", "apt", "yum")
TYPES = ("proxy", "hosted", "group")


class Version(NamedTuple):
    """A Nexus release, compared as numbers (the ``-01`` build suffix is dropped)."""

    major: int
    minor: int
    patch: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


_VERSION = re.compile(r"(?:Nexus/)?(\d{1,4})\.(\d{1,4})(?:\.(\d{1,4}))?(?:-\d+)?(?:\s.*)?\Z")


def parse_version(text: str) -> Version:
    """``3.95.1-01``, ``3.95.1``, ``3.95`` or a ``Server: Nexus/3.95.1-01 (OSS)`` value.

    Raises ValueError on anything else."""
    m = _VERSION.match(text.strip())
    if not m:
        raise ValueError(f"not a Nexus version: {text[:40]!r}")
    return Version(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


# versions whose published REST API the table was checked against (see the module docstring);
# the one list of Nexus versions: testbed/nexus_double.py plays these and CHART_NEXUS_VERSION
KNOWN_VERSIONS = tuple(
    parse_version(v) for v in ("3.67.1", "3.81.1", "3.90.1", "3.93.2", "3.94.0", "3.96.0")
)
OLDEST = KNOWN_VERSIONS[0]
NEWEST = KNOWN_VERSIONS[-1]
# the Nexus that the current stevehipwell/nexus3 chart (5.25.1) installs: its appVersion
CHART_NEXUS_VERSION = parse_version("3.95.1")

# 3.90.1 requires httpClient.blocked/autoBlock, 3.93.2 does not
V3_91 = Version(3, 91)
# 3.93.2 has pypi.removeQuarantined, 3.94.0 has pypi.indexPath only and a top-level firewall
V3_94 = Version(3, 94)
# 3.94.0 still lists httpClient in the pypi proxy request's required fields, 3.96.0 does not
# (docker and raw proxies keep it). 3.95 is unpublished: it gets the newer rule, so that the
# chart's Nexus 3.95.1 is not told about a field it may not need (a false error blocks apply,
# a missed one only gets Nexus's own 400 with the field named).
V3_95 = Version(3, 95)


def in_range(version: Version, since: Version | None, until: Version | None) -> bool:
    """``since <= version < until``, an absent bound being open."""
    return (since is None or version >= since) and (until is None or version < until)


def version_range(since: Version | None, until: Version | None) -> str:
    """``Nexus 3.67-3.90``, ``Nexus 3.94 and later``, ... (``until`` is exclusive)."""
    if since is None and until is None:
        return "every Nexus version"
    if until is None:
        assert since is not None
        return f"Nexus {since.major}.{since.minor} and later"
    last = f"{until.major}.{until.minor - 1}" if until.minor else f"{until.major - 1}.x"
    if since is None:
        return f"Nexus {last} and earlier"
    return f"Nexus {since.major}.{since.minor}-{last}"


class Field(NamedTuple):
    path: str  # dotted path inside the REST body, e.g. "storage.blobStoreName"
    message: str  # what Nexus answers when it is missing
    since: Version | None = None  # first version that requires it (None: every known one)
    until: Version | None = None  # first version that no longer requires it (exclusive)

    @property
    def leaf(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @property
    def parent(self) -> str:
        return self.path.rpartition(".")[0]

    def applies(self, version: Version) -> bool:
        return in_range(version, self.since, self.until)

    @property
    def versions(self) -> str:
        """Which versions require the field, for messages."""
        return version_range(self.since, self.until)

    @property
    def always(self) -> bool:
        """Required by every version."""
        return self.since is None and self.until is None


_BASE = (
    Field("name", NOT_EMPTY),
    Field("online", NOT_NULL),
    Field("storage", NOT_NULL),
    Field("storage.blobStoreName", NOT_EMPTY),
    Field("storage.strictContentTypeValidation", NOT_NULL),
)
_PROXY = (
    Field("proxy", NOT_NULL),
    Field("proxy.remoteUrl", NOT_EMPTY),  # @NotEmpty in ProxyAttributes.java
    Field("proxy.contentMaxAge", NOT_NULL),
    Field("proxy.metadataMaxAge", NOT_NULL),
    Field("negativeCache", NOT_NULL),
    Field("negativeCache.enabled", NOT_NULL),
    Field("negativeCache.timeToLive", NOT_NULL),
)
_BLOCKED = (
    Field("httpClient.blocked", NOT_NULL, until=V3_91),
    Field("httpClient.autoBlock", NOT_NULL, until=V3_91),
)
_HTTP_CLIENT = (Field("httpClient", NOT_NULL), *_BLOCKED)
_HOSTED = (Field("storage.writePolicy", NOT_NULL),)
_GROUP = (Field("group", NOT_NULL), Field("group.memberNames", NOT_EMPTY))
_DOCKER = (
    Field("docker", NOT_NULL),
    Field("docker.v1Enabled", NOT_NULL),
    Field("docker.forceBasicAuth", NOT_NULL),
)
# indexType: required in the 3.94.0 OpenAPI and the npm 3.96.3 models only (UNPUBLISHED below)
_DOCKER_PROXY = (
    Field("dockerProxy", NOT_NULL),
    Field("dockerProxy.indexType", NOT_EMPTY, since=V3_94),
)
# the pypi block is optional; on Nexus 3.67-3.93 removeQuarantined is required inside it
_PYPI_PROXY = (
    Field("httpClient", NOT_NULL, until=V3_95),
    *_BLOCKED,
    Field("pypi.removeQuarantined", NOT_NULL, until=V3_94),
)

_BY_TYPE = {"proxy": _PROXY, "hosted": _HOSTED, "group": _GROUP}
_BY_FORMAT_TYPE: dict[tuple[str, str], tuple[Field, ...]] = {
    ("pypi", "proxy"): _PYPI_PROXY,
    ("docker", "proxy"): _HTTP_CLIENT + _DOCKER + _DOCKER_PROXY,
    ("docker", "hosted"): _DOCKER,
    ("docker", "group"): _DOCKER,
}
# format/type pairs whose whole field set we know (others: only the common part is checked)
FULLY_KNOWN = (
    ("pypi", "proxy"),
    ("pypi", "hosted"),
    ("pypi", "group"),
    ("docker", "proxy"),
    ("docker", "hosted"),
    ("docker", "group"),
    ("raw", "hosted"),
    ("raw", "proxy"),
    ("raw", "group"),
)

# other request bodies: the file blob store (POST /v1/blobstores/file) and anonymous access
# (PUT /v1/security/anonymous). Both blob store fields are required in every version, with
# their own messages: ``@NotEmpty(message = "Name is required") name`` and ``@NotEmpty(message
# = "Path is required") path`` in sonatype/nexus-public: components/nexus-blobstore-file/src/
# main/java/org/sonatype/nexus/blobstore/file/rest/FileBlobStoreApiCreateRequest.java and
# FileBlobStoreApiModel.java (tags 3.29.2 ... 3.77.1), validated by FileBlobStoreResource's
# ``createFileBlobStore(@Valid ...)``; only the 3.94 OpenAPI lists them as required.
BLOB_STORE_FIELDS = (
    Field("name", "Name is required"),
    Field("path", "Path is required"),
)
ANONYMOUS_FIELDS = (
    Field("realmName", NOT_EMPTY, since=V3_94),
    Field("userId", NOT_EMPTY, since=V3_94),
)
# what Nexus uses when nobody changed them (AnonymousConfiguration defaults)
ANONYMOUS_DEFAULTS = {"userId": "anonymous", "realmName": "NexusAuthorizingRealm"}


# Fields that a version's published API does not mark required, but that a real Nexus of such
# a version was seen to refuse without: linted as warnings for those versions, with the evidence.
UNPUBLISHED: dict[tuple[str, str], tuple[tuple[Field, str], ...]] = {
    ("docker", "proxy"): (
        (
            Field("dockerProxy.indexType", NOT_EMPTY, until=V3_94),
            "a Nexus of early 2022 answered 400 'PARAMETER indexType: must not be empty' "
            "without it (datadrivers/go-nexus-client#83)",
        ),
    ),
}


def unpublished_fields(
    fmt: str, rtype: str, version: Version | None = None
) -> tuple[tuple[Field, str], ...]:
    """``(field, evidence)`` that Nexus ``version`` may require although its published API
    does not say so."""
    v = max(version or NEWEST, OLDEST)
    return tuple((f, why) for f, why in UNPUBLISHED.get((fmt, rtype), ()) if f.applies(v))


def _all_fields(fmt: str, rtype: str) -> tuple[Field, ...]:
    if rtype not in _BY_TYPE:
        return ()
    fields = _BASE + _BY_TYPE[rtype] + _BY_FORMAT_TYPE.get((fmt, rtype), ())
    if rtype == "proxy" and not any(f.path == "httpClient" for f in fields):
        fields += _HTTP_CLIENT
    return fields


def select(fields: tuple[Field, ...], version: Version | None = None) -> tuple[Field, ...]:
    """The ``fields`` that Nexus ``version`` (default: :data:`NEWEST`) requires. A version
    older than every known one gets the oldest known rules."""
    v = max(version or NEWEST, OLDEST)
    return tuple(f for f in fields if f.applies(v))


def required_fields(fmt: str, rtype: str, version: Version | None = None) -> tuple[Field, ...]:
    """Every field Nexus ``version`` (default: :data:`NEWEST`) validates for a ``fmt``/``rtype``
    repository body, parents first."""
    return select(_all_fields(fmt, rtype), version)


def required_in_every_version(fmt: str, rtype: str) -> tuple[Field, ...]:
    """The fields every version validates (what can be checked before the version is known)."""
    return tuple(f for f in _all_fields(fmt, rtype) if f.always)


def field_history(fmt: str, rtype: str) -> tuple[Field, ...]:
    """Every field any known version validates, with its version range."""
    return _all_fields(fmt, rtype)


def paths_for_leaf(leaf: str) -> list[str]:
    """Full paths a Nexus error id ``PARAMETER <leaf>`` may refer to (it names only the leaf)."""
    seen: list[str] = []
    for fmt, rtype in FULLY_KNOWN:
        for f in field_history(fmt, rtype):
            if f.leaf == leaf and f.path not in seen:
                seen.append(f.path)
    return seen


_CONNECTION = (
    "retries",
    "userAgentSuffix",
    "timeout",
    "enableCircularRedirects",
    "enableCookies",
    "useTrustStore",
)
_AUTHENTICATION = (
    "type",
    "username",
    "password",
    "ntlmHost",
    "ntlmDomain",
    "bearerToken",
    "preemptive",
)

# keys of the objects we know completely: anything else in them is ignored by Nexus
KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "storage": ("blobStoreName", "strictContentTypeValidation", "writePolicy", "dataStoreName"),
    "proxy": ("remoteUrl", "contentMaxAge", "metadataMaxAge", "preserveEncodedCharacters"),
    "negativeCache": ("enabled", "timeToLive"),
    "httpClient": ("blocked", "autoBlock", "connection", "authentication"),
    "httpClient.connection": _CONNECTION,
    "httpClient.authentication": _AUTHENTICATION,
    "pypi": ("removeQuarantined", "indexPath"),
    "docker": ("v1Enabled", "forceBasicAuth", "httpPort", "httpsPort", "subdomain", "pathEnabled"),
    "dockerProxy": (
        "indexType",
        "indexUrl",
        "cacheForeignLayers",
        "foreignLayerUrlWhitelist",
        "ecrAuth",
    ),
    "raw": ("contentDisposition", "forwardQueryParameters", "excludedQueryParameters"),
    "group": ("memberNames", "writableMember"),
    "cleanup": ("policyNames",),
}


class VersionedKey(NamedTuple):
    """A key that only some Nexus versions read; the others ignore it."""

    obj: str  # object path inside the repository body, "" for the body itself
    key: str
    since: Version | None = None
    until: Version | None = None  # exclusive
    # a value that changes nothing, so other versions ignoring it needs no warning
    inert: object = None

    def applies(self, version: Version) -> bool:
        return in_range(version, self.since, self.until)

    @property
    def versions(self) -> str:
        return version_range(self.since, self.until)


# 3.81.1 lacks preserveEncodedCharacters and pathEnabled, 3.90.1 has them
_V3_82 = Version(3, 82)
VERSIONED_KEYS = (
    # 3.94 replaced it by the top-level firewall block; false is the default
    VersionedKey("pypi", "removeQuarantined", until=V3_94, inert=False),
    # 3.90.1 has no pypi.indexPath, 3.93.2 has it
    VersionedKey("pypi", "indexPath", since=V3_91),
    VersionedKey("", "firewall", since=V3_94),
    VersionedKey("proxy", "preserveEncodedCharacters", since=_V3_82),
    VersionedKey("docker", "pathEnabled", since=_V3_82),
    VersionedKey("dockerProxy", "ecrAuth", since=V3_94),
    # 3.90.1 has only raw.contentDisposition, 3.93.2 also the query parameter forwarding
    VersionedKey("raw", "forwardQueryParameters", since=V3_91),
    VersionedKey("raw", "excludedQueryParameters", since=V3_91),
)
# Top-level keys of a proxy repository request that every known version reads.
# ``routingRule``/``routingRuleName`` are not here: the evidence is split (ROUTING_RULE_NOTE).
REPOSITORY_KEYS = (
    "name",
    "online",
    "storage",
    "cleanup",
    "proxy",
    "negativeCache",
    "httpClient",
    "replication",
    "group",
    "component",
    "raw",
    "docker",
    "dockerProxy",
    "pypi",
    "format",
    "type",
)
ROUTING_RULE_KEYS = ("routingRule", "routingRuleName")
ROUTING_RULE_NOTE = (
    'the open source up to Nexus 3.77 reads @JsonProperty("routingRule") in proxy requests '
    "(sonatype/nexus-public: components/nexus-repository-services/src/main/java/org/sonatype/"
    "nexus/repository/rest/api/model/ProxyRepositoryApiRequest.java), while the published API "
    "of Nexus 3.94 names routingRuleName in the request; check with GET that the rule was set"
)


# The published API of 3.90.1 and 3.93.2 says proxy.preserveEncodedCharacters "is only
# available when nexus.proxy.urlEncodingMode.enabled=true is set"; 3.94.0 and 3.96.0 do not.
URL_ENCODING_PROPERTY = "nexus.proxy.urlEncodingMode.enabled=true"
URL_ENCODING_GATED = (_V3_82, V3_94)


def versioned_key(obj: str, key: str) -> VersionedKey | None:
    return next((k for k in VERSIONED_KEYS if k.obj == obj and k.key == key), None)


def accepted_keys(obj: str, version: Version | None = None) -> tuple[str, ...]:
    """The keys of object ``obj`` that Nexus ``version`` (default: NEWEST) reads."""
    v = max(version or NEWEST, OLDEST)
    if obj:
        keys = KNOWN_KEYS.get(obj, ())
    else:
        keys = REPOSITORY_KEYS + tuple(k.key for k in VERSIONED_KEYS if not k.obj)
    return tuple(k for k in keys if (vk := versioned_key(obj, k)) is None or vk.applies(v))


# (object path, key) -> where the key belongs. "" is the repository body itself.
# HttpClientConnectionAttributes holds retries, timeout, useTrustStore ... in every published
# API (3.67.1 ... 3.96.0): anywhere else Nexus drops them without a word (Jackson's
# FAIL_ON_UNKNOWN_PROPERTIES is off), and the chart's config Job posts the body as it is.
MISPLACED: dict[tuple[str, str], str] = {}
for _obj in ("", *KNOWN_KEYS):
    if _obj == "httpClient.connection":
        continue
    for _k in _CONNECTION:
        MISPLACED[_obj, _k] = f"httpClient.connection.{_k}"
    if _obj != "httpClient":
        MISPLACED[_obj, "connection"] = "httpClient.connection"
        if _obj != "httpClient.authentication":
            MISPLACED[_obj, "authentication"] = "httpClient.authentication"
for _k in _AUTHENTICATION:
    MISPLACED["httpClient", _k] = f"httpClient.authentication.{_k}"
for _obj, _keys in KNOWN_KEYS.items():
    if "." in _obj:
        continue
    for _k in _keys:
        if _k not in ("enabled", "type", "name"):
            MISPLACED.setdefault(("", _k), f"{_obj}.{_k}")
for _obj in ("storage", "proxy", "negativeCache", "httpClient.connection", "pypi"):
    for _k in ("blocked", "autoBlock"):
        MISPLACED[_obj, _k] = f"httpClient.{_k}"
for _k in ("timeToLive",):
    MISPLACED["proxy", _k] = f"negativeCache.{_k}"
for _k in ("remoteUrl", "contentMaxAge", "metadataMaxAge"):
    MISPLACED["storage", _k] = f"proxy.{_k}"
    MISPLACED["httpClient", _k] = f"proxy.{_k}"
for _k in ("blobStoreName", "strictContentTypeValidation"):
    MISPLACED["proxy", _k] = f"storage.{_k}"
# a whole block one level too deep, e.g. negativeCache indented under proxy
for _obj in KNOWN_KEYS:
    for _block in (
        "storage",
        "proxy",
        "negativeCache",
        "httpClient",
        "pypi",
        "docker",
        "dockerProxy",
        "cleanup",
    ):
        if _block != _obj.rsplit(".", 1)[-1]:
            MISPLACED.setdefault((_obj, _block), _block)
MISPLACED["", "ttl"] = MISPLACED["negativeCache", "ttl"] = "negativeCache.timeToLive"
MISPLACED["", "memberNames"] = "group.memberNames"
MISPLACED["", "policyNames"] = "cleanup.policyNames"


def misplaced(obj: str, key: str) -> str | None:
    """Where ``key`` found under ``obj`` belongs, if it is a known mistake."""
    hint = MISPLACED.get((obj, key))
    if hint:
        return hint
    if "_" in key:  # Terraform/Ansible spelling: remote_url -> remoteUrl
        head, *rest = key.split("_")
        camel = head + "".join(p[:1].upper() + p[1:] for p in rest)
        if camel in KNOWN_KEYS.get(obj, ()):
            return f"{obj}.{camel}" if obj else camel
        return MISPLACED.get((obj, camel))
    return None


def version_from_tag(tag: str) -> Version | None:
    """The version an image tag such as ``3.95.1``, ``3.95.1-01`` or ``3.70.1-java17-ubi``
    names, or None (``latest``, a digest)."""
    m = re.match(r"(\d{1,4})\.(\d{1,4})(?:\.(\d{1,4}))?(?![\d.])", tag.strip())
    return Version(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)) if m else None
