"""What Nexus requires in a repository body, and the keys people put at the wrong level.

One table for the linter, the values generator and ``apply``. Source: the bean-validation
annotations of the Nexus REST request models (see ../shared/design/nexus-facts.md §1.4, §1.5):
a missing ``@NotNull`` field is answered with 400 ``[{"id": "PARAMETER <leaf>", "message":
"must not be null"}]``, a missing ``@NotEmpty`` one with ``"must not be empty"``. A nested field
is only checked when its parent object is present (bean validation does not descend into null),
so e.g. ``pypi.removeQuarantined`` is required only when a ``pypi`` block is sent.

Standard library only.
"""

from __future__ import annotations

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


class Field(NamedTuple):
    path: str  # dotted path inside the REST body, e.g. "storage.blobStoreName"
    message: str  # what Nexus answers when it is missing

    @property
    def leaf(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @property
    def parent(self) -> str:
        return self.path.rpartition(".")[0]


_BASE = (
    Field("name", NOT_EMPTY),
    Field("online", NOT_NULL),
    Field("storage", NOT_NULL),
    Field("storage.blobStoreName", NOT_EMPTY),
    Field("storage.strictContentTypeValidation", NOT_NULL),
)
_PROXY = (
    Field("proxy", NOT_NULL),
    Field("proxy.remoteUrl", NOT_EMPTY),
    Field("proxy.contentMaxAge", NOT_NULL),
    Field("proxy.metadataMaxAge", NOT_NULL),
    Field("negativeCache", NOT_NULL),
    Field("negativeCache.enabled", NOT_NULL),
    Field("negativeCache.timeToLive", NOT_NULL),
    Field("httpClient", NOT_NULL),
    Field("httpClient.blocked", NOT_NULL),
    Field("httpClient.autoBlock", NOT_NULL),
)
_HOSTED = (Field("storage.writePolicy", NOT_NULL),)
_GROUP = (Field("group", NOT_NULL), Field("group.memberNames", NOT_EMPTY))
_DOCKER = (
    Field("docker", NOT_NULL),
    Field("docker.v1Enabled", NOT_NULL),
    Field("docker.forceBasicAuth", NOT_NULL),
)
_DOCKER_PROXY = (Field("dockerProxy", NOT_NULL), Field("dockerProxy.indexType", NOT_EMPTY))
# the pypi block is optional; on Nexus 3.67-3.93 removeQuarantined is required inside it
_PYPI_PROXY = (Field("pypi.removeQuarantined", NOT_NULL),)

_BY_TYPE = {"proxy": _PROXY, "hosted": _HOSTED, "group": _GROUP}
_BY_FORMAT_TYPE: dict[tuple[str, str], tuple[Field, ...]] = {
    ("pypi", "proxy"): _PYPI_PROXY,
    ("docker", "proxy"): _DOCKER + _DOCKER_PROXY,
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


def required_fields(fmt: str, rtype: str) -> tuple[Field, ...]:
    """Every field Nexus validates for a ``fmt``/``rtype`` repository body, parents first."""
    if rtype not in _BY_TYPE:
        return ()
    return _BASE + _BY_TYPE[rtype] + _BY_FORMAT_TYPE.get((fmt, rtype), ())


def paths_for_leaf(leaf: str) -> list[str]:
    """Full paths a Nexus error id ``PARAMETER <leaf>`` may refer to (it names only the leaf)."""
    seen: list[str] = []
    for fmt, rtype in FULLY_KNOWN:
        for f in required_fields(fmt, rtype):
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
    "group": ("memberNames", "writableMember"),
    "cleanup": ("policyNames",),
}

# (object path, key) -> where the key belongs. "" is the repository body itself.
MISPLACED: dict[tuple[str, str], str] = {}
for _k in _CONNECTION:
    MISPLACED["httpClient", _k] = f"httpClient.connection.{_k}"
    MISPLACED["", _k] = f"httpClient.connection.{_k}"
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
MISPLACED["", "routingRuleName"] = "routingRule"


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
