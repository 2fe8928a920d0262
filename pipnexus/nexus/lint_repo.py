"""``nexus lint``: the checks of one ``config.repos`` entry (a REST API body) for a Nexus version.

The chart-level checks and the command are in :mod:`pipnexus.nexus.lint`.
"""

from __future__ import annotations

from typing import Any, Optional

from pipnexus import urls
from pipnexus.diagnostics import Diagnostic
from pipnexus.nexus import schema

# (line, col), both 1-based; col is None when unknown
Pos = tuple[int, Optional[int]]
CONNECTION_RANGES = {"retries": (0, 10), "timeout": (1, 3600)}


def is_map(x: Any) -> bool:
    return isinstance(x, dict)


def node_at(node: Any) -> Pos:
    try:
        return int(node.lc.line) + 1, int(node.lc.col) + 1
    except (AttributeError, TypeError):
        return 1, None


def key_at(m: Any, key: Any) -> Pos:
    try:
        line, col = m.lc.key(key)
        return int(line) + 1, int(col) + 1
    except (AttributeError, KeyError, TypeError):
        return node_at(m)


def item_at(seq: Any, i: int) -> Pos:
    try:
        line, col = seq.lc.item(i)
        return int(line) + 1, int(col) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return node_at(seq)


class Sink:
    """Collects diagnostics (the file's path is added by the command that prints them)."""

    def __init__(self, version: schema.Version, every_version: bool = False) -> None:
        self.version = version
        # check only what every known version requires (the version is not known yet)
        self.every_version = every_version
        self.linted_for = "every known version" if every_version else str(version)
        self.diagnostics: list[Diagnostic] = []
        # the chart's properties set schema.URL_ENCODING_PROPERTY
        self.url_encoding_mode = False

    def required(self, fields: tuple[schema.Field, ...]) -> tuple[schema.Field, ...]:
        """The ``fields`` that this linting checks."""
        if self.every_version:
            return tuple(f for f in fields if f.always)
        return schema.select(fields, self.version)

    def add(self, severity: str, at: Pos, message: str, code: str) -> None:
        self.diagnostics.append(Diagnostic(severity, message, code, None, at[0], at[1]))

    def error(self, at: Pos, message: str, code: str) -> None:
        self.add("error", at, message, code)

    def warn(self, at: Pos, message: str, code: str) -> None:
        self.add("warning", at, message, code)


class RepoLinter:
    def __init__(
        self,
        sink: Sink,
        repo: Any,
        index: int,
        at: Pos,
        blob_stores: set[str],
        ports: set[int] | None,
        realms: list[Any] | None,
    ) -> None:
        self.sink = sink
        self.version = sink.version
        self.repo = repo
        self.at = at
        self.blob_stores = blob_stores
        self.ports = ports
        self.realms = realms
        name = repo.get("name")
        self.where = f"config.repos[{index}]" + (f" ({name})" if isinstance(name, str) else "")

    def error(self, at: Pos, message: str, code: str) -> None:
        self.sink.error(at, f"{self.where}: {message}", code)

    def warn(self, at: Pos, message: str, code: str) -> None:
        self.sink.warn(at, f"{self.where}: {message}", code)

    def lookup(self, path: str) -> tuple[Any, Any, bool]:
        """(containing mapping, value, present) for a dotted path inside the repository."""
        node: Any = self.repo
        parts = path.split(".")
        for part in parts[:-1]:
            if not is_map(node) or not is_map(node.get(part)):
                return None, None, False
            node = node[part]
        if not is_map(node):
            return None, None, False
        return node, node.get(parts[-1]), parts[-1] in node

    def at_of(self, path: str) -> Pos:
        """Position of the key at ``path``, or of its nearest existing ancestor."""
        parts = path.split(".")
        while parts:
            container, _, present = self.lookup(".".join(parts))
            if present:
                return key_at(container, parts[-1])
            parts.pop()
        return self.at

    def lint(self) -> None:
        repo = self.repo
        fmt, rtype = repo.get("format"), repo.get("type")
        if "attributes" in repo or (isinstance(rtype, str) and "-" in rtype):
            self.error(
                key_at(repo, "attributes") if "attributes" in repo else key_at(repo, "type"),
                "this is the chart 4.x form (type: <format>-<type>, settings under attributes); "
                "chart 5.x posts the REST API body as-is with separate format and type",
                "chart-4-form",
            )
        for key, allowed in (("format", schema.FORMATS), ("type", schema.TYPES)):
            value = repo.get(key)
            if value is None or value == "":
                self.error(
                    self.at,
                    f"{key} is missing: the chart needs format and type to build the REST URL "
                    "/service/rest/v1/repositories/<format>/<type>",
                    "missing-field",
                )
            elif key == "type" and value not in allowed:
                self.error(
                    key_at(repo, key), f"type must be one of {', '.join(allowed)}", "invalid-value"
                )
        fmt = fmt if isinstance(fmt, str) else ""
        rtype = rtype if isinstance(rtype, str) else ""
        self.required(fmt, rtype)
        self.placement()
        self.versioned_keys()
        self.values(fmt, rtype)

    def required(self, fmt: str, rtype: str) -> None:
        for field in self.sink.required(schema.field_history(fmt, rtype)):
            at = self.missing(field)
            if at is None:
                continue
            self.error(
                at,
                f"{field.path}: {field.message} (required by {field.versions}, linted for "
                f"{self.sink.linted_for}; the config Job would get 400 'PARAMETER "
                f"{field.leaf}' and print 'Could not create repository')",
                "missing-field",
            )
        if self.sink.every_version:
            return
        for field, evidence in schema.unpublished_fields(fmt, rtype, self.version):
            at = self.missing(field)
            if at is not None:
                self.warn(
                    at,
                    f"{field.path} is missing: the published API of {field.versions} does not "
                    f"mark it required, but {evidence}; set it",
                    "missing-field",
                )

    def missing(self, field: schema.Field) -> Pos | None:
        """Where to report ``field`` if it is missing or empty; None if it is there (or its
        parent is missing or not a mapping, which is reported for the parent)."""
        container, value, present = self.lookup(field.path)
        if container is None:
            return None
        empty = value is None or (field.message == schema.NOT_EMPTY and value in ("", [], {}))
        if not empty:
            return None
        return key_at(container, field.leaf) if present else self.at_of(field.parent)

    def placement(self) -> None:
        for obj in ("", *schema.KNOWN_KEYS):
            if obj:
                _container, node, _ = self.lookup(obj)
            else:
                node = self.repo
            if not is_map(node):
                continue
            for key in node:
                if not isinstance(key, str):
                    continue
                if obj and key in schema.KNOWN_KEYS[obj]:
                    continue
                here = f"{obj}.{key}" if obj else key
                hint = schema.misplaced(obj, key)
                at = key_at(node, key)
                if hint:
                    self.error(
                        at,
                        f"{here} is ignored by Nexus at this level; did you mean {hint}"
                        + ("?" if "." in hint or not obj else " at the repository level?"),
                        "misplaced-key",
                    )
                elif obj:
                    self.warn(at, f"unknown key {here}: Nexus ignores it", "unknown-key")

    def versioned_keys(self) -> None:
        """Keys only some versions read, and the routing rule whose name is disputed."""
        if self.sink.every_version:
            return
        for vk in schema.VERSIONED_KEYS:
            container, value, present = self.lookup(f"{vk.obj}.{vk.key}" if vk.obj else vk.key)
            if value is not None and value == vk.inert and type(value) is type(vk.inert):
                continue
            if present and vk.key not in schema.accepted_keys(vk.obj, self.version):
                here = f"{vk.obj}.{vk.key}" if vk.obj else vk.key
                self.warn(
                    key_at(container, vk.key),
                    f"{here} is read by {vk.versions} only; Nexus {self.version} ignores it",
                    "version-specific",
                )
        container, preserve, _ = self.lookup("proxy.preserveEncodedCharacters")
        since, until = schema.URL_ENCODING_GATED
        if preserve is True and since <= self.version < until and not self.sink.url_encoding_mode:
            self.warn(
                key_at(container, "preserveEncodedCharacters"),
                f"proxy.preserveEncodedCharacters: {schema.version_range(since, until)} honour "
                f"it only when {schema.URL_ENCODING_PROPERTY} is set (their published API says "
                "so); add that line to the chart's properties list",
                "version-specific",
            )
        for key in schema.ROUTING_RULE_KEYS:
            if key in self.repo:
                self.warn(
                    key_at(self.repo, key),
                    f"{key}: the name of this field differs between Nexus versions: "
                    + schema.ROUTING_RULE_NOTE,
                    "routing-rule",
                )

    def values(self, fmt: str, rtype: str) -> None:
        self.name()
        self.remote_url(fmt)
        repo = self.repo
        if rtype != "proxy" and "proxy" in repo:
            self.warn(
                key_at(repo, "proxy"),
                f"a {rtype or '?'} repository has no proxy block",
                "unknown-key",
            )
        _, store, _ = self.lookup("storage.blobStoreName")
        if isinstance(store, str) and store and store not in self.blob_stores:
            why = (
                "config.createDefaultBlobStore is false and no blob store named 'default' is "
                "defined"
                if store == "default"
                else "it is neither 'default' nor defined in config.blobStores"
            )
            self.error(
                self.at_of("storage.blobStoreName"),
                f"storage.blobStoreName '{store}': {why} (Nexus: 400 'Blob store not found')",
                "unknown-blob-store",
            )
        self.numbers()
        if fmt == "docker":
            self.docker()

    def name(self) -> None:
        repo = self.repo
        name = repo.get("name")
        if name is not None and not isinstance(name, str):
            self.error(key_at(repo, "name"), "name must be a string", "invalid-value")
        elif isinstance(name, str) and name and not urls.is_repository_name(name):
            self.error(
                key_at(repo, "name"), f"name '{name}': {schema.NAME_MESSAGE}", "invalid-value"
            )
        elif repo.get("format") == "docker" and isinstance(name, str) and name != name.lower():
            self.error(
                key_at(repo, "name"), "Docker repository names must be lowercase", "invalid-value"
            )

    def remote_url(self, fmt: str) -> None:
        _, url, present = self.lookup("proxy.remoteUrl")
        if not (present and isinstance(url, str) and url):
            return
        if not url.startswith(("http://", "https://")):
            self.error(
                self.at_of("proxy.remoteUrl"),
                f"proxy.remoteUrl '{url}' is not an http(s) URL",
                "invalid-value",
            )
        elif fmt == "pypi" and url.rstrip("/").endswith("/simple"):
            self.error(
                self.at_of("proxy.remoteUrl"),
                f"proxy.remoteUrl '{url}' ends in /simple: Nexus appends /simple/<project>/ "
                "itself, so every project page would 404; use the index root (e.g. "
                "https://pypi.org)",
                "remote-url-simple",
            )

    def numbers(self) -> None:
        for key, (lo, hi) in CONNECTION_RANGES.items():
            _, v, present = self.lookup(f"httpClient.connection.{key}")
            if isinstance(v, int) and not isinstance(v, bool) and not lo <= v <= hi:
                bound = (
                    f"greater than or equal to {lo}" if v < lo else f"less than or equal to {hi}"
                )
                self.error(
                    self.at_of(f"httpClient.connection.{key}"),
                    f"httpClient.connection.{key}: must be {bound}",
                    "invalid-value",
                )
        for path in ("proxy.contentMaxAge", "proxy.metadataMaxAge", "negativeCache.timeToLive"):
            _, v, present = self.lookup(path)
            numeric = isinstance(v, int) or (isinstance(v, str) and v.strip().lstrip("-").isdigit())
            if present and v is not None and (isinstance(v, bool) or not numeric):
                self.error(
                    self.at_of(path), f"{path}: must be a whole number of minutes", "invalid-value"
                )

    def docker(self) -> None:
        _, port, _ = self.lookup("docker.httpPort")
        if isinstance(port, int) and self.ports is not None and port not in self.ports:
            self.warn(
                self.at_of("docker.httpPort"),
                f"docker.httpPort {port} is not in service.additionalPorts, so clients "
                "outside the pod cannot reach it",
                "docker-port",
            )
        _, force, _ = self.lookup("docker.forceBasicAuth")
        if force is False and (self.realms is None or "DockerToken" not in self.realms):
            self.warn(
                self.at_of("docker.forceBasicAuth"),
                "forceBasicAuth: false needs the DockerToken realm (config.realms) for "
                "anonymous pulls",
                "missing-realm",
            )
