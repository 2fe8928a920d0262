"""``pipnexus nexus lint FILE``: check stevehipwell/nexus3 values against Nexus and the chart.

Reports ``FILE:LINE: message`` (errors) and ``FILE:LINE: warning: message``; exit 1 on errors,
2 when the file cannot be read or is not valid YAML (``FILE:LINE:COL: message``).
ruamel.yaml is imported only when linting runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NamedTuple

from pipnexus import urls
from pipnexus.errors import InputError
from pipnexus.nexus import schema

CONFIG_KEYS = frozenset(
    {
        "enabled",
        "repos",
        "anonymous",
        "blobStores",
        "realms",
        "createDefaultBlobStore",
        "cleanup",
        "tasks",
        "users",
        "roles",
        "job",
        "privileges",
        "ldap",
    }
)
# top-level keys of the stevehipwell/nexus3 chart (5.x values.yaml)
CHART_KEYS = frozenset(
    (
        "image",
        "bashImage",
        "jdkImage",
        "imagePullSecrets",
        "nameOverride",
        "fullnameOverride",
        "commonLabels",
        "serviceAccount",
        "service",
        "ingress",
        "httpRoute",
        "replicas",
        "updateStrategy",
        "ordinals",
        "podManagementPolicy",
        "minReadySeconds",
        "podDisruptionBudget",
        "podLabels",
        "podAnnotations",
        "podSecurityContext",
        "priorityClassName",
        "terminationGracePeriodSeconds",
        "securityContext",
        "env",
        "startupProbe",
        "livenessProbe",
        "readinessProbe",
        "persistence",
        "extraVolumes",
        "extraVolumeMounts",
        "resources",
        "extraInitContainers",
        "nodeSelector",
        "affinity",
        "topologySpreadConstraints",
        "tolerations",
        "metrics",
        "license",
        "properties",
        "storeProperties",
        "logback",
        "tailLogs",
        "install4jAddVmParams",
        "caCerts",
        "plugins",
        "rootPassword",
        "config",
        "testResources",
        "global",
    )
)
CONFIG_ALL_KEYS = CONFIG_KEYS | {"repoCredentials", "rootPassword"}
ROOT_PASSWORD_KEYS = ("secret", "key")
CONNECTION_RANGES = {"retries": (0, 10), "timeout": (1, 3600)}


class Problem(NamedTuple):
    line: int  # 1-based
    message: str
    warning: bool = False

    def format(self, filename: str) -> str:
        kind = "warning: " if self.warning else ""
        return f"{filename}:{self.line}: {kind}{self.message}"


class YamlSyntaxError(Exception):
    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the values file (- for stdin)")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="report errors only, no warnings"
    )


def load(text: str) -> Any:
    """Parse with ruamel.yaml round-trip (keeps line numbers); raise YamlSyntaxError."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(x for x in (e.context, e.problem) if x)
        raise YamlSyntaxError(line, col, f"invalid YAML: {what}") from None
    except YAMLError as e:
        raise YamlSyntaxError(1, 1, f"invalid YAML: {e}") from None


def _is_map(x: Any) -> bool:
    return isinstance(x, dict)


def _key_line(m: Any, key: Any) -> int:
    try:
        return int(m.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        return _line(m)


def _item_line(seq: Any, i: int) -> int:
    try:
        return int(seq.lc.item(i)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return _line(seq)


def _line(node: Any) -> int:
    try:
        return int(node.lc.line) + 1
    except (AttributeError, TypeError):
        return 1


class _Linter:
    def __init__(self, version: schema.Version | None = None) -> None:
        self.problems: list[Problem] = []
        self.version = version or schema.NEWEST

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(line, message))

    def warn(self, line: int, message: str) -> None:
        self.problems.append(Problem(line, message, warning=True))

    # -- chart level -------------------------------------------------------------------

    def lint(self, doc: Any) -> list[Problem]:
        if doc is None:
            self.error(1, "empty values file")
            return self.problems
        if not _is_map(doc):
            self.error(_line(doc), "values must be a mapping at the top level")
            return self.problems
        self.root_password(doc)
        self.misnested_config(doc, "", top=True)
        for key in ("repos", "blobStores", "anonymous", "realms", "createDefaultBlobStore"):
            if key in doc:
                self.error(
                    _key_line(doc, key),
                    f"'{key}' at the top level is ignored by the chart; it belongs under config",
                )
        self.unknown_keys(
            doc,
            "",
            CHART_KEYS | {"repos", "blobStores", "anonymous", "realms", "createDefaultBlobStore"},
        )
        config = doc.get("config")
        if _is_map(config):
            self.unknown_keys(config, "config.", CONFIG_ALL_KEYS)
        if config is not None and not _is_map(config):
            self.error(_key_line(doc, "config"), "config must be a mapping")
            config = None
        self.persistence(doc)
        if config is not None:
            self.config(doc, config)
        return sorted(self.problems, key=lambda p: (p.line, p.warning))

    def unknown_keys(self, node: Any, prefix: str, known: frozenset[str]) -> None:
        import difflib

        for key in node:
            if not isinstance(key, str) or key in known:
                continue
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
            hint = f"; did you mean {prefix}{close[0]}?" if close else ""
            self.warn(
                _key_line(node, key), f"unknown key {prefix}{key}: the chart ignores it{hint}"
            )

    def root_password(self, doc: Any) -> None:
        if "rootPassword" not in doc:
            return
        rp = doc["rootPassword"]
        line = _key_line(doc, "rootPassword")
        if rp is None:
            return
        if not _is_map(rp):
            self.error(
                line,
                "rootPassword must be a mapping with 'secret' (the name of a Secret holding "
                "the admin password) and 'key'; the chart takes no inline password",
            )
            return
        for key in rp:
            if key in ROOT_PASSWORD_KEYS:
                continue
            kline = _key_line(rp, key)
            if key == "config":
                self.error(
                    kline,
                    "'config' is nested under rootPassword, so the chart ignores it; "
                    "it must be a top-level key (unindent it)",
                )
            elif key in ("password", "value"):
                self.error(
                    kline,
                    f"unknown key rootPassword.{key}: the chart reads the password from the "
                    "Secret named by rootPassword.secret (and rootPassword.key)",
                )
            else:
                self.error(
                    kline,
                    f"unknown key rootPassword.{key}: only rootPassword.secret and "
                    "rootPassword.key exist",
                )

    def misnested_config(self, node: Any, path: str, top: bool = False) -> None:
        if _is_map(node):
            for key, value in node.items():
                p = f"{path}.{key}" if path else str(key)
                if (
                    key == "config"
                    and not top
                    and path != "rootPassword"  # reported by root_password
                    and _is_map(value)
                    and CONFIG_KEYS.intersection(value)
                ):
                    self.error(
                        _key_line(node, key),
                        f"a 'config' block is nested under {path}, so the chart ignores it; "
                        "it must be a top-level key",
                    )
                if path == "" and key == "config":
                    continue  # the real one
                self.misnested_config(value, p)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                self.misnested_config(item, f"{path}[{i}]")

    def persistence(self, doc: Any) -> None:
        pers = doc.get("persistence")
        if not _is_map(pers) or not pers.get("enabled"):
            line = _key_line(doc, "persistence") if "persistence" in doc else 1
            self.warn(
                line,
                "persistence.enabled is not true: the cache lives in an emptyDir and is lost "
                "(re-downloaded from upstream) whenever the pod restarts",
            )

    def config(self, doc: Any, config: Any) -> None:
        rp = doc.get("rootPassword")
        secret = rp.get("secret") if _is_map(rp) else None
        if config.get("enabled") is True and not secret:
            self.error(
                _key_line(config, "enabled"),
                "config.enabled needs rootPassword.secret: the chart renders the config Job "
                "only when both are set, so nothing below would be applied",
            )
        if "rootPassword" in config:
            self.error(
                _key_line(config, "rootPassword"),
                "config.rootPassword was replaced by the top-level rootPassword in chart 4.19 "
                "and is ignored by chart 5.x",
            )
        anon = config.get("anonymous")
        if "anonymous" in config and anon is not None and not _is_map(anon):
            self.error(
                _key_line(config, "anonymous"),
                "config.anonymous must be a mapping, e.g. 'anonymous: {enabled: true}'",
            )
        realms = config.get("realms")
        realm_values: list[Any] | None = None
        if _is_map(realms) and realms.get("enabled"):
            vals = realms.get("values")
            realm_values = list(vals) if isinstance(vals, list) else []
            if "NexusAuthenticatingRealm" not in realm_values:
                self.error(
                    _key_line(realms, "values")
                    if "values" in realms
                    else _key_line(config, "realms"),
                    "config.realms.values lacks NexusAuthenticatingRealm: the Job replaces the "
                    "active realms, and nobody (not even the Job) could log in with a password",
                )
        blob_stores = self.blob_stores(config)
        repos = config.get("repos")
        if repos is None:
            return
        if not isinstance(repos, list):
            self.error(_key_line(config, "repos"), "config.repos must be a list")
            return
        ports = self.additional_ports(doc)
        names: dict[str, int] = {}
        for i, repo in enumerate(repos):
            line = _item_line(repos, i)
            if not _is_map(repo):
                self.error(line, f"config.repos[{i}] must be a mapping (a REST API body)")
                continue
            RepoLinter(self, repo, i, line, blob_stores, ports, realm_values).lint()
            name = repo.get("name")
            if isinstance(name, str) and name:
                key = name.lower()
                if key in names:
                    self.error(
                        line,
                        f"config.repos[{i}]: repository name '{name}' is already used on line "
                        f"{names[key]} (Nexus names are unique ignoring case)",
                    )
                else:
                    names[key] = line

    def blob_stores(self, config: Any) -> set[str]:
        stores: set[str] = set()
        if config.get("createDefaultBlobStore", True) is not False:
            stores.add("default")
        bs = config.get("blobStores")
        if bs is None:
            return stores
        if not isinstance(bs, list):
            self.error(_key_line(config, "blobStores"), "config.blobStores must be a list")
            return stores
        for i, store in enumerate(bs):
            line = _item_line(bs, i)
            if not _is_map(store):
                self.error(line, f"config.blobStores[{i}] must be a mapping")
                continue
            for key in ("name", "type"):
                if not store.get(key):
                    self.error(line, f"config.blobStores[{i}].{key}: must not be empty")
            if store.get("type") == "file" and not store.get("path"):
                self.error(line, f"config.blobStores[{i}].path: must not be empty")
            if isinstance(store.get("name"), str):
                stores.add(store["name"])
        return stores

    def additional_ports(self, doc: Any) -> set[int] | None:
        service = doc.get("service")
        ports: set[int] = set()
        if _is_map(service) and isinstance(service.get("additionalPorts"), list):
            for p in service["additionalPorts"]:
                if _is_map(p):
                    for k in ("containerPort", "port"):
                        if isinstance(p.get(k), int):
                            ports.add(p[k])
        return ports


class RepoLinter:
    def __init__(
        self,
        parent: _Linter,
        repo: Any,
        index: int,
        line: int,
        blob_stores: set[str],
        ports: set[int] | None,
        realms: list[Any] | None,
    ) -> None:
        self.p = parent
        self.repo = repo
        self.line = line
        self.blob_stores = blob_stores
        self.ports = ports
        self.realms = realms
        name = repo.get("name")
        self.where = f"config.repos[{index}]" + (f" ({name})" if isinstance(name, str) else "")

    def error(self, line: int, message: str) -> None:
        self.p.error(line, f"{self.where}: {message}")

    def warn(self, line: int, message: str) -> None:
        self.p.warn(line, f"{self.where}: {message}")

    def lookup(self, path: str) -> tuple[Any, Any, bool]:
        """(containing mapping, value, present) for a dotted path inside the repository."""
        node: Any = self.repo
        parts = path.split(".")
        for part in parts[:-1]:
            if not _is_map(node) or not _is_map(node.get(part)):
                return None, None, False
            node = node[part]
        if not _is_map(node):
            return None, None, False
        return node, node.get(parts[-1]), parts[-1] in node

    def line_of(self, path: str) -> int:
        """Line of the key at ``path``, or of its nearest existing ancestor."""
        parts = path.split(".")
        while parts:
            container, _, present = self.lookup(".".join(parts))
            if present:
                return _key_line(container, parts[-1])
            parts.pop()
        return self.line

    def lint(self) -> None:
        repo = self.repo
        fmt, rtype = repo.get("format"), repo.get("type")
        if "attributes" in repo or (isinstance(rtype, str) and "-" in rtype):
            self.error(
                _key_line(repo, "attributes") if "attributes" in repo else _key_line(repo, "type"),
                "this is the chart 4.x form (type: <format>-<type>, settings under attributes); "
                "chart 5.x posts the REST API body as-is with separate format and type",
            )
        for key, allowed in (("format", schema.FORMATS), ("type", schema.TYPES)):
            value = repo.get(key)
            if value is None or value == "":
                self.error(
                    self.line,
                    f"{key} is missing: the chart needs format and type to build the REST URL "
                    "/service/rest/v1/repositories/<format>/<type>",
                )
            elif key == "type" and value not in allowed:
                self.error(_key_line(repo, key), f"type must be one of {', '.join(allowed)}")
        fmt = fmt if isinstance(fmt, str) else ""
        rtype = rtype if isinstance(rtype, str) else ""
        self.required(fmt, rtype)
        self.placement()
        self.values(fmt, rtype)

    def required(self, fmt: str, rtype: str) -> None:
        for field in schema.required_fields(fmt, rtype, self.p.version):
            container, value, present = self.lookup(field.path)
            if container is None:
                continue  # the parent is missing or not a mapping: reported for the parent
            empty = value is None or (field.message == schema.NOT_EMPTY and value in ("", [], {}))
            if not empty:
                continue
            line = _key_line(container, field.leaf) if present else self.line_of(field.parent)
            self.error(
                line,
                f"{field.path}: {field.message} (required by Nexus; the config Job would get "
                f"400 'PARAMETER {field.leaf}' and print 'Could not create repository')",
            )

    def placement(self) -> None:
        for obj in ("", *schema.KNOWN_KEYS):
            if obj:
                _container, node, _ = self.lookup(obj)
            else:
                node = self.repo
            if not _is_map(node):
                continue
            for key in node:
                if not isinstance(key, str):
                    continue
                if obj and key in schema.KNOWN_KEYS[obj]:
                    continue
                here = f"{obj}.{key}" if obj else key
                hint = schema.misplaced(obj, key)
                line = _key_line(node, key)
                if hint:
                    self.error(
                        line,
                        f"{here} is ignored by Nexus at this level; did you mean {hint}"
                        + ("?" if "." in hint or not obj else " at the repository level?"),
                    )
                elif obj:
                    self.warn(line, f"unknown key {here}: Nexus ignores it")

    def values(self, fmt: str, rtype: str) -> None:
        repo = self.repo
        name = repo.get("name")
        if name is not None and not isinstance(name, str):
            self.error(_key_line(repo, "name"), "name must be a string")
        elif isinstance(name, str) and name and not urls.is_repository_name(name):
            self.error(_key_line(repo, "name"), f"name '{name}': {schema.NAME_MESSAGE}")
        elif fmt == "docker" and isinstance(name, str) and name != name.lower():
            self.error(_key_line(repo, "name"), "Docker repository names must be lowercase")
        _, url, present = self.lookup("proxy.remoteUrl")
        if present and isinstance(url, str) and url:
            if not url.startswith(("http://", "https://")):
                self.error(
                    self.line_of("proxy.remoteUrl"),
                    f"proxy.remoteUrl '{url}' is not an http(s) URL",
                )
            elif fmt == "pypi" and url.rstrip("/").endswith("/simple"):
                self.error(
                    self.line_of("proxy.remoteUrl"),
                    f"proxy.remoteUrl '{url}' ends in /simple: Nexus appends /simple/<project>/ "
                    "itself, so every project page would 404; use the index root (e.g. "
                    "https://pypi.org)",
                )
        if rtype != "proxy" and "proxy" in repo:
            self.warn(_key_line(repo, "proxy"), f"a {rtype or '?'} repository has no proxy block")
        _, store, present = self.lookup("storage.blobStoreName")
        if isinstance(store, str) and store and store not in self.blob_stores:
            why = (
                "config.createDefaultBlobStore is false and no blob store named 'default' is "
                "defined"
                if store == "default"
                else "it is neither 'default' nor defined in config.blobStores"
            )
            self.error(
                self.line_of("storage.blobStoreName"),
                f"storage.blobStoreName '{store}': {why} (Nexus: 400 'Blob store not found')",
            )
        for key, (lo, hi) in CONNECTION_RANGES.items():
            _, v, present = self.lookup(f"httpClient.connection.{key}")
            if isinstance(v, int) and not isinstance(v, bool) and not lo <= v <= hi:
                bound = (
                    f"greater than or equal to {lo}" if v < lo else f"less than or equal to {hi}"
                )
                self.error(
                    self.line_of(f"httpClient.connection.{key}"),
                    f"httpClient.connection.{key}: must be {bound}",
                )
        for path in ("proxy.contentMaxAge", "proxy.metadataMaxAge", "negativeCache.timeToLive"):
            _, v, present = self.lookup(path)
            numeric = isinstance(v, int) or (isinstance(v, str) and v.strip().lstrip("-").isdigit())
            if present and v is not None and (isinstance(v, bool) or not numeric):
                self.error(self.line_of(path), f"{path}: must be a whole number of minutes")
        if fmt == "pypi" and rtype == "proxy" and "pypi" not in repo:
            self.warn(
                self.line,
                "no pypi block: Nexus 3.67-3.93 expect 'pypi: {removeQuarantined: false}'",
            )
        if fmt == "docker":
            _, port, _ = self.lookup("docker.httpPort")
            if isinstance(port, int) and self.ports is not None and port not in self.ports:
                self.warn(
                    self.line_of("docker.httpPort"),
                    f"docker.httpPort {port} is not in service.additionalPorts, so clients "
                    "outside the pod cannot reach it",
                )
            _, force, _ = self.lookup("docker.forceBasicAuth")
            if force is False and (self.realms is None or "DockerToken" not in self.realms):
                self.warn(
                    self.line_of("docker.forceBasicAuth"),
                    "forceBasicAuth: false needs the DockerToken realm (config.realms) for "
                    "anonymous pulls",
                )


def lint_text(text: str, version: schema.Version | None = None) -> list[Problem]:
    """Problems in a values document for Nexus ``version``; raises YamlSyntaxError."""
    return _Linter(version).lint(load(text))


def read(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"cannot read {path}: not UTF-8 text") from None


def run(args: argparse.Namespace) -> int:
    text = read(args.file)
    try:
        problems = lint_text(text)
    except YamlSyntaxError as e:
        print(f"{args.file}:{e.line}:{e.column}: {e.message}", file=sys.stderr)
        return 2
    errors = [p for p in problems if not p.warning]
    for p in problems:
        if p.warning and args.quiet:
            continue
        print(p.format(args.file))
    if errors:
        n = len(errors)
        print(f"{args.file}: {n} error{'s' if n != 1 else ''}", file=sys.stderr)
        return 1
    return 0
